//! Amounts as PayPal writes them: decimal strings (`"30.00"`, `"1500"` for JPY), converted to and
//! from the shop's integer minor units exactly, with integer arithmetic only.

use shop::domain::{Currency, Money};

/// Why an amount cannot cross between the shop and PayPal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("a negative amount")]
    Negative,
    /// PayPal takes this currency in whole units only (HUF, TWD), and the amount has a fraction.
    #[error("{0} takes whole units only at PayPal")]
    Fraction(Currency),
    /// Not a currency the shop knows, or not a decimal PayPal could have meant.
    #[error("not an amount: {0}")]
    Malformed(String),
    #[error("the amount is too large")]
    TooLarge,
}

/// The decimal places PayPal uses for `currency`: ISO 4217's minor digits, except for HUF and
/// TWD, which ISO gives two and PayPal takes without decimals ("this currency does not support
/// decimals", PayPal's currency codes reference). JPY has none either way; three-digit
/// currencies (KWD, TND) keep their three.
pub fn paypal_digits(currency: Currency) -> u32 {
    match currency.as_str() {
        "HUF" | "TWD" => 0,
        _ => currency.minor_digits(),
    }
}

/// `money` as PayPal's `value`: `1500` EUR cents is `"15.00"`, `500` JPY is `"500"`, `150000`
/// HUF fillér is `"1500"`. An amount PayPal cannot express (a HUF fraction) is refused.
pub fn to_value(money: Money) -> Result<String, AmountError> {
    if money.amount < 0 {
        return Err(AmountError::Negative);
    }
    let digits = paypal_digits(money.currency);
    let step = 10_i64.pow(money.currency.minor_digits() - digits);
    if money.amount % step != 0 {
        return Err(AmountError::Fraction(money.currency));
    }
    let units = money.amount / step;
    if digits == 0 {
        return Ok(units.to_string());
    }
    let scale = 10_i64.pow(digits);
    Ok(format!("{}.{:0width$}", units / scale, units % scale, width = digits as usize))
}

/// PayPal's `{currency_code, value}` as the shop's money, in the currency's ISO minor units.
/// Accepts what PayPal's `money.value` pattern allows for a non-negative amount (`"15"`,
/// `"15.00"`, `".5"`), provided it is exact in minor units (`"15.001"` EUR is refused,
/// `"15.000"` is 1500).
pub fn from_value(value: &str, currency_code: &str) -> Result<Money, AmountError> {
    let currency = Currency::parse(currency_code).map_err(|e| AmountError::Malformed(e.to_string()))?;
    let malformed = || AmountError::Malformed(format!("{:?}", value.chars().take(40).collect::<String>()));
    if value.len() > 32 {
        return Err(malformed());
    }
    if value.starts_with('-') {
        return Err(AmountError::Negative);
    }
    let (whole, fraction) = match value.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return Err(malformed()),
        None if !value.is_empty() => (value, ""),
        None => return Err(malformed()),
    };
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(whole) || !digits_only(fraction) {
        return Err(malformed());
    }
    let minor = currency.minor_digits() as usize;
    let (kept, beyond) = fraction.split_at(fraction.len().min(minor));
    if beyond.bytes().any(|b| b != b'0') {
        return Err(malformed());
    }
    let parse = |s: &str| if s.is_empty() { Ok(0) } else { s.parse::<i64>().map_err(|_| AmountError::TooLarge) };
    let scale = 10_i64.pow(minor as u32);
    let fraction = parse(kept)? * 10_i64.pow((minor - kept.len()) as u32);
    let amount = parse(whole)?.checked_mul(scale).and_then(|w| w.checked_add(fraction)).ok_or(AmountError::TooLarge)?;
    Ok(Money { amount, currency })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: i64, code: &str) -> Money {
        Money { amount, currency: Currency::parse(code).unwrap() }
    }

    #[test]
    fn two_digit_currencies_have_two_decimals() {
        assert_eq!(to_value(money(1500, "EUR")).unwrap(), "15.00");
        assert_eq!(to_value(money(3000, "USD")).unwrap(), "30.00");
        assert_eq!(to_value(money(5, "EUR")).unwrap(), "0.05");
        assert_eq!(to_value(money(0, "EUR")).unwrap(), "0.00");
        assert_eq!(to_value(money(123_456_789_012, "GBP")).unwrap(), "1234567890.12");
        assert_eq!(from_value("15.00", "EUR").unwrap(), money(1500, "EUR"));
        assert_eq!(from_value("15", "EUR").unwrap(), money(1500, "EUR"));
        assert_eq!(from_value("15.5", "EUR").unwrap(), money(1550, "EUR"));
        assert_eq!(from_value(".05", "EUR").unwrap(), money(5, "EUR"));
        assert_eq!(from_value("15.000", "EUR").unwrap(), money(1500, "EUR"));
    }

    #[test]
    fn zero_digit_currencies_have_none() {
        assert_eq!(to_value(money(500, "JPY")).unwrap(), "500");
        assert_eq!(from_value("500", "JPY").unwrap(), money(500, "JPY"));
        assert_eq!(from_value("500.0", "JPY").unwrap(), money(500, "JPY"));
        assert!(from_value("500.5", "JPY").is_err());
    }

    #[test]
    fn huf_and_twd_are_whole_units_at_paypal() {
        // The shop keeps HUF in ISO's hundredths; PayPal takes whole forints.
        assert_eq!(to_value(money(150_000, "HUF")).unwrap(), "1500");
        assert_eq!(to_value(money(150_050, "HUF")), Err(AmountError::Fraction(Currency::parse("HUF").unwrap())));
        assert_eq!(from_value("1500", "HUF").unwrap(), money(150_000, "HUF"));
        assert_eq!(to_value(money(9_900, "TWD")).unwrap(), "99");
    }

    #[test]
    fn three_digit_currencies_keep_three() {
        assert_eq!(to_value(money(1500, "KWD")).unwrap(), "1.500");
        assert_eq!(to_value(money(7, "TND")).unwrap(), "0.007");
        assert_eq!(from_value("1.5", "KWD").unwrap(), money(1500, "KWD"));
        assert_eq!(from_value("0.007", "TND").unwrap(), money(7, "TND"));
    }

    #[test]
    fn round_trips_are_exact() {
        for code in ["EUR", "JPY", "KWD", "CLF", "HUF"] {
            for amount in [0, 1_00_00, 99_999_900, Money::MAX_AMOUNT] {
                let m = money(amount, code);
                assert_eq!(from_value(&to_value(m).unwrap(), code).unwrap(), m, "{code} {amount}");
            }
        }
    }

    #[test]
    fn what_is_not_an_amount_is_refused() {
        for bad in ["", ".", "1.", "1,00", "1e3", " 1.00", "1.00 ", "0x10", "1.2.3", "+1.00", "١٢"] {
            assert!(matches!(from_value(bad, "EUR"), Err(AmountError::Malformed(_))), "{bad:?}");
        }
        assert_eq!(from_value("-1.00", "EUR"), Err(AmountError::Negative));
        assert_eq!(to_value(money(-1, "EUR")), Err(AmountError::Negative));
        assert!(matches!(from_value("1.00", "EURO"), Err(AmountError::Malformed(_))));
        assert!(matches!(from_value("1.001", "EUR"), Err(AmountError::Malformed(_))));
        assert_eq!(from_value("99999999999999999999", "EUR"), Err(AmountError::TooLarge));
        assert_eq!(from_value("92233720368547758.08", "EUR"), Err(AmountError::TooLarge));
    }
}
