//! The product record: what the catalogue stores and answers, and what product events carry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CategorySlug, Description, ImageUrl, Money, Name, ProductId, Sku, Stock};
use crate::time::Timestamp;

/// A product as stored and as answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub sku: Sku,
    pub name: Name,
    pub description: Description,
    pub price: Money,
    /// Units in stock; never negative.
    pub stock: Stock,
    pub category: CategorySlug,
    pub images: Vec<ImageUrl>,
    pub attributes: BTreeMap<String, String>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The revision: increases with every change, stock movements included; sent as the ETag
    /// and carried by the product's events.
    pub version: u64,
}
