//! The users service: profiles, the back office's user list, GDPR export and account deletion.
//! A shopper reaches only their own profile (another's answers 404); admins reach all.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use shop::addresses::{AddressBook, AddressDraft, SavedAddress};
use shop::domain::{Address, AddressId, Email, Name, Password, Phone, Role, UserId};
use shop::error::Validation;
use shop::http::audit::Witness;
use shop::http::caller::Revocations;
use shop::http::{Caller, IfMatch, Json, Page, PageParams, PageQuery, Staff, Versioned};
use shop::identity::{Identity, NewAccount};
use shop::notifications::Notification;
use shop::notifications::sms::{self, SmsCountries};
use shop::openapi::Shared;
use shop::users::{NotificationPreferences, ProfileChanges, UserProfile, Users};
use shop::{Error, Result};
use utoipa::{OpenApi, ToSchema};

/// What the users service needs.
#[derive(Clone)]
pub struct UsersState {
    pub users: Users,
    pub identity: Arc<dyn Identity>,
    pub orders: shop::orders::Orders,
    pub addresses: AddressBook,
    /// The users' messages (their outbox).
    pub table: Arc<dyn shop::table::Table>,
    /// Refuses ended sessions' and erased accounts' tokens (see [`shop::http::caller::Revocations`]).
    pub revocations: Revocations,
    /// The countries whose phone numbers profiles may hold.
    pub sms: SmsCountries,
    /// The back office's writes, for `GET /api/audit`.
    pub audit: shop::audit::AuditLog,
    /// Partners' webhook endpoints.
    pub partners: shop::partners::PartnerWebhooks,
    /// Whether an endpoint may be `http://` to a loopback address (the local stack).
    pub webhooks_allow_loopback: bool,
}

impl UsersState {
    pub fn new(table: Arc<dyn shop::table::Table>, identity: Arc<dyn Identity>, sms: SmsCountries) -> Self {
        Self {
            users: Users::new(table.clone()),
            identity,
            orders: shop::orders::Orders::new(table.clone()),
            addresses: AddressBook::new(table.clone()),
            revocations: Revocations::new(table.clone()),
            audit: shop::audit::AuditLog::new(table.clone()),
            partners: shop::partners::PartnerWebhooks::new(table.clone()),
            webhooks_allow_loopback: false,
            table,
            sms,
        }
    }
}

#[derive(OpenApi)]
#[openapi(tags((name = "users", description = "Profiles and accounts"),
                (name = "staff", description = "Staff roles and the audit log of the back office"),
                (name = "webhooks", description = "Partners' webhook endpoints and their deliveries")), modifiers(&Shared))]
struct Doc;

shop::service!(
    UsersState,
    Doc,
    [
        list_users,
        create_user,
        me,
        export_me,
        my_notifications,
        send_phone_code,
        verify_phone,
        get_user,
        update_user,
        delete_user,
        list_addresses,
        add_address,
        replace_address,
        remove_address,
        get_roles,
        set_roles,
        list_staff,
        audit_log,
        register_endpoint,
        list_endpoints,
        get_endpoint,
        update_endpoint,
        delete_endpoint,
        list_deliveries,
        redeliver
    ]
);

mod staff;
mod webhooks;
pub use staff::*;
pub use webhooks::*;

/// An address to save in the caller's book.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    /// What you call it ("Home").
    #[serde(default)]
    #[schema(value_type = Option<Name>)]
    label: Option<String>,
    address: Address,
    /// Make it the default for shipping (the first address is both defaults).
    #[serde(default)]
    default_shipping: bool,
    #[serde(default)]
    default_billing: bool,
}

impl AddressBody {
    fn draft(self) -> Result<AddressDraft> {
        let label = self.label.as_deref().map(Name::parse).transpose().map_err(|e| Error::invalid("label", e))?;
        let (default_shipping, default_billing) = (self.default_shipping, self.default_billing);
        Ok(AddressDraft { label, address: self.address, default_shipping, default_billing })
    }
}

/// The caller's saved addresses, oldest first, the defaults marked.
#[utoipa::path(get, path = "/api/users/me/addresses", tag = "users", security(("cognito" = [])),
    responses((status = 200, body = Vec<SavedAddress>), (status = 401, body = shop::error::Problem)))]
async fn list_addresses(State(state): State<UsersState>, caller: Caller) -> Result<Json<Vec<SavedAddress>>> {
    Ok(Json(state.addresses.list(&caller.user_id).await?))
}

/// Save an address (at most 20), checked for its country.
#[utoipa::path(post, path = "/api/users/me/addresses", tag = "users", security(("cognito" = [])),
    request_body = AddressBody,
    responses((status = 201, body = SavedAddress), (status = 409, body = shop::error::Problem, description = "The book is full"),
              (status = 422, body = shop::error::Problem, description = "`/problems/invalid-address`, or a bad label")))]
async fn add_address(
    State(state): State<UsersState>,
    caller: Caller,
    Json(body): Json<AddressBody>,
) -> Result<Response> {
    let saved = state.addresses.add(&caller.user_id, body.draft()?).await?;
    Ok(shop::http::created(&format!("/api/users/me/addresses/{}", saved.id), 1, saved))
}

/// Replace a saved address (and make it a default if asked).
#[utoipa::path(put, path = "/api/users/me/addresses/{address_id}", tag = "users", security(("cognito" = [])),
    params(("address_id" = String, Path)), request_body = AddressBody,
    responses((status = 200, body = SavedAddress), (status = 404, body = shop::error::Problem),
              (status = 422, body = shop::error::Problem)))]
async fn replace_address(
    State(state): State<UsersState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<AddressBody>,
) -> Result<Json<SavedAddress>> {
    let id = shop::http::path_id(&id, AddressId::parse, "address")?;
    Ok(Json(state.addresses.replace(&caller.user_id, &id, body.draft()?).await?))
}

/// Remove a saved address.
#[utoipa::path(delete, path = "/api/users/me/addresses/{address_id}", tag = "users", security(("cognito" = [])),
    params(("address_id" = String, Path)), responses((status = 204), (status = 404, body = shop::error::Problem)))]
async fn remove_address(State(state): State<UsersState>, caller: Caller, Path(id): Path<String>) -> Result<StatusCode> {
    let id = shop::http::path_id(&id, AddressId::parse, "address")?;
    state.addresses.remove(&caller.user_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An account an admin creates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    #[schema(value_type = Email)]
    email: String,
    #[schema(value_type = Name)]
    name: String,
    #[schema(value_type = String, min_length = 10, max_length = 256)]
    password: String,
    #[serde(default)]
    #[schema(value_type = Option<Phone>)]
    phone: Option<String>,
}

impl NewUserBody {
    fn account(self, served: &SmsCountries) -> Result<NewAccount> {
        let mut v = Validation::default();
        let email = v.field("email", Email::parse(&self.email));
        let name = v.field("name", Name::parse(&self.name));
        let password = v.field("password", Password::parse(&self.password));
        let phone = v.optional("phone", self.phone.as_deref(), |raw| served.phone(raw));
        v.finish(|| Some(NewAccount { email: email?, password: password?, name: name?, phone: phone? }))
    }
}

fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The fields of a profile its owner (or an admin) may change. Anything else (id, email,
/// groups, version) is refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    #[serde(default)]
    #[schema(value_type = Option<Name>)]
    name: Option<String>,
    /// `null` removes the phone number.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Phone>)]
    phone: Option<Option<String>>,
    /// `null` removes the address.
    #[serde(default, deserialize_with = "present")]
    address: Option<Option<Address>>,
    #[serde(default)]
    preferences: Option<NotificationPreferences>,
}

impl ProfileBody {
    /// The changes asked for; a new phone number must be of a country the shop serves.
    fn changes(self, served: &SmsCountries) -> Result<ProfileChanges> {
        let mut v = Validation::default();
        let name = v.optional("name", self.name.as_deref(), Name::parse);
        let phone = match self.phone {
            Some(Some(raw)) => v.field("phone", served.phone(&raw)).map(|p| Some(Some(p))),
            Some(None) => Some(Some(None)),
            None => Some(None),
        };
        v.finish(|| {
            Some(ProfileChanges { name: name?, phone: phone?, address: self.address, preferences: self.preferences })
        })
    }
}

/// The code sent to the caller's phone number.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneCodeBody {
    #[schema(value_type = String, min_length = 1, max_length = 64, pattern = r"^ *[!-~]+ *$")]
    code: String,
}

/// The profile at `id` if the caller may see it (their own; anyone's for support and admins);
/// 404 for anyone else's.
async fn visible(state: &UsersState, caller: &Caller, id: &str) -> Result<UserProfile> {
    let id = shop::http::path_id(id, UserId::parse, "user")?;
    if caller.user_id != id && !caller.holds(Role::Support) {
        return Err(Error::NotFound("user"));
    }
    state.users.get(&id).await?.ok_or(Error::NotFound("user"))
}

/// The profile at `id` if the caller may change it (their own; anyone's for admins, a write
/// the audit log records); 404 for anyone else's.
async fn changeable(state: &UsersState, caller: &Caller, witness: &Witness, id: &str) -> Result<UserProfile> {
    let id = shop::http::path_id(id, UserId::parse, "user")?;
    if caller.user_id != id {
        if !caller.is_admin() {
            return Err(Error::NotFound("user"));
        }
        witness.saw(caller).await;
    }
    state.users.get(&id).await?.ok_or(Error::NotFound("user"))
}

/// Every user, oldest first (admin).
#[utoipa::path(get, path = "/api/users", tag = "users", security(("cognito" = ["support"])),
    params(PageQuery),
    responses((status = 200, body = [UserProfile]), (status = 403, body = shop::error::Problem)))]
async fn list_users(State(state): State<UsersState>, _: Staff, page: PageParams) -> Result<Page<UserProfile>> {
    let (users, next) = state.users.list(page.limit, page.after.clone()).await?;
    page.page(users, next).await
}

/// Create a confirmed account with a password (admin).
#[utoipa::path(post, path = "/api/users", tag = "users", security(("cognito" = ["admin"])), request_body = NewUserBody,
    responses((status = 201, body = UserProfile), (status = 409, body = shop::error::Problem), (status = 422, body = shop::error::Problem)))]
async fn create_user(
    State(state): State<UsersState>,
    Staff(caller): Staff,
    Json(body): Json<NewUserBody>,
) -> Result<Response> {
    let account = body.account(&state.sms)?;
    let id = state.identity.create_user(&account).await?;
    let profile = state.users.create(&UserProfile::new(id, account.email, account.name, account.phone), true).await?;
    tracing::info!(user = %profile.id, by = %caller.user_id, "account created by an admin");
    Ok(shop::http::created(&format!("/api/users/{}", profile.id), profile.version, profile))
}

/// The caller's own profile.
#[utoipa::path(get, path = "/api/users/me", tag = "users", security(("cognito" = [])),
    responses((status = 200, body = UserProfile), (status = 401, body = shop::error::Problem)))]
async fn me(State(state): State<UsersState>, caller: Caller) -> Result<Versioned<UserProfile>> {
    let profile = match state.users.get(&caller.user_id).await? {
        Some(profile) => profile,
        // An account whose profile write was lost at sign-up gets one now, from its claims.
        None => {
            let email = caller.email.clone().ok_or(Error::NotFound("user"))?;
            let name = Name::parse(email.as_str().split('@').next().unwrap_or("shopper"))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            state.users.create(&UserProfile::new(caller.user_id.clone(), email, name, None), true).await?
        }
    };
    Ok(Versioned(profile.version, profile))
}

/// Everything the shop holds about the caller (GDPR access request).
#[utoipa::path(get, path = "/api/users/me/export", tag = "users", security(("cognito" = [])),
    responses((status = 200, description = "All records about the caller")))]
async fn export_me(State(state): State<UsersState>, caller: Caller) -> Result<Json<Value>> {
    Ok(Json(state.users.export(&caller.user_id).await?))
}

/// Send a code by SMS to the caller's phone number, to verify it: SMS go to verified numbers
/// only. At most five account messages an hour, and ten SMS a day per account and per number.
#[utoipa::path(post, path = "/api/users/me/phone/code", tag = "users", security(("cognito" = [])),
    responses((status = 202), (status = 409, body = shop::error::Problem, description = "No phone number"),
              (status = 422, body = shop::error::Problem, description = "A number of a country the shop does not serve"),
              (status = 429, body = shop::error::Problem, description = "The hour's codes are sent already")))]
async fn send_phone_code(State(state): State<UsersState>, caller: Caller) -> Result<StatusCode> {
    if !sms::send_phone_code(&state.table, &caller.user_id, &state.sms).await? {
        return Err(Error::TooManyRequests(3600));
    }
    Ok(StatusCode::ACCEPTED)
}

/// Verify the caller's phone number with the code sent to it.
#[utoipa::path(post, path = "/api/users/me/phone/verify", tag = "users", security(("cognito" = [])),
    request_body = PhoneCodeBody,
    responses((status = 200, body = UserProfile), (status = 422, body = shop::error::Problem)))]
async fn verify_phone(
    State(state): State<UsersState>,
    caller: Caller,
    Json(body): Json<PhoneCodeBody>,
) -> Result<Versioned<UserProfile>> {
    let profile = state.users.verify_phone(&caller.user_id, &body.code).await?;
    Ok(Versioned(profile.version, profile))
}

/// The messages the shop has sent or will send the caller, newest first, with their delivery
/// status. One-time codes are never shown.
#[utoipa::path(get, path = "/api/users/me/notifications", tag = "users", security(("cognito" = [])),
    params(PageQuery),
    responses((status = 200, body = [Notification]), (status = 401, body = shop::error::Problem)))]
async fn my_notifications(
    State(state): State<UsersState>,
    caller: Caller,
    page: PageParams,
) -> Result<Page<Notification>> {
    let (messages, next) =
        shop::notifications::list(&*state.table, &caller.user_id, page.limit, page.after.clone()).await?;
    page.page(messages, next).await
}

/// A profile (its owner, support or admin).
#[utoipa::path(get, path = "/api/users/{id}", tag = "users", security(("cognito" = [])), params(("id" = String, Path)),
    responses((status = 200, body = UserProfile), (status = 404, body = shop::error::Problem)))]
async fn get_user(
    State(state): State<UsersState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Versioned<UserProfile>> {
    let profile = visible(&state, &caller, &id).await?;
    Ok(Versioned(profile.version, profile))
}

/// Change name, phone, address or preferences (admin, or the owner). Honours `If-Match`.
#[utoipa::path(put, path = "/api/users/{id}", tag = "users", security(("cognito" = [])), request_body = ProfileBody,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = UserProfile),
              (status = 403, body = shop::error::Problem, description = "Staff turning marketing email on: only the \
              owner can agree to it"),
              (status = 404, body = shop::error::Problem),
              (status = 412, body = shop::error::Problem), (status = 422, body = shop::error::Problem)))]
async fn update_user(
    State(state): State<UsersState>,
    caller: Caller,
    witness: Witness,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<ProfileBody>,
) -> Result<Versioned<UserProfile>> {
    let current = changeable(&state, &caller, &witness, &id).await?;
    let by_owner = caller.user_id == current.id;
    let profile = state.users.update(&current.id, body.changes(&state.sms)?, if_match.optional()?, by_owner).await?;
    Ok(Versioned(profile.version, profile))
}

/// Erase an account (admin, or the owner): its sessions are revoked and its tokens refused,
/// everything stored under the user is removed, and the orders kept for accounting lose the
/// shipping name and street. Each step can be repeated, so a failed erasure is retried whole.
#[utoipa::path(delete, path = "/api/users/{id}", tag = "users", security(("cognito" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = shop::error::Problem)))]
async fn delete_user(
    State(state): State<UsersState>,
    caller: Caller,
    witness: Witness,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let profile = changeable(&state, &caller, &witness, &id).await?;
    state.revocations.erase(&profile.id).await?;
    match state.identity.delete_user(&profile.id).await {
        Ok(()) | Err(shop::identity::IdentityError::NoSuchUser) => {}
        Err(e) => return Err(e.into()),
    }
    let orders = state.orders.pseudonymise(&profile.id).await?;
    state.users.delete(&profile.id).await?;
    tracing::info!(user = %profile.id, by = %caller.user_id, orders, "account erased");
    Ok(StatusCode::NO_CONTENT)
}
