//! The domain types as the API document shows them: each validated string type's JSON Schema
//! says what its `parse` accepts (lengths, characters, patterns), so a client can check a
//! request before sending it and the document and the validation agree.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};

/// Characters `parse` refuses in free text: the control characters but tab and line feed.
const CONTROLS: &str = r"\u0000-\u0008\u000B-\u001F\u007F-\u009F";

/// Free text without control characters; with `required`, not blank either.
fn text_pattern(required: bool) -> String {
    if required {
        format!(r"^[^{CONTROLS}]*[^\s\u0000-\u001F\u007F-\u009F][^{CONTROLS}]*$")
    } else {
        format!(r"^[^{CONTROLS}]*$")
    }
}

fn string(description: &str, min: usize, max: usize, pattern: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .description(Some(description))
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(Some(pattern))
        .examples([example])
        .into()
}

fn integer(description: &str, minimum: i64, maximum: i64, example: i64) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Integer))
        .description(Some(description))
        .minimum(Some(minimum))
        .maximum(Some(maximum))
        .examples([example])
        .into()
}

/// Declares a domain type's schema under its own name.
macro_rules! schema {
    ($($name:ty => $schema:expr;)+) => {$(
        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl utoipa::ToSchema for $name {}
    )+};
}

use super::{
    AddressId, AltText, CategorySlug, Country, Currency, Description, Email, Handle, ImageId, ImageUrl, Label, Name,
    OrderId, Percent, Phone, PostalCode, ProductId, Quantity, Reason, Region, ReturnId, Sku, Stock, TrackingNumber,
    UploadId, UserId, VariantId,
};

schema! {
    Name => string("1 to 200 characters, not blank", 1, 200, &text_pattern(true), "Ada Lovelace");
    Description => string("Up to 5000 characters", 0, 5000, &text_pattern(false), "A lamp for reading");
    AltText => string("What the image shows: 1 to 250 characters, not blank", 1, 250, &text_pattern(true), "A brass desk lamp, lit");
    Label => string(
        "An option's name or value: 1 to 64 characters, not blank, without ',' or ':'", 1, 64,
        &format!(r"^[^,:{CONTROLS}]*[^\s,:\u0000-\u001F\u007F-\u009F][^,:{CONTROLS}]*$"), "Size",
    );
    Reason => string("Why: 1 to 200 characters, not blank", 1, 200, &text_pattern(true), "restock from supplier");
    Sku => string("Letters, digits, '-', '_' and '.' (stored upper-case)", 1, 64, r"^ *[A-Za-z0-9._-]+ *$", "TEE-BLK-M");
    CategorySlug => string(
        "Lower-case letters, digits and '-', starting with a letter or digit", 1, 64, r"^ *[a-z0-9][a-z0-9-]* *$", "home-garden",
    );
    Handle => string(
        "Lower-case letters, digits and '-', starting with a letter or digit", 1, 40, r"^ *[a-z0-9][a-z0-9-]* *$", "standard",
    );
    ImageUrl => string(
        "An absolute https:// URL", 9, 2048, r"^ *https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?([/?#][^\s\u0000-\u001F\u007F-\u009F]*)? *$",
        "https://images.example.com/lamp.jpg",
    );
    TrackingNumber => string("1 to 64 visible ASCII characters", 1, 64, r"^ *[!-~]+ *$", "1Z999AA10123456784");
    Email => string(
        "An email address (compared lower-case)", 3, 254,
        r"^ *[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,15}){0,2}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?){1,3} *$",
        "ada@example.com",
    );
    Phone => string("An international number: '+' and 8 to 15 digits", 9, 16, r"^\+[1-9][0-9]{7,14}$", "+4915112345678");
    PostalCode => string("1 to 16 letters, digits, spaces or dashes", 1, 16, r"^[A-Za-z0-9 -]*[A-Za-z0-9-][A-Za-z0-9 -]*$", "10115");
    Country => string("An ISO 3166-1 alpha-2 code", 2, 2, r"^[A-Za-z]{2}$", "DE");
    Region => string(
        "A subdivision (state, province): its ISO 3166-2 code after the country's", 1, 3, r"^ *[A-Za-z0-9]{1,3} *$", "CA",
    );
    Percent => string("A percentage with at most two decimals, 0 to 100", 1, 6, r"^(100|[0-9]{1,2})(\.[0-9]{1,2})?$", "19");
    Currency => ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .description(Some("An ISO 4217 currency code"))
        .enum_values(Some(Currency::codes()))
        .examples(["EUR"])
        .into();
    ProductId => string("A product id (ULID)", 26, 26, r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$", "01JD4Z3K8Q6W2M5N7P9R1T3V5X");
    ImageId => string("An image id (ULID)", 26, 26, r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$", "01JD4Z3K8Q6W2M5N7P9R1T3V5Z");
    AddressId => string("An address id (ULID)", 26, 26, r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$", "01JD4Z3K8Q6W2M5N7P9R1T3V61");
    UploadId => string("An upload id (ULID)", 26, 26, r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$", "01JD4Z3K8Q6W2M5N7P9R1T3V60");
    VariantId => string("A variant id (ULID)", 26, 26, r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$", "01JD4Z3K8Q6W2M5N7P9R1T3V5Y");
    OrderId => string("An order id (ULID)", 26, 26, r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$", "01JD4Z3K8Q6W2M5N7P9R1T3V5X");
    ReturnId => string("A return's id (ULID)", 26, 26, r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$", "01JD4Z3K8Q6W2M5N7P9R1T3V5Y");
    UserId => string("A user id (the identity provider's subject)", 1, 128, r"^[A-Za-z0-9-]+$", "22222222-2222-4222-8222-222222222222");
    Quantity => integer("How many of one product", 1, Quantity::MAX, 1);
    Stock => integer("Units in stock", 0, Stock::MAX, 12);
}
