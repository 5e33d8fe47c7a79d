//! The core's integrity rules at the repositories, on the embedded table, with another request
//! or DynamoDB stepping in between a read and its transaction ([`Interfering`]).

use std::sync::Arc;

use shop::cart::Line;
use shop::catalog::{Catalog, CatalogError, ProductDraft, SoleDraft};
use shop::domain::{Money, OrderStatus, ProductId, Quantity, Reason, UserId};
use shop::events::{DomainEvent, EventKind, ProductEvent, Published, StockCause, StockChanged};
use shop::keys;
use shop::orders::{CancelReason, CheckoutRequest, Expired, Order, OrderError, Orders, PaidMeanwhile, Transition};
use shop::table::{ATTEMPTS, ChangeFeed, Table, Update, Write};
use shop_embedded::sqlite::SqliteTable;
use shop_tests::{Interfering, draft, shipping_address, stock};

struct World {
    sqlite: Arc<SqliteTable>,
    table: Arc<Interfering>,
    catalog: Catalog,
    orders: Orders,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    let dir = shop_tests::temp_dir("integrity");
    let sqlite = Arc::new(SqliteTable::open(&dir.path().join("shop.db")).unwrap());
    let table = Arc::new(Interfering::new(sqlite.clone()));
    let port: Arc<dyn Table> = table.clone();
    World { sqlite, catalog: Catalog::new(port.clone()), orders: Orders::new(port), table, _dir: dir }
}

impl World {
    async fn product(&self, units: i64) -> ProductId {
        let sku = format!("LAMP-{}", ulid::Ulid::new());
        draft(&sku, "Lamp", "lighting", 1500).create(&self.catalog, stock(units)).await.id
    }

    fn buy(&self, user: &UserId, product: ProductId, quantity: i64) -> CheckoutRequest {
        CheckoutRequest {
            guest_email: None,
            user: user.clone(),
            items: Some(vec![shop::orders::Wanted::of(product, Quantity::new(quantity).unwrap())]),
            ship_to: shipping_address().into(),
            shipping_option: None,
            promotion_code: None,
            idempotency: None,
        }
    }

    /// Every event the table's change stream published so far, of one kind.
    async fn events(&self, kind: EventKind) -> Vec<DomainEvent> {
        let changes = self.sqlite.changes_after(0, 10_000).await.unwrap();
        changes
            .iter()
            .filter_map(|c| Published::by(c.old.as_ref(), c.new.as_ref()))
            .filter(|e| e.kind == kind)
            .map(|e| e.open().unwrap().event)
            .collect()
    }

    /// The catalogue's events of one kind, with what they carry.
    async fn product_events(&self, kind: EventKind) -> Vec<ProductEvent> {
        let events = self.events(kind).await.into_iter();
        events
            .map(|event| match event {
                DomainEvent::ProductCreated(e) | DomainEvent::ProductUpdated(e) | DomainEvent::ProductDeleted(e) => e,
                other => panic!("not a product event: {other:?}"),
            })
            .collect()
    }

    async fn revision_and_stock(&self, id: &ProductId) -> (u64, u64) {
        let product = self.catalog.get(id).await.unwrap().unwrap();
        (product.version, product.stock)
    }
}

#[tokio::test]
async fn every_stock_movement_moves_the_revision_and_tells_of_it() {
    let w = world();
    let lamp = w.product(10).await;
    let buyer = UserId::random();
    let order = w.orders.checkout(w.buy(&buyer, lamp, 3)).await.unwrap().order;
    assert_eq!(w.revision_and_stock(&lamp).await, (2, 7));
    let restock = Reason::parse("restock").unwrap();
    let adjusted = w.catalog.adjust_stock(&lamp, None, 5, &restock).await.unwrap();
    assert_eq!((adjusted.version, adjusted.stock), (3, 12));
    w.orders.transition(&order.id, Transition::Cancel(CancelReason::Shopper), buyer.as_str()).await.unwrap();
    assert_eq!(w.revision_and_stock(&lamp).await, (4, 15));

    // Below zero is refused and changes nothing.
    let error = w.catalog.adjust_stock(&lamp, None, -16, &restock).await.unwrap_err();
    assert!(matches!(error, CatalogError::StockOutOfRange { stock: 15, delta: -16 }), "{error:?}");
    assert_eq!(w.revision_and_stock(&lamp).await, (4, 15));

    let moved: Vec<StockChanged> = w
        .events(EventKind::StockChanged)
        .await
        .into_iter()
        .filter_map(|e| if let DomainEvent::StockChanged(moved) = e { Some(moved) } else { None })
        .collect();
    let summary: Vec<(i64, Option<u32>, Option<u64>)> =
        moved.iter().map(|m| (m.products[0].delta, m.products[0].stock, m.products[0].revision)).collect();
    // A checkout takes stock in place and learns neither what is left nor the revision.
    assert_eq!(summary, [(-3, None, None), (5, Some(12), Some(3)), (3, Some(15), Some(4))]);
    assert_eq!(moved[0].cause, StockCause::Checkout { order_id: order.id });
    assert_eq!(moved[1].cause, StockCause::Adjustment { reason: "restock".into() });
    assert_eq!(moved[2].cause, StockCause::Cancellation { order_id: order.id });
    let created = w.product_events(EventKind::ProductCreated).await.remove(0);
    assert_eq!((created.product_id, created.revision), (lamp, 1));
    assert_eq!(created.product.unwrap().stock, 10);
}

#[tokio::test]
async fn an_edit_read_before_a_sale_cannot_give_the_sold_units_back() {
    let w = world();
    let lamp = w.product(10).await;
    let read = w.catalog.get(&lamp).await.unwrap().unwrap();
    w.orders.checkout(w.buy(&UserId::random(), lamp, 2)).await.unwrap();
    let edit = ProductDraft::from(read.clone());
    let only = &read.variants[0];
    let sole = |stock| SoleDraft {
        sku: only.sku.clone(),
        price: Money::price(1700, only.price.currency).unwrap(),
        weight_grams: None,
        tax_class: None,
        stock,
    };
    let stale = w.catalog.update(&lamp, edit.clone(), None, Some(sole(None)), Some(read.version)).await.unwrap_err();
    assert!(matches!(stale, CatalogError::Stale), "{stale:?}");
    // The stock the form read before the sale is not the stock any more: refused.
    let blind = w.catalog.update(&lamp, edit.clone(), None, Some(sole(Some(only.stock))), None).await.unwrap_err();
    assert!(matches!(blind, CatalogError::StockIsNotEdited { stock: 8 }), "{blind:?}");
    let updated = w.catalog.update(&lamp, edit, None, Some(sole(None)), Some(read.version + 1)).await.unwrap();
    assert_eq!((updated.stock, updated.version, updated.price.amount), (8, 3, 1700));
    let event = w.product_events(EventKind::ProductUpdated).await.remove(0);
    assert_eq!(event.revision, 3);

    let deleted = w.catalog.delete(&lamp, Some(3)).await;
    assert!(deleted.is_ok(), "{deleted:?}");
    let gone = w.product_events(EventKind::ProductDeleted).await.remove(0);
    assert_eq!((gone.revision, gone.product), (4, None), "a deletion outranks every earlier revision");
}

#[tokio::test]
async fn checkout_reads_again_when_a_product_changed_after_its_read() {
    let w = world();
    let lamp = w.product(10).await;
    // The price changes between checkout's read and its transaction.
    let mut variants = w.catalog.get(&lamp).await.unwrap().unwrap().variants;
    variants[0].price.amount = 2000;
    let repricing = Update::default().set("variants", serde_json::to_value(variants).unwrap()).add("version", 1);
    w.table.before_next_transaction(vec![Write::update(keys::product(&lamp), repricing)]);
    let order = w.orders.checkout(w.buy(&UserId::random(), lamp, 2)).await.unwrap().order;
    assert_eq!(order.total.amount, 4000, "the price charged is the price read");
    assert_eq!(w.table.transactions.load(std::sync::atomic::Ordering::SeqCst), 3, "product, refused, retried");
    assert_eq!(w.revision_and_stock(&lamp).await, (3, 8));
}

#[tokio::test]
async fn checkout_and_cancel_retry_a_transaction_conflict() {
    let w = world();
    let lamp = w.product(10).await;
    let buyer = UserId::random();
    w.table.conflict_next(2);
    let order = w.orders.checkout(w.buy(&buyer, lamp, 1)).await.unwrap().order;
    assert_eq!(w.revision_and_stock(&lamp).await, (2, 9));
    w.table.conflict_next(1);
    w.orders.transition(&order.id, Transition::Cancel(CancelReason::Shopper), buyer.as_str()).await.unwrap();
    assert_eq!(w.revision_and_stock(&lamp).await, (3, 10));
    assert_eq!(w.events(EventKind::OrderPlaced).await.len(), 1, "one order for all the tries");

    w.table.conflict_next(usize::MAX);
    let error = w.orders.checkout(w.buy(&buyer, lamp, 1)).await.unwrap_err();
    assert!(matches!(error, OrderError::Contention), "{error:?}");
    w.table.conflict_next(0);
}

#[tokio::test]
async fn a_line_added_during_checkout_keeps_its_place_in_the_cart_count() {
    let w = world();
    let (lamp, chair) = (w.product(5).await, w.product(5).await);
    let buyer = UserId::random();
    let carts = shop::cart::Carts::new(w.table.clone());
    let one = Quantity::new(1).unwrap();
    let variant = w.catalog.get(&lamp).await.unwrap().unwrap().variants[0].id;
    carts.set(&buyer, Line { product: lamp, variant, quantity: one }).await.unwrap();
    // The shopper adds a chair in another tab while the checkout is on its way (a line as
    // written before variants, naming the product alone, which names its one variant).
    let line = serde_json::json!({"product_id": chair, "quantity": 1, "added_at": shop::time::Timestamp::now()});
    w.table.before_next_transaction(vec![
        Write::create(shop::table::Item::new(&keys::cart_line(&buyer, &chair.into()), &line)),
        Write::update(keys::cart(&buyer), Update::default().add("lines", 1)),
    ]);
    let request = CheckoutRequest { items: None, ..w.buy(&buyer, lamp, 1) };
    let order = w.orders.checkout(request).await.unwrap().order;
    assert_eq!(order.lines.len(), 1);
    let left = carts.lines(&buyer).await.unwrap();
    assert_eq!(left, [Line { product: chair, variant: chair.into(), quantity: one }]);
    let header = w.sqlite.get(&keys::cart(&buyer)).await.unwrap().expect("the cart's header");
    assert_eq!(header.int("lines"), Some(1), "the count still holds the chair");
}

#[tokio::test]
async fn a_replay_answers_the_first_answer_whatever_happened_since() {
    let w = world();
    let lamp = w.product(5).await;
    let buyer = UserId::random();
    let keyed = || CheckoutRequest { idempotency: Some(("key-1".into(), "fp".into())), ..w.buy(&buyer, lamp, 1) };
    let first = w.orders.checkout(keyed()).await.unwrap();
    assert!(!first.replayed);
    w.orders.transition(&first.order.id, Transition::Cancel(CancelReason::Shopper), buyer.as_str()).await.unwrap();
    let again = w.orders.checkout(keyed()).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.order, first.order, "the order as first answered, not as it is now");
    let other = CheckoutRequest { idempotency: Some(("key-1".into(), "other".into())), ..w.buy(&buyer, lamp, 2) };
    assert!(matches!(w.orders.checkout(other).await.unwrap_err(), OrderError::KeyReused));
}

/// Never paid: the provider is not asked.
struct NeverPaid;

#[async_trait::async_trait]
impl PaidMeanwhile for NeverPaid {
    async fn paid_meanwhile(&self, _: &Order) -> Result<bool, OrderError> {
        Ok(false)
    }
}

#[tokio::test]
async fn an_order_that_cannot_expire_waits_for_the_next_run_and_the_newer_ones_expire() {
    let w = world();
    let lamp = w.product(20).await;
    let mut placed = Vec::new();
    for _ in 0..11 {
        placed.push(w.orders.checkout(w.buy(&UserId::random(), lamp, 1)).await.unwrap().order.id);
    }
    let cutoff = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    // The oldest order loses every race for its items in this run.
    w.table.conflict_next(ATTEMPTS);
    let run = w.orders.expire(cutoff, cutoff, &NeverPaid).await.unwrap();
    assert_eq!(run, Expired { looked_at: 11, cancelled: 10, failed: 1 });
    let status = async |id| w.orders.get(id).await.unwrap().unwrap().status;
    assert_eq!(status(&placed[0]).await, OrderStatus::PendingPayment);
    for id in &placed[1..] {
        assert_eq!(status(id).await, OrderStatus::Cancelled);
    }
    assert_eq!(w.revision_and_stock(&lamp).await.1, 19);

    let next = w.orders.expire(cutoff, cutoff, &NeverPaid).await.unwrap();
    assert_eq!(next, Expired { looked_at: 1, cancelled: 1, failed: 0 });
    assert_eq!(status(&placed[0]).await, OrderStatus::Cancelled);
    assert_eq!(w.revision_and_stock(&lamp).await.1, 20);
}
