//! The identity port: accounts, passwords, sessions and groups. Cognito in AWS
//! (`shop_cognito::CognitoIdentity`); locally, argon2id hashes in the table and ES256 JWTs
//! shaped like Cognito's (`shop_embedded::identity::EmbeddedIdentity`). Both pass [`contract`].

pub mod contract;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::{Email, Name, Password, Phone, UserId};

/// What a sign-up or an admin-created account starts with.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: Email,
    pub password: Password,
    pub name: Name,
    pub phone: Option<Phone>,
}

/// The account a sign-up made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUp {
    pub user_id: UserId,
    /// False when a confirmation code was sent and must come back through `confirm_sign_up`.
    pub confirmed: bool,
}

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
    /// Creates an unconfirmed account (or a confirmed one where the pool confirms at once).
    async fn sign_up(&self, account: &NewAccount) -> Result<SignedUp, IdentityError>;

    async fn confirm_sign_up(&self, email: &Email, code: &str) -> Result<(), IdentityError>;

    async fn log_in(&self, email: &Email, password: &Password) -> Result<Tokens, IdentityError>;

    async fn refresh(&self, refresh_token: &str) -> Result<Tokens, IdentityError>;

    /// Signs the user out everywhere: every refresh token of theirs stops working.
    async fn log_out(&self, access_token: &str) -> Result<(), IdentityError>;

    /// Sends a reset code if the account exists; says nothing either way.
    async fn forgot_password(&self, email: &Email) -> Result<(), IdentityError>;

    async fn reset_password(&self, email: &Email, code: &str, password: &Password) -> Result<(), IdentityError>;

    /// An administrator creates a confirmed account with a password.
    async fn create_user(&self, account: &NewAccount) -> Result<UserId, IdentityError>;

    async fn add_to_group(&self, email: &Email, group: &str) -> Result<(), IdentityError>;

    /// Removes the account; its tokens stop refreshing.
    async fn delete_user(&self, email: &Email) -> Result<(), IdentityError>;
}
