//! Changes of what the table holds that a release brings, each run once to its end. A
//! `MIGRATION#<name>` item records each one done; running the list again runs only what is
//! missing, and every migration is safe to run twice (it leaves alone what it already moved).
//!
//! Code reads what a migration moves in both shapes, so a release works before its migration
//! has run: the local stack runs them as it starts, and in AWS `cargo run -- migrate` runs them
//! against the stack's table once the release is deployed (no function of the old release then
//! writes the old shape).

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::keys;
use crate::table::{Item, Table, Write};
use crate::time::Timestamp;

/// Every migration, oldest first.
pub const ALL: &[&str] = &["variants"];

/// Runs the migrations not yet done, in order; answers each one run and how many items it moved.
pub async fn run(table: Arc<dyn Table>) -> anyhow::Result<Vec<(&'static str, usize)>> {
    let mut ran = Vec::new();
    for &name in ALL {
        if table.get(&keys::migration(name)).await?.is_some() {
            continue;
        }
        let moved = match name {
            "variants" => Catalog::new(table.clone()).move_to_variants().await?,
            other => unreachable!("migration {other} is listed but not written"),
        };
        let done = Item::marker(&keys::migration(name))
            .with("finished_at", serde_json::to_value(Timestamp::now())?)
            .with("moved", moved);
        table.write(Write::put(done)).await?;
        tracing::info!(migration = name, moved, "migration done");
        ran.push((name, moved));
    }
    Ok(ran)
}
