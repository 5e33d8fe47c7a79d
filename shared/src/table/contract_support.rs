//! Test helpers shared by the in-crate suites.

use std::sync::Arc;

use super::Table;
use super::sqlite::SqliteTable;

/// A fresh SQLite table in its own temporary file.
pub(crate) async fn sqlite() -> Arc<dyn Table> {
    let dir = std::env::temp_dir().join(format!("shop-test-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    Arc::new(SqliteTable::open(&dir.join("shop.db")).unwrap())
}
