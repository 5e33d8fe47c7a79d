//! The identity contract, run over every adapter (the embedded one here, Cognito against the
//! emulator in the cross-service tests). `code` fetches the code the provider sent, the way the
//! person would from their mailbox.

use std::future::Future;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::{Client, Identity, IdentityError, NewAccount, SignedUp};
use crate::domain::{Email, Name, Password, Role, UserId};

/// A fresh account for a contract check.
pub fn account(tag: &str) -> NewAccount {
    NewAccount {
        email: Email::parse(&format!("{tag}-{}@example.com", ulid::Ulid::new().to_string().to_lowercase())).unwrap(),
        password: Password::parse("Correct-Horse-42").unwrap(),
        name: Name::parse("Ada Lovelace").unwrap(),
        phone: None,
    }
}

/// The unverified payload of a JWT, to read what a provider put in it.
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

async fn signed_up<F, Fut>(identity: &dyn Identity, code: &F, tag: &str) -> NewAccount
where
    F: Fn(Email, &'static str) -> Fut,
    Fut: Future<Output = String>,
{
    let acc = account(tag);
    let SignedUp::New { confirmed, .. } = identity.sign_up(&acc).await.unwrap() else { panic!("a new address") };
    assert_eq!(confirmed, identity.confirms_at_once());
    if !confirmed {
        let c = code(acc.email.clone(), "confirm").await;
        identity.confirm_sign_up(&acc.email, &c).await.unwrap();
    }
    acc
}

/// Runs every check of the contract.
pub async fn run<F, Fut>(identity: &dyn Identity, code: F)
where
    F: Fn(Email, &'static str) -> Fut,
    Fut: Future<Output = String>,
{
    let client = Client("192.0.2.1".into());
    // Sign up, log in: the ID token names the user as Cognito does.
    let acc = signed_up(identity, &code, "shopper").await;
    let tokens = identity.log_in(&acc.email, &acc.password, &client).await.unwrap();
    let claims = claims_of(&tokens.id_token);
    assert_eq!(claims["email"], acc.email.as_str());
    assert_eq!(claims["token_use"], "id");
    assert!(claims["sub"].is_string() && claims["exp"].is_number() && claims["iss"].is_string());
    assert_eq!(claims_of(&tokens.access_token)["token_use"], "access");
    assert_eq!(tokens.token_type, "Bearer");
    assert!(tokens.expires_in > 0);
    let refresh = tokens.refresh_token.clone().expect("log-in gives a refresh token");

    let user = identity.user_by_email(&acc.email).await.unwrap().expect("the account is found by its address");
    assert_eq!(claims["sub"], user.as_str());

    // One email, one account: a second sign-up names the owner and creates nothing.
    assert_eq!(identity.sign_up(&acc).await.unwrap(), SignedUp::Taken { owner: user.clone() });

    // Wrong password and unknown email are the same error.
    let wrong = Password::presented("Wrong-Password-1").unwrap();
    let failed = identity.log_in(&acc.email, &wrong, &client).await;
    assert!(matches!(failed, Err(IdentityError::InvalidCredentials)));
    let nobody = account("nobody");
    let unknown = identity.log_in(&nobody.email, &nobody.password, &client).await;
    assert!(matches!(unknown, Err(IdentityError::InvalidCredentials)));
    assert_eq!(identity.user_by_email(&nobody.email).await.unwrap(), None);

    // Resending a code says nothing about the address: unknown, confirmed or not.
    identity.resend_code(&nobody.email).await.unwrap();
    identity.resend_code(&acc.email).await.unwrap();
    let unconfirmed = account("unconfirmed");
    if let SignedUp::New { confirmed: false, .. } = identity.sign_up(&unconfirmed).await.unwrap() {
        // Mailboxes order messages by the millisecond: the resent code is the newer one.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        identity.resend_code(&unconfirmed.email).await.unwrap();
        let again = code(unconfirmed.email.clone(), "confirm").await;
        identity.confirm_sign_up(&unconfirmed.email, &again).await.unwrap();
        identity.log_in(&unconfirmed.email, &unconfirmed.password, &client).await.unwrap();
    }

    // Refresh works until the user logs out everywhere.
    let again = identity.refresh(&refresh).await.unwrap();
    assert_eq!(claims_of(&again.id_token)["sub"], claims["sub"]);
    identity.log_out(&user, &acc.email).await.unwrap();
    assert!(matches!(identity.refresh(&refresh).await, Err(IdentityError::InvalidToken)));
    assert!(identity.refresh("not-a-token").await.is_err());

    // Forgetting a password says nothing about whether the account exists.
    identity.forgot_password(&nobody.email).await.unwrap();
    identity.forgot_password(&acc.email).await.unwrap();
    let reset_code = code(acc.email.clone(), "password_reset").await;
    let new_password = Password::parse("Battery-Staple-77").unwrap();
    let second = identity.log_in(&acc.email, &acc.password, &client).await.unwrap();
    assert_eq!(identity.reset_password(&acc.email, &reset_code, &new_password).await.unwrap(), user);
    let ended = second.refresh_token.expect("a refresh token");
    assert!(identity.refresh(&ended).await.is_err(), "a reset ends every session");
    assert!(identity.log_in(&acc.email, &new_password, &client).await.is_ok());

    // The back office: created accounts log in at once; groups reach the ID token.
    let admin = account("admin");
    let admin_id = identity.create_user(&admin).await.unwrap();
    identity.set_roles(&admin_id, &[Role::Admin, Role::Support]).await.unwrap();
    identity.set_roles(&admin_id, &[Role::Admin, Role::Catalogue]).await.unwrap();
    assert_eq!(identity.roles(&admin_id).await.unwrap(), [Role::Admin, Role::Catalogue]);
    assert!(identity.holders(Role::Catalogue).await.unwrap().contains(&admin_id));
    assert!(!identity.holders(Role::Support).await.unwrap().contains(&admin_id), "a role taken away");
    let nobody_id = UserId::parse("0b6f1e0e-7a1c-4c8e-9f58-2d1e6f0a9b31").unwrap();
    assert!(matches!(identity.roles(&nobody_id).await, Err(IdentityError::NoSuchUser)));
    let admin_tokens = identity.log_in(&admin.email, &admin.password, &client).await.unwrap();
    let admin_claims = claims_of(&admin_tokens.id_token);
    assert_eq!(admin_claims["sub"], admin_id.as_str());
    let groups = admin_claims["cognito:groups"].to_string();
    assert!(groups.contains("admin") && groups.contains("catalogue"), "groups in the id token: {groups}");

    assert!(matches!(identity.create_user(&admin).await, Err(IdentityError::EmailTaken)));

    // Deleting an account (by its id): it can no longer log in, and its email is free again.
    identity.delete_user(&admin_id).await.unwrap();
    assert!(identity.log_in(&admin.email, &admin.password, &client).await.is_err());
    assert!(matches!(identity.delete_user(&admin_id).await, Err(IdentityError::NoSuchUser)));
    identity.create_user(&admin).await.unwrap();
}
