//! The partner webhooks' sender ([`shop::partners::Poster`]): one POST per attempt, no
//! redirects, a 10 s timeout, and never to an address off the public internet. Every name is
//! resolved by [`Guard`], which refuses the request when any address of the name is private,
//! loopback or link-local (so a name cannot be pointed at the shop's own network), and the
//! connection goes to the addresses it checked; an address written as a number is checked
//! before the request. Loopback may be allowed (the local stack, its tests).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use shop::partners::{Answer, Poster, TIMEOUT, is_public};

/// Resolves names, keeping only addresses the sender may reach.
#[derive(Debug, Clone, Copy)]
struct Guard {
    allow_loopback: bool,
}

impl Guard {
    fn allows(self, ip: IpAddr) -> bool {
        is_public(ip) || (self.allow_loopback && ip.is_loopback())
    }
}

impl Resolve for Guard {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = *self;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if found.is_empty() {
                return Err(format!("{} has no address", name.as_str()).into());
            }
            if let Some(refused) = found.iter().find(|a| !guard.allows(a.ip())) {
                return Err(
                    format!("{} resolves to {}, which is not a public address", name.as_str(), refused.ip()).into()
                );
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// POSTs over HTTPS (or HTTP to loopback, where allowed) with rustls.
pub struct WebhookSender {
    http: reqwest::Client,
    guard: Guard,
}

impl WebhookSender {
    pub fn new(allow_loopback: bool) -> reqwest::Result<Self> {
        let guard = Guard { allow_loopback };
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(guard))
            .user_agent("shop-webhooks/1")
            .build()?;
        Ok(Self { http, guard })
    }
}

#[async_trait]
impl Poster for WebhookSender {
    async fn post(&self, url: &str, headers: Vec<(&'static str, String)>, body: String) -> Answer {
        let url = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        // An address written as a number never meets the resolver.
        if let Some(ip) = url.host_str().and_then(|h| h.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>().ok())
            && !self.guard.allows(ip)
        {
            return Err(format!("{ip} is not a public address"));
        }
        let mut request = self.http.post(url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(answer) => Ok(answer.status().as_u16()),
            Err(e) if e.is_timeout() => Err("timed out".into()),
            Err(e) if e.is_connect() => Err(format!("could not connect: {}", root(&e))),
            Err(e) => Err(root(&e)),
        }
    }
}

/// The innermost cause of an error, for the delivery log (no URL, no secret).
fn root(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn receiver() -> SocketAddr {
        let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    #[tokio::test]
    async fn loopback_only_where_allowed_and_private_addresses_never() {
        let addr = receiver().await;
        let by_number = format!("http://{addr}/hook");
        let by_name = format!("http://localhost:{}/hook", addr.port());
        let allowed = WebhookSender::new(true).unwrap();
        assert_eq!(allowed.post(&by_number, vec![], "{}".into()).await, Ok(200));
        assert_eq!(allowed.post(&by_name, vec![], "{}".into()).await, Ok(200));
        let strict = WebhookSender::new(false).unwrap();
        for url in [
            by_number.as_str(),
            by_name.as_str(),
            "http://10.0.0.1/hook",
            "http://169.254.169.254/latest",
            "http://[::1]:9/x",
        ] {
            let refused = strict.post(url, vec![], "{}".into()).await;
            assert!(refused.as_ref().is_err_and(|e| e.contains("not a public address")), "{url}: {refused:?}");
        }
    }
}
