//! The object store on S3: GetObject, PutObject and DeleteObject as REST calls over HTTPS,
//! signed with SigV4 (reqwest and `aws-sigv4`, which the functions already link: no S3 SDK), and
//! upload targets as presigned PUT URLs whose content type and length are signed, so S3 refuses
//! an upload of another type or size.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use reqwest::{Method, StatusCode, Url};
use shop::objects::{Object, ObjectStore, UploadTarget, valid_key};
use shop::time::Timestamp;

/// Where the bucket is.
#[derive(Debug, Clone)]
pub struct Config {
    pub bucket: String,
    pub region: String,
    /// An endpoint reached path-style (`http://127.0.0.1:5000`, an emulator); `None` is S3's
    /// own, virtual-hosted (`https://<bucket>.s3.<region>.amazonaws.com`).
    pub endpoint: Option<String>,
}

pub struct S3Objects {
    /// Made at the first call that needs it: a presigned target needs none, and a function
    /// that may never call S3 (the products service, most of its requests) does not pay at
    /// its cold start for the client's TLS set-up.
    http: tokio::sync::OnceCell<reqwest::Client>,
    config: Config,
    credentials: SharedCredentialsProvider,
}

impl S3Objects {
    pub fn new(config: Config, credentials: SharedCredentialsProvider) -> anyhow::Result<Self> {
        Ok(Self { http: tokio::sync::OnceCell::new(), config, credentials })
    }

    async fn http(&self) -> anyhow::Result<&reqwest::Client> {
        self.http
            .get_or_try_init(|| async {
                shop_aws::default_tls_crypto();
                Ok(reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?)
            })
            .await
    }

    /// The bucket `BUCKET_NAME` names, in the SDK configuration's region, at its endpoint (the
    /// emulator's, when one is set), with its credentials.
    pub fn from_env(aws: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let bucket = std::env::var("BUCKET_NAME").context("BUCKET_NAME is not set")?;
        let region = aws.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
        let credentials = aws.credentials_provider().context("no AWS credentials")?;
        Self::new(Config { bucket, region, endpoint: aws.endpoint_url().map(str::to_owned) }, credentials)
    }

    fn url(&self, key: &str) -> anyhow::Result<Url> {
        anyhow::ensure!(valid_key(key), "{key:?} is not an object key");
        let Config { bucket, region, endpoint } = &self.config;
        let url = match endpoint {
            Some(endpoint) => format!("{}/{bucket}/{key}", endpoint.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com/{key}"),
        };
        Ok(Url::parse(&url)?)
    }

    async fn credentials(&self) -> anyhow::Result<Credentials> {
        self.credentials.provide_credentials().await.context("credentials to sign with")
    }

    /// S3's signing rules: the path signed as sent, encoded once.
    fn settings() -> SigningSettings {
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings
    }

    fn params<'a>(
        &'a self,
        identity: &'a aws_smithy_runtime_api::client::identity::Identity,
        settings: SigningSettings,
    ) -> anyhow::Result<aws_sigv4::http_request::SigningParams<'a>> {
        Ok(aws_sigv4::sign::v4::SigningParams::builder()
            .identity(identity)
            .region(&self.config.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()?
            .into())
    }

    /// Sends one signed request.
    async fn call(
        &self,
        method: Method,
        key: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> anyhow::Result<reqwest::Response> {
        let url = self.url(key)?;
        let identity = self.credentials().await?.into();
        let mut settings = Self::settings();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let request =
            SignableRequest::new(method.as_str(), url.as_str(), headers.iter().copied(), SignableBody::Bytes(&body))?;
        let (instructions, _) = sign(request, &self.params(&identity, settings)?)?.into_parts();
        let mut request = self.http().await?.request(method.clone(), url);
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            request = request.header(name, value);
        }
        request.body(body).send().await.with_context(|| format!("S3 {method} {key}"))
    }
}

/// S3's answer, or its refusal with what it said.
async fn ok(response: reqwest::Response, what: &str) -> anyhow::Result<reqwest::Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let said = response.text().await.unwrap_or_default();
    anyhow::bail!("S3 refused {what}: {status} {}", said.chars().take(300).collect::<String>())
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn upload_target(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        valid: Duration,
    ) -> anyhow::Result<UploadTarget> {
        let mut url = self.url(key)?;
        let identity = self.credentials().await?.into();
        let mut settings = Self::settings();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(valid);
        let length = size.to_string();
        let headers = [("content-type", content_type), ("content-length", length.as_str())];
        let request =
            SignableRequest::new("PUT", url.as_str(), headers.iter().copied(), SignableBody::UnsignedPayload)?;
        let (instructions, _) = sign(request, &self.params(&identity, settings)?)?.into_parts();
        for (name, value) in instructions.params() {
            url.query_pairs_mut().append_pair(name, value);
        }
        let expires = time::OffsetDateTime::now_utc() + valid;
        Ok(UploadTarget {
            method: "PUT".into(),
            url: url.into(),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            expires_at: Timestamp::at(expires),
        })
    }

    async fn put(&self, key: &str, object: Object) -> anyhow::Result<()> {
        let mut headers = vec![("content-type", object.content_type.as_str())];
        headers.extend(object.cache_control.as_deref().map(|c| ("cache-control", c)));
        let response = self.call(Method::PUT, key, &headers, object.bytes).await?;
        ok(response, "a put").await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<Object>> {
        let response = self.call(Method::GET, key, &[], Vec::new()).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = ok(response, "a get").await?;
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
        let cache_control = header(reqwest::header::CACHE_CONTROL);
        Ok(Some(Object { content_type, cache_control, bytes: response.bytes().await?.to_vec() }))
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let response = self.call(Method::DELETE, key, &[], Vec::new()).await?;
        ok(response, "a delete").await?;
        Ok(())
    }
}
