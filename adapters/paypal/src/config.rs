//! What the adapter needs of a PayPal REST app and its webhook.

/// PayPal's live REST API.
pub const LIVE: &str = "https://api-m.paypal.com";
/// PayPal's sandbox REST API.
pub const SANDBOX: &str = "https://api-m.sandbox.paypal.com";

/// The origins PayPal's webhook certificates are fetched from (the `PAYPAL-CERT-URL` header):
/// PayPal's API hosts, live and sandbox, over HTTPS. PayPal publishes no list; deliveries name
/// `api.paypal.com` and `api.sandbox.paypal.com`, and the `api-m` hosts serve the same API.
pub const CERT_ORIGINS: [&str; 4] = [
    "https://api.paypal.com",
    "https://api-m.paypal.com",
    "https://api.sandbox.paypal.com",
    "https://api-m.sandbox.paypal.com",
];

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
    /// certificate URL elsewhere is refused without being fetched. By default [`CERT_ORIGINS`].
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

    /// Another API base ([`SANDBOX`], or a test server).
    pub fn api_base(mut self, base: &str) -> Self {
        base.trim_end_matches('/').clone_into(&mut self.api_base);
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
