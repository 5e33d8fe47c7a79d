//! The catalogue import's runner: S3 tells it of each file stored under `imports/` (the
//! products service put it there when the import was asked for), and it applies the file
//! product by product, recording its progress where `GET /api/products/imports/{id}` reads it.
//! A run outlasts the API's 29 seconds (its own timeout is 15 minutes); a notice delivered twice
//! applies nothing twice (rows match by SKU, and the file goes once done).

use std::sync::Arc;

use shop::imports::Imports;
use shop::objects::ObjectStore;
use shop::table::Table;

#[derive(Clone)]
pub struct Runner {
    imports: Imports,
    objects: Arc<dyn ObjectStore>,
}

impl Runner {
    pub fn new(table: Arc<dyn Table>, objects: Arc<dyn ObjectStore>) -> Self {
        Self { imports: Imports::new(table), objects }
    }

    /// Runs the import whose file is stored as `key` (any other key is not this function's).
    pub async fn run(&self, key: &str) -> anyhow::Result<()> {
        if shop::imports::import_of(key).is_none() {
            tracing::warn!(key, "not an import's file: left alone");
            return Ok(());
        }
        let status = self.imports.run_stored(&*self.objects, key).await?;
        tracing::info!(
            import = status.id,
            created = status.products_created,
            updated = status.products_updated,
            refused = status.rows_refused,
            "import done"
        );
        Ok(())
    }
}
