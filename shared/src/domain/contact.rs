//! How to reach a person: email address, phone number, postal address.

use super::{Invalid, Name};
use serde::{Deserialize, Serialize};

/// An email address, trimmed and lower-cased, so one mailbox has one spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let email = raw.trim().to_lowercase();
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(Invalid::new(format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        let invalid = || Invalid::new("must be an email address like name@example.com");
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let labels_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        if labels_ok && local_ok { Ok(Self(email)) } else { Err(invalid()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The mailbox the address reaches, as far as the shop can tell: without a `+tag`, and,
    /// at Gmail, without the dots Gmail ignores. Limits on what the shop may send an address
    /// (reminders, unsubscribes) hold per mailbox, so spelling one address many ways gets no
    /// more mail to it.
    pub fn mailbox(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').expect("parsed with an @");
        let local = local.split_once('+').filter(|(base, _)| !base.is_empty()).map_or(local, |(base, _)| base);
        match domain {
            "gmail.com" | "googlemail.com" => format!("{}@gmail.com", local.replace('.', "")),
            _ => format!("{local}@{domain}"),
        }
    }
}

/// A phone number in E.164 form: `+` then 8 to 15 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        if (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0') {
            Ok(Self(compact))
        } else {
            Err(Invalid::new("must be an international number like +4915112345678"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A postal address; `country` is an ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub name: Name,
    pub line1: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<Name>,
    pub city: Name,
    pub postal_code: PostalCode,
    /// The state, province or other subdivision: the part of its ISO 3166-2 code after the
    /// country's (`CA` for California in `US-CA`). Required in the US and Canada, where tax
    /// depends on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "CA")]
    pub region: Option<Region>,
    pub country: Country,
}

impl Address {
    /// The address with the person taken out, as erasure leaves it: the name and street lines
    /// replaced, the city, postal code and country kept (what accounting and tax need).
    pub fn pseudonymised(&self) -> Self {
        let erased = Name::parse("(erased)").expect("a valid name");
        Self { name: erased.clone(), line1: erased, line2: None, ..self.clone() }
    }

    /// Whether the address is complete and well-formed for its country: a postal code of the
    /// country's format, and a known region where one is required. Answers each refused field
    /// with why.
    pub fn check(&self) -> Result<(), Vec<(&'static str, Invalid)>> {
        let mut refused = Vec::new();
        let country = self.country.as_str();
        if let Some((_, formats)) = POSTAL_FORMATS.iter().find(|(c, _)| *c == country) {
            let code: String = self.postal_code.as_str().chars().filter(|c| *c != ' ').collect();
            let fits = |format: &str| {
                format.len() == code.len()
                    && format.bytes().zip(code.bytes()).all(|(f, c)| match f {
                        b'9' => c.is_ascii_digit(),
                        b'A' => c.is_ascii_alphabetic(),
                        b'X' => c.is_ascii_alphanumeric(),
                        literal => literal == c,
                    })
            };
            if !formats.split('|').any(fits) {
                let example = formats.split('|').next().expect("a format").replace('9', "1").replace(['A', 'X'], "A");
                let reason = format!("is not a postal code of {country} (like {example})");
                refused.push(("postal_code", Invalid::new(reason)));
            }
        }
        if let Some((_, regions)) = REGIONS.iter().find(|(c, _)| *c == country) {
            match &self.region {
                None => refused.push(("region", Invalid::new(format!("is required in {country}")))),
                Some(region) if !regions.split_whitespace().any(|r| r == region.as_str()) => {
                    refused.push(("region", Invalid::new(format!("is not a region of {country}; one of: {regions}"))))
                }
                Some(_) => {}
            }
        }
        if refused.is_empty() { Ok(()) } else { Err(refused) }
    }
}

/// Postal code formats of the countries the shop knows them for, compared without spaces: `9`
/// a digit, `A` a letter, `X` either, anything else itself; alternatives split by `|`. Other
/// countries' codes are only checked to be [`PostalCode`]s.
const POSTAL_FORMATS: &[(&str, &str)] = &[
    ("AT", "9999"),
    ("AU", "9999"),
    ("BE", "9999"),
    ("CA", "A9A9A9"),
    ("CH", "9999"),
    ("CZ", "99999"),
    ("DE", "99999"),
    ("DK", "9999"),
    ("ES", "99999"),
    ("FI", "99999"),
    ("FR", "99999"),
    ("GB", "A99AA|A999AA|A9A9AA|AA99AA|AA999AA|AA9A9AA"),
    ("IE", "A9X9XXX|A9XXXXX"),
    ("IT", "99999"),
    ("JP", "999-9999|9999999"),
    ("LU", "9999"),
    ("NL", "9999AA"),
    ("NO", "9999"),
    ("PL", "99-999"),
    ("PT", "9999-999"),
    ("SE", "99999"),
    ("US", "99999|99999-9999"),
];

/// The countries whose addresses name a region, with their regions' codes.
const REGIONS: &[(&str, &str)] = &[
    (
        "US",
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY \
         NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI",
    ),
    ("CA", "AB BC MB NB NL NS NT NU ON PE QC SK YT"),
];

/// A subdivision of a country (a state, a province): the part of its ISO 3166-2 code after the
/// country's, 1 to 3 letters or digits, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Region(String);

impl Region {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let code = raw.trim().to_ascii_uppercase();
        if (1..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(code))
        } else {
            Err(Invalid::new("region must be the 1 to 3 letters of an ISO 3166-2 subdivision, like \"CA\""))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A postal code: 1 to 16 letters, digits, spaces or dashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalCode(String);

impl PostalCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let code = raw.trim().to_owned();
        if !code.is_empty() && raw.len() <= 16 && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        {
            Ok(Self(code))
        } else {
            Err(Invalid::new("postal_code must be 1 to 16 letters, digits, spaces or dashes"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country(String);

impl Country {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let code = raw.to_ascii_uppercase();
        if code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(Self(code))
        } else {
            Err(Invalid::new("country must be a two-letter ISO 3166-1 code like \"DE\""))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_form!(Email, Phone, PostalCode, Country, Region);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailbox_is_its_address_without_tags_or_the_dots_gmail_ignores() {
        let mailbox = |raw: &str| Email::parse(raw).unwrap().mailbox();
        assert_eq!(mailbox("Ada+shop@Example.com"), "ada@example.com");
        assert_eq!(mailbox("a.d.a+1+2@googlemail.com"), "ada@gmail.com");
        assert_eq!(mailbox("a.da@example.com"), "a.da@example.com", "dots count elsewhere");
        assert_eq!(mailbox("+ada@example.com"), "+ada@example.com", "a tag needs a name before it");
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(Email::parse(" Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
        for bad in
            ["", "ada", "ada@", "@example.com", "ada@example", "a..b@example.com", "ada@-x.com", "a b@example.com"]
        {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn phones_are_e164() {
        assert_eq!(Phone::parse("+49 151 1234-5678").unwrap().as_str(), "+4915112345678");
        assert!(Phone::parse("015112345678").is_err());
        assert!(Phone::parse("+12").is_err());
    }

    #[test]
    fn addresses_refuse_unknown_fields_and_bad_parts() {
        let ok =
            serde_json::json!({"name":"Ada","line1":"1 Main St","city":"Berlin","postal_code":"10115","country":"de"});
        let a: Address = serde_json::from_value(ok.clone()).unwrap();
        assert_eq!(a.country.as_str(), "DE");
        let mut extra = ok.clone();
        extra["admin"] = true.into();
        assert!(serde_json::from_value::<Address>(extra).is_err());
        let mut bad = ok;
        bad["country"] = "Germany".into();
        assert!(serde_json::from_value::<Address>(bad).is_err());
    }

    fn address(country: &str, postal_code: &str, region: Option<&str>) -> Address {
        serde_json::from_value(serde_json::json!({"name": "Ada", "line1": "1 Main St", "city": "X",
            "postal_code": postal_code, "country": country, "region": region}))
        .unwrap()
    }

    #[test]
    fn addresses_are_checked_per_country() {
        assert!(address("DE", "10115", None).check().is_ok());
        assert!(address("GB", "SW1A 1AA", None).check().is_ok());
        assert!(address("NL", "1012 AB", None).check().is_ok());
        assert!(address("US", "94103-1234", Some("ca")).check().is_ok());
        assert!(address("CA", "K1A 0B1", Some("ON")).check().is_ok());
        assert!(address("BR", "01310-100", None).check().is_ok(), "a country without a known format");
        let fields = |a: Address| a.check().unwrap_err().into_iter().map(|(f, _)| f).collect::<Vec<_>>();
        assert_eq!(fields(address("DE", "1011", None)), ["postal_code"]);
        assert_eq!(fields(address("US", "94103", None)), ["region"]);
        assert_eq!(fields(address("US", "9410", Some("ZZ"))), ["postal_code", "region"]);
        let (_, why) = &address("DE", "ABCDE", None).check().unwrap_err()[0];
        assert_eq!(why.to_string(), "is not a postal code of DE (like 11111)");
    }
}
