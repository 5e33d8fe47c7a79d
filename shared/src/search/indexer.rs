//! The `search` queue's consumer: the index kept in step with the catalogue.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::Product;
use crate::events::{Consumer, Event, Queue, SEARCH};
use crate::keys;
use crate::table::Table;

use super::index::{Change, SearchIndex};

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
}

#[async_trait]
impl Consumer for Indexer {
    fn queue(&self) -> &'static Queue {
        &SEARCH
    }

    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        let named = event.event.products();
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
