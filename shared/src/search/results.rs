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
    /// Each option the results' variants have, by name, with its values: most first, then by
    /// value. A product counts once per value any of its variants offers.
    pub options: Vec<OptionFacet>,
}

/// One option's values and how many results offer each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OptionFacet {
    pub name: String,
    pub values: Vec<FacetCount>,
}

/// Facets as an engine counts them: per category and per option value (by name, or by an
/// engine's own key for one), per price bucket, in stock or not.
#[derive(Debug, Clone)]
pub struct FacetTally<K = String> {
    pub categories: HashMap<K, u64>,
    pub prices: [u64; PRICE_BUCKETS.len()],
    pub in_stock: StockCount,
    /// By option term ([`option_term`]).
    pub options: HashMap<K, u64>,
}

impl<K> Default for FacetTally<K> {
    fn default() -> Self {
        Self {
            categories: HashMap::new(),
            prices: [0; PRICE_BUCKETS.len()],
            in_stock: StockCount::default(),
            options: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq> FacetTally<K> {
    /// Counts one matching product whose filters passed as [`SearchQuery::passes`] says, with
    /// its option terms, each with the option filter (if any) that names its option.
    pub fn count(
        &mut self,
        category: K,
        price: u64,
        in_stock: bool,
        options: impl IntoIterator<Item = (K, Option<usize>)>,
        passes: Passes,
    ) {
        let Passes { category: cat, price: pri, stock, .. } = passes;
        let others = passes.failed_options == 0;
        if pri && stock && others {
            *self.categories.entry(category).or_default() += 1;
        }
        if cat && stock && others {
            self.prices[price_bucket(price)] += 1;
        }
        if cat && pri && others {
            let count = if in_stock { &mut self.in_stock.in_stock } else { &mut self.in_stock.sold_out };
            *count += 1;
        }
        for (term, filter) in options {
            if passes.all_but_option(filter) {
                *self.options.entry(term).or_default() += 1;
            }
        }
    }

    /// The tally with its category and option keys turned into names (merging keys that name
    /// one).
    pub fn named(self, mut category: impl FnMut(K) -> String, mut option: impl FnMut(K) -> String) -> FacetTally {
        let mut categories = HashMap::new();
        for (key, count) in self.categories {
            *categories.entry(category(key)).or_default() += count;
        }
        let mut options = HashMap::new();
        for (key, count) in self.options {
            *options.entry(option(key)).or_default() += count;
        }
        FacetTally { categories, prices: self.prices, in_stock: self.in_stock, options }
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
        for (term, count) in other.options {
            *self.options.entry(term).or_default() += count;
        }
    }

    pub fn facets(self) -> Facets {
        let most_first = |a: &FacetCount, b: &FacetCount| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value));
        let mut category: Vec<FacetCount> =
            self.categories.into_iter().map(|(value, count)| FacetCount { value, count }).collect();
        category.sort_by(most_first);
        let price =
            PRICE_BUCKETS.iter().zip(self.prices).map(|(&(from, to), count)| PriceCount { from, to, count }).collect();
        let mut options: Vec<OptionFacet> = Vec::new();
        for (term, count) in self.options {
            let Some((name, value)) = option_of(&term) else { continue };
            let value = FacetCount { value: value.to_owned(), count };
            match options.iter_mut().find(|o| o.name == name) {
                Some(option) => option.values.push(value),
                None => options.push(OptionFacet { name: name.to_owned(), values: vec![value] }),
            }
        }
        options.sort_by(|a, b| a.name.cmp(&b.name));
        for option in &mut options {
            option.values.sort_by(most_first);
        }
        Facets { category, price, in_stock: self.in_stock, options }
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
        let query = query.options("Size:M,Size:L").unwrap();
        let mut tally = FacetTally::default();
        for (category, price, in_stock, terms) in [
            ("lamps", 500, true, &["Size:M", "Colour:Red"][..]),
            ("mugs", 1500, true, &["Size:L"]),
            ("lamps", 30_000, false, &["Size:L"]),
            ("lamps", 600, true, &["Size:S", "Colour:Blue"]),
        ] {
            let passes = query.passes(category, price, in_stock, terms.iter().copied());
            let options = terms.iter().map(|t| (t.to_string(), query.option_filter(option_of(t).unwrap().0)));
            tally.count(category.to_owned(), price, in_stock, options, passes);
        }
        let facets = tally.facets();
        let categories: Vec<_> = facets.category.iter().map(|f| (f.value.as_str(), f.count)).collect();
        assert_eq!(categories, [("lamps", 1), ("mugs", 1)], "the category filter is not applied to its own facet");
        assert_eq!(facets.price.iter().map(|p| p.count).collect::<Vec<_>>(), [1, 0, 0, 0, 0, 0]);
        assert_eq!(facets.in_stock, StockCount { in_stock: 1, sold_out: 1 });
        let options: Vec<(&str, Vec<(&str, u64)>)> = facets
            .options
            .iter()
            .map(|o| (o.name.as_str(), o.values.iter().map(|v| (v.value.as_str(), v.count)).collect()))
            .collect();
        assert_eq!(
            options,
            [("Colour", vec![("Red", 1)]), ("Size", vec![("M", 1), ("S", 1)])],
            "the size filter is not applied to its own facet; the others are"
        );
    }
}
