//! The search index on OpenSearch (Amazon OpenSearch Service in AWS): the REST API over HTTPS,
//! each request signed with SigV4 for the service `es`.
//!
//! Searches and writes go through an alias (`products`): a rebuild fills a new index and moves
//! the alias to it in one `_aliases` call, so a search never meets an empty index. Documents
//! are written with external versioning by the product's revision, so an older change is
//! refused by the engine itself (a 409, which means "a newer one is there"). The mapping and
//! analysers are defined here and created with the first index.

mod query;

use std::time::{Duration, SystemTime};

use anyhow::Context;
use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use reqwest::Method;
use serde_json::{Value, json};
use shop::Dependency;
use shop::catalog::Product;
use shop::search::{Change, Rebuild, SearchIndex, SearchQuery, SearchResults, Suggestion};
use tokio::sync::OnceCell;

/// Where the index lives and how to reach it.
#[derive(Debug, Clone)]
pub struct Config {
    /// The domain's endpoint, `https://search-<domain>.<region>.es.amazonaws.com` (or a local
    /// node's `http://127.0.0.1:9200`).
    pub endpoint: String,
    /// The alias searches and writes use; indices are named after it.
    pub alias: String,
    pub region: String,
    /// Whether [`SearchIndex::apply`] waits until its changes are searchable
    /// (`refresh=wait_for`, up to the index's refresh interval of 1 s). The indexer does not:
    /// its changes show within that second anyway, and waiting would bill each batch a second
    /// of Lambda time. Tests of the contract do.
    pub wait_for_refresh: bool,
}

/// The search port on OpenSearch.
pub struct OpenSearch {
    http: reqwest::Client,
    config: Config,
    credentials: Option<SharedCredentialsProvider>,
    /// Whether the alias is known to exist (checked once per process, before the first write).
    ready: OnceCell<()>,
}

/// The index settings: the analyser that both query and documents go through (runs of letters
/// and digits, lower-cased, accents folded), as the embedded engine analyses text.
fn settings() -> Value {
    json!({
        "settings": {
            "number_of_shards": 1,
            // No replica on a single node (which would stay yellow), one from two nodes on.
            "auto_expand_replicas": "0-1",
            "analysis": {
                "tokenizer": { "shop_words": { "type": "pattern", "pattern": "[^\\p{L}\\p{N}]+" } },
                "analyzer": {
                    "shop_text": { "type": "custom", "tokenizer": "shop_words", "filter": ["lowercase", "asciifolding"] }
                }
            }
        },
        "mappings": mappings()
    })
}

/// The mapping: strict, the documents' fields, and those fields again in `_meta`, the record
/// of the mapping an index was given (see `ensure`).
fn mappings() -> Value {
    let properties = properties();
    json!({ "dynamic": "strict", "properties": properties, "_meta": { "properties": properties } })
}

/// The documents' fields.
fn properties() -> Value {
    json!({
        "id": { "type": "keyword" },
        // Prefixes indexed as terms of their own (edge n-grams): completions and the
        // last word of a search are term lookups, not scans of the dictionary.
        "name": { "type": "text", "analyzer": "shop_text", "index_prefixes": { "min_chars": 1, "max_chars": 10 } },
        "description": { "type": "text", "analyzer": "shop_text" },
        "category": { "type": "keyword" },
        "price": { "type": "long" },
        "in_stock": { "type": "boolean" },
        "created": { "type": "long" },
        // Its variants' option values (`Size:M`) and SKUs.
        "options": { "type": "keyword" },
        "skus": { "type": "keyword" },
        "product": { "type": "object", "enabled": false }
    })
}

fn document(p: &Product) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "category": p.category,
        "price": p.price.amount,
        "in_stock": p.stock > 0,
        "created": p.created_at.unix_millis(),
        "options": shop::search::option_terms(p),
        "skus": shop::search::skus(p),
        "product": p,
    })
}

/// The SigV4 headers (`authorization`, `x-amz-date`, and `x-amz-security-token` for temporary
/// credentials) for a request to OpenSearch at `time`.
pub fn sign(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    credentials: Credentials,
    region: &str,
    time: SystemTime,
) -> anyhow::Result<Vec<(String, String)>> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let identity = credentials.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("es")
        .time(time)
        .settings(SigningSettings::default())
        .build()?
        .into();
    let request = SignableRequest::new(method, url, headers.iter().copied(), SignableBody::Bytes(body))?;
    let (instructions, _) = sign(request, &params)?.into_parts();
    Ok(instructions.headers().map(|(name, value)| (name.to_owned(), value.to_owned())).collect())
}

/// What OpenSearch answered: its status and JSON body.
struct Answer {
    status: reqwest::StatusCode,
    body: Value,
}

impl Answer {
    fn ok(self, what: &str) -> anyhow::Result<Value> {
        if self.status.is_success() {
            return Ok(self.body);
        }
        let refused = anyhow::anyhow!("OpenSearch refused {what}: {} {}", self.status, self.body);
        // Overloaded or failing: the engine cannot serve now, which is not the request's fault.
        if self.status.is_server_error() || self.status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            Err(refused.context(Dependency::Search))
        } else {
            Err(refused)
        }
    }
}

impl OpenSearch {
    /// The index at `config`, requests signed with `credentials` when given.
    pub fn new(config: Config, credentials: Option<SharedCredentialsProvider>) -> anyhow::Result<Self> {
        shop_aws::default_tls_crypto();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        Ok(Self { http, config, credentials, ready: OnceCell::new() })
    }

    /// The index named by `OPENSEARCH_ENDPOINT` and `SEARCH_ALIAS` (default `products`),
    /// signed with the SDK configuration's credentials.
    pub fn from_env(aws: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let endpoint = std::env::var("OPENSEARCH_ENDPOINT").context("OPENSEARCH_ENDPOINT is not set")?;
        let alias = std::env::var("SEARCH_ALIAS").unwrap_or_else(|_| "products".into());
        let region = aws.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
        Self::new(Config { endpoint, alias, region, wait_for_refresh: false }, aws.credentials_provider())
    }

    async fn call(&self, method: Method, path: &str, body: Option<Vec<u8>>, ndjson: bool) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.config.endpoint.trim_end_matches('/'));
        let content_type = if ndjson { "application/x-ndjson" } else { "application/json" };
        let body = body.unwrap_or_default();
        let mut request = self.http.request(method.clone(), &url).header("content-type", content_type);
        if let Some(provider) = &self.credentials {
            let credentials = provider.provide_credentials().await.context("credentials to sign with")?;
            let headers = [("content-type", content_type)];
            let signed =
                sign(method.as_str(), &url, &headers, &body, credentials, &self.config.region, SystemTime::now())?;
            for (name, value) in signed {
                request = request.header(name, value);
            }
        }
        let response = request
            .body(body)
            .send()
            .await
            .with_context(|| format!("calling OpenSearch: {method} {path}"))
            .context(Dependency::Search)?;
        let status = response.status();
        let text = response.text().await?;
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Ok(Answer { status, body })
    }

    async fn json(&self, method: Method, path: &str, body: &Value) -> anyhow::Result<Answer> {
        self.call(method, path, Some(serde_json::to_vec(body)?), false).await
    }

    /// Creates the first index behind the alias, unless the alias exists; an index made by an
    /// earlier version, whose mapping (in its `_meta`) is not this version's, gets the fields
    /// this version adds: its mapping is strict and would refuse documents that carry them. So
    /// a cold start reads the mapping (one GET) and changes it only after a release changed it:
    /// a mapping update is a change of the cluster's state, and held the indexer's first event
    /// up 7-10 ms (ARCHITECTURE.md, Search).
    async fn ensure(&self) -> anyhow::Result<()> {
        self.ready
            .get_or_try_init(|| async {
                let alias = &self.config.alias;
                let answer = self.call(Method::GET, &format!("/{alias}/_mapping"), None, false).await?;
                if answer.status != reqwest::StatusCode::NOT_FOUND {
                    let indices = answer.ok("reading the mapping")?;
                    let wanted = mappings();
                    let current = indices.as_object().and_then(|indices| indices.values().next());
                    if current.is_none_or(|index| index["mappings"]["_meta"] != wanted["_meta"]) {
                        self.json(Method::PUT, &format!("/{alias}/_mapping"), &wanted)
                            .await?
                            .ok("extending the mapping")?;
                    }
                    return Ok(());
                }
                let mut body = settings();
                body["aliases"] = json!({ alias: {} });
                let answer = self.json(Method::PUT, &format!("/{alias}-initial"), &body).await?;
                // Another process may have created it first.
                let raced = answer.body["error"]["type"] == "resource_already_exists_exception";
                if !raced {
                    answer.ok("creating the index")?;
                }
                Ok(())
            })
            .await
            .copied()
    }

    /// Writes `changes` to `index` in one bulk request; `refresh` makes them searchable first.
    async fn bulk(&self, index: &str, changes: &[Change], refresh: bool) -> anyhow::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        for change in changes {
            let (action, version_type) = match change {
                Change::Put(_) => ("index", "external"),
                // An equal revision removes too (the product went inactive at it).
                Change::Remove { .. } => ("delete", "external_gte"),
            };
            let meta = json!({ action: {
                "_index": index, "_id": change.id(), "version": change.revision(), "version_type": version_type,
            }});
            serde_json::to_writer(&mut lines, &meta)?;
            lines.push(b'\n');
            if let Change::Put(p) = change {
                serde_json::to_writer(&mut lines, &document(p))?;
                lines.push(b'\n');
            }
        }
        let path = if refresh { "/_bulk?refresh=wait_for" } else { "/_bulk" };
        let answer = self.call(Method::POST, path, Some(lines), true).await?.ok("a bulk write")?;
        if answer["errors"] == true {
            for item in answer["items"].as_array().into_iter().flatten() {
                let result = item.as_object().and_then(|o| o.values().next()).context("a bulk item")?;
                match result["status"].as_u64() {
                    // 409: the index holds a newer revision; 404: a removal of what is not there.
                    Some(200..=299 | 409 | 404) => {}
                    _ => anyhow::bail!("OpenSearch refused a change: {result}"),
                }
            }
        }
        Ok(())
    }

    /// The indices the alias names now.
    async fn aliased(&self) -> anyhow::Result<Vec<String>> {
        let answer = self.call(Method::GET, &format!("/_alias/{}", self.config.alias), None, false).await?;
        if answer.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        let body = answer.ok("listing the alias")?;
        Ok(body.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default())
    }

    async fn find(&self, body: &Value) -> anyhow::Result<Option<Value>> {
        let answer = self.json(Method::POST, &format!("/{}/_search", self.config.alias), body).await?;
        // Nothing has been indexed yet: no index, no results.
        if answer.body["error"]["type"] == "index_not_found_exception" {
            return Ok(None);
        }
        Ok(Some(answer.ok("a search")?))
    }
}

#[async_trait]
impl SearchIndex for OpenSearch {
    async fn apply(&self, changes: &[Change]) -> anyhow::Result<()> {
        self.ensure().await?;
        self.bulk(&self.config.alias, changes, self.config.wait_for_refresh).await
    }

    async fn search(&self, query: &SearchQuery) -> anyhow::Result<SearchResults> {
        match self.find(&query::search(query)).await? {
            Some(answer) => query::results(query, &answer),
            None => Ok(SearchResults { facets: shop::search::FacetTally::default().facets(), ..Default::default() }),
        }
    }

    async fn suggest(&self, text: &str, limit: usize) -> anyhow::Result<Vec<Suggestion>> {
        let Some(body) = query::suggest(text, limit) else { return Ok(Vec::new()) };
        match self.find(&body).await? {
            Some(answer) => query::suggestions(&answer),
            None => Ok(Vec::new()),
        }
    }

    async fn rebuild(&self) -> anyhow::Result<Box<dyn Rebuild + '_>> {
        let index = format!("{}-{}", self.config.alias, ulid::Ulid::new().to_string().to_lowercase());
        self.json(Method::PUT, &format!("/{index}"), &settings()).await?.ok("creating an index")?;
        Ok(Box::new(OpenSearchRebuild { search: self, index }))
    }
}

struct OpenSearchRebuild<'a> {
    search: &'a OpenSearch,
    index: String,
}

#[async_trait]
impl Rebuild for OpenSearchRebuild<'_> {
    async fn add(&mut self, products: &[Product]) -> anyhow::Result<()> {
        let changes: Vec<Change> = products.iter().cloned().map(|p| Change::Put(Box::new(p))).collect();
        self.search.bulk(&self.index, &changes, false).await
    }

    async fn swap(self: Box<Self>) -> anyhow::Result<()> {
        let s = self.search;
        s.call(Method::POST, &format!("/{}/_refresh", self.index), None, false).await?.ok("refreshing")?;
        let old = s.aliased().await?;
        let alias = &s.config.alias;
        let mut actions: Vec<Value> = old.iter().map(|i| json!({ "remove": { "index": i, "alias": alias } })).collect();
        actions.push(json!({ "add": { "index": self.index, "alias": alias } }));
        s.json(Method::POST, "/_aliases", &json!({ "actions": actions })).await?.ok("moving the alias")?;
        for index in old {
            if let Err(e) = s.call(Method::DELETE, &format!("/{index}"), None, false).await?.ok("deleting") {
                tracing::warn!(error = %e, index, "could not delete the replaced index");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixed inputs, and the headers AWS's Python SDK (botocore's `SigV4Auth`) computes for them.
    #[test]
    fn requests_are_signed_as_aws_signs_them() {
        let credentials =
            Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "test");
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
        let body = br#"{"query":{"match_all":{}}}"#;
        let headers = sign(
            "POST",
            "https://search-shop.us-east-1.es.amazonaws.com/products/_search",
            &[("content-type", "application/json")],
            body,
            credentials,
            "us-east-1",
            time,
        )
        .unwrap();
        let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("x-amz-date"), Some("20150830T123600Z"));
        assert_eq!(get("authorization"), Some(EXPECTED_AUTHORIZATION));
    }

    const EXPECTED_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/es/aws4_request, \
        SignedHeaders=content-type;host;x-amz-date, \
        Signature=c6a48398a62ba817d4129f502f21bdebeb23c8704501e2a35cfcd428e6d654c5";
}
