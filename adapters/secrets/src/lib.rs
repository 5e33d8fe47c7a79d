//! `shop-secrets`: a JSON secret from AWS Secrets Manager (the providers' keys, the key that
//! signs list cursors), read when a function first needs it and kept for [`MAX_AGE`], so that no
//! secret sits in a template parameter, an environment variable or a log, and a rotated one is
//! in use within the quarter hour. The function's environment names the secret (its ARN), never
//! its value.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use serde_json::{Map, Value};

/// One secret whose value is a JSON object of named strings.
#[derive(Clone)]
pub struct JsonSecret {
    /// The Secrets Manager client is made at the read, not at start: a function's cold start
    /// pays nothing for a provider until it is used.
    config: aws_config::SdkConfig,
    id: String,
}

impl JsonSecret {
    /// The secret whose ARN (or name) is `id`.
    pub fn new(config: &aws_config::SdkConfig, id: &str) -> Self {
        Self { config: config.clone(), id: id.to_owned() }
    }

    /// The secret whose ARN the environment variable `variable` holds.
    pub fn from_env(config: &aws_config::SdkConfig, variable: &str) -> anyhow::Result<Self> {
        Ok(Self::new(config, &shop_aws::env(variable)?))
    }

    /// Reads the secret's current value (one `GetSecretValue`).
    pub async fn read(&self) -> anyhow::Result<Fields> {
        let answer = Client::new(&self.config)
            .get_secret_value()
            .secret_id(&self.id)
            .send()
            .await
            .map_err(shop_aws::failed(format!("reading the secret {}", self.id)))?;
        let text = answer.secret_string().ok_or_else(|| anyhow::anyhow!("the secret {} holds no string", self.id))?;
        match serde_json::from_str(text) {
            Ok(Value::Object(fields)) => Ok(Fields { id: self.id.clone(), fields }),
            // Never echo the value: it is a secret, and this error may be logged.
            _ => anyhow::bail!("the secret {} is not a JSON object", self.id),
        }
    }
}

/// How long a secret read is used before it is read again.
pub const MAX_AGE: Duration = Duration::from_secs(15 * 60);

/// A value built by `build` from the JSON secret whose ARN the environment variable `variable`
/// holds: the secret is read at the value's first use, and again at the first use after it is
/// [`MAX_AGE`] old.
pub fn deferred<T: Send + Sync + 'static>(
    config: &aws_config::SdkConfig,
    variable: &str,
    build: fn(&Fields) -> anyhow::Result<T>,
) -> anyhow::Result<shop::deferred::Deferred<T>> {
    Ok(JsonSecret::from_env(config, variable)?.deferred(build))
}

impl JsonSecret {
    /// A value built by `build` from this secret at its first use, and again at the first use
    /// after it is [`MAX_AGE`] old.
    pub fn deferred<T: Send + Sync + 'static>(
        self,
        build: fn(&Fields) -> anyhow::Result<T>,
    ) -> shop::deferred::Deferred<T> {
        shop::deferred::Deferred::new(move || {
            let secret = self.clone();
            async move { build(&secret.read().await?) }
        })
        .max_age(MAX_AGE)
    }
}

/// The shortest key that may sign list cursors.
pub const MIN_SIGNING_KEY: usize = 32;

/// The shop's signing key (list cursors, guests' tokens and links; see [`shop::signing`]): the
/// field `key` of the secret `id` (ARN or name), read at its first use in a process. A rotated
/// key is in use within [`MAX_AGE`]; what the old one signed is refused (a cursor with a 400
/// that says to start the list again, a guest's link with a 401).
pub fn signing_key(config: &aws_config::SdkConfig, id: &str) -> shop::signing::KeySource {
    shop::signing::KeySource::Deferred(JsonSecret::new(config, id).deferred(|fields| {
        let key = fields.get("key")?;
        anyhow::ensure!(
            key.len() >= MIN_SIGNING_KEY,
            "the secret {}'s field key is shorter than {MIN_SIGNING_KEY} characters",
            fields.id
        );
        Ok(key.as_bytes().to_vec())
    }))
}

/// A function signs with the key of the secret whose ARN `SIGNING_SECRET_ARN` holds (see
/// [`signing_key`]).
pub fn signing_key_from_env(config: &aws_config::SdkConfig) -> anyhow::Result<()> {
    shop::signing::set_key(signing_key(config, &shop_aws::env("SIGNING_SECRET_ARN")?));
    Ok(())
}

/// A payment provider built by `build` from a secret, at its first use (see [`deferred`]).
pub fn provider<P: shop::payments::PaymentProvider + 'static>(
    config: &aws_config::SdkConfig,
    variable: &str,
    provider: shop::payments::Provider,
    build: fn(&Fields) -> anyhow::Result<P>,
) -> anyhow::Result<shop::payments::Deferred<P>> {
    Ok(shop::payments::Deferred::new(provider, deferred(config, variable, build)?))
}

/// A secret's named fields.
pub struct Fields {
    id: String,
    fields: Map<String, Value>,
}

impl Fields {
    /// The field `name`, which must be a non-empty string.
    pub fn get(&self, name: &str) -> anyhow::Result<&str> {
        self.fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| anyhow::anyhow!("the secret {} has no field {name}", self.id))
    }
}
