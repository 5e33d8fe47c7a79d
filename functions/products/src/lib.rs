//! The catalogue service: products and categories. Reading is public; changing is for admins.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use shop::catalog::{Catalog, Category, MAX_ATTRIBUTES, MAX_IMAGES, Product, ProductDraft};
use shop::domain::{
    CategorySlug, Currency, Description, ImageUrl, Invalid, Money, Name, ProductId, Reason, Sku, Stock,
};
use shop::error::Validation;
use shop::http::caller::Revocations;
use shop::http::{Caller, IfMatch, Json, PageParams, PageQuery, Query, Versioned};
use shop::openapi::Shared;
use shop::sales::{ProductSales, Sales};
use shop::{Error, Result};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// How long a browser or the gateway's cache may keep a catalogue read (seconds). A price or
/// stock level shown may be this old; the cart and checkout always read the table.
const MAX_AGE: u32 = 30;

/// What the catalogue service needs.
#[derive(Clone)]
pub struct ProductsState {
    pub catalog: Catalog,
    pub sales: Sales,
    /// Refuses ended sessions' and erased accounts' tokens (see [`shop::http::caller::Revocations`]).
    pub revocations: Revocations,
}

impl ProductsState {
    pub fn new(table: std::sync::Arc<dyn shop::table::Table>) -> Self {
        Self {
            catalog: Catalog::new(table.clone()),
            sales: Sales::new(table.clone()),
            revocations: Revocations::new(table),
        }
    }
}

#[derive(OpenApi)]
#[openapi(tags((name = "products", description = "The catalogue")), modifiers(&Shared))]
struct Doc;

shop::service!(
    ProductsState,
    Doc,
    [
        list_products,
        create_product,
        get_product,
        product_record,
        update_product,
        delete_product,
        adjust_stock,
        product_sales,
        list_categories
    ]
);

/// A product as an editor sends it (POST creates, PUT replaces). `stock` is the first stock of
/// a new product; afterwards it moves only through `POST /api/products/{id}/stock` and sales.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    #[schema(value_type = Sku)]
    sku: String,
    #[schema(value_type = Name)]
    name: String,
    #[serde(default)]
    #[schema(value_type = Description)]
    description: String,
    price: PriceBody,
    /// Only when creating (default 0).
    #[serde(default)]
    #[schema(value_type = Option<Stock>)]
    #[serde(deserialize_with = "shop::http::json::optional_integer")]
    stock: Option<i64>,
    #[schema(value_type = CategorySlug)]
    category: String,
    #[serde(default)]
    #[schema(value_type = Vec<ImageUrl>, max_items = 10)]
    images: Vec<String>,
    #[serde(default)]
    /// At most 50; names 1 to 64 characters, values at most 500.
    attributes: BTreeMap<String, String>,
    #[serde(default = "active_by_default")]
    active: bool,
}

fn active_by_default() -> bool {
    true
}

/// A price: integer minor units and an ISO 4217 currency.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceBody {
    #[schema(example = 1999)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    #[serde(deserialize_with = "shop::http::json::integer")]
    amount: i64,
    #[schema(value_type = Currency)]
    currency: String,
}

fn attribute(name: &str, value: &str) -> std::result::Result<(String, String), Invalid> {
    let name_ok = (1..=64).contains(&name.chars().count());
    let value_ok = value.chars().count() <= 500;
    if name_ok && value_ok {
        Ok((name.to_owned(), value.to_owned()))
    } else {
        Err(Invalid::new("attribute names are 1 to 64 characters, values at most 500"))
    }
}

impl ProductBody {
    /// The draft and the first stock of a new product.
    fn new_product(self) -> Result<(ProductDraft, Stock)> {
        let mut v = Validation::default();
        let stock = v.field("stock", Stock::new(self.stock.unwrap_or(0)));
        let draft = self.draft(v)?;
        Ok((draft, stock.expect("validated with the draft")))
    }

    /// The draft of a change to an existing product, and the stock its editor read, if sent
    /// back (it must still be the stock: stock moves only through the inventory route).
    fn change(self) -> Result<(ProductDraft, Option<Stock>)> {
        let mut v = Validation::default();
        let stock = v.optional("stock", self.stock, Stock::new);
        let draft = self.draft(v)?;
        Ok((draft, stock.expect("validated with the draft")))
    }

    fn draft(self, mut v: Validation) -> Result<ProductDraft> {
        let body = self;
        let sku = v.field("sku", Sku::parse(&body.sku));
        let name = v.field("name", Name::parse(&body.name));
        let description = v.field("description", Description::parse(&body.description));
        let currency = v.field("price.currency", Currency::parse(&body.price.currency));
        let price = currency.and_then(|c| v.field("price.amount", Money::price(body.price.amount, c)));
        let category = v.field("category", CategorySlug::parse(&body.category));
        let too_many = |n: usize, max: usize| {
            if n > max { Err(Invalid::new(format!("at most {max}"))) } else { Ok(()) }
        };
        v.field("images", too_many(body.images.len(), MAX_IMAGES));
        let images = v.each("images", &body.images, |s| ImageUrl::parse(s));
        v.field("attributes", too_many(body.attributes.len(), MAX_ATTRIBUTES));
        let attributes = v.each("attributes", &body.attributes, |(k, val)| attribute(k, val));
        v.finish(|| {
            Some(ProductDraft {
                sku: sku?,
                name: name?,
                description: description?,
                price: price?,
                category: category?,
                images: images?,
                attributes: attributes?.into_iter().collect(),
                active: body.active,
            })
        })
    }
}

/// Filters of the product list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFilter {
    /// Only this category's products, by name.
    #[param(value_type = Option<CategorySlug>)]
    category: Option<String>,
}

/// List active products, newest id last; by name within a category.
#[utoipa::path(get, path = "/api/products", tag = "products", params(ListFilter, PageQuery),
    responses((status = 200, body = [Product], description = "A page of products; `Link` names the next"),
              (status = 304), (status = 400, body = shop::error::Problem)))]
async fn list_products(
    State(state): State<ProductsState>,
    Query(filter): Query<ListFilter>,
    page: PageParams,
) -> Result<Response> {
    let category = filter
        .category
        .map(|c| CategorySlug::parse(&c).map_err(|e| Error::BadRequest(format!("category {e}"))))
        .transpose()?;
    let (products, next) = state.catalog.list(category.as_ref(), page.limit, page.after.clone()).await?;
    Ok(shop::http::public(MAX_AGE, page.page(products.into_iter().filter(|p| p.active).collect(), next)))
}

/// One product on sale, with its version as ETag. A product off sale is not found here: the
/// back office reads it at `/api/products/{id}/record`.
#[utoipa::path(get, path = "/api/products/{id}", tag = "products", params(("id" = String, Path)),
    responses((status = 200, body = Product), (status = 304), (status = 404, body = shop::error::Problem)))]
async fn get_product(State(state): State<ProductsState>, Path(id): Path<String>) -> Result<Response> {
    let product = stored(&state, &id).await?.filter(|p| p.active).ok_or(Error::NotFound("product"))?;
    Ok(shop::http::public(MAX_AGE, Versioned(product.version, product)))
}

/// One product as the back office sees it, on sale or not (admin), with its version as ETag
/// for `If-Match`.
#[utoipa::path(get, path = "/api/products/{id}/record", tag = "products", params(("id" = String, Path)),
    security(("cognito" = [])),
    responses((status = 200, body = Product), (status = 401, body = shop::error::Problem),
              (status = 403, body = shop::error::Problem), (status = 404, body = shop::error::Problem)))]
async fn product_record(
    State(state): State<ProductsState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Versioned<Product>> {
    caller.require_admin()?;
    let product = stored(&state, &id).await?.ok_or(Error::NotFound("product"))?;
    Ok(Versioned(product.version, product))
}

async fn stored(state: &ProductsState, id: &str) -> Result<Option<Product>> {
    Ok(state.catalog.get(&shop::http::path_id(id, ProductId::parse, "product")?).await?)
}

/// Add a product (admin).
#[utoipa::path(post, path = "/api/products", tag = "products", request_body = ProductBody, security(("cognito" = [])),
    responses((status = 201, body = Product), (status = 401, body = shop::error::Problem), (status = 403, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "SKU taken"), (status = 422, body = shop::error::Problem)))]
async fn create_product(
    State(state): State<ProductsState>,
    caller: Caller,
    Json(body): Json<ProductBody>,
) -> Result<axum::response::Response> {
    caller.require_admin()?;
    let (draft, stock) = body.new_product()?;
    let product = state.catalog.create(draft, stock).await?;
    tracing::info!(product = %product.id, sku = %product.sku, "product created");
    Ok(shop::http::created(&format!("/api/products/{}", product.id), product.version, product))
}

/// Replace a product's fields but its stock (admin). Send `If-Match` with the ETag you read:
/// any change since (a sale too) answers 412. A `stock` sent back must be the product's stock
/// (409 otherwise): stock moves only through `POST /api/products/{id}/stock`.
#[utoipa::path(put, path = "/api/products/{id}", tag = "products", request_body = ProductBody, security(("cognito" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Product), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "SKU taken, or a stock that is not the product's"),
              (status = 412, body = shop::error::Problem), (status = 422, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn update_product(
    State(state): State<ProductsState>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<ProductBody>,
) -> Result<Versioned<Product>> {
    caller.require_admin()?;
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    let (draft, stock) = body.change()?;
    let product = state.catalog.update(&id, draft, stock, if_match.required()?).await?;
    tracing::info!(product = %product.id, revision = product.version, "product updated");
    Ok(Versioned(product.version, product))
}

/// Remove a product (admin). Send `If-Match` with the ETag you read.
#[utoipa::path(delete, path = "/api/products/{id}", tag = "products", security(("cognito" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 204), (status = 404, body = shop::error::Problem), (status = 412, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn delete_product(
    State(state): State<ProductsState>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<StatusCode> {
    caller.require_admin()?;
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    state.catalog.delete(&id, if_match.required()?).await?;
    tracing::info!(product = %id, "product deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// A stock movement: units in (positive) or out (negative), and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockBody {
    /// Units to add (restock) or, negative, to take away (write-off, count correction).
    #[schema(example = 12, minimum = -1_000_000_000, maximum = 1_000_000_000)]
    #[serde(deserialize_with = "shop::http::json::integer")]
    delta: i64,
    #[schema(value_type = Reason)]
    reason: String,
}

/// Move a product's stock (admin): applied atomically, never below zero, whatever sells
/// meanwhile. Answers the product afterwards.
#[utoipa::path(post, path = "/api/products/{id}/stock", tag = "products", request_body = StockBody, security(("cognito" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Product), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "Would take the stock below zero"),
              (status = 422, body = shop::error::Problem)))]
async fn adjust_stock(
    State(state): State<ProductsState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<StockBody>,
) -> Result<Versioned<Product>> {
    caller.require_admin()?;
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    let mut v = Validation::default();
    let delta = v.field(
        "delta",
        match body.delta {
            0 => Err(Invalid::new("must not be 0")),
            d if d.abs() > Stock::MAX => Err(Invalid::new(format!("must be between -{0} and {0}", Stock::MAX))),
            d => Ok(d),
        },
    );
    let reason = v.field("reason", Reason::parse(&body.reason));
    let (delta, reason) = v.finish(|| Some((delta?, reason?)))?;
    let product = state.catalog.adjust_stock(&id, delta, &reason).await?;
    tracing::info!(product = %id, delta, stock = product.stock.get(), revision = product.version, "stock adjusted");
    Ok(Versioned(product.version, product))
}

/// Units of a product sold, and in how many orders, cancelled orders not counted (admin). The
/// sales consumer counts them from the order events, moments after each checkout.
#[utoipa::path(get, path = "/api/products/{id}/sales", tag = "products", params(("id" = String, Path)), security(("cognito" = [])),
    responses((status = 200, body = ProductSales), (status = 403, body = shop::error::Problem), (status = 404, body = shop::error::Problem)))]
async fn product_sales(
    State(state): State<ProductsState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ProductSales>> {
    caller.require_admin()?;
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    state.catalog.get(&id).await?.ok_or(Error::NotFound("product"))?;
    Ok(Json(state.sales.of(&id).await?))
}

/// Categories that hold products.
#[utoipa::path(get, path = "/api/categories", tag = "products", responses((status = 200, body = [Category]), (status = 304)))]
async fn list_categories(State(state): State<ProductsState>) -> Result<Response> {
    Ok(shop::http::public(MAX_AGE, Json(state.catalog.categories().await?)))
}
