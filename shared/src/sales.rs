//! Units sold per product: the `sales` queue's consumer, for the back office. An order placed
//! adds its quantities, an order cancelled takes them away again; each event counts once.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::ProductId;
use crate::events::{Consumer, DomainEvent, Event, Queue, SALES};
use crate::keys;
use crate::table::{Table, Update, Write};

/// A product's sales so far: units in orders not cancelled, and how many such orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductSales {
    #[serde(default)]
    pub units: i64,
    #[serde(default)]
    pub orders: i64,
}

#[derive(Clone)]
pub struct Sales {
    table: Arc<dyn Table>,
}

impl Sales {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }

    pub async fn of(&self, product: &ProductId) -> anyhow::Result<ProductSales> {
        Ok(match self.table.get(&keys::sales(product)).await? {
            Some(item) => item.decode()?,
            None => ProductSales::default(),
        })
    }
}

#[async_trait]
impl Consumer for Sales {
    fn queue(&self) -> &'static Queue {
        &SALES
    }

    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        let (sign, order) = match &event.event {
            DomainEvent::OrderPlaced(order) => (1, order),
            DomainEvent::OrderCancelled(order) => (-1, order),
            _ => return Ok(()),
        };
        let writes = order
            .lines
            .iter()
            .map(|line| {
                let counts = Update::default().add("units", sign * i64::from(line.quantity.get())).add("orders", sign);
                Write::update(keys::sales(&line.product_id), counts)
            })
            .collect();
        crate::events::once(&*self.table, SALES.name, event, writes).await?;
        Ok(())
    }
}
