//! The search port: a product index, the changes it takes and a rebuild swapped in whole.

use async_trait::async_trait;

use crate::domain::{Product, ProductId};

use super::query::SearchQuery;
use super::results::{SearchResults, Suggestion};

/// A revision no product reaches: removes a product that has left the table for good (its id
/// is never used again).
pub const GONE: u64 = 1 << 62;

/// A change to the index.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The product as it is at its revision (`version`).
    Put(Box<Product>),
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
            Some(p) if p.active => Change::Put(Box::new(p)),
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
