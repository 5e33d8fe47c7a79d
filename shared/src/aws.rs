//! AWS SDK configuration, built once per process.
//!
//! In Lambda everything the SDK needs is already in the environment (region, the function's
//! role credentials), so [`lambda_config`] reads it directly: no profile files, no instance
//! metadata, no network at start-up. Elsewhere [`load`] runs the full default chain.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

/// Configuration from the Lambda execution environment's variables.
pub fn lambda_config() -> anyhow::Result<SdkConfig> {
    let var = |name: &str| std::env::var(name).map_err(|_| anyhow::anyhow!("{name} is not set"));
    let region = std::env::var("AWS_REGION").or_else(|_| var("AWS_DEFAULT_REGION"))?;
    let credentials = Credentials::new(
        var("AWS_ACCESS_KEY_ID")?,
        var("AWS_SECRET_ACCESS_KEY")?,
        std::env::var("AWS_SESSION_TOKEN").ok(),
        None,
        "lambda-environment",
    );
    let mut builder = SdkConfig::builder()
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .behavior_version(BehaviorVersion::latest());
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    Ok(builder.build())
}

/// Configuration from the default provider chain (environment, profiles, SSO, metadata),
/// honouring `AWS_ENDPOINT_URL` for a local emulator. For the local stack and tools.
pub async fn load() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// A required environment variable, with an error that names it.
pub fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| anyhow::anyhow!("the environment variable {name} is not set"))
}
