//! The stack's settings, from `SHOP_*` variables and the AWS environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use shop_embedded::bus::Delivery;

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
    /// Where the stack listens (`SHOP_ADDR`): a loopback address unless `allow_remote`.
    pub addr: SocketAddr,
    /// `SHOP_ALLOW_REMOTE=true`: serve the API on an address other machines reach. The
    /// developer routes (mailbox, payment simulator, metrics) still answer loopback callers only.
    pub allow_remote: bool,
    pub data_dir: PathBuf,
    pub backend: Backend,
    pub admin_email: String,
    pub admin_password: Option<String>,
    /// Confirm new accounts at once (as a pre-sign-up trigger would); otherwise send a code.
    pub auto_confirm: bool,
    /// Requests per second per client (0: unlimited), and the burst allowed.
    pub rate_limit: f64,
    pub burst: f64,
    /// The largest body the gateway lets through (an import's CSV; JSON bodies stop at
    /// [`shop::http::json::BODY_LIMIT`] in their extractor).
    pub max_body: usize,
    pub seed_catalogue: bool,
    /// Whether a new shop gets demo tax rates and shipping zones (`SHOP_SEED_SHIPPING=false`:
    /// none, so it ships for nothing and checkouts name no option).
    pub seed_shipping: bool,
    /// How long an unpaid order may wait (for its payment, and for it to be started), and
    /// how often the expiry job looks.
    pub windows: expiry::Windows,
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
    /// The countries whose phone numbers profiles may hold and SMS go to (`SMS_COUNTRIES`).
    pub sms_countries: shop::notifications::sms::SmsCountries,
    /// What unpaid orders may hold (`ORDER_MAX_UNPAID`, `ORDER_MAX_UNPAID_UNITS`,
    /// `ORDER_MAX_UNITS_PER_PRODUCT`).
    pub limits: shop::orders::Limits,
    /// Whether partners' webhook endpoints may be `http://` loopback addresses (for trying
    /// them, and the tests); `SHOP_WEBHOOKS_ALLOW_LOOPBACK=false` refuses them as AWS does.
    pub webhooks_allow_loopback: bool,
    /// What returns the shop takes (`RETURN_WINDOW_DAYS`, `RETURNS_REFUND_SHIPPING`).
    pub return_policy: shop::returns::ReturnPolicy,
    /// When carts left behind are reminded of (`RECOVERY_IDLE_MINUTES`,
    /// `RECOVERY_SECOND_MINUTES`), by the sweep at each tick of `expiry_every`.
    pub recovery: shop::recovery::RecoveryPolicy,
    /// What the storefront's pages are told: the simulated provider's card form, or Stripe.js
    /// with `STRIPE_PUBLISHABLE_KEY` (from `STRIPE_JS_URL`, Stripe's when unset) when
    /// `SHOP_PAYMENTS=stripe`.
    pub storefront: storefront::Settings,
    /// What the embedded identity's log-in pauses are measured by: the system's time, or a
    /// clock a test moves forward.
    pub clock: shop::time::Clock,
    /// Counts the services' table requests as DynamoDB request units (the bench's cost model).
    pub meter: Option<std::sync::Arc<crate::metering::Meter>>,
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
    /// `SIGNING_SECRET_ARN`: the shop's signing key (cursors, guests' tokens), shared with the deployed
    /// functions; a key of this process's own when unset.
    pub signing_secret_arn: Option<String>,
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
            signing_secret_arn: var("SIGNING_SECRET_ARN"),
            credentials: None,
        }
    }

    /// The SDK configuration these settings describe.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = shop_aws::defaults();
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
            allow_remote: false,
            data_dir: PathBuf::from(".shop-data"),
            backend: Backend::Embedded,
            admin_email: "admin@shop.local".into(),
            admin_password: None,
            auto_confirm: true,
            rate_limit: 50.0,
            burst: 100.0,
            max_body: shop::imports::MAX_BYTES,
            seed_catalogue: true,
            seed_shipping: true,
            windows: expiry::Windows::default(),
            limits: shop::orders::Limits::default(),
            return_policy: shop::returns::ReturnPolicy::default(),
            recovery: shop::recovery::RecoveryPolicy::default(),
            webhooks_allow_loopback: true,
            sms_countries: Default::default(),
            expiry_every: std::time::Duration::from_secs(60),
            delivery: Delivery::default(),
            aws: AwsSettings::default(),
            payments: Payments::Simulated,
            webhook_secret: None,
            paypal: None,
            opensearch: None,
            metrics: true,
            storefront: storefront::Settings {
                cards: storefront::Cards::Simulated,
                sign_in: None,
                media: Default::default(),
            },
            clock: shop::time::Clock::system(),
            meter: None,
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
        c.allow_remote = var("SHOP_ALLOW_REMOTE").as_deref() == Some("true");
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
        c.seed_shipping = c.seed_catalogue && var("SHOP_SEED_SHIPPING").as_deref() != Some("false");
        c.metrics = var("SHOP_METRICS").as_deref() != Some("off");
        c.windows = expiry::Windows::from_env()?;
        c.limits = shop::orders::Limits::from_lookup(var)?;
        c.return_policy = shop::returns::ReturnPolicy::from_lookup(var)?;
        c.recovery = shop::recovery::RecoveryPolicy::from_lookup(var)?;
        c.webhooks_allow_loopback = var("SHOP_WEBHOOKS_ALLOW_LOOPBACK").as_deref() != Some("false");
        c.sms_countries = shop::notifications::sms::SmsCountries::from_lookup(var)?;
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
