//! Measures what the README promises to report:
//!
//! 1. cold start, two ways, each against a hello-world lambda_runtime binary, runs interleaved
//!    so the machine's state affects all alike: from process start to the first poll of the
//!    Lambda Runtime API (the function's AWS clients built), and from process start to the
//!    answer of the first invocation (a sample event from events/ whose handler reads the
//!    table, served by the AWS emulator): work moved past the first poll is still paid by the
//!    first shopper. The first answers are also set against hello-dynamodb, a Lambda that only
//!    reads one item with the AWS SDK: the floor that SDK sets;
//! 2. the size of each function's release bootstrap, deflate-compressed as in the deployment zip;
//! 3. requests per second for GET /api/products/{id} through the local stack (the release
//!    `shop-stack`), with metrics and without, against a bare axum handler serving the same
//!    JSON from memory, in one run on one machine;
//! 4. checkouts per second through the local stack, and that stock and orders still agree;
//! 5. search on 100,000 generated products, tantivy and OpenSearch side by side (`search`);
//! 6. a partner's webhook endpoint hearing of every order during the checkout burst
//!    (`partners`), and the abandoned-cart sweep over 100,000 carts (`recovery`);
//! 7. what an order costs in requests: API, DynamoDB request units, events, queue deliveries
//!    and emails per order, written to `target/bench/costs.json` for `scripts/cost_model.py`
//!    (`costs`).
//!
//! `SHOP_BENCH_ONLY=search,catalogue` runs only those parts (of cold-starts, sizes,
//! first-answers, throughput, checkouts, search, catalogue, partners, recovery, costs), and `SHOP_BENCH_FUNCTIONS=products,images`
//! only those functions' cold starts and sizes.
//!
//! Run: `cargo build --release $(ls functions | sed 's/^/-p /')`, then `cargo build --release -p
//! shop-tests --bins && target/release/bench` (the functions apart from this crate, whose
//! dependencies' features would enlarge them),
//! with `SHOP_TEST_AWS_ENDPOINT` naming a running `scripts/aws_emulator.py` for the first-answer
//! cold starts (skipped without it), and `SHOP_TEST_OPENSEARCH` naming a running
//! `scripts/search-node` for OpenSearch's figures and the search functions' first answers.

mod after_sale;
mod costs;
mod search;

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use shop::table::{Condition, Item, Key, Query, QueryPage, Table, Update, Write, WriteError};
use shop_embedded::sqlite::SqliteTable;

const FUNCTIONS: &[&str] = &[
    "auth",
    "users",
    "products",
    "cart",
    "orders",
    "payments",
    "expiry",
    "publisher",
    "notifications",
    "sales",
    "refunds",
    "deliveries",
    "feedback",
    "search",
    "indexer",
    "imports",
    "images",
    "storefront",
    "webhooks",
    "recovery",
];
const COLD_STARTS: usize = 200;

/// Where the measured binaries are: beside the bench's own (`target/release` for a release
/// build, `target/profiling` for one with symbols).
fn release_dir() -> PathBuf {
    let bench = std::env::current_exe().expect("the bench's own path");
    bench.parent().expect("the bench's folder").to_path_buf()
}

/// Starts a function as Lambda would, its Runtime API at `api`, with `aws` as the rest of its
/// environment (AWS settings and the function's own variables).
fn start_lambda(binary: &Path, api: &str, aws: &[(&str, &str)]) -> std::process::Child {
    start_lambda_saying(binary, api, aws, Stdio::null)
}

/// [`start_lambda`], its output to `output` (null while measured, piped to say why it failed).
fn start_lambda_saying(binary: &Path, api: &str, aws: &[(&str, &str)], output: fn() -> Stdio) -> std::process::Child {
    Command::new(binary)
        .env_clear()
        .envs([
            ("AWS_LAMBDA_RUNTIME_API", api),
            ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ])
        .envs(aws.iter().copied())
        .stdout(output())
        .stderr(output())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("starting {}: {e} (build it as the README's Benchmarks section says)", binary.display())
        })
}

/// The environment of a cold start to the first poll: every variable a function reads at start-up
/// (no call is made with them).
const COLD_ENV: &[(&str, &str)] = &[
    // The template's globals: without it lambda_http keeps the stage in the path, and no route
    // matches an API Gateway event.
    ("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true"),
    ("AWS_REGION", "eu-west-1"),
    ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "secret"),
    ("AWS_SESSION_TOKEN", "token"),
    ("TABLE_NAME", "shop"),
    ("USER_POOL_ID", "eu-west-1_EXAMPLE"),
    ("USER_POOL_CLIENT_ID", "exampleclient"),
    ("TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:shop-events"),
    ("MAIL_FROM", "orders@shop.example.com"),
    ("SES_CONFIGURATION_SET", "shop"),
    ("STRIPE_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe-AbCdEf"),
    ("STRIPE_WEBHOOK_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe-webhook-AbCdEf"),
    // Named, never read: no event the bench sends pays with PayPal.
    ("PAYPAL_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:paypal-AbCdEf"),
    ("SIGNING_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cursor-AbCdEf"),
    ("OPENSEARCH_ENDPOINT", "https://search-shop-example.eu-west-1.es.amazonaws.com"),
    ("STRIPE_PUBLISHABLE_KEY", "pk_test_bench"),
    ("BUCKET_NAME", "shop-objects"),
    ("MEDIA_URL", "https://media.example.com"),
    ("STOREFRONT_URL", "https://shop.example.com/"),
    ("UPLOAD_ORIGIN", "https://shop-objects.s3.eu-west-1.amazonaws.com"),
    ("AUTH_URL", "https://shop-example.auth.eu-west-1.amazoncognito.com"),
];

/// [`COLD_ENV`] with `overrides` in place of the same variables' values: one list of what the
/// functions need, so a variable a function comes to need is added once.
fn environment<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let kept = COLD_ENV.iter().filter(|(name, _)| !overrides.iter().any(|(o, _)| o == name));
    kept.chain(overrides).copied().collect()
}

/// Starts `binary` once and waits (10 s at most) for its first poll: a function that cannot start
/// (it needs a variable the bench does not set) stops the bench saying why, where a measurement
/// would wait for ever for a poll that never comes.
fn preflight(binary: &Path, aws: &[(&str, &str)]) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let api = listener.local_addr().unwrap().to_string();
    let mut child = start_lambda_saying(binary, &api, aws, Stdio::piped);
    let deadline = Instant::now() + Duration::from_secs(10);
    while listener.accept().is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut said = String::new();
            child.stdout.take().unwrap().read_to_string(&mut said).ok();
            child.stderr.take().unwrap().read_to_string(&mut said).ok();
            panic!("{} exited ({status}) before its first poll of the Runtime API:\n{said}", binary.display());
        }
        assert!(Instant::now() < deadline, "{} did not poll the Runtime API within 10 s", binary.display());
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().ok();
    child.wait().ok();
}

/// One cold start: spawn, wait for `GET /2018-06-01/runtime/invocation/next`, kill.
fn cold_start(binary: &Path) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = listener.local_addr().unwrap().to_string();
    let started = Instant::now();
    let mut child = start_lambda(binary, &api, COLD_ENV);
    let (stream, _) = listener.accept().unwrap();
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).unwrap();
    let elapsed = started.elapsed();
    assert!(line.starts_with("GET /2018-06-01/runtime/invocation/next"), "unexpected first request: {line}");
    child.kill().ok();
    child.wait().ok();
    elapsed
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// With `SHOP_BENCH_BEFORE` naming the release folder of an earlier build, each function's
/// binary from there is measured too, interleaved with today's (`<function> (before)`).
fn cold_starts() {
    println!("## Cold start: process start -> first Runtime API poll ({COLD_STARTS} runs each, interleaved)");
    let before = std::env::var_os("SHOP_BENCH_BEFORE").map(PathBuf::from);
    let mut binaries = vec![("hello-lambda".to_owned(), release_dir().join("hello-lambda"))];
    for name in functions() {
        binaries.push((name.to_string(), release_dir().join(name)));
        // A function the earlier build did not have has no "before" row.
        if let Some(earlier) = before.as_ref().map(|dir| dir.join(name)).filter(|binary| binary.exists()) {
            binaries.push((format!("{name} (before)"), earlier));
        }
    }
    for (_, binary) in &binaries {
        preflight(binary, COLD_ENV);
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); binaries.len()];
    for _ in 0..COLD_STARTS {
        for (i, (_, binary)) in binaries.iter().enumerate() {
            samples[i].push(cold_start(binary));
        }
    }
    let names: Vec<&str> = binaries.iter().map(|(name, _)| name.as_str()).collect();
    report(&names, &mut samples);
}

/// The sample event each function gets as its first invocation: one whose handler reads the
/// table (the publisher's publishes to the emulator's SNS instead).
const FIRST_EVENTS: &[(&str, &str)] = &[
    ("auth", "auth/refresh"),
    ("users", "users/get-me"),
    ("products", "products/get-product"),
    ("cart", "cart/get-cart"),
    // A list: reads the cursors' signing key (Secrets Manager) first.
    ("orders", "orders/list-orders"),
    // Reads the Stripe secret (Secrets Manager), then verifies: the sample's signature is stale.
    ("payments", "payments/stripe-webhook"),
    ("expiry", "expiry/scheduled"),
    ("publisher", "publisher/stream"),
    ("notifications", "notifications/queue"),
    ("sales", "sales/queue"),
    ("refunds", "refunds/queue"),
    // The sample's message is not in the bench's table: read, found gone, nothing sent.
    ("deliveries", "deliveries/queue"),
    ("feedback", "feedback/queue"),
    // On the OpenSearch node (`SHOP_TEST_OPENSEARCH`): a completion, and an event whose product
    // the bench's table lacks (read, then removed from the index).
    ("search", "search/suggest"),
    ("indexer", "indexer/queue"),
    // S3's notices of files the bench's bucket lacks: the record read, the file asked for.
    ("imports", "imports/upload"),
    ("images", "images/upload"),
    ("storefront", "storefront/page"),
];

/// Reads one HTTP/1.1 request from a keep-alive connection: its request line and body.
fn read_request(reader: &mut BufReader<&std::net::TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    std::io::Read::read_exact(reader, &mut body).ok()?;
    Some((line, body))
}

/// The answers to a function's first two invocations of `event`, each timed: the first from
/// process start (the cold start a shopper waits for), the second from handing the event over
/// to its answer (the same work warm: the emulator's round trips and the handler).
struct Answers {
    first: Duration,
    warm: Duration,
    /// What the first answer was (see [`outcome`]).
    outcome: String,
}

/// Serves the Runtime API to a new process of `binary`: `event` to each of its first two polls.
/// Each connection gets its own thread: the runtime may open a new one while another idles.
fn first_answers_of(binary: &Path, event: &[u8], aws: &[(&str, &str)]) -> Answers {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = listener.local_addr().unwrap().to_string();
    let (answers, answered) = std::sync::mpsc::channel();
    let started = Instant::now();
    let mut child = start_lambda(binary, &api, aws);
    let handed = Arc::new(std::sync::Mutex::new((0, started)));
    let done = Arc::new(AtomicBool::new(false));
    let acceptor = std::thread::spawn({
        let (event, done) = (event.to_vec(), done.clone());
        move || {
            for stream in listener.incoming() {
                if done.load(Ordering::Relaxed) {
                    return;
                }
                let (stream, event, handed, answers) =
                    (stream.unwrap(), event.clone(), handed.clone(), answers.clone());
                stream.set_nodelay(true).unwrap();
                std::thread::spawn(move || serve_runtime_api(&stream, &event, &handed, &answers));
            }
        }
    });
    let (first, answer) = answered.recv().unwrap();
    let (warm, _) = answered.recv().unwrap();
    child.kill().ok();
    child.wait().ok();
    done.store(true, Ordering::Relaxed);
    std::net::TcpStream::connect(&api).ok();
    acceptor.join().unwrap();
    Answers { first, warm, outcome: outcome(&answer) }
}

/// What an answer posted to the Runtime API was: an HTTP function's status, `error` for an
/// invocation error, `ok` for any other event's answer. An HTTP function that answers "route not
/// found" did none of its work, so the bench stops rather than time it.
fn outcome((line, body): &(String, Vec<u8>)) -> String {
    if line.contains("/error ") {
        return "error".into();
    }
    let answer: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let Some(status) = answer["statusCode"].as_u64() else {
        return "ok".into();
    };
    let problem = answer["body"].as_str().unwrap_or_default();
    assert!(!problem.contains("route not found"), "the event reached no route ({line}): {problem}");
    status.to_string()
}

/// One Runtime API connection: `event` to every poll (numbering the invocations and noting when
/// each was handed over in `handed`), and the time from hand-over to each answer into `answers`.
fn serve_runtime_api(
    stream: &std::net::TcpStream,
    event: &[u8],
    handed: &std::sync::Mutex<(usize, Instant)>,
    answers: &std::sync::mpsc::Sender<(Duration, (String, Vec<u8>))>,
) {
    let mut reader = BufReader::new(stream);
    while let Some((line, body)) = read_request(&mut reader) {
        let mut writer = stream;
        if line.starts_with("GET /2018-06-01/runtime/invocation/next") {
            let invocation = {
                let mut handed = handed.lock().unwrap();
                if handed.0 > 0 {
                    handed.1 = Instant::now();
                }
                handed.0 += 1;
                handed.0
            };
            let deadline =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap() + Duration::from_secs(30);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Lambda-Runtime-Aws-Request-Id: bench-{invocation}\r\nLambda-Runtime-Deadline-Ms: {}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1\r\n\r\n",
                event.len(),
                deadline.as_millis(),
            );
            if writer.write_all(&[head.as_bytes(), event].concat()).is_err() {
                return;
            }
        } else {
            if line.starts_with("POST /2018-06-01/runtime/invocation/bench-") {
                answers.send((handed.lock().unwrap().1.elapsed(), (line, body))).ok();
            }
            if writer.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n").is_err() {
                return;
            }
        }
    }
}

async fn first_answers() {
    let Ok(endpoint) = std::env::var("SHOP_TEST_AWS_ENDPOINT") else {
        println!("\n## Cold start to the first answer: skipped (set SHOP_TEST_AWS_ENDPOINT to the AWS emulator)");
        return;
    };
    let config = shop_aws::defaults()
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("testing", "testing", None, None, "bench"))
        .load()
        .await;
    let made = local::provision::all(&config, &format!("bench-{}", ulid::Ulid::new()), "bench").await.unwrap();
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let secret = |name: &str, value: &str| {
        let request = secrets.create_secret().name(format!("bench-{name}-{}", ulid::Ulid::new())).secret_string(value);
        async move { request.send().await.unwrap().arn().unwrap().to_owned() }
    };
    let secret_arn = secret("stripe", r#"{"secret_key": "sk_test_bench"}"#).await;
    let webhook_secret_arn = secret("stripe-webhook", r#"{"webhook_secret": "whsec_bench"}"#).await;
    let signing_secret_arn = secret("cursor", r#"{"key": "0123456789abcdef0123456789abcdef"}"#).await;
    // The cold starts' environment, with the emulator's table, pool, topic, secrets and bucket.
    let mut emulator = vec![
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("TABLE_NAME", made.table_name.as_str()),
        ("USER_POOL_ID", made.user_pool_id.as_str()),
        ("USER_POOL_CLIENT_ID", made.client_id.as_str()),
        ("TOPIC_ARN", made.topic_arn.as_str()),
        ("STRIPE_SECRET_ARN", secret_arn.as_str()),
        ("STRIPE_WEBHOOK_SECRET_ARN", webhook_secret_arn.as_str()),
        ("SIGNING_SECRET_ARN", signing_secret_arn.as_str()),
        ("BUCKET_NAME", "bench-objects"),
        ("UPLOAD_ORIGIN", "https://bench-objects.s3.us-east-1.amazonaws.com"),
    ];
    let opensearch = std::env::var("SHOP_TEST_OPENSEARCH").ok();
    if let Some(endpoint) = &opensearch {
        emulator.push(("OPENSEARCH_ENDPOINT", endpoint.as_str()));
    }
    let aws = environment(&emulator);
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut runs: Vec<(&str, Vec<u8>)> =
        vec![("hello-lambda", br#"{"hello":"world"}"#.to_vec()), ("hello-dynamodb", b"{}".to_vec())];
    let chosen = functions();
    for (name, event) in FIRST_EVENTS {
        if (["search", "indexer"].contains(name) && opensearch.is_none()) || !chosen.contains(name) {
            continue;
        }
        runs.push((name, std::fs::read(events.join(format!("{event}.json"))).unwrap()));
    }
    for (name, _) in &runs {
        preflight(&release_dir().join(name), &aws);
    }
    let rounds = COLD_STARTS / 5;
    let mut samples: Vec<Vec<Answers>> = runs.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (i, (name, event)) in runs.iter().enumerate() {
            samples[i].push(first_answers_of(&release_dir().join(name), event, &aws));
        }
    }
    let names: Vec<&str> = runs.iter().map(|(name, _)| *name).collect();
    println!("\n## Cold start: process start -> first invocation answered, AWS on the emulator ({rounds} runs each)");
    let mut first: Vec<Vec<Duration>> = samples.iter().map(|s| s.iter().map(|a| a.first).collect()).collect();
    report(&names, &mut first);
    println!(
        "\nThe same event answered warm (its second invocation), and the first answer less the warm one: \
         what the cold start itself adds to the first shopper's wait, the emulator's round trips set aside."
    );
    let mut warm: Vec<Vec<Duration>> = samples.iter().map(|s| s.iter().map(|a| a.warm).collect()).collect();
    let mut cold: Vec<Vec<Duration>> =
        samples.iter().map(|s| s.iter().map(|a| a.first.saturating_sub(a.warm)).collect()).collect();
    for s in warm.iter_mut().chain(cold.iter_mut()) {
        s.sort();
    }
    // hello-dynamodb is the floor the AWS SDK sets: one client, one GetItem, nothing else.
    let (baseline, floor) = (percentile(&cold[0], 0.5), percentile(&cold[1], 0.5));
    println!(
        "| binary | first answer | warm answer (median) | first less warm (median) | p90 | median / hello-world | median / hello-dynamodb |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (((name, warm), cold), samples) in names.iter().zip(&warm).zip(&cold).zip(&samples) {
        let median = percentile(cold, 0.5);
        let mut outcomes: Vec<&str> = samples.iter().map(|a| a.outcome.as_str()).collect();
        outcomes.sort();
        outcomes.dedup();
        println!(
            "| {name} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2}x | {:.2}x |",
            outcomes.join(", "),
            percentile(warm, 0.5).as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3,
            percentile(cold, 0.9).as_secs_f64() * 1e3,
            median.as_secs_f64() / baseline.as_secs_f64(),
            median.as_secs_f64() / floor.as_secs_f64()
        );
    }
}

/// Prints median, p90 and the median against the first row (the hello-world baseline).
fn report(names: &[&str], samples: &mut [Vec<Duration>]) {
    for s in samples.iter_mut() {
        s.sort();
    }
    let baseline = percentile(&samples[0], 0.5);
    println!("| binary | median | p90 | median / hello-world |");
    println!("|---|---|---|---|");
    for (name, s) in names.iter().zip(samples.iter()) {
        let median = percentile(s, 0.5);
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2}x |",
            median.as_secs_f64() * 1e3,
            percentile(s, 0.9).as_secs_f64() * 1e3,
            median.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}

fn sizes() {
    println!("\n## Release bootstrap size ({} target)", std::env::consts::ARCH);
    println!("| function | binary | deflated (zip) |");
    println!("|---|---|---|");
    for name in functions() {
        let bytes = std::fs::read(release_dir().join(name)).unwrap();
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&bytes).unwrap();
        let zipped = encoder.finish().unwrap().len();
        println!("| {name} | {:.2} MB | {:.2} MB |", bytes.len() as f64 / 1e6, zipped as f64 / 1e6);
    }
}

/// Drives `connections` keep-alive connections at `url` for `duration`; answers requests/s.
async fn load(addr: std::net::SocketAddr, path: &str, connections: usize, duration: Duration) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (done, stop, path) = (done.clone(), stop.clone(), path.to_owned());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
            tokio::spawn(conn);
            while !stop.load(Ordering::Relaxed) {
                let request = hyper::Request::get(&path).header("host", "bench").body(Empty::<Bytes>::new()).unwrap();
                let response = sender.send_request(request).await.unwrap();
                assert_eq!(response.status(), 200);
                response.into_body().collect().await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = done.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    let count = done.load(Ordering::Relaxed) - before;
    let rate = count as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    rate
}

/// The id of the first product a stack lists.
async fn first_id(url: &str) -> String {
    let products: serde_json::Value =
        reqwest::get(format!("{url}/api/products?limit=1")).await.unwrap().json().await.unwrap();
    products[0]["id"].as_str().unwrap().to_owned()
}

/// The local stack as `cargo run` starts it (the release `shop-stack`), seeded, unthrottled,
/// recording metrics or not, listening at the address it answers with.
async fn start_stack(metrics: bool) -> (std::process::Child, std::net::SocketAddr, tempfile::TempDir) {
    let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let data = shop_tests::temp_dir("bench");
    let mut child = Command::new(release_dir().join("shop-stack"))
        .envs([
            ("SHOP_ADDR", addr.to_string()),
            ("SHOP_DATA_DIR", data.path().display().to_string()),
            ("SHOP_RATE_LIMIT", "0".into()),
            ("SHOP_ADMIN_PASSWORD", shop_tests::ADMIN_PASSWORD.into()),
            ("SHOP_METRICS", if metrics { "on" } else { "off" }.into()),
            ("RUST_LOG", "warn".into()),
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("the release shop-stack (cargo build --release -p shop-tests --bin shop-stack)");
    let health = format!("http://{addr}/health");
    for _ in 0..200 {
        if reqwest::get(&health).await.is_ok_and(|answer| answer.status().is_success()) {
            return (child, addr, data);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().ok();
    child.wait().ok();
    panic!("the local stack did not start at {addr}");
}

/// Requests per second the local stack serves for one product, with metrics or without, and
/// that product's path and answer (what the bare handler serves for scale).
async fn stack_rate(metrics: bool) -> (f64, String, axum::body::Bytes) {
    let (mut child, addr, _data) = start_stack(metrics).await;
    let path = format!("/api/products/{}", first_id(&format!("http://{addr}")).await);
    let body = reqwest::get(format!("http://{addr}{path}")).await.unwrap().bytes().await.unwrap();
    let rate = load(addr, &path, 32, Duration::from_secs(5)).await;
    child.kill().ok();
    child.wait().ok();
    (rate, path, body)
}

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

async fn throughput() {
    const ROUNDS: usize = 3;
    println!(
        "\n## GET /api/products/{{id}}: the local stack (its own process) with metrics and without, \
         {ROUNDS} runs each, alternating, medians; a bare axum handler for scale (32 connections, 5 s)"
    );
    let (mut with, mut without, mut product) = (Vec::new(), Vec::new(), None);
    for _ in 0..ROUNDS {
        let (rate, path, body) = stack_rate(false).await;
        without.push(rate);
        product = Some((path, body));
        with.push(stack_rate(true).await.0);
    }
    let (path, body) = product.expect("a round ran");
    let runs = |rates: &[f64]| rates.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", ");
    let (with_runs, without_runs) = (runs(&with), runs(&without));
    let (with, without) = (median(with), median(without));
    let bare = axum::Router::new().route(
        "/api/products/{id}",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bare_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, bare).await.unwrap() });
    let baseline = load(bare_addr, &path, 32, Duration::from_secs(5)).await;
    server.abort();
    println!("| server | requests/s |");
    println!("|---|---|");
    println!("| local stack (gateway, JWT-free public route, SQLite read, ETag, metrics) | {with:.0} ({with_runs}) |");
    println!("| local stack, SHOP_METRICS=off | {without:.0} ({without_runs}) |");
    println!("| bare axum, same JSON from memory (in the bench's process) | {baseline:.0} |");
    println!("| with metrics / without | {:.3} |", with / without);
    println!("| with metrics / bare | {:.2} |", with / baseline);
}

async fn checkouts() {
    println!("\n## POST /api/orders on the local stack (16 concurrent shoppers, 5 s)");
    let app = shop_tests::TestApp::spawn_with(|c| c.limits = shop_tests::NO_ORDER_LIMITS).await;
    let admin = app.admin().await;
    let stock = 1_000_000;
    let product =
        app.post("/api/products", Some(&admin), shop_tests::product_body("Bench Lamp", "bench", 100, stock)).await;
    let product = product.body["id"].as_str().unwrap().to_owned();
    let mut shoppers = Vec::new();
    let mut shopper_ids = Vec::new();
    for i in 0..16 {
        let (token, id, _) = app.shopper(&format!("Bench{i}")).await;
        shoppers.push(token);
        shopper_ids.push(shop::domain::UserId::parse(&id).unwrap());
    }
    let body = serde_json::json!({
        "items": [{"product_id": product, "quantity": 1}],
        "shipping_address": shop_tests::shipping_address()
    });
    let (placed, elapsed) = burst(&app, &shoppers, &body).await;
    let left = app.get(&format!("/api/products/{product}"), None).await.body["stock"].as_i64().unwrap();
    println!("| checkouts | per second | stock sold | oversold |");
    println!("|---|---|---|---|");
    println!("| {placed} | {:.0} | {} | {} |", placed as f64 / elapsed, stock - left, (stock - left) as u64 != placed);

    // The embedded bus meanwhile: how far behind the consumers were when the burst ended, and
    // how long until every OrderPlaced was applied (the sales counter is the last effect).
    let sales = shop::sales::Sales::new(app.running.table.clone());
    let id = shop::domain::ProductId::parse(&product).unwrap();
    let behind = placed as i64 - sales.of(&id).await.unwrap().orders;
    let catching_up = Instant::now();
    while sales.of(&id).await.unwrap().orders < placed as i64 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let lag = catching_up.elapsed().as_secs_f64();
    println!("\n## Events: OrderPlaced -> notifications and sales consumers (embedded bus, same run)");
    println!("| events | behind at the end of the burst | caught up after | events/s end to end |");
    println!("|---|---|---|---|");
    println!("| {placed} | {behind} | {lag:.2} s | {:.0} |", placed as f64 / (elapsed + lag));
    order_emails(&app, &shopper_ids, placed as usize).await;
    priced_checkouts(&app, &admin, &shoppers, &product, placed as f64 / elapsed).await;
}

/// Checkouts by `shoppers`, each placing `body`'s order again and again for 5 s; answers how
/// many were placed, in how many seconds.
async fn burst(app: &shop_tests::TestApp, shoppers: &[String], body: &serde_json::Value) -> (u64, f64) {
    let stop = Instant::now() + Duration::from_secs(5);
    let runs = shoppers.iter().map(|token| async move {
        let mut placed = 0u64;
        while Instant::now() < stop {
            let answer = app.post("/api/orders", Some(token), body.clone()).await;
            assert_eq!(answer.status, 201, "{:#}", answer.body);
            placed += 1;
        }
        placed
    });
    let started = Instant::now();
    let placed: u64 = futures::future::join_all(runs).await.into_iter().sum();
    (placed, started.elapsed().as_secs_f64())
}

/// The same burst once the shop prices everything: tax included at 19 %, a flat shipping
/// option, an automatic 5 % off and a code of 10 % with a usage limit (its counter moves in
/// every checkout's transaction), against the plain checkouts' rate of the same run.
async fn priced_checkouts(app: &shop_tests::TestApp, admin: &str, shoppers: &[String], product: &str, plain: f64) {
    use reqwest::Method;
    use serde_json::json;
    // Each setting is changed under the revision its list answers.
    let put = |list: &'static str, path: &'static str, body: serde_json::Value| async move {
        let tag = app.get(list, Some(admin)).await.header("etag").unwrap().to_owned();
        app.send(Method::PUT, path, Some(admin), Some(body), &[("if-match", &tag)]).await.expect(200);
    };
    let eur = |amount: i64| json!({"amount": amount, "currency": "EUR"});
    put(
        "/api/tax-settings",
        "/api/tax-settings",
        json!({"prices_include_tax": true, "rates": [{"country": "DE", "class": "standard", "rate": "19"}]}),
    )
    .await;
    put("/api/shipping-zones", "/api/shipping-zones/de", json!({"id": "de", "name": "Germany", "countries": ["DE"], "options": [
        {"id": "standard", "name": "Standard", "min_days": 2, "max_days": 4, "rate": {"type": "flat", "price": eur(490)}}]}))
    .await;
    put(
        "/api/promotions",
        "/api/promotions/always",
        json!({"id": "always", "name": "5 % off", "active": true,
        "discount": {"type": "percentage", "percent": "5"}, "applies_to": {"type": "order"}}),
    )
    .await;
    put("/api/promotions", "/api/promotions/bench", json!({"id": "bench", "name": "10 % off", "code": "BENCH", "active": true,
        "usage_limit": 100_000_000, "discount": {"type": "percentage", "percent": "10"}, "applies_to": {"type": "order"}}))
    .await;
    let body = json!({"items": [{"product_id": product, "quantity": 1}], "shipping_address": shop_tests::shipping_address(),
                      "shipping_option": "standard", "promotion_code": "BENCH"});
    let first = app.post("/api/orders", Some(&shoppers[0]), body.clone()).await.expect(201).body;
    assert_eq!(first["promotions"].as_array().map(Vec::len), Some(2), "{first:#}");
    let (placed, elapsed) = burst(app, shoppers, &body).await;
    let priced = placed as f64 / elapsed;
    println!("\n## POST /api/orders priced: tax, shipping and two promotions (same stack, 16 shoppers, 5 s)");
    println!("| checkouts | per second | / plain checkouts of this run |");
    println!("|---|---|---|");
    println!("| {placed} | {priced:.0} | {:.2} |", priced / plain);
}

/// From each checkout to its OrderPlaced email marked sent (the message's `created_at` is the
/// order's time, `sent_at` the mark after the mailbox took it), once every one was sent.
async fn order_emails(app: &shop_tests::TestApp, shoppers: &[shop::domain::UserId], placed: usize) {
    use shop::notifications::{Channel, DeliveryStatus, Message};
    let messages = || async {
        let mut all = Vec::new();
        for shopper in shoppers {
            let query = shop::table::Query::partition(shop::keys::user_partition(shopper))
                .prefix(shop::keys::NOTIFICATION_PREFIX);
            let mut after = None;
            loop {
                let page = app.running.table.query(&query.clone().limit(100).after(after)).await.unwrap();
                all.extend(page.items.iter().map(|i| i.decode::<Message>().unwrap()));
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        all.retain(|m| m.kind == "OrderPlaced" && m.channel == Channel::Email);
        all
    };
    let started = Instant::now();
    let sent = loop {
        let all = messages().await;
        if all.len() >= placed && all.iter().all(|m| m.status == DeliveryStatus::Sent) {
            break all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let waited = started.elapsed().as_secs_f64();
    let mut latencies: Vec<Duration> = sent
        .iter()
        .map(|m| {
            let gap = *m.sent_at.expect("sent") - *m.created_at;
            Duration::from_secs_f64(gap.as_seconds_f64().max(0.0))
        })
        .collect();
    latencies.sort();
    println!("\n## Checkout -> its email marked sent (local stack, local mailbox, same burst)");
    println!("| emails | p50 | p99 | max | all sent after the burst's end |");
    println!("|---|---|---|---|---|");
    println!(
        "| {} | {:.0} ms | {:.0} ms | {:.0} ms | {waited:.2} s |",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
}

/// Counts the table requests (each one a DynamoDB request in AWS) a checkout makes.
struct Counting {
    inner: Arc<dyn Table>,
    calls: std::sync::Mutex<Vec<&'static str>>,
}

impl Counting {
    fn count(&self, call: &'static str) {
        self.calls.lock().unwrap().push(call);
    }
}

#[async_trait::async_trait]
impl Table for Counting {
    async fn get(&self, key: &Key) -> anyhow::Result<Option<Item>> {
        self.count("GetItem");
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> anyhow::Result<Vec<Item>> {
        self.count("BatchGetItem");
        self.inner.batch_get(keys).await
    }
    async fn query(&self, query: &Query) -> anyhow::Result<QueryPage> {
        self.count("Query");
        self.inner.query(query).await
    }
    async fn write(&self, write: Write) -> Result<(), WriteError> {
        self.count("write");
        self.inner.write(write).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), WriteError> {
        self.count("TransactWriteItems");
        self.inner.transact(writes).await
    }
    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, WriteError> {
        self.count("UpdateItem");
        self.inner.update(key, update, condition).await
    }
}

async fn requests_per_checkout() {
    println!("\n## Table requests per checkout (each a DynamoDB request in AWS)");
    let counted = shop_tests::temp_dir("bench-count");
    let sqlite: Arc<dyn Table> = Arc::new(SqliteTable::open(&counted.path().join("shop.db")).unwrap());
    let counting = Arc::new(Counting { inner: sqlite.clone(), calls: Default::default() });
    let catalog = shop::catalog::Catalog::new(sqlite.clone());
    let lamps: Vec<_> = futures::future::join_all((0..3).map(|i| {
        let catalog = catalog.clone();
        async move {
            shop_tests::draft(&format!("COUNT-{i}"), "Lamp", "bench", 100)
                .create(&catalog, shop_tests::stock(100))
                .await
                .id
        }
    }))
    .await;
    let orders = shop::orders::Orders::new(counting.clone());
    let plain = shop::orders::CheckoutRequest {
        guest_email: None,
        user: shop::domain::UserId::random(),
        items: Some(
            lamps.iter().map(|id| shop::orders::Wanted::of(*id, shop::domain::Quantity::new(1).unwrap())).collect(),
        ),
        ship_to: shop_tests::shipping_address().into(),
        shipping_option: None,
        promotion_code: None,
        idempotency: None,
    };
    let checkouts = [
        ("3 lines", plain.clone()),
        (
            "3 lines with Idempotency-Key",
            shop::orders::CheckoutRequest { idempotency: Some(("k".into(), "f".into())), ..plain.clone() },
        ),
        (
            "3 lines as a guest",
            shop::orders::CheckoutRequest {
                user: shop::guests::Guest::new().await.unwrap().0.id,
                guest_email: Some(shop::domain::Email::parse("guest@example.com").unwrap()),
                ..plain.clone()
            },
        ),
    ];
    println!("| checkout | requests |");
    println!("|---|---|");
    let count = |label: &str, request: shop::orders::CheckoutRequest| {
        let (orders, counting) = (&orders, &counting);
        let label = label.to_owned();
        async move {
            counting.calls.lock().unwrap().clear();
            orders.checkout(request).await.unwrap();
            println!("| {label} | {} |", counting.calls.lock().unwrap().join(" + "));
        }
    };
    for (label, request) in checkouts {
        count(label, request).await;
    }
    // Priced: tax, a shipping zone and a code with a usage limit, all read in the one batch read.
    let pricing = shop::pricing::Pricing::new(sqlite.clone());
    pricing
        .set_tax(
            true,
            serde_json::from_value(serde_json::json!([{"country": "DE", "class": "standard", "rate": "19"}])).unwrap(),
            None,
        )
        .await
        .unwrap();
    let zone = serde_json::json!({"id": "de", "name": "Germany", "countries": ["DE"], "options": [{"id": "ground",
        "name": "Ground", "min_days": 3, "max_days": 5, "rate": {"type": "flat", "price": {"amount": 500, "currency": "EUR"}}}]});
    pricing.put_zone(serde_json::from_value(zone).unwrap(), None).await.unwrap();
    let code = serde_json::json!({"id": "count", "name": "10 %", "code": "COUNT", "usage_limit": 1000, "active": true,
        "discount": {"type": "percentage", "percent": "10"}, "applies_to": {"type": "order"}});
    pricing.put_promotion(serde_json::from_value(code).unwrap(), None).await.unwrap();
    let priced = shop::orders::CheckoutRequest {
        shipping_option: Some(shop::domain::Handle::parse("ground").unwrap()),
        promotion_code: Some(shop::promotions::PromoCode::parse("COUNT").unwrap()),
        ..plain
    };
    count("3 lines priced: tax, shipping, a code with a usage limit", priced).await;
}

/// The parts `SHOP_BENCH_ONLY` names (comma-separated), or all of them.
fn wanted(part: &str) -> bool {
    std::env::var("SHOP_BENCH_ONLY").map_or(true, |only| only.split(',').any(|p| p.trim() == part))
}

/// The functions `SHOP_BENCH_FUNCTIONS` names (comma-separated), or all of them: the cold
/// starts and sizes of those alone (each needs only its own release build).
fn functions() -> Vec<&'static str> {
    match std::env::var("SHOP_BENCH_FUNCTIONS") {
        Ok(only) => FUNCTIONS.iter().copied().filter(|f| only.split(',').any(|o| o.trim() == *f)).collect(),
        Err(_) => FUNCTIONS.to_vec(),
    }
}

fn main() {
    println!("# Shop benchmarks ({} cores)\n", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if wanted("cold-starts") {
        cold_starts();
    }
    if wanted("sizes") {
        sizes();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if wanted("first-answers") {
        runtime.block_on(first_answers());
    }
    if wanted("throughput") {
        runtime.block_on(throughput());
    }
    if wanted("checkouts") {
        runtime.block_on(checkouts());
        runtime.block_on(requests_per_checkout());
    }
    if wanted("search") {
        runtime.block_on(search::run());
    }
    if wanted("catalogue") {
        runtime.block_on(catalogue_work());
    }
    if wanted("partners") {
        runtime.block_on(after_sale::partners());
    }
    if wanted("recovery") {
        runtime.block_on(after_sale::recovery());
    }
    if wanted("costs") {
        runtime.block_on(costs::costs());
    }
}

/// An import's rows per second (10,000 rows, 20 of them refused, into an empty SQLite table: the
/// import alone, no consumer running), and an image's processing time (decode, orient, three
/// sizes as JPEG) for a 12-megapixel JPEG and a 1,200 × 800 PNG.
async fn catalogue_work() {
    use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
    let mut csv =
        String::from("handle,name,category,option1_name,option1_value,sku,price,currency,stock,weight_grams\n");
    let (mut rows, mut n) = (0, 0);
    while rows < 10_000 {
        n += 1;
        if n % 2 == 0 && rows + 3 <= 10_000 {
            for size in ["S", "M", "L"] {
                csv.push_str(&format!("tee-{n},Tee {n},apparel,Size,{size},B-{n}-{size},19.90,EUR,5,180\n"));
            }
            rows += 3;
        } else {
            let price = if n % 250 == 1 { "12.345" } else { "12.50" };
            csv.push_str(&format!("lamp-{n},\"Lamp, no. {n}\",lamps,,,B-{n},{price},EUR,2,900\n"));
            rows += 1;
        }
    }
    let dir = std::env::temp_dir().join(format!("shop-bench-import-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let table: Arc<dyn Table> = Arc::new(SqliteTable::open(&dir.join("shop.db")).unwrap());
    let started = Instant::now();
    let status = shop::imports::Imports::new(table).apply(csv.as_bytes(), &|_| {}).await.unwrap();
    let took = started.elapsed();
    println!("\n## Catalogue import and images");
    println!(
        "- import of {} rows ({} products created, {} rows refused): {:.2} s, {:.0} rows/s",
        status.rows_total,
        status.products_created,
        status.rows_refused,
        took.as_secs_f64(),
        status.rows_total as f64 / took.as_secs_f64()
    );
    let picture = |width: u32, height: u32, format: ImageFormat| {
        let pixels =
            ImageBuffer::from_fn(width, height, |x, y| Rgb([(x % 251) as u8, (y % 241) as u8, ((x ^ y) % 256) as u8]));
        let mut bytes = std::io::Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(pixels).write_to(&mut bytes, format).unwrap();
        bytes.into_inner()
    };
    for (what, bytes) in [
        ("4000 × 3000 JPEG", picture(4000, 3000, ImageFormat::Jpeg)),
        ("1200 × 800 PNG", picture(1200, 800, ImageFormat::Png)),
    ] {
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let started = Instant::now();
                shop_images::process(&bytes).unwrap();
                started.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "- image processing, {what} ({:.1} MB): median {:.0} ms of 5",
            bytes.len() as f64 / 1e6,
            times[2].as_secs_f64() * 1e3
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
