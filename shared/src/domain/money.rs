//! Money in integer minor units of an ISO 4217 currency. Never a float.

use super::Invalid;
use serde::{Deserialize, Serialize};

/// Active ISO 4217 codes with two minor-unit digits (the common case).
const TWO_DIGITS: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL \
    BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR \
    FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT \
    LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK \
    NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN \
    SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW \
    ZWG";
/// Active ISO 4217 codes without minor units.
const ZERO_DIGITS: &str = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
/// Active ISO 4217 codes with three minor-unit digits.
const THREE_DIGITS: &str = "BHD IQD JOD KWD LYD OMR TND";
/// Active ISO 4217 codes with four minor-unit digits.
const FOUR_DIGITS: &str = "CLF UYW";

/// An ISO 4217 currency code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let code = raw;
        if code.len() == 3 && Self::minor_digits_of(code).is_some() {
            let b = code.as_bytes();
            return Ok(Self([b[0], b[1], b[2]]));
        }
        Err(Invalid::new(format!(
            "\"{}\" is not an ISO 4217 currency code (for example \"EUR\")",
            code.chars().take(8).collect::<String>()
        )))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("currency codes are ASCII")
    }

    /// Every code the shop knows.
    pub fn codes() -> impl Iterator<Item = &'static str> {
        [TWO_DIGITS, ZERO_DIGITS, THREE_DIGITS, FOUR_DIGITS].into_iter().flat_map(str::split_whitespace)
    }

    /// How many digits of minor units the currency has (2 for EUR, 0 for JPY).
    pub fn minor_digits(&self) -> u32 {
        Self::minor_digits_of(self.as_str()).expect("a parsed currency is known")
    }

    fn minor_digits_of(code: &str) -> Option<u32> {
        [(TWO_DIGITS, 2), (ZERO_DIGITS, 0), (THREE_DIGITS, 3), (FOUR_DIGITS, 4)]
            .into_iter()
            .find_map(|(list, digits)| listed(list, code.as_bytes()).then_some(digits))
    }
}

/// Whether `list` (codes of three letters, one space apart, in alphabetical order) holds
/// `code`: a binary search, as every price read from the table parses its currency.
fn listed(list: &str, code: &[u8]) -> bool {
    let codes = list.as_bytes();
    let nth = |i: usize| &codes[4 * i..4 * i + 3];
    let (mut low, mut high) = (0, codes.len().div_ceil(4));
    while low < high {
        let middle = low + (high - low) / 2;
        match nth(middle).cmp(code) {
            std::cmp::Ordering::Less => low = middle + 1,
            std::cmp::Ordering::Greater => high = middle,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

string_form!(Currency);

/// An amount of money: integer minor units (cents for EUR) and a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    /// Minor units: 1999 is 19.99 EUR.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: Currency,
}

impl Money {
    /// The largest amount a single price may carry (10^12 minor units).
    pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

    /// This price `quantity` times (a line's total).
    pub fn times(self, quantity: super::Quantity) -> Self {
        Self { amount: self.amount * i64::from(quantity), currency: self.currency }
    }

    /// A price: a non-negative amount no larger than [`Money::MAX_AMOUNT`].
    pub fn price(amount: i64, currency: Currency) -> Result<Self, Invalid> {
        if amount < 0 {
            return Err(Invalid::new("must not be negative"));
        }
        if amount > Self::MAX_AMOUNT {
            return Err(Invalid::new(format!("must be at most {}", Self::MAX_AMOUNT)));
        }
        Ok(Self { amount, currency })
    }

    /// A price written as a decimal in the currency's units: `19.99` EUR is 1999 cents, `500`
    /// JPY is 500 yen. Digits and one `.` only (no sign, no thousands separators), with no more
    /// decimals than the currency has: a price is never read 100 times too large or small.
    pub fn parse_decimal(text: &str, currency: Currency) -> Result<Self, Invalid> {
        let digits = currency.minor_digits() as usize;
        let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || (text.contains('.') && fraction.is_empty())
        {
            return Err(Invalid::new(format!("\"{text}\" is not a price like 19.99")));
        }
        if fraction.len() > digits {
            return Err(Invalid::new(format!("{currency} has {digits} decimals; \"{text}\" has more")));
        }
        let scaled = format!("{whole}{fraction:0<digits$}");
        let amount = scaled.parse::<i64>().map_err(|_| Invalid::new(format!("\"{text}\" is too large")))?;
        Self::price(amount, currency)
    }

    /// The amount as a decimal in the currency's units, without the code (`19.99`).
    pub fn decimal(&self) -> String {
        let digits = self.currency.minor_digits();
        if digits == 0 {
            return self.amount.to_string();
        }
        let scale = 10_u64.pow(digits);
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = digits as usize)
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.decimal(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_iso_4217() {
        assert_eq!(Currency::parse("EUR").unwrap(), Currency::EUR);
        assert_eq!(Currency::parse("JPY").unwrap().minor_digits(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().minor_digits(), 3);
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("XYZ").is_err());
        assert!(Currency::parse("EU").is_err());
    }

    #[test]
    fn every_list_is_searchable_and_every_code_found() {
        for list in [TWO_DIGITS, ZERO_DIGITS, THREE_DIGITS, FOUR_DIGITS] {
            let codes: Vec<&str> = list.split(' ').collect();
            assert!(codes.iter().all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())), "{list}");
            assert!(codes.is_sorted(), "in order: {list}");
        }
        assert!(Currency::codes().all(|code| Currency::parse(code).is_ok()));
        assert_eq!(Currency::codes().count(), 166);
        for absent in ["AAA", "ZZZ", "EUQ", "EUS", "ZWH"] {
            assert!(Currency::parse(absent).is_err(), "{absent}");
        }
    }

    #[test]
    fn prices_are_bounded() {
        assert!(Money::price(-1, Currency::EUR).is_err());
        assert!(Money::price(Money::MAX_AMOUNT + 1, Currency::EUR).is_err());
        let m = Money::price(1999, Currency::EUR).unwrap();
        assert_eq!(m.to_string(), "19.99 EUR");
        let y = Money::price(500, Currency::parse("JPY").unwrap()).unwrap();
        assert_eq!(y.to_string(), "500 JPY");
    }

    #[test]
    fn decimals_are_read_in_the_currency_units() {
        let eur = |text| Money::parse_decimal(text, Currency::EUR).map(|m| m.amount);
        assert_eq!((eur("19.99"), eur("19.9"), eur("19"), eur(" 0.05 ")), (Ok(1999), Ok(1990), Ok(1900), Ok(5)));
        for bad in ["19.999", "1,99", "-1", "19.", ".5", "", "1e3", "1 000", "99999999999999999999"] {
            assert!(eur(bad).is_err(), "{bad}");
        }
        let yen = Currency::parse("JPY").unwrap();
        assert_eq!(Money::parse_decimal("500", yen).unwrap().amount, 500);
        assert!(Money::parse_decimal("500.5", yen).is_err(), "no decimals in yen");
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(Money::parse_decimal("1.5", kwd).unwrap().decimal(), "1.500");
        assert_eq!(Money::price(5, Currency::EUR).unwrap().decimal(), "0.05");
    }

    #[test]
    fn money_serializes_as_amount_and_code() {
        let m = Money::price(1999, Currency::EUR).unwrap();
        let json = serde_json::to_value(m).unwrap();
        assert_eq!(json, serde_json::json!({"amount": 1999, "currency": "EUR"}));
        assert!(serde_json::from_value::<Money>(serde_json::json!({"amount": 1, "currency": "ABC"})).is_err());
    }
}
