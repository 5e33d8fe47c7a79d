//! The one pass a search makes over what its words match: filters, facets, total and the page.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use shop::search::{FacetTally, Passes, SearchQuery, Sort, option_of, option_term};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

/// A result's place: greater is better. The primary key is the sort's (the score, or the
/// price one way or the other), then newer first, then index order.
type Rank = (u64, i64, Reverse<DocAddress>);

/// What a search gathered.
pub(crate) struct Gathered {
    /// The page asked for, best first.
    pub page: Vec<DocAddress>,
    pub total: u64,
    pub tally: FacetTally,
}

pub(crate) struct Gather {
    query: SearchQuery,
    /// The best results to keep: everything up to the end of the page.
    keep: usize,
}

impl Gather {
    pub fn new(query: &SearchQuery) -> Self {
        Self { query: query.clone(), keep: query.offset + query.limit }
    }
}

pub(crate) struct SegmentGather {
    query: SearchQuery,
    keep: usize,
    segment: SegmentOrdinal,
    categories: StrColumn,
    /// The filtered category's number in this segment's column: `None` without a category
    /// filter, `Some(None)` when this segment holds none of that category.
    wanted: Option<Option<u64>>,
    price: Column<u64>,
    in_stock: Column<bool>,
    created: Column<i64>,
    options: StrColumn,
    /// Per option filter, the numbers of its wanted values' terms in this segment's column.
    wanted_options: Vec<Vec<u64>>,
    /// Per option term number, the option filter naming its option (looked up once).
    filter_of: Vec<Option<Option<usize>>>,
    best: BinaryHeap<Reverse<Rank>>,
    total: u64,
    tally: FacetTally<u64>,
}

pub(crate) struct SegmentFruit {
    best: Vec<Rank>,
    total: u64,
    tally: FacetTally,
}

impl Collector for Gather {
    type Fruit = Gathered;
    type Child = SegmentGather;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentGather> {
        let fast = reader.fast_fields();
        let categories =
            fast.str("category")?.ok_or_else(|| tantivy::TantivyError::SchemaError("no category column".into()))?;
        let wanted = match &self.query.category {
            Some(c) => Some(categories.dictionary().term_ord(c.as_str())?),
            None => None,
        };
        let options =
            fast.str("options")?.ok_or_else(|| tantivy::TantivyError::SchemaError("no options column".into()))?;
        let mut wanted_options = Vec::new();
        for (name, values) in &self.query.options {
            let mut ords = Vec::new();
            for value in values {
                ords.extend(options.dictionary().term_ord(option_term(name.as_str(), value.as_str()))?);
            }
            wanted_options.push(ords);
        }
        let filter_of = vec![None; options.dictionary().num_terms()];
        Ok(SegmentGather {
            query: self.query.clone(),
            keep: self.keep,
            segment,
            categories,
            wanted,
            price: fast.u64("price")?,
            in_stock: fast.bool("in_stock")?,
            created: fast.i64("created")?,
            options,
            wanted_options,
            filter_of,
            best: BinaryHeap::with_capacity(self.keep + 1),
            total: 0,
            tally: FacetTally::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.query.sort == Sort::Relevance
    }

    fn merge_fruits(&self, fruits: Vec<SegmentFruit>) -> tantivy::Result<Gathered> {
        let mut tally = FacetTally::default();
        let mut best = Vec::new();
        let mut total = 0;
        for fruit in fruits {
            tally.merge(fruit.tally);
            best.extend(fruit.best);
            total += fruit.total;
        }
        best.sort_unstable_by(|a, b| b.cmp(a));
        let page = best.into_iter().skip(self.query.offset).take(self.query.limit).map(|(_, _, doc)| doc.0).collect();
        Ok(Gathered { page, total, tally })
    }
}

impl SegmentCollector for SegmentGather {
    type Fruit = SegmentFruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        let category = self.categories.ords().first(doc);
        let price = self.price.first(doc).unwrap_or_default();
        let in_stock = self.in_stock.first(doc).unwrap_or_default();
        let mut passes = Passes {
            category: self.wanted.is_none_or(|wanted| wanted.is_some() && wanted == category),
            price: self.query.passes_price(price),
            stock: self.query.passes_stock(in_stock),
            failed_options: 0,
        };
        let terms: Vec<u64> = self.options.ords().values_for_doc(doc).collect();
        for (i, wanted) in self.wanted_options.iter().enumerate() {
            if !terms.iter().any(|t| wanted.contains(t)) {
                passes.failed_options |= 1 << i;
            }
        }
        let options: Vec<(u64, Option<usize>)> = terms.iter().map(|&t| (t, self.filter_of(t))).collect();
        self.tally.count(category.unwrap_or(u64::MAX), price, in_stock, options, passes);
        if !passes.all() {
            return;
        }
        self.total += 1;
        if self.keep == 0 {
            return;
        }
        let primary = match self.query.sort {
            // A score is never negative, so its bits order as it does.
            Sort::Relevance => u64::from(score.to_bits()),
            Sort::PriceAsc => u64::MAX - price,
            Sort::PriceDesc => price,
            Sort::Newest => 0,
        };
        let rank = (primary, self.created.first(doc).unwrap_or_default(), Reverse(DocAddress::new(self.segment, doc)));
        if self.best.len() < self.keep {
            self.best.push(Reverse(rank));
        } else if self.best.peek().is_some_and(|Reverse(worst)| rank > *worst) {
            self.best.pop();
            self.best.push(Reverse(rank));
        }
    }

    fn harvest(self) -> SegmentFruit {
        let (categories, options) = (self.categories, self.options);
        let named = |column: &StrColumn, ord: u64| {
            let mut name = String::new();
            let _ = column.ord_to_str(ord, &mut name);
            name
        };
        let tally = self.tally.named(|ord| named(&categories, ord), |ord| named(&options, ord));
        SegmentFruit { best: self.best.into_iter().map(|Reverse(rank)| rank).collect(), total: self.total, tally }
    }
}

impl SegmentGather {
    /// The option filter that names the option of term number `term`, if any.
    fn filter_of(&mut self, term: u64) -> Option<usize> {
        if self.query.options.is_empty() {
            return None;
        }
        let slot = self.filter_of.get_mut(term as usize)?;
        if slot.is_none() {
            let mut text = String::new();
            let _ = self.options.ord_to_str(term, &mut text);
            *slot = Some(option_of(&text).and_then(|(name, _)| self.query.option_filter(name)));
        }
        slot.expect("looked up above")
    }
}
