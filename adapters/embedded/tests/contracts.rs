//! The contracts and the consumers' rules, run on the embedded adapters.

mod table {
    use std::sync::Arc;

    use serde_json::json;
    use shop::table::{ChangeFeed, Item, Key, Table, Update, Write};
    use shop_embedded::sqlite::SqliteTable;

    pub async fn table() -> Arc<SqliteTable> {
        let dir = std::env::temp_dir().join(format!("shop-table-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        Arc::new(SqliteTable::open(&dir.join("shop.db")).unwrap())
    }

    shop::table_contract!(async { table().await as Arc<dyn Table> });

    #[tokio::test]
    async fn every_write_reaches_the_change_feed_once() {
        let table = table().await;
        let key = Key::new("T#1", "A");
        table.write(Write::put(Item::new(&key, &json!({"n": 1})))).await.unwrap();
        table.write(Write::update(key.clone(), Update::default().add("n", 1))).await.unwrap();
        let failed = table.write(Write::create(Item::new(&key, &json!({})))).await;
        assert!(failed.is_err());
        table.write(Write::delete(key.clone())).await.unwrap();
        let changes = table.changes_after(0, 10).await.unwrap();
        assert_eq!(changes.len(), 3, "the failed write left no change");
        assert!(changes[0].old.is_none() && changes[0].new.as_ref().unwrap().int("n") == Some(1));
        assert_eq!(changes[1].new.as_ref().unwrap().int("n"), Some(2));
        assert!(changes[2].new.is_none() && changes[2].old.is_some());
        let later = table.changes_after(changes[1].sequence, 10).await.unwrap();
        assert_eq!(later.len(), 1);
    }

    /// Writes that arrive together are committed together, each on its own: a refused one
    /// takes back only itself, a transaction half applied when refused leaves nothing, and
    /// every other write of the group lands, with its change.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_committed_together_succeed_or_fail_each_on_its_own() {
        use shop::table::WriteError;
        let table = table().await;
        let contested = Key::new("T#3", "ONE");
        let writes = (0..64).map(|i| {
            let table = table.clone();
            let contested = contested.clone();
            tokio::spawn(async move {
                let own = Write::put(Item::new(&Key::new("T#3", format!("OWN#{i:02}")), &json!({"i": i})));
                let taking = Write::create(Item::new(&contested, &json!({"by": i})));
                // Every other writer does both in one transaction: the creation comes second,
                // so a refusal must take back its first write.
                if i % 2 == 0 { table.transact(vec![own, taking]).await } else { table.write(taking).await }
            })
        });
        let outcomes: Vec<_> = futures::future::join_all(writes).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "one creation wins");
        assert!(outcomes.iter().all(|o| matches!(o, Ok(()) | Err(WriteError::ConditionFailed { .. }))));
        let winner = outcomes.iter().position(Result::is_ok).unwrap();
        assert_eq!(table.get(&contested).await.unwrap().unwrap().int("by"), Some(winner as i64));
        let query = shop::table::Query::partition("T#3").prefix("OWN#");
        let own = table.query(&query).await.unwrap().items;
        let expected: Vec<i64> = (0..64).filter(|i| i % 2 == 0 && *i as usize == winner).collect();
        assert_eq!(
            own.iter().map(|i| i.int("i").unwrap()).collect::<Vec<_>>(),
            expected,
            "refused transactions left nothing"
        );
        let changes = table.changes_after(0, 1000).await.unwrap();
        assert_eq!(changes.len(), 1 + expected.len(), "a change per kept write, none for a refused one");
    }

    #[tokio::test]
    async fn purge_removes_expired_items_through_the_feed() {
        let table = table().await;
        let key = Key::new("T#2", "A");
        let past = shop::time::epoch_now() - 1;
        table.write(Write::put(Item::new(&key, &json!({})).expiring_at(past))).await.unwrap();
        assert_eq!(table.purge_expired().await.unwrap(), 1);
        let changes = table.changes_after(0, 10).await.unwrap();
        assert!(changes.last().unwrap().new.is_none());
    }
}

mod payments {
    use std::sync::Arc;

    use async_trait::async_trait;
    use shop::payments::ProviderPayment;
    use shop::payments::contract::{Shopper, Subject};
    use shop_embedded::payments::{CARD_SUCCEEDS, Simulated};

    /// The simulated provider's shopper: confirms with the card that succeeds.
    struct Card(Arc<Simulated>);

    #[async_trait]
    impl Shopper for Card {
        async fn pay(&self, payment: &ProviderPayment) {
            self.0.confirm(&payment.id, CARD_SUCCEEDS).await.unwrap();
        }
    }

    async fn simulated() -> Subject {
        let simulated = Arc::new(Simulated::new(super::table::table().await, "whsec_contract"));
        Subject { provider: simulated.clone(), shopper: Arc::new(Card(simulated)), unknown_id: "pi_sim_unknown" }
    }

    shop::payment_contract!(simulated());
}

mod mailbox {
    use std::sync::Arc;

    use async_trait::async_trait;
    use shop::notifications::contract::{Outbox, Sender, Sent, Subject};
    use shop_embedded::mailbox::Mailbox;

    #[async_trait]
    impl Outbox for Outboxed {
        async fn sent_to(&self, to: &str) -> Vec<Sent> {
            let all = self.0.all().await.unwrap().into_iter().filter(|d| d.to == to);
            all.map(|d| Sent { id: d.id, to: d.to, words: d.subject.unwrap_or(d.text) }).collect()
        }
    }

    /// The mailbox, read back.
    struct Outboxed(Mailbox);

    async fn mailbox() -> Arc<Mailbox> {
        Arc::new(Mailbox::new(super::table::table().await))
    }

    mod email {
        use super::*;

        shop::sender_contract!(async {
            let mailbox = mailbox().await;
            Subject { sender: Sender::Email(mailbox.clone()), outbox: Arc::new(Outboxed((*mailbox).clone())) }
        });
    }

    mod sms {
        use super::*;

        shop::sender_contract!(async {
            let mailbox = mailbox().await;
            Subject { sender: Sender::Sms(mailbox.clone()), outbox: Arc::new(Outboxed((*mailbox).clone())) }
        });
    }
}

mod identity {
    use std::sync::Arc;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use shop::domain::Email;
    use shop::identity::Identity;
    use shop::identity::contract::{account, claims_of, run};
    use shop::keys;
    use shop::table::{Query, Table};
    use shop_embedded::identity::{EmbeddedConfig, EmbeddedIdentity, SigningKey};

    /// Reads the newest code of `purpose` from the user's outbox.
    pub async fn outbox_code(table: &dyn Table, email: &Email, purpose: &str) -> String {
        let owner = table.get(&keys::email(email)).await.unwrap().unwrap();
        let user = shop::domain::UserId::parse(owner.str("user_id").unwrap()).unwrap();
        let page = table
            .query(&Query::partition(keys::user_partition(&user)).prefix(keys::NOTIFICATION_PREFIX).descending())
            .await
            .unwrap();
        let note = page.items.iter().find(|i| i.str("kind") == Some(purpose)).expect("a code was sent");
        note.str("code").unwrap().to_owned()
    }

    #[tokio::test]
    async fn embedded_identity_honours_the_contract() {
        let table: Arc<dyn Table> = super::table::table().await;
        let config = EmbeddedConfig {
            issuer: "http://localhost/test".into(),
            client_id: "test".into(),
            auto_confirm: false,
            clock: Default::default(),
        };
        let identity = EmbeddedIdentity::new(table.clone(), SigningKey::generate(), config);
        let t = table.clone();
        run(&identity, move |email, purpose| {
            let t = t.clone();
            async move { outbox_code(&*t, &email, purpose).await }
        })
        .await;
    }

    #[tokio::test]
    async fn tokens_verify_and_forgeries_do_not() {
        let table: Arc<dyn Table> = super::table::table().await;
        let config = EmbeddedConfig {
            issuer: "http://localhost/test".into(),
            client_id: "test".into(),
            auto_confirm: true,
            clock: Default::default(),
        };
        let identity = EmbeddedIdentity::new(table.clone(), SigningKey::generate(), config.clone());
        let acc = account("verify");
        identity.sign_up(&acc).await.unwrap();
        let tokens =
            identity.log_in(&acc.email, &acc.password, &shop::identity::Client("192.0.2.1".into())).await.unwrap();
        let verifier = identity.verifier();
        assert!(verifier.verify_id_token(&tokens.id_token).is_ok());
        assert!(verifier.verify_id_token(&tokens.access_token).is_err(), "access tokens are not id tokens");
        // Another key, another issuer, alg none: all refused.
        let other = EmbeddedIdentity::new(table.clone(), SigningKey::generate(), config.clone());
        let other_acc = account("other");
        other.sign_up(&other_acc).await.unwrap();
        let forged = other
            .log_in(&other_acc.email, &other_acc.password, &shop::identity::Client("192.0.2.1".into()))
            .await
            .unwrap();
        assert!(verifier.verify_id_token(&forged.id_token).is_err());
        let parts: Vec<&str> = tokens.id_token.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(verifier.verify_id_token(&format!("{none_header}.{}.", parts[1])).is_err());
        let mut claims = claims_of(&tokens.id_token);
        claims["cognito:groups"] = serde_json::json!(["admin"]);
        let tampered = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        assert!(verifier.verify_id_token(&format!("{}.{tampered}.{}", parts[0], parts[2])).is_err());
    }
}

mod sales {
    use std::sync::Arc;

    use serde_json::json;
    use shop::domain::ProductId;
    use shop::events::{Consumer, Event};
    use shop::sales::{ProductSales, Sales};
    use shop_embedded::sqlite::SqliteTable;

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
        let dir = tempfile::tempdir().unwrap();
        let sales = Sales::new(Arc::new(SqliteTable::open(&dir.path().join("shop.db")).unwrap()));
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
