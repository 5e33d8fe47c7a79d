//! `shop-aws`: what every function needs to run on AWS Lambda, and nothing service-specific:
//! the SDK configuration, built once per process ([`lambda`] is the runtime glue). The service
//! adapters (`shop-dynamodb`, `shop-cognito`, `shop-sns`) build their clients from it, so a
//! function links exactly the adapters it calls.
//!
//! AWS SDK configuration, built once per process.
//!
//! In Lambda everything the SDK needs is already in the environment (region, the function's
//! role credentials), so [`lambda_config`] reads it directly: no profile files, no instance
//! metadata, no network at start-up. Its HTTPS client trusts the roots that AWS endpoints
//! chain to (Amazon Trust Services), compiled in: reading and parsing the system's whole CA
//! directory would be most of a cold start. Elsewhere [`defaults`] runs the full default chain.
//!
//! The SDK's clients get their HTTPS client only from here: the workspace builds them without
//! their default one, whose TLS is on aws-lc. This one is on ring, the crypto the payment
//! providers' clients use too, so a function links one TLS crypto library, not two (aws-lc was
//! 1.5 MB of the payments function's code).

use std::sync::{Arc, LazyLock};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

pub mod lambda;

/// Amazon Root CA 1-4 and Starfield Services Root CA G2, which every AWS endpoint chains to.
const AWS_ROOTS: &str = include_str!("aws-roots.pem");

/// An HTTPS client that trusts only the AWS roots. Its TLS configuration is built once per
/// process, with the first connection: the stock client builds one (and throws it away) for
/// every SDK client at construction, to front-load reading the system's CA directory, which
/// this client never reads.
pub fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(TlsOnFirstConnection(aws_https_client()))
}

#[derive(Debug)]
struct TlsOnFirstConnection(SharedHttpClient);

impl HttpClient for TlsOnFirstConnection {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

fn aws_https_client() -> SharedHttpClient {
    let trust = AWS_ROOTS
        .split_inclusive("-----END CERTIFICATE-----\n")
        .filter(|pem| pem.contains("BEGIN CERTIFICATE"))
        .fold(TrustStore::empty().with_native_roots(false), |store, pem| store.with_pem_certificate(pem.as_bytes()));
    let context = TlsContext::builder().with_trust_store(trust).build().expect("the compiled-in roots are valid");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

/// Makes ring, the crypto the AWS SDK's TLS uses here, the process's default rustls provider:
/// the payment providers' HTTPS clients (reqwest) take the process default. Does nothing when a
/// default is installed already.
pub fn default_tls_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Configuration from the Lambda execution environment's variables.
pub fn lambda_config() -> anyhow::Result<SdkConfig> {
    lambda_config_from(|name| std::env::var(name).ok())
}

/// Configuration from variables as Lambda sets them, read through `var`.
fn lambda_config_from(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<SdkConfig> {
    let required = |name: &str| var(name).ok_or_else(|| anyhow::anyhow!("the environment variable {name} is not set"));
    let region = required("AWS_REGION").or_else(|_| required("AWS_DEFAULT_REGION"))?;
    let credentials = Credentials::new(
        required("AWS_ACCESS_KEY_ID")?,
        required("AWS_SECRET_ACCESS_KEY")?,
        var("AWS_SESSION_TOKEN"),
        None,
        "lambda-environment",
    );
    let mut builder = SdkConfig::builder()
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(https_client())
        .behavior_version(BehaviorVersion::latest());
    if let Some(endpoint) = var("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    Ok(builder.build())
}

/// The default provider chain (environment, profiles, SSO, metadata), honouring
/// `AWS_ENDPOINT_URL` for a local emulator, with [`https_client`]: for the local stack, the tests
/// and tools, which may set more before loading.
pub fn defaults() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client())
}

/// Configuration from [`defaults`] as they are.
pub async fn load() -> SdkConfig {
    defaults().load().await
}

/// An SDK client made at its first use rather than at start-up. Making a client parses its
/// service's table of AWS partitions and regions, once per service and process: 0.38 million
/// instructions, where a start with one DynamoDB client takes about 1 million to its first poll
/// (counted with callgrind). A function's table client is made at start, as every request
/// needs it; the clients that only some requests call (Cognito, SES, SNS) wait for the first of
/// those.
#[derive(Clone)]
pub struct OnFirstUse<C>(Arc<LazyLock<C, Box<dyn FnOnce() -> C + Send>>>);

impl<C> OnFirstUse<C> {
    /// The client `make` makes from `config`, when first used: `OnFirstUse::new(&aws, Client::new)`.
    pub fn new(config: &SdkConfig, make: fn(&SdkConfig) -> C) -> Self
    where
        C: 'static,
    {
        let config = config.clone();
        Self(Arc::new(LazyLock::new(Box::new(move || make(&config)))))
    }

    /// A client made already (the tests' clients on the emulator).
    pub fn made(client: C) -> Self
    where
        C: Send + 'static,
    {
        Self(Arc::new(LazyLock::new(Box::new(move || client))))
    }
}

impl<C> std::ops::Deref for OnFirstUse<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.0
    }
}

/// Turns an SDK failure into an error naming what was being done and the service's own words
/// (an SDK error's `Display` alone says only "service error"): `.map_err(failed("creating x"))`.
pub fn failed<E: std::error::Error>(doing: impl std::fmt::Display) -> impl FnOnce(E) -> anyhow::Error {
    move |e| anyhow::anyhow!("{doing}: {}", aws_smithy_types::error::display::DisplayErrorContext(e))
}

/// A required environment variable, with an error that names it.
pub fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| anyhow::anyhow!("the environment variable {name} is not set"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;

    #[test]
    fn the_compiled_in_roots_load() {
        assert_eq!(AWS_ROOTS.matches("BEGIN CERTIFICATE").count(), 5);
        // Validating the stock client builds a connector, which loads the trust store: a bad
        // certificate panics here.
        let components = RuntimeComponentsBuilder::new("test");
        aws_https_client()
            .validate_base_client_config(&components, &aws_sdk_dynamodb::config::ConfigBag::base())
            .unwrap();
    }

    #[test]
    fn a_client_on_first_use_is_made_once_at_its_first_use() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static MADE: AtomicUsize = AtomicUsize::new(0);
        fn make(config: &SdkConfig) -> String {
            MADE.fetch_add(1, Ordering::SeqCst);
            config.region().unwrap().to_string()
        }
        let config = SdkConfig::builder().region(Region::new("eu-west-1")).build();
        let client = OnFirstUse::new(&config, make);
        let shared = client.clone();
        assert_eq!(MADE.load(Ordering::SeqCst), 0, "nothing is made before the first use");
        assert_eq!(client.as_str(), "eu-west-1");
        assert_eq!(shared.len(), 9);
        assert_eq!(MADE.load(Ordering::SeqCst), 1, "clones share the one client");
    }

    #[tokio::test]
    async fn the_lambda_configuration_comes_from_the_lambda_variables_alone() {
        let vars: std::collections::HashMap<&str, &str> = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "session"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ]
        .into();
        let config = lambda_config_from(|name| vars.get(name).map(|v| v.to_string())).unwrap();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:9"));
        assert!(config.http_client().is_some(), "the compiled-in roots' client, not the default one");
        use aws_credential_types::provider::ProvideCredentials;
        let credentials = config.credentials_provider().unwrap().provide_credentials().await.unwrap();
        assert_eq!(credentials.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(credentials.session_token(), Some("session"));
        let _dynamodb = aws_sdk_dynamodb::Client::new(&config);

        let missing = lambda_config_from(|name| (name != "AWS_SECRET_ACCESS_KEY").then(|| "x".to_owned()));
        assert!(missing.unwrap_err().to_string().contains("AWS_SECRET_ACCESS_KEY"));
    }
}
