//! How to reach a person: email address, phone number, postal address.

use super::{Invalid, Name};
use serde::{Deserialize, Serialize};

/// An email address, trimmed and lower-cased, so one mailbox has one spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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
}

/// A phone number in E.164 form: `+` then 8 to 15 digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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
    pub country: Country,
}

impl Address {
    /// The address with the person taken out, as erasure leaves it: the name and street lines
    /// replaced, the city, postal code and country kept (what accounting and tax need).
    pub fn pseudonymised(&self) -> Self {
        let erased = Name::parse("(erased)").expect("a valid name");
        Self { name: erased.clone(), line1: erased, line2: None, ..self.clone() }
    }
}

/// A postal code: 1 to 16 letters, digits, spaces or dashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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

string_form!(Email, Phone, PostalCode, Country);

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(String::from(a.country), "DE");
        let mut extra = ok.clone();
        extra["admin"] = true.into();
        assert!(serde_json::from_value::<Address>(extra).is_err());
        let mut bad = ok;
        bad["country"] = "Germany".into();
        assert!(serde_json::from_value::<Address>(bad).is_err());
    }
}
