//! Product search: the port every search engine honours, what a search asks and answers, and
//! the indexer that keeps an index in step with the catalogue.
//!
//! The index is a projection of the table. The indexer (the `search` queue's consumer) reads
//! each product an event names from the table, consistently, and puts it at its revision, or
//! removes it when it is gone or inactive; an engine ignores a change older than what it holds
//! for that product. So events may arrive late, twice or out of order: the index ends at the
//! table's state, and never goes back to an older one.
//!
//! | | AWS | embedded (local stack) |
//! |---|---|---|
//! | engine | OpenSearch over HTTPS, signed with SigV4 (`shop-opensearch`) | tantivy in the data folder (`shop-tantivy`) |
//! | revision rule | external versioning by the product's revision | a revision per product kept by the one writer |
//! | rebuild | a new index, swapped in behind an alias | a new folder, swapped in |
//!
//! Matching, the same on both engines: every word of the query must match the name or the
//! description, exactly or within the edits [`edits`] allows, and the last word also as a
//! prefix (the shopper may not have finished typing it). Exact matches score above fuzzy ones,
//! and matches in the name above matches in the description.

pub mod contract;

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::domain::{CategorySlug, Money, Product, ProductId};
use crate::events::{Consumer, Event, EventKind, ProductEvent, Queue, SEARCH, StockChanged};
use crate::keys;
use crate::table::Table;

/// The longest query a search takes, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most completions a suggestion answers.
pub const MAX_SUGGESTIONS: usize = 10;
/// How deep a search pages: OpenSearch's default result window.
pub const MAX_DEPTH: usize = 10_000;
/// A revision no product reaches: removes a product that has left the table for good (its id
/// is never used again).
pub const GONE: u64 = 1 << 62;

/// Scores of a word's match, the same on every engine: a match in the name scores above one in
/// the description, an exact match above a fuzzy or prefix one. A word scores its best match
/// in each field, and a result the sum over its words; constants, not term statistics, so
/// engines rank alike.
pub const NAME_EXACT: f32 = 8.0;
pub const NAME_NEAR: f32 = 4.0;
pub const DESCRIPTION_EXACT: f32 = 2.0;
pub const DESCRIPTION_NEAR: f32 = 1.0;

/// The price facet's buckets, in minor units: `[from, to)`, the last one open.
pub const PRICE_BUCKETS: [(u64, Option<u64>); 6] = [
    (0, Some(1_000)),
    (1_000, Some(2_500)),
    (2_500, Some(5_000)),
    (5_000, Some(10_000)),
    (10_000, Some(25_000)),
    (25_000, None),
];

/// The bucket of [`PRICE_BUCKETS`] that `price` falls in.
pub fn price_bucket(price: u64) -> usize {
    PRICE_BUCKETS.iter().position(|(_, to)| to.is_none_or(|to| price < to)).expect("the last bucket is open")
}

/// The words of a query: its runs of letters and digits (how both engines' analysers split
/// text), at most [`MAX_QUERY_CHARS`] characters having been accepted.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

/// How many edits a word may be off by and still match: none under 4 letters, one for 4 to
/// 7, two from 8.
pub fn edits(word: &str) -> u8 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// The order of a search's results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first (newest first among equals, and for an empty query).
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
}

/// A search: words, filters, order and the page wanted. Built by [`SearchQuery::new`], which
/// refuses what no engine should be asked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchQuery {
    /// What the shopper typed (may be empty: everything matches).
    pub text: String,
    pub category: Option<CategorySlug>,
    /// Prices from `min_price` up to and including `max_price`, in minor units.
    pub min_price: Option<u64>,
    pub max_price: Option<u64>,
    pub in_stock: Option<bool>,
    pub sort: Sort,
    /// Results skipped, and how many to answer.
    pub offset: usize,
    pub limit: usize,
}

/// Why a search was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("q is longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("min_price is above max_price")]
    ReversedPrices,
    #[error("prices are at most {}", Money::MAX_AMOUNT)]
    PriceTooHigh,
    #[error("results end at {MAX_DEPTH}: narrow the search instead of paging further")]
    TooDeep,
}

impl SearchQuery {
    /// A search for `text` answering `limit` results after the first `offset` (a page that
    /// would reach past [`MAX_DEPTH`] is cut short there).
    pub fn new(text: &str, offset: usize, limit: usize) -> Result<Self, QueryError> {
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        if offset >= MAX_DEPTH {
            return Err(QueryError::TooDeep);
        }
        let limit = limit.min(MAX_DEPTH - offset);
        Ok(Self { text: text.trim().to_owned(), offset, limit, ..Self::default() })
    }

    /// Where the page after this one starts, if it holds results.
    pub fn next(&self, total: u64) -> Option<usize> {
        let end = self.offset + self.limit;
        (end < MAX_DEPTH && (end as u64) < total).then_some(end)
    }

    pub fn prices(mut self, min: Option<u64>, max: Option<u64>) -> Result<Self, QueryError> {
        if [min, max].into_iter().flatten().any(|p| p > Money::MAX_AMOUNT as u64) {
            return Err(QueryError::PriceTooHigh);
        }
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            return Err(QueryError::ReversedPrices);
        }
        (self.min_price, self.max_price) = (min, max);
        Ok(self)
    }

    /// Whether a product with these values passes each filter: (category, price, stock). Facet
    /// counts apply the other two.
    pub fn passes(&self, category: &str, price: u64, in_stock: bool) -> [bool; 3] {
        [
            self.category.as_ref().is_none_or(|c| c.as_str() == category),
            self.passes_price(price),
            self.passes_stock(in_stock),
        ]
    }

    pub fn passes_price(&self, price: u64) -> bool {
        self.min_price.is_none_or(|min| price >= min) && self.max_price.is_none_or(|max| price <= max)
    }

    pub fn passes_stock(&self, in_stock: bool) -> bool {
        self.in_stock.is_none_or(|wanted| wanted == in_stock)
    }
}

/// One result: the product as the catalogue answers it, and what matched, marked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hit {
    #[serde(flatten)]
    pub product: Product,
    /// Fragments of the name and description with the matched words in `<em>`; the rest of the
    /// text HTML-escaped.
    #[serde(default, skip_serializing_if = "Highlight::is_empty")]
    pub highlight: Highlight,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Highlight {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Highlight {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.description.is_none()
    }
}

/// A facet value and how many results carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// A price range, `[from, to)` in minor units (`to` absent: no upper bound), and its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriceCount {
    pub from: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
    pub count: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StockCount {
    #[serde(rename = "true")]
    pub in_stock: u64,
    #[serde(rename = "false")]
    pub sold_out: u64,
}

/// How the results would split by each filter, each counted with the other filters applied
/// (so choosing a category still shows how many each other category holds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Facets {
    /// Most first, then by name.
    pub category: Vec<FacetCount>,
    /// Every bucket of [`PRICE_BUCKETS`], in order.
    pub price: Vec<PriceCount>,
    pub in_stock: StockCount,
}

/// Facets as an engine counts them: per category (by name, or by an engine's own key for
/// one), per price bucket, in stock or not.
#[derive(Debug, Clone)]
pub struct FacetTally<K = String> {
    pub categories: HashMap<K, u64>,
    pub prices: [u64; PRICE_BUCKETS.len()],
    pub in_stock: StockCount,
}

impl<K> Default for FacetTally<K> {
    fn default() -> Self {
        Self { categories: HashMap::new(), prices: [0; PRICE_BUCKETS.len()], in_stock: StockCount::default() }
    }
}

impl<K: Hash + Eq> FacetTally<K> {
    /// Counts one matching product whose filters passed as [`SearchQuery::passes`] says.
    pub fn count(&mut self, category: K, price: u64, in_stock: bool, [cat, pri, stock]: [bool; 3]) {
        if pri && stock {
            *self.categories.entry(category).or_default() += 1;
        }
        if cat && stock {
            self.prices[price_bucket(price)] += 1;
        }
        if cat && pri {
            let count = if in_stock { &mut self.in_stock.in_stock } else { &mut self.in_stock.sold_out };
            *count += 1;
        }
    }

    /// The tally with its category keys turned into names (merging keys that name one).
    pub fn named(self, mut name: impl FnMut(K) -> String) -> FacetTally {
        let mut categories = HashMap::new();
        for (key, count) in self.categories {
            *categories.entry(name(key)).or_default() += count;
        }
        FacetTally { categories, prices: self.prices, in_stock: self.in_stock }
    }
}

impl FacetTally {
    pub fn merge(&mut self, other: FacetTally) {
        for (name, count) in other.categories {
            *self.categories.entry(name).or_default() += count;
        }
        for (mine, theirs) in self.prices.iter_mut().zip(other.prices) {
            *mine += theirs;
        }
        self.in_stock.in_stock += other.in_stock.in_stock;
        self.in_stock.sold_out += other.in_stock.sold_out;
    }

    pub fn facets(self) -> Facets {
        let mut category: Vec<FacetCount> =
            self.categories.into_iter().map(|(value, count)| FacetCount { value, count }).collect();
        category.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        let price =
            PRICE_BUCKETS.iter().zip(self.prices).map(|(&(from, to), count)| PriceCount { from, to, count }).collect();
        Facets { category, price, in_stock: self.in_stock }
    }
}

/// What a search answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub items: Vec<Hit>,
    /// Every result that matched, past this page too.
    pub total: u64,
    pub facets: Facets,
}

/// A completion of what the shopper has typed so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub text: String,
    pub product_id: ProductId,
}

/// A change to the index.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The product as it is at its revision (`version`).
    Put(Product),
    /// The product is gone, or inactive, as of `revision`.
    Remove { id: ProductId, revision: u64 },
}

impl Change {
    pub fn id(&self) -> ProductId {
        match self {
            Change::Put(p) => p.id,
            Change::Remove { id, .. } => *id,
        }
    }

    pub fn revision(&self) -> u64 {
        match self {
            Change::Put(p) => p.version,
            Change::Remove { revision, .. } => *revision,
        }
    }

    /// What the index should hold for `id` given the table's `product`: it, if active; else
    /// nothing, as of `revision` (the event's, when the product has left the table).
    pub fn of(id: ProductId, product: Option<Product>, revision: u64) -> Self {
        match product {
            Some(p) if p.active => Change::Put(p),
            Some(p) => Change::Remove { id, revision: p.version },
            None => Change::Remove { id, revision },
        }
    }
}

/// The search port: a product index.
#[async_trait]
pub trait SearchIndex: Send + Sync {
    /// Applies the changes, each only if its revision is above the one the index holds for the
    /// product (a put at an equal revision changes nothing; a removal at an equal revision
    /// removes). Searchable when this returns (tantivy; OpenSearch when told to wait), or within
    /// the engine's refresh interval (OpenSearch's indexer: 1 s).
    async fn apply(&self, changes: &[Change]) -> anyhow::Result<()>;

    async fn search(&self, query: &SearchQuery) -> anyhow::Result<SearchResults>;

    /// Up to `limit` products whose names complete `text`, best first.
    async fn suggest(&self, text: &str, limit: usize) -> anyhow::Result<Vec<Suggestion>>;

    /// Starts an empty replacement index; searches keep using the live one until
    /// [`Rebuild::swap`].
    async fn rebuild(&self) -> anyhow::Result<Box<dyn Rebuild + '_>>;
}

/// A replacement index being filled.
#[async_trait]
pub trait Rebuild: Send {
    async fn add(&mut self, products: &[Product]) -> anyhow::Result<()>;

    /// Makes the replacement the live index, in one step.
    async fn swap(self: Box<Self>) -> anyhow::Result<()>;
}

/// Rebuilds `index` from the catalogue, calling `progress(done)` as products are read; answers
/// how many products it holds. A change made while it runs is in the result: after the swap the
/// catalogue is read again into the live index (the revision rule keeps newer events), and what
/// left the catalogue meanwhile is removed.
pub async fn reindex(catalog: &Catalog, index: &dyn SearchIndex, progress: &dyn Fn(usize)) -> anyhow::Result<usize> {
    let mut rebuild = index.rebuild().await?;
    let mut first = HashSet::new();
    for_each_page(catalog, async |products| {
        let active: Vec<Product> = products.into_iter().filter(|p| p.active).collect();
        first.extend(active.iter().map(|p| p.id));
        rebuild.add(&active).await?;
        progress(first.len());
        Ok(())
    })
    .await?;
    rebuild.swap().await?;
    let mut seen = HashSet::new();
    for_each_page(catalog, async |products| {
        seen.extend(products.iter().map(|p| p.id));
        let changes: Vec<Change> = products.into_iter().map(|p| Change::of(p.id, Some(p), 0)).collect();
        index.apply(&changes).await
    })
    .await?;
    let gone: Vec<Change> = first.difference(&seen).map(|&id| Change::Remove { id, revision: GONE }).collect();
    index.apply(&gone).await?;
    Ok(seen.len())
}

/// Hands every page of the catalogue, in order, to `each`.
async fn for_each_page(
    catalog: &Catalog,
    mut each: impl AsyncFnMut(Vec<Product>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut after = None;
    loop {
        let (products, next) = catalog.list(None, 500, after).await?;
        each(products).await?;
        match next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

/// The `search` queue's consumer: puts each product an event names into the index as the
/// table holds it now.
#[derive(Clone)]
pub struct Indexer {
    table: Arc<dyn Table>,
    index: Arc<dyn SearchIndex>,
}

impl Indexer {
    pub fn new(table: Arc<dyn Table>, index: Arc<dyn SearchIndex>) -> Self {
        Self { table, index }
    }

    /// The products an event names, with the revision each reached.
    fn named(event: &Event) -> anyhow::Result<Vec<(ProductId, u64)>> {
        Ok(match event.kind {
            EventKind::ProductCreated | EventKind::ProductUpdated | EventKind::ProductDeleted => {
                let e: ProductEvent = event.decode()?;
                vec![(e.product_id, e.revision)]
            }
            EventKind::StockChanged => {
                let e: StockChanged = event.decode()?;
                e.products.into_iter().map(|m| (m.product_id, m.revision)).collect()
            }
            _ => Vec::new(),
        })
    }
}

#[async_trait]
impl Consumer for Indexer {
    fn queue(&self) -> &'static Queue {
        &SEARCH
    }

    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        let named = Self::named(event)?;
        if named.is_empty() {
            return Ok(());
        }
        let keys: Vec<_> = named.iter().map(|(id, _)| keys::product(id)).collect();
        let items = self.table.batch_get(&keys).await?;
        let mut products: Vec<Product> = items.iter().map(|i| i.decode()).collect::<anyhow::Result<_>>()?;
        let changes: Vec<Change> = named
            .into_iter()
            .map(|(id, revision)| {
                let product = products.iter().position(|p| p.id == id).map(|i| products.swap_remove(i));
                Change::of(id, product, revision)
            })
            .collect();
        self.index.apply(&changes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_grow_with_the_word() {
        assert_eq!(edits("mug"), 0);
        assert_eq!(edits("lamp"), 1);
        assert_eq!(edits("lantern"), 1);
        assert_eq!(edits("notebook"), 2);
        assert_eq!(edits("café"), 1, "letters, not bytes");
    }

    #[test]
    fn words_are_runs_of_letters_and_digits() {
        assert_eq!(words("  Brass-lamp, 60W!").collect::<Vec<_>>(), ["Brass", "lamp", "60W"]);
    }

    #[test]
    fn queries_refuse_what_no_engine_should_be_asked() {
        assert_eq!(SearchQuery::new(&"a".repeat(201), 0, 20), Err(QueryError::TooLong));
        assert!(SearchQuery::new(&"é".repeat(200), 0, 20).is_ok(), "characters, not bytes");
        assert_eq!(SearchQuery::new("", MAX_DEPTH, 1), Err(QueryError::TooDeep));
        assert_eq!(SearchQuery::new("", MAX_DEPTH - 5, 20).unwrap().limit, 5, "cut short at the depth");
        assert_eq!(SearchQuery::new("", 20, 20).unwrap().next(41), Some(40));
        assert_eq!(SearchQuery::new("", 20, 20).unwrap().next(40), None);
        assert_eq!(SearchQuery::new("", 0, 20).unwrap().prices(Some(5), Some(4)), Err(QueryError::ReversedPrices));
        assert!(SearchQuery::new("", 0, 20).unwrap().prices(Some(5), Some(5)).is_ok());
        let too_high = Some(Money::MAX_AMOUNT as u64 + 1);
        assert_eq!(SearchQuery::new("", 0, 20).unwrap().prices(too_high, None), Err(QueryError::PriceTooHigh));
    }

    #[test]
    fn each_facet_counts_with_the_other_filters() {
        let query = SearchQuery {
            category: Some(CategorySlug::parse("lamps").unwrap()),
            in_stock: Some(true),
            ..Default::default()
        };
        let mut tally = FacetTally::default();
        for (category, price, in_stock) in [("lamps", 500, true), ("mugs", 1500, true), ("lamps", 30_000, false)] {
            tally.count(category.to_owned(), price, in_stock, query.passes(category, price, in_stock));
        }
        let facets = tally.facets();
        let categories: Vec<_> = facets.category.iter().map(|f| (f.value.as_str(), f.count)).collect();
        assert_eq!(categories, [("lamps", 1), ("mugs", 1)], "the category filter is not applied to its own facet");
        assert_eq!(facets.price.iter().map(|p| p.count).collect::<Vec<_>>(), [1, 0, 0, 0, 0, 0]);
        assert_eq!(facets.in_stock, StockCount { in_stock: 1, sold_out: 1 });
    }
}
