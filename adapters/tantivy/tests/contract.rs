//! The search contract on tantivy, each check in a fresh folder.

use std::sync::Arc;

use shop::search::SearchIndex;
use shop_tantivy::{Opened, TantivyIndex};

async fn fresh() -> Arc<dyn SearchIndex> {
    let root = std::env::temp_dir().join(format!("shop-search-{}", ulid::Ulid::new()));
    let (index, opened) = TantivyIndex::open(&root).unwrap();
    assert_eq!(opened, Opened::Empty);
    Arc::new(index)
}

shop::search_contract!(fresh());

#[tokio::test]
async fn an_index_survives_a_restart_and_an_unreadable_one_starts_empty() {
    use shop::search::{Change, SearchQuery, contract::product};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("index");
    let lamp = product("Brass lamp", "", "lamps", 4_900, 3);
    {
        let (index, _) = TantivyIndex::open(&root).unwrap();
        index.apply(&[Change::Put(Box::new(lamp.clone()))]).await.unwrap();
        let held = TantivyIndex::open(&root).err().expect("one writer per index");
        assert!(format!("{held:#}").contains("in use by another process"), "{held:#}");
    }
    // Opening waits for the dropped index's writer thread to let go of the folder.
    let (index, opened) = TantivyIndex::open(&root).unwrap();
    assert_eq!(opened, Opened::Existing);
    let found = index.search(&SearchQuery::new("lamp", 0, 10).unwrap()).await.unwrap();
    assert_eq!(found.items.len(), 1);
    index.apply(&[Change::Put(Box::new(lamp.clone()))]).await.unwrap();
    assert_eq!(index.search(&SearchQuery::new("lamp", 0, 10).unwrap()).await.unwrap().total, 1, "no duplicate");
    drop(index);

    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("CURRENT"), "index-missing").unwrap();
    let (_, opened) = TantivyIndex::open(&broken).unwrap();
    assert_eq!(opened, Opened::Empty, "an index that cannot be read is made anew, to be rebuilt");
}
