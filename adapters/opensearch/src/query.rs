//! Searches as OpenSearch's query DSL, and its answers as the port's types.

use anyhow::Context;
use serde_json::{Value, json};
use shop::search::{
    DESCRIPTION_EXACT, DESCRIPTION_NEAR, FacetTally, Highlight, Hit, NAME_EXACT, NAME_NEAR, PRICE_BUCKETS, SKU_EXACT,
    SearchQuery, SearchResults, Sort, Suggestion, as_sku, edits, option_of, option_term, words,
};

/// A word's best match in one field: exact, within its edits, or (the last word) as a prefix.
fn in_field(field: &str, word: &str, last: bool, exact: f32, near: f32) -> Value {
    let scored = |query: Value, boost: f32| json!({ "constant_score": { "filter": query, "boost": boost } });
    let mut ways = vec![scored(json!({ "match": { field: { "query": word } } }), exact)];
    if edits(word) > 0 {
        let fuzzy =
            json!({ "match": { field: { "query": word, "fuzziness": edits(word), "fuzzy_transpositions": true } } });
        ways.push(scored(fuzzy, near));
    }
    if last {
        ways.push(scored(json!({ "match_bool_prefix": { field: { "query": word } } }), near));
    }
    json!({ "dis_max": { "queries": ways } })
}

/// Every word of `text` matching the name or (with `description`) the description.
fn matching(text: &str, description: bool) -> Value {
    let words: Vec<&str> = words(text).collect();
    if words.is_empty() {
        return json!({ "match_all": {} });
    }
    let each: Vec<Value> = words
        .iter()
        .enumerate()
        .map(|(i, word)| {
            let last = i + 1 == words.len();
            let mut either = vec![in_field("name", word, last, NAME_EXACT, NAME_NEAR)];
            if description {
                either.push(in_field("description", word, last, DESCRIPTION_EXACT, DESCRIPTION_NEAR));
            }
            json!({ "bool": { "should": either, "minimum_should_match": 1 } })
        })
        .collect();
    json!({ "bool": { "must": each } })
}

/// A filter a facet leaves out of its own count.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Skip {
    Category,
    Price,
    Stock,
    /// The option filter at this place in [`SearchQuery::options`].
    Option(usize),
    None,
}

/// The filters but `skip`.
fn filters(query: &SearchQuery, skip: Skip) -> Value {
    let mut all = Vec::new();
    if let (Some(c), false) = (&query.category, skip == Skip::Category) {
        all.push(json!({ "term": { "category": c } }));
    }
    if (query.min_price.is_some() || query.max_price.is_some()) && skip != Skip::Price {
        all.push(json!({ "range": { "price": { "gte": query.min_price, "lte": query.max_price } } }));
    }
    if let (Some(in_stock), false) = (query.in_stock, skip == Skip::Stock) {
        all.push(json!({ "term": { "in_stock": in_stock } }));
    }
    for (i, (name, values)) in query.options.iter().enumerate() {
        if skip != Skip::Option(i) {
            let terms: Vec<String> = values.iter().map(|v| option_term(name.as_str(), v.as_str())).collect();
            all.push(json!({ "terms": { "options": terms } }));
        }
    }
    json!({ "bool": { "filter": all } })
}

/// The words, or the whole query as one of the variants' SKUs.
fn words_or_sku(text: &str) -> Value {
    let words = matching(text, true);
    match as_sku(text) {
        Some(sku) => json!({ "bool": { "should": [
            words,
            { "constant_score": { "filter": { "term": { "skus": sku } }, "boost": SKU_EXACT } },
        ], "minimum_should_match": 1 } }),
        None => words,
    }
}

fn order(sort: Sort) -> Value {
    match sort {
        Sort::Relevance => json!([{ "_score": "desc" }, { "created": "desc" }]),
        Sort::PriceAsc => json!([{ "price": "asc" }, { "created": "desc" }]),
        Sort::PriceDesc => json!([{ "price": "desc" }, { "created": "desc" }]),
        Sort::Newest => json!([{ "created": "desc" }]),
    }
}

/// The search: the words select, the filters narrow the hits (`post_filter`), and each facet
/// counts what its filter's siblings let through.
pub fn search(query: &SearchQuery) -> Value {
    let ranges: Vec<Value> = PRICE_BUCKETS
        .iter()
        .map(|(from, to)| match to {
            Some(to) => json!({ "from": from, "to": to }),
            None => json!({ "from": from }),
        })
        .collect();
    let facet = |skip: Skip, count: Value| json!({ "filter": filters(query, skip), "aggs": { "values": count } });
    let options = json!({ "terms": { "field": "options", "size": 1000 } });
    let mut aggs = json!({
        "category": facet(Skip::Category, json!({ "terms": { "field": "category", "size": 500 } })),
        "price": facet(Skip::Price, json!({ "range": { "field": "price", "ranges": ranges } })),
        "in_stock": facet(Skip::Stock, json!({ "terms": { "field": "in_stock" } })),
        "options": facet(Skip::None, options.clone()),
    });
    // A filtered option's values are counted without its own filter.
    for i in 0..query.options.len() {
        aggs[format!("option_{i}")] = facet(Skip::Option(i), options.clone());
    }
    json!({
        "from": query.offset,
        "size": query.limit,
        "track_total_hits": true,
        "query": words_or_sku(&query.text),
        "post_filter": filters(query, Skip::None),
        "sort": order(query.sort),
        "_source": ["product"],
        "aggs": aggs,
        "highlight": {
            "encoder": "html",
            "pre_tags": ["<em>"],
            "post_tags": ["</em>"],
            // The words themselves are marked, not what they matched fuzzily.
            "highlight_query": { "multi_match": { "query": query.text, "fields": ["name", "description"] } },
            "fields": { "name": { "number_of_fragments": 0 }, "description": { "fragment_size": 200, "number_of_fragments": 1 } },
        },
    })
}

pub fn results(query: &SearchQuery, answer: &Value) -> anyhow::Result<SearchResults> {
    let items = answer["hits"]["hits"]
        .as_array()
        .context("hits")?
        .iter()
        .map(|hit| {
            let product = serde_json::from_value(hit["_source"]["product"].clone())?;
            let marked = |field: &str| hit["highlight"][field][0].as_str().map(str::to_owned);
            Ok(Hit { product, highlight: Highlight { name: marked("name"), description: marked("description") } })
        })
        .collect::<anyhow::Result<_>>()?;
    let buckets =
        |facet: &str| answer["aggregations"][facet]["values"]["buckets"].as_array().cloned().unwrap_or_default();
    let mut tally = FacetTally::default();
    for bucket in buckets("category") {
        let name = bucket["key"].as_str().context("a category")?.to_owned();
        tally.categories.insert(name, bucket["doc_count"].as_u64().unwrap_or_default());
    }
    for (slot, bucket) in tally.prices.iter_mut().zip(buckets("price")) {
        *slot = bucket["doc_count"].as_u64().unwrap_or_default();
    }
    for bucket in buckets("in_stock") {
        let count = bucket["doc_count"].as_u64().unwrap_or_default();
        match bucket["key_as_string"].as_str() {
            Some("true") => tally.in_stock.in_stock = count,
            _ => tally.in_stock.sold_out = count,
        }
    }
    for bucket in buckets("options") {
        let term = bucket["key"].as_str().context("an option value")?;
        if option_of(term).and_then(|(name, _)| query.option_filter(name)).is_none() {
            tally.options.insert(term.to_owned(), bucket["doc_count"].as_u64().unwrap_or_default());
        }
    }
    for i in 0..query.options.len() {
        for bucket in buckets(&format!("option_{i}")) {
            let term = bucket["key"].as_str().context("an option value")?;
            if option_of(term).and_then(|(name, _)| query.option_filter(name)) == Some(i) {
                tally.options.insert(term.to_owned(), bucket["doc_count"].as_u64().unwrap_or_default());
            }
        }
    }
    let total = answer["hits"]["total"]["value"].as_u64().context("the total")?;
    Ok(SearchResults { items, total, facets: tally.facets() })
}

/// Names completing `text`: its words in the name, the last as a prefix.
pub fn suggest(text: &str, limit: usize) -> Option<Value> {
    words(text).next()?;
    Some(json!({
        "size": limit,
        "query": matching(text, false),
        "sort": order(Sort::Relevance),
        "_source": ["id", "product.name"],
    }))
}

pub fn suggestions(answer: &Value) -> anyhow::Result<Vec<Suggestion>> {
    answer["hits"]["hits"]
        .as_array()
        .context("hits")?
        .iter()
        .map(|hit| {
            let source = &hit["_source"];
            let text = source["product"]["name"].as_str().context("a name")?.to_owned();
            Ok(Suggestion { text, product_id: serde_json::from_value(source["id"].clone())? })
        })
        .collect()
}
