//! Product search: the port every search engine honours, what a search asks and answers, and
//! the indexer that keeps an index in step with the catalogue.
//!
//! The index is a projection of the table. The indexer (the `search` queue's consumer) reads
//! each product an event names from the table, consistently, and puts it at its revision, or
//! removes it when it is gone or inactive; an engine ignores a change older than what it holds
//! for that product. So events may arrive late, twice or out of order: the index ends at the
//! table's state, and never goes back to an older one.
//!
//! | | AWS | embedded (local stack) |
//! |---|---|---|
//! | engine | OpenSearch over HTTPS, signed with SigV4 (`shop-opensearch`) | tantivy in the data folder (`shop-tantivy`) |
//! | revision rule | external versioning by the product's revision | a revision per product kept by the one writer |
//! | rebuild | a new index, swapped in behind an alias | a new folder, swapped in |
//!
//! Matching, the same on both engines: every word of the query must match the name or the
//! description, exactly or within the edits [`edits`] allows, and the last word also as a
//! prefix (the shopper may not have finished typing it). Exact matches score above fuzzy ones,
//! and matches in the name above matches in the description.

pub mod contract;
mod index;
mod indexer;
mod query;
mod reindex;
mod results;

pub use index::{Change, GONE, Rebuild, SearchIndex};
pub use indexer::Indexer;
pub use query::*;
pub use reindex::reindex;
pub use results::{FacetCount, FacetTally, Facets, Highlight, Hit, PriceCount, SearchResults, StockCount, Suggestion};
