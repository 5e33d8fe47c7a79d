//! `shop-cognito`: the Cognito adapter of [`Identity`]: the user pool's public client API for the shopper's
//! own actions, the admin API for the back office. Users sign in with their email.

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, AuthenticationResultType, MessageActionType, UserContextDataType, UserStatusType,
};

use shop::domain::{Email, Password, Role, UserId};
use shop::identity::{Client as Caller, Identity, IdentityError, NewAccount, SignedUp, Tokens, UNCONFIRMED_SECONDS};

/// Where the user pool is.
#[derive(Debug, Clone)]
pub struct CognitoConfig {
    pub user_pool_id: String,
    pub client_id: String,
}

/// The Cognito adapter: a client made once per process, at its first use, and the pool it serves.
#[derive(Clone)]
pub struct CognitoIdentity {
    client: shop_aws::OnFirstUse<Client>,
    config: CognitoConfig,
}

impl CognitoIdentity {
    pub fn new(client: Client, config: CognitoConfig) -> Self {
        Self { client: shop_aws::OnFirstUse::made(client), config }
    }

    /// The `sub` of the account `username` (an email, or the sub itself) names, if any.
    async fn sub(&self, username: &str) -> Result<Option<UserId>, IdentityError> {
        let Some(user) = self.user(username).await? else { return Ok(None) };
        let sub = user.user_attributes.unwrap_or_default().into_iter().find(|a| a.name == "sub").and_then(|a| a.value);
        Ok(Some(sub_of(sub)?))
    }

    async fn user(&self, username: &str) -> Result<Option<AdminGetUserOutput>, IdentityError> {
        let out = self.client.admin_get_user().user_pool_id(&self.config.user_pool_id).username(username).send().await;
        match out.map_err(|e| classify(e, USERS, "reading a user")) {
            Ok(user) => Ok(Some(user)),
            Err(IdentityError::NoSuchUser) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes the account of `email` if nobody confirmed it within [`UNCONFIRMED_SECONDS`]:
    /// its address is free again for whoever signs up with it next (the embedded identity's
    /// records expire instead). Answers whether it removed one.
    async fn remove_if_stale(&self, email: &Email) -> Result<bool, IdentityError> {
        let Some(user) = self.user(email.as_str()).await? else { return Ok(false) };
        let created = user.user_create_date.map_or(i64::MAX, |at| at.secs());
        if !stale(user.user_status.as_ref(), created, shop::time::epoch_now()) {
            return Ok(false);
        }
        let gone = self.client.admin_delete_user().user_pool_id(&self.config.user_pool_id).username(user.username);
        gone.send().await.map_err(|e| classify(e, USERS, "removing an unconfirmed account"))?;
        tracing::info!("an account unconfirmed for a day removed at a new sign-up with its address");
        Ok(true)
    }

    /// Ends every session of the account `email` names: its refresh and access tokens stop
    /// working at Cognito.
    async fn sign_out(&self, email: &Email) -> Result<(), IdentityError> {
        self.client
            .admin_user_global_sign_out()
            .user_pool_id(&self.config.user_pool_id)
            .username(email.as_str())
            .send()
            .await
            .map_err(|e| classify(e, USERS, "signing a user out"))?;
        Ok(())
    }
}

/// Whether an account of this status, created at `created` (epoch seconds), has waited for its
/// confirmation longer than accounts may.
fn stale(status: Option<&UserStatusType>, created: i64, now: i64) -> bool {
    status == Some(&UserStatusType::Unconfirmed) && now.saturating_sub(created) >= UNCONFIRMED_SECONDS
}

fn sub_of(sub: Option<String>) -> Result<UserId, IdentityError> {
    let sub = sub.ok_or_else(|| anyhow::anyhow!("Cognito answered a user without a sub"))?;
    Ok(UserId::parse(&sub).map_err(|e| anyhow::anyhow!("Cognito's sub {e}"))?)
}

/// Cognito error codes and the port's error each one means.
type ErrorMap = &'static [(&'static str, fn(String) -> IdentityError)];

/// The port's error for a Cognito failure; unknown ones keep their whole context for the logs.
fn classify<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    e: SdkError<E>,
    known: ErrorMap,
    doing: &str,
) -> IdentityError {
    let code = e.as_service_error().and_then(|s| s.code()).map(str::to_owned);
    let message = e.as_service_error().and_then(|s| s.message()).unwrap_or_default().to_owned();
    match code.as_deref().and_then(|c| known.iter().find(|(k, _)| *k == c)) {
        Some((_, make)) => make(message),
        None if code.as_deref() == Some("TooManyRequestsException")
            || code.as_deref() == Some("LimitExceededException") =>
        {
            IdentityError::TooManyAttempts { retry_after: 60 }
        }
        None => IdentityError::Other(anyhow::anyhow!("{doing}: {}", DisplayErrorContext(e))),
    }
}

fn attribute(name: &str, value: &str) -> AttributeType {
    AttributeType::builder().name(name).value(value).build().expect("name is set")
}

/// What a sign-up writes: the name and phone. The address is the username, which the pool
/// (its users sign in with their email) copies into `email`; the app client may not write
/// `email` itself, so that no shopper changes their address without verifying the new one.
fn attributes(account: &NewAccount) -> Vec<AttributeType> {
    let mut attrs = vec![attribute("name", account.name.as_str())];
    if let Some(phone) = &account.phone {
        attrs.push(attribute("phone_number", phone.as_str()));
    }
    attrs
}

fn tokens(result: Option<AuthenticationResultType>) -> Result<Tokens, IdentityError> {
    let result = result.ok_or_else(|| anyhow::anyhow!("Cognito answered a challenge instead of tokens"))?;
    Ok(Tokens {
        access_token: result.access_token.ok_or_else(|| anyhow::anyhow!("no access token"))?,
        id_token: result.id_token.ok_or_else(|| anyhow::anyhow!("no id token"))?,
        refresh_token: result.refresh_token,
        expires_in: result.expires_in.max(0) as u64,
        token_type: result.token_type.unwrap_or_else(|| "Bearer".into()),
    })
}

const CREDENTIALS: ErrorMap = &[
    ("NotAuthorizedException", |_| IdentityError::InvalidCredentials),
    ("UserNotFoundException", |_| IdentityError::InvalidCredentials),
    ("UserNotConfirmedException", |_| IdentityError::NotConfirmed),
];
const CODES: ErrorMap = &[
    ("CodeMismatchException", |_| IdentityError::InvalidCode),
    ("ExpiredCodeException", |_| IdentityError::InvalidCode),
    ("UserNotFoundException", |_| IdentityError::InvalidCode),
    ("InvalidPasswordException", IdentityError::WeakPassword),
];
const RESEND: ErrorMap = &[
    ("UserNotFoundException", |_| IdentityError::NoSuchUser),
    // Already confirmed.
    ("InvalidParameterException", |_| IdentityError::NoSuchUser),
];
const TOKENS: ErrorMap = &[("NotAuthorizedException", |_| IdentityError::InvalidToken)];
const USERS: ErrorMap = &[
    ("UserNotFoundException", |_| IdentityError::NoSuchUser),
    ("UsernameExistsException", |_| IdentityError::EmailTaken),
    ("InvalidPasswordException", IdentityError::WeakPassword),
];

#[async_trait]
impl Identity for CognitoIdentity {
    /// The pool sends a code (no pre-sign-up trigger confirms accounts).
    fn confirms_at_once(&self) -> bool {
        false
    }

    /// A taken address whose account nobody confirmed within a day is freed first.
    async fn sign_up(&self, account: &NewAccount) -> Result<SignedUp, IdentityError> {
        let mut freed = false;
        loop {
            let out = self
                .client
                .sign_up()
                .client_id(&self.config.client_id)
                .username(account.email.as_str())
                .password(account.password.expose())
                .set_user_attributes(Some(attributes(account)))
                .send()
                .await
                .map_err(|e| classify(e, USERS, "signing up"));
            match out {
                Ok(out) => {
                    return Ok(SignedUp::New { user_id: sub_of(Some(out.user_sub))?, confirmed: out.user_confirmed });
                }
                Err(IdentityError::EmailTaken) if !freed && self.remove_if_stale(&account.email).await? => freed = true,
                Err(IdentityError::EmailTaken) => {
                    let owner = self.sub(account.email.as_str()).await?.ok_or(IdentityError::EmailTaken)?;
                    return Ok(SignedUp::Taken { owner });
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn resend_code(&self, email: &Email) -> Result<(), IdentityError> {
        let sent = self
            .client
            .resend_confirmation_code()
            .client_id(&self.config.client_id)
            .username(email.as_str())
            .send()
            .await
            .map_err(|e| classify(e, RESEND, "resending a confirmation code"));
        match sent {
            // No such account, or one confirmed already: the same answer.
            Ok(_) | Err(IdentityError::NoSuchUser) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn confirm_sign_up(&self, email: &Email, code: &str) -> Result<(), IdentityError> {
        self.client
            .confirm_sign_up()
            .client_id(&self.config.client_id)
            .username(email.as_str())
            .confirmation_code(code)
            .send()
            .await
            .map_err(|e| classify(e, CODES, "confirming a sign-up"))?;
        Ok(())
    }

    /// The client's address goes to Cognito, whose threat protection counts failures per
    /// address and client.
    async fn log_in(&self, email: &Email, password: &Password, client: &Caller) -> Result<Tokens, IdentityError> {
        let context = UserContextDataType::builder().ip_address(&client.0).build();
        let out = self
            .client
            .initiate_auth()
            .client_id(&self.config.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", email.as_str())
            .auth_parameters("PASSWORD", password.expose())
            .user_context_data(context)
            .send()
            .await
            .map_err(|e| classify(e, CREDENTIALS, "logging in"))?;
        tokens(out.authentication_result)
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Tokens, IdentityError> {
        let out = self
            .client
            .initiate_auth()
            .client_id(&self.config.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await
            .map_err(|e| classify(e, TOKENS, "refreshing"))?;
        let mut tokens = tokens(out.authentication_result)?;
        tokens.refresh_token = None;
        Ok(tokens)
    }

    /// By the administrator's global sign-out: a token of the hosted sign-in carries no
    /// `aws.cognito.signin.user.admin` scope (it may change no attribute), so it cannot sign
    /// itself out. The pool's users sign in with their address, its admin API's username.
    async fn log_out(&self, _user: &UserId, email: &Email) -> Result<(), IdentityError> {
        self.sign_out(email).await
    }

    async fn forgot_password(&self, email: &Email) -> Result<(), IdentityError> {
        let result =
            self.client.forgot_password().client_id(&self.config.client_id).username(email.as_str()).send().await;
        match result.map_err(|e| classify(e, USERS, "starting a password reset")) {
            Ok(_) | Err(IdentityError::NoSuchUser) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn reset_password(&self, email: &Email, code: &str, password: &Password) -> Result<UserId, IdentityError> {
        self.client
            .confirm_forgot_password()
            .client_id(&self.config.client_id)
            .username(email.as_str())
            .confirmation_code(code)
            .password(password.expose())
            .send()
            .await
            .map_err(|e| classify(e, CODES, "resetting a password"))?;
        let user = self.sub(email.as_str()).await?.ok_or(IdentityError::InvalidCode)?;
        self.sign_out(email).await?;
        Ok(user)
    }

    async fn create_user(&self, account: &NewAccount) -> Result<UserId, IdentityError> {
        // The admin API writes what it likes: the address, verified by whoever creates the account.
        let mut attrs = attributes(account);
        attrs.extend([attribute("email", account.email.as_str()), attribute("email_verified", "true")]);
        let out = self
            .client
            .admin_create_user()
            .user_pool_id(&self.config.user_pool_id)
            .username(account.email.as_str())
            .set_user_attributes(Some(attrs))
            .message_action(MessageActionType::Suppress)
            .send()
            .await
            .map_err(|e| classify(e, USERS, "creating a user"))?;
        self.client
            .admin_set_user_password()
            .user_pool_id(&self.config.user_pool_id)
            .username(account.email.as_str())
            .password(account.password.expose())
            .permanent(true)
            .send()
            .await
            .map_err(|e| classify(e, USERS, "setting a new user's password"))?;
        let sub = out
            .user
            .and_then(|u| u.attributes.unwrap_or_default().into_iter().find(|a| a.name == "sub"))
            .and_then(|a| a.value)
            .ok_or_else(|| anyhow::anyhow!("Cognito created a user without a sub"))?;
        Ok(UserId::parse(&sub).map_err(|e| anyhow::anyhow!("Cognito's sub {e}"))?)
    }

    async fn roles(&self, user: &UserId) -> Result<Vec<Role>, IdentityError> {
        let pages = self
            .client
            .admin_list_groups_for_user()
            .user_pool_id(&self.config.user_pool_id)
            .username(user.as_str())
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut roles: Vec<Role> =
            every(pages, "listing a user's groups")?.iter().filter_map(|g| Role::of_group(g.group_name()?)).collect();
        roles.sort();
        Ok(roles)
    }

    async fn set_roles(&self, user: &UserId, roles: &[Role]) -> Result<(), IdentityError> {
        let held = self.roles(user).await?;
        for role in Role::ALL {
            let pool = &self.config.user_pool_id;
            match (held.contains(&role), roles.contains(&role)) {
                (false, true) => self
                    .client
                    .admin_add_user_to_group()
                    .user_pool_id(pool)
                    .username(user.as_str())
                    .group_name(role.as_str())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(e, USERS, "adding a user to a group"))?,
                (true, false) => self
                    .client
                    .admin_remove_user_from_group()
                    .user_pool_id(pool)
                    .username(user.as_str())
                    .group_name(role.as_str())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(e, USERS, "removing a user from a group"))?,
                _ => {}
            }
        }
        Ok(())
    }

    async fn holders(&self, role: Role) -> Result<Vec<UserId>, IdentityError> {
        let pages = self
            .client
            .list_users_in_group()
            .user_pool_id(&self.config.user_pool_id)
            .group_name(role.as_str())
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        let users = every(pages, "listing a group's users")?;
        let subs = users.iter().filter_map(|u| u.attributes().iter().find(|a| a.name() == "sub")?.value());
        Ok(subs.filter_map(|s| UserId::parse(s).ok()).collect())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserId>, IdentityError> {
        self.sub(email.as_str()).await
    }

    /// By the `sub`, which is the user's name in a pool whose users sign in with their email:
    /// their address may have changed since.
    async fn delete_user(&self, user: &UserId) -> Result<(), IdentityError> {
        self.client
            .admin_delete_user()
            .user_pool_id(&self.config.user_pool_id)
            .username(user.as_str())
            .send()
            .await
            .map_err(|e| classify(e, USERS, "deleting a user"))?;
        Ok(())
    }
}

/// Every item of a paginated listing, or its first failure.
fn every<T, E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    items: Vec<Result<T, SdkError<E>>>,
    doing: &'static str,
) -> Result<Vec<T>, IdentityError> {
    items.into_iter().map(|item| item.map_err(|e| classify(e, USERS, doing))).collect()
}

/// The Cognito user pool named by `USER_POOL_ID` and its app client `USER_POOL_CLIENT_ID`.
pub fn identity(config: &aws_config::SdkConfig) -> anyhow::Result<std::sync::Arc<dyn Identity>> {
    let pool = CognitoConfig {
        user_pool_id: shop_aws::env("USER_POOL_ID")?,
        client_id: shop_aws::env("USER_POOL_CLIENT_ID")?,
    };
    Ok(identity_of(config, pool))
}

pub fn identity_of(config: &aws_config::SdkConfig, pool: CognitoConfig) -> std::sync::Arc<dyn Identity> {
    std::sync::Arc::new(CognitoIdentity { client: shop_aws::OnFirstUse::new(config, Client::new), config: pool })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_unconfirmed_for_a_day_is_stale() {
        let (now, day) = (1_800_000_000, UNCONFIRMED_SECONDS);
        let unconfirmed = Some(&UserStatusType::Unconfirmed);
        assert!(stale(unconfirmed, now - day, now));
        assert!(!stale(unconfirmed, now - day + 1, now), "not yet a day");
        assert!(!stale(Some(&UserStatusType::Confirmed), now - 10 * day, now), "a confirmed account stays");
        assert!(!stale(None, i64::MAX, now));
    }
}
