//! Units sold per product: the `sales` queue's consumer, for the back office. An order placed
//! adds its quantities, an order cancelled takes them away again; each event counts once.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::ProductId;
use crate::events::{Consumer, Event, EventKind, OrderEvent, Queue, SALES};
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
        let sign = match event.kind {
            EventKind::OrderPlaced => 1,
            EventKind::OrderCancelled => -1,
            _ => return Ok(()),
        };
        let order: OrderEvent = event.decode()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::sqlite::SqliteTable;
    use serde_json::json;

    fn event(id: &str, kind: &str, product: &ProductId, quantity: u32) -> Event {
        let line = json!({
            "product_id": product, "sku": "S-1", "name": "Lamp", "quantity": quantity,
            "unit_price": {"amount": 100, "currency": "EUR"}, "line_total": {"amount": 100 * quantity, "currency": "EUR"},
        });
        serde_json::from_value(json!({
            "event_id": id, "type": kind, "at": "2026-11-25T10:00:00.000Z", "order_id": "01JD0000000000000000000002",
            "user_id": "22222222-2222-4222-8222-222222222222", "status": "PENDING_PAYMENT",
            "total": {"amount": 100 * quantity, "currency": "EUR"}, "lines": [line],
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn each_event_counts_once_and_only_sales_count() {
        let dir = std::env::temp_dir().join(format!("shop-sales-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        let sales = Sales::new(Arc::new(SqliteTable::open(&dir.join("shop.db")).unwrap()));
        let lamp = ProductId::new();
        for e in [event("01A", "OrderPlaced", &lamp, 3), event("01A", "OrderPlaced", &lamp, 3)] {
            sales.handle(&e).await.unwrap();
        }
        sales.handle(&event("01B", "OrderShipped", &lamp, 3)).await.unwrap();
        assert_eq!(sales.of(&lamp).await.unwrap(), ProductSales { units: 3, orders: 1 });
        sales.handle(&event("01C", "OrderCancelled", &lamp, 3)).await.unwrap();
        assert_eq!(sales.of(&lamp).await.unwrap(), ProductSales::default());
    }
}
