//! Tax arithmetic: classes, rates and how a price splits into net and tax.
//!
//! **Rounding.** Tax is worked out per line (and for shipping), each line's tax rounded to the
//! currency's minor unit half up (half away from zero: 0.5 cent becomes 1 cent), and the
//! order's figures are the sums of the rounded lines. So every figure an invoice prints adds up
//! to the cent, line by line and in total, and a line's tax never depends on what else was
//! bought. Half up, not half to even, because that is the commercial rounding the tax
//! authorities of the shop's markets use on invoices (Germany's and Austria's "kaufmännische
//! Rundung", the UK's and the US states' "round half up"); half to even is a statistician's rule
//! no invoice uses. Per line, not per order, because the EU VAT rules let a seller do either
//! and per-line figures are what a refund of one line needs: the tax it paid back is the tax it
//! was charged.

use serde::{Deserialize, Serialize};

use super::{Invalid, Money};

/// What kind of goods or service a price is for, as tax law sorts them.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TaxClass {
    /// The country's standard rate (most goods).
    #[default]
    Standard,
    /// A reduced rate (books, food in many countries).
    Reduced,
    /// Taxed at zero.
    Zero,
}

impl TaxClass {
    pub const ALL: [TaxClass; 3] = [Self::Standard, Self::Reduced, Self::Zero];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Reduced => "reduced",
            Self::Zero => "zero",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .ok_or_else(|| Invalid::new("tax_class must be standard, reduced or zero"))
    }
}

/// A percentage in hundredths of a percent (19 % is 1900, 7.25 % is 725), written with at most
/// two decimals (`"19"`, `"7.25"`). Between 0 and 100 %: a tax rate, a discount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Percent(u32);

/// A tax rate: a [`Percent`].
pub type TaxRate = Percent;

impl Percent {
    pub const ZERO: Percent = Percent(0);
    const HUNDRED_PERCENT: u32 = 10_000;

    /// From hundredths of a percent.
    pub fn from_hundredths(hundredths: u32) -> Result<Self, Invalid> {
        if hundredths > Self::HUNDRED_PERCENT {
            return Err(Invalid::new("must be a percentage between 0 and 100"));
        }
        Ok(Self(hundredths))
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let invalid = || Invalid::new(format!("\"{raw:.12}\" must be a percentage like \"19\" or \"7.25\""));
        let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
        let digits = |s: &str, max: usize| s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole, 3) || !digits(fraction, 2) || (raw.contains('.') && fraction.is_empty()) {
            return Err(invalid());
        }
        let hundredths = format!("{whole}{fraction:0<2}").parse::<u32>().map_err(|_| invalid())?;
        Self::from_hundredths(hundredths)
    }

    pub fn hundredths(self) -> u32 {
        self.0
    }

    /// This share of `amount` minor units, rounded half up.
    pub fn of(self, amount: i64) -> i64 {
        let share = half_up(i128::from(amount) * i128::from(self.0), i128::from(Self::HUNDRED_PERCENT));
        i64::try_from(share).expect("a share is no larger than the amount")
    }

    /// How `amount` splits into net and tax at this rate, `amount` being gross (tax included)
    /// or net (tax to be added), the tax rounded half up to the minor unit.
    pub fn split(self, amount: Money, included: bool) -> Taxed {
        let (rate, value) = (i128::from(self.0), i128::from(amount.amount));
        let scale = i128::from(Self::HUNDRED_PERCENT);
        let tax = if included { half_up(value * rate, scale + rate) } else { half_up(value * rate, scale) };
        let tax = i64::try_from(tax).expect("the tax is smaller than the amount");
        let net = if included { amount.amount - tax } else { amount.amount };
        Taxed {
            net: Money { amount: net, currency: amount.currency },
            tax: Money { amount: tax, currency: amount.currency },
            rate: self,
        }
    }
}

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 % 100 {
            0 => write!(f, "{}", self.0 / 100),
            rest if rest % 10 == 0 => write!(f, "{}.{}", self.0 / 100, rest / 10),
            rest => write!(f, "{}.{rest:02}", self.0 / 100),
        }
    }
}

impl TryFrom<String> for Percent {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Self, Invalid> {
        Self::parse(&raw)
    }
}

impl From<Percent> for String {
    fn from(rate: Percent) -> String {
        rate.to_string()
    }
}

/// `n / d` rounded half away from zero, for `d > 0`.
fn half_up(n: i128, d: i128) -> i128 {
    let q = (2 * n.abs() + d) / (2 * d);
    if n < 0 { -q } else { q }
}

/// A price split into net and tax, and the rate that split it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Taxed {
    pub net: Money,
    pub tax: Money,
    pub rate: Percent,
}

impl Taxed {
    /// Net and tax together.
    pub fn gross(&self) -> Money {
        Money { amount: self.net.amount + self.tax.amount, currency: self.net.currency }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    fn eur(amount: i64) -> Money {
        Money { amount, currency: Currency::EUR }
    }

    #[test]
    fn rates_are_percentages_with_two_decimals() {
        assert_eq!(TaxRate::parse("19").unwrap().hundredths(), 1900);
        assert_eq!(TaxRate::parse("7.25").unwrap().hundredths(), 725);
        assert_eq!(TaxRate::parse("5.5").unwrap().hundredths(), 550);
        assert_eq!(TaxRate::parse("0").unwrap(), TaxRate::ZERO);
        assert_eq!(TaxRate::parse("100").unwrap().hundredths(), 10_000);
        for bad in ["", "19.", ".5", "7.255", "-1", "100.01", "1e2", "19 %", "1000"] {
            assert!(TaxRate::parse(bad).is_err(), "{bad}");
        }
        for shown in ["19", "7.25", "5.5", "0", "100", "0.05"] {
            assert_eq!(TaxRate::parse(shown).unwrap().to_string(), shown);
        }
        assert_eq!(serde_json::to_value(TaxRate::parse("7.5").unwrap()).unwrap(), "7.5");
    }

    #[test]
    fn tax_included_is_taken_out_and_tax_excluded_is_added() {
        let rate = TaxRate::parse("19").unwrap();
        // 11.90 gross at 19 %: 10.00 net, 1.90 tax.
        let t = rate.split(eur(1190), true);
        assert_eq!((t.net.amount, t.tax.amount, t.gross().amount), (1000, 190, 1190));
        // 10.00 net at 19 %: 1.90 tax on top.
        let t = rate.split(eur(1000), false);
        assert_eq!((t.net.amount, t.tax.amount, t.gross().amount), (1000, 190, 1190));
        assert_eq!(TaxRate::ZERO.split(eur(999), true).tax.amount, 0);
    }

    #[test]
    fn halves_round_up() {
        // 0.50 net at 7 %: 3.5 cents, up to 4; at 5 %: 2.5 cents, up to 3 (half to even: 2).
        assert_eq!(TaxRate::parse("7").unwrap().split(eur(50), false).tax.amount, 4);
        assert_eq!(TaxRate::parse("5").unwrap().split(eur(50), false).tax.amount, 3);
        // 1.05 gross at 5 %: 5 cents of tax exactly.
        assert_eq!(TaxRate::parse("5").unwrap().split(eur(105), true).tax.amount, 5);
        // 0.10 gross at 19 %: 1.596... cents, to 2.
        assert_eq!(TaxRate::parse("19").unwrap().split(eur(10), true).tax.amount, 2);
        assert_eq!(half_up(-5, 2), -3);
        assert_eq!(Percent::parse("10").unwrap().of(1995), 200, "199.5 cents: up to 200");
    }
}
