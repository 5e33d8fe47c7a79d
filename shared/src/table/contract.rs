//! The table contract: what every adapter must do, as one suite. [`table_contract!`] turns it
//! into tests for an adapter; `shop-embedded` runs it on SQLite, the cross-service tests on DynamoDB
//! (against a local emulator).
//!
//! Each check uses its own partitions (named from a fresh ULID), so checks can share a table.

use serde_json::json;

use super::{Condition, Item, Key, Query, Table, Update, Write, WriteError};

fn fresh(prefix: &str) -> String {
    format!("{prefix}#{}", ulid::Ulid::new())
}

pub async fn put_get_delete(table: &dyn Table) {
    let key = Key::new(fresh("T"), "A");
    assert_eq!(table.get(&key).await.unwrap(), None);
    let item = Item::new(&key, &json!({"name": "lamp", "stock": 3, "tags": ["a", "b"], "nested": {"x": 1}}));
    table.write(Write::put(item.clone())).await.unwrap();
    assert_eq!(table.get(&key).await.unwrap(), Some(item));
    table.write(Write::delete(key.clone())).await.unwrap();
    assert_eq!(table.get(&key).await.unwrap(), None);
}

pub async fn conditional_writes(table: &dyn Table) {
    let key = Key::new(fresh("T"), "A");
    let item = Item::new(&key, &json!({"version": 1}));
    table.write(Write::create(item.clone())).await.unwrap();
    let again = table.write(Write::create(item.clone())).await;
    assert!(matches!(again, Err(WriteError::ConditionFailed { .. })), "create twice must fail: {again:?}");
    let stale = Write::put(Item::new(&key, &json!({"version": 2}))).when(Condition::equals("version", 7));
    assert!(matches!(table.write(stale).await, Err(WriteError::ConditionFailed { .. })));
    let fresh_put = Write::put(Item::new(&key, &json!({"version": 2}))).when(Condition::equals("version", 1));
    table.write(fresh_put).await.unwrap();
    assert_eq!(table.get(&key).await.unwrap().unwrap().int("version"), Some(2));
    let missing = Write::delete(Key::new(fresh("T"), "A")).when(Condition::Exists);
    assert!(matches!(table.write(missing).await, Err(WriteError::ConditionFailed { .. })));
    let one_of = Write::update(key.clone(), Update::default().set("status", "PAID"))
        .when(Condition::OneOf("version".into(), vec![json!(5), json!(6)]));
    assert!(matches!(table.write(one_of).await, Err(WriteError::ConditionFailed { .. })));
}

pub async fn bounded_counters(table: &dyn Table) {
    let key = Key::new(fresh("T"), "COUNTER");
    let bump = || Write::update(key.clone(), Update::default().add("n", 1)).when(Condition::Under("n".into(), 2));
    table.write(bump()).await.unwrap();
    table.write(bump()).await.unwrap();
    assert!(matches!(table.write(bump()).await, Err(WriteError::ConditionFailed { .. })), "capped at 2");
    assert_eq!(table.get(&key).await.unwrap().unwrap().int("n"), Some(2));
}

pub async fn atomic_counters(table: &dyn Table) {
    let key = Key::new(fresh("T"), "A");
    table.write(Write::put(Item::new(&key, &json!({"stock": 5})))).await.unwrap();
    let after = table
        .update(&key, Update::default().add("stock", -3).set("label", "x"), Some(Condition::AtLeast("stock".into(), 3)))
        .await
        .unwrap();
    assert_eq!(after.int("stock"), Some(2));
    assert_eq!(after.str("label"), Some("x"));
    let short =
        table.update(&key, Update::default().add("stock", -3), Some(Condition::AtLeast("stock".into(), 3))).await;
    assert!(matches!(short, Err(WriteError::ConditionFailed { .. })));
    assert_eq!(table.get(&key).await.unwrap().unwrap().int("stock"), Some(2));
    let removed = table.update(&key, Update::default().remove("label"), Some(Condition::Exists)).await.unwrap();
    assert_eq!(removed.str("label"), None);
}

/// A number inside a list's element moves under a condition on that element (a product's
/// variant's stock), in a write and in a transaction.
pub async fn counters_inside_documents(table: &dyn Table) {
    let key = Key::new(fresh("T"), "PRODUCT");
    let variants = json!([{"id": "a", "stock": 5}, {"id": "b", "stock": 2}]);
    table.write(Write::put(Item::new(&key, &json!({"variants": variants, "stock": 7, "version": 1})))).await.unwrap();
    let take = |index: usize, id: &str, n: i64| {
        let stock = format!("variants[{index}].stock");
        Write::update(key.clone(), Update::default().add(&stock, -n).add("stock", -n).add("version", 1)).when(
            Condition::And(vec![
                Condition::equals(&format!("variants[{index}].id"), id),
                Condition::AtLeast(stock.clone(), n),
            ]),
        )
    };
    table.write(take(1, "b", 2)).await.unwrap();
    let item = table.get(&key).await.unwrap().unwrap();
    assert_eq!(item.at("variants[1].stock"), Some(&json!(0)));
    assert_eq!((item.int("stock"), item.int("version")), (Some(5), Some(2)));
    assert_eq!(item.at("variants[0]"), Some(&json!({"id": "a", "stock": 5})), "the other element is as it was");
    for refused in [take(1, "b", 1), take(0, "b", 1), take(0, "a", 6)] {
        assert!(matches!(table.write(refused).await, Err(WriteError::ConditionFailed { .. })));
    }
    let marker = Key::new(&key.pk, "MARKER");
    table.transact(vec![take(0, "a", 5), Write::create(Item::new(&marker, &json!({})))]).await.unwrap();
    let item = table.get(&key).await.unwrap().unwrap();
    assert_eq!(item.at("variants[0].stock"), Some(&json!(0)));
    assert_eq!((item.int("stock"), item.int("version")), (Some(0), Some(3)));
    assert!(item.at("variants[2].stock").is_none() && item.at("variants.stock").is_none());
}

pub async fn transactions_are_all_or_nothing(table: &dyn Table) {
    let p = fresh("T");
    let (a, b, c) = (Key::new(&p, "A"), Key::new(&p, "B"), Key::new(&p, "C"));
    table.write(Write::put(Item::new(&a, &json!({"stock": 1})))).await.unwrap();
    table.write(Write::put(Item::new(&b, &json!({"n": 1})))).await.unwrap();
    let failing = vec![
        Write::update(a.clone(), Update::default().add("stock", -1)).when(Condition::AtLeast("stock".into(), 1)),
        Write::create(Item::new(&c, &json!({}))),
        Write::Check { key: b.clone(), condition: Condition::equals("n", 2) },
    ];
    match table.transact(failing).await {
        Err(WriteError::ConditionFailed { index }) => assert_eq!(index, Some(2)),
        other => panic!("expected the check to fail the transaction, got {other:?}"),
    }
    assert_eq!(table.get(&a).await.unwrap().unwrap().int("stock"), Some(1), "nothing applied");
    assert_eq!(table.get(&c).await.unwrap(), None);
    let passing = vec![
        Write::update(a.clone(), Update::default().add("stock", -1)).when(Condition::AtLeast("stock".into(), 1)),
        Write::create(Item::new(&c, &json!({}))),
        Write::delete(b.clone()).when(Condition::equals("n", 1)),
    ];
    table.transact(passing).await.unwrap();
    assert_eq!(table.get(&a).await.unwrap().unwrap().int("stock"), Some(0));
    assert!(table.get(&c).await.unwrap().is_some());
    assert_eq!(table.get(&b).await.unwrap(), None);
    let alone = table.transact(vec![Write::create(Item::new(&c, &json!({})))]).await;
    assert!(matches!(alone, Err(WriteError::ConditionFailed { index: Some(0) })), "{alone:?}");
    let twice = table.transact(vec![Write::delete(a.clone()), Write::delete(a.clone())]).await;
    assert!(matches!(twice, Err(WriteError::Other(_))), "one write per item");
}

pub async fn queries_by_partition_prefix_and_range(table: &dyn Table) {
    let p = fresh("Q");
    for sk in ["A#1", "A#2", "A#3", "B#1", "C#1"] {
        table.write(Write::put(Item::new(&Key::new(&p, sk), &json!({"sk": sk})))).await.unwrap();
    }
    let sks = |page: &super::QueryPage| page.items.iter().map(|i| i.key().sk).collect::<Vec<_>>();
    let all = table.query(&Query::partition(&p)).await.unwrap();
    assert_eq!(sks(&all), ["A#1", "A#2", "A#3", "B#1", "C#1"]);
    assert_eq!(all.next, None);
    let prefixed = table.query(&Query::partition(&p).prefix("A#")).await.unwrap();
    assert_eq!(sks(&prefixed), ["A#1", "A#2", "A#3"]);
    let range = table.query(&Query::partition(&p).between("A#2", "B#1")).await.unwrap();
    assert_eq!(sks(&range), ["A#2", "A#3", "B#1"]);
    let newest = table.query(&Query::partition(&p).descending().limit(2)).await.unwrap();
    assert_eq!(sks(&newest), ["C#1", "B#1"]);
    let pages = super::items(table, Query::partition(&p).limit(2));
    let seen: Vec<String> =
        futures::TryStreamExt::try_collect::<Vec<_>>(pages).await.unwrap().iter().map(|i| i.key().sk).collect();
    assert_eq!(seen, ["A#1", "A#2", "A#3", "B#1", "C#1"], "pages of two cover the partition once");
}

pub async fn secondary_index(table: &dyn Table) {
    let g = fresh("G");
    for (i, name) in ["cherry", "apple", "banana"].iter().enumerate() {
        let key = Key::new(fresh("P"), "PRODUCT");
        let item = Item::new(&key, &json!({"name": name})).with_gsi1(&Key::new(&g, format!("{name}#{i}")));
        table.write(Write::put(item)).await.unwrap();
    }
    let names =
        |page: &super::QueryPage| page.items.iter().map(|i| i.str("name").unwrap().to_owned()).collect::<Vec<_>>();
    let first = table.query(&Query::gsi1(&g).limit(2)).await.unwrap();
    assert_eq!(names(&first), ["apple", "banana"]);
    let rest = table.query(&Query::gsi1(&g).limit(2).after(first.next)).await.unwrap();
    assert_eq!(names(&rest), ["cherry"]);
    let by_prefix = table.query(&Query::gsi1(&g).prefix("ban")).await.unwrap();
    assert_eq!(names(&by_prefix), ["banana"]);
}

pub async fn batch_get_returns_what_exists(table: &dyn Table) {
    let p = fresh("B");
    let keys: Vec<Key> = (0..130).map(|i| Key::new(&p, format!("{i:03}"))).collect();
    for key in keys.iter().step_by(2) {
        table.write(Write::put(Item::new(key, &json!({"n": 1})))).await.unwrap();
    }
    let mut found: Vec<String> = table.batch_get(&keys).await.unwrap().into_iter().map(|i| i.key().sk).collect();
    found.sort();
    let expected: Vec<String> = keys.iter().step_by(2).map(|k| k.sk.clone()).collect();
    assert_eq!(found, expected);
}

pub async fn expired_items_are_invisible(table: &dyn Table) {
    let p = fresh("E");
    let past = crate::time::epoch_now() - 10;
    let future = past + 3600;
    let gone = Key::new(&p, "GONE");
    let kept = Key::new(&p, "KEPT");
    table.write(Write::put(Item::new(&gone, &json!({})).expiring_at(past))).await.unwrap();
    table.write(Write::put(Item::new(&kept, &json!({})).expiring_at(future))).await.unwrap();
    assert_eq!(table.get(&gone).await.unwrap(), None);
    assert!(table.get(&kept).await.unwrap().is_some());
    let page = table.query(&Query::partition(&p)).await.unwrap();
    assert_eq!(page.items.len(), 1);
    // An expired item does not hold its key: creating over it succeeds.
    table.write(Write::create(Item::new(&gone, &json!({"again": true})))).await.unwrap();
    assert!(table.get(&gone).await.unwrap().is_some());
}

pub async fn records_read_as_items_decode(table: &dyn Table) {
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Lamp {
        name: String,
        stock: i64,
        tags: Vec<String>,
    }
    let p = fresh("R");
    let (key, expired, absent) = (Key::new(&p, "LAMP"), Key::new(&p, "GONE"), Key::new(&p, "NONE"));
    let lamp = json!({"name": "lamp", "stock": 3, "tags": ["a", "b"]});
    table.write(Write::put(Item::new(&key, &lamp))).await.unwrap();
    table.write(Write::put(Item::new(&expired, &lamp).expiring_at(crate::time::epoch_now() - 10))).await.unwrap();
    let read: Option<Lamp> = table.record(&key).await.unwrap();
    assert_eq!(read, Some(Lamp { name: "lamp".into(), stock: 3, tags: vec!["a".into(), "b".into()] }));
    assert_eq!(read, Some(table.get(&key).await.unwrap().unwrap().decode().unwrap()), "as `get` then `decode`");
    assert_eq!(table.record::<Lamp>(&expired).await.unwrap(), None);
    assert_eq!(table.record::<Lamp>(&absent).await.unwrap(), None);
    let wrong = table.record::<Vec<String>>(&key).await;
    assert!(wrong.is_err_and(|e| e.to_string().contains("decoding item")), "a record of the wrong shape is an error");
}

pub async fn concurrent_decrements_never_oversell(table: std::sync::Arc<dyn Table>) {
    let key = Key::new(fresh("S"), "PRODUCT");
    table.write(Write::put(Item::new(&key, &json!({"stock": 10})))).await.unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (table, key) = (table.clone(), key.clone());
            tokio::spawn(async move {
                loop {
                    let write = Write::update(key.clone(), Update::default().add("stock", -1))
                        .when(Condition::AtLeast("stock".into(), 1));
                    match table.transact(vec![write]).await {
                        Ok(()) => return true,
                        Err(WriteError::ConditionFailed { .. }) => return false,
                        Err(WriteError::Conflict) => continue,
                        Err(other) => panic!("{other}"),
                    }
                }
            })
        })
        .collect();
    let mut sold = 0;
    for task in tasks {
        sold += task.await.unwrap() as i32;
    }
    assert_eq!(sold, 10);
    assert_eq!(table.get(&key).await.unwrap().unwrap().int("stock"), Some(0));
}

/// Generates one `#[tokio::test]` per contract check for the adapter `$make` builds
/// (an expression of type `Arc<dyn Table>`, evaluated once per test).
#[macro_export]
macro_rules! table_contract {
    ($make:expr) => {
        $crate::table_contract!(@tests $make;
            put_get_delete, conditional_writes, atomic_counters, bounded_counters, counters_inside_documents,
            transactions_are_all_or_nothing,
            queries_by_partition_prefix_and_range, secondary_index, batch_get_returns_what_exists,
            expired_items_are_invisible, records_read_as_items_decode);
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_decrements_never_oversell() {
            let table: std::sync::Arc<dyn $crate::table::Table> = $make.await;
            $crate::table::contract::concurrent_decrements_never_oversell(table).await;
        }
    };
    (@tests $make:expr; $($check:ident),*) => {
        $(
            #[tokio::test]
            async fn $check() {
                let table: std::sync::Arc<dyn $crate::table::Table> = $make.await;
                $crate::table::contract::$check(&*table).await;
            }
        )*
    };
}
