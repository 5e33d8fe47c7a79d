//! Wiring: the adapters the settings name, the services' routers behind the gateway, the event
//! backbone and the API document.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use shop::catalog::Catalog;
use shop::identity::Identity;
use shop::notifications::Senders;
use shop::objects::ObjectStore;
use shop::payments::PaymentProvider;
use shop::search::SearchIndex;
use shop::table::Table;
use shop::users::Users;
use shop_embedded::bus::Bus;
use shop_embedded::identity::{EmbeddedConfig, EmbeddedIdentity, SigningKey};
use shop_embedded::jwt::Verifier;
use shop_embedded::mailbox::Mailbox;
use shop_embedded::oauth::{AppClient, AuthorizationServer};
use shop_embedded::objects::{LocalObjects, UPLOAD_PATH, UploadQuery, UploadRefused};
use shop_embedded::payments::Simulated;
use shop_embedded::sqlite::SqliteTable;

use crate::config::{AwsSettings, Backend, Config, Payments};
use crate::{aws_events, gateway, iam, mailbox, metrics, oauth, seed, simulation};

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
    /// The embedded identity's sign-in (`/oauth2/...`); Cognito's emulator has none.
    sign_in: Option<AuthorizationServer>,
}

/// The app client id of the local stack's embedded identity.
const LOCAL_CLIENT_ID: &str = "shop-local";

/// Where the local sign-in may send a shopper back: the storefront's page at the stack's URL,
/// under either name of the loopback address (a page at `localhost` keeps its PKCE verifier
/// there).
fn callback_urls(public_url: &str) -> Vec<String> {
    let page = format!("{}/", public_url.trim_end_matches('/'));
    let other = if page.contains("://127.0.0.1:") {
        page.replace("://127.0.0.1:", "://localhost:")
    } else {
        page.replace("://localhost:", "://127.0.0.1:")
    };
    if other == page { vec![page] } else { vec![page, other] }
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
            let secret = read_or_create(&config.data_dir.join("signing-secret"), || {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
            })?;
            shop::signing::set_key(shop::signing::KeySource::fixed(secret.trim().as_bytes()));
            let identity = Arc::new(EmbeddedIdentity::new(
                table.clone(),
                SigningKey::from_pkcs8_pem(&pem)?,
                EmbeddedConfig {
                    issuer: public_url.into(),
                    client_id: LOCAL_CLIENT_ID.into(),
                    auto_confirm: config.auto_confirm,
                    clock: config.clock.clone(),
                },
            ));
            let (verifier, jwks) = (identity.verifier(), Some(identity.jwks()));
            let bus = Arc::new(Bus::open_for_consuming(&config.data_dir.join("bus.db"), config.delivery)?);
            let events = Events::Embedded { bus, feed: sqlite.clone() };
            let app = AppClient { client_id: LOCAL_CLIENT_ID.into(), callback_urls: callback_urls(public_url) };
            let sign_in = Some(AuthorizationServer::new(identity.clone(), table.clone(), app));
            Ok(Backends { table, identity, verifier, jwks, sweep: Some(sqlite), events, sign_in })
        }
        Backend::Aws => {
            let settings = &config.aws;
            let aws = settings.sdk_config().await;
            let region = aws.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
            let pool = AwsSettings::required(&settings.user_pool_id, "USER_POOL_ID")?.to_owned();
            let client_id = AwsSettings::required(&settings.client_id, "USER_POOL_CLIENT_ID")?.to_owned();
            if let Some(secret) = &settings.signing_secret_arn {
                shop::signing::set_key(shop_secrets::signing_key(&aws, secret));
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
            Ok(Backends { table, identity, verifier, jwks: None, sweep: None, events, sign_in: None })
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
    let Backends { table, identity, verifier, jwks, sweep, events, sign_in } = backends(config, public_url).await?;
    let PaymentSetup { providers: payments, simulator } = payment_providers(config, table.clone(), public_url)?;
    // The services' and consumers' requests, counted as DynamoDB would charge them when asked
    // (the bench's cost model); not those of the stand-ins for other services (the identity, the
    // payment simulator, the mailbox).
    let stand_ins = table.clone();
    let table = match &config.meter {
        Some(meter) => crate::metering::metered(table, meter.clone()),
        None => table,
    };
    for (migration, moved) in shop::migrations::run(table.clone()).await? {
        tracing::info!(migration, moved, "the table was migrated");
    }
    let objects = local_objects(config, public_url, &table)?;
    let users = Users::new(table.clone());
    let generated_admin_password =
        seed::admin(&*identity, &users, &config.admin_email, config.admin_password.as_deref()).await?;
    if config.seed_catalogue {
        let added = seed::catalogue(&Catalog::new(table.clone())).await?;
        if added > 0 {
            tracing::info!(products = added, "demo catalogue created");
        }
    }
    if config.seed_shipping && seed::pricing(&shop::pricing::Pricing::new(table.clone())).await? {
        tracing::info!("demo tax rates and shipping zones created");
    }
    // Each service with the table as its function's role reaches it in AWS (`iam`); the adapters
    // that stand in for AWS services (the identity, the mailbox) keep the whole table.
    let reach = |function| iam::scoped(&table, function);
    let sms = &config.sms_countries;
    let api = Router::new()
        .merge(auth::router(auth::AuthState::new(reach("auth")?, identity.clone(), sms.clone())))
        .merge(users::router(users::UsersState {
            webhooks_allow_loopback: config.webhooks_allow_loopback,
            ..users::UsersState::new(reach("users")?, identity.clone(), sms.clone())
        }))
        .merge(products::router(products::ProductsState::new(
            reach("products")?,
            objects.clone(),
            &media_url(public_url),
        )))
        .merge(cart::router(cart::CartState::new(reach("cart")?)))
        .merge(orders::router(
            orders::OrdersState::new(reach("orders")?)
                .with_limits(config.limits)
                .with_return_policy(config.return_policy),
        ))
        .merge(payments::router(
            payments::PaymentsState::new(
                reach("payments")?,
                shop::payments::Payments::new(reach("payments")?, payments.clone()),
            )
            .with_limits(config.limits),
        ));
    let search = search_index(config, &table).await?;
    let api = api.merge(search::router(search::SearchState { index: search.clone() }));
    let mailbox = Mailbox::new(stand_ins);
    let senders = Senders { email: Arc::new(mailbox.clone()), sms: Arc::new(mailbox.clone()) };
    let developer = mailbox::router(mailbox);
    let developer = match simulator {
        Some(simulator) => developer.merge(simulation::router(simulator)),
        None => developer,
    };
    let developer = if config.metrics {
        metrics::recorder();
        developer.route("/metrics", get(metrics::serve))
    } else {
        developer
    };
    // Every code mailed, a way to pay without paying, the shop's figures: this machine only.
    let api = api.merge(developer.layer(axum::middleware::from_fn(gateway::loopback_only)));
    let openapi = openapi();
    let routes = gateway::routes(&openapi);
    let throttle = gateway::Throttle::new(config.rate_limit, config.burst);
    let gw = Arc::new(gateway::Gateway::new(routes.clone(), verifier, throttle, config.max_body));
    let spec = serde_json::to_value(&openapi)?;
    let api = match jwks {
        Some(jwks) => api.route("/.well-known/jwks.json", get(move || std::future::ready(axum::Json(jwks.clone())))),
        None => api,
    };
    let router = shop::http::fallbacks(
        api.merge(storefront(config, sign_in, public_url))
            .merge(uploads(objects.clone()))
            .merge(media(objects))
            .route("/openapi.json", get(move || std::future::ready(axum::Json(spec.clone()))))
            .route("/docs", get(|| std::future::ready(Html(DOCS))))
            .route("/health", get(|| std::future::ready("ok"))),
    )
    .layer(axum::middleware::from_fn_with_state(gw, gateway::gateway));
    Ok(Stack { router, routes, generated_admin_password, table, sweep, events, payments, senders, search })
}

/// Where the stack serves the images' sizes (the CDN's part in AWS).
const MEDIA_PATH: &str = "/media";

fn media_url(public_url: &str) -> String {
    format!("{public_url}{MEDIA_PATH}")
}

/// The object store under the data folder, and what S3's notices run in AWS: each import's
/// file, once stored, is run (with the `imports` function's reach of the table), each upload is
/// made into an image (with the `images` function's).
fn local_objects(config: &Config, public_url: &str, table: &Arc<dyn Table>) -> anyhow::Result<Arc<LocalObjects>> {
    let (objects, mut created) = LocalObjects::in_folder(&config.data_dir, public_url)?;
    let objects = Arc::new(objects);
    let runner = imports::Runner::new(iam::scoped(table, "imports")?, objects.clone());
    let maker = images::maker(iam::scoped(table, "images")?, objects.clone(), &media_url(public_url));
    tokio::spawn(async move {
        while let Some(key) = created.recv().await {
            let ran = if shop::imports::import_of(&key).is_some() {
                runner.run(&key).await
            } else if shop::media::upload_of(&key).is_some() {
                maker.run(&key).await
            } else {
                continue;
            };
            if let Err(e) = ran {
                tracing::error!(key, error = format!("{e:#}"), "handling a stored object failed");
            }
        }
    });
    Ok(objects)
}

/// The images' sizes, as the CDN serves them: only what is under `images/`, with the
/// `Cache-Control` each was stored with.
fn media(objects: Arc<LocalObjects>) -> Router {
    use axum::extract::Path;
    use axum::http::header;
    let serve = async move |Path(key): Path<String>| {
        let key = format!("images/{key}");
        match objects.get(&key).await {
            Ok(Some(object)) => {
                let cache_control = object.cache_control.unwrap_or_else(|| "no-cache".to_owned());
                let headers = [(header::CONTENT_TYPE, object.content_type), (header::CACHE_CONTROL, cache_control)];
                (headers, object.bytes).into_response()
            }
            Ok(None) | Err(_) => shop::Error::NotFound("image").into_response(),
        }
    };
    Router::new().route(&format!("{MEDIA_PATH}/images/{{*key}}"), get(serve))
}

/// The route uploads arrive at, checked against the targets the store signed.
fn uploads(objects: Arc<LocalObjects>) -> Router {
    use axum::extract::{Path, Query};
    let path = format!("{UPLOAD_PATH}{{*key}}");
    let receive = async move |Path(key): Path<String>,
                              Query(target): Query<UploadQuery>,
                              headers: axum::http::HeaderMap,
                              body: axum::body::Bytes| {
        let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        match objects.receive(&key, &target, content_type, body.to_vec()).await {
            Ok(()) => axum::http::StatusCode::OK.into_response(),
            Err(UploadRefused::Target) => {
                shop::Error::Forbidden("this upload target is not valid for this file".into()).into_response()
            }
            Err(UploadRefused::Body(why)) => shop::Error::BadRequest(why).into_response(),
            Err(UploadRefused::Store(e)) => shop::Error::Internal(e).into_response(),
        }
    };
    Router::new()
        .route(&path, axum::routing::put(receive))
        .layer(axum::extract::DefaultBodyLimit::max(shop::imports::MAX_BYTES))
}

/// The storefront's pages, told to sign shoppers in at the embedded identity's sign-in (whose
/// routes come with them) when there is one.
fn storefront(config: &Config, sign_in: Option<AuthorizationServer>, public_url: &str) -> Router {
    let mut settings = config.storefront.clone();
    let Some(server) = sign_in else { return storefront::router(settings) };
    settings.sign_in = Some(storefront::SignIn::at(public_url, LOCAL_CLIENT_ID));
    storefront::router(settings).merge(oauth::router(server))
}

/// An API reference page that renders /openapi.json without any external script.
const DOCS: &str = include_str!("docs.html");
