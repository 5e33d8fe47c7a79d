//! Identifiers. Products have sortable ULIDs; users are named by the identity provider's subject.

use super::Invalid;
use serde::{Deserialize, Serialize};

/// A ULID strictly greater than the previous one from this process.
pub fn monotonic_ulid() -> ulid::Ulid {
    static GENERATOR: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    let mut generator = GENERATOR.lock().unwrap_or_else(|p| p.into_inner());
    generator.generate().unwrap_or_else(|_| ulid::Ulid::new())
}

/// Declares an id type holding a ULID, so ids sort by creation time.
macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(ulid::Ulid);

        impl $name {
            /// A new id, later than every id this process made before.
            pub fn new() -> Self {
                Self(monotonic_ulid())
            }

            pub fn parse(raw: &str) -> Result<Self, Invalid> {
                ulid::Ulid::from_string(raw).map(Self).map_err(|_| Invalid::new(concat!("is not ", $what)))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.0.array_to_str(&mut [0; ulid::ULID_LEN]))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(super::Parsing(Self::parse))
            }
        }
    };
}

ulid_id!(
    /// A product's id.
    ProductId, "a product id"
);
ulid_id!(
    /// A variant's id: one of a product's combinations of option values, with its own SKU,
    /// price and stock.
    VariantId, "a variant id"
);

impl From<ProductId> for VariantId {
    /// The id of the one variant of a product stored before products had variants: the
    /// product's own, so the carts and orders that named the product name its variant.
    fn from(product: ProductId) -> Self {
        Self(product.0)
    }
}

ulid_id!(
    /// An uploaded image's id.
    ImageId, "an image id"
);
ulid_id!(
    /// An image upload's id (the upload, before its image exists).
    UploadId, "an upload id"
);

ulid_id!(
    /// An order's id.
    OrderId, "an order id"
);

ulid_id!(
    /// A return's id.
    ReturnId, "a return id"
);

ulid_id!(
    /// An address's id in a shopper's address book.
    AddressId, "an address id"
);

/// A user's id: the identity provider's `sub` claim (a UUID in Cognito and in the embedded
/// provider). Anything outside `[A-Za-z0-9-]{1,128}` is refused, so an id is safe in a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if (1..=128).contains(&raw.len()) && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Invalid::new("is not a user id"))
        }
    }

    /// A fresh random id in UUID v4 form, as Cognito assigns.
    pub fn random() -> Self {
        let bytes: [u8; 16] = rand::random();
        let mut b = bytes;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        Self(format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_form!(UserId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_strictly() {
        let p = ProductId::new();
        assert_eq!(ProductId::parse(&p.to_string()).unwrap(), p);
        assert!(ProductId::parse("not-a-ulid").is_err());
        let u = UserId::random();
        assert_eq!(u.as_str().len(), 36);
        assert!(UserId::parse(u.as_str()).is_ok());
        assert!(UserId::parse("a#b").is_err());
        assert!(UserId::parse("").is_err());
    }
}
