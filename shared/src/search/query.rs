//! What a search asks: the words, the filters, the order and the page, checked before any engine
//! is asked, and the rules of matching and scoring every engine follows.

use serde::{Deserialize, Serialize};

use crate::domain::{CategorySlug, Label, Money, Product};

/// The longest query a search takes, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most words a query may hold. Each word is matched fuzzily in two fields, so the words
/// bound what one request costs the engine; ten is more than any product search needs
/// ("brass desk lamp with dimmer" is five).
pub const MAX_QUERY_WORDS: usize = 10;
/// The most completions a suggestion answers.
pub const MAX_SUGGESTIONS: usize = 10;
/// How deep a search pages: OpenSearch's default result window.
pub const MAX_DEPTH: usize = 10_000;

/// Scores of a word's match, the same on every engine: a match in the name scores above one in
/// the description, an exact match above a fuzzy or prefix one. A word scores its best match
/// in each field, and a result the sum over its words; constants, not term statistics, so
/// engines rank alike.
pub const NAME_EXACT: f32 = 8.0;
pub const NAME_NEAR: f32 = 4.0;
pub const DESCRIPTION_EXACT: f32 = 2.0;
pub const DESCRIPTION_NEAR: f32 = 1.0;
/// The score of a query that is, whole, one of a product's variants' SKUs (case aside): above
/// any match of words.
pub const SKU_EXACT: f32 = 100.0;
/// The most option values a search filters by.
pub const MAX_OPTION_FILTERS: usize = 10;

/// An option value as the index holds it: `Size:M` (names and values hold no `:`).
pub fn option_term(name: &str, value: &str) -> String {
    format!("{name}:{value}")
}

/// The option name and value of an index term.
pub fn option_of(term: &str) -> Option<(&str, &str)> {
    term.split_once(':')
}

/// Every option value a product's variants offer, as index terms, each once.
pub fn option_terms(product: &Product) -> Vec<String> {
    let mut terms: Vec<String> = product
        .variants
        .iter()
        .flat_map(|v| v.options.iter().map(|(name, value)| option_term(name.as_str(), value.as_str())))
        .collect();
    terms.sort_unstable();
    terms.dedup();
    terms
}

/// A product's SKUs as a search matches them whole (upper case, as stored).
pub fn skus(product: &Product) -> Vec<String> {
    product.variants.iter().map(|v| v.sku.to_string()).collect()
}

/// The SKU a query would be, whole, if it were one.
pub fn as_sku(text: &str) -> Option<String> {
    crate::domain::Sku::parse(text).ok().map(|s| s.to_string())
}

/// The price facet's buckets, in minor units: `[from, to)`, the last one open.
pub const PRICE_BUCKETS: [(u64, Option<u64>); 6] = [
    (0, Some(1_000)),
    (1_000, Some(2_500)),
    (2_500, Some(5_000)),
    (5_000, Some(10_000)),
    (10_000, Some(25_000)),
    (25_000, None),
];

/// The bucket of [`PRICE_BUCKETS`] that `price` falls in.
pub fn price_bucket(price: u64) -> usize {
    PRICE_BUCKETS.iter().position(|(_, to)| to.is_none_or(|to| price < to)).expect("the last bucket is open")
}

/// The words of a query: its runs of letters and digits (how both engines' analysers split
/// text), at most [`MAX_QUERY_CHARS`] characters having been accepted.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

/// How many edits a word may be off by and still match: none under 4 letters, one for 4 to
/// 7, two from 8.
pub fn edits(word: &str) -> u8 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Which of a search's filters a product passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Passes {
    pub category: bool,
    pub price: bool,
    pub stock: bool,
    /// Bit `i` set: the product fails the `i`-th option filter.
    pub failed_options: u32,
}

impl Passes {
    pub fn all(self) -> bool {
        self.category && self.price && self.stock && self.failed_options == 0
    }

    /// Whether it passes every filter but the `i`-th option filter (`None`: every filter).
    pub fn all_but_option(self, i: Option<usize>) -> bool {
        let ignored = i.map_or(0, |i| 1 << i);
        self.category && self.price && self.stock && self.failed_options & !ignored == 0
    }
}

/// The order of a search's results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first (newest first among equals, and for an empty query).
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
}

/// A search: words, filters, order and the page wanted. Built by [`SearchQuery::new`], which
/// refuses what no engine should be asked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchQuery {
    /// What the shopper typed (may be empty: everything matches).
    pub text: String,
    pub category: Option<CategorySlug>,
    /// Prices from `min_price` up to and including `max_price`, in minor units.
    pub min_price: Option<u64>,
    pub max_price: Option<u64>,
    pub in_stock: Option<bool>,
    /// Option filters: each option's name and the values wanted (any of them); a product
    /// passes when, for every option named, some variant offers one of its values.
    pub options: Vec<(Label, Vec<Label>)>,
    pub sort: Sort,
    /// Results skipped, and how many to answer.
    pub offset: usize,
    pub limit: usize,
}

/// Why a search was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("q is longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("q holds more than {MAX_QUERY_WORDS} words")]
    TooManyWords,
    #[error("min_price is above max_price")]
    ReversedPrices,
    #[error("prices are at most {}", Money::MAX_AMOUNT)]
    PriceTooHigh,
    #[error("results end at {MAX_DEPTH}: narrow the search instead of paging further")]
    TooDeep,
    #[error("option filters are name:value pairs, comma-separated, at most {MAX_OPTION_FILTERS}: {0}")]
    Options(String),
}

impl SearchQuery {
    /// A search for `text` answering `limit` results after the first `offset` (a page that
    /// would reach past [`MAX_DEPTH`] is cut short there).
    pub fn new(text: &str, offset: usize, limit: usize) -> Result<Self, QueryError> {
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        if words(text).nth(MAX_QUERY_WORDS).is_some() {
            return Err(QueryError::TooManyWords);
        }
        if offset >= MAX_DEPTH {
            return Err(QueryError::TooDeep);
        }
        let limit = limit.min(MAX_DEPTH - offset);
        Ok(Self { text: text.trim().to_owned(), offset, limit, ..Self::default() })
    }

    /// Where the page after this one starts, if it holds results.
    pub fn next(&self, total: u64) -> Option<usize> {
        let end = self.offset + self.limit;
        (end < MAX_DEPTH && (end as u64) < total).then_some(end)
    }

    pub fn prices(mut self, min: Option<u64>, max: Option<u64>) -> Result<Self, QueryError> {
        if [min, max].into_iter().flatten().any(|p| p > Money::MAX_AMOUNT as u64) {
            return Err(QueryError::PriceTooHigh);
        }
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            return Err(QueryError::ReversedPrices);
        }
        (self.min_price, self.max_price) = (min, max);
        Ok(self)
    }

    /// With the option filters `raw` says: `Size:M,Size:L,Colour:Blue` (values of one name
    /// are alternatives).
    pub fn options(mut self, raw: &str) -> Result<Self, QueryError> {
        let refuse = |why: &str| QueryError::Options(why.to_owned());
        let pairs: Vec<&str> = raw.split(',').filter(|p| !p.trim().is_empty()).collect();
        if pairs.len() > MAX_OPTION_FILTERS {
            return Err(refuse("too many"));
        }
        for pair in pairs {
            let (name, value) = option_of(pair).ok_or_else(|| refuse("a pair has no ':'"))?;
            let name = Label::parse(name).map_err(|e| refuse(&format!("option name {e}")))?;
            let value = Label::parse(value).map_err(|e| refuse(&format!("option value {e}")))?;
            match self.options.iter_mut().find(|(n, _)| *n == name) {
                Some((_, values)) if !values.contains(&value) => values.push(value),
                Some(_) => {}
                None => self.options.push((name, vec![value])),
            }
        }
        Ok(self)
    }

    /// Which option filter (its place in [`SearchQuery::options`]) names `option`.
    pub fn option_filter(&self, option: &str) -> Option<usize> {
        self.options.iter().position(|(name, _)| name.as_str() == option)
    }

    /// Whether a product with these values passes each filter. Facet counts apply the others.
    pub fn passes<'a>(
        &self,
        category: &str,
        price: u64,
        in_stock: bool,
        terms: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Passes {
        let mut passes = Passes {
            category: self.category.as_ref().is_none_or(|c| c.as_str() == category),
            price: self.passes_price(price),
            stock: self.passes_stock(in_stock),
            failed_options: 0,
        };
        for (i, (name, values)) in self.options.iter().enumerate() {
            let offered = terms
                .clone()
                .into_iter()
                .filter_map(option_of)
                .any(|(n, v)| n == name.as_str() && values.iter().any(|wanted| wanted.as_str() == v));
            if !offered {
                passes.failed_options |= 1 << i;
            }
        }
        passes
    }

    pub fn passes_price(&self, price: u64) -> bool {
        self.min_price.is_none_or(|min| price >= min) && self.max_price.is_none_or(|max| price <= max)
    }

    pub fn passes_stock(&self, in_stock: bool) -> bool {
        self.in_stock.is_none_or(|wanted| wanted == in_stock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_grow_with_the_word() {
        assert_eq!(edits("mug"), 0);
        assert_eq!(edits("lamp"), 1);
        assert_eq!(edits("lantern"), 1);
        assert_eq!(edits("notebook"), 2);
        assert_eq!(edits("café"), 1, "letters, not bytes");
    }

    #[test]
    fn words_are_runs_of_letters_and_digits() {
        assert_eq!(words("  Brass-lamp, 60W!").collect::<Vec<_>>(), ["Brass", "lamp", "60W"]);
    }

    #[test]
    fn queries_refuse_what_no_engine_should_be_asked() {
        assert_eq!(SearchQuery::new(&"a".repeat(201), 0, 20), Err(QueryError::TooLong));
        assert!(SearchQuery::new(&"é".repeat(200), 0, 20).is_ok(), "characters, not bytes");
        assert_eq!(SearchQuery::new(&"a ".repeat(11), 0, 20), Err(QueryError::TooManyWords));
        assert!(SearchQuery::new(&"a-".repeat(10), 0, 20).is_ok());
        assert_eq!(SearchQuery::new("", MAX_DEPTH, 1), Err(QueryError::TooDeep));
        assert_eq!(SearchQuery::new("", MAX_DEPTH - 5, 20).unwrap().limit, 5, "cut short at the depth");
        assert_eq!(SearchQuery::new("", 20, 20).unwrap().next(41), Some(40));
        assert_eq!(SearchQuery::new("", 20, 20).unwrap().next(40), None);
        assert_eq!(SearchQuery::new("", 0, 20).unwrap().prices(Some(5), Some(4)), Err(QueryError::ReversedPrices));
        assert!(SearchQuery::new("", 0, 20).unwrap().prices(Some(5), Some(5)).is_ok());
        let too_high = Some(Money::MAX_AMOUNT as u64 + 1);
        assert_eq!(SearchQuery::new("", 0, 20).unwrap().prices(too_high, None), Err(QueryError::PriceTooHigh));
    }
}
