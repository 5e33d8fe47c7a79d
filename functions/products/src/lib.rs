//! The catalogue service: products and categories. Reading is public; changing is for admins.

use std::collections::BTreeMap;

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use shop::catalog::{
    Catalog, Category, MAX_ATTRIBUTES, MAX_IMAGES, NewProduct, Product, ProductDraft, SoleDraft, VariantDraft,
};
use shop::domain::{
    AltText, CategorySlug, Currency, Description, ImageId, ImageUrl, Invalid, Label, MAX_OPTIONS, MAX_VARIANTS,
    MAX_WEIGHT_GRAMS, Money, Name, ProductId, ProductOption, Reason, Sku, Stock, TaxClass, UploadId, VariantId,
};
use shop::error::Validation;
use shop::http::caller::Revocations;
use shop::http::{IfMatch, Json, PageParams, PageQuery, Query, Staff, Versioned};
use shop::imports::{ImportStatus, Imports, MAX_BYTES};
use shop::media::{Media, Upload};
use shop::objects::{ObjectStore, UploadTarget};
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
    pub imports: Imports,
    pub media: Media,
    /// Where an import's file waits for its runner.
    pub objects: Arc<dyn ObjectStore>,
    /// Refuses ended sessions' and erased accounts' tokens (see [`shop::http::caller::Revocations`]).
    pub revocations: Revocations,
}

impl ProductsState {
    /// `media_url` is where the images' sizes are served (the CDN's origin).
    pub fn new(table: Arc<dyn shop::table::Table>, objects: Arc<dyn ObjectStore>, media_url: &str) -> Self {
        Self {
            catalog: Catalog::new(table.clone()),
            sales: Sales::new(table.clone()),
            imports: Imports::new(table.clone()),
            media: Media::new(table.clone(), objects.clone(), media_url),
            objects,
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
        add_variant,
        update_variant,
        delete_variant,
        adjust_variant_stock,
        product_sales,
        list_categories,
        export_products,
        import_products,
        import_status,
        add_image,
        image_upload,
        order_images,
        edit_image,
        delete_image
    ]
);

/// A product as an editor sends it (POST creates, PUT replaces its own fields). A product with
/// options sends them with its `variants`; one sold as one variant may instead give that
/// variant's `sku`, `price`, `stock` and `weight_grams` here. Variants change afterwards through
/// `/api/products/{id}/variants`; stock only through the stock routes and sales.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    #[schema(value_type = Name)]
    name: String,
    #[serde(default)]
    #[schema(value_type = Description)]
    description: String,
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
    /// Up to three, each with its values in the order a picker shows them. On PUT, absent
    /// keeps them as they are.
    #[schema(max_items = 3)]
    options: Option<Vec<OptionBody>>,
    /// Only when creating: the variants, one per combination of option values offered.
    #[schema(max_items = 48)]
    variants: Option<Vec<VariantBody>>,
    /// A product sold as one variant: its SKU.
    #[schema(value_type = Option<Sku>)]
    sku: Option<String>,
    /// A product sold as one variant: its price.
    price: Option<PriceBody>,
    /// A product sold as one variant: its first stock (default 0); on PUT, if sent, it must
    /// still be the stock.
    #[serde(default)]
    #[schema(value_type = Option<Stock>)]
    #[serde(deserialize_with = "shop::http::json::optional_integer")]
    stock: Option<i64>,
    /// A product sold as one variant: its weight in grams (default 0; on PUT, absent keeps it).
    #[serde(default)]
    #[schema(value_type = Option<u32>, maximum = 1_000_000)]
    #[serde(deserialize_with = "shop::http::json::optional_integer")]
    weight_grams: Option<i64>,
    /// A product sold as one variant: how it is taxed (default standard; on PUT, absent keeps it).
    #[serde(default)]
    tax_class: Option<TaxClass>,
}

fn active_by_default() -> bool {
    true
}

/// One of a product's options and its values.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionBody {
    #[schema(value_type = Label, example = "Size")]
    name: String,
    #[schema(value_type = Vec<Label>, min_items = 1, max_items = 48, example = json!(["S", "M", "L"]))]
    values: Vec<String>,
}

/// A variant as an editor sends it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantBody {
    #[schema(value_type = Sku)]
    sku: String,
    /// One value of each of the product's options (a value new to an option is added to it).
    #[serde(default)]
    #[schema(example = json!({"Size": "M"}))]
    options: BTreeMap<String, String>,
    price: PriceBody,
    /// Its first stock when created (default 0); on PUT, if sent, it must still be the stock.
    #[serde(default)]
    #[schema(value_type = Option<Stock>)]
    #[serde(deserialize_with = "shop::http::json::optional_integer")]
    stock: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<u32>, maximum = 1_000_000)]
    #[serde(deserialize_with = "shop::http::json::optional_integer")]
    weight_grams: Option<i64>,
    /// How it is taxed (default standard).
    #[serde(default)]
    tax_class: TaxClass,
    #[serde(default)]
    #[schema(value_type = Vec<ImageUrl>, max_items = 10)]
    images: Vec<String>,
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

fn at_most(n: usize, max: usize) -> std::result::Result<(), Invalid> {
    if n > max { Err(Invalid::new(format!("at most {max}"))) } else { Ok(()) }
}

fn price(v: &mut Validation, field: &str, body: &PriceBody) -> Option<Money> {
    let currency = v.field(&format!("{field}.currency"), Currency::parse(&body.currency))?;
    v.field(&format!("{field}.amount"), Money::price(body.amount, currency))
}

fn weight(grams: i64) -> std::result::Result<u32, Invalid> {
    u32::try_from(grams)
        .ok()
        .filter(|g| *g <= MAX_WEIGHT_GRAMS)
        .ok_or_else(|| Invalid::new(format!("must be between 0 and {MAX_WEIGHT_GRAMS}")))
}

fn images(v: &mut Validation, field: &str, raw: &[String]) -> Option<Vec<ImageUrl>> {
    v.field(field, at_most(raw.len(), MAX_IMAGES));
    v.each(field, raw, |s| ImageUrl::parse(s))
}

fn options(v: &mut Validation, raw: &[OptionBody]) -> Option<Vec<ProductOption>> {
    v.field("options", at_most(raw.len(), MAX_OPTIONS));
    let mut options = Vec::new();
    for (i, option) in raw.iter().enumerate() {
        let name = v.field(&format!("options[{i}].name"), Label::parse(&option.name));
        v.field(&format!("options[{i}].values"), at_most(option.values.len(), MAX_VARIANTS));
        let values = v.each(&format!("options[{i}].values"), &option.values, |s| Label::parse(s));
        options.push(ProductOption { name: name?, values: values? });
    }
    Some(options)
}

impl VariantBody {
    /// The draft and the stock sent (the first stock of a new variant, or the stock read).
    fn draft(&self, v: &mut Validation, at: &str) -> Option<(VariantDraft, Option<Stock>)> {
        let sku = v.field(&format!("{at}sku"), Sku::parse(&self.sku));
        let options = v.each(&format!("{at}options"), &self.options, |(name, value)| {
            Ok((Label::parse(name)?, Label::parse(value)?))
        });
        let price = price(v, &format!("{at}price"), &self.price);
        let stock = v.optional(&format!("{at}stock"), self.stock, Stock::new);
        let weight = v.field(&format!("{at}weight_grams"), weight(self.weight_grams.unwrap_or(0)));
        let images = images(v, &format!("{at}images"), &self.images);
        let draft = VariantDraft {
            sku: sku?,
            options: options?.into_iter().collect(),
            price: price?,
            weight_grams: weight?,
            tax_class: self.tax_class,
            images: images?,
        };
        Some((draft, stock?))
    }

    fn validated(self) -> Result<(VariantDraft, Option<Stock>)> {
        let mut v = Validation::default();
        let draft = self.draft(&mut v, "");
        v.finish(|| draft)
    }
}

impl ProductBody {
    /// The product's own fields.
    fn draft(&self, v: &mut Validation) -> Option<ProductDraft> {
        let name = v.field("name", Name::parse(&self.name));
        let description = v.field("description", Description::parse(&self.description));
        let category = v.field("category", CategorySlug::parse(&self.category));
        let images = images(v, "images", &self.images);
        v.field("attributes", at_most(self.attributes.len(), MAX_ATTRIBUTES));
        let attributes = v.each("attributes", &self.attributes, |(k, val)| attribute(k, val));
        Some(ProductDraft {
            name: name?,
            description: description?,
            category: category?,
            images: images?,
            attributes: attributes?.into_iter().collect(),
            active: self.active,
        })
    }

    /// The one variant of a product sent as one; `None` when the body gives none of its fields.
    fn sole(&self, v: &mut Validation) -> Option<Option<SoleDraft>> {
        if self.sku.is_none()
            && self.price.is_none()
            && self.stock.is_none()
            && self.weight_grams.is_none()
            && self.tax_class.is_none()
        {
            return Some(None);
        }
        fn missing<T>(what: &str) -> std::result::Result<T, Invalid> {
            Err(Invalid::new(format!("is required with {what}")))
        }
        let sku = match &self.sku {
            Some(sku) => v.field("sku", Sku::parse(sku)),
            None => v.field("sku", missing("price, stock, weight_grams or tax_class")),
        };
        let price = match &self.price {
            Some(body) => price(v, "price", body),
            None => v.field("price", missing("sku")),
        };
        let stock = v.optional("stock", self.stock, Stock::new);
        let weight_grams = v.optional("weight_grams", self.weight_grams, weight);
        let tax_class = self.tax_class;
        Some(Some(SoleDraft { sku: sku?, price: price?, weight_grams: weight_grams?, tax_class, stock: stock? }))
    }

    /// A new product: its fields, options and variants with their first stock.
    fn new_product(self) -> Result<NewProduct> {
        let mut v = Validation::default();
        let draft = self.draft(&mut v);
        let options = options(&mut v, self.options.as_deref().unwrap_or_default());
        let variants = match (&self.variants, self.sole(&mut v)) {
            (Some(_), Some(Some(_))) => {
                v.field::<()>("variants", Err(Invalid::new("give either variants or sku and price, not both")));
                None
            }
            (Some(variants), _) => {
                v.field("variants", at_most(variants.len(), MAX_VARIANTS));
                let drafts: Vec<_> =
                    variants.iter().enumerate().map(|(i, b)| b.draft(&mut v, &format!("variants[{i}]."))).collect();
                drafts.into_iter().map(|d| d.map(|(draft, stock)| (draft, stock.unwrap_or(Stock::ZERO)))).collect()
            }
            (None, Some(Some(sole))) => {
                let variant = VariantDraft {
                    sku: sole.sku,
                    options: Default::default(),
                    price: sole.price,
                    weight_grams: sole.weight_grams.unwrap_or(0),
                    tax_class: sole.tax_class.unwrap_or_default(),
                    images: Vec::new(),
                };
                Some(vec![(variant, sole.stock.unwrap_or(Stock::ZERO))])
            }
            (None, Some(None)) => {
                v.field::<()>("variants", Err(Invalid::new("give the variants, or the sku and price of the one")));
                None
            }
            (None, None) => None,
        };
        v.finish(|| Some(NewProduct { product: draft?, options: options?, variants: variants? }))
    }

    /// A change of an existing product: its fields, its options if sent, and its one
    /// variant's if sent.
    fn change(self) -> Result<(ProductDraft, Option<Vec<ProductOption>>, Option<SoleDraft>)> {
        let mut v = Validation::default();
        if self.variants.is_some() {
            let moved = "change through /api/products/{id}/variants";
            v.field::<()>("variants", Err(Invalid::new(moved)));
        }
        let draft = self.draft(&mut v);
        let options = self.options.as_deref().map(|raw| options(&mut v, raw));
        let sole = self.sole(&mut v);
        v.finish(|| Some((draft?, options.map(|o| o.expect("validated")), sole?)))
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
    Ok(shop::http::public(MAX_AGE, page.page(products.into_iter().filter(|p| p.active).collect(), next).await?))
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
    security(("cognito" = ["catalogue"])),
    responses((status = 200, body = Product), (status = 401, body = shop::error::Problem),
              (status = 403, body = shop::error::Problem), (status = 404, body = shop::error::Problem)))]
async fn product_record(
    State(state): State<ProductsState>,
    _: Staff,
    Path(id): Path<String>,
) -> Result<Versioned<Product>> {
    let product = stored(&state, &id).await?.ok_or(Error::NotFound("product"))?;
    Ok(Versioned(product.version, product))
}

async fn stored(state: &ProductsState, id: &str) -> Result<Option<Product>> {
    Ok(state.catalog.get(&shop::http::path_id(id, ProductId::parse, "product")?).await?)
}

/// Add a product (admin).
#[utoipa::path(post, path = "/api/products", tag = "products", request_body = ProductBody, security(("cognito" = ["catalogue"])),
    responses((status = 201, body = Product), (status = 401, body = shop::error::Problem), (status = 403, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "SKU taken"), (status = 422, body = shop::error::Problem)))]
async fn create_product(
    State(state): State<ProductsState>,
    _: Staff,
    Json(body): Json<ProductBody>,
) -> Result<axum::response::Response> {
    let product = state.catalog.create(body.new_product()?).await?;
    tracing::info!(product = %product.id, variants = product.variants.len(), "product created");
    Ok(shop::http::created(&format!("/api/products/{}", product.id), product.version, product))
}

/// Replace a product's own fields (admin), and those of its one variant for a product sold as
/// one (`sku`, `price`, `weight_grams`). Send `If-Match` with the ETag you read: any change
/// since (a sale too) answers 412. A `stock` sent back must be the stock (409 otherwise): stock
/// moves only through the stock routes.
#[utoipa::path(put, path = "/api/products/{id}", tag = "products", request_body = ProductBody, security(("cognito" = ["catalogue"])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Product), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "SKU taken, or a stock that is not the product's"),
              (status = 412, body = shop::error::Problem), (status = 422, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn update_product(
    State(state): State<ProductsState>,
    _: Staff,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<ProductBody>,
) -> Result<Versioned<Product>> {
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    let (draft, options, sole) = body.change()?;
    let product = state.catalog.update(&id, draft, options, sole, if_match.required()?).await?;
    tracing::info!(product = %product.id, revision = product.version, "product updated");
    Ok(Versioned(product.version, product))
}

/// Remove a product (admin). Send `If-Match` with the ETag you read.
#[utoipa::path(delete, path = "/api/products/{id}", tag = "products", security(("cognito" = ["catalogue"])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 204), (status = 404, body = shop::error::Problem), (status = 412, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn delete_product(
    State(state): State<ProductsState>,
    _: Staff,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<StatusCode> {
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    let deleted = state.catalog.delete(&id, if_match.required()?).await?;
    tracing::info!(product = %id, "product deleted");
    // Its images' files go after it: what fails here is logged, never the deletion.
    if let Err(e) = state.media.delete_files(&deleted.media).await {
        tracing::error!(product = %id, error = format!("{e:#}"), "the deleted product's image files stay");
    }
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

/// Move the stock of a product sold as one variant (admin; a product with several answers
/// 409: use the variant's stock route): applied atomically, never below zero, whatever sells
/// meanwhile. Answers the product afterwards.
#[utoipa::path(post, path = "/api/products/{id}/stock", tag = "products", request_body = StockBody, security(("cognito" = ["catalogue"])),
    params(("id" = String, Path)),
    responses((status = 200, body = Product), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "Would take the stock below zero, or the product has several variants"),
              (status = 422, body = shop::error::Problem)))]
async fn adjust_stock(
    State(state): State<ProductsState>,
    _: Staff,
    Path(id): Path<String>,
    Json(body): Json<StockBody>,
) -> Result<Versioned<Product>> {
    move_stock(&state, &id, None, body).await
}

/// Move a variant's stock (admin): applied atomically, never below zero, whatever sells
/// meanwhile. Answers the product afterwards.
#[utoipa::path(post, path = "/api/products/{id}/variants/{variant_id}/stock", tag = "products", request_body = StockBody,
    security(("cognito" = ["catalogue"])), params(("id" = String, Path), ("variant_id" = String, Path)),
    responses((status = 200, body = Product), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "Would take the stock below zero"),
              (status = 422, body = shop::error::Problem)))]
async fn adjust_variant_stock(
    State(state): State<ProductsState>,
    _: Staff,
    Path((id, variant)): Path<(String, String)>,
    Json(body): Json<StockBody>,
) -> Result<Versioned<Product>> {
    let variant = shop::http::path_id(&variant, VariantId::parse, "variant")?;
    move_stock(&state, &id, Some(&variant), body).await
}

async fn move_stock(
    state: &ProductsState,
    id: &str,
    variant: Option<&VariantId>,
    body: StockBody,
) -> Result<Versioned<Product>> {
    let id = shop::http::path_id(id, ProductId::parse, "product")?;
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
    let product = state.catalog.adjust_stock(&id, variant, delta, &reason).await?;
    tracing::info!(product = %id, delta, stock = product.stock, revision = product.version, "stock adjusted");
    Ok(Versioned(product.version, product))
}

/// Add a variant (admin): its option values, SKU (unique shop-wide), price, first stock, weight
/// and images. Send `If-Match` with the ETag you read. Answers the product.
#[utoipa::path(post, path = "/api/products/{id}/variants", tag = "products", request_body = VariantBody, security(("cognito" = ["catalogue"])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 201, body = Product), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "SKU taken"),
              (status = 412, body = shop::error::Problem), (status = 422, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn add_variant(
    State(state): State<ProductsState>,
    _: Staff,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<VariantBody>,
) -> Result<Response> {
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    let (draft, stock) = body.validated()?;
    let expected = if_match.required()?;
    let (product, variant) = state.catalog.add_variant(&id, draft, stock.unwrap_or(Stock::ZERO), expected).await?;
    tracing::info!(product = %id, %variant, revision = product.version, "variant added");
    Ok(shop::http::created(&format!("/api/products/{id}"), product.version, product))
}

/// Replace a variant's fields but its stock (admin). Send `If-Match` with the product's ETag.
/// Answers the product.
#[utoipa::path(put, path = "/api/products/{id}/variants/{variant_id}", tag = "products", request_body = VariantBody,
    security(("cognito" = ["catalogue"])),
    params(("id" = String, Path), ("variant_id" = String, Path), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Product), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "SKU taken, or a stock that is not the variant's"),
              (status = 412, body = shop::error::Problem), (status = 422, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn update_variant(
    State(state): State<ProductsState>,
    _: Staff,
    Path((id, variant)): Path<(String, String)>,
    if_match: IfMatch,
    Json(body): Json<VariantBody>,
) -> Result<Versioned<Product>> {
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    let variant = shop::http::path_id(&variant, VariantId::parse, "variant")?;
    let (draft, stock) = body.validated()?;
    let product = state.catalog.update_variant(&id, Some(&variant), draft, stock, if_match.required()?).await?;
    tracing::info!(product = %id, %variant, revision = product.version, "variant updated");
    Ok(Versioned(product.version, product))
}

/// Remove a variant (admin; a product keeps one at least: 409). Send `If-Match` with the
/// product's ETag. Answers the product.
#[utoipa::path(delete, path = "/api/products/{id}/variants/{variant_id}", tag = "products", security(("cognito" = ["catalogue"])),
    params(("id" = String, Path), ("variant_id" = String, Path), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Product), (status = 404, body = shop::error::Problem),
              (status = 409, body = shop::error::Problem, description = "The product's last variant"),
              (status = 412, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn delete_variant(
    State(state): State<ProductsState>,
    _: Staff,
    Path((id, variant)): Path<(String, String)>,
    if_match: IfMatch,
) -> Result<Versioned<Product>> {
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    let variant = shop::http::path_id(&variant, VariantId::parse, "variant")?;
    let product = state.catalog.delete_variant(&id, &variant, if_match.required()?).await?;
    tracing::info!(product = %id, %variant, revision = product.version, "variant deleted");
    Ok(Versioned(product.version, product))
}

/// Units of a product sold, and in how many orders, cancelled orders not counted (admin). The
/// sales consumer counts them from the order events, moments after each checkout.
#[utoipa::path(get, path = "/api/products/{id}/sales", tag = "products", params(("id" = String, Path)), security(("cognito" = ["catalogue"])),
    responses((status = 200, body = ProductSales), (status = 403, body = shop::error::Problem), (status = 404, body = shop::error::Problem)))]
async fn product_sales(
    State(state): State<ProductsState>,
    _: Staff,
    Path(id): Path<String>,
) -> Result<Json<ProductSales>> {
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    state.catalog.get(&id).await?.ok_or(Error::NotFound("product"))?;
    Ok(Json(state.sales.of(&id).await?))
}

/// Categories that hold products.
#[utoipa::path(get, path = "/api/categories", tag = "products", responses((status = 200, body = [Category]), (status = 304)))]
async fn list_categories(State(state): State<ProductsState>) -> Result<Response> {
    Ok(shop::http::public(MAX_AGE, Json(state.catalog.categories().await?)))
}

/// The whole catalogue as CSV, one row per variant (admin), in the format
/// `POST /api/products/import` reads: an export imported into an empty shop gives the same
/// catalogue.
#[utoipa::path(get, path = "/api/products/export", tag = "products", security(("cognito" = ["catalogue"])),
    responses((status = 200, content_type = "text/csv", body = String, description = "The catalogue; the columns are documented in ARCHITECTURE.md"),
              (status = 401, body = shop::error::Problem), (status = 403, body = shop::error::Problem)))]
async fn export_products(State(state): State<ProductsState>, _: Staff) -> Result<Response> {
    let products: Vec<Product> = state.catalog.pages(100).try_concat().await?;
    let csv = shop::imports::export(&products)?;
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
        (header::CONTENT_DISPOSITION, "attachment; filename=\"products.csv\""),
    ];
    Ok((headers, csv).into_response())
}

/// Start importing a CSV of products (admin; `text/csv`, at most 3 MB, the format of
/// `GET /api/products/export`). Answers 202 at once with the import, whose progress and refused
/// lines `GET /api/products/imports/{id}` tells: the rows are applied after the answer, a product
/// whole or not at all, matched to the catalogue by SKU.
#[utoipa::path(post, path = "/api/products/import", tag = "products", security(("cognito" = ["catalogue"])),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 202, body = ImportStatus), (status = 400, body = shop::error::Problem),
              (status = 401, body = shop::error::Problem), (status = 403, body = shop::error::Problem),
              (status = 413, body = shop::error::Problem), (status = 415, body = shop::error::Problem)))]
async fn import_products(State(state): State<ProductsState>, _: Staff, request: Request) -> Result<Response> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.trim_start().to_ascii_lowercase().starts_with("text/csv") {
        return Err(Error::UnsupportedMediaType("text/csv"));
    }
    let csv =
        axum::body::to_bytes(request.into_body(), MAX_BYTES).await.map_err(|_| Error::PayloadTooLarge(MAX_BYTES))?;
    let started = state.imports.start(&*state.objects, csv.to_vec()).await.map_err(|e| Error::BadRequest(e.0))?;
    tracing::info!(import = started.id, bytes = csv.len(), "import started");
    let mut response = (StatusCode::ACCEPTED, Json(&started)).into_response();
    if let Ok(location) = header::HeaderValue::from_str(&format!("/api/products/imports/{}", started.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// An import's progress, and every line it refused with why (admin).
#[utoipa::path(get, path = "/api/products/imports/{id}", tag = "products", params(("id" = String, Path)),
    security(("cognito" = ["catalogue"])),
    responses((status = 200, body = ImportStatus), (status = 401, body = shop::error::Problem),
              (status = 403, body = shop::error::Problem), (status = 404, body = shop::error::Problem)))]
async fn import_status(
    State(state): State<ProductsState>,
    _: Staff,
    Path(id): Path<String>,
) -> Result<Json<ImportStatus>> {
    let id = shop::http::path_id(&id, |id| ulid::Ulid::from_string(id).map(|u| u.to_string()), "import")?;
    Ok(Json(state.imports.status(&id).await?.ok_or(Error::NotFound("import"))?))
}

/// An image to upload: what it is, how large, and what it shows.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageBody {
    /// `image/jpeg`, `image/png`, `image/webp` or `image/gif`.
    #[schema(example = "image/jpeg")]
    content_type: String,
    /// Bytes, at most 10 MiB: the upload must be exactly this long.
    #[schema(minimum = 1, maximum = 10_485_760)]
    #[serde(deserialize_with = "shop::http::json::integer")]
    size: i64,
    #[schema(value_type = AltText)]
    alt: String,
    /// The variant it is shown first for.
    #[schema(value_type = Option<VariantId>)]
    variant_id: Option<String>,
}

/// An upload asked for: its record, and where to PUT the file.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadAnswer {
    upload: Upload,
    target: UploadTarget,
}

/// Ask to upload an image of a product (admin): answers the upload and a target that takes
/// the file for 15 minutes (PUT exactly `size` bytes with the headers given). The file is then
/// checked by its bytes (an image, at most 40 megapixels), made into the sizes the storefront
/// shows and attached after the product's other images; `GET .../images/uploads/{upload_id}`
/// tells when.
#[utoipa::path(post, path = "/api/products/{id}/images", tag = "products", request_body = ImageBody,
    security(("cognito" = ["catalogue"])), params(("id" = String, Path)),
    responses((status = 201, body = UploadAnswer), (status = 401, body = shop::error::Problem),
              (status = 403, body = shop::error::Problem), (status = 404, body = shop::error::Problem),
              (status = 422, body = shop::error::Problem)))]
async fn add_image(
    State(state): State<ProductsState>,
    _: Staff,
    Path(id): Path<String>,
    Json(body): Json<ImageBody>,
) -> Result<Response> {
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    let mut v = Validation::default();
    let alt = v.field("alt", AltText::parse(&body.alt));
    let variant = v.optional("variant_id", body.variant_id.as_deref(), VariantId::parse);
    let size = v.field("size", u64::try_from(body.size).map_err(|_| Invalid::new("must be positive")));
    let (alt, variant, size) = v.finish(|| Some((alt?, variant?, size?)))?;
    let (upload, target) = state.media.request(&id, variant, alt, &body.content_type, size).await?;
    tracing::info!(product = %id, upload = %upload.id, size, "image upload asked for");
    let location = format!("/api/products/{id}/images/uploads/{}", upload.id);
    let mut response = (StatusCode::CREATED, Json(UploadAnswer { upload, target })).into_response();
    if let Ok(location) = header::HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Where an image upload is: waiting for its file, done (`image_id`), or refused (`reason`).
#[utoipa::path(get, path = "/api/products/{id}/images/uploads/{upload_id}", tag = "products",
    security(("cognito" = ["catalogue"])), params(("id" = String, Path), ("upload_id" = String, Path)),
    responses((status = 200, body = Upload), (status = 401, body = shop::error::Problem),
              (status = 403, body = shop::error::Problem), (status = 404, body = shop::error::Problem)))]
async fn image_upload(
    State(state): State<ProductsState>,
    _: Staff,
    Path((id, upload)): Path<(String, String)>,
) -> Result<Json<Upload>> {
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    let upload = shop::http::path_id(&upload, UploadId::parse, "upload")?;
    let upload = state.media.upload(&upload).await?.filter(|u| u.product_id == id);
    Ok(Json(upload.ok_or(Error::NotFound("upload"))?))
}

/// The order of a product's images.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageOrderBody {
    /// Every one of the product's images, once, in the order to show them.
    #[schema(value_type = Vec<ImageId>, max_items = 20)]
    order: Vec<String>,
}

/// Put a product's images in order (admin). Send `If-Match` with the ETag you read.
#[utoipa::path(put, path = "/api/products/{id}/images/order", tag = "products", request_body = ImageOrderBody,
    security(("cognito" = ["catalogue"])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Product), (status = 404, body = shop::error::Problem),
              (status = 412, body = shop::error::Problem), (status = 422, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn order_images(
    State(state): State<ProductsState>,
    _: Staff,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(body): Json<ImageOrderBody>,
) -> Result<Versioned<Product>> {
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    let mut v = Validation::default();
    let order = v.each("order", &body.order, |s| ImageId::parse(s));
    let order = v.finish(|| order)?;
    let product = state.catalog.order_images(&id, &order, if_match.required()?).await?;
    Ok(Versioned(product.version, product))
}

/// An image's alt text, and the variant it is shown first for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageEditBody {
    #[schema(value_type = AltText)]
    alt: String,
    #[schema(value_type = Option<VariantId>)]
    variant_id: Option<String>,
}

/// Change an image's alt text or variant (admin). Send `If-Match` with the ETag you read.
#[utoipa::path(put, path = "/api/products/{id}/images/{image_id}", tag = "products", request_body = ImageEditBody,
    security(("cognito" = ["catalogue"])),
    params(("id" = String, Path), ("image_id" = String, Path), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Product), (status = 404, body = shop::error::Problem),
              (status = 412, body = shop::error::Problem), (status = 422, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn edit_image(
    State(state): State<ProductsState>,
    _: Staff,
    Path((id, image)): Path<(String, String)>,
    if_match: IfMatch,
    Json(body): Json<ImageEditBody>,
) -> Result<Versioned<Product>> {
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    let image = shop::http::path_id(&image, ImageId::parse, "image")?;
    let mut v = Validation::default();
    let alt = v.field("alt", AltText::parse(&body.alt));
    let variant = v.optional("variant_id", body.variant_id.as_deref(), VariantId::parse);
    let (alt, variant) = v.finish(|| Some((alt?, variant?)))?;
    let product = state.catalog.edit_image(&id, &image, alt, variant, if_match.required()?).await?;
    Ok(Versioned(product.version, product))
}

/// Remove an image and its files (admin). Send `If-Match` with the ETag you read.
#[utoipa::path(delete, path = "/api/products/{id}/images/{image_id}", tag = "products", security(("cognito" = ["catalogue"])),
    params(("id" = String, Path), ("image_id" = String, Path), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Product), (status = 404, body = shop::error::Problem),
              (status = 412, body = shop::error::Problem),
              (status = 428, body = shop::error::Problem, description = "No If-Match")))]
async fn delete_image(
    State(state): State<ProductsState>,
    _: Staff,
    Path((id, image)): Path<(String, String)>,
    if_match: IfMatch,
) -> Result<Versioned<Product>> {
    let id = shop::http::path_id(&id, ProductId::parse, "product")?;
    let image = shop::http::path_id(&image, ImageId::parse, "image")?;
    let product = state.media.remove(&id, &image, if_match.required()?).await?;
    tracing::info!(product = %id, %image, "image removed");
    Ok(Versioned(product.version, product))
}
