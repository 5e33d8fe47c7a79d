//! An order's invoice and credit note: who sells, who buys, each line's net, tax rate and tax,
//! the shipping, the discount and the totals, as the order kept them at checkout; written as
//! HTML and as PDF.
//!
//! The numbers come from gapless sequences per year, taken in the payment's transaction (the
//! invoice) and in the full refund's (the credit note): see [`crate::orders::Orders::next_number`].
//! The PDF is written here, text only in the standard Helvetica font (WinAnsi encoding), so the
//! functions carry no PDF library.

use askama::Template;

use crate::domain::{Money, Percent};
use crate::orders::{DocumentNumber, Order};

/// Who sells: the shop's name, address and tax number, as invoices must name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seller {
    pub name: String,
    pub address: Vec<String>,
    pub tax_id: Option<String>,
}

impl Seller {
    /// From `SHOP_SELLER_NAME`, `SHOP_SELLER_ADDRESS` (lines separated by `;`) and
    /// `SHOP_SELLER_TAX_ID`, as `var` finds them.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Self {
        let address = var("SHOP_SELLER_ADDRESS").unwrap_or_default();
        Self {
            name: var("SHOP_SELLER_NAME").filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "Shop".to_owned()),
            address: address.split(';').map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            tax_id: var("SHOP_SELLER_TAX_ID").filter(|t| !t.trim().is_empty()),
        }
    }
}

/// Which document of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Invoice,
    CreditNote,
}

/// One row of the document's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub description: String,
    pub quantity: String,
    pub net: String,
    pub rate: String,
    pub tax: String,
    pub total: String,
}

/// An order's invoice or credit note, ready to write.
#[derive(Debug, Clone, PartialEq, Eq, Template)]
#[template(path = "invoice.html")]
pub struct Document {
    pub title: &'static str,
    pub number: String,
    /// The invoice a credit note credits.
    pub credits: Option<String>,
    pub issued: String,
    pub order: String,
    pub seller: Seller,
    pub buyer: Vec<String>,
    pub rows: Vec<Row>,
    /// Label and amount: subtotal, discount, shipping, tax, total.
    pub totals: Vec<(String, String)>,
}

fn amount(money: Money) -> String {
    money.to_string()
}

impl Document {
    /// The `kind` document of `order`, if the order has one.
    pub fn of(order: &Order, seller: &Seller, kind: Kind) -> Option<Self> {
        let (title, number, credits): (_, &DocumentNumber, _) = match kind {
            Kind::Invoice => ("Invoice", order.invoice.as_ref()?, None),
            Kind::CreditNote => {
                ("Credit note", order.credit_note.as_ref()?, order.invoice.as_ref().map(|i| i.number.clone()))
            }
        };
        let mut rows: Vec<Row> = order
            .lines
            .iter()
            .map(|line| {
                let (net, tax, rate) = match &line.tax {
                    Some(t) => (t.net, t.tax, t.rate),
                    None => (line.line_total, Money { amount: 0, currency: line.line_total.currency }, Percent::ZERO),
                };
                let mut description = line.title();
                if let Some(discount) = line.discount {
                    description = format!("{description} (discount {discount})");
                }
                Row {
                    description,
                    quantity: line.quantity.get().to_string(),
                    net: amount(net),
                    rate: format!("{rate} %"),
                    tax: amount(tax),
                    total: amount(Money { amount: net.amount + tax.amount, currency: net.currency }),
                }
            })
            .collect();
        if let Some(shipping) = &order.shipping {
            rows.push(Row {
                description: format!("Shipping: {}", shipping.name),
                quantity: "1".into(),
                net: amount(shipping.net),
                rate: format!("{} %", shipping.rate),
                tax: amount(shipping.tax),
                total: amount(Money {
                    amount: shipping.net.amount + shipping.tax.amount,
                    currency: shipping.net.currency,
                }),
            });
        }
        let mut totals = Vec::new();
        if let Some(t) = &order.totals {
            totals.push(("Subtotal".to_owned(), amount(t.subtotal)));
            if t.discount.amount > 0 {
                totals.push(("Discount".to_owned(), format!("-{}", t.discount)));
            }
            totals.push(("Shipping".to_owned(), amount(t.shipping)));
            let tax = if t.tax_included { "Tax included" } else { "Tax" };
            totals.push((tax.to_owned(), amount(t.tax)));
        }
        let total = if kind == Kind::CreditNote { "Total credited" } else { "Total" };
        totals.push((total.to_owned(), amount(order.total)));
        let a = &order.shipping_address;
        let mut buyer = vec![a.name.to_string(), a.line1.to_string()];
        buyer.extend(a.line2.as_ref().map(ToString::to_string));
        let region = a.region.as_ref().map(|r| format!(" {r}")).unwrap_or_default();
        buyer.push(format!("{} {}{region}", a.postal_code, a.city));
        buyer.push(a.country.to_string());
        Some(Self {
            title,
            number: number.number.clone(),
            credits,
            issued: number.issued_at.to_string().chars().take(10).collect(),
            order: order.id.to_string(),
            seller: seller.clone(),
            buyer,
            rows,
            totals,
        })
    }

    /// The document as HTML, every text escaped.
    pub fn html(&self) -> String {
        self.render().expect("the invoice template renders")
    }

    /// The document as a PDF: A4 pages of Helvetica text.
    pub fn pdf(&self) -> Vec<u8> {
        let mut page = Page::default();
        page.text(50.0, 16.0, true, &format!("{} {}", self.title, self.number));
        page.gap(6.0);
        if let Some(invoice) = &self.credits {
            page.text(50.0, 10.0, false, &format!("Credits invoice {invoice}"));
        }
        page.text(50.0, 10.0, false, &format!("Issued {}    Order {}", self.issued, self.order));
        page.gap(10.0);
        let seller_top = page.y;
        page.text(50.0, 10.0, true, &self.seller.name);
        for line in &self.seller.address {
            page.text(50.0, 10.0, false, line);
        }
        if let Some(tax_id) = &self.seller.tax_id {
            page.text(50.0, 10.0, false, &format!("Tax number {tax_id}"));
        }
        let below_seller = page.y;
        page.y = seller_top;
        for (i, line) in self.buyer.iter().enumerate() {
            page.text(320.0, 10.0, i == 0, line);
        }
        page.y = page.y.min(below_seller);
        page.gap(14.0);
        let columns = [(50.0, false), (300.0, true), (380.0, true), (430.0, true), (490.0, true), (550.0, true)];
        let header = ["Item", "Qty", "Net", "Rate", "Tax", "Total"];
        page.row(&columns, &header.map(str::to_owned), true);
        for row in &self.rows {
            let cells = [&row.description, &row.quantity, &row.net, &row.rate, &row.tax, &row.total];
            page.row(&columns, &cells.map(|c| fit(c, 48)), false);
        }
        page.gap(8.0);
        for (i, (label, value)) in self.totals.iter().enumerate() {
            let last = i + 1 == self.totals.len();
            page.row(&[(380.0, false), (550.0, true)], &[label.clone(), value.clone()], last);
        }
        write_pdf(&page.finish())
    }
}

/// `text` cut to `chars` characters (a description longer than its column).
fn fit(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        format!("{}...", text.chars().take(chars - 3).collect::<String>())
    }
}

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const TOP: f32 = 790.0;
const BOTTOM: f32 = 60.0;

/// Pages of text being laid out, top to bottom.
#[derive(Default)]
struct Page {
    pages: Vec<String>,
    content: String,
    y: f32,
}

impl Page {
    fn line_feed(&mut self, size: f32) {
        if self.y == 0.0 {
            self.y = TOP;
        }
        if self.y - size < BOTTOM {
            self.pages.push(std::mem::take(&mut self.content));
            self.y = TOP;
        }
        self.y -= size + 4.0;
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }

    fn put(&mut self, x: f32, size: f32, bold: bool, right: bool, text: &str) {
        let font = if bold { "F2" } else { "F1" };
        let x = if right { x - width(text, size) } else { x };
        self.content.push_str(&format!("BT /{font} {size} Tf {x:.1} {:.1} Td ({}) Tj ET\n", self.y, escape(text)));
    }

    fn text(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        self.line_feed(size);
        self.put(x, size, bold, false, text);
    }

    fn row(&mut self, columns: &[(f32, bool)], cells: &[String], bold: bool) {
        self.line_feed(9.0);
        for ((x, right), cell) in columns.iter().zip(cells) {
            self.put(*x, 9.0, bold, *right, cell);
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.pages.push(self.content);
        self.pages
    }
}

/// About how wide `text` is in Helvetica at `size` (digits and punctuation exactly, letters on
/// average): enough to right-align amounts.
fn width(text: &str, size: f32) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| match c {
            '0'..='9' => 556,
            '.' | ',' | ' ' => 278,
            '-' => 333,
            '%' => 889,
            'A'..='Z' => 667,
            _ => 500,
        })
        .sum();
    units as f32 * size / 1000.0
}

/// `text` as a PDF string's bytes in WinAnsi encoding: Latin-1 as itself, the euro sign as
/// 0x80, anything else as `?`; parentheses and backslashes escaped.
fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            '€' => out.push_str("\\200"),
            c if ('\u{a0}'..='\u{ff}').contains(&c) => out.push_str(&format!("\\{:03o}", c as u32)),
            _ => out.push('?'),
        }
    }
    out
}

/// A PDF of these pages' content streams, with its cross-reference table.
fn write_pdf(pages: &[String]) -> Vec<u8> {
    let fonts = 3;
    let first_page = fonts + 1;
    let kids: Vec<String> = (0..pages.len()).map(|i| format!("{} 0 R", first_page + 2 * i)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), pages.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_owned(),
    ];
    for (i, content) in pages.iter().enumerate() {
        let stream = first_page + 2 * i + 1;
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
             /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {stream} 0 R >>"
        ));
        objects.push(format!("<< /Length {} >>\nstream\n{content}endstream", content.len()));
    }
    // Seven-bit throughout: text is written as WinAnsi octal escapes.
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    pdf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(rows: usize) -> Document {
        Document {
            title: "Invoice",
            number: "INV-2026-000007".into(),
            credits: None,
            issued: "2026-12-06".into(),
            order: "01JD0000000000000000000002".into(),
            seller: Seller {
                name: "Lamp & Co (GmbH)".into(),
                address: vec!["1 Shop St".into()],
                tax_id: Some("DE123".into()),
            },
            buyer: vec!["Zoë Müller".into(), "2 Main St".into(), "10115 Berlin".into(), "DE".into()],
            rows: (0..rows)
                .map(|i| Row {
                    description: format!("Lamp {i}"),
                    quantity: "1".into(),
                    net: "16.81 EUR".into(),
                    rate: "19 %".into(),
                    tax: "3.19 EUR".into(),
                    total: "20.00 EUR".into(),
                })
                .collect(),
            totals: vec![("Total".into(), "20.00 EUR".into())],
        }
    }

    /// Every object the cross-reference table names starts where it says, and `startxref` names
    /// the table.
    fn check_structure(pdf: &[u8]) {
        let text = String::from_utf8_lossy(pdf);
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        let start: usize = text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert!(pdf[start..].starts_with(b"xref\n"));
        let table: Vec<&str> = text[start..].lines().skip(3).take_while(|l| !l.starts_with("trailer")).collect();
        for (i, entry) in table.iter().enumerate() {
            let offset: usize = entry[..10].parse().unwrap();
            assert!(pdf[offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()), "object {}", i + 1);
        }
        for part in text.split("<< /Length ").skip(1) {
            let (length, rest) = part.split_once(" >>\nstream\n").unwrap();
            let length: usize = length.parse().unwrap();
            assert_eq!(rest.find("endstream"), Some(length), "a stream's /Length is its length");
        }
    }

    #[test]
    fn the_pdf_is_well_formed_and_holds_the_text() {
        let pdf = document(3).pdf();
        check_structure(&pdf);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("(Invoice INV-2026-000007) Tj"));
        assert!(text.contains("(Lamp & Co \\(GmbH\\)) Tj"), "parentheses escaped");
        assert!(text.contains("(Zo\\353 M\\374ller) Tj"), "Latin-1 in WinAnsi");
        assert!(text.contains("/Count 1"));
    }

    #[test]
    fn long_documents_go_on_to_more_pages() {
        let pdf = document(120).pdf();
        check_structure(&pdf);
        assert!(String::from_utf8_lossy(&pdf).contains("/Count 3"));
    }

    #[test]
    fn the_html_escapes_what_people_typed() {
        let mut d = document(1);
        d.rows[0].description = "<script>alert(1)</script>".into();
        let html = d.html();
        assert!(!html.contains("<script>") && html.contains("script&"), "{html}");
        assert!(html.contains("INV-2026-000007") && html.contains("DE123"));
    }

    #[test]
    fn the_seller_comes_from_the_environment() {
        let var = |name: &str| match name {
            "SHOP_SELLER_NAME" => Some("Lamp & Co".to_owned()),
            "SHOP_SELLER_ADDRESS" => Some("1 Shop St; 10115 Berlin ;".to_owned()),
            _ => None,
        };
        let seller = Seller::from_lookup(var);
        assert_eq!((seller.name.as_str(), seller.address.len(), seller.tax_id), ("Lamp & Co", 2, None));
        assert_eq!(Seller::from_lookup(|_| None).name, "Shop");
    }
}
