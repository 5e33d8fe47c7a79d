//! The search contract: what every engine must do, as one suite. [`search_contract!`] turns it
//! into tests for an engine; `shop-tantivy` runs it on tantivy, the cross-service tests on a
//! real OpenSearch node. Each check is given an empty index of its own.

use std::collections::BTreeMap;

use super::{Change, SearchIndex, SearchQuery, Sort, Suggestion};
use crate::domain::Product;
use crate::domain::{
    CategorySlug, Currency, Description, Label, Money, Name, OptionValues, ProductId, ProductOption, Sku, Stock,
    Variant, VariantId,
};
use crate::time::Timestamp;

/// A product as the catalogue would hold it, created `age` seconds before now.
pub fn product(name: &str, description: &str, category: &str, price: i64, stock: i64) -> Product {
    let now = Timestamp::now();
    let id = ProductId::new();
    let price = Money::price(price, Currency::parse("EUR").expect("EUR")).expect("a valid price");
    let variant = Variant {
        id: VariantId::new(),
        sku: Sku::parse(&format!("SKU-{}", &id.to_string()[14..])).expect("a valid SKU"),
        options: OptionValues::new(),
        price,
        stock: Stock::new(stock).expect("a valid stock"),
        weight_grams: 0,
        tax_class: Default::default(),
        images: Vec::new(),
    };
    Product {
        id,
        name: Name::parse(name).expect("a valid name"),
        description: Description::parse(description).expect("a valid description"),
        category: CategorySlug::parse(category).expect("a valid category"),
        images: Vec::new(),
        attributes: BTreeMap::new(),
        active: true,
        options: Vec::new(),
        variants: Vec::new(),
        media: Vec::new(),
        price,
        max_price: price,
        stock: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    }
    .with_variants(vec![variant])
}

async fn put(index: &dyn SearchIndex, products: &[&Product]) {
    let changes: Vec<Change> = products.iter().map(|&p| Change::Put(Box::new(p.clone()))).collect();
    index.apply(&changes).await.unwrap();
}

async fn names(index: &dyn SearchIndex, query: &SearchQuery) -> Vec<String> {
    let results = index.search(query).await.unwrap();
    results.items.into_iter().map(|hit| hit.product.name.to_string()).collect()
}

fn q(text: &str) -> SearchQuery {
    SearchQuery::new(text, 0, 20).unwrap()
}

pub async fn words_match_with_typos_and_a_prefix(index: &dyn SearchIndex) {
    let lamp = product("Brass desk lamp", "A warm light for late work", "lamps", 4_900, 3);
    let notebook = product("Dotted notebook", "Recycled paper, lay-flat binding", "paper", 1_200, 10);
    let mug = product("Enamel mug", "Holds a big coffee", "kitchen", 900, 0);
    put(index, &[&lamp, &notebook, &mug]).await;
    assert_eq!(names(index, &q("brass lamp")).await, ["Brass desk lamp"]);
    assert_eq!(names(index, &q("BRASS Lamp")).await, ["Brass desk lamp"], "case does not matter");
    assert_eq!(names(index, &q("bras lmap")).await, ["Brass desk lamp"], "one edit at 4 to 7 letters");
    assert_eq!(names(index, &q("nottebok")).await, ["Dotted notebook"], "two edits from 8 letters");
    assert!(names(index, &q("notbeo")).await.is_empty(), "a 6-letter word is one edit off at most");
    assert!(names(index, &q("mig")).await.is_empty(), "words under 4 letters match exactly");
    assert_eq!(names(index, &q("enamel m")).await, ["Enamel mug"], "the last word is a prefix");
    assert!(names(index, &q("brass mug")).await.is_empty(), "every word must match");
    assert_eq!(names(index, &q("recycled")).await, ["Dotted notebook"], "descriptions match too");
    assert_eq!(index.search(&q("")).await.unwrap().total, 3, "no words: everything");
}

pub async fn accents_fold(index: &dyn SearchIndex) {
    let cafe = product("Café crème cups", "Porcelain, set of two", "kitchen", 1_900, 4);
    put(index, &[&cafe]).await;
    assert_eq!(names(index, &q("cafe creme")).await, ["Café crème cups"]);
    assert_eq!(names(index, &q("CAFÉ")).await, ["Café crème cups"]);
}

pub async fn exact_and_name_matches_rank_first(index: &dyn SearchIndex) {
    let fuzzy = product("Lantern", "Camping light", "outdoor", 2_000, 1);
    let exact = product("Lanterns", "A pair for the garden", "outdoor", 2_000, 1);
    let in_description = product("Garden torch", "Brighter than lanterns", "outdoor", 2_000, 1);
    put(index, &[&fuzzy, &in_description, &exact]).await;
    let found = names(index, &q("lanterns")).await;
    assert_eq!(found, ["Lanterns", "Lantern", "Garden torch"], "exact name, fuzzy name, then description");
}

pub async fn filters_narrow_and_facets_count_the_others(index: &dyn SearchIndex) {
    let cheap = product("Paper lamp", "Rice paper shade", "lamps", 900, 5);
    let dear = product("Brass lamp", "Solid brass", "lamps", 30_000, 0);
    let mid = product("Lamp oil", "For paraffin lamps", "supplies", 1_500, 2);
    let other = product("Teapot", "Cast iron", "kitchen", 4_000, 1);
    put(index, &[&cheap, &dear, &mid, &other]).await;

    let mut query = q("lamp");
    query.category = Some(CategorySlug::parse("lamps").unwrap());
    query.in_stock = Some(true);
    let results = index.search(&query).await.unwrap();
    let found: Vec<_> = results.items.iter().map(|h| h.product.name.to_string()).collect();
    assert_eq!(found, ["Paper lamp"]);
    assert_eq!(results.total, 1);
    let categories: Vec<_> = results.facets.category.iter().map(|f| (f.value.as_str(), f.count)).collect();
    assert_eq!(categories, [("lamps", 1), ("supplies", 1)], "in stock, any category");
    let prices: Vec<u64> = results.facets.price.iter().map(|p| p.count).collect();
    assert_eq!(prices, [1, 0, 0, 0, 0, 0], "lamps in stock, any price");
    assert_eq!((results.facets.in_stock.in_stock, results.facets.in_stock.sold_out), (1, 1), "lamps, any stock");

    let priced = q("").prices(Some(1_000), Some(4_000)).unwrap();
    let mut found = names(index, &priced).await;
    found.sort();
    assert_eq!(found, ["Lamp oil", "Teapot"], "the range includes both ends");
}

pub async fn sorts_and_pages(index: &dyn SearchIndex) {
    let mut products = Vec::new();
    for (i, price) in [3_000, 1_000, 2_000, 5_000, 4_000].into_iter().enumerate() {
        let mut p = product(&format!("Candle {i}"), "Beeswax", "candles", price, 1);
        p.created_at = Timestamp::at(*p.created_at + time::Duration::seconds(i as i64));
        products.push(p);
    }
    put(index, &products.iter().collect::<Vec<_>>()).await;
    let sorted = |sort| {
        let mut query = q("candle");
        query.sort = sort;
        query
    };
    assert_eq!(
        names(index, &sorted(Sort::PriceAsc)).await,
        ["Candle 1", "Candle 2", "Candle 0", "Candle 4", "Candle 3"]
    );
    assert_eq!(
        names(index, &sorted(Sort::PriceDesc)).await,
        ["Candle 3", "Candle 4", "Candle 0", "Candle 2", "Candle 1"]
    );
    assert_eq!(names(index, &sorted(Sort::Newest)).await, ["Candle 4", "Candle 3", "Candle 2", "Candle 1", "Candle 0"]);
    let mut page = SearchQuery::new("candle", 2, 2).unwrap();
    page.sort = Sort::PriceAsc;
    let results = index.search(&page).await.unwrap();
    assert_eq!(results.total, 5);
    let found: Vec<_> = results.items.iter().map(|h| h.product.name.to_string()).collect();
    assert_eq!(found, ["Candle 0", "Candle 4"]);
}

pub async fn results_are_whole_products_with_highlights(index: &dyn SearchIndex) {
    let mut lamp = product("Brass <b>desk</b> lamp", "A lamp & a shade", "lamps", 4_900, 3);
    lamp.attributes.insert("colour".into(), "gold".into());
    put(index, &[&lamp]).await;
    let results = index.search(&q("lamp")).await.unwrap();
    assert_eq!(results.items.len(), 1);
    assert_eq!(results.items[0].product, lamp, "the product as the catalogue holds it");
    let name = results.items[0].highlight.name.as_deref().expect("the name is highlighted");
    assert!(name.contains("<em>lamp</em>"), "{name}");
    assert!(name.contains("&lt;b&gt;desk&lt;") && !name.contains("<b>"), "the product's own text is escaped: {name}");
}

pub async fn revisions_never_go_back(index: &dyn SearchIndex) {
    let mut lamp = product("Brass lamp", "", "lamps", 4_900, 3);
    lamp.version = 3;
    put(index, &[&lamp]).await;
    let mut older = lamp.clone();
    older.version = 2;
    older.name = Name::parse("Copper lamp").unwrap();
    put(index, &[&older]).await;
    assert_eq!(names(index, &q("lamp")).await, ["Brass lamp"], "an older put changes nothing");
    index.apply(&[Change::Remove { id: lamp.id, revision: 2 }]).await.unwrap();
    assert_eq!(names(index, &q("lamp")).await, ["Brass lamp"], "an older removal changes nothing");
    let mut renamed = lamp.clone();
    renamed.version = 4;
    renamed.name = Name::parse("Steel lamp").unwrap();
    put(index, &[&renamed]).await;
    assert_eq!(names(index, &q("lamp")).await, ["Steel lamp"]);
    assert!(names(index, &q("brass")).await.is_empty(), "the old name is gone");
    index.apply(&[Change::Remove { id: lamp.id, revision: 5 }]).await.unwrap();
    assert!(names(index, &q("lamp")).await.is_empty());
    put(index, &[&renamed]).await;
    assert!(names(index, &q("lamp")).await.is_empty(), "a removed product stays removed by older puts");
    let mut later = renamed.clone();
    later.version = 6;
    put(index, &[&later]).await;
    assert_eq!(names(index, &q("lamp")).await, ["Steel lamp"], "a newer revision brings it back");
}

pub async fn suggestions_complete_names(index: &dyn SearchIndex) {
    let lamp = product("Brass desk lamp", "", "lamps", 4_900, 3);
    let lantern = product("Brass lantern", "", "lamps", 2_900, 3);
    let mug = product("Enamel mug", "brass rim", "kitchen", 900, 3);
    put(index, &[&lamp, &lantern, &mug]).await;
    let mut found: Vec<Suggestion> = index.suggest("bra", 10).await.unwrap();
    found.sort_by(|a, b| a.text.cmp(&b.text));
    let expected = [
        Suggestion { text: "Brass desk lamp".into(), product_id: lamp.id },
        Suggestion { text: "Brass lantern".into(), product_id: lantern.id },
    ];
    assert_eq!(found, expected, "names only");
    let found = index.suggest("brass la", 10).await.unwrap();
    assert_eq!(found.len(), 2);
    let found = index.suggest("brass lant", 10).await.unwrap();
    assert_eq!(found, [expected[1].clone()]);
    assert_eq!(index.suggest("b", 1).await.unwrap().len(), 1, "at most the limit");
    assert!(index.suggest("", 10).await.unwrap().is_empty());
}

pub async fn a_rebuild_is_swapped_in_whole(index: &dyn SearchIndex) {
    let old = product("Old lamp", "", "lamps", 4_900, 3);
    put(index, &[&old]).await;
    let new = product("New lamp", "", "lamps", 4_900, 3);
    let mut rebuild = index.rebuild().await.unwrap();
    rebuild.add(std::slice::from_ref(&new)).await.unwrap();
    assert_eq!(names(index, &q("lamp")).await, ["Old lamp"], "the live index answers until the swap");
    rebuild.swap().await.unwrap();
    assert_eq!(names(index, &q("lamp")).await, ["New lamp"]);
    let newer = product("Newer lamp", "", "lamps", 4_900, 3);
    put(index, &[&newer]).await;
    assert_eq!(index.search(&q("lamp")).await.unwrap().total, 2, "changes go to the swapped-in index");
}

/// A variant for [`with_variants`]: its SKU, option values, price and stock.
pub type VariantRow<'a> = (&'a str, &'a [(&'a str, &'a str)], i64, i64);

/// `product` sold as variants, one per row.
pub fn with_variants(product: Product, variants: &[VariantRow]) -> Product {
    let label = |s: &str| Label::parse(s).expect("a valid label");
    let mut options: Vec<ProductOption> = Vec::new();
    let variants = variants
        .iter()
        .map(|(sku, values, price, stock)| {
            for (name, value) in *values {
                match options.iter_mut().find(|o| o.name.as_str() == *name) {
                    Some(o) if !o.values.contains(&label(value)) => o.values.push(label(value)),
                    Some(_) => {}
                    None => options.push(ProductOption { name: label(name), values: vec![label(value)] }),
                }
            }
            Variant {
                id: VariantId::new(),
                sku: Sku::parse(sku).expect("a valid SKU"),
                options: values.iter().map(|(n, v)| (label(n), label(v))).collect(),
                price: Money::price(*price, Currency::EUR).expect("a valid price"),
                stock: Stock::new(*stock).expect("a valid stock"),
                weight_grams: 0,
                tax_class: Default::default(),
                images: Vec::new(),
            }
        })
        .collect();
    let product = Product { options, ..product }.with_variants(variants);
    product.check().expect("a valid product");
    product
}

pub async fn options_facet_and_filter_and_skus_find(index: &dyn SearchIndex) {
    let tee = with_variants(
        product("Cotton tee", "Soft", "apparel", 0, 0),
        &[
            ("TEE-S-BLUE", &[("Size", "S"), ("Colour", "Blue")], 1_500, 0),
            ("TEE-M-BLUE", &[("Size", "M"), ("Colour", "Blue")], 1_700, 4),
            ("TEE-M-RED", &[("Size", "M"), ("Colour", "Red")], 1_700, 1),
        ],
    );
    let hoodie = with_variants(
        product("Fleece hoodie", "Warm", "apparel", 0, 0),
        &[("HOOD-S", &[("Size", "S")], 4_000, 2), ("HOOD-L", &[("Size", "L")], 4_500, 0)],
    );
    let mug = product("Enamel mug", "", "kitchen", 900, 5);
    put(index, &[&tee, &hoodie, &mug]).await;

    let all = index.search(&q("")).await.unwrap();
    assert_eq!(all.total, 3, "a product is found once, whatever its variants");
    let found = all.items.iter().find(|h| h.product.id == tee.id).expect("the tee");
    assert_eq!((found.product.price.amount, found.product.max_price.amount), (1_500, 1_700), "its price range");
    let facet = |results: &super::SearchResults, name: &str| -> Vec<(String, u64)> {
        let option = results.facets.options.iter().find(|o| o.name == name);
        option.map(|o| o.values.iter().map(|v| (v.value.clone(), v.count)).collect()).unwrap_or_default()
    };
    assert_eq!(facet(&all, "Size"), [("S".to_owned(), 2), ("L".to_owned(), 1), ("M".to_owned(), 1)]);
    assert_eq!(facet(&all, "Colour"), [("Blue".to_owned(), 1), ("Red".to_owned(), 1)]);

    let medium = index.search(&q("").options("Size:M").unwrap()).await.unwrap();
    assert_eq!(medium.items.iter().map(|h| h.product.name.as_str()).collect::<Vec<_>>(), ["Cotton tee"]);
    assert_eq!(facet(&medium, "Size").len(), 3, "the size filter is not applied to its own facet");
    assert_eq!(facet(&medium, "Colour"), [("Blue".to_owned(), 1), ("Red".to_owned(), 1)], "the others are");
    let either = index.search(&q("").options("Size:M,Size:L").unwrap()).await.unwrap();
    assert_eq!(either.total, 2, "values of one option are alternatives");
    let both = index.search(&q("").options("Size:S,Colour:Red").unwrap()).await.unwrap();
    assert_eq!(both.total, 1, "options are all required (by some variant each)");
    let none = index.search(&q("").options("Size:XL").unwrap()).await.unwrap();
    assert_eq!(none.total, 0);

    let by_sku = index.search(&q("tee-m-red")).await.unwrap();
    assert_eq!(by_sku.items.iter().map(|h| h.product.name.as_str()).collect::<Vec<_>>(), ["Cotton tee"]);
    assert_eq!(names(index, &q("HOOD-L")).await, ["Fleece hoodie"], "a variant's SKU finds its product");
}

/// Generates one `#[tokio::test]` per contract check for the engine `$make` builds (an
/// expression of type `Arc<dyn SearchIndex>`, an empty index, evaluated once per test).
#[macro_export]
macro_rules! search_contract {
    ($make:expr) => {
        $crate::search_contract!(@tests $make;
            words_match_with_typos_and_a_prefix, accents_fold, exact_and_name_matches_rank_first,
            filters_narrow_and_facets_count_the_others, sorts_and_pages,
            results_are_whole_products_with_highlights, revisions_never_go_back,
            suggestions_complete_names, a_rebuild_is_swapped_in_whole, options_facet_and_filter_and_skus_find);
    };
    (@tests $make:expr; $($check:ident),*) => {
        $(
            #[tokio::test]
            async fn $check() {
                let index: std::sync::Arc<dyn $crate::search::SearchIndex> = $make.await;
                $crate::search::contract::$check(&*index).await;
            }
        )*
    };
}
