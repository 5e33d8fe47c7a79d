//! The embedded identity provider: what Cognito does, kept in the table.
//!
//! Passwords are argon2id hashes; sessions are ES256 JWTs with Cognito's claims (`sub`,
//! `email`, `cognito:groups`, `token_use`, `iss`, `aud`/`client_id`, `exp`); refresh tokens
//! are random and stored only as SHA-256 hashes, so a copy of the table cannot use them.
//! Codes (confirmation, password reset) are stored hashed with a TTL and an attempt limit, and
//! delivered through the notification outbox under the user.

use shop::time::{Clock, epoch_now};
use std::sync::Arc;

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use shop::codes::{self, CodeError};
use shop::domain::{Email, Password, Role, UserId};
use shop::identity::{Client, Identity, IdentityError, NewAccount, SignedUp, Tokens, UNCONFIRMED_SECONDS};
use shop::keys;
use shop::notifications::code_message;
use shop::table::{Condition, Item, Query, Table, Update, Write, WriteError};

/// How long ID and access tokens live.
pub const TOKEN_SECONDS: u64 = 3600;
/// How long a refresh token lives.
pub const REFRESH_SECONDS: i64 = 30 * 24 * 3600;
/// How long a code stays valid, and how many wrong tries it takes.
const CODE_SECONDS: i64 = 3600;
/// Failed log-ins for one email address from one client before each next one must wait
/// (Cognito's rule: five, then a wait of 1 s that doubles with each failure, up to 15
/// minutes). Counted per client, so nobody can keep an address's owner out by failing for it.
const FREE_LOGIN_FAILURES: i64 = 5;
const MAX_LOGIN_WAIT_SECONDS: i64 = 15 * 60;
/// Password hashes computed at once. Each argon2id hash takes 19 MiB and a core for tens of
/// milliseconds: a burst of log-ins waits its turn instead of asking for gigabytes.
const HASHES_AT_ONCE: usize = 4;

static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HASHES_AT_ONCE);

/// The ES256 key that signs tokens; persisted by whoever runs the provider.
#[derive(Clone)]
pub struct SigningKey {
    secret: p256::SecretKey,
    kid: String,
}

impl SigningKey {
    pub fn generate() -> Self {
        Self::from_secret(p256::SecretKey::random(&mut rand::rngs::OsRng))
    }

    pub fn from_pkcs8_pem(pem: &str) -> anyhow::Result<Self> {
        Ok(Self::from_secret(p256::SecretKey::from_pkcs8_pem(pem).context("reading the signing key")?))
    }

    pub fn to_pkcs8_pem(&self) -> String {
        self.secret.to_pkcs8_pem(LineEnding::LF).expect("a P-256 key encodes").to_string()
    }

    fn from_secret(secret: p256::SecretKey) -> Self {
        let point = secret.public_key().to_encoded_point(false);
        let digest = Sha256::digest(point.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(&digest[..12]);
        Self { secret, kid }
    }

    /// The public half as a JWKS document.
    pub fn jwks(&self) -> Value {
        let point = self.secret.public_key().to_encoded_point(false);
        let x = URL_SAFE_NO_PAD.encode(point.x().expect("uncompressed point"));
        let y = URL_SAFE_NO_PAD.encode(point.y().expect("uncompressed point"));
        json!({"keys": [{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": self.kid, "x": x, "y": y}]})
    }

    fn encoding_key(&self) -> EncodingKey {
        EncodingKey::from_ec_pem(self.to_pkcs8_pem().as_bytes()).expect("our own PEM is valid")
    }
}

/// Settings of the embedded provider.
#[derive(Clone)]
pub struct EmbeddedConfig {
    /// The `iss` claim; the local stack uses its own URL.
    pub issuer: String,
    /// The app client id: `aud` of ID tokens, `client_id` of access tokens.
    pub client_id: String,
    /// Confirm new accounts at once, as a pre-sign-up trigger would; otherwise send a code.
    pub auto_confirm: bool,
    /// What log-in pauses and codes' lifetimes are measured by.
    pub clock: Clock,
}

/// The embedded adapter of [`Identity`].
pub struct EmbeddedIdentity {
    table: Arc<dyn Table>,
    key: SigningKey,
    encoding: EncodingKey,
    config: EmbeddedConfig,
    verifier: crate::jwt::Verifier,
}

#[derive(Serialize, Deserialize)]
struct Credentials {
    email: Email,
    password_hash: String,
    groups: Vec<String>,
    confirmed: bool,
}

#[derive(Serialize, Deserialize)]
struct EmailOwner {
    user_id: UserId,
}

/// Failed log-ins for one email address, and until when the next one must wait (milliseconds
/// since the epoch: a wait counted in whole seconds from a whole second could end at once).
#[derive(Serialize, Deserialize)]
struct LoginFailures {
    failures: i64,
    #[serde(default)]
    locked_until_ms: i64,
}

#[derive(Serialize, Deserialize)]
struct RefreshRecord {
    user_id: UserId,
}

/// Runs `work` (argon2id: memory and a core for tens of milliseconds) on the blocking pool,
/// at most [`HASHES_AT_ONCE`] at a time.
async fn hashing<T: Send + 'static>(work: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> anyhow::Result<T> {
    let _turn = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || {
        #[cfg(test)]
        let _counted = tests::Running::start();
        work()
    })
    .await?
}

async fn hash_password(password: &Password) -> anyhow::Result<String> {
    let password = password.clone();
    hashing(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await
}

async fn password_matches(password: &Password, hash: String) -> anyhow::Result<bool> {
    let password = password.clone();
    hashing(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("reading a stored hash: {e}"))?;
        Ok(Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok())
    })
    .await
}

/// A stand-in hash verified for unknown emails, so they take as long as wrong passwords.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2hvcC1kZWNveS1zYWx0$0q3bL6YfY3cwhW4c3i9hjqKc2Vz6I0Jb0oQ5Jk7n3ZQ";

impl EmbeddedIdentity {
    pub fn new(table: Arc<dyn Table>, key: SigningKey, config: EmbeddedConfig) -> Self {
        let verifier =
            crate::jwt::Verifier::new(&key.jwks(), &config.issuer, &config.client_id).expect("our own JWKS is usable");
        Self { encoding: key.encoding_key(), table, key, config, verifier }
    }

    /// The public keys, served as `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        self.key.jwks()
    }

    /// A verifier for this provider's ID tokens.
    pub fn verifier(&self) -> crate::jwt::Verifier {
        self.verifier.clone()
    }

    async fn owner(&self, email: &Email) -> anyhow::Result<Option<UserId>> {
        let item = self.table.get(&keys::email(email)).await.context("looking up an email")?;
        Ok(item.map(|i| i.decode::<EmailOwner>()).transpose()?.map(|o| o.user_id))
    }

    async fn credentials(&self, user: &UserId) -> anyhow::Result<Option<Credentials>> {
        let item = self.table.get(&keys::user_credentials(user)).await.context("reading credentials")?;
        item.map(|i| i.decode()).transpose()
    }

    fn sign(&self, claims: &Value) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).context("signing a token")
    }

    fn tokens(&self, user: &UserId, creds: &Credentials, refresh_token: Option<String>) -> anyhow::Result<Tokens> {
        let iat = epoch_now();
        let exp = iat + TOKEN_SECONDS as i64;
        let id_token = self.sign(&json!({
            "sub": user, "email": creds.email, "email_verified": creds.confirmed,
            "cognito:groups": creds.groups, "cognito:username": user, "token_use": "id",
            "iss": self.config.issuer, "aud": self.config.client_id,
            "iat": iat, "auth_time": iat, "exp": exp, "jti": ulid::Ulid::new().to_string(),
        }))?;
        let access_token = self.sign(&json!({
            "sub": user, "cognito:groups": creds.groups, "token_use": "access",
            "scope": "aws.cognito.signin.user.admin", "username": user,
            "iss": self.config.issuer, "client_id": self.config.client_id,
            "iat": iat, "auth_time": iat, "exp": exp, "jti": ulid::Ulid::new().to_string(),
        }))?;
        Ok(Tokens { access_token, id_token, refresh_token, expires_in: TOKEN_SECONDS, token_type: "Bearer".into() })
    }

    /// Stores a fresh code for `purpose` and delivers it through the user's outbox, unless the
    /// account had its hourly account emails already: answers whether it was sent.
    async fn send_code(&self, user: &UserId, email: &Email, purpose: &str) -> anyhow::Result<bool> {
        let expires = epoch_now() + CODE_SECONDS;
        let (code, stored) = codes::issue(&keys::user_code(user, purpose), expires, None);
        let message = code_message(user, email.as_str(), purpose, &code, CODE_SECONDS / 60);
        // The message holds the code until it is sent, at most as long as the code is good.
        shop::notifications::account::queue(&*self.table, &message, Some(expires), vec![stored]).await
    }

    /// Spends one attempt of the user's code for `purpose`; Ok only for the right code.
    async fn check_code(&self, user: &UserId, purpose: &str, code: &str) -> Result<(), IdentityError> {
        match codes::check(&*self.table, &keys::user_code(user, purpose), code).await {
            Ok(_) => Ok(()),
            Err(CodeError::Wrong) => Err(IdentityError::InvalidCode),
            Err(CodeError::Spent) => Err(IdentityError::TooManyAttempts { retry_after: CODE_SECONDS as u64 }),
            Err(CodeError::Store(e)) => Err(e.into()),
        }
    }

    /// Refuses a log-in while this client's failures for the address make it wait, whether or
    /// not the account exists (so the answer tells nothing).
    async fn login_allowed(&self, email: &Email, client: &Client) -> Result<(), IdentityError> {
        let Some(item) = self.table.get(&keys::login_failures(email, &client.0)).await? else { return Ok(()) };
        let record: LoginFailures = item.decode()?;
        let left = record.locked_until_ms - self.now_ms();
        if left > 0 {
            Err(IdentityError::TooManyAttempts { retry_after: (left as u64).div_ceil(1000) })
        } else {
            Ok(())
        }
    }

    fn now_ms(&self) -> i64 {
        shop::time::Timestamp::at(self.config.clock.now()).unix_millis()
    }

    /// Counts a failed log-in; past the free ones, the next must wait twice as long as the last.
    async fn login_failed(&self, email: &Email, client: &Client) -> anyhow::Result<()> {
        let key = keys::login_failures(email, &client.0);
        let now = self.config.clock.epoch_now();
        let counted = Update::default().add("failures", 1).set(keys::EXPIRES_AT, now + 24 * 3600);
        let record: LoginFailures = self.table.update(&key, counted, None).await?.decode()?;
        let over = record.failures - FREE_LOGIN_FAILURES;
        if over >= 0 {
            let wait = (1i64 << over.min(10)).min(MAX_LOGIN_WAIT_SECONDS);
            let until = self.now_ms() + wait * 1000;
            self.table.write(Write::update(key, Update::default().set("locked_until_ms", until))).await?;
        }
        Ok(())
    }

    async fn revoke_sessions(&self, user: &UserId) -> anyhow::Result<()> {
        let query = Query::gsi1(keys::user_partition(user)).prefix(keys::REFRESH_PREFIX).limit(100);
        let mut sessions = std::pin::pin!(shop::table::items(&*self.table, query));
        while let Some(item) = futures::TryStreamExt::try_next(&mut sessions).await? {
            self.table.write(Write::delete(item.key())).await.map_err(anyhow::Error::from)?;
        }
        Ok(())
    }

    /// Creates the account, or answers `EmailTaken` after as long (the hash comes first). An
    /// unconfirmed account expires after [`UNCONFIRMED_SECONDS`] unless confirmed meanwhile.
    async fn create(
        &self,
        account: &NewAccount,
        confirmed: bool,
        groups: Vec<String>,
    ) -> Result<UserId, IdentityError> {
        let user = UserId::random();
        let creds = Credentials {
            email: account.email.clone(),
            password_hash: hash_password(&account.password).await?,
            groups,
            confirmed,
        };
        let lasting = |item: Item| if confirmed { item } else { item.expiring_at(epoch_now() + UNCONFIRMED_SECONDS) };
        let result = self
            .table
            .transact(vec![
                Write::create(lasting(Item::new(&keys::email(&account.email), &EmailOwner { user_id: user.clone() }))),
                Write::create(lasting(Item::new(&keys::user_credentials(&user), &creds))),
            ])
            .await;
        match result {
            Ok(()) => Ok(user),
            Err(WriteError::ConditionFailed { .. }) => Err(IdentityError::EmailTaken),
            Err(e) => Err(anyhow::Error::from(e).into()),
        }
    }

    /// Checks an address and password from `client` (its failures slow that client only):
    /// answers whose account it is, if confirmed.
    pub(crate) async fn authenticate(
        &self,
        email: &Email,
        password: &Password,
        client: &Client,
    ) -> Result<UserId, IdentityError> {
        self.login_allowed(email, client).await?;
        let Some(user) = self.owner(email).await? else {
            let _ = password_matches(password, DECOY_HASH.into()).await;
            self.login_failed(email, client).await?;
            return Err(IdentityError::InvalidCredentials);
        };
        let creds = self.credentials(&user).await?.ok_or(IdentityError::InvalidCredentials)?;
        if !password_matches(password, creds.password_hash.clone()).await? {
            self.login_failed(email, client).await?;
            return Err(IdentityError::InvalidCredentials);
        }
        self.table.write(Write::delete(keys::login_failures(email, &client.0))).await.map_err(anyhow::Error::from)?;
        if !creds.confirmed {
            return Err(IdentityError::NotConfirmed);
        }
        Ok(user)
    }

    /// A new session of `user`: its tokens, with a refresh token kept as its hash.
    pub(crate) async fn session(&self, user: &UserId) -> Result<Tokens, IdentityError> {
        let creds = self.credentials(user).await?.ok_or(IdentityError::InvalidCredentials)?;
        let refresh: [u8; 32] = rand::random();
        let refresh = URL_SAFE_NO_PAD.encode(refresh);
        let hash = codes::sha256_hex(&refresh);
        let record = Item::new(&keys::refresh_token(&hash), &RefreshRecord { user_id: user.clone() })
            .with_gsi1(&keys::refresh_token_index(user, &hash))
            .expiring_at(epoch_now() + REFRESH_SECONDS);
        self.table.write(Write::create(record)).await.map_err(anyhow::Error::from)?;
        Ok(self.tokens(user, &creds, Some(refresh))?)
    }

    /// Marks the account confirmed, to be kept, and ends `purpose`'s code, with `more` in
    /// the same transaction.
    async fn confirmed(&self, user: &UserId, email: &Email, purpose: &str, more: Update) -> anyhow::Result<()> {
        let update = more.set("confirmed", true).remove(keys::EXPIRES_AT);
        self.table
            .transact(vec![
                Write::update(keys::user_credentials(user), update).when(Condition::Exists),
                Write::update(keys::email(email), Update::default().remove(keys::EXPIRES_AT)).when(Condition::Exists),
                Write::delete(keys::user_code(user, purpose)),
            ])
            .await
            .map_err(|e| anyhow::anyhow!("confirming an account ({purpose}): {e}"))
    }
}

#[async_trait]
impl Identity for EmbeddedIdentity {
    fn confirms_at_once(&self) -> bool {
        self.config.auto_confirm
    }

    async fn sign_up(&self, account: &NewAccount) -> Result<SignedUp, IdentityError> {
        let confirmed = self.config.auto_confirm;
        let user_id = match self.create(account, confirmed, Vec::new()).await {
            Ok(user_id) => user_id,
            Err(IdentityError::EmailTaken) => {
                // Gone meanwhile (an unconfirmed account expiring): the next try creates it.
                let owner = self.owner(&account.email).await?.ok_or(IdentityError::EmailTaken)?;
                return Ok(SignedUp::Taken { owner });
            }
            Err(e) => return Err(e),
        };
        if !confirmed {
            self.send_code(&user_id, &account.email, "confirm").await?;
        }
        Ok(SignedUp::New { user_id, confirmed })
    }

    async fn confirm_sign_up(&self, email: &Email, code: &str) -> Result<(), IdentityError> {
        let user = self.owner(email).await?.ok_or(IdentityError::InvalidCode)?;
        self.check_code(&user, "confirm", code).await?;
        Ok(self.confirmed(&user, email, "confirm", Update::default()).await?)
    }

    async fn resend_code(&self, email: &Email) -> Result<(), IdentityError> {
        let Some(user) = self.owner(email).await? else { return Ok(()) };
        if self.credentials(&user).await?.is_some_and(|c| !c.confirmed) {
            self.send_code(&user, email, "confirm").await?;
        }
        Ok(())
    }

    async fn log_in(&self, email: &Email, password: &Password, client: &Client) -> Result<Tokens, IdentityError> {
        let user = self.authenticate(email, password, client).await?;
        self.session(&user).await
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Tokens, IdentityError> {
        let hash = codes::sha256_hex(refresh_token);
        let item = self.table.get(&keys::refresh_token(&hash)).await?.ok_or(IdentityError::InvalidToken)?;
        let record: RefreshRecord = item.decode()?;
        let creds = self.credentials(&record.user_id).await?.ok_or(IdentityError::InvalidToken)?;
        Ok(self.tokens(&record.user_id, &creds, None)?)
    }

    async fn log_out(&self, user: &UserId, _email: &Email) -> Result<(), IdentityError> {
        Ok(self.revoke_sessions(user).await?)
    }

    async fn forgot_password(&self, email: &Email) -> Result<(), IdentityError> {
        if let Some(user) = self.owner(email).await? {
            self.send_code(&user, email, "password_reset").await?;
        }
        Ok(())
    }

    async fn reset_password(&self, email: &Email, code: &str, password: &Password) -> Result<UserId, IdentityError> {
        let user = self.owner(email).await?.ok_or(IdentityError::InvalidCode)?;
        self.check_code(&user, "password_reset", code).await?;
        let hash = hash_password(password).await?;
        // The code reached the address: that confirms it, whoever signed up with it.
        self.confirmed(&user, email, "password_reset", Update::default().set("password_hash", hash)).await?;
        self.revoke_sessions(&user).await?;
        Ok(user)
    }

    async fn create_user(&self, account: &NewAccount) -> Result<UserId, IdentityError> {
        self.create(account, true, Vec::new()).await
    }

    async fn roles(&self, user: &UserId) -> Result<Vec<Role>, IdentityError> {
        let creds = self.credentials(user).await?.ok_or(IdentityError::NoSuchUser)?;
        let mut roles: Vec<Role> = creds.groups.iter().filter_map(|g| Role::of_group(g)).collect();
        roles.sort();
        Ok(roles)
    }

    async fn set_roles(&self, user: &UserId, roles: &[Role]) -> Result<(), IdentityError> {
        let creds = self.credentials(user).await?.ok_or(IdentityError::NoSuchUser)?;
        let mut groups: Vec<String> = creds.groups.into_iter().filter(|g| Role::of_group(g).is_none()).collect();
        groups.extend(roles.iter().map(|r| r.as_str().to_owned()));
        // The groups, and a marker per role held to list its holders by, change as one.
        let mut writes =
            vec![Write::update(keys::user_credentials(user), Update::default().set("groups", json!(groups)))];
        for role in Role::ALL {
            let marker = keys::role_holder(role, user);
            writes.push(match roles.contains(&role) {
                true => Write::put(Item::marker(&marker)),
                false => Write::delete(marker),
            });
        }
        self.table.transact(writes).await.map_err(anyhow::Error::from)?;
        Ok(())
    }

    async fn holders(&self, role: Role) -> Result<Vec<UserId>, IdentityError> {
        let query = Query::partition(keys::role_holders(role));
        let items: Vec<Item> =
            futures::TryStreamExt::try_collect(shop::table::items(self.table.as_ref(), query)).await?;
        Ok(items.iter().filter_map(|i| keys::role_holder_of(&i.key())).collect())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserId>, IdentityError> {
        Ok(self.owner(email).await?)
    }

    async fn delete_user(&self, user: &UserId) -> Result<(), IdentityError> {
        let creds = self.credentials(user).await?.ok_or(IdentityError::NoSuchUser)?;
        let user = user.clone();
        self.revoke_sessions(&user).await?;
        self.table
            .transact(vec![
                Write::delete(keys::email(&creds.email)),
                Write::delete(keys::user_credentials(&user)),
                Write::delete(keys::user_code(&user, "confirm")),
                Write::delete(keys::user_code(&user, "password_reset")),
            ])
            .await
            .map_err(|e| anyhow::anyhow!("deleting an account: {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    /// Counts a hash while it runs, keeping the most seen at once.
    pub(super) struct Running;

    impl Running {
        pub(super) fn start() -> Self {
            let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
            PEAK.fetch_max(now, Ordering::SeqCst);
            Self
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            RUNNING.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_of_log_ins_hashes_a_few_passwords_at_a_time() {
        let password = Password::presented("Wrong-Password-1").unwrap();
        let burst = (0..24).map(|_| password_matches(&password, DECOY_HASH.into()));
        let answers = futures::future::join_all(burst).await;
        assert!(answers.iter().all(|a| matches!(a, Ok(false))));
        let peak = PEAK.load(Ordering::SeqCst);
        assert!((1..=HASHES_AT_ONCE).contains(&peak), "{peak} hashes at once");
    }

    #[test]
    fn signing_keys_round_trip_through_pem() {
        let key = SigningKey::generate();
        let again = SigningKey::from_pkcs8_pem(&key.to_pkcs8_pem()).unwrap();
        assert_eq!(key.jwks(), again.jwks());
    }

    #[test]
    fn decoy_hash_is_well_formed() {
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
    }
}
