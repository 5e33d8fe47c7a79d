//! The product catalogue: products, their unique SKUs and their categories.
//!
//! A product is one item (`PRODUCT#<id>`), indexed by category and name in GSI1. Its SKU is
//! claimed by a marker item in the same transaction that writes the product, so two products
//! can never share one; a thin `PRODUCTS` row per product makes the whole catalogue one query.
//! Categories keep a product count, updated in those same transactions.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::domain::Product;
use crate::domain::{CategorySlug, Description, ImageUrl, Money, Name, ProductId, Reason, Sku, Stock};
use crate::events::{self, DomainEvent, ProductEvent, StockCause, StockChanged, StockMove};
use crate::keys;
use crate::table::{self, Condition, Item, Query, Table, Update, Write, WriteError, committed, retrying};
use crate::time::Timestamp;
use futures::TryStreamExt;

/// The most images and attributes a product carries.
pub const MAX_IMAGES: usize = 10;
pub const MAX_ATTRIBUTES: usize = 50;

/// Everything about a product its editor chooses (POST and PUT bodies, validated). Stock is
/// not among them: it moves only by sales, cancellations and [`Catalog::adjust_stock`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProductDraft {
    pub sku: Sku,
    pub name: Name,
    pub description: Description,
    pub price: Money,
    pub category: CategorySlug,
    pub images: Vec<ImageUrl>,
    pub attributes: BTreeMap<String, String>,
    pub active: bool,
}

impl From<Product> for ProductDraft {
    /// The editable part of a product, to change some of it and write it back.
    fn from(p: Product) -> Self {
        Self {
            sku: p.sku,
            name: p.name,
            description: p.description,
            price: p.price,
            category: p.category,
            images: p.images,
            attributes: p.attributes,
            active: p.active,
        }
    }
}

/// Why a catalogue change was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("product not found")]
    NotFound,
    #[error("SKU {0} is taken")]
    SkuTaken(Sku),
    /// The product changed since the revision the caller read (`If-Match`).
    #[error("the product has changed since you read it; fetch it again")]
    Stale,
    /// An adjustment would take the stock below zero (or past its maximum).
    #[error("the stock is {stock}; it cannot move by {delta}")]
    StockOutOfRange { stock: u32, delta: i64 },
    /// Lost every race for the product; the caller may retry.
    #[error("the product kept changing meanwhile; retry")]
    Contention,
    /// An edit named a stock other than the product's: stock moves only by adjustments.
    #[error("the stock is {stock}; it moves only through POST /api/products/{{id}}/stock")]
    StockIsNotEdited { stock: u32 },
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl From<WriteError> for CatalogError {
    fn from(e: WriteError) -> Self {
        e.into_domain(Self::Contention)
    }
}

type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// A category and how many products it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Category {
    pub slug: CategorySlug,
    pub product_count: i64,
}

impl Product {
    /// The write that moves the stock by `delta` units if the product is still at the revision
    /// read (and, taking stock, has that many), and the movement its `StockChanged` event
    /// records; `None` when the stock would leave its bounds. Every stock movement is this write.
    pub(crate) fn stock_move(&self, delta: i64, now: Timestamp) -> Option<(Write, StockMove)> {
        let stock = self.stock.moved(delta)?;
        let mut condition = Condition::equals("version", self.version);
        if delta < 0 {
            condition = Condition::And(vec![condition, Condition::AtLeast("stock".into(), -delta)]);
        }
        let update = Update::default()
            .add("stock", delta)
            .add("version", 1)
            .set("updated_at", serde_json::to_value(now).expect("a time serializes"));
        let write = Write::update(keys::product(&self.id), update).when(condition);
        Some((write, StockMove { product_id: self.id, delta, stock: stock.get(), revision: self.version + 1 }))
    }

    /// The product as the catalogue's events tell of it.
    fn as_event(&self) -> ProductEvent {
        ProductEvent { product_id: self.id, revision: self.version, product: Some(self.clone()) }
    }

    fn item(&self) -> Item {
        Item::new(&keys::product(&self.id), self).with_gsi1(&keys::product_in_category(
            &self.category,
            self.name.as_str(),
            &self.id,
        ))
    }
}

/// The writes that move a category's count by `n` (creating the category if new).
fn count(category: &CategorySlug, n: i64) -> Write {
    let index = keys::categories_index(category);
    Write::update(
        keys::category(category),
        Update::default()
            .add("product_count", n)
            .set("slug", category.as_str())
            .set(keys::GSI1PK, index.pk)
            .set(keys::GSI1SK, index.sk),
    )
}

/// The catalogue repository over the table port.
#[derive(Clone)]
pub struct Catalog {
    table: Arc<dyn Table>,
}

impl Catalog {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }

    /// Adds a product with its first `stock`.
    pub async fn create(&self, draft: ProductDraft, stock: Stock) -> Result<Product> {
        let now = Timestamp::now();
        let product = Product {
            id: ProductId::new(),
            sku: draft.sku,
            name: draft.name,
            description: draft.description,
            price: draft.price,
            stock,
            category: draft.category,
            images: draft.images,
            attributes: draft.attributes,
            active: draft.active,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let writes = vec![
            Write::create(product.item()),
            Write::create(Item::marker(&keys::sku(&product.sku)).with("product_id", product.id.to_string())),
            Write::put(Item::marker(&keys::products_all(&product.id)).with("product_id", product.id.to_string())),
            count(&product.category, 1),
            events::record(DomainEvent::ProductCreated(product.as_event())),
        ];
        match self.table.transact(writes).await {
            Ok(()) => Ok(product),
            Err(WriteError::ConditionFailed { .. }) => Err(CatalogError::SkuTaken(product.sku)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get(&self, id: &ProductId) -> Result<Option<Product>> {
        let item = self.table.get(&keys::product(id)).await?;
        Ok(item.map(|i| i.decode()).transpose()?)
    }

    /// The product, if it is at revision `expected` (any revision for `None`).
    async fn current(&self, id: &ProductId, expected: Option<u64>) -> Result<Product> {
        let current = self.get(id).await?.ok_or(CatalogError::NotFound)?;
        if expected.is_some_and(|v| v != current.version) {
            return Err(CatalogError::Stale);
        }
        Ok(current)
    }

    /// Products in id (creation) order, or in one category by name.
    pub async fn list(
        &self,
        category: Option<&CategorySlug>,
        limit: usize,
        after: Option<Value>,
    ) -> Result<(Vec<Product>, Option<Value>)> {
        if let Some(category) = category {
            let page = self
                .table
                .query(&Query::gsi1(keys::category_partition(category)).limit(limit).after(after))
                .await
                .context("listing a category")?;
            let products = page.items.iter().map(Item::decode).collect::<anyhow::Result<_>>()?;
            return Ok((products, page.next));
        }
        let page = self
            .table
            .query(&Query::partition(keys::PRODUCTS_PARTITION).limit(limit).after(after))
            .await
            .context("listing the catalogue")?;
        let products = crate::table::follow(&*self.table, &page.items, "product_id", product_key).await?;
        Ok((products, page.next))
    }

    /// Every product of the catalogue, in its order, a page of up to `size` (at most 100, a
    /// batch read) at a time; a page is read only when the one before it is taken.
    pub fn pages(&self, size: usize) -> impl futures::Stream<Item = anyhow::Result<Vec<Product>>> + Send + '_ {
        let rows = crate::table::items(&*self.table, Query::partition(keys::PRODUCTS_PARTITION).limit(size));
        rows.try_chunks(size).map_err(|e| e.1).and_then(move |rows| async move {
            crate::table::follow(&*self.table, &rows, "product_id", product_key).await
        })
    }

    /// Replaces the editable fields if the product is still at revision `expected` (when
    /// given); the stock stays as it is. `stock`, when given, is what the editor read: it must
    /// still be the stock, never a new one.
    pub async fn update(
        &self,
        id: &ProductId,
        draft: ProductDraft,
        stock: Option<Stock>,
        expected: Option<u64>,
    ) -> Result<Product> {
        let current = self.current(id, expected).await?;
        if stock.is_some_and(|s| s != current.stock) {
            return Err(CatalogError::StockIsNotEdited { stock: current.stock.get() });
        }
        let next = Product {
            sku: draft.sku,
            name: draft.name,
            description: draft.description,
            price: draft.price,
            category: draft.category,
            images: draft.images,
            attributes: draft.attributes,
            active: draft.active,
            updated_at: Timestamp::now(),
            version: current.version + 1,
            ..current.clone()
        };
        let mut writes = vec![
            Write::put(next.item()).when(Condition::equals("version", current.version)),
            events::record(DomainEvent::ProductUpdated(next.as_event())),
        ];
        if next.sku != current.sku {
            writes.push(Write::delete(keys::sku(&current.sku)));
            writes.push(Write::create(Item::marker(&keys::sku(&next.sku)).with("product_id", id.to_string())));
        }
        if next.category != current.category {
            writes.push(count(&current.category, -1));
            writes.push(count(&next.category, 1));
        }
        match self.table.transact(writes).await {
            Ok(()) => Ok(next),
            Err(WriteError::ConditionFailed { index: Some(0) | None }) => Err(CatalogError::Stale),
            Err(WriteError::ConditionFailed { .. }) => Err(CatalogError::SkuTaken(next.sku)),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the product if it is still at revision `expected` (when given).
    pub async fn delete(&self, id: &ProductId, expected: Option<u64>) -> Result<()> {
        let current = self.current(id, expected).await?;
        let deleted = ProductEvent { product_id: *id, revision: current.version + 1, product: None };
        let writes = vec![
            Write::delete(keys::product(id)).when(Condition::equals("version", current.version)),
            Write::delete(keys::sku(&current.sku)),
            Write::delete(keys::products_all(id)),
            count(&current.category, -1),
            events::record(DomainEvent::ProductDeleted(deleted)),
        ];
        match self.table.transact(writes).await {
            Ok(()) => Ok(()),
            Err(WriteError::ConditionFailed { .. }) => Err(CatalogError::Stale),
            Err(e) => Err(e.into()),
        }
    }

    /// Moves the stock by `delta` units (restock, write-off, count correction) atomically,
    /// never below zero, with a `StockChanged` event; answers the product afterwards.
    #[tracing::instrument(skip(self, reason))]
    pub async fn adjust_stock(&self, id: &ProductId, delta: i64, reason: &Reason) -> Result<Product> {
        retrying(
            || CatalogError::Contention,
            move || async move {
                let current = self.get(id).await?.ok_or(CatalogError::NotFound)?;
                let now = Timestamp::now();
                let (write, moved) = current
                    .stock_move(delta, now)
                    .ok_or(CatalogError::StockOutOfRange { stock: current.stock.get(), delta })?;
                let next = Product {
                    stock: Stock::new(moved.stock.into()).expect("moved within bounds"),
                    version: moved.revision,
                    updated_at: now,
                    ..current
                };
                let cause = StockCause::Adjustment { reason: reason.to_string() };
                let writes = vec![
                    write,
                    events::record(DomainEvent::StockChanged(StockChanged { cause, products: vec![moved] })),
                ];
                // Sold or edited meanwhile: read it again.
                Ok(committed(self.table.transact(writes).await)?.then_some(next))
            },
        )
        .await
    }

    /// Categories that hold at least one product, by slug.
    pub async fn categories(&self) -> Result<Vec<Category>> {
        let mut categories = Vec::new();
        let mut items = std::pin::pin!(table::items(&*self.table, Query::gsi1(keys::CATEGORIES_PARTITION).limit(100)));
        while let Some(item) = items.try_next().await.context("listing categories")? {
            let category: Category = item.decode()?;
            if category.product_count > 0 {
                categories.push(category);
            }
        }
        Ok(categories)
    }
}

/// The key of the product a row of the catalogue's list names.
fn product_key(id: &str) -> Option<crate::table::Key> {
    ProductId::parse(id).ok().map(|id| keys::product(&id))
}
