//! The catalogue as CSV: exported and imported in one format, one row per variant, so an
//! export imported into an empty shop gives the same catalogue (and exports again to the same
//! file).
//!
//! The columns, named in a header row ([`COLUMNS`], any order, none unknown): `handle` groups
//! the rows of one product; `name`, `description`, `category`, `active` (`true`/`false`),
//! `attributes` (a JSON object) and `product_images` (URLs separated by spaces) are the
//! product's, read from its first row; `option1_name`/`option1_value` to `option3_*` give the
//! variant's option values (names alike on every row of a product); `sku`, `price` (a decimal
//! in the currency's units: `19.99`), `currency`, `stock`, `weight_grams`, `tax_class` (`standard`,
//! `reduced` or `zero`; empty is standard) and `variant_images` are the variant's. UTF-8 with or without a BOM, `\n` or `\r\n`, fields quoted as RFC 4180
//! says (commas, quotes and new lines inside them).
//!
//! An import matches rows by SKU: a product whose SKUs are all new is created; one whose SKUs
//! name one existing product updates it (its fields, its options, its variants by SKU, new
//! variants added); stock is set only for new variants (stock moves through the stock route).
//! A product is applied whole in one transaction, or refused whole with every line that was
//! wrong and why.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, CatalogError, Imported, NewProduct, ProductDraft, VariantDraft};
use crate::domain::{
    CategorySlug, Currency, Description, ImageUrl, Invalid, Label, Money, Name, OptionValues, Product, ProductOption,
    Sku, Stock, TaxClass,
};
use crate::keys;
use crate::objects::{Object, ObjectStore};
use crate::table::{Item, Table, Write};
use crate::time::Timestamp;

/// Every column, in the order an export writes them.
pub const COLUMNS: [&str; 20] = [
    "handle",
    "name",
    "description",
    "category",
    "active",
    "attributes",
    "product_images",
    "option1_name",
    "option1_value",
    "option2_name",
    "option2_value",
    "option3_name",
    "option3_value",
    "sku",
    "price",
    "currency",
    "stock",
    "weight_grams",
    "tax_class",
    "variant_images",
];

/// The largest file an import takes inline (about 20,000 rows of a typical catalogue): API
/// Gateway hands the body to Lambda escaped inside a JSON event of at most 6 MB.
pub const MAX_BYTES: usize = 3 * 1024 * 1024;
/// The most refused lines an import's record lists (the count goes on).
pub const MAX_LISTED: usize = 1_000;

/// A handle for each product of an export: its name as a slug, numbered from the second
/// product of one name on, in the order given.
fn handles(products: &[Product]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    products
        .iter()
        .map(|p| {
            let slug: String = p
                .name
                .as_str()
                .to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join("-");
            let slug = if slug.is_empty() { "product".to_owned() } else { slug };
            let n = seen.entry(slug.clone()).or_default();
            *n += 1;
            if *n == 1 { slug } else { format!("{slug}-{n}") }
        })
        .collect()
}

fn urls(images: &[ImageUrl]) -> String {
    images.iter().map(ImageUrl::as_str).collect::<Vec<_>>().join(" ")
}

/// The catalogue as CSV, one row per variant, products in the order given.
pub fn export(products: &[Product]) -> anyhow::Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(COLUMNS)?;
    for (product, handle) in products.iter().zip(handles(products)) {
        let attributes = serde_json::to_string(&product.attributes)?;
        for variant in &product.variants {
            let mut row: Vec<String> = vec![
                handle.clone(),
                product.name.to_string(),
                product.description.to_string(),
                product.category.to_string(),
                product.active.to_string(),
                attributes.clone(),
                urls(&product.images),
            ];
            for i in 0..3 {
                match product.options.get(i) {
                    Some(option) => {
                        row.push(option.name.to_string());
                        row.push(variant.options.get(&option.name).map(ToString::to_string).unwrap_or_default());
                    }
                    None => row.extend([String::new(), String::new()]),
                }
            }
            row.extend([
                variant.sku.to_string(),
                variant.price.decimal(),
                variant.price.currency.to_string(),
                variant.stock.get().to_string(),
                variant.weight_grams.to_string(),
                variant.tax_class.as_str().to_owned(),
                urls(&variant.images),
            ]);
            out.write_record(&row)?;
        }
    }
    Ok(out.into_inner()?)
}

/// A line of the file that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Refused {
    /// The line in the file (the header is line 1; a quoted field may span lines).
    pub line: u64,
    pub reason: String,
}

/// One product's rows, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub handle: String,
    pub lines: Vec<u64>,
    pub product: Result<NewProduct, Vec<Refused>>,
}

/// The file, read: its products in the order their handles first appear, and the lines that
/// are no product's (no handle, or the file itself unreadable there).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sheet {
    pub groups: Vec<Group>,
    pub refused: Vec<Refused>,
    pub rows: u64,
}

/// Why a file cannot be read at all (400): not UTF-8, no header, unknown or missing columns (or,
/// through the API, too large).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// Reads the file into products (of any size: the API bounds what it takes, the command line
/// does not).
pub fn read(bytes: &[u8]) -> Result<Sheet, Unreadable> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| Unreadable(format!("the file is not UTF-8: {e}")))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(bytes);
    let header = reader.headers().map_err(|e| Unreadable(format!("the header row: {e}")))?.clone();
    let mut place = BTreeMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim();
        if !COLUMNS.contains(&name) {
            return Err(Unreadable(format!("unknown column {name:?}: the columns are {}", COLUMNS.join(", "))));
        }
        if place.insert(name, i).is_some() {
            return Err(Unreadable(format!("column {name} is named twice")));
        }
    }
    for required in ["handle", "name", "category", "sku", "price", "currency"] {
        if !place.contains_key(required) {
            return Err(Unreadable(format!("column {required} is missing")));
        }
    }
    let mut sheet = Sheet::default();
    let mut lines = Lines::new(bytes);
    let mut rows: Vec<(String, Row)> = Vec::new();
    for record in reader.records() {
        sheet.rows += 1;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.at(p.byte()));
                sheet.refused.push(Refused { line, reason: format!("unreadable: {e}") });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| lines.at(p.byte()));
        // A line end inside a quoted field is a new line, whichever way the file ends its lines.
        let field = |name: &str| place.get(name).and_then(|&i| record.get(i)).unwrap_or_default().replace("\r\n", "\n");
        let row = Row { line, field: COLUMNS.iter().map(|c| (*c, field(c))).collect() };
        let handle = row.get("handle").trim().to_owned();
        if handle.is_empty() {
            sheet.refused.push(Refused { line, reason: "handle: must not be empty".into() });
            continue;
        }
        rows.push((handle, row));
    }
    let mut order: Vec<String> = Vec::new();
    let mut by_handle: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for (handle, row) in rows {
        if !by_handle.contains_key(&handle) {
            order.push(handle.clone());
        }
        by_handle.entry(handle).or_default().push(row);
    }
    for handle in order {
        let rows = by_handle.remove(&handle).expect("grouped above");
        let lines = rows.iter().map(|r| r.line).collect();
        sheet.groups.push(Group { handle, lines, product: product(&rows) });
    }
    Ok(sheet)
}

/// The lines of a file, counted as its records are read in order: the line (from 1) a record
/// starting at byte `offset` begins on, whatever its line ends (the reader's own count, and its
/// offset, stop short of a `\r\n`'s `\n`).
struct Lines<'a> {
    bytes: &'a [u8],
    counted: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, counted: 0, line: 1 }
    }

    fn at(&mut self, offset: u64) -> u64 {
        let offset = (offset as usize).min(self.bytes.len());
        let start = self.bytes[offset..].iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
        let to = offset + start;
        if to > self.counted {
            self.line += self.bytes[self.counted..to].iter().filter(|b| **b == b'\n').count() as u64;
            self.counted = to;
        }
        self.line
    }
}

/// One row's fields by column.
struct Row {
    line: u64,
    field: BTreeMap<&'static str, String>,
}

impl Row {
    fn get(&self, column: &str) -> &str {
        self.field.get(column).map(String::as_str).unwrap_or_default()
    }
}

/// What a column's text says, or why not.
fn cell<T>(row: &Row, column: &str, parse: impl FnOnce(&str) -> Result<T, Invalid>) -> Result<T, String> {
    parse(row.get(column)).map_err(|e| format!("{column}: {e}"))
}

fn images(text: &str) -> Result<Vec<ImageUrl>, Invalid> {
    let images: Vec<ImageUrl> = text.split_whitespace().map(ImageUrl::parse).collect::<Result<_, _>>()?;
    if images.len() > crate::domain::MAX_IMAGES {
        return Err(Invalid::new(format!("at most {} images", crate::domain::MAX_IMAGES)));
    }
    Ok(images)
}

fn whole<T: TryFrom<u64>>(text: &str) -> Result<T, Invalid> {
    let text = text.trim();
    if text.is_empty() {
        return T::try_from(0).map_err(|_| Invalid::new("out of range"));
    }
    let n: u64 = text.parse().map_err(|_| Invalid::new(format!("{text:?} is not a whole number")))?;
    T::try_from(n).map_err(|_| Invalid::new(format!("{n} is out of range")))
}

/// The product `rows` describe, or every line that is wrong and why.
fn product(rows: &[Row]) -> Result<NewProduct, Vec<Refused>> {
    let first = &rows[0];
    let mut refused = Vec::new();
    let mut refuse = |line: u64, reason: String| refused.push(Refused { line, reason });
    let draft = (|| -> Result<ProductDraft, String> {
        let attributes = first.get("attributes").trim();
        let attributes: BTreeMap<String, String> = if attributes.is_empty() {
            BTreeMap::new()
        } else {
            serde_json::from_str(attributes).map_err(|e| format!("attributes: not a JSON object of strings: {e}"))?
        };
        let active = match first.get("active").trim() {
            "" | "true" => true,
            "false" => false,
            other => return Err(format!("active: {other:?} is neither true nor false")),
        };
        Ok(ProductDraft {
            name: cell(first, "name", Name::parse)?,
            description: cell(first, "description", Description::parse)?,
            category: cell(first, "category", CategorySlug::parse)?,
            images: cell(first, "product_images", images)?,
            attributes,
            active,
        })
    })();
    let draft = draft.map_err(|reason| refuse(first.line, reason)).ok();
    let names: Vec<String> = (1..=3).map(|i| first.get(&format!("option{i}_name")).trim().to_owned()).collect();
    let mut options: Vec<ProductOption> = Vec::new();
    let mut variants = Vec::new();
    for row in rows {
        let variant = (|| -> Result<(VariantDraft, Stock), String> {
            let mut values = OptionValues::new();
            for (i, name) in names.iter().enumerate() {
                let (name_column, value_column) = (format!("option{}_name", i + 1), format!("option{}_value", i + 1));
                if row.get(&name_column).trim() != name {
                    return Err(format!("{name_column}: must be {name:?} as on the product's first row"));
                }
                let value = row.get(&value_column);
                match (name.is_empty(), value.trim().is_empty()) {
                    (true, true) => continue,
                    (true, false) => return Err(format!("{value_column}: a value of no option")),
                    (false, true) => return Err(format!("{value_column}: must not be empty")),
                    (false, false) => {}
                }
                let name = cell(row, &name_column, Label::parse)?;
                let value = cell(row, &value_column, Label::parse)?;
                match options.iter_mut().find(|o| o.name == name) {
                    Some(option) if !option.values.contains(&value) => option.values.push(value.clone()),
                    Some(_) => {}
                    None => options.push(ProductOption { name: name.clone(), values: vec![value.clone()] }),
                }
                values.insert(name, value);
            }
            let currency = cell(row, "currency", Currency::parse)?;
            let draft = VariantDraft {
                sku: cell(row, "sku", Sku::parse)?,
                options: values,
                price: cell(row, "price", |t| Money::parse_decimal(t, currency))?,
                weight_grams: cell(row, "weight_grams", whole::<u32>)?,
                tax_class: cell(row, "tax_class", |t| match t.trim() {
                    "" => Ok(TaxClass::Standard),
                    class => TaxClass::parse(class),
                })?,
                images: cell(row, "variant_images", images)?,
            };
            let stock = cell(row, "stock", |t| whole::<u32>(t).and_then(|n| Stock::new(i64::from(n))))?;
            Ok((draft, stock))
        })();
        match variant {
            Ok(variant) => variants.push(variant),
            Err(reason) => refuse(row.line, reason),
        }
    }
    match draft {
        Some(product) if refused.is_empty() => Ok(NewProduct { product, options, variants }),
        _ => Err(refused),
    }
}

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    /// Stored, not yet started.
    Pending,
    Running,
    /// Every product applied or refused.
    Done,
    /// The file could not be read at all (`error` says why).
    Failed,
}

/// An import's record: its progress and every line refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportStatus {
    pub id: String,
    pub state: ImportState,
    /// Rows read so far, of `rows_total` (known once the file is read).
    pub rows_done: u64,
    pub rows_total: u64,
    pub products_created: u64,
    pub products_updated: u64,
    /// Lines refused, in all; the first 1,000 are in `refused`.
    pub rows_refused: u64,
    pub refused: Vec<Refused>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ImportStatus {
    fn new(id: String) -> Self {
        let now = Timestamp::now();
        Self {
            id,
            state: ImportState::Pending,
            rows_done: 0,
            rows_total: 0,
            products_created: 0,
            products_updated: 0,
            rows_refused: 0,
            refused: Vec::new(),
            error: None,
            created_at: now,
            updated_at: now,
        }
    }

    fn refuse(&mut self, lines: impl IntoIterator<Item = Refused>) {
        for refused in lines {
            self.rows_refused += 1;
            if self.refused.len() < MAX_LISTED {
                self.refused.push(refused);
            }
        }
    }
}

/// Where an import's file is kept until it has run.
pub fn object_key(id: &str) -> String {
    format!("imports/{id}.csv")
}

/// The import an object key names, if it is an import's.
pub fn import_of(key: &str) -> Option<&str> {
    key.strip_prefix("imports/")?.strip_suffix(".csv").filter(|id| ulid::Ulid::from_string(id).is_ok())
}

/// Starts, runs and reports imports.
#[derive(Clone)]
pub struct Imports {
    table: Arc<dyn Table>,
    catalog: Catalog,
}

impl Imports {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { catalog: Catalog::new(table.clone()), table }
    }

    /// Keeps the file and records a pending import, once the file reads as CSV of these
    /// columns (a file that cannot is refused here, whole); the store's notice of the new
    /// object starts it ([`Imports::run_stored`]).
    pub async fn start(&self, objects: &dyn ObjectStore, csv: Vec<u8>) -> Result<ImportStatus, Unreadable> {
        if csv.len() > MAX_BYTES {
            return Err(Unreadable(format!("the file is larger than {MAX_BYTES} bytes")));
        }
        read(&csv)?;
        let status = ImportStatus::new(ulid::Ulid::new().to_string());
        self.save(&status).await.map_err(|e| Unreadable(format!("{e:#}")))?;
        let object = Object::new(csv, "text/csv");
        objects.put(&object_key(&status.id), object).await.map_err(|e| Unreadable(format!("{e:#}")))?;
        Ok(status)
    }

    pub async fn status(&self, id: &str) -> anyhow::Result<Option<ImportStatus>> {
        self.table.get(&keys::import(id)).await?.map(|i| i.decode()).transpose()
    }

    async fn save(&self, status: &ImportStatus) -> anyhow::Result<()> {
        let status = ImportStatus { updated_at: Timestamp::now(), ..status.clone() };
        self.table.write(Write::put(Item::new(&keys::import(&status.id), &status))).await?;
        Ok(())
    }

    /// Runs the import whose file is stored as `key`, then removes the file. Running it again
    /// (a notice delivered twice) applies nothing twice: rows match by SKU.
    pub async fn run_stored(&self, objects: &dyn ObjectStore, key: &str) -> anyhow::Result<ImportStatus> {
        let id = import_of(key).ok_or_else(|| anyhow::anyhow!("{key} is not an import's file"))?;
        let mut status = self.status(id).await?.unwrap_or_else(|| ImportStatus::new(id.to_owned()));
        let Some(file) = objects.get(key).await? else {
            anyhow::ensure!(status.state == ImportState::Done, "import {id}'s file is gone");
            return Ok(status);
        };
        self.run(&mut status, &file.bytes, &|_| {}).await?;
        objects.delete(key).await?;
        Ok(status)
    }

    /// Imports `csv` here and now (the command line's import), recorded as any import is.
    pub async fn apply(&self, csv: &[u8], progress: &(dyn Fn(&ImportStatus) + Sync)) -> anyhow::Result<ImportStatus> {
        let mut status = ImportStatus::new(ulid::Ulid::new().to_string());
        self.run(&mut status, csv, progress).await?;
        Ok(status)
    }

    /// Applies `csv` product by product, recording the progress every 100 rows (and telling
    /// `progress` the rows done after each product).
    async fn run(
        &self,
        status: &mut ImportStatus,
        csv: &[u8],
        progress: &(dyn Fn(&ImportStatus) + Sync),
    ) -> anyhow::Result<()> {
        status.state = ImportState::Running;
        let sheet = match read(csv) {
            Ok(sheet) => sheet,
            Err(unreadable) => {
                status.state = ImportState::Failed;
                status.error = Some(unreadable.0);
                return self.save(status).await;
            }
        };
        status.rows_total = sheet.rows;
        status.rows_done = sheet.refused.len() as u64;
        status.refuse(sheet.refused);
        self.save(status).await?;
        let mut saved_at = 0;
        for group in sheet.groups {
            let rows = group.lines.len() as u64;
            match group.product {
                Err(lines) => {
                    let first = lines.first().map_or(0, |l| l.line);
                    let others: Vec<Refused> = group
                        .lines
                        .iter()
                        .filter(|l| !lines.iter().any(|r| r.line == **l))
                        .map(|&line| Refused { line, reason: format!("its product is refused (line {first})") })
                        .collect();
                    let mut all: Vec<Refused> = lines.into_iter().chain(others).collect();
                    all.sort_by_key(|r| r.line);
                    status.refuse(all);
                }
                Ok(new) => match self.catalog.import(new).await {
                    Ok(Imported::Created) => status.products_created += 1,
                    Ok(Imported::Updated) => status.products_updated += 1,
                    Err(CatalogError::Store(e)) => return Err(e),
                    Err(refusal) => {
                        let reason = refusal.to_string();
                        status.refuse(group.lines.iter().map(|&line| Refused { line, reason: reason.clone() }));
                    }
                },
            }
            status.rows_done += rows;
            progress(status);
            if status.rows_done - saved_at >= 100 {
                saved_at = status.rows_done;
                self.save(status).await?;
            }
        }
        status.rows_done = status.rows_total;
        status.state = ImportState::Done;
        self.save(status).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_reads_whatever_its_quoting_line_ends_and_bom() {
        let file = "\u{feff}handle,name,description,category,sku,price,currency,stock,option1_name,option1_value\r\n\
                    tee,\"Tee, organic\",\"Soft\r\n\"\"and\"\" warm\",apparel,TEE-S,15,EUR,3,Size,S\r\n\
                    tee,\"Tee, organic\",,apparel,TEE-M,15.50,EUR,,Size,M\n";
        let sheet = read(file.as_bytes()).unwrap();
        assert_eq!((sheet.rows, sheet.refused.len(), sheet.groups.len()), (2, 0, 1));
        let group = &sheet.groups[0];
        assert_eq!(group.lines, [2, 4], "a quoted field's new line counts");
        let new = group.product.as_ref().unwrap();
        assert_eq!(new.product.name.as_str(), "Tee, organic");
        assert_eq!(new.product.description.as_str(), "Soft\n\"and\" warm");
        let prices: Vec<i64> = new.variants.iter().map(|(v, _)| v.price.amount).collect();
        assert_eq!(prices, [1500, 1550], "decimals in the currency's units");
        assert_eq!((new.variants[0].1.get(), new.variants[1].1.get()), (3, 0));
        assert_eq!(new.options[0].values.iter().map(Label::as_str).collect::<Vec<_>>(), ["S", "M"]);
    }

    #[test]
    fn a_wrong_row_refuses_its_product_naming_each_line() {
        let file = "handle,name,category,sku,price,currency\n\
                    a,Lamp,lamps,LAMP-1,12.345,EUR\n\
                    a,Lamp,lamps,LAMP-2,12,EUR\n\
                    ,Nameless,lamps,X-1,1,EUR\n\
                    b,Mug,kitchen,MUG-1,4,EUR\n";
        let sheet = read(file.as_bytes()).unwrap();
        assert_eq!(sheet.refused, [Refused { line: 4, reason: "handle: must not be empty".into() }]);
        let lamp = sheet.groups[0].product.as_ref().unwrap_err();
        assert_eq!(lamp.len(), 1);
        assert_eq!(lamp[0].line, 2);
        assert!(lamp[0].reason.starts_with("price: EUR has 2 decimals"), "{}", lamp[0].reason);
        assert!(sheet.groups[1].product.is_ok());
        assert!(read(b"handle,name,colour\n").unwrap_err().0.contains("unknown column"));
        assert!(read(b"handle,name\n").unwrap_err().0.contains("missing"));
        assert!(read(b"\xff\xfe").unwrap_err().0.contains("UTF-8"));
    }
}
