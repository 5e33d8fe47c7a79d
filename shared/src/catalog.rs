//! The product catalogue: products, their variants, their unique SKUs and their categories.
//!
//! A product is one item (`PRODUCT#<id>`) holding its variants, indexed by category and name in
//! GSI1: the product is the unit of consistency, so a change of it and of its variants' stock is
//! one conditional write on its revision. Each variant's SKU is claimed by a marker item, and
//! each variant's id names its product in another, in the same transaction that writes the
//! product: two variants can never share a SKU, and a cart finds a variant's product by one
//! read. A thin `PRODUCTS` row per product makes the whole catalogue one query. Categories keep a
//! product count, updated in those same transactions.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::domain::MAX_IMAGES;
pub use crate::domain::Product;
use crate::domain::{
    AltText, CategorySlug, Description, Image, ImageId, ImageUrl, Invalid, MAX_VARIANTS, Money, Name, OptionValues,
    ProductId, ProductOption, Reason, Sku, Stock, TaxClass, Variant, VariantId,
};
use crate::events::{self, DomainEvent, ProductEvent, StockCause, StockChanged, StockMove};
use crate::keys;
use crate::table::{self, Condition, Item, Query, Table, Update, Write, WriteError, committed, retrying};
use crate::time::Timestamp;
use futures::TryStreamExt;

/// The most attributes a product carries.
pub const MAX_ATTRIBUTES: usize = 50;

/// Everything about a product its editor chooses but its variants (POST and PUT bodies,
/// validated).
#[derive(Debug, Clone, PartialEq)]
pub struct ProductDraft {
    pub name: Name,
    pub description: Description,
    pub category: CategorySlug,
    pub images: Vec<ImageUrl>,
    pub attributes: BTreeMap<String, String>,
    pub active: bool,
}

impl From<Product> for ProductDraft {
    /// The product's own fields, to change some of them and write them back.
    fn from(p: Product) -> Self {
        Self {
            name: p.name,
            description: p.description,
            category: p.category,
            images: p.images,
            attributes: p.attributes,
            active: p.active,
        }
    }
}

impl ProductDraft {
    /// The product of these fields, with `options` and (one or more) `variants`, as made at
    /// `at`, at its first revision.
    fn product(self, id: ProductId, options: Vec<ProductOption>, variants: Vec<Variant>, at: Timestamp) -> Product {
        let price = variants[0].price;
        let product = Product {
            id,
            name: self.name,
            description: self.description,
            category: self.category,
            images: self.images,
            attributes: self.attributes,
            active: self.active,
            options,
            variants: Vec::new(),
            media: Vec::new(),
            price,
            max_price: price,
            stock: 0,
            created_at: at,
            updated_at: at,
            version: 1,
        };
        product.with_variants(variants)
    }
}

/// Everything about a variant its editor chooses. Stock is not among them: it moves only by
/// sales, cancellations and [`Catalog::adjust_stock`].
#[derive(Debug, Clone, PartialEq)]
pub struct VariantDraft {
    pub sku: Sku,
    pub options: OptionValues,
    pub price: Money,
    pub weight_grams: u32,
    pub tax_class: TaxClass,
    pub images: Vec<ImageUrl>,
}

impl VariantDraft {
    /// A new variant of these fields with its first stock (and `options` with any value it
    /// names that they lacked).
    fn new_variant(self, stock: Stock, options: &mut [ProductOption]) -> Variant {
        let mut variant = Variant {
            id: VariantId::new(),
            sku: self.sku.clone(),
            options: OptionValues::new(),
            price: self.price,
            stock,
            weight_grams: 0,
            tax_class: TaxClass::Standard,
            images: Vec::new(),
        };
        self.apply(&mut variant, options);
        variant
    }

    /// `variant` with these fields, and `options` with any value it names that they lacked.
    fn apply(self, variant: &mut Variant, options: &mut [ProductOption]) {
        for (name, value) in &self.options {
            if let Some(option) = options.iter_mut().find(|o| o.name == *name)
                && !option.values.contains(value)
            {
                option.values.push(value.clone());
            }
        }
        variant.sku = self.sku;
        variant.options = self.options;
        variant.price = self.price;
        variant.weight_grams = self.weight_grams;
        variant.tax_class = self.tax_class;
        variant.images = self.images;
    }
}

/// A product to add: its own fields, its options, and its variants with their first stock.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    pub product: ProductDraft,
    pub options: Vec<ProductOption>,
    pub variants: Vec<(VariantDraft, Stock)>,
}

/// What an import did with a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    Created,
    Updated,
}

/// A product sold as one variant edited as one thing: its variant's SKU and price, its weight
/// (kept when `None`) and the stock its editor read (which must still be the stock).
#[derive(Debug, Clone, PartialEq)]
pub struct SoleDraft {
    pub sku: Sku,
    pub price: Money,
    pub weight_grams: Option<u32>,
    /// Kept when `None`.
    pub tax_class: Option<TaxClass>,
    pub stock: Option<Stock>,
}

/// Why a catalogue change was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("product not found")]
    NotFound,
    #[error("variant not found")]
    VariantNotFound,
    #[error("image not found")]
    ImageNotFound,
    /// A product with several variants was named where one variant is meant.
    #[error("the product has {variants} variants: name one of them")]
    VariantRequired { variants: usize },
    /// The product would be no product (see [`Product::check`]).
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: Invalid },
    #[error("a product keeps at least one variant: delete the product instead")]
    LastVariant,
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
    /// An edit named a stock other than the variant's: stock moves only by adjustments.
    #[error("the stock is {stock}; it moves only through the variant's stock route")]
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
    /// The product after moving its variants' stock by `moves`, the write that makes it so if
    /// the product is still at the revision read, and the movements its `StockChanged` event
    /// records; `None` when a variant is gone or its stock would leave its bounds. Every stock
    /// movement but a checkout's ([`Product::taking_stock`]) is this write.
    pub(crate) fn moving_stock(
        &self,
        moves: &[(VariantId, i64)],
        now: Timestamp,
    ) -> Option<(Product, Write, Vec<StockMove>)> {
        let next = Product { updated_at: now, version: self.version + 1, ..self.stock_moved(moves)? };
        let write = Write::put(next.item()).when(Condition::equals("version", self.version));
        let moved = moves
            .iter()
            .map(|(variant_id, delta)| StockMove {
                product_id: self.id,
                variant_id: *variant_id,
                delta: *delta,
                stock: Some(next.variant(variant_id).expect("moved above").stock.get()),
                revision: Some(next.version),
            })
            .collect();
        Some((next, write, moved))
    }

    /// The write that takes `moves`' units (each a positive quantity of a variant) from the
    /// product's stock as it is when the write commits, however many sales committed since it
    /// was read: each variant's stock is decremented in place, under the condition that the
    /// product is on sale and the variant still at the position read, has the units, and has the
    /// price, tax class and weight the order was priced with; the revision moves by one.
    /// A busy product so takes every concurrent checkout that its stock allows, where a put under
    /// the revision read would take one of them and send the others to read again. The stock
    /// and revision it leaves are not known to the writer (a transaction answers no values), so
    /// its movements carry neither. `None` when a variant is gone or has too few units as read.
    pub(crate) fn taking_stock(&self, moves: &[(VariantId, u32)], now: Timestamp) -> Option<(Write, Vec<StockMove>)> {
        let mut taken: Vec<(usize, u32)> = Vec::new();
        for (id, units) in moves {
            let at = self.variants.iter().position(|v| v.id == *id)?;
            match taken.iter_mut().find(|(i, _)| *i == at) {
                Some((_, sum)) => *sum += units,
                None => taken.push((at, *units)),
            }
        }
        let total: u32 = taken.iter().map(|(_, units)| units).sum();
        let mut update = Update::default()
            .add("stock", -i64::from(total))
            .add("version", 1)
            .set("updated_at", serde_json::json!(now));
        let mut conditions = vec![Condition::equals("active", true)];
        for (at, units) in &taken {
            let variant = &self.variants[*at];
            if variant.stock.get() < *units {
                return None;
            }
            let field = |name: &str| format!("variants[{at}].{name}");
            update = update.add(&field("stock"), -i64::from(*units));
            // The variant at the position read, still sold on the terms the order was priced on.
            let terms = serde_json::json!({"id": variant.id, "price": variant.price, "tax_class": variant.tax_class,
                "weight_grams": variant.weight_grams});
            conditions.push(Condition::equals(&field("id"), terms["id"].clone()));
            conditions.push(Condition::equals(&field("price.amount"), terms["price"]["amount"].clone()));
            conditions.push(Condition::equals(&field("price.currency"), terms["price"]["currency"].clone()));
            conditions.push(Condition::equals(&field("tax_class"), terms["tax_class"].clone()));
            conditions.push(Condition::equals(&field("weight_grams"), terms["weight_grams"].clone()));
            conditions.push(Condition::AtLeast(field("stock"), i64::from(*units)));
        }
        let write = Write::update(keys::product(&self.id), update).when(Condition::And(conditions));
        let moved = taken
            .iter()
            .map(|(at, units)| StockMove {
                product_id: self.id,
                variant_id: self.variants[*at].id,
                delta: -i64::from(*units),
                stock: None,
                revision: None,
            })
            .collect();
        Some((write, moved))
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

    /// The variant `id` names: one of the product's, or, for a product sold as one variant,
    /// the product itself.
    pub fn resolve(&self, id: Option<&VariantId>) -> Result<&Variant> {
        match id {
            Some(id) => self.variant(id).ok_or(CatalogError::VariantNotFound),
            None => self.sole_variant().ok_or(CatalogError::VariantRequired { variants: self.variants.len() }),
        }
    }
}

/// How many of a product's variants a change to the table sold out: those with units before it
/// and none after, whatever moved them (a checkout, a write-off). The change stream tells this
/// exactly where a checkout's own event cannot (it takes stock without learning what is left);
/// the publishers count it into `shop_stock_outs_total`. A product stored before it had
/// variants is one variant holding the product's `stock`.
pub fn sold_out(old: Option<&Item>, new: Option<&Item>) -> usize {
    let (Some(old), Some(new)) = (old, new) else { return 0 };
    if !keys::is_product(&new.key()) {
        return 0;
    }
    let levels = |item: &Item| -> Vec<(Option<serde_json::Value>, i64)> {
        match item.0.get("variants").and_then(serde_json::Value::as_array) {
            Some(variants) => variants
                .iter()
                .map(|v| (v.get("id").cloned(), v.get("stock").and_then(serde_json::Value::as_i64).unwrap_or(0)))
                .collect(),
            None => vec![(None, item.int("stock").unwrap_or(0))],
        }
    };
    let before = levels(old);
    levels(new)
        .iter()
        .filter(|(id, stock)| *stock == 0 && before.iter().any(|(was, units)| was == id && *units > 0))
        .count()
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

/// The marker items that make a product's SKUs unique shop-wide and find a variant's product
/// by the variant's id: those of `before` that `after` no longer has go, those new in `after`
/// come (each failing if taken). Answers the writes and, for each claim, the SKU it claims.
fn markers(id: &ProductId, before: &[Variant], after: &[Variant]) -> (Vec<Write>, Vec<Option<Sku>>) {
    let product = id.to_string();
    let mut writes = Vec::new();
    let mut claims = Vec::new();
    for gone in before.iter().filter(|v| !after.iter().any(|a| a.sku == v.sku)) {
        writes.push(Write::delete(keys::sku(&gone.sku)));
        claims.push(None);
    }
    for new in after.iter().filter(|v| !before.iter().any(|b| b.sku == v.sku)) {
        writes.push(Write::create(Item::marker(&keys::sku(&new.sku)).with("product_id", product.clone())));
        claims.push(Some(new.sku.clone()));
    }
    for gone in before.iter().filter(|v| !after.iter().any(|a| a.id == v.id)) {
        writes.push(Write::delete(keys::variant(&gone.id)));
        claims.push(None);
    }
    for new in after.iter().filter(|v| !before.iter().any(|b| b.id == v.id)) {
        writes.push(Write::create(Item::marker(&keys::variant(&new.id)).with("product_id", product.clone())));
        claims.push(None);
    }
    (writes, claims)
}

/// Where a catalogue change's writes are, to tell which one a failed transaction names.
struct Written {
    writes: Vec<Write>,
    /// From this write on, the markers, with the SKU each claims.
    markers_from: usize,
    claims: Vec<Option<Sku>>,
}

impl Written {
    fn new(mut writes: Vec<Write>, (markers, claims): (Vec<Write>, Vec<Option<Sku>>)) -> Self {
        let markers_from = writes.len();
        writes.extend(markers);
        Self { writes, markers_from, claims }
    }

    /// The SKU a failed write claimed, if it was a SKU claim.
    fn claimed(&self, index: Option<usize>) -> Option<Sku> {
        let i = index?.checked_sub(self.markers_from)?;
        self.claims.get(i).cloned().flatten()
    }
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

    /// Adds a product with its options and its variants, each with its first stock.
    pub async fn create(&self, new: NewProduct) -> Result<Product> {
        let NewProduct { product: draft, options, variants } = new;
        let now = Timestamp::now();
        // A new product's options are as given: a value none of them lists is refused, not added.
        let variants: Vec<Variant> = variants.into_iter().map(|(v, stock)| v.new_variant(stock, &mut [])).collect();
        if variants.is_empty() {
            let reason = Invalid::new(format!("a product has 1 to {MAX_VARIANTS} variants"));
            return Err(CatalogError::Invalid { field: "variants", reason });
        }
        let product = draft.product(ProductId::new(), options, variants, now);
        product.check().map_err(|(field, reason)| CatalogError::Invalid { field, reason })?;
        let id = product.id.to_string();
        let written = Written::new(
            vec![
                Write::create(product.item()),
                Write::put(Item::marker(&keys::products_all(&product.id)).with("product_id", id)),
                count(&product.category, 1),
                events::record(DomainEvent::ProductCreated(product.as_event())),
            ],
            markers(&product.id, &[], &product.variants),
        );
        self.commit(&written).await?;
        Ok(product)
    }

    /// Commits a change's writes, telling a taken SKU and a lost race (its first write, the
    /// product's own, conditioned on the revision read) from a failure.
    async fn commit(&self, written: &Written) -> Result<()> {
        match self.table.transact(written.writes.clone()).await {
            Ok(()) => Ok(()),
            Err(WriteError::ConditionFailed { index }) => Err(match written.claimed(index) {
                Some(sku) => CatalogError::SkuTaken(sku),
                None if index.is_none_or(|i| i < written.markers_from) => CatalogError::Stale,
                // A variant marker: a variant id is new by construction, so someone raced us.
                None => CatalogError::Contention,
            }),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get(&self, id: &ProductId) -> Result<Option<Product>> {
        Ok(self.table.record(&keys::product(id)).await?)
    }

    /// The product and variant an id names: a variant's id, or the id of a product sold as
    /// one variant. `None` when neither exists.
    pub async fn locate(&self, id: &VariantId) -> Result<Option<(Product, VariantId)>> {
        let product = match self.table.get(&keys::variant(id)).await? {
            Some(marker) => marker.str("product_id").and_then(|p| ProductId::parse(p).ok()),
            None => ProductId::parse(&id.to_string()).ok(),
        };
        let Some(product) = product else { return Ok(None) };
        let Some(product) = self.get(&product).await? else { return Ok(None) };
        let variant = match product.variant(id) {
            Some(variant) => variant.id,
            None => product.resolve(None)?.id,
        };
        Ok(Some((product, variant)))
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

    /// Applies `change` to the product if it is still at revision `expected` (when given), in
    /// one transaction with its event, its SKU and variant markers and its category counts.
    /// Stock never moves here.
    async fn edit(
        &self,
        id: &ProductId,
        expected: Option<u64>,
        change: impl FnOnce(Product) -> Result<Product>,
    ) -> Result<Product> {
        let current = self.current(id, expected).await?;
        let changed = change(current.clone())?;
        let next = Product { updated_at: Timestamp::now(), version: current.version + 1, ..changed };
        next.check().map_err(|(field, reason)| CatalogError::Invalid { field, reason })?;
        let mut writes = vec![
            Write::put(next.item()).when(Condition::equals("version", current.version)),
            events::record(DomainEvent::ProductUpdated(next.as_event())),
        ];
        if next.category != current.category {
            writes.push(count(&current.category, -1));
            writes.push(count(&next.category, 1));
        }
        self.commit(&Written::new(writes, markers(id, &current.variants, &next.variants))).await?;
        Ok(next)
    }

    /// Replaces the product's own fields (its options too, when given) and, for a product sold
    /// as one variant, that variant's as `sole` says; other variants stay as they are.
    pub async fn update(
        &self,
        id: &ProductId,
        draft: ProductDraft,
        options: Option<Vec<ProductOption>>,
        sole: Option<SoleDraft>,
        expected: Option<u64>,
    ) -> Result<Product> {
        self.edit(id, expected, |current| {
            let mut variants = current.variants.clone();
            if let Some(sole) = sole {
                current.resolve(None)?;
                let only = &mut variants[0];
                if sole.stock.is_some_and(|s| s != only.stock) {
                    return Err(CatalogError::StockIsNotEdited { stock: only.stock.get() });
                }
                only.sku = sole.sku;
                only.price = sole.price;
                only.weight_grams = sole.weight_grams.unwrap_or(only.weight_grams);
                only.tax_class = sole.tax_class.unwrap_or(only.tax_class);
            }
            let options = options.unwrap_or_else(|| current.options.clone());
            let edited = draft.product(current.id, options, variants, current.created_at);
            Ok(Product {
                version: current.version,
                updated_at: current.updated_at,
                media: current.media.clone(),
                ..edited
            })
        })
        .await
    }

    /// Adds a variant with its first stock; answers the product and the new variant's id.
    pub async fn add_variant(
        &self,
        id: &ProductId,
        draft: VariantDraft,
        stock: Stock,
        expected: Option<u64>,
    ) -> Result<(Product, VariantId)> {
        let mut variant = None;
        let product = self
            .edit(id, expected, |current| {
                let (mut variants, mut options) = (current.variants.clone(), current.options.clone());
                let added = draft.new_variant(stock, &mut options);
                variant = Some(added.id);
                variants.push(added);
                Ok(Product { options, ..current }.with_variants(variants))
            })
            .await?;
        Ok((product, variant.expect("added above")))
    }

    /// Replaces a variant's fields but its stock. `stock`, when given, is what the editor
    /// read: it must still be the variant's stock, never a new one.
    pub async fn update_variant(
        &self,
        id: &ProductId,
        variant: Option<&VariantId>,
        draft: VariantDraft,
        stock: Option<Stock>,
        expected: Option<u64>,
    ) -> Result<Product> {
        self.edit(id, expected, |current| {
            let target = current.resolve(variant)?.id;
            let (mut variants, mut options) = (current.variants.clone(), current.options.clone());
            let edited = variants.iter_mut().find(|v| v.id == target).expect("resolved above");
            if stock.is_some_and(|s| s != edited.stock) {
                return Err(CatalogError::StockIsNotEdited { stock: edited.stock.get() });
            }
            draft.apply(edited, &mut options);
            Ok(Product { options, ..current }.with_variants(variants))
        })
        .await
    }

    /// Removes a variant (never the last: a product is sold as one at least). Its SKU is
    /// free again; carts holding it show the line as gone.
    pub async fn delete_variant(&self, id: &ProductId, variant: &VariantId, expected: Option<u64>) -> Result<Product> {
        self.edit(id, expected, |current| {
            current.resolve(Some(variant))?;
            if current.variants.len() == 1 {
                return Err(CatalogError::LastVariant);
            }
            let variants = current.variants.iter().filter(|v| v.id != *variant).cloned().collect();
            Ok(current.with_variants(variants))
        })
        .await
    }

    /// Removes the product if it is still at revision `expected` (when given); answers it as it
    /// was (its images' files are the caller's to remove).
    pub async fn delete(&self, id: &ProductId, expected: Option<u64>) -> Result<Product> {
        let current = self.current(id, expected).await?;
        let deleted = ProductEvent { product_id: *id, revision: current.version + 1, product: None };
        let written = Written::new(
            vec![
                Write::delete(keys::product(id)).when(Condition::equals("version", current.version)),
                Write::delete(keys::products_all(id)),
                count(&current.category, -1),
                events::record(DomainEvent::ProductDeleted(deleted)),
            ],
            markers(id, &current.variants, &[]),
        );
        self.commit(&written).await?;
        Ok(current)
    }

    /// Moves a variant's stock by `delta` units (restock, write-off, count correction)
    /// atomically, never below zero, with a `StockChanged` event; answers the product
    /// afterwards. `None` names the variant of a product sold as one.
    #[tracing::instrument(skip(self, reason))]
    pub async fn adjust_stock(
        &self,
        id: &ProductId,
        variant: Option<&VariantId>,
        delta: i64,
        reason: &Reason,
    ) -> Result<Product> {
        retrying(
            || CatalogError::Contention,
            move || async move {
                let current = self.get(id).await?.ok_or(CatalogError::NotFound)?;
                let target = current.resolve(variant)?;
                let stock = target.stock.get();
                let (next, write, moved) = current
                    .moving_stock(&[(target.id, delta)], Timestamp::now())
                    .ok_or(CatalogError::StockOutOfRange { stock, delta })?;
                let cause = StockCause::Adjustment { reason: reason.to_string() };
                let writes =
                    vec![write, events::record(DomainEvent::StockChanged(StockChanged { cause, products: moved }))];
                // Sold or edited meanwhile: read it again.
                Ok(committed(self.table.transact(writes).await)?.then_some(next))
            },
        )
        .await
    }

    /// [`Catalog::edit`] of the product as it is now, read again whenever it changed meanwhile:
    /// for a change that builds on no revision its caller read.
    async fn edit_latest(&self, id: &ProductId, change: impl Fn(Product) -> Result<Product>) -> Result<Product> {
        let change = &change;
        retrying(
            || CatalogError::Contention,
            move || async move {
                match self.edit(id, None, change).await {
                    Ok(product) => Ok(Some(product)),
                    // Sold or edited meanwhile: read it again.
                    Err(CatalogError::Stale) => Ok(None),
                    Err(e) => Err(e),
                }
            },
        )
        .await
    }

    /// Attaches an image (made from an upload) after the product's others.
    pub async fn attach_image(&self, id: &ProductId, image: Image) -> Result<Product> {
        self.edit_latest(id, |current| {
            let mut media = current.media.clone();
            media.push(image.clone());
            Ok(Product { media, ..current })
        })
        .await
    }

    /// Puts the product's images in the order `order` names them (every one of them, once).
    pub async fn order_images(&self, id: &ProductId, order: &[ImageId], expected: Option<u64>) -> Result<Product> {
        self.edit(id, expected, |current| {
            let mut media = Vec::new();
            for wanted in order {
                match current.media.iter().find(|i| i.id == *wanted) {
                    Some(image) if !media.contains(image) => media.push(image.clone()),
                    _ => {
                        let reason =
                            Invalid::new(format!("{wanted} is not one of the product's images, or is named twice"));
                        return Err(CatalogError::Invalid { field: "order", reason });
                    }
                }
            }
            if media.len() != current.media.len() {
                let reason = Invalid::new("must name every one of the product's images");
                return Err(CatalogError::Invalid { field: "order", reason });
            }
            Ok(Product { media, ..current })
        })
        .await
    }

    /// Changes an image's alt text and the variant it is shown first for.
    pub async fn edit_image(
        &self,
        id: &ProductId,
        image: &ImageId,
        alt: AltText,
        variant: Option<VariantId>,
        expected: Option<u64>,
    ) -> Result<Product> {
        self.edit(id, expected, |current| {
            let mut media = current.media.clone();
            let edited = media.iter_mut().find(|i| i.id == *image).ok_or(CatalogError::ImageNotFound)?;
            (edited.alt, edited.variant_id) = (alt, variant);
            Ok(Product { media, ..current })
        })
        .await
    }

    /// Takes an image off the product; answers the product and the image (whose files the
    /// caller removes).
    pub async fn remove_image(
        &self,
        id: &ProductId,
        image: &ImageId,
        expected: Option<u64>,
    ) -> Result<(Product, Image)> {
        let mut removed = None;
        let product = self
            .edit(id, expected, |current| {
                let mut media = current.media.clone();
                let at = media.iter().position(|i| i.id == *image).ok_or(CatalogError::ImageNotFound)?;
                removed = Some(media.remove(at));
                Ok(Product { media, ..current })
            })
            .await?;
        Ok((product, removed.expect("removed above")))
    }

    /// Applies an imported product: created when none of its SKUs is taken, or the one product
    /// holding them updated (its own fields and options, its variants matched by SKU, new
    /// variants added with their stock; the stock of the others stays as it is).
    pub async fn import(&self, new: NewProduct) -> Result<Imported> {
        let keys: Vec<crate::table::Key> = new.variants.iter().map(|(v, _)| keys::sku(&v.sku)).collect();
        let mut owners: Vec<ProductId> = Vec::new();
        for marker in self.table.batch_get(&keys).await? {
            if let Some(id) = marker.str("product_id").and_then(|p| ProductId::parse(p).ok())
                && !owners.contains(&id)
            {
                owners.push(id);
            }
        }
        let id = match owners[..] {
            [] => return self.create(new).await.map(|_| Imported::Created),
            [id] => id,
            _ => {
                let reason = Invalid::new(format!("its SKUs belong to {} different products", owners.len()));
                return Err(CatalogError::Invalid { field: "sku", reason });
            }
        };
        self.edit_latest(&id, |current| {
            let (mut variants, mut options) = (current.variants.clone(), current.options.clone());
            for incoming in &new.options {
                if !options.iter().any(|o| o.name == incoming.name) {
                    options.push(ProductOption { name: incoming.name.clone(), values: Vec::new() });
                }
            }
            for (draft, stock) in &new.variants {
                match variants.iter().position(|v| v.sku == draft.sku) {
                    Some(i) => draft.clone().apply(&mut variants[i], &mut options),
                    None => variants.push(draft.clone().new_variant(*stock, &mut options)),
                }
            }
            let edited = new.product.clone().product(current.id, options, variants, current.created_at);
            Ok(Product {
                version: current.version,
                updated_at: current.updated_at,
                media: current.media.clone(),
                ..edited
            })
        })
        .await?;
        Ok(Imported::Updated)
    }

    /// Rewrites every product stored before products had variants (its own SKU, price and
    /// stock) as a product of one variant, whose id is the product's (so the carts and orders
    /// that named the product name that variant), with the marker naming that variant's
    /// product and a `ProductUpdated` event (the search index takes its SKUs from it). Each
    /// product moves in one transaction conditioned on its revision; answers how many moved.
    /// Products already of today's shape are left alone, so running it again changes nothing.
    pub async fn move_to_variants(&self) -> anyhow::Result<usize> {
        let mut moved = 0;
        let mut rows =
            std::pin::pin!(table::items(&*self.table, Query::partition(keys::PRODUCTS_PARTITION).limit(100)));
        while let Some(row) = rows.try_next().await? {
            let Some(key) = row.str("product_id").and_then(product_key) else { continue };
            let one = retrying(
                || anyhow::anyhow!("product {} kept changing while it moved to variants", key.pk),
                || async {
                    let Some(item) = self.table.get(&key).await? else { return Ok(Some(false)) };
                    if item.0.contains_key("variants") {
                        return Ok(Some(false));
                    }
                    let stored: Product = item.decode()?;
                    let next = Product { version: stored.version + 1, updated_at: Timestamp::now(), ..stored.clone() };
                    let writes = vec![
                        Write::put(next.item()).when(Condition::equals("version", stored.version)),
                        events::record(DomainEvent::ProductUpdated(next.as_event())),
                        Write::put(
                            Item::marker(&keys::variant(&next.variants[0].id)).with("product_id", next.id.to_string()),
                        ),
                    ];
                    // Sold or edited meanwhile: read it again.
                    Ok(committed(self.table.transact(writes).await)?.then_some(true))
                },
            )
            .await?;
            moved += usize::from(one);
        }
        Ok(moved)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn product(variants: serde_json::Value) -> Item {
        let key = keys::product(&ProductId::new());
        Item::new(&key, &json!({"variants": variants}))
    }

    #[test]
    fn a_variant_sold_out_is_one_whose_last_units_went() {
        let before = product(json!([{"id": "a", "stock": 2}, {"id": "b", "stock": 0}, {"id": "c", "stock": 1}]));
        let mut after = before.clone();
        after.0.insert(
            "variants".into(),
            json!([{"id": "a", "stock": 0}, {"id": "b", "stock": 0}, {"id": "c", "stock": 1}]),
        );
        assert_eq!(sold_out(Some(&before), Some(&after)), 1, "a went; b had none before");
        assert_eq!(sold_out(Some(&after), Some(&before)), 0, "a restock sells nothing out");
        assert_eq!(sold_out(None, Some(&after)), 0, "a product created without stock");
        assert_eq!(sold_out(Some(&before), None), 0, "a product deleted");
        let legacy = |stock: i64| Item::new(&before.key(), &json!({"stock": stock}));
        assert_eq!(sold_out(Some(&legacy(3)), Some(&legacy(0))), 1, "a product stored before variants");
        let counter = |n: i64| Item::new(&keys::category(&CategorySlug::parse("lamps").unwrap()), &json!({"stock": n}));
        assert_eq!(sold_out(Some(&counter(1)), Some(&counter(0))), 0, "only products");
    }
}
