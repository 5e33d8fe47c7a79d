//! The search service: products by words, filters and facets, and completions as a shopper
//! types. Public: it answers only what the catalogue shows anyone.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;
use shop::domain::CategorySlug;
use shop::http::{PageParams, PageQuery, Query};
use shop::openapi::Shared;
use shop::search::{MAX_SUGGESTIONS, SearchIndex, SearchQuery, SearchResults, Sort, Suggestion};
use shop::{Error, Result};
use utoipa::{IntoParams, OpenApi};

/// How long a search answer may be reused: the index follows the catalogue within seconds.
const MAX_AGE: u32 = 10;

#[derive(Clone)]
pub struct SearchState {
    pub index: Arc<dyn SearchIndex>,
}

#[derive(OpenApi)]
#[openapi(tags((name = "search", description = "Finding products")), components(schemas(Sort)), modifiers(&Shared))]
struct Doc;

shop::service!(public SearchState, Doc, [search, suggest]);

/// What to find and how to narrow it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words to find in names and descriptions: each must match, typos forgiven (one from 4
    /// letters, two from 8), the last also as a prefix. Empty or absent: every product.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Only this category.
    #[param(value_type = Option<CategorySlug>)]
    category: Option<String>,
    /// Lowest price, in minor units, included.
    #[param(minimum = 0, maximum = 1_000_000_000_000_i64)]
    min_price: Option<u64>,
    /// Highest price, in minor units, included.
    #[param(minimum = 0, maximum = 1_000_000_000_000_i64)]
    max_price: Option<u64>,
    /// Only products in stock (`true`) or sold out (`false`).
    in_stock: Option<bool>,
    /// Only products with a variant of these option values: `name:value` pairs,
    /// comma-separated (`Size:M,Size:L,Colour:Blue`: size M or L, and blue).
    #[param(max_length = 1400, example = "Size:M,Colour:Blue")]
    option: Option<String>,
    sort: Option<Sort>,
}

fn bad(e: impl std::fmt::Display) -> Error {
    Error::BadRequest(e.to_string())
}

/// Search the catalogue, by words or by one of the variants' SKUs. `facets` count the results
/// by category, price range, stock and option values, each with the other filters applied;
/// `Link` names the next page.
#[utoipa::path(get, path = "/api/search", tag = "search", params(SearchParams, PageQuery),
    responses((status = 200, body = SearchResults, description = "A page of results; `Link` names the next"),
              (status = 304), (status = 400, body = shop::error::Problem),
              (status = 503, body = shop::error::Problem, description = "`/problems/search-unavailable`: the search \
                engine is down; retry after `Retry-After`")))]
async fn search(
    State(state): State<SearchState>,
    Query(params): Query<SearchParams>,
    page: PageParams,
) -> Result<Response> {
    let offset = match &page.after {
        Some(position) => position["offset"].as_u64().ok_or_else(|| bad("the cursor is not a search's"))? as usize,
        None => 0,
    };
    let mut query = SearchQuery::new(params.q.as_deref().unwrap_or_default(), offset, page.limit)
        .and_then(|q| q.prices(params.min_price, params.max_price))
        .and_then(|q| q.options(params.option.as_deref().unwrap_or_default()))
        .map_err(bad)?;
    query.category =
        params.category.map(|c| CategorySlug::parse(&c).map_err(|e| bad(format!("category {e}")))).transpose()?;
    query.in_stock = params.in_stock;
    query.sort = params.sort.unwrap_or_default();
    let results = state.index.search(&query).await?;
    let next = query.next(results.total).map(|offset| serde_json::json!({ "offset": offset }));
    let mut response = shop::http::public(MAX_AGE, axum::Json(results));
    if let Some(link) = page.link(next).await?.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// What has been typed so far.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// The start of a product's name (the last word may be unfinished).
    #[param(max_length = 200)]
    q: String,
}

/// Up to 10 product names completing what has been typed.
#[utoipa::path(get, path = "/api/search/suggest", tag = "search", params(SuggestParams),
    responses((status = 200, body = [Suggestion]), (status = 304), (status = 400, body = shop::error::Problem),
              (status = 503, body = shop::error::Problem, description = "`/problems/search-unavailable`: the search \
                engine is down; retry after `Retry-After`")))]
async fn suggest(State(state): State<SearchState>, Query(params): Query<SuggestParams>) -> Result<Response> {
    SearchQuery::new(&params.q, 0, MAX_SUGGESTIONS).map_err(bad)?;
    let found = state.index.suggest(&params.q, MAX_SUGGESTIONS).await?;
    Ok(shop::http::public(MAX_AGE, axum::Json(found)))
}
