//! Carts: one line per product under the user, and a header item counting the lines. A new
//! line and the count move together in one transaction whose condition keeps the count under
//! [`MAX_LINES`], so a cart always fits the single checkout transaction.
//!
//! A cart shows today's catalogue: unit prices come from the products when it is read, and
//! lines whose product is gone, inactive or short of stock say so.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::{Money, Product, ProductId, Quantity, UserId};
use crate::keys;
use crate::table::{Condition, Item, Key, Query, Table, Update, Write, WriteError, committed, retrying};
use crate::time::Timestamp;

/// Why a cart could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum CartError {
    /// The cart already holds [`MAX_LINES`] products.
    #[error("a cart holds at most {MAX_LINES} products")]
    Full,
    /// Lost every race for the cart; the caller may retry.
    #[error("the cart kept changing meanwhile; retry")]
    Contention,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl From<WriteError> for CartError {
    fn from(e: WriteError) -> Self {
        e.into_domain(Self::Contention)
    }
}

type Result<T, E = CartError> = std::result::Result<T, E>;

/// The most lines a cart holds: with a stock update and a cart clean-up per line, an order,
/// its event and an idempotency record, checkout stays within one 100-write transaction.
pub const MAX_LINES: i64 = 40;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LineRecord {
    product_id: ProductId,
    quantity: Quantity,
    added_at: Timestamp,
}

/// Why a line cannot be bought as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineProblem {
    /// The product no longer exists.
    Gone,
    /// The product is not on sale.
    Inactive,
    /// Fewer in stock than the line asks for.
    ShortOfStock,
    /// Priced in another currency than the rest of the cart.
    OtherCurrency,
}

/// A cart line priced from the catalogue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CartLine {
    pub product_id: ProductId,
    pub quantity: Quantity,
    pub name: Option<String>,
    pub sku: Option<String>,
    pub unit_price: Option<Money>,
    pub line_total: Option<Money>,
    /// Units in stock now.
    pub stock: Option<u32>,
    /// Set when the line cannot be bought as it is.
    pub problem: Option<LineProblem>,
}

/// The caller's cart.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CartView {
    pub lines: Vec<CartLine>,
    /// The sum of the lines without problems; absent for an empty cart.
    pub total: Option<Money>,
    /// True when every line can be bought as it is.
    pub ready_for_checkout: bool,
}

/// The cart repository over the table port.
#[derive(Clone)]
pub struct Carts {
    table: Arc<dyn Table>,
}

impl Carts {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }

    /// The lines, oldest first.
    pub async fn lines(&self, user: &UserId) -> anyhow::Result<Vec<(ProductId, Quantity)>> {
        let query =
            Query::partition(keys::user_partition(user)).prefix(keys::CART_LINE_PREFIX).limit(MAX_LINES as usize + 1);
        let page = self.table.query(&query).await?;
        let mut lines: Vec<LineRecord> = page.items.iter().map(Item::decode).collect::<anyhow::Result<_>>()?;
        lines.sort_by_key(|l| l.added_at);
        Ok(lines.into_iter().map(|l| (l.product_id, l.quantity)).collect())
    }

    /// Sets a line's quantity, adding the line if it is new.
    pub async fn set(&self, user: &UserId, product: &ProductId, quantity: Quantity) -> Result<()> {
        let key = keys::cart_line(user, product);
        let update = Update::default().set("quantity", i64::from(quantity));
        match self.table.write(Write::update(key.clone(), update).when(Condition::Exists)).await {
            Ok(()) => return Ok(()),
            Err(WriteError::ConditionFailed { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let line = LineRecord { product_id: *product, quantity, added_at: Timestamp::now() };
        let writes = vec![
            Write::create(Item::new(&key, &line)),
            Write::update(keys::cart(user), Update::default().add("lines", 1))
                .when(Condition::Under("lines".into(), MAX_LINES)),
        ];
        match self.table.transact(writes).await {
            Ok(()) => Ok(()),
            // Added meanwhile by another request: set its quantity instead.
            Err(WriteError::ConditionFailed { index: Some(0) }) => {
                let update = Update::default().set("quantity", i64::from(quantity));
                Ok(self.table.write(Write::update(key, update).when(Condition::Exists)).await?)
            }
            Err(WriteError::ConditionFailed { .. }) => Err(CartError::Full),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a line; answers whether there was one.
    pub async fn remove(&self, user: &UserId, product: &ProductId) -> Result<bool> {
        let writes = vec![
            Write::delete(keys::cart_line(user, product)).when(Condition::Exists),
            Write::update(keys::cart(user), Update::default().add("lines", -1)),
        ];
        match self.table.transact(writes).await {
            Ok(()) => Ok(true),
            Err(WriteError::ConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The writes that take these lines out of the cart (for checkout's transaction too). Each
    /// line must still be there, and the header's count goes down by as many, so a line added
    /// meanwhile keeps its place in the count.
    pub fn clearing(user: &UserId, products: &[ProductId]) -> Vec<Write> {
        let mut writes: Vec<Write> =
            products.iter().map(|p| Write::delete(keys::cart_line(user, p)).when(Condition::Exists)).collect();
        writes.push(Write::update(keys::cart(user), Update::default().add("lines", -(products.len() as i64))));
        writes
    }

    /// Empties the cart.
    pub async fn clear(&self, user: &UserId) -> Result<()> {
        retrying(
            || CartError::Contention,
            move || async move {
                let products: Vec<ProductId> = self.lines(user).await?.into_iter().map(|(p, _)| p).collect();
                if products.is_empty() {
                    return Ok(Some(()));
                }
                // A line went meanwhile: read the cart again.
                Ok(committed(self.table.transact(Self::clearing(user, &products)).await)?.then_some(()))
            },
        )
        .await
    }

    /// The cart priced from the catalogue as it is now.
    pub async fn view(&self, user: &UserId) -> Result<CartView> {
        let lines = self.lines(user).await?;
        let keys: Vec<Key> = lines.iter().map(|(p, _)| keys::product(p)).collect();
        let mut products: HashMap<ProductId, Product> = HashMap::new();
        for item in self.table.batch_get(&keys).await? {
            let product: Product = item.decode()?;
            products.insert(product.id, product);
        }
        let currency = lines.iter().find_map(|(p, _)| products.get(p)).map(|p| p.price.currency);
        let mut total = currency.map(|currency| Money { amount: 0, currency });
        let priced: Vec<CartLine> = lines
            .into_iter()
            .map(|(product_id, quantity)| {
                let Some(product) = products.get(&product_id) else {
                    return CartLine {
                        product_id,
                        quantity,
                        name: None,
                        sku: None,
                        unit_price: None,
                        line_total: None,
                        stock: None,
                        problem: Some(LineProblem::Gone),
                    };
                };
                let line_total =
                    Money { amount: product.price.amount * i64::from(quantity), currency: product.price.currency };
                let problem = if !product.active {
                    Some(LineProblem::Inactive)
                } else if Some(product.price.currency) != currency {
                    Some(LineProblem::OtherCurrency)
                } else if product.stock.get() < quantity.get() {
                    Some(LineProblem::ShortOfStock)
                } else {
                    None
                };
                if let (None, Some(total)) = (problem, total.as_mut()) {
                    total.amount += line_total.amount;
                }
                CartLine {
                    product_id,
                    quantity,
                    name: Some(product.name.to_string()),
                    sku: Some(product.sku.to_string()),
                    unit_price: Some(product.price),
                    line_total: Some(line_total),
                    stock: Some(product.stock.get()),
                    problem,
                }
            })
            .collect();
        let ready_for_checkout = !priced.is_empty() && priced.iter().all(|l| l.problem.is_none());
        Ok(CartView { lines: priced, total, ready_for_checkout })
    }
}
