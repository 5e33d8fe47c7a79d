//! What a search answers: the hits, marked, and the facets counted with the other filters.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use crate::domain::{Product, ProductId};

use super::query::*;

/// One result: the product as the catalogue answers it, and what matched, marked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hit {
    #[serde(flatten)]
    pub product: Product,
    /// Fragments of the name and description with the matched words in `<em>`; the rest of the
    /// text HTML-escaped.
    #[serde(default, skip_serializing_if = "Highlight::is_empty")]
    pub highlight: Highlight,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Highlight {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Highlight {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.description.is_none()
    }
}

/// A facet value and how many results carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// A price range, `[from, to)` in minor units (`to` absent: no upper bound), and its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriceCount {
    pub from: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
    pub count: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StockCount {
    #[serde(rename = "true")]
    pub in_stock: u64,
    #[serde(rename = "false")]
    pub sold_out: u64,
}

/// How the results would split by each filter, each counted with the other filters applied
/// (so choosing a category still shows how many each other category holds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Facets {
    /// Most first, then by name.
    pub category: Vec<FacetCount>,
    /// Every bucket of [`PRICE_BUCKETS`], in order.
    pub price: Vec<PriceCount>,
    pub in_stock: StockCount,
}

/// Facets as an engine counts them: per category (by name, or by an engine's own key for
/// one), per price bucket, in stock or not.
#[derive(Debug, Clone)]
pub struct FacetTally<K = String> {
    pub categories: HashMap<K, u64>,
    pub prices: [u64; PRICE_BUCKETS.len()],
    pub in_stock: StockCount,
}

impl<K> Default for FacetTally<K> {
    fn default() -> Self {
        Self { categories: HashMap::new(), prices: [0; PRICE_BUCKETS.len()], in_stock: StockCount::default() }
    }
}

impl<K: Hash + Eq> FacetTally<K> {
    /// Counts one matching product whose filters passed as [`SearchQuery::passes`] says.
    pub fn count(&mut self, category: K, price: u64, in_stock: bool, [cat, pri, stock]: [bool; 3]) {
        if pri && stock {
            *self.categories.entry(category).or_default() += 1;
        }
        if cat && stock {
            self.prices[price_bucket(price)] += 1;
        }
        if cat && pri {
            let count = if in_stock { &mut self.in_stock.in_stock } else { &mut self.in_stock.sold_out };
            *count += 1;
        }
    }

    /// The tally with its category keys turned into names (merging keys that name one).
    pub fn named(self, mut name: impl FnMut(K) -> String) -> FacetTally {
        let mut categories = HashMap::new();
        for (key, count) in self.categories {
            *categories.entry(name(key)).or_default() += count;
        }
        FacetTally { categories, prices: self.prices, in_stock: self.in_stock }
    }
}

impl FacetTally {
    pub fn merge(&mut self, other: FacetTally) {
        for (name, count) in other.categories {
            *self.categories.entry(name).or_default() += count;
        }
        for (mine, theirs) in self.prices.iter_mut().zip(other.prices) {
            *mine += theirs;
        }
        self.in_stock.in_stock += other.in_stock.in_stock;
        self.in_stock.sold_out += other.in_stock.sold_out;
    }

    pub fn facets(self) -> Facets {
        let mut category: Vec<FacetCount> =
            self.categories.into_iter().map(|(value, count)| FacetCount { value, count }).collect();
        category.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        let price =
            PRICE_BUCKETS.iter().zip(self.prices).map(|(&(from, to), count)| PriceCount { from, to, count }).collect();
        Facets { category, price, in_stock: self.in_stock }
    }
}

/// What a search answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub items: Vec<Hit>,
    /// Every result that matched, past this page too.
    pub total: u64,
    pub facets: Facets,
}

/// A completion of what the shopper has typed so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub text: String,
    pub product_id: ProductId,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CategorySlug;

    #[test]
    fn each_facet_counts_with_the_other_filters() {
        let query = SearchQuery {
            category: Some(CategorySlug::parse("lamps").unwrap()),
            in_stock: Some(true),
            ..Default::default()
        };
        let mut tally = FacetTally::default();
        for (category, price, in_stock) in [("lamps", 500, true), ("mugs", 1500, true), ("lamps", 30_000, false)] {
            tally.count(category.to_owned(), price, in_stock, query.passes(category, price, in_stock));
        }
        let facets = tally.facets();
        let categories: Vec<_> = facets.category.iter().map(|f| (f.value.as_str(), f.count)).collect();
        assert_eq!(categories, [("lamps", 1), ("mugs", 1)], "the category filter is not applied to its own facet");
        assert_eq!(facets.price.iter().map(|p| p.count).collect::<Vec<_>>(), [1, 0, 0, 0, 0, 0]);
        assert_eq!(facets.in_stock, StockCount { in_stock: 1, sold_out: 1 });
    }
}
