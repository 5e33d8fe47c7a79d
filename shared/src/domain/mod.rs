//! Plain domain types that validate on construction. No I/O, no AWS types: a value of one of
//! these types is valid by the fact that it exists, so code past the HTTP edge never re-checks.

/// The string form a validated value travels in: serde and `Display`, by the type's own
/// `parse` and `as_str`.
macro_rules! string_form {
    ($($name:ty),+ $(,)?) => {$(
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str($crate::domain::Parsing(Self::parse))
            }
        }
    )+};
}

/// Reads a value written as a string through its `parse`, from the text as the format lends
/// it: every item read from the table parses dozens of them, and none needs a `String` of its
/// own on the way.
struct Parsing<T>(fn(&str) -> Result<T, Invalid>);

impl<T> serde::de::Visitor<'_> for Parsing<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, raw: &str) -> Result<T, E> {
        (self.0)(raw).map_err(E::custom)
    }
}

mod basket;
mod contact;
mod ids;
mod money;
mod notification;
mod order;
mod password;
mod payment;
mod product;
mod returns;
mod role;
mod schema;
mod tax;
mod text;

pub use basket::{Basket, BasketLine};
pub use contact::{Address, Country, Email, Phone, PostalCode, Region};
pub use ids::{AddressId, ImageId, OrderId, ProductId, ReturnId, UploadId, UserId, VariantId, monotonic_ulid};
pub use money::{Currency, Money};
pub use notification::{Channel, DeliveryStatus};
pub use order::{CancelReason, OrderLine, OrderStatus, StatusChange};
pub use password::Password;
pub use payment::{Payment, PaymentStatus, Provider, Refund, RefundStatus, RefundedLine};
pub use product::{
    Image, ImageSize, MAX_IMAGES, MAX_MEDIA, MAX_OPTIONS, MAX_VARIANTS, MAX_WEIGHT_GRAMS, OptionValues, Product,
    ProductOption, Variant, describe,
};
pub use returns::{ReceivedLine, Return, ReturnChange, ReturnLine, ReturnReason, ReturnStatus};
pub use role::Role;
pub use tax::{Percent, TaxClass, TaxRate, Taxed};
pub use text::{AltText, CategorySlug, Description, Handle, ImageUrl, Label, Name, Reason, Sku, TrackingNumber};

/// Why a value was refused; the message is written for the API caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// A whole number of items in stock; never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Stock(u32);

impl Stock {
    /// The most a single variant may hold, keeping every sum far from overflow.
    pub const MAX: i64 = 1_000_000_000;
    pub const ZERO: Stock = Stock(0);

    pub fn new(value: i64) -> Result<Self, Invalid> {
        if !(0..=Self::MAX).contains(&value) {
            return Err(Invalid::new(format!("must be between 0 and {}", Self::MAX)));
        }
        Ok(Self(value as u32))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// The stock after adding `delta` units (negative: taking them), if that stays in bounds.
    pub fn moved(self, delta: i64) -> Option<Self> {
        Self::new(i64::from(self.0) + delta).ok()
    }
}

/// A whole number as JSON Schema counts them: `12`, and also `12.0` (a number with no fraction),
/// which serde's integer types refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "serde_json::Number")]
pub struct Whole(pub i64);

impl TryFrom<serde_json::Number> for Whole {
    type Error = Invalid;
    fn try_from(n: serde_json::Number) -> Result<Self, Invalid> {
        match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(Self(i)),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Self(f as i64)),
            _ => Err(Invalid::new(format!("invalid value: {n}, expected a whole number"))),
        }
    }
}

/// How many of one product a line holds: 1 to [`Quantity::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Whole", into = "i64")]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: i64 = 99;

    pub fn new(value: i64) -> Result<Self, Invalid> {
        if (1..=Self::MAX).contains(&value) {
            Ok(Self(value as u32))
        } else {
            Err(Invalid::new(format!("must be a whole number from 1 to {}", Self::MAX)))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<Whole> for Quantity {
    type Error = Invalid;
    fn try_from(Whole(value): Whole) -> Result<Self, Invalid> {
        Self::new(value)
    }
}

impl From<Quantity> for i64 {
    fn from(value: Quantity) -> i64 {
        value.0 as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_stock_are_bounded() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(100).is_err());
        assert_eq!(Quantity::new(3).unwrap().get(), 3);
        assert_eq!(serde_json::from_str::<Quantity>("3.0").unwrap().get(), 3);
        assert!(serde_json::from_str::<Quantity>("3.5").is_err());
        assert!(Stock::new(-1).is_err());
        assert_eq!(Stock::new(0).unwrap().get(), 0);
    }
}
