//! The identity port: accounts, passwords, sessions and groups. Cognito in AWS
//! (`shop_cognito::CognitoIdentity`); locally, argon2id hashes in the table and ES256 JWTs
//! shaped like Cognito's (`shop_embedded::identity::EmbeddedIdentity`). Both pass [`contract`].

pub mod contract;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::{Email, Name, Password, Phone, Role, UserId};

/// How long an account nobody confirmed is kept: then its address is free again, so whoever
/// signed up first with someone else's address cannot keep it.
pub const UNCONFIRMED_SECONDS: i64 = 24 * 3600;

/// What a sign-up or an admin-created account starts with.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: Email,
    pub password: Password,
    pub name: Name,
    pub phone: Option<Phone>,
}

/// What a sign-up came to. The caller's answer must not tell the two apart: a taken address
/// is answered as a new one, and its owner is told by email instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedUp {
    /// A new account; `confirmed` is false when a code was sent that must come back through
    /// `confirm_sign_up`.
    New { user_id: UserId, confirmed: bool },
    /// The address already has an account, `owner`'s: nothing was created.
    Taken { owner: UserId },
}

/// Where a request came from (the client's network address as the gateway saw it), so that
/// failures can be counted per address and client: one client's guesses never slow another's
/// log-ins.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Client(pub String);

/// The tokens of a session, as Cognito's InitiateAuth answers them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tokens {
    pub access_token: String,
    /// Send this one as `Authorization: Bearer <id_token>`.
    pub id_token: String,
    /// Absent when refreshing: the refresh token stays the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds until the access and id tokens expire.
    pub expires_in: u64,
    /// Always `Bearer`.
    pub token_type: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Only the back office's `create_user` answers this; a sign-up answers [`SignedUp::Taken`].
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Wrong password and unknown email are one error, so neither can be probed.
    #[error("the email or password is wrong")]
    InvalidCredentials,
    #[error("confirm the account with the code that was sent first")]
    NotConfirmed,
    #[error("the code is wrong or has expired")]
    InvalidCode,
    #[error("the token is invalid, expired or revoked")]
    InvalidToken,
    #[error("password {0}")]
    WeakPassword(String),
    /// Slowed down: try again after `retry_after` seconds.
    #[error("too many attempts; wait {retry_after} s and try again")]
    TooManyAttempts { retry_after: u64 },
    #[error("no such account")]
    NoSuchUser,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

#[async_trait]
pub trait Identity: Send + Sync {
    /// Whether a new account is confirmed at once (a pool that sends no code).
    fn confirms_at_once(&self) -> bool;

    /// Creates an unconfirmed account (or a confirmed one where the pool confirms at once),
    /// taking as long for a taken address as for a new one.
    async fn sign_up(&self, account: &NewAccount) -> Result<SignedUp, IdentityError>;

    async fn confirm_sign_up(&self, email: &Email, code: &str) -> Result<(), IdentityError>;

    /// Sends a new confirmation code if the address has an unconfirmed account; says nothing
    /// either way.
    async fn resend_code(&self, email: &Email) -> Result<(), IdentityError>;

    /// Failures slow down the next tries of this address from this client only.
    async fn log_in(&self, email: &Email, password: &Password, client: &Client) -> Result<Tokens, IdentityError>;

    async fn refresh(&self, refresh_token: &str) -> Result<Tokens, IdentityError>;

    /// Signs the user (`email` is their address) out everywhere: every refresh token of theirs
    /// stops working. The API refuses their ID tokens itself (`Revocations`).
    async fn log_out(&self, user: &UserId, email: &Email) -> Result<(), IdentityError>;

    /// Sends a reset code if the account exists; says nothing either way.
    async fn forgot_password(&self, email: &Email) -> Result<(), IdentityError>;

    /// Sets the password, confirms the address (the code reached it) and signs the user out
    /// everywhere. Answers whose password it was.
    async fn reset_password(&self, email: &Email, code: &str, password: &Password) -> Result<UserId, IdentityError>;

    /// An administrator creates a confirmed account with a password.
    async fn create_user(&self, account: &NewAccount) -> Result<UserId, IdentityError>;

    /// The staff roles the account holds (its groups that are roles).
    async fn roles(&self, user: &UserId) -> Result<Vec<Role>, IdentityError>;

    /// Gives the account exactly `roles`: the groups of the others are left. Tokens issued
    /// before carry the old groups until they expire; the caller ends those sessions.
    async fn set_roles(&self, user: &UserId, roles: &[Role]) -> Result<(), IdentityError>;

    /// The accounts that hold `role`.
    async fn holders(&self, role: Role) -> Result<Vec<UserId>, IdentityError>;

    /// The account of this address, if there is one.
    async fn user_by_email(&self, email: &Email) -> Result<Option<UserId>, IdentityError>;

    /// Removes the account (by its id: its address may have changed); its tokens stop
    /// refreshing.
    async fn delete_user(&self, user: &UserId) -> Result<(), IdentityError>;
}
