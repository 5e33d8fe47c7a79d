//! The first start's content: a demo catalogue and the administrator's account.

use shop::catalog::{Catalog, NewProduct, ProductDraft, VariantDraft};
use shop::domain::{
    CategorySlug, Currency, Description, Email, ImageUrl, Label, Money, Name, OptionValues, Password, ProductOption,
    Sku, Stock, TaxClass,
};
use shop::identity::{Identity, IdentityError, NewAccount};
use shop::pricing::{Pricing, TaxRule};
use shop::users::{UserProfile, Users};

const CATALOGUE: &[(&str, &str, &[&str])] = &[
    (
        "apparel",
        "TEE",
        &[
            "Organic Cotton T-Shirt",
            "Merino Wool Sweater",
            "Denim Jacket",
            "Linen Shirt",
            "Rain Shell",
            "Fleece Hoodie",
            "Chino Trousers",
            "Wool Socks (3 pack)",
        ],
    ),
    (
        "electronics",
        "ELEC",
        &[
            "Wireless Earbuds",
            "USB-C Charger 65W",
            "Mechanical Keyboard",
            "4K Webcam",
            "Portable SSD 1TB",
            "Bluetooth Speaker",
            "E-Reader",
            "Smart Plug (2 pack)",
        ],
    ),
    (
        "home-garden",
        "HOME",
        &[
            "Cast Iron Skillet",
            "French Press",
            "Linen Bedding Set",
            "Ceramic Planter",
            "Garden Shears",
            "Scented Candle",
            "Bamboo Cutting Board",
            "Wool Throw Blanket",
        ],
    ),
    (
        "books",
        "BOOK",
        &[
            "The Pragmatic Programmer",
            "Designing Data-Intensive Applications",
            "Zero to Production in Rust",
            "Rust for Rustaceans",
            "The Mythical Man-Month",
            "Domain-Driven Design",
            "Release It!",
            "Working Effectively with Legacy Code",
        ],
    ),
    (
        "sports",
        "SPORT",
        &[
            "Yoga Mat",
            "Running Shoes",
            "Water Bottle 750ml",
            "Resistance Bands",
            "Cycling Gloves",
            "Trail Backpack 20L",
            "Jump Rope",
            "Foam Roller",
        ],
    ),
    (
        "toys",
        "TOY",
        &[
            "Wooden Building Blocks",
            "Puzzle 1000 Pieces",
            "Plush Bear",
            "Kite",
            "Marble Run",
            "Watercolour Set",
            "Card Game",
            "Toy Train Set",
        ],
    ),
];

/// The sizes apparel comes in, each a variant; the T-shirt comes in colours too.
const SIZES: [&str; 3] = ["S", "M", "L"];
const COLOURS: [&str; 2] = ["Black", "White"];

/// `product`, the `i`-th of `prefix` and the `n`-th of the catalogue, with its options and
/// variants: apparel by size (the first also by colour), the rest one variant.
fn with_variants(product: ProductDraft, prefix: &str, i: usize, n: usize) -> anyhow::Result<NewProduct> {
    let labels = |values: &[&str]| values.iter().map(|v| Label::parse(v)).collect::<Result<Vec<_>, _>>();
    let mut options = Vec::new();
    if prefix == "TEE" {
        options.push(ProductOption { name: Label::parse("Size")?, values: labels(&SIZES)? });
        if i == 0 {
            options.push(ProductOption { name: Label::parse("Colour")?, values: labels(&COLOURS)? });
        }
    }
    let mut combinations: Vec<OptionValues> = vec![OptionValues::new()];
    for option in &options {
        combinations = combinations
            .into_iter()
            .flat_map(|c| {
                option.values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.insert(option.name.clone(), v.clone());
                    c
                })
            })
            .collect();
    }
    let base = 499 + (n as i64 * 737) % 15_000;
    let variants = combinations
        .into_iter()
        .enumerate()
        .map(|(k, values)| {
            let suffix: String = values.values().map(|v| format!("-{v}")).collect();
            let draft = VariantDraft {
                sku: Sku::parse(&format!("{prefix}-{:03}{suffix}", i + 1))?,
                options: values,
                price: Money::price(base + 200 * k as i64, Currency::EUR)?,
                weight_grams: 100 + (n as u32 * 53) % 2_000,
                tax_class: if prefix == "BOOK" { TaxClass::Reduced } else { TaxClass::Standard },
                images: Vec::new(),
            };
            Ok((draft, Stock::new(5 + ((n + k) as i64 * 37) % 200)?))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(NewProduct { product, options, variants })
}

/// Fills an empty catalogue with 48 products in 6 categories; answers how many it added.
pub async fn catalogue(catalog: &Catalog) -> anyhow::Result<usize> {
    let (existing, _) = catalog.list(None, 1, None).await?;
    if !existing.is_empty() {
        return Ok(0);
    }
    let mut added = 0;
    for (c, (category, prefix, names)) in CATALOGUE.iter().enumerate() {
        for (i, name) in names.iter().enumerate() {
            let n = c * 8 + i;
            let draft = ProductDraft {
                name: Name::parse(name)?,
                description: Description::parse(&format!("{name}: a demo product of the {category} category."))?,
                category: CategorySlug::parse(category)?,
                images: vec![ImageUrl::parse(&format!("https://images.example.com/{category}/{}.jpg", i + 1))?],
                attributes: [("brand".to_owned(), "Demo".to_owned())].into(),
                active: true,
            };
            catalog
                .create(with_variants(draft, prefix, i, n)?)
                .await
                .map_err(|e| anyhow::anyhow!("seeding {name}: {e}"))?;
            added += 1;
        }
    }
    Ok(added)
}

/// Gives a shop without pricing settings the demo's: prices with VAT included, the VAT rates
/// of a few EU countries, and two zones (Germany; the rest of the EU named) with standard and
/// express options. Answers whether it did.
pub async fn pricing(pricing: &Pricing) -> anyhow::Result<bool> {
    let settings = pricing.read().await?;
    if settings.tax.version > 0 || settings.shipping.version > 0 {
        return Ok(false);
    }
    let rates: Vec<TaxRule> = serde_json::from_value(serde_json::json!([
        {"country": "DE", "class": "standard", "rate": "19"}, {"country": "DE", "class": "reduced", "rate": "7"},
        {"country": "AT", "class": "standard", "rate": "20"}, {"country": "AT", "class": "reduced", "rate": "10"},
        {"country": "FR", "class": "standard", "rate": "20"}, {"country": "FR", "class": "reduced", "rate": "5.5"},
        {"country": "NL", "class": "standard", "rate": "21"}, {"country": "NL", "class": "reduced", "rate": "9"},
        {"country": "IT", "class": "standard", "rate": "22"}, {"country": "IT", "class": "reduced", "rate": "4"},
        {"country": "ES", "class": "standard", "rate": "21"}, {"country": "ES", "class": "reduced", "rate": "4"},
    ]))?;
    pricing.set_tax(true, rates, Some(0)).await?;
    let eur = |cents: i64| serde_json::json!({"amount": cents, "currency": "EUR"});
    let zones = serde_json::json!([
        {"id": "de", "name": "Germany", "countries": ["DE"], "options": [
            {"id": "de-standard", "name": "Standard", "min_days": 2, "max_days": 4,
             "rate": {"type": "flat", "price": eur(490)}, "free_above": eur(5000)},
            {"id": "de-express", "name": "Express", "min_days": 1, "max_days": 1,
             "rate": {"type": "weight", "bands": [
                 {"up_to_grams": 2000, "price": eur(990)}, {"up_to_grams": 10000, "price": eur(1490)}]}}]},
        {"id": "eu", "name": "European Union", "countries": ["AT", "FR", "NL", "IT", "ES", "BE", "LU", "DK"], "options": [
            {"id": "eu-standard", "name": "Standard", "min_days": 3, "max_days": 7,
             "rate": {"type": "subtotal", "bands": [{"from": eur(0), "price": eur(990)}, {"from": eur(10000), "price": eur(0)}]}}]},
    ]);
    for (n, zone) in zones.as_array().expect("a list").iter().enumerate() {
        pricing.put_zone(serde_json::from_value(zone.clone())?, Some(n as u64)).await?;
    }
    Ok(true)
}

/// Makes sure the administrator exists and is in the admin group. Answers the password when
/// this call created the account with a generated one.
pub async fn admin(
    identity: &dyn Identity,
    users: &Users,
    email: &str,
    password: Option<&str>,
) -> anyhow::Result<Option<String>> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("SHOP_ADMIN_EMAIL {e}"))?;
    let generated = password.is_none().then(generate_password);
    let chosen = password.map(str::to_owned).or_else(|| generated.clone()).expect("one of them");
    let password = Password::parse(&chosen).map_err(|e| anyhow::anyhow!("SHOP_ADMIN_PASSWORD {e}"))?;
    let account = NewAccount { email: email.clone(), password, name: Name::parse("Shop Admin")?, phone: None };
    let created = match identity.create_user(&account).await {
        Ok(id) => {
            users.create(&UserProfile::new(id, email.clone(), account.name.clone(), None), true).await?;
            true
        }
        Err(IdentityError::EmailTaken) => false,
        Err(e) => return Err(e.into()),
    };
    let admin = identity.user_by_email(&email).await?.ok_or_else(|| anyhow::anyhow!("the admin account vanished"))?;
    let mut roles = identity.roles(&admin).await?;
    if !roles.contains(&shop::domain::Role::Admin) {
        roles.push(shop::domain::Role::Admin);
        identity.set_roles(&admin, &roles).await?;
    }
    Ok(if created { generated } else { None })
}

fn generate_password() -> String {
    use base64::Engine;
    let bytes: [u8; 18] = rand::random();
    format!("Aa1-{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}
