//! What the adapter needs of a PayPal REST app and its webhook.

/// PayPal's live REST API.
pub const LIVE: &str = "https://api-m.paypal.com";
/// PayPal's sandbox REST API.
pub const SANDBOX: &str = "https://api-m.sandbox.paypal.com";

/// The origins live webhooks' certificates are fetched from (the `PAYPAL-CERT-URL` header):
/// PayPal's live API hosts, over HTTPS. PayPal publishes no list; deliveries name
/// `api.paypal.com`, and the `api-m` host serves the same API.
pub const CERT_ORIGINS: [&str; 2] = ["https://api.paypal.com", "https://api-m.paypal.com"];
/// The sandbox's: a live deployment never trusts a certificate from there, since anyone can
/// open a sandbox account and have PayPal sign deliveries with its certificates.
pub const SANDBOX_CERT_ORIGINS: [&str; 2] = ["https://api.sandbox.paypal.com", "https://api-m.sandbox.paypal.com"];

/// What the adapter needs of a PayPal REST app and its webhook.
#[derive(Clone)]
pub struct Config {
    /// PayPal's API ([`LIVE`], [`SANDBOX`], or a test server), without a trailing slash.
    pub api_base: String,
    pub client_id: String,
    pub client_secret: String,
    /// The id PayPal gave the shop's webhook: part of every signed message.
    pub webhook_id: String,
    /// The origins (`scheme://host[:port]`) a webhook's certificate may be fetched from; a
    /// certificate URL elsewhere is refused without being fetched. The API's environment's
    /// own: [`CERT_ORIGINS`] for [`LIVE`], [`SANDBOX_CERT_ORIGINS`] for [`SANDBOX`], none for
    /// another API base unless [`Config::cert_origins`] names them.
    pub cert_origins: Vec<String>,
}

impl Config {
    /// The live API, with certificates from PayPal's hosts only.
    pub fn new(client_id: &str, client_secret: &str, webhook_id: &str) -> Self {
        Self {
            api_base: LIVE.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            webhook_id: webhook_id.to_owned(),
            cert_origins: CERT_ORIGINS.iter().map(|&o| o.to_owned()).collect(),
        }
    }

    /// Another API base ([`SANDBOX`], or a test server), and its environment's certificate
    /// origins.
    pub fn api_base(mut self, base: &str) -> Self {
        base.trim_end_matches('/').clone_into(&mut self.api_base);
        let origins: &[&str] = match self.api_base.as_str() {
            LIVE => &CERT_ORIGINS,
            SANDBOX => &SANDBOX_CERT_ORIGINS,
            _ => &[],
        };
        self.cert_origins = origins.iter().map(|&o| o.to_owned()).collect();
        self
    }

    /// Other origins to fetch webhook certificates from, instead of PayPal's (tests only).
    pub fn cert_origins<S: Into<String>>(mut self, origins: impl IntoIterator<Item = S>) -> Self {
        self.cert_origins = origins.into_iter().map(Into::into).collect();
        self
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("api_base", &self.api_base)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("webhook_id", &self.webhook_id)
            .field("cert_origins", &self.cert_origins)
            .finish()
    }
}
