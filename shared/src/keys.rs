//! Every key of the single table, built here and nowhere else.
//!
//! | item | PK | SK | GSI1PK / GSI1SK |
//! |---|---|---|---|
//! | user profile | `USER#<id>` | `PROFILE` | `USERS` / `<created ms>#<id>` |
//! | user credentials (embedded identity) | `USER#<id>` | `CREDENTIALS` | |
//! | email uniqueness | `EMAIL#<email>` | `EMAIL` | |
//! | refresh token (embedded identity) | `REFRESH#<sha256>` | `REFRESH` | `USER#<id>` / `REFRESH#<sha256>` |
//! | one-time code (embedded identity) | `USER#<id>` | `CODE#<purpose>` | |
//! | codes sent in an hour (embedded identity) | `USER#<id>` | `CODESENT#<hours since epoch>` (TTL 2 h) | |
//! | notification (message and its delivery) | `USER#<id>` | `NOTIFICATION#<ms since epoch>#<id>` | |
//! | address or number nothing is sent to | `SUPPRESSED#<address>` | `SUPPRESSED` | |
//! | message in the local mailbox (local stack) | `MAILBOX` | `<ms since epoch>#<id>` | |
//! | cart header (line count, reminders, a guest's contact) | `USER#<id>` | `CART` | `CARTS#IDLE#<shard>` / `<due less the idle wait>#<user>` while it may be reminded of |
//! | address book header (count, defaults) | `USER#<id>` | `ADDRESSES` | |
//! | saved address | `USER#<id>` | `ADDRESS#<id>` | |
//! | cart line | `USER#<id>` | `CART#<variant>` | |
//! | order (lines embedded) | `ORDER#<id>` | `ORDER` | `USER#<user>` / `ORDER#<created>#<id>` |
//! | order list rows | `ORDERS` and `STATUS#<status>` | `<created>#<id>` | |
//! | an order's payment, as answered to the shopper | `ORDER#<id>` | `CHECKOUT#<attempt>` | |
//! | webhook event applied | `WEBHOOK#<provider>#<event>` | `WEBHOOK` (TTL 4 d) | |
//! | idempotency record | `USER#<id>` | `IDEMPOTENCY#<key>` (TTL 24 h) | |
//! | erased account | `ERASED#<id>` | `ERASED` (TTL 2 d, past any token's life) | |
//! | failed log-ins (embedded identity) | `LOGIN#<email>` | `FAILURES` (TTL 1 d) | |
//! | domain event (outbox) | `EVENT#<ulid>` | `EVENT` (TTL 1 d) | |
//! | event a consumer applied | `PROCESSED#<consumer>#<event>` | `PROCESSED` (TTL 15 d) | |
//! | a product's sales | `PRODUCT#<id>` | `SALES` | |
//! | product | `PRODUCT#<id>` | `PRODUCT` | `CATEGORY#<slug>` / `<name>#<id>` ; catalogue: see [`products_all`] |
//! | SKU uniqueness | `SKU#<sku>` | `SKU` | |
//! | a variant's product | `VARIANT#<id>` | `VARIANT` | |
//! | category | `CATEGORY#<slug>` | `CATEGORY` | `CATEGORIES` / `<slug>` |
//! | migration done | `MIGRATION#<name>` | `MIGRATION` | |
//! | catalogue import | `IMPORT#<id>` | `IMPORT` | |
//! | image upload | `UPLOAD#<id>` | `UPLOAD` (TTL 7 d) | |
//! | a shop setting (tax, shipping zones, promotions) | `SETTINGS#<name>` | `SETTINGS` | |
//! | a promotion's uses, in all and by a customer | `PROMOTION#<id>` | `USES` and `USER#<id>` | |
//! | a year's invoice or credit note numbers | `SEQUENCE#<name>#<year>` | `SEQUENCE` | |
//! | a guest's order not yet claimed by an account | `GUEST#<email>` | `ORDER#<id>` | |
//! | a staff role's holder (embedded identity) | `ROLE#<role>` | `USER#<id>` | |
//! | a return in the back office's queue of its status | `RETURNS#<status>` | `<created>#<order>#<return>` | |
//! | partner webhook endpoint (its secret inside) | `ENDPOINT#<id>` | `ENDPOINT` | `ENDPOINTS` / `<id>` |
//! | a delivery to an endpoint (TTL 30 d) | `ENDPOINT#<id>` | `DELIVERY#<id>` | `WEBHOOKS#DUE` / `<due>#<endpoint>#<id>` while pending |
//! | audit record (TTL: the retention) | `AUDIT` | `<ulid>` | `AUDIT#<actor>` / `<ulid>` |
//! | a mailbox that wants no marketing email | `UNSUBSCRIBED#<mailbox>` | `UNSUBSCRIBED` | |
//! | cart reminders sent to a mailbox in a week (TTL 8 d) | `REMINDED#<mailbox>` | `WEEK#<weeks since epoch>` | |
//! | cart reminders sent to guests in a day (TTL 2 d) | `REMINDED#GUESTS` | `DAY#<days since epoch>` | |

use crate::domain::{
    AddressId, CategorySlug, Email, Handle, OrderId, OrderStatus, ProductId, Sku, UploadId, UserId, VariantId,
};
use crate::table::Key;
/// The key attributes' names belong to the table port; keys builds their values.
pub use crate::table::{EXPIRES_AT, GSI1PK, GSI1SK, PK, SK};

fn user_pk(id: &UserId) -> String {
    format!("USER#{id}")
}

/// A return's row in the queue of its status.
pub fn return_row(
    status: crate::domain::ReturnStatus,
    created: &crate::time::Timestamp,
    order: &OrderId,
    id: &crate::domain::ReturnId,
) -> Key {
    Key::new(returns_partition(status), format!("{}#{order}#{id}", created.sort_key()))
}

/// The queue of returns in `status`.
pub fn returns_partition(status: crate::domain::ReturnStatus) -> String {
    format!("RETURNS#{}", status.as_str())
}

/// The partition of a staff role's holders (embedded identity).
pub fn role_holders(role: crate::domain::Role) -> String {
    format!("ROLE#{role}")
}

/// A staff role's holder (embedded identity).
pub fn role_holder(role: crate::domain::Role, user: &UserId) -> Key {
    Key::new(role_holders(role), user_pk(user))
}

/// The user a [`role_holder`] key names.
pub fn role_holder_of(key: &Key) -> Option<UserId> {
    UserId::parse(key.sk.strip_prefix("USER#")?).ok()
}

/// A partner's webhook endpoint.
pub fn endpoint(id: &str) -> Key {
    Key::new(format!("ENDPOINT#{id}"), "ENDPOINT")
}

/// The index partition listing every endpoint.
pub const ENDPOINTS_PARTITION: &str = "ENDPOINTS";

/// An endpoint in the list of endpoints.
pub fn endpoints_index(id: &str) -> Key {
    Key::new(ENDPOINTS_PARTITION, id)
}

/// The sort-key prefix of an endpoint's deliveries.
pub const DELIVERY_PREFIX: &str = "DELIVERY#";

/// A delivery to an endpoint.
pub fn delivery(endpoint: &str, id: &str) -> Key {
    Key::new(format!("ENDPOINT#{endpoint}"), format!("{DELIVERY_PREFIX}{id}"))
}

/// The index partition of the deliveries waiting for an attempt.
pub const DELIVERIES_DUE: &str = "WEBHOOKS#DUE";

/// A pending delivery in the due index, by when it is due.
pub fn delivery_due(at: &crate::time::Timestamp, endpoint: &str, id: &str) -> Key {
    Key::new(DELIVERIES_DUE, format!("{}#{endpoint}#{id}", at.sort_key()))
}

/// The idle index is spread over this many GSI1 partitions (`CARTS#IDLE#<0..8>`, by the user),
/// so that every cart change in the shop does not write to one index partition.
pub const IDLE_CART_SHARDS: u32 = 8;

/// One partition of the index of the carts that may be reminded of, by when they went idle.
pub fn idle_carts(shard: u32) -> String {
    format!("CARTS#IDLE#{shard}")
}

/// A cart in the idle index: idle since `since`.
pub fn idle_cart(since: &crate::time::Timestamp, user: &UserId) -> Key {
    let shard = user.as_str().bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    Key::new(idle_carts(shard % IDLE_CART_SHARDS), format!("{}#{user}", since.sort_key()))
}

/// A mailbox ([`Email::mailbox`]) that asked for no more marketing email.
pub fn unsubscribed(email: &Email) -> Key {
    Key::new(format!("UNSUBSCRIBED#{}", email.mailbox()), "UNSUBSCRIBED")
}

/// The count of cart reminders sent to a mailbox ([`Email::mailbox`]) in one week (counted
/// from the Unix epoch).
pub fn reminded(email: &Email, week: i64) -> Key {
    Key::new(format!("REMINDED#{}", email.mailbox()), format!("WEEK#{week}"))
}

/// The count of cart reminders sent to guests' addresses in one day (counted from the Unix
/// epoch): addresses nobody confirmed.
pub fn guests_reminded(day: i64) -> Key {
    Key::new("REMINDED#GUESTS", format!("DAY#{day}"))
}

/// The partition of the audit log.
pub const AUDIT_PARTITION: &str = "AUDIT";

/// An audit record.
pub fn audit(id: &str) -> Key {
    Key::new(AUDIT_PARTITION, id)
}

/// An audit record in its actor's list.
pub fn audit_by(actor: &UserId, id: &str) -> Key {
    Key::new(audit_by_partition(actor), id)
}

/// The index partition of one actor's audit records.
pub fn audit_by_partition(actor: &UserId) -> String {
    format!("AUDIT#{actor}")
}

/// A shop setting, edited whole: `TAX`, `SHIPPING`.
pub fn settings(name: &str) -> Key {
    Key::new(format!("SETTINGS#{name}"), "SETTINGS")
}

/// The last number taken of a sequence (`INVOICE`, `CREDITNOTE`) in a year.
pub fn sequence(name: &str, year: i32) -> Key {
    Key::new(format!("SEQUENCE#{name}#{year}"), "SEQUENCE")
}

/// How many orders a promotion was used for.
pub fn promotion_uses(id: &Handle) -> Key {
    Key::new(format!("PROMOTION#{id}"), "USES")
}

/// How many orders a customer used a promotion for.
pub fn promotion_uses_by(id: &Handle, user: &UserId) -> Key {
    Key::new(format!("PROMOTION#{id}"), format!("USER#{user}"))
}

pub fn user_profile(id: &UserId) -> Key {
    Key::new(user_pk(id), "PROFILE")
}

/// GSI1 entry listing every user by creation time.
pub fn users_index(created: &str, id: &UserId) -> Key {
    Key::new("USERS", format!("{created}#{id}"))
}

pub const USERS_PARTITION: &str = "USERS";

pub fn user_credentials(id: &UserId) -> Key {
    Key::new(user_pk(id), "CREDENTIALS")
}

pub fn user_code(id: &UserId, purpose: &str) -> Key {
    Key::new(user_pk(id), format!("CODE#{purpose}"))
}

/// How many codes the user was sent in the clock hour `hour` (hours since the epoch).
/// What a user's unpaid orders hold: how many, and their units (the checkout's limits).
pub fn unpaid(id: &UserId) -> Key {
    Key::new(user_pk(id), "UNPAID")
}

/// SMS sent to a user on day `day` (days since the epoch).
pub fn sms_sent_by(id: &UserId, day: i64) -> Key {
    Key::new(user_pk(id), format!("SMSDAY#{day}"))
}

/// SMS sent to a number on day `day`, whichever accounts name it.
pub fn sms_sent_to(number: &str, day: i64) -> Key {
    Key::new(format!("SMSTO#{number}"), format!("DAY#{day}"))
}

pub fn codes_sent(id: &UserId, hour: i64) -> Key {
    Key::new(user_pk(id), format!("CODESENT#{hour}"))
}

/// The partition of everything stored under a user (profile, credentials, notifications...).
pub fn user_partition(id: &UserId) -> String {
    user_pk(id)
}

/// The user whose partition holds `key`.
pub fn user_of(key: &Key) -> Option<UserId> {
    UserId::parse(key.pk.strip_prefix("USER#")?).ok()
}

pub fn email(email: &Email) -> Key {
    Key::new(format!("EMAIL#{email}"), "EMAIL")
}

pub fn refresh_token(hash: &str) -> Key {
    Key::new(format!("REFRESH#{hash}"), "REFRESH")
}

pub fn refresh_token_index(user: &UserId, hash: &str) -> Key {
    Key::new(user_pk(user), format!("REFRESH#{hash}"))
}

pub const REFRESH_PREFIX: &str = "REFRESH#";

pub fn notification(user: &UserId, at: &str, id: &str) -> Key {
    Key::new(user_pk(user), format!("NOTIFICATION#{at}#{id}"))
}

pub const NOTIFICATION_PREFIX: &str = "NOTIFICATION#";

/// `address` (lower case) gets nothing more.
pub fn suppressed(address: &str) -> Key {
    Key::new(format!("SUPPRESSED#{address}"), "SUPPRESSED")
}

/// The local stack's mailbox: every message it "sent", newest last.
pub const MAILBOX_PARTITION: &str = "MAILBOX";

pub fn mailbox(at: &str, id: &str) -> Key {
    Key::new(MAILBOX_PARTITION, format!("{at}#{id}"))
}

pub fn product(id: &ProductId) -> Key {
    Key::new(format!("PRODUCT#{id}"), "PRODUCT")
}

/// Whether `key` is a product's (see [`product`]).
pub fn is_product(key: &Key) -> bool {
    key.sk == "PRODUCT" && key.pk.starts_with("PRODUCT#")
}

/// GSI1 entry listing a category's products by name.
pub fn product_in_category(category: &CategorySlug, name: &str, id: &ProductId) -> Key {
    Key::new(category_partition(category), format!("{}#{id}", name.to_lowercase()))
}

pub fn category_partition(category: &CategorySlug) -> String {
    format!("CATEGORY#{category}")
}

pub fn sku(sku: &Sku) -> Key {
    Key::new(format!("SKU#{sku}"), "SKU")
}

/// The marker naming a variant's product.
pub fn variant(id: &VariantId) -> Key {
    Key::new(format!("VARIANT#{id}"), "VARIANT")
}

/// The catalogue partition: every product is also a `PRODUCTS` / `<id>` row, so the full list
/// is one query in id (creation) order, never a scan.
pub fn products_all(id: &ProductId) -> Key {
    Key::new(PRODUCTS_PARTITION, format!("PRODUCT#{id}"))
}

pub const PRODUCTS_PARTITION: &str = "PRODUCTS";

pub fn category(slug: &CategorySlug) -> Key {
    Key::new(category_partition(slug), "CATEGORY")
}

pub fn categories_index(slug: &CategorySlug) -> Key {
    Key::new(CATEGORIES_PARTITION, slug.as_str())
}

pub const CATEGORIES_PARTITION: &str = "CATEGORIES";

pub fn cart(user: &UserId) -> Key {
    Key::new(user_pk(user), "CART")
}

pub fn cart_line(user: &UserId, variant: &VariantId) -> Key {
    Key::new(user_pk(user), format!("{CART_LINE_PREFIX}{variant}"))
}

pub const CART_LINE_PREFIX: &str = "CART#";

/// A user's address book: its header (`ADDRESSES`) and its addresses (`ADDRESS#<id>`).
pub const ADDRESS_BOOK_PREFIX: &str = "ADDRESS";

pub fn address_book(user: &UserId) -> Key {
    Key::new(user_pk(user), "ADDRESSES")
}

pub fn address(user: &UserId, id: &AddressId) -> Key {
    Key::new(user_pk(user), format!("ADDRESS#{id}"))
}

/// The cart's header and its lines.
pub const CART_PREFIX: &str = "CART";

pub fn order(id: &OrderId) -> Key {
    Key::new(format!("ORDER#{id}"), "ORDER")
}

/// GSI1 entry listing a user's orders, newest last in key order.
pub fn order_of_user(user: &UserId, created: &str, id: &OrderId) -> Key {
    Key::new(user_pk(user), format!("{ORDER_PREFIX}{created}#{id}"))
}

pub const ORDER_PREFIX: &str = "ORDER#";

/// A guest's order, under the email the guest gave, until an account claims it.
pub fn guest_order(email: &Email, id: &OrderId) -> Key {
    Key::new(guest_orders(email), format!("{ORDER_PREFIX}{id}"))
}

/// The partition of the orders guests placed with `email`.
pub fn guest_orders(email: &Email) -> String {
    format!("GUEST#{email}")
}

/// The row listing an order among all orders.
pub fn orders_row(created: &str, id: &OrderId) -> Key {
    Key::new(ORDERS_PARTITION, format!("{created}#{id}"))
}

pub const ORDERS_PARTITION: &str = "ORDERS";

/// The row listing an order among the orders in one status.
pub fn status_row(status: OrderStatus, created: &str, id: &OrderId) -> Key {
    Key::new(status_partition(status), format!("{created}#{id}"))
}

pub fn status_partition(status: OrderStatus) -> String {
    format!("STATUS#{}", status.as_str())
}

/// A user's idempotency record: under the user, so erasing the user erases it too.
/// The answer to an order's `attempt`-th payment request (with the browser's client secret).
pub fn checkout(order: &OrderId, attempt: u32) -> Key {
    Key::new(format!("ORDER#{order}"), format!("CHECKOUT#{attempt}"))
}

/// A provider's webhook event, once applied.
pub fn webhook_event(provider: &str, event: &str) -> Key {
    Key::new(format!("WEBHOOK#{provider}#{event}"), "WEBHOOK")
}

pub fn idempotency(user: &UserId, key: &str) -> Key {
    Key::new(user_pk(user), format!("{IDEMPOTENCY_PREFIX}{key}"))
}

pub const IDEMPOTENCY_PREFIX: &str = "IDEMPOTENCY#";

/// The mark a log-out, a password reset or an erasure leaves: the account's tokens issued
/// before it are refused (all of them, once erased).
pub fn revoked(user: &UserId) -> Key {
    Key::new(format!("REVOKED#{user}"), "REVOKED")
}

/// An OAuth authorization code of the embedded identity's sign-in, by its hash.
pub fn authorization_code(code_hash: &str) -> Key {
    Key::new(format!("OAUTHCODE#{code_hash}"), "CODE")
}

/// Failed log-ins for one email address (embedded identity), whether or not it has an account.
pub fn login_failures(email: &Email, client: &str) -> Key {
    Key::new(format!("LOGIN#{email}"), format!("FAILURES#{client}"))
}

pub fn event(id: &ulid::Ulid) -> Key {
    Key::new(format!("{EVENT_PREFIX}{id}"), "EVENT")
}

/// What every event item's partition key starts with (the stream publisher's filter).
pub const EVENT_PREFIX: &str = "EVENT#";

/// The record that `consumer` has applied event `event`.
pub fn processed(consumer: &str, event: &str) -> Key {
    Key::new(format!("PROCESSED#{consumer}#{event}"), "PROCESSED")
}

pub fn sales(product: &ProductId) -> Key {
    Key::new(format!("PRODUCT#{product}"), "SALES")
}

/// The record that migration `name` has run to its end.
pub fn migration(name: &str) -> Key {
    Key::new(format!("MIGRATION#{name}"), "MIGRATION")
}

/// A catalogue import's record: its progress and refused lines.
pub fn import(id: &str) -> Key {
    Key::new(format!("IMPORT#{id}"), "IMPORT")
}

/// An image upload's record (TTL 7 d).
pub fn upload(id: &UploadId) -> Key {
    Key::new(format!("UPLOAD#{id}"), "UPLOAD")
}
