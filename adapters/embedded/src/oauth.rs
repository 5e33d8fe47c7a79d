//! Sign-in by OAuth 2.0's authorization code with PKCE (RFC 6749 and RFC 7636), as Cognito's
//! managed login does it, so that the storefront runs one flow everywhere: the page sends the
//! person to `/oauth2/authorize` with a code challenge, the provider signs them in and sends
//! them back to a registered redirect URI with a code, and the page trades the code and its
//! verifier for tokens at `/oauth2/token`.
//!
//! A code is good once, for five minutes (Cognito's lifetime), for the client, redirect URI and
//! challenge it was issued to; it is kept only as its hash. Only the S256 method is taken (the
//! plain one would send the verifier itself through the browser).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shop::codes::sha256_hex;
use shop::domain::{Email, Password, UserId};
use shop::identity::{Client, IdentityError, Tokens};
use shop::table::{Condition, Item, Key, Table, Write, WriteError};
use shop::time::epoch_now;

use crate::identity::EmbeddedIdentity;

/// How long an authorization code is good.
pub const CODE_SECONDS: i64 = 300;

/// The app client the provider signs people in for.
#[derive(Debug, Clone)]
pub struct AppClient {
    pub client_id: String,
    /// The redirect URIs it may be sent back to (Cognito's callback URLs), compared whole.
    pub callback_urls: Vec<String>,
}

/// What `/oauth2/authorize` is asked.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuthorizeRequest {
    #[serde(default)]
    pub response_type: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub redirect_uri: String,
    #[serde(default)]
    pub code_challenge: String,
    #[serde(default)]
    pub code_challenge_method: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// What `/oauth2/token` is asked (a form).
#[derive(Debug, Clone, Deserialize)]
pub struct TokenRequest {
    #[serde(default)]
    pub grant_type: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub redirect_uri: Option<String>,
    #[serde(default)]
    pub code_verifier: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// Not the registered client, or a redirect URI it did not register: told to the person,
    /// never redirected (the URI may be an attacker's).
    #[error("this sign-in link is not the shop's: unknown client or redirect URI")]
    NotRegistered,
    /// A malformed request from the registered client: told to it at its redirect URI.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// The code is unknown, used, expired, or issued for another client, redirect URI or
    /// challenge; or the refresh token is no good.
    #[error("the code or refresh token is invalid, expired or used")]
    InvalidGrant,
    #[error("grant_type must be authorization_code or refresh_token")]
    UnsupportedGrantType,
    /// The person's credentials (wrong, unconfirmed, slowed down) or a store failure.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

impl OAuthError {
    /// The error code RFC 6749 gives it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotRegistered | Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::Identity(IdentityError::Other(_)) => "server_error",
            Self::Identity(_) => "access_denied",
        }
    }
}

/// What a code was issued for.
#[derive(Serialize, Deserialize)]
struct Issued {
    user_id: UserId,
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
}

fn code_key(code: &str) -> Key {
    shop::keys::authorization_code(&sha256_hex(code))
}

/// The authorization server over the embedded identity.
#[derive(Clone)]
pub struct AuthorizationServer {
    identity: Arc<EmbeddedIdentity>,
    table: Arc<dyn Table>,
    client: AppClient,
}

impl AuthorizationServer {
    pub fn new(identity: Arc<EmbeddedIdentity>, table: Arc<dyn Table>, client: AppClient) -> Self {
        Self { identity, table, client }
    }

    /// Checks a request before the sign-in page is shown: [`OAuthError::NotRegistered`] is
    /// shown to the person; any other error goes back to the redirect URI.
    pub fn check(&self, request: &AuthorizeRequest) -> Result<(), OAuthError> {
        if request.client_id != self.client.client_id || !self.client.callback_urls.contains(&request.redirect_uri) {
            return Err(OAuthError::NotRegistered);
        }
        if request.response_type != "code" {
            return Err(OAuthError::InvalidRequest("response_type must be code"));
        }
        if request.code_challenge_method != "S256" {
            return Err(OAuthError::InvalidRequest("code_challenge_method must be S256"));
        }
        if !verifier_like(&request.code_challenge) {
            return Err(OAuthError::InvalidRequest("code_challenge must be a base64url SHA-256"));
        }
        Ok(())
    }

    /// Whether `origin` (`scheme://host:port`) is one of the client's callback pages': their
    /// calls to the token endpoint may read its answers (CORS), as Cognito's allow.
    pub fn serves_origin(&self, origin: &str) -> bool {
        self.client.callback_urls.iter().any(|url| url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/") == origin)
    }

    /// Checks where a sign-out may send the browser back to: a registered callback of the
    /// client.
    pub fn check_sign_out(&self, client_id: &str, logout_uri: &str) -> Result<(), OAuthError> {
        let registered =
            client_id == self.client.client_id && self.client.callback_urls.iter().any(|u| u == logout_uri);
        if registered { Ok(()) } else { Err(OAuthError::NotRegistered) }
    }

    /// Signs the person in and answers a code for the request's client, redirect URI and
    /// challenge.
    pub async fn authorize(
        &self,
        request: &AuthorizeRequest,
        email: &Email,
        password: &Password,
        client: &Client,
    ) -> Result<String, OAuthError> {
        self.check(request)?;
        let user_id = self.identity.authenticate(email, password, client).await?;
        let code = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let issued = Issued {
            user_id,
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
        };
        let item = Item::new(&code_key(&code), &issued).expiring_at(epoch_now() + CODE_SECONDS);
        self.table.write(Write::create(item)).await.map_err(|e| IdentityError::Other(e.into()))?;
        Ok(code)
    }

    /// Trades a code and its verifier, or a refresh token, for tokens.
    pub async fn token(&self, request: &TokenRequest) -> Result<Tokens, OAuthError> {
        if request.client_id != self.client.client_id {
            return Err(OAuthError::InvalidGrant);
        }
        match request.grant_type.as_str() {
            "authorization_code" => self.redeem(request).await,
            "refresh_token" => {
                let token = request.refresh_token.as_deref().ok_or(OAuthError::InvalidRequest("no refresh_token"))?;
                match shop::identity::Identity::refresh(&*self.identity, token).await {
                    Err(IdentityError::InvalidToken) => Err(OAuthError::InvalidGrant),
                    other => Ok(other?),
                }
            }
            _ => Err(OAuthError::UnsupportedGrantType),
        }
    }

    /// A code is spent by its first redemption, right or wrong: a wrong verifier ends it too.
    async fn redeem(&self, request: &TokenRequest) -> Result<Tokens, OAuthError> {
        let code = request.code.as_deref().ok_or(OAuthError::InvalidRequest("no code"))?;
        let verifier = request.code_verifier.as_deref().ok_or(OAuthError::InvalidRequest("no code_verifier"))?;
        let key = code_key(code);
        let store = |e: WriteError| OAuthError::Identity(IdentityError::Other(e.into()));
        let item = self.table.get(&key).await.map_err(IdentityError::Other)?;
        let issued: Issued = item.ok_or(OAuthError::InvalidGrant)?.decode().map_err(IdentityError::Other)?;
        match self.table.write(Write::delete(key).when(Condition::Exists)).await {
            Ok(()) => {}
            // Redeemed by another request meanwhile.
            Err(WriteError::ConditionFailed { .. }) => return Err(OAuthError::InvalidGrant),
            Err(e) => return Err(store(e)),
        }
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let matches = verifier_like(verifier)
            && issued.client_id == request.client_id
            && Some(issued.redirect_uri.as_str()) == request.redirect_uri.as_deref()
            && challenge == issued.code_challenge;
        if !matches {
            return Err(OAuthError::InvalidGrant);
        }
        Ok(self.identity.session(&issued.user_id).await?)
    }
}

/// RFC 7636's verifier (and S256 challenge) alphabet and length: 43 to 128 of
/// `[A-Za-z0-9-._~]`.
fn verifier_like(text: &str) -> bool {
    (43..=128).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_verifier_gives_its_challenge() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(verifier_like(verifier));
        assert_eq!(
            URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(!verifier_like("short") && !verifier_like(&"a".repeat(129)) && !verifier_like(&"a b".repeat(20)));
    }
}
