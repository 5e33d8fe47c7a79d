//! `shop-twilio`: the SMS sender on Twilio. A message is one `POST
//! /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded (`To`, `Body`, and `From` or
//! `MessagingServiceSid`), with HTTP Basic auth (the account SID and auth token). Twilio's error
//! codes decide what the shop does: 21610 (the recipient replied STOP) suppresses the number;
//! an invalid or unreachable number is refused for good; authentication, a sender the account
//! does not own, throttling and server errors are worth another try.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use shop::notifications::{OutgoingSms, SendError, SmsSender};

/// Twilio's REST API.
pub const API_BASE: &str = "https://api.twilio.com";

/// What the shop needs of a Twilio account.
#[derive(Clone)]
pub struct Config {
    /// `https://api.twilio.com`, or a Twilio-protocol server in tests.
    pub api_base: String,
    pub account_sid: String,
    pub auth_token: String,
    /// The sending number (E.164), or a Messaging Service's SID (`MG...`).
    pub from: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the auth token: this may be logged.
        f.debug_struct("Config").field("api_base", &self.api_base).field("account_sid", &self.account_sid).finish()
    }
}

/// Sends through Twilio.
pub struct TwilioSms {
    http: reqwest::Client,
    config: Config,
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

/// Twilio's error body: `{"code": 21610, "message": "...", "more_info": "...", "status": 400}`.
#[derive(Deserialize)]
struct Failure {
    code: Option<u32>,
    message: Option<String>,
}

/// The recipient replied STOP (or another opt-out word).
pub const UNSUBSCRIBED: u32 = 21610;
/// Numbers Twilio cannot send to: not a valid number, not a mobile number, a region the account
/// may not send to, a landline or unreachable carrier.
const BAD_RECIPIENT: &[u32] = &[21211, 21214, 21217, 21408, 21612, 21614];

impl TwilioSms {
    pub fn new(config: Config) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        Ok(Self { http, config })
    }

    /// The sender from a secret's fields: `account_sid`, `auth_token`, `from`, and `api_base`
    /// when not Twilio's own.
    pub fn from_fields(get: impl Fn(&str) -> anyhow::Result<String>) -> anyhow::Result<Self> {
        Self::new(Config {
            api_base: get("api_base").unwrap_or_else(|_| API_BASE.into()),
            account_sid: get("account_sid")?,
            auth_token: get("auth_token")?,
            from: get("from")?,
        })
    }
}

#[async_trait]
impl SmsSender for TwilioSms {
    async fn send_sms(&self, sms: &OutgoingSms<'_>) -> Result<String, SendError> {
        let Config { api_base, account_sid, auth_token, from } = &self.config;
        let url = format!("{}/2010-04-01/Accounts/{account_sid}/Messages.json", api_base.trim_end_matches('/'));
        let sender = if from.starts_with("MG") { "MessagingServiceSid" } else { "From" };
        let form = [("To", sms.to), ("Body", sms.text), (sender, from.as_str())];
        let answer = self
            .http
            .post(url)
            .basic_auth(account_sid, Some(auth_token))
            .form(&form)
            .send()
            .await
            .map_err(|e| SendError::Unavailable(anyhow::anyhow!("Twilio unreachable: {e}")))?;
        let status = answer.status();
        let body = answer.bytes().await.map_err(|e| SendError::Unavailable(anyhow::anyhow!("Twilio's answer: {e}")))?;
        if status.is_success() {
            let created: Created = serde_json::from_slice(&body)
                .map_err(|e| SendError::Unavailable(anyhow::anyhow!("Twilio's answer has no message sid: {e}")))?;
            return Ok(created.sid);
        }
        let failure: Option<Failure> = serde_json::from_slice(&body).ok();
        let code = failure.as_ref().and_then(|f| f.code);
        let said = failure.and_then(|f| f.message).unwrap_or_default();
        let what = format!("Twilio {status} (error {}): {said}", code.map_or("none".into(), |c| c.to_string()));
        Err(match code {
            Some(UNSUBSCRIBED) => SendError::Suppressed(format!("{} replied STOP", sms.to)),
            Some(code) if BAD_RECIPIENT.contains(&code) => SendError::Refused(what),
            _ => SendError::Unavailable(anyhow::anyhow!(what)),
        })
    }
}
