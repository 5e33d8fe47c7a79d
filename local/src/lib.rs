//! The local stack: every service's router behind one gateway that does API Gateway's jobs,
//! with embedded backends (SQLite, the embedded identity provider) by default and the AWS
//! adapters on request. `cargo run` at the workspace root starts it.

pub mod aws_events;
pub mod cli;
pub mod dead_letters;
pub mod gateway;
pub mod mailbox;
pub mod metrics;
pub mod provision;
pub mod seed;
pub mod simulation;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use shop::catalog::Catalog;
use shop::consumers::Ports;
use shop::http::CursorKey;
use shop::identity::Identity;
use shop::notifications::Senders;
use shop::payments::PaymentProvider;
use shop::search::SearchIndex;
use shop::table::Table;
use shop::users::Users;
use shop_embedded::bus::{Bus, Delivery};
use shop_embedded::identity::{EmbeddedConfig, EmbeddedIdentity, SigningKey};
use shop_embedded::jwt::Verifier;
use shop_embedded::mailbox::Mailbox;
use shop_embedded::payments::Simulated;
use shop_embedded::sqlite::SqliteTable;
use tokio::net::TcpListener;

/// Which adapters the stack runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// SQLite and the embedded identity provider, with data under the data directory.
    Embedded,
    /// DynamoDB and Cognito (`AWS_ENDPOINT_URL` for an emulator), named by `TABLE_NAME`,
    /// `USER_POOL_ID` and `USER_POOL_CLIENT_ID`.
    Aws,
}

/// Which card payment provider the stack uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payments {
    /// The simulated provider: Stripe-shaped, its webhooks signed as Stripe signs them, paid
    /// through `POST /_simulator/payments/{payment_id}/confirm`.
    Simulated,
    /// Stripe's API (`STRIPE_SECRET_KEY`) at `STRIPE_API_BASE` (Stripe itself when unset), e.g.
    /// a Stripe-protocol server for tests.
    Stripe { secret_key: String, api_base: Option<String> },
}

/// The stack's settings; [`Config::from_env`] reads them from `SHOP_*` variables.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub backend: Backend,
    pub admin_email: String,
    pub admin_password: Option<String>,
    /// Confirm new accounts at once (as a pre-sign-up trigger would); otherwise send a code.
    pub auto_confirm: bool,
    /// Requests per second per client (0: unlimited), and the burst allowed.
    pub rate_limit: f64,
    pub burst: f64,
    pub max_body: usize,
    pub seed_catalogue: bool,
    /// How long an order may wait for payment, and how often the expiry job looks.
    pub payment_window: time::Duration,
    pub expiry_every: std::time::Duration,
    /// The event queues' retry and dead-letter rules (embedded bus), and how often the
    /// publisher and consumers look for work (both modes).
    pub delivery: Delivery,
    /// Where the AWS adapters find their resources (`SHOP_BACKEND=aws`).
    pub aws: AwsSettings,
    /// `SHOP_PAYMENTS=simulated|stripe`.
    pub payments: Payments,
    /// `STRIPE_WEBHOOK_SECRET`: the webhooks' signing secret; when unset, one generated and
    /// kept in the data directory.
    pub webhook_secret: Option<String>,
    /// PayPal, when `PAYPAL_CLIENT_ID`, `PAYPAL_CLIENT_SECRET` and `PAYPAL_WEBHOOK_ID` are set
    /// (at `PAYPAL_API_BASE`, PayPal's sandbox when unset); otherwise PayPal is not offered.
    pub paypal: Option<shop_paypal::Config>,
    /// OpenSearch, when `OPENSEARCH_ENDPOINT` is set (the alias `SEARCH_ALIAS`, default
    /// `products`); otherwise tantivy in the data directory.
    pub opensearch: Option<shop_opensearch::Config>,
    /// Records metrics and serves them at `/metrics` (`SHOP_METRICS=off` turns both off; the
    /// recorder is the process's, so once one stack of a process records, all of them do).
    pub metrics: bool,
    /// What the storefront's pages are told: the simulated provider's card form, or Stripe.js
    /// with `STRIPE_PUBLISHABLE_KEY` (from `STRIPE_JS_URL`, Stripe's when unset) when
    /// `SHOP_PAYMENTS=stripe`.
    pub storefront: storefront::Settings,
}

/// The AWS side of the stack's settings, read once from the environment by
/// [`Config::from_env`] (so the stack itself never reads the process environment).
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// `AWS_ENDPOINT_URL`: an emulator's address instead of AWS's.
    pub endpoint: Option<String>,
    /// `AWS_REGION`; the default chain's region when unset.
    pub region: Option<String>,
    /// `TABLE_NAME`, which also names the queues.
    pub table_name: Option<String>,
    /// `USER_POOL_ID` and `USER_POOL_CLIENT_ID`.
    pub user_pool_id: Option<String>,
    pub client_id: Option<String>,
    /// `TOPIC_ARN`: the events topic.
    pub topic_arn: Option<String>,
    /// `SHOP_JWT_ISSUER` and `SHOP_JWKS_URL`: which issuer tokens name, and where its keys are.
    pub jwt_issuer: Option<String>,
    pub jwks_url: Option<String>,
    /// `CURSOR_SECRET_ARN`: the secret that signs list cursors, shared with the deployed
    /// functions; a key of this process's own when unset.
    pub cursor_secret_arn: Option<String>,
    /// Fixed credentials (an emulator's); the default provider chain when unset.
    pub credentials: Option<(String, String)>,
}

impl AwsSettings {
    fn from_env(var: &impl Fn(&str) -> Option<String>) -> Self {
        Self {
            endpoint: var("AWS_ENDPOINT_URL"),
            region: var("AWS_REGION"),
            table_name: var("TABLE_NAME"),
            user_pool_id: var("USER_POOL_ID"),
            client_id: var("USER_POOL_CLIENT_ID"),
            topic_arn: var("TOPIC_ARN"),
            jwt_issuer: var("SHOP_JWT_ISSUER"),
            jwks_url: var("SHOP_JWKS_URL"),
            cursor_secret_arn: var("CURSOR_SECRET_ARN"),
            credentials: None,
        }
    }

    /// The SDK configuration these settings describe.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(endpoint) = &self.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &self.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some((key, secret)) = &self.credentials {
            let credentials = aws_credential_types::Credentials::new(key, secret, None, None, "settings");
            loader = loader.credentials_provider(credentials);
        }
        loader.load().await
    }

    /// A setting the AWS mode cannot do without, by its variable's name.
    pub fn required<'a>(value: &'a Option<String>, name: &str) -> anyhow::Result<&'a str> {
        value.as_deref().ok_or_else(|| anyhow::anyhow!("the environment variable {name} is not set"))
    }

    pub fn table(&self) -> anyhow::Result<&str> {
        Self::required(&self.table_name, "TABLE_NAME")
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from(".shop-data"),
            backend: Backend::Embedded,
            admin_email: "admin@shop.local".into(),
            admin_password: None,
            auto_confirm: true,
            rate_limit: 50.0,
            burst: 100.0,
            max_body: shop::http::json::BODY_LIMIT,
            seed_catalogue: true,
            payment_window: expiry::DEFAULT_PAYMENT_WINDOW,
            expiry_every: std::time::Duration::from_secs(60),
            delivery: Delivery::default(),
            aws: AwsSettings::default(),
            payments: Payments::Simulated,
            webhook_secret: None,
            paypal: None,
            opensearch: None,
            metrics: true,
            storefront: storefront::Settings { cards: storefront::Cards::Simulated },
        }
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let mut c = Self::default();
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(addr) = var("SHOP_ADDR") {
            c.addr = addr.parse().with_context(|| format!("SHOP_ADDR={addr} is not host:port"))?;
        }
        if let Some(dir) = var("SHOP_DATA_DIR") {
            c.data_dir = dir.into();
        }
        c.backend = match var("SHOP_BACKEND").as_deref() {
            None | Some("embedded") => Backend::Embedded,
            Some("aws") => Backend::Aws,
            Some(other) => anyhow::bail!("SHOP_BACKEND={other}: use embedded or aws"),
        };
        if let Some(email) = var("SHOP_ADMIN_EMAIL") {
            c.admin_email = email;
        }
        c.admin_password = var("SHOP_ADMIN_PASSWORD");
        c.auto_confirm = var("SHOP_CONFIRM").as_deref() != Some("code");
        if let Some(rate) = var("SHOP_RATE_LIMIT") {
            c.rate_limit = rate.parse().context("SHOP_RATE_LIMIT is requests per second")?;
            c.burst = (c.rate_limit * 2.0).max(1.0);
        }
        c.seed_catalogue = var("SHOP_SEED").as_deref() != Some("false");
        c.metrics = var("SHOP_METRICS").as_deref() != Some("off");
        c.payment_window = expiry::Expiry::window_from_env()?;
        c.aws = AwsSettings::from_env(&var);
        c.payments = match var("SHOP_PAYMENTS").as_deref() {
            None | Some("simulated") => Payments::Simulated,
            Some("stripe") => {
                c.storefront = storefront::Settings::stripe(var).map_err(anyhow::Error::msg)?;
                Payments::Stripe {
                    secret_key: var("STRIPE_SECRET_KEY")
                        .ok_or_else(|| anyhow::anyhow!("SHOP_PAYMENTS=stripe needs STRIPE_SECRET_KEY"))?,
                    api_base: var("STRIPE_API_BASE"),
                }
            }
            Some(other) => anyhow::bail!("SHOP_PAYMENTS={other}: use simulated or stripe"),
        };
        c.webhook_secret = var("STRIPE_WEBHOOK_SECRET");
        c.paypal = match (var("PAYPAL_CLIENT_ID"), var("PAYPAL_CLIENT_SECRET"), var("PAYPAL_WEBHOOK_ID")) {
            (Some(id), Some(secret), Some(webhook)) => {
                let base = var("PAYPAL_API_BASE").unwrap_or_else(|| shop_paypal::SANDBOX.to_owned());
                Some(shop_paypal::Config::new(&id, &secret, &webhook).api_base(&base))
            }
            (None, None, None) => None,
            _ => anyhow::bail!("PayPal needs PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET and PAYPAL_WEBHOOK_ID together"),
        };
        c.opensearch = var("OPENSEARCH_ENDPOINT").map(|endpoint| shop_opensearch::Config {
            endpoint,
            alias: var("SEARCH_ALIAS").unwrap_or_else(|| "products".into()),
            region: var("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
            wait_for_refresh: false,
        });
        Ok(c)
    }
}

/// A built stack: the router to serve and what start-up should tell the person.
pub struct Stack {
    pub router: Router,
    pub routes: Vec<gateway::Route>,
    /// The admin password, when this start generated it (printed once).
    pub generated_admin_password: Option<String>,
    /// The table the services use, for tests and tools.
    pub table: Arc<dyn Table>,
    /// The embedded table, whose expired items the stack sweeps as DynamoDB's TTL would.
    pub sweep: Option<Arc<SqliteTable>>,
    /// What carries the events from the table to the consumers.
    pub events: Events,
    /// The payment providers (the expiry job and the refunds consumer call them).
    pub payments: Vec<Arc<dyn PaymentProvider>>,
    /// Where email and SMS go: the local mailbox.
    pub senders: Senders,
    /// The product index the indexer writes and searches read.
    pub search: Arc<dyn SearchIndex>,
}

/// The event backbone the stack runs: the embedded bus, or pollers doing Lambda's event source
/// mappings' work against AWS (an emulator).
pub enum Events {
    Embedded { bus: Arc<Bus>, feed: Arc<SqliteTable> },
    Aws(aws_events::Pollers),
}

impl Events {
    /// Runs the publisher and the consumers until the task is dropped.
    pub async fn run(self, consumers: Vec<Arc<dyn shop::events::Consumer>>) {
        match self {
            Events::Embedded { bus, feed } => bus.run(feed, consumers).await,
            Events::Aws(pollers) => pollers.run(consumers).await,
        }
    }
}

/// The merged OpenAPI document of every service.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = shop::openapi::base();
    let parts = [
        auth::openapi(),
        users::openapi(),
        products::openapi(),
        cart::openapi(),
        orders::openapi(),
        payments::openapi(),
        search::openapi(),
    ];
    for part in parts {
        doc.merge(part);
    }
    doc
}

fn read_or_create(path: &Path, make: impl FnOnce() -> String) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = make();
            write_private(path, &text).with_context(|| format!("writing {}", path.display()))?;
            Ok(text)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// The adapters behind the services.
struct Backends {
    table: Arc<dyn Table>,
    identity: Arc<dyn Identity>,
    /// What the gateway checks tokens with.
    verifier: Verifier,
    /// The embedded provider's public keys, served at `/.well-known/jwks.json`.
    jwks: Option<serde_json::Value>,
    sweep: Option<Arc<SqliteTable>>,
    events: Events,
}

async fn backends(config: &Config, public_url: &str) -> anyhow::Result<Backends> {
    match config.backend {
        Backend::Embedded => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating {}", config.data_dir.display()))?;
            let sqlite = Arc::new(SqliteTable::open(&config.data_dir.join("shop.db"))?);
            let table: Arc<dyn Table> = sqlite.clone();
            let pem =
                read_or_create(&config.data_dir.join("signing-key.pem"), || SigningKey::generate().to_pkcs8_pem())?;
            let secret = read_or_create(&config.data_dir.join("cursor-secret"), || {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
            })?;
            shop::http::page::set_cursor_key(CursorKey::fixed(secret.trim().as_bytes()));
            let identity = EmbeddedIdentity::new(
                table.clone(),
                SigningKey::from_pkcs8_pem(&pem)?,
                EmbeddedConfig {
                    issuer: public_url.into(),
                    client_id: "shop-local".into(),
                    auto_confirm: config.auto_confirm,
                },
            );
            let (verifier, jwks) = (identity.verifier(), Some(identity.jwks()));
            let bus = Arc::new(Bus::open_for_consuming(&config.data_dir.join("bus.db"), config.delivery)?);
            let events = Events::Embedded { bus, feed: sqlite.clone() };
            Ok(Backends { table, identity: Arc::new(identity), verifier, jwks, sweep: Some(sqlite), events })
        }
        Backend::Aws => {
            let settings = &config.aws;
            let aws = settings.sdk_config().await;
            let region = aws.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
            let pool = AwsSettings::required(&settings.user_pool_id, "USER_POOL_ID")?.to_owned();
            let client_id = AwsSettings::required(&settings.client_id, "USER_POOL_CLIENT_ID")?.to_owned();
            if let Some(secret) = &settings.cursor_secret_arn {
                shop::http::page::set_cursor_key(shop_secrets::cursor_key(&aws, secret));
            }
            let issuer = (settings.jwt_issuer.clone())
                .unwrap_or_else(|| format!("https://cognito-idp.{region}.amazonaws.com/{pool}"));
            // An emulator serves the JWKS at its own address while its tokens name AWS's host.
            let jwks_url = settings.jwks_url.clone().unwrap_or_else(|| match &settings.endpoint {
                Some(endpoint) => format!("{}/{pool}/.well-known/jwks.json", endpoint.trim_end_matches('/')),
                None => format!("{issuer}/.well-known/jwks.json"),
            });
            let jwks: serde_json::Value = reqwest::get(&jwks_url)
                .await
                .and_then(|r| r.error_for_status())
                .with_context(|| format!("fetching {jwks_url}"))?
                .json()
                .await
                .with_context(|| format!("reading {jwks_url}"))?;
            let verifier = Verifier::new(&jwks, issuer, &client_id)?;
            let table = shop_dynamodb::table_named(&aws, settings.table()?);
            let cognito = shop_cognito::CognitoConfig { user_pool_id: pool, client_id };
            let identity = shop_cognito::identity_of(&aws, cognito);
            let topic = AwsSettings::required(&settings.topic_arn, "TOPIC_ARN")?;
            let events = Events::Aws(aws_events::Pollers::new(&aws, settings.table()?, topic, config.delivery.poll));
            Ok(Backends { table, identity, verifier, jwks: None, sweep: None, events })
        }
    }
}

/// The product index: OpenSearch when configured, otherwise tantivy under the data directory,
/// rebuilt from the catalogue when it is missing or unreadable.
pub async fn search_index(config: &Config, table: &Arc<dyn Table>) -> anyhow::Result<Arc<dyn SearchIndex>> {
    if let Some(opensearch) = &config.opensearch {
        return Ok(Arc::new(shop_opensearch::OpenSearch::new(opensearch.clone(), None)?));
    }
    let (index, opened) = shop_tantivy::TantivyIndex::open(&config.data_dir.join("search"))?;
    let index: Arc<dyn SearchIndex> = Arc::new(index);
    if opened == shop_tantivy::Opened::Empty {
        let indexed = shop::search::reindex(&Catalog::new(table.clone()), &*index, &|_| {}).await?;
        tracing::info!(products = indexed, "search index built from the catalogue");
    }
    Ok(index)
}

/// The payment providers, and the simulated one again when it is among them (for its control
/// route).
struct PaymentSetup {
    providers: Vec<Arc<dyn PaymentProvider>>,
    simulator: Option<Arc<Simulated>>,
}

/// The card provider the configuration names, its webhooks signed with the configured or kept
/// secret.
fn payment_providers(config: &Config, table: Arc<dyn Table>, public_url: &str) -> anyhow::Result<PaymentSetup> {
    let secret = match &config.webhook_secret {
        Some(secret) => secret.clone(),
        None => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating {}", config.data_dir.display()))?;
            let generated = || format!("whsec_{}", hex(&rand::random::<[u8; 24]>()));
            read_or_create(&config.data_dir.join("stripe-webhook-secret"), generated)?.trim().to_owned()
        }
    };
    let mut setup = match &config.payments {
        Payments::Simulated => {
            let simulated = Arc::new(Simulated::new(table, &secret));
            simulated.deliver_to(format!("{public_url}/api/payments/stripe/webhook"));
            PaymentSetup { providers: vec![simulated.clone()], simulator: Some(simulated) }
        }
        Payments::Stripe { secret_key, api_base } => {
            let stripe = shop_stripe::StripePayments::new(secret_key, &secret, api_base.as_deref())?;
            PaymentSetup { providers: vec![Arc::new(stripe)], simulator: None }
        }
    };
    if let Some(paypal) = &config.paypal {
        setup.providers.push(Arc::new(shop_paypal::PaypalPayments::new(paypal.clone())?));
    }
    Ok(setup)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds the stack for `public_url` (the address it will be reached at).
pub async fn build(config: &Config, public_url: &str) -> anyhow::Result<Stack> {
    let Backends { table, identity, verifier, jwks, sweep, events } = backends(config, public_url).await?;
    let PaymentSetup { providers: payments, simulator } = payment_providers(config, table.clone(), public_url)?;
    let users = Users::new(table.clone());
    let generated_admin_password =
        seed::admin(&*identity, &users, &config.admin_email, config.admin_password.as_deref()).await?;
    if config.seed_catalogue {
        let added = seed::catalogue(&Catalog::new(table.clone())).await?;
        if added > 0 {
            tracing::info!(products = added, "demo catalogue created");
        }
    }
    let api = Router::new()
        .merge(auth::router(auth::AuthState::new(table.clone(), identity.clone())))
        .merge(users::router(users::UsersState::new(table.clone(), identity.clone())))
        .merge(products::router(products::ProductsState::new(table.clone())))
        .merge(cart::router(cart::CartState::new(table.clone())))
        .merge(orders::router(orders::OrdersState::new(table.clone())))
        .merge(payments::router(payments::PaymentsState::new(
            table.clone(),
            shop::payments::Payments::new(table.clone(), payments.clone()),
        )));
    let search = search_index(config, &table).await?;
    let api = api.merge(search::router(search::SearchState { index: search.clone() }));
    let mailbox = Mailbox::new(table.clone());
    let senders = Senders { email: Arc::new(mailbox.clone()), sms: Arc::new(mailbox.clone()) };
    let api = api.merge(mailbox::router(mailbox));
    let api = match simulator {
        Some(simulator) => api.merge(simulation::router(simulator)),
        None => api,
    };
    let openapi = openapi();
    let routes = gateway::routes(&openapi);
    let gw = Arc::new(gateway::Gateway {
        routes: routes.clone(),
        verifier,
        throttle: gateway::Throttle::new(config.rate_limit, config.burst),
        max_body: config.max_body,
    });
    let spec = serde_json::to_value(&openapi)?;
    let api = match jwks {
        Some(jwks) => api.route("/.well-known/jwks.json", get(move || std::future::ready(axum::Json(jwks.clone())))),
        None => api,
    };
    let api = if config.metrics {
        metrics::recorder();
        api.route("/metrics", get(metrics::serve))
    } else {
        api
    };
    let router = shop::http::fallbacks(
        api.merge(storefront::router(config.storefront.clone()))
            .route("/openapi.json", get(move || std::future::ready(axum::Json(spec.clone()))))
            .route("/docs", get(|| std::future::ready(Html(DOCS))))
            .route("/health", get(|| std::future::ready("ok"))),
    )
    .layer(axum::middleware::from_fn_with_state(gw, gateway::gateway));
    Ok(Stack { router, routes, generated_admin_password, table, sweep, events, payments, senders, search })
}

/// A running stack (for tests and benchmarks): its address and the task serving it.
pub struct Running {
    pub addr: SocketAddr,
    pub url: String,
    pub stack_routes: Vec<gateway::Route>,
    pub generated_admin_password: Option<String>,
    pub table: Arc<dyn Table>,
    /// Ends only when the stack cannot go on (with the cause); aborting it stops every part.
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Binds `config.addr` (port 0 picks a free one), builds the stack and serves it.
pub async fn spawn(config: Config) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(config.addr).await.with_context(|| format!("binding {}", config.addr))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let stack = build(&config, &url).await?;
    let app = stack.router.into_make_service_with_connect_info::<SocketAddr>();
    // What AWS runs on a schedule: the expiry job (EventBridge) and the TTL sweep (DynamoDB).
    let job = expiry::Expiry::new(stack.table.clone(), stack.payments.clone(), config.payment_window);
    let (every, sweep) = (config.expiry_every, stack.sweep);
    let ports = Ports {
        table: stack.table.clone(),
        payments: stack.payments.clone(),
        senders: Some(stack.senders),
        search: Some(stack.search),
    };
    let events = stack.events.run(shop::consumers::all(&ports)?);
    let schedule = async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            if let Err(e) = job.run().await {
                tracing::error!(error = %e, "the expiry job failed; it runs again at the next tick");
            }
            if let Some(table) = &sweep
                && let Err(e) = table.purge_expired().await
            {
                tracing::error!(error = %e, "sweeping expired items failed; it runs again at the next tick");
            }
        }
    };
    // Each part runs on its own task and is meant to run for ever: one that ends means the
    // stack cannot go on, and the whole stack ends with its cause.
    let task = tokio::spawn(async move {
        let mut parts = tokio::task::JoinSet::new();
        parts.spawn(async move {
            axum::serve(listener, app).await.context("serving HTTP")?;
            anyhow::bail!("the HTTP server stopped")
        });
        parts.spawn(async move {
            schedule.await;
            anyhow::bail!("the schedule stopped")
        });
        parts.spawn(async move {
            events.await;
            anyhow::bail!("the event workers stopped")
        });
        match parts.join_next().await {
            Some(Ok(ended)) => ended,
            Some(Err(e)) => Err(anyhow::anyhow!("a part of the stack failed: {e}")),
            None => Ok(()),
        }
    });
    Ok(Running {
        addr,
        url,
        stack_routes: stack.routes,
        generated_admin_password: stack.generated_admin_password,
        table: stack.table,
        task,
    })
}

/// An API reference page that renders /openapi.json without any external script.
const DOCS: &str = include_str!("docs.html");
