//! Search on 100,000 generated products of three variants each (three sizes, one of three
//! colours): indexing throughput, and the latency of a two-word query with one typo, a category
//! filter, a price range, every other query a size, and every facet (the options' included), on
//! tantivy (in process) and on the OpenSearch node `SHOP_TEST_OPENSEARCH` names, side by side.

use std::sync::Arc;
use std::time::{Duration, Instant};

use shop::catalog::Product;
use shop::domain::CategorySlug;
use shop::search::{SearchIndex, SearchQuery, contract};

const PRODUCTS: usize = 100_000;
const QUERIES: usize = 2_000;
const BATCH: usize = 1_000;

const ADJECTIVES: &[&str] = &[
    "brass", "copper", "walnut", "linen", "woollen", "ceramic", "glass", "leather", "bamboo", "marble", "velvet",
    "silver", "golden", "rustic", "modern", "vintage", "compact", "folding", "portable", "enamel",
];
const NOUNS: &[&str] = &[
    "lamp",
    "kettle",
    "notebook",
    "blanket",
    "teapot",
    "lantern",
    "backpack",
    "candle",
    "clock",
    "mirror",
    "basket",
    "pillow",
    "bottle",
    "skillet",
    "journal",
    "umbrella",
    "wallet",
    "speaker",
    "planter",
    "stool",
    "cushion",
    "tumbler",
    "saucepan",
    "bookshelf",
    "headphones",
    "keyboard",
    "sketchbook",
    "thermos",
    "colander",
    "doormat",
];
const WORDS: &[&str] = &[
    "handmade",
    "durable",
    "light",
    "warm",
    "recycled",
    "sturdy",
    "soft",
    "classic",
    "elegant",
    "practical",
    "everyday",
    "gift",
    "travel",
    "kitchen",
    "garden",
    "office",
    "studio",
    "finish",
    "design",
    "quality",
];
const CATEGORIES: usize = 20;
const SIZES: [&str; 3] = ["S", "M", "L"];
const COLOURS: [&str; 3] = ["Black", "White", "Blue"];

/// A small deterministic generator (xorshift), so every run indexes the same catalogue.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

fn catalogue() -> Vec<Product> {
    let mut rng = Rng(0x5eed);
    (0..PRODUCTS)
        .map(|i| {
            let name = format!("{} {} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS), i);
            let description: Vec<&str> = (0..12).map(|_| rng.pick(WORDS)).collect();
            let category = format!("category-{}", rng.below(CATEGORIES));
            let price = 100 + rng.below(50_000) as i64;
            let stock = if rng.below(5) == 0 { 0 } else { 1 + rng.below(50) as i64 };
            let colour = rng.pick(&COLOURS);
            let skus: Vec<String> = SIZES.iter().map(|size| format!("GEN-{i}-{size}")).collect();
            let values: Vec<[(&str, &str); 2]> =
                SIZES.iter().map(|size| [("Size", *size), ("Colour", colour)]).collect();
            let rows: Vec<contract::VariantRow> =
                (0..3).map(|k| (skus[k].as_str(), &values[k][..], price + 100 * k as i64, stock)).collect();
            contract::with_variants(contract::product(&name, &description.join(" "), &category, price, stock), &rows)
        })
        .collect()
}

/// The queries: an adjective and a noun with two letters of the noun swapped (one edit), one
/// category, a price range of 100.00, every facet.
fn queries() -> Vec<SearchQuery> {
    let mut rng = Rng(0xfeed);
    (0..QUERIES)
        .map(|_| {
            let noun = rng.pick(NOUNS);
            let at = 1 + rng.below(noun.len() - 2);
            let mut letters: Vec<char> = noun.chars().collect();
            letters.swap(at, at + 1);
            let typo: String = letters.into_iter().collect();
            let text = format!("{} {typo}", rng.pick(ADJECTIVES));
            let min = rng.below(40_000) as u64;
            let mut query = SearchQuery::new(&text, 0, 20).unwrap().prices(Some(min), Some(min + 10_000)).unwrap();
            query.category = Some(CategorySlug::parse(&format!("category-{}", rng.below(CATEGORIES))).unwrap());
            if rng.below(2) == 0 {
                query = query.options(&format!("Size:{}", rng.pick(&SIZES))).unwrap();
            }
            query
        })
        .collect()
}

/// Fills the index by a rebuild in batches; answers products per second.
async fn index(engine: &dyn SearchIndex, products: &[Product]) -> f64 {
    let started = Instant::now();
    let mut rebuild = engine.rebuild().await.unwrap();
    for batch in products.chunks(BATCH) {
        rebuild.add(batch).await.unwrap();
    }
    rebuild.swap().await.unwrap();
    products.len() as f64 / started.elapsed().as_secs_f64()
}

/// Runs every query once to warm up, then again timed; answers the sorted latencies and the
/// mean number of results.
async fn latencies(engine: &dyn SearchIndex, queries: &[SearchQuery]) -> (Vec<Duration>, f64) {
    for query in queries.iter().take(200) {
        engine.search(query).await.unwrap();
    }
    let mut times = Vec::with_capacity(queries.len());
    let mut found = 0;
    for query in queries {
        let started = Instant::now();
        let results = engine.search(query).await.unwrap();
        times.push(started.elapsed());
        found += results.total;
    }
    times.sort();
    (times, found as f64 / queries.len() as f64)
}

pub async fn run() {
    let products = catalogue();
    let queries = queries();
    let mut engines: Vec<(&str, Arc<dyn SearchIndex>)> = Vec::new();
    let root = std::env::temp_dir().join(format!("shop-bench-search-{}", ulid::Ulid::new()));
    engines.push(("tantivy", Arc::new(shop_tantivy::TantivyIndex::open(&root).unwrap().0)));
    match std::env::var("SHOP_TEST_OPENSEARCH") {
        Ok(endpoint) => {
            let alias = format!("bench-{}", ulid::Ulid::new().to_string().to_lowercase());
            let config =
                shop_opensearch::Config { endpoint, alias, region: "us-east-1".into(), wait_for_refresh: false };
            engines.push(("OpenSearch", Arc::new(shop_opensearch::OpenSearch::new(config, None).unwrap())));
        }
        Err(_) => println!("\n(OpenSearch skipped: set SHOP_TEST_OPENSEARCH to a node, e.g. scripts/search-node)"),
    }
    println!(
        "\n## Search: {PRODUCTS} generated products of 3 variants each; {QUERIES} queries of two words (one \
         with a typo), a category, a price range, every other one a size, and every facet"
    );
    println!("| engine | indexing (bulk rebuild) | p50 | p90 | p99 | mean results |");
    println!("|---|---|---|---|---|---|");
    for (name, engine) in &engines {
        let rate = index(&**engine, &products).await;
        let (times, mean) = latencies(&**engine, &queries).await;
        let ms = |p| super::percentile(&times, p).as_secs_f64() * 1e3;
        println!(
            "| {name} | {rate:.0} products/s | {:.2} ms | {:.2} ms | {:.2} ms | {mean:.1} |",
            ms(0.5),
            ms(0.9),
            ms(0.99)
        );
    }
    let _ = std::fs::remove_dir_all(root);
}
