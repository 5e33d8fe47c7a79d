//! Orders: checkout, the status machine, cancellation and expiry.
//!
//! Checkout is one transaction: every product bought from has its variants' stock lowered under
//! the product's revision as it was read (so the stock checked is the stock taken, the price
//! charged is the price shown and the revision written is known), the order is created, its list rows, its `OrderPlaced` and
//! `StockChanged` events are written, the cart loses the bought lines and the idempotency
//! record keeps the answer. Concurrent buyers can never oversell, and an order never exists
//! without its event. Every later change of status is a transaction too, conditioned on a legal
//! source status, with its own event.
//!
//! A change that loses a race (another checkout sold the same product between our read and our
//! write) reads again and retries. Every lost race means another change committed, and each
//! sale lowers the stock, so on a busy product every buyer gets through until the stock is gone.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::addresses::{AddressBook, SavedAddress};
use crate::cart::{Carts, Line};
use crate::catalog::CatalogError;
use crate::domain::{
    Address, AddressId, Email, Handle, Invalid, Money, OrderId, OrderStatus, Payment, Product, ProductId, Quantity,
    TrackingNumber, UserId, VariantId,
};
pub use crate::domain::{CancelReason, OrderLine, StatusChange};
use crate::events::{self, DomainEvent, GuestContact, OrderEvent, StockCause, StockChanged, StockMove};
use crate::guests::Guest;
use crate::keys;
use crate::pricing::{self, Basket, BasketLine, Destination, Pricer, QuoteError, ShippingCharge, Totals};
use crate::promotions::{self, AppliedPromotion, PromoCode, PromotionError, Usage};
use crate::table::{self, Condition, Item, Key, Query, Table, Update, Write, WriteError, committed, retrying};
use crate::time::{Timestamp, epoch_now};
use futures::{StreamExt, TryStreamExt};

/// How long an idempotency key holds its first answer.
pub const IDEMPOTENCY_SECONDS: i64 = 24 * 3600;

/// An order as stored and as answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    /// What the order costs in all: [`Totals::total`].
    pub total: Money,
    /// Subtotal, discount, shipping, tax and total (absent on orders placed before the shop
    /// computed shipping and tax).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals: Option<Totals>,
    /// The shipping option chosen and what it cost (absent when the shop has no zones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<ShippingCharge>,
    /// The promotions it got and what each took off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotions: Vec<AppliedPromotion>,
    /// Its invoice, from its payment on (`GET /api/orders/{id}/invoice`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice: Option<DocumentNumber>,
    /// Its credit note, once refunded in full (`GET /api/orders/{id}/credit-note`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_note: Option<DocumentNumber>,
    pub shipping_address: Address,
    /// A guest's order: where its messages go, and the address an account, once it has
    /// verified it, claims the order by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub guest_email: Option<Email>,
    /// The account that claimed this guest's order: it lists and sees the order as its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub account: Option<UserId>,
    #[serde(default)]
    pub tracking_number: Option<TrackingNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The order's payment, from its creation on: what was asked, taken and refunded.
    pub payment: Option<Payment>,
    /// Goods the shopper sends back, oldest first (see the returns module).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returns: Vec<crate::domain::Return>,
    pub history: Vec<StatusChange>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl Order {
    fn created_key(&self) -> String {
        self.created_at.sort_key()
    }

    /// Whose order it is: the account that claimed it, else the one that placed it.
    pub fn owner(&self) -> &UserId {
        self.account.as_ref().unwrap_or(&self.user_id)
    }

    fn item(&self) -> Item {
        Item::new(&keys::order(&self.id), self).with_gsi1(&keys::order_of_user(
            self.owner(),
            &self.created_key(),
            &self.id,
        ))
    }

    fn row(&self, key: Key) -> Item {
        Item::marker(&key).with("order_id", self.id.to_string())
    }

    /// The write recording this order's event, `from` the status it left.
    fn event(&self, from: Option<OrderStatus>) -> Write {
        events::record(DomainEvent::entering(self.as_event(from)))
    }

    /// This order as its events tell of it, `from` the status it left.
    pub(crate) fn as_event(&self, from: Option<OrderStatus>) -> OrderEvent {
        let guest = match (&self.guest_email, &self.account) {
            (Some(email), None) => {
                Some(GuestContact { email: email.clone(), name: self.shipping_address.name.clone(), link: None })
            }
            _ => None,
        };
        OrderEvent {
            order_id: self.id,
            user_id: self.owner().clone(),
            guest,
            status: self.status,
            from,
            total: self.total,
            totals: self.totals,
            lines: self.lines.clone(),
            tracking_number: self.tracking_number.as_ref().map(ToString::to_string),
            reason: self.history.last().and_then(|change| change.reason),
            returned: None,
            recovered: false,
        }
    }
}

/// A change of an order's status, with what that change carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// The payment provider reported the order paid.
    Pay(Payment),
    Ship {
        tracking_number: TrackingNumber,
    },
    Deliver,
    /// Cancelled before shipping; the stock goes back (and a paid order's money: the
    /// `refunds` consumer).
    Cancel(CancelReason),
    /// Everything paid went back.
    Refund,
}

impl Transition {
    /// The status the order moves to.
    pub fn target(&self) -> OrderStatus {
        match self {
            Self::Pay(_) => OrderStatus::Paid,
            Self::Ship { .. } => OrderStatus::Shipped,
            Self::Deliver => OrderStatus::Delivered,
            Self::Cancel(_) => OrderStatus::Cancelled,
            Self::Refund => OrderStatus::Refunded,
        }
    }

    /// The statuses this change may start from: those that may become its target, except that
    /// only an unpaid order expires (an order paid meanwhile is no longer the job's to cancel).
    pub fn sources(&self) -> Vec<OrderStatus> {
        match self {
            Self::Cancel(CancelReason::PaymentExpired) => vec![OrderStatus::PendingPayment],
            _ => OrderStatus::sources_of(self.target()),
        }
    }

    /// The order after the change, made by `by` at `now`.
    fn apply(&self, mut order: Order, by: &str, now: Timestamp) -> Order {
        let status = self.target();
        match self {
            Self::Pay(payment) => order.payment = Some(payment.clone()),
            Self::Ship { tracking_number } => order.tracking_number = Some(tracking_number.clone()),
            Self::Deliver | Self::Cancel(_) | Self::Refund => {}
        }
        let reason = match self {
            Self::Cancel(reason) => Some(*reason),
            _ => None,
        };
        order.status = status;
        order.updated_at = now;
        order.version += 1;
        order.history.push(StatusChange { status, at: now, by: by.to_owned(), reason });
        order
    }
}

/// Why an order could not be placed or changed.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("order not found")]
    NotFound,
    /// Fewer units in stock than ordered.
    #[error("not enough in stock: {}", short.iter().map(|s| s.sku.as_str()).collect::<Vec<_>>().join(", "))]
    OutOfStock { short: Vec<Shortage> },
    /// Products that do not exist or are not on sale.
    #[error("not on sale: {}", products.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    NotOnSale { products: Vec<ProductId> },
    /// Checkout from an empty cart.
    #[error("the cart is empty")]
    EmptyCart,
    /// The request is not a valid order (empty, too many products, mixed currencies).
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: Invalid },
    /// The saved address named is not in the shopper's book.
    #[error("address not found")]
    AddressNotFound,
    /// The shipping address does not fit its country: each refused field and why.
    #[error("the shipping address is incomplete or malformed")]
    Address(Vec<(&'static str, Invalid)>),
    /// Not shipped to the address, or not by the option named; or a code that cannot be used.
    #[error(transparent)]
    Pricing(#[from] QuoteError),
    /// The `Idempotency-Key` came with a different request before.
    #[error("Idempotency-Key was already used with a different request")]
    KeyReused,
    #[error("an order that is {} cannot become {}", from.as_str(), to.as_str())]
    IllegalTransition { from: OrderStatus, to: OrderStatus },
    /// Lost every race for the same items; the caller may retry.
    #[error("the order or its products kept changing meanwhile; retry")]
    Contention,
    /// The order would take unpaid orders past one of their [`Limits`].
    #[error("{}", limit.refusal(*max))]
    OverLimit { limit: Limit, max: i64 },
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// What unpaid orders may hold. An unpaid order takes its units off sale until it is paid or
/// expires, so without bounds one free account could hold a product's whole stock and keep
/// everyone else from buying it. Checked by the checkout's transaction itself (a counter per
/// account, conditioned), so concurrent checkouts cannot pass them together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Unpaid orders one account may have at once.
    pub unpaid_orders: i64,
    /// Units all of an account's unpaid orders may hold together.
    pub unpaid_units: i64,
    /// Units of one product one order may hold.
    pub units_per_product: i64,
    /// Unpaid orders all guests may have at once, and units among them: a guest is a token
    /// anyone can mint, so the per-account limits alone bound nothing for them.
    pub guest_unpaid_orders: i64,
    pub guest_unpaid_units: i64,
    /// The most one refund by support (not an admin) gives back, in the order's minor units.
    pub support_refund: i64,
}

impl Default for Limits {
    /// Three unpaid orders (a retry in another tab, a second basket), thirty units among them,
    /// ten of one product: more than a household buys at once, far from a shop's stock. Bulk
    /// buyers are a channel of their own.
    fn default() -> Self {
        Self {
            unpaid_orders: 3,
            unpaid_units: 30,
            units_per_product: 10,
            guest_unpaid_orders: 50,
            guest_unpaid_units: 300,
            support_refund: 10_000,
        }
    }
}

impl Limits {
    /// From `ORDER_MAX_UNPAID`, `ORDER_MAX_UNPAID_UNITS`, `ORDER_MAX_UNITS_PER_PRODUCT`,
    /// `ORDER_MAX_GUEST_UNPAID`, `ORDER_MAX_GUEST_UNPAID_UNITS` and `SUPPORT_REFUND_LIMIT` as
    /// `var` finds them, each defaulted.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let read = |name: &str, default: i64| crate::settings::whole(&var, name, default, 1);
        let default = Self::default();
        Ok(Self {
            unpaid_orders: read("ORDER_MAX_UNPAID", default.unpaid_orders)?,
            unpaid_units: read("ORDER_MAX_UNPAID_UNITS", default.unpaid_units)?,
            units_per_product: read("ORDER_MAX_UNITS_PER_PRODUCT", default.units_per_product)?,
            guest_unpaid_orders: read("ORDER_MAX_GUEST_UNPAID", default.guest_unpaid_orders)?,
            guest_unpaid_units: read("ORDER_MAX_GUEST_UNPAID_UNITS", default.guest_unpaid_units)?,
            support_refund: read("SUPPORT_REFUND_LIMIT", default.support_refund)?,
        })
    }
}

/// Where a checkout's lines come from: the request, or the cart (one the shop reminded its
/// shopper of makes a recovered order).
#[derive(Debug, Clone, Copy)]
struct Source {
    from_cart: bool,
    recovered: bool,
}

/// One of the [`Limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    UnpaidOrders,
    UnpaidUnits,
    UnitsPerProduct,
    /// All guests' unpaid orders together.
    GuestUnpaid,
}

impl Limit {
    fn refusal(self, max: i64) -> String {
        match self {
            Self::UnpaidOrders => format!("you have {max} unpaid orders already: pay or cancel one first"),
            Self::UnpaidUnits => format!("unpaid orders may hold {max} units in all: pay or cancel one first"),
            Self::UnitsPerProduct => format!("an order may hold at most {max} units of one product"),
            Self::GuestUnpaid => {
                "the shop holds as many unpaid guest orders as it takes: sign in, or try again in a few minutes".into()
            }
        }
    }
}

/// What an account's unpaid orders hold ([`keys::unpaid`]).
#[derive(Debug, Default, Deserialize)]
struct Unpaid {
    #[serde(default)]
    orders: i64,
    #[serde(default)]
    units: i64,
}

/// A line of a checkout that asked for more than is in stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Shortage {
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub sku: String,
    /// Units asked for.
    pub requested: u32,
    /// Units in stock when the checkout read it.
    pub left: u32,
}

impl From<WriteError> for OrderError {
    fn from(e: WriteError) -> Self {
        e.into_domain(Self::Contention)
    }
}

type Result<T, E = OrderError> = std::result::Result<T, E>;

/// A line a checkout asks for: how many of a product's variant (`None`: the variant of a
/// product sold as one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub product: ProductId,
    pub variant: Option<VariantId>,
    pub quantity: Quantity,
}

impl Wanted {
    /// `quantity` of a product sold as one variant.
    pub fn of(product: ProductId, quantity: Quantity) -> Self {
        Self { product, variant: None, quantity }
    }
}

impl From<Line> for Wanted {
    fn from(line: Line) -> Self {
        Self { product: line.product, variant: Some(line.variant), quantity: line.quantity }
    }
}

/// What a checkout asks for.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub user: UserId,
    /// Explicit lines; `None` buys the cart.
    pub items: Option<Vec<Wanted>>,
    pub ship_to: ShipTo,
    /// One of the options that apply to the address and the lines; none for a shop without
    /// shipping zones.
    pub shipping_option: Option<Handle>,
    /// A discount code; `None` takes the cart's (explicit lines have none).
    pub promotion_code: Option<PromoCode>,
    /// `Idempotency-Key` and a fingerprint of the request it came with.
    pub idempotency: Option<(String, String)>,
    /// A guest's email (a guest's checkout needs one; an account's has none).
    pub guest_email: Option<Email>,
}

/// Where a checkout ships: an address it gives, or one of the shopper's saved addresses (read
/// in the checkout's one batch read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShipTo {
    Address(Address),
    Saved(AddressId),
}

impl From<Address> for ShipTo {
    fn from(address: Address) -> Self {
        Self::Address(address)
    }
}

/// What a checkout answers: the order, and whether it is the replay of an earlier request.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub order: Order,
    pub replayed: bool,
}

/// The first answer to a request with an `Idempotency-Key`, kept to be given again.
#[derive(Debug, Serialize, Deserialize)]
struct IdempotencyRecord {
    fingerprint: String,
    /// The order as the first answer showed it.
    answer: Order,
}

/// A fingerprint of a request body, to tell a retry from a different request with a reused key.
pub fn fingerprint(body: &Value) -> String {
    Sha256::digest(body.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The repository's view of a failed transaction: a lost race, or a real failure.
/// What a checkout's attempts learn for the next ones.
struct Learned {
    /// Automatic promotions a lost race found used up: priced without on the next attempt.
    exhausted: std::sync::Mutex<Usage>,
    /// Whether stock is taken in place ([`Product::taking_stock`]). Once a decrement is refused
    /// (too few units left, a product edited since its read, or one stored in an older shape),
    /// the next attempts read again and put the product under the revision read.
    in_place: std::sync::atomic::AtomicBool,
}

fn lost_race(e: &WriteError, writes: std::ops::Range<usize>) -> bool {
    match e {
        WriteError::Conflict => true,
        WriteError::ConditionFailed { index: Some(i) } => writes.contains(i),
        _ => false,
    }
}

/// The order repository over the table port.
#[derive(Clone)]
pub struct Orders {
    table: Arc<dyn Table>,
    carts: Carts,
    limits: Limits,
}

impl Orders {
    /// With the default [`Limits`].
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { carts: Carts::new(table.clone()), table, limits: Limits::default() }
    }

    pub fn with_limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
    }

    /// The limit a checkout of `units` passed on its `which`-th holder ([`Orders::holders`]),
    /// whose count refused it; `None` when another checkout only moved the count first.
    async fn limit_passed(&self, user: &UserId, units: i64, which: usize) -> Result<Option<OrderError>> {
        let (holder, limit, orders, most) = self.holders(user).swap_remove(which);
        let held = self.table.get(&keys::unpaid(&holder)).await?.map(|i| i.decode::<Unpaid>()).transpose()?;
        let held = held.unwrap_or_default();
        let (too_many, too_much) = (held.orders >= orders, held.units + units > most);
        let passed = match limit {
            Limit::GuestUnpaid => (too_many || too_much).then_some((limit, orders)),
            _ if too_many => Some((Limit::UnpaidOrders, orders)),
            _ => too_much.then_some((Limit::UnpaidUnits, most)),
        };
        Ok(passed.map(|(limit, max)| OrderError::OverLimit { limit, max }))
    }

    pub async fn get(&self, id: &OrderId) -> Result<Option<Order>> {
        Ok(self.table.get(&keys::order(id)).await?.map(|i| i.decode()).transpose()?)
    }

    pub(crate) async fn products(&self, ids: impl Iterator<Item = ProductId>) -> Result<HashMap<ProductId, Product>> {
        Ok(pricing::read_products(&*self.table, ids, false, &[]).await?.products)
    }

    /// The first answer given to this key, if it was used before with the same request.
    async fn replay(&self, user: &UserId, key: &str, fingerprint: &str) -> Result<Option<Order>> {
        let Some(item) = self.table.get(&keys::idempotency(user, key)).await? else { return Ok(None) };
        let record: IdempotencyRecord = item.decode()?;
        if record.fingerprint != fingerprint {
            return Err(OrderError::KeyReused);
        }
        Ok(Some(record.answer))
    }

    /// Places an order from the cart or from explicit lines, in one transaction.
    #[tracing::instrument(skip_all, fields(user = %request.user))]
    pub async fn checkout(&self, request: CheckoutRequest) -> Result<Checkout> {
        if let Some((key, fingerprint)) = &request.idempotency
            && let Some(order) = self.replay(&request.user, key, fingerprint).await?
        {
            return Ok(Checkout { order, replayed: true });
        }
        if let ShipTo::Address(address) = &request.ship_to {
            address.check().map_err(OrderError::Address)?;
        }
        let from_cart = request.items.is_none();
        let invalid = |reason: &str| OrderError::Invalid {
            field: if from_cart { "cart" } else { "items" },
            reason: Invalid::new(reason),
        };
        let (wanted, code, reminded): (Vec<Wanted>, _, _) = match &request.items {
            Some(items) => (items.clone(), request.promotion_code.clone(), false),
            None => {
                let cart = self.carts.contents(&request.user).await?;
                let code = request.promotion_code.clone().or(cart.promotion_code);
                (cart.lines.into_iter().map(Wanted::from).collect(), code, cart.reminded)
            }
        };
        if wanted.is_empty() {
            return Err(if from_cart { OrderError::EmptyCart } else { invalid("has nothing to order") });
        }
        let mut per_product: HashMap<ProductId, i64> = HashMap::new();
        for w in &wanted {
            *per_product.entry(w.product).or_default() += i64::from(w.quantity);
        }
        if wanted.len() as i64 > crate::cart::MAX_LINES {
            return Err(invalid(&format!("an order holds at most {} lines", crate::cart::MAX_LINES)));
        }
        let Limits { units_per_product, unpaid_units, .. } = self.limits;
        if per_product.values().any(|units| *units > units_per_product) {
            return Err(OrderError::OverLimit { limit: Limit::UnitsPerProduct, max: units_per_product });
        }
        if per_product.values().sum::<i64>() > unpaid_units {
            return Err(OrderError::OverLimit { limit: Limit::UnpaidUnits, max: unpaid_units });
        }
        let (request, wanted, code) = (&request, &wanted[..], code.as_ref());
        let learned = &Learned {
            exhausted: std::sync::Mutex::new(Usage::of(&request.user)),
            in_place: std::sync::atomic::AtomicBool::new(true),
        };
        let source = Source { from_cart, recovered: reminded };
        retrying(|| OrderError::Contention, move || self.try_checkout(request, wanted, source, code, learned)).await
    }

    /// The order's lines, priced from `products` as read: each wanted variant once (its
    /// quantities added up), in the order first asked for.
    fn lines(products: &HashMap<ProductId, Product>, wanted: &[Wanted]) -> Result<Vec<OrderLine>> {
        let mut not_on_sale = Vec::new();
        let mut short = Vec::new();
        let mut lines: Vec<OrderLine> = Vec::new();
        for w in wanted {
            let Some(product) = products.get(&w.product).filter(|p| p.active) else {
                not_on_sale.push(w.product);
                continue;
            };
            let variant = match product.resolve(w.variant.as_ref()) {
                Ok(variant) => variant,
                Err(CatalogError::VariantRequired { variants }) => {
                    let reason = format!("product {} has {variants} variants: name one as variant_id", w.product);
                    return Err(OrderError::Invalid { field: "items", reason: Invalid::new(reason) });
                }
                Err(_) => {
                    not_on_sale.push(w.product);
                    continue;
                }
            };
            let quantity = match lines.iter().position(|l| l.variant_id == variant.id) {
                Some(i) => i64::from(lines.remove(i).quantity) + i64::from(w.quantity),
                None => i64::from(w.quantity),
            };
            let quantity = Quantity::new(quantity).map_err(|reason| OrderError::Invalid { field: "items", reason })?;
            lines.push(OrderLine {
                product_id: product.id,
                variant_id: variant.id,
                sku: variant.sku.to_string(),
                name: product.name.to_string(),
                options: variant.options.clone(),
                unit_price: variant.price,
                quantity,
                line_total: variant.price.times(quantity),
                discount: None,
                tax: None,
            });
        }
        for line in &lines {
            let left = products[&line.product_id].variant(&line.variant_id).expect("resolved above").stock.get();
            if left < line.quantity.get() {
                let requested = line.quantity.get();
                let (product_id, variant_id, sku) = (line.product_id, line.variant_id, line.sku.clone());
                short.push(Shortage { product_id, variant_id, sku, requested, left });
            }
        }
        if !not_on_sale.is_empty() {
            not_on_sale.dedup();
            return Err(OrderError::NotOnSale { products: not_on_sale });
        }
        if !short.is_empty() {
            return Err(OrderError::OutOfStock { short });
        }
        Ok(lines)
    }

    /// The writes that move the stock of `lines` by their quantities (`sign` -1 takes, 1 gives
    /// back), one per product, and the movements; a product or variant not in `products` is
    /// passed over (gone: nothing to give back to). With `in_place`, stock is taken by a
    /// decrement in place ([`Product::taking_stock`]); otherwise it moves under the revision in
    /// `products`.
    pub(crate) fn stock_writes(
        products: &HashMap<ProductId, Product>,
        lines: &[OrderLine],
        sign: i64,
        in_place: bool,
        now: Timestamp,
    ) -> Option<(Vec<Write>, Vec<StockMove>)> {
        let mut by_product: Vec<(ProductId, Vec<(VariantId, i64)>)> = Vec::new();
        for line in lines {
            let Some(product) = products.get(&line.product_id) else { continue };
            if product.variant(&line.variant_id).is_none() {
                continue;
            }
            let delta = (line.variant_id, sign * i64::from(line.quantity));
            match by_product.iter_mut().find(|(p, _)| *p == line.product_id) {
                Some((_, moves)) => moves.push(delta),
                None => by_product.push((line.product_id, vec![delta])),
            }
        }
        let mut writes = Vec::new();
        let mut moved = Vec::new();
        for (product, moves) in by_product {
            let product = &products[&product];
            let (write, m) = if sign < 0 && in_place {
                let units: Vec<(VariantId, u32)> =
                    moves.iter().map(|(id, delta)| Some((*id, u32::try_from(-delta).ok()?))).collect::<Option<_>>()?;
                product.taking_stock(&units, now)?
            } else {
                let (_, write, m) = product.moving_stock(&moves, now)?;
                (write, m)
            };
            writes.push(write);
            moved.extend(m);
        }
        Some((writes, moved))
    }

    /// One attempt; `None` when it lost a race and should read again.
    async fn try_checkout(
        &self,
        request: &CheckoutRequest,
        wanted: &[Wanted],
        Source { from_cart, recovered }: Source,
        code: Option<&PromoCode>,
        learned: &Learned,
    ) -> Result<Option<Checkout>> {
        let saved = match &request.ship_to {
            ShipTo::Saved(id) => vec![AddressBook::key(&request.user, id)],
            ShipTo::Address(_) => Vec::new(),
        };
        let read = pricing::read_products(&*self.table, wanted.iter().map(|w| w.product), true, &saved).await?;
        let (products, settings) = (read.products, read.settings.expect("asked for"));
        let shipping_address = match &request.ship_to {
            ShipTo::Address(address) => address.clone(),
            ShipTo::Saved(_) => {
                let saved: SavedAddress = read.others.first().ok_or(OrderError::AddressNotFound)?.decode()?;
                saved.address.check().map_err(OrderError::Address)?;
                saved.address
            }
        };
        let mut lines = Self::lines(&products, wanted)?;
        let currency = lines[0].unit_price.currency;
        if lines.iter().any(|l| l.unit_price.currency != currency) {
            return Err(OrderError::Invalid { field: "items", reason: Invalid::new("mixes currencies") });
        }
        let basket = Basket {
            currency,
            lines: lines
                .iter()
                .map(|l| {
                    let variant = products[&l.product_id].variant(&l.variant_id).expect("priced above");
                    BasketLine::of(&products[&l.product_id], variant, l.quantity)
                })
                .collect(),
        };
        let to = Destination::from(&shipping_address);
        let usage = learned.exhausted.lock().expect("not poisoned").clone();
        let pricer = Pricer::new(&settings, code).with_usage(usage);
        let quote = pricer.quote(&basket, &to, request.shipping_option.as_ref())?;
        for (line, price) in lines.iter_mut().zip(quote.lines) {
            line.discount = (price.discount.amount > 0).then_some(price.discount);
            line.tax = Some(price.taxed);
        }
        let now = Timestamp::now();
        let order = Order {
            id: OrderId::new(),
            user_id: request.user.clone(),
            status: OrderStatus::PendingPayment,
            total: quote.totals.total,
            totals: Some(quote.totals),
            shipping: quote.shipping,
            promotions: quote.promotions,
            invoice: None,
            credit_note: None,
            lines,
            shipping_address,
            guest_email: request.guest_email.clone(),
            account: None,
            tracking_number: None,
            payment: None,
            returns: Vec::new(),
            history: vec![StatusChange {
                status: OrderStatus::PendingPayment,
                at: now,
                by: request.user.to_string(),
                reason: None,
            }],
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let mut writes = Vec::new();
        // First, so that a concurrent retry with the same key is told apart from short stock.
        if let Some((key, fingerprint)) = &request.idempotency {
            let record = IdempotencyRecord { fingerprint: fingerprint.clone(), answer: order.clone() };
            let item = Item::new(&keys::idempotency(&request.user, key), &record)
                .expiring_at(epoch_now() + IDEMPOTENCY_SECONDS);
            writes.push(Write::create(item));
        }
        // What the account's unpaid orders hold, within the limits or not at all.
        let units: i64 = order.lines.iter().map(|l| i64::from(l.quantity)).sum();
        let held = writes.len();
        let holds = self.holds(&order, units, 1);
        let held = held..held + holds.len();
        writes.extend(holds);
        let in_place = learned.in_place.load(std::sync::atomic::Ordering::Relaxed);
        let (taken, moves) =
            Self::stock_writes(&products, &order.lines, -1, in_place, now).expect("stock was checked above");
        let stock_writes = writes.len()..writes.len() + taken.len();
        writes.extend(taken);
        // The promotions' counts, each refused past its limits.
        let counted = promotions::counting(&order.promotions, &settings.promotions, &request.user, 1);
        let counts = writes.len()..writes.len() + counted.len();
        writes.extend(counted);
        let created = order.created_key();
        writes.push(Write::create(order.item()));
        writes.push(Write::put(order.row(keys::orders_row(&created, &order.id))));
        writes.push(Write::put(order.row(keys::status_row(order.status, &created, &order.id))));
        let mut placed = OrderEvent { recovered, ..order.as_event(None) };
        if let Some(guest) = placed.guest.as_mut() {
            // The confirmation carries the link that reaches this order alone.
            guest.link = Some(Guest::link(&order.user_id, &order.id).await?);
        }
        writes.push(events::record(DomainEvent::entering(placed)));
        if let Some(email) = &order.guest_email {
            // Found by the account that later verifies this address ([`Orders::claim`]).
            writes.push(Write::put(Item::marker(&keys::guest_order(email, &order.id))));
        }
        writes.push(events::record(DomainEvent::StockChanged(StockChanged {
            cause: StockCause::Checkout { order_id: order.id },
            products: moves,
        })));
        if from_cart {
            let bought: Vec<VariantId> =
                wanted.iter().map(|w| w.variant.expect("a cart line names its variant")).collect();
            writes.extend(Carts::clearing(&request.user, &bought));
        }
        match self.table.transact(writes).await {
            Ok(()) => Ok(Some(Checkout { order, replayed: false })),
            Err(WriteError::ConditionFailed { index: Some(0) }) if request.idempotency.is_some() => {
                let (key, fingerprint) = request.idempotency.as_ref().expect("checked");
                Ok(self.replay(&request.user, key, fingerprint).await?.map(|order| Checkout { order, replayed: true }))
            }
            Err(WriteError::ConditionFailed { index: Some(i) }) if held.contains(&i) => {
                // Over a limit, or another checkout of the account's moved the counter first.
                match self.limit_passed(&request.user, units, i - held.start).await? {
                    Some(passed) => Err(passed),
                    None => Ok(None),
                }
            }
            Err(WriteError::ConditionFailed { index: Some(i) }) if counts.contains(&i) => {
                // A promotion was used up meanwhile: a code's is refused, an automatic one is
                // left out of the next attempt.
                let used = &order.promotions[(i - counts.start) / 2];
                match &used.code {
                    Some(code) => Err(QuoteError::from(PromotionError::UsedUp(code.to_string())).into()),
                    None => {
                        learned.exhausted.lock().expect("not poisoned").exhaust(used.id.clone());
                        Ok(None)
                    }
                }
            }
            Err(e) if lost_race(&e, stock_writes) => {
                if matches!(e, WriteError::ConditionFailed { .. }) {
                    learned.in_place.store(false, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(None)
            }
            // A line was removed from the cart meanwhile: read the cart again.
            Err(WriteError::ConditionFailed { .. }) if from_cart => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The caller's orders (or everyone's, or one status's), newest first.
    pub async fn list(
        &self,
        scope: OrderScope,
        limit: usize,
        after: Option<Value>,
    ) -> Result<(Vec<Order>, Option<Value>)> {
        let query = match &scope {
            OrderScope::User(user) => Query::gsi1(keys::user_partition(user)).prefix(keys::ORDER_PREFIX),
            OrderScope::All => Query::partition(keys::ORDERS_PARTITION),
            OrderScope::Status(status) => Query::partition(keys::status_partition(*status)),
        };
        let page = self.table.query(&query.descending().limit(limit).after(after)).await?;
        let orders = match scope {
            OrderScope::User(_) => page.items.iter().map(Item::decode).collect::<anyhow::Result<Vec<Order>>>()?,
            _ => self.listed(&page.items).await?,
        };
        Ok((orders, page.next))
    }

    /// Applies `transition` if it is legal from where the order is; cancelling gives the stock
    /// back. One transaction with the event.
    #[tracing::instrument(skip(self, transition), fields(to = transition.target().as_str()))]
    pub async fn transition(&self, id: &OrderId, transition: Transition, by: &str) -> Result<Order> {
        let transition = &transition;
        retrying(
            || OrderError::Contention,
            move || async move {
                let current = self.get(id).await?.ok_or(OrderError::NotFound)?;
                let (order, writes) = self.transitioning(&current, transition, by).await?;
                // The order or a product changed meanwhile: look again.
                Ok(committed(self.table.transact(writes).await)?.then_some(order))
            },
        )
        .await
    }

    /// Who counts an unpaid order of `user` among theirs, each with the orders and units theirs
    /// may hold: the account, and for a guest also all guests together.
    fn holders(&self, user: &UserId) -> Vec<(UserId, Limit, i64, i64)> {
        let Limits { unpaid_orders, unpaid_units, guest_unpaid_orders, guest_unpaid_units, .. } = self.limits;
        let mut holders = vec![(user.clone(), Limit::UnpaidOrders, unpaid_orders, unpaid_units)];
        if Guest::is(user) {
            holders.push((Guest::all(), Limit::GuestUnpaid, guest_unpaid_orders, guest_unpaid_units));
        }
        holders
    }

    /// The writes that count `order` (of `units`) among its holders' unpaid ones, each refused
    /// past its limits; with `-1`, that count it no more.
    fn holds(&self, order: &Order, units: i64, sign: i64) -> Vec<Write> {
        let counted = Update::default().add("orders", sign).add("units", sign * units);
        let holders = self.holders(&order.user_id).into_iter();
        holders
            .map(|(holder, _, orders, most)| {
                let write = Write::update(keys::unpaid(&holder), counted.clone());
                match sign {
                    1 => write.when(Condition::And(vec![
                        Condition::Under("orders".into(), orders),
                        Condition::Under("units".into(), most - units + 1),
                    ])),
                    _ => write,
                }
            })
            .collect()
    }

    /// The order after `transition` from `current`, and the writes that make it so, each
    /// conditioned on `current`'s revision and status (which `current` may have changed in
    /// memory beyond its status: those changes are written too).
    pub async fn transitioning(
        &self,
        current: &Order,
        transition: &Transition,
        by: &str,
    ) -> Result<(Order, Vec<Write>)> {
        let next = transition.target();
        let sources = transition.sources();
        if !sources.contains(&current.status) {
            return Err(OrderError::IllegalTransition { from: current.status, to: next });
        }
        let mut order = transition.apply(current.clone(), by, Timestamp::now());
        // Paid: its invoice's number; refunded in full: its credit note's, each taken from its
        // year's sequence in this transaction, so a number is never skipped nor taken twice.
        let mut numbered = Vec::new();
        if next == OrderStatus::Paid && order.invoice.is_none() {
            let (number, write) = self.next_number(Sequence::Invoice, order.updated_at).await?;
            order.invoice = Some(number);
            numbered.push(write);
        }
        if next == OrderStatus::Refunded && order.invoice.is_some() && order.credit_note.is_none() {
            let (number, write) = self.next_number(Sequence::CreditNote, order.updated_at).await?;
            order.credit_note = Some(number);
            numbered.push(write);
        }
        let created = order.created_key();
        let id = &order.id;
        let sources: Vec<Value> = sources.into_iter().map(|s| json!(s)).collect();
        let mut writes = vec![
            Write::put(order.item()).when(Condition::And(vec![
                Condition::equals("version", current.version),
                Condition::OneOf("status".into(), sources),
            ])),
            Write::delete(keys::status_row(current.status, &created, id)),
            Write::put(order.row(keys::status_row(next, &created, id))),
            order.event(Some(current.status)),
        ];
        writes.extend(numbered);
        if current.status == OrderStatus::PendingPayment {
            // Paid or cancelled: no longer held among the account's (and guests') unpaid orders.
            let units: i64 = order.lines.iter().map(|l| i64::from(l.quantity)).sum();
            writes.extend(self.holds(&order, units, -1));
        }
        if next == OrderStatus::Cancelled {
            // The promotions' uses go back, for other orders to have.
            writes.extend(promotions::giving_back(&order.promotions, &order.user_id));
            // Stock goes back to the variants that still exist.
            let products = self.products(order.lines.iter().map(|l| l.product_id)).await?;
            let (stock_writes, moves) = Self::stock_writes(&products, &order.lines, 1, false, order.updated_at)
                .ok_or_else(|| {
                    anyhow::anyhow!("giving back the stock of order {} would pass a stock's maximum", order.id)
                })?;
            if !moves.is_empty() {
                writes.extend(stock_writes);
                writes.push(events::record(DomainEvent::StockChanged(StockChanged {
                    cause: StockCause::Cancellation { order_id: order.id },
                    products: moves,
                })));
            }
        }
        Ok((order, writes))
    }

    /// The next number of `sequence` in the year of `at`, and the write that takes it: conditioned
    /// on the sequence being where it was read, so two transactions never take one number (the
    /// second reads again) and one that fails takes none.
    pub async fn next_number(&self, sequence: Sequence, at: Timestamp) -> Result<(DocumentNumber, Write)> {
        let key = keys::sequence(sequence.name(), at.year());
        let last = self.table.get(&key).await?.and_then(|item| item.int("last")).unwrap_or(0);
        let next = last + 1;
        let taken = Update::default().set("last", next);
        let write = Write::update(key, taken).when(match last {
            0 => Condition::NotExists,
            _ => Condition::equals("last", last),
        });
        let number = format!("{}-{}-{next:06}", sequence.prefix(), at.year());
        Ok((DocumentNumber { number, issued_at: at }, write))
    }

    /// The order after `change`, which keeps its status (a payment's progress), and the write
    /// that makes it so, conditioned on `current`'s revision.
    pub fn amending(&self, current: &Order, change: impl FnOnce(&mut Order)) -> (Order, Write) {
        let mut order = current.clone();
        change(&mut order);
        order.status = current.status;
        order.version = current.version + 1;
        order.updated_at = Timestamp::now();
        let write = Write::put(order.item()).when(Condition::equals("version", current.version));
        (order, write)
    }

    /// The orders placed from `from` until before `to`, oldest first; refused past `most`
    /// (`None`: there are more).
    pub async fn placed_between(&self, from: Timestamp, to: Timestamp, most: usize) -> Result<Option<Vec<Order>>> {
        // The rows' sort keys are `<created>#<id>`: from the first of `from` to the last before `to`.
        let query = Query::partition(keys::ORDERS_PARTITION).between(from.sort_key(), format!("{}#", to.sort_key()));
        let rows: Vec<Item> = table::items(&*self.table, query.limit(100)).take(most + 1).try_collect().await?;
        if rows.len() > most {
            return Ok(None);
        }
        Ok(Some(self.listed(&rows).await?))
    }

    /// The orders that list rows (`ORDERS`, `STATUS#<status>`) name, in the rows' order.
    async fn listed(&self, rows: &[Item]) -> Result<Vec<Order>> {
        let key = |id: &str| OrderId::parse(id).ok().map(|id| keys::order(&id));
        Ok(table::follow(&*self.table, rows, "order_id", key).await?)
    }

    /// Makes the orders guests placed with `email` orders of `account`, which has verified that
    /// address: each rewritten under its revision to name the account (which then lists and
    /// sees it as its own), and its marker gone, in one transaction apiece. Answers how many.
    pub async fn claim(&self, email: &Email, account: &UserId) -> Result<usize> {
        let query = Query::partition(keys::guest_orders(email)).limit(100);
        let mut markers = std::pin::pin!(table::items(&*self.table, query));
        let mut claimed = 0;
        while let Some(marker) = markers.try_next().await? {
            let key = marker.key();
            let Some(id) = key.sk.strip_prefix(keys::ORDER_PREFIX).and_then(|id| OrderId::parse(id).ok()) else {
                continue;
            };
            let done = Write::delete(key.clone());
            claimed += retrying(
                || OrderError::Contention,
                || async {
                    let order = self.get(&id).await?.filter(|o| o.account.is_none());
                    let Some(order) = order else {
                        return Ok(committed(self.table.write(done.clone()).await)?.then_some(0));
                    };
                    let (_, write) = self.amending(&order, |o| o.account = Some(account.clone()));
                    Ok(committed(self.table.transact(vec![write, done.clone()]).await)?.then_some(1))
                },
            )
            .await?;
        }
        if claimed > 0 {
            tracing::info!(claimed, account = %account, "guest orders claimed");
        }
        Ok(claimed)
    }

    /// Replaces the personal data in a user's orders, kept for accounting (amounts, lines and
    /// dates stay): the shipping name, address lines and phone, and a claimed guest order's
    /// email. Answers how many it changed.
    pub async fn pseudonymise(&self, user: &UserId) -> Result<usize> {
        let mut changed = 0;
        let query = Query::gsi1(keys::user_partition(user)).prefix(keys::ORDER_PREFIX).limit(100);
        let mut items = std::pin::pin!(table::items(&*self.table, query));
        while let Some(item) = items.try_next().await? {
            let order: Order = item.decode()?;
            let address = order.shipping_address.pseudonymised();
            if address == order.shipping_address && order.guest_email.is_none() {
                continue;
            }
            let update = Update::default()
                .set("shipping_address", serde_json::to_value(address).map_err(anyhow::Error::from)?)
                .remove("guest_email")
                .add("version", 1);
            self.table.write(Write::update(keys::order(&order.id), update).when(Condition::Exists)).await?;
            changed += 1;
        }
        Ok(changed)
    }

    /// Cancels pending orders placed before `cutoff`, and those placed before `unstarted` whose
    /// payment was never started (a short reservation: stock held by an order nobody is paying
    /// goes back soon), oldest first, each in its own transaction, unless `payments` (asked
    /// about an order that has a payment) finds it paid. An order that cannot be expired (its
    /// provider is unreachable, say) is logged and left for the next run, and the run goes on
    /// with the others; a run looks at no more than [`EXPIRY_RUN`] orders.
    pub async fn expire(
        &self,
        cutoff: OffsetDateTime,
        unstarted: OffsetDateTime,
        payments: &dyn PaidMeanwhile,
    ) -> Result<Expired> {
        let until = Timestamp::at(cutoff.max(unstarted)).sort_key();
        let mut run = Expired::default();
        let query =
            Query::partition(keys::status_partition(OrderStatus::PendingPayment)).between("0", until).limit(100);
        let mut rows = std::pin::pin!(table::items(&*self.table, query).take(EXPIRY_RUN));
        while let Some(row) = rows.try_next().await? {
            run.looked_at += 1;
            let Some(id) = row.str("order_id").and_then(|id| OrderId::parse(id).ok()) else { continue };
            match self.expire_one(&id, cutoff, payments).await {
                Ok(cancelled) => run.cancelled += usize::from(cancelled),
                Err(error) => {
                    let error = format!("{:#}", anyhow::Error::from(error));
                    tracing::warn!(order = %id, error, "the unpaid order could not expire; the next run tries again");
                    run.failed += 1;
                }
            }
        }
        Ok(run)
    }

    /// Cancels one unpaid order, placed before `cutoff` or never paid for, unless it was paid
    /// meanwhile; answers whether it cancelled it.
    async fn expire_one(&self, id: &OrderId, cutoff: OffsetDateTime, payments: &dyn PaidMeanwhile) -> Result<bool> {
        let Some(order) = self.get(id).await? else { return Ok(false) };
        if order.status != OrderStatus::PendingPayment
            || (order.payment.is_some() && *order.created_at >= cutoff)
            || (order.payment.is_some() && payments.paid_meanwhile(&order).await?)
        {
            return Ok(false);
        }
        match self.transition(id, Transition::Cancel(CancelReason::PaymentExpired), "system").await {
            Ok(_) => Ok(true),
            // Paid or cancelled meanwhile: nothing to do.
            Err(OrderError::IllegalTransition { .. } | OrderError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The most unpaid orders one expiry run looks at: a run stays within its schedule's time, and
/// the next run goes on where the catalogue of old orders still is.
pub const EXPIRY_RUN: usize = 1_000;

/// What one expiry run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Expired {
    /// Unpaid orders old enough that the run looked at.
    pub looked_at: usize,
    /// Of those, cancelled.
    pub cancelled: usize,
    /// Of those, left for the next run after a failure (logged).
    pub failed: usize,
}

/// What the expiry asks before cancelling an unpaid order that has a payment (the payments
/// repository implements it by asking the provider).
#[async_trait::async_trait]
pub trait PaidMeanwhile: Send + Sync {
    /// Whether the order turned out paid (and is now), so it must not be cancelled.
    async fn paid_meanwhile(&self, order: &Order) -> Result<bool>;
}

/// A gapless sequence of numbers per year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequence {
    Invoice,
    CreditNote,
}

impl Sequence {
    fn name(self) -> &'static str {
        match self {
            Self::Invoice => "INVOICE",
            Self::CreditNote => "CREDITNOTE",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Self::Invoice => "INV",
            Self::CreditNote => "CN",
        }
    }
}

/// A numbered document of an order (its invoice, its credit note): the number and when it was
/// issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentNumber {
    /// `INV-2026-000042`, `CN-2026-000003`: the prefix, the year, and the year's sequence.
    pub number: String,
    pub issued_at: Timestamp,
}

/// Whose orders a list shows.
#[derive(Debug, Clone)]
pub enum OrderScope {
    User(UserId),
    All,
    Status(OrderStatus),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_are_read_from_their_settings_each_defaulted() {
        let limits = Limits::from_lookup(|name| (name == "SUPPORT_REFUND_LIMIT").then(|| "2500".to_owned())).unwrap();
        assert_eq!(limits.support_refund, 2_500);
        assert_eq!(limits.unpaid_orders, Limits::default().unpaid_orders);
        assert!(Limits::from_lookup(|name| (name == "SUPPORT_REFUND_LIMIT").then(|| "0".to_owned())).is_err());
        assert!(Limits::from_lookup(|name| (name == "ORDER_MAX_UNPAID").then(|| "ten".to_owned())).is_err());
    }
}
