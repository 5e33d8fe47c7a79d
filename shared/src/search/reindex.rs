//! Rebuilding an index from the catalogue while the shop keeps changing.

use std::collections::HashSet;

use crate::catalog::Catalog;
use crate::domain::Product;

use super::index::{Change, GONE, SearchIndex};

/// Rebuilds `index` from the catalogue, calling `progress(done)` as products are read; answers
/// how many products it holds. A change made while it runs is in the result: after the swap the
/// catalogue is read again into the live index (the revision rule keeps newer events), and what
/// left the catalogue meanwhile is removed.
pub async fn reindex(catalog: &Catalog, index: &dyn SearchIndex, progress: &dyn Fn(usize)) -> anyhow::Result<usize> {
    let mut rebuild = index.rebuild().await?;
    let mut first = HashSet::new();
    for_each_page(catalog, async |products| {
        let active: Vec<Product> = products.into_iter().filter(|p| p.active).collect();
        first.extend(active.iter().map(|p| p.id));
        rebuild.add(&active).await?;
        progress(first.len());
        Ok(())
    })
    .await?;
    rebuild.swap().await?;
    let mut seen = HashSet::new();
    for_each_page(catalog, async |products| {
        seen.extend(products.iter().map(|p| p.id));
        let changes: Vec<Change> = products.into_iter().map(|p| Change::of(p.id, Some(p), 0)).collect();
        index.apply(&changes).await
    })
    .await?;
    let gone: Vec<Change> = first.difference(&seen).map(|&id| Change::Remove { id, revision: GONE }).collect();
    index.apply(&gone).await?;
    Ok(seen.len())
}

/// Hands every page of the catalogue, in order, to `each`.
async fn for_each_page(
    catalog: &Catalog,
    mut each: impl AsyncFnMut(Vec<Product>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use futures::TryStreamExt;
    let mut pages = std::pin::pin!(catalog.pages(100));
    while let Some(products) = pages.try_next().await? {
        each(products).await?;
    }
    Ok(())
}
