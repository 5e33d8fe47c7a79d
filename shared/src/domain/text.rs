//! Bounded text: names, descriptions, SKUs, category slugs and image URLs.

use super::Invalid;

/// Trims and checks a string against a length range in characters (at least `min` once
/// trimmed, at most `max` as sent, which is what the API document's `maxLength` says);
/// refuses control characters.
fn bounded(raw: &str, min: usize, max: usize) -> Result<String, Invalid> {
    let trimmed = raw.trim();
    // One pass over the characters: every product read decodes a few dozen of these.
    let (chars, control) =
        raw.chars().fold((0, false), |(n, control), c| (n + 1, control || (c.is_control() && c != '\n' && c != '\t')));
    if min > 0 && trimmed.chars().nth(min - 1).is_none() {
        return Err(if min == 1 {
            Invalid::new("must not be empty")
        } else {
            Invalid::new(format!("must be at least {min} characters"))
        });
    }
    if chars > max {
        return Err(Invalid::new(format!("must be at most {max} characters")));
    }
    if control {
        return Err(Invalid::new("must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, Invalid> {
                Self::check(bounded(raw, $min, $max)?).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        string_form!($name);
    };
}

text_type!(
    /// A person's or a product's name: 1 to 200 characters.
    Name, 1, 200
);
text_type!(
    /// A product description: up to 5000 characters.
    Description, 0, 5000
);
text_type!(
    /// A stock-keeping unit: 1 to 64 of `A-Z 0-9 - _ .`, stored upper-case.
    Sku, 1, 64
);
text_type!(
    /// A category slug: 1 to 64 of `a-z 0-9 -`, starting with a letter or digit.
    CategorySlug, 1, 64
);
text_type!(
    /// The id an admin gives a setting (a shipping zone, a shipping option): 1 to 40 of
    /// `a-z 0-9 -`, starting with a letter or digit, so it reads well in URLs and requests.
    Handle, 1, 40
);
text_type!(
    /// An absolute `https://` image URL of at most 2048 characters.
    ImageUrl, 1, 2048
);

text_type!(
    /// An option's name or value ("Size", "M"): 1 to 64 characters, without `,` or `:` (a
    /// search names option values as `Size:M,Colour:Blue`).
    Label, 1, 64
);
text_type!(
    /// What an image shows, for those who cannot see it: 1 to 250 characters.
    AltText, 1, 250
);
text_type!(
    /// A carrier's tracking number: 1 to 64 visible ASCII characters.
    TrackingNumber, 1, 64
);
text_type!(
    /// Why stock was adjusted (restock, write-off, count correction): 1 to 200 characters.
    Reason, 1, 200
);

impl TrackingNumber {
    fn check(s: String) -> Result<String, Invalid> {
        if s.chars().all(|c| c.is_ascii_graphic()) {
            Ok(s)
        } else {
            Err(Invalid::new("may contain only visible ASCII characters"))
        }
    }
}

impl Reason {
    fn check(s: String) -> Result<String, Invalid> {
        Ok(s)
    }
}

impl AltText {
    fn check(s: String) -> Result<String, Invalid> {
        Ok(s)
    }
}

impl Label {
    fn check(s: String) -> Result<String, Invalid> {
        if s.contains([',', ':']) { Err(Invalid::new("must not contain ',' or ':'")) } else { Ok(s) }
    }
}

impl Name {
    fn check(s: String) -> Result<String, Invalid> {
        Ok(s)
    }
}

impl Description {
    fn check(s: String) -> Result<String, Invalid> {
        Ok(s)
    }
}

impl Sku {
    fn check(mut s: String) -> Result<String, Invalid> {
        s.make_ascii_uppercase();
        if s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.".contains(&b)) {
            Ok(s)
        } else {
            Err(Invalid::new("may contain only letters, digits, '-', '_' and '.'"))
        }
    }
}

impl CategorySlug {
    fn check(s: String) -> Result<String, Invalid> {
        slug(s)
    }
}

impl Handle {
    fn check(s: String) -> Result<String, Invalid> {
        slug(s)
    }
}

/// Lower-case letters, digits and '-', starting with a letter or digit.
fn slug(s: String) -> Result<String, Invalid> {
    let ok_first = s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok_first && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        Ok(s)
    } else {
        Err(Invalid::new("must be lower-case letters, digits and '-' (for example \"home-garden\")"))
    }
}

impl ImageUrl {
    fn check(s: String) -> Result<String, Invalid> {
        let rest = s.strip_prefix("https://").ok_or_else(|| Invalid::new("must be an https:// URL"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if !Self::authority(authority) || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Invalid::new("must be an https:// URL with a host"));
        }
        Ok(s)
    }

    /// `host[:port]`, the host a DNS name (labels of letters, digits and hyphens): what every
    /// browser and URL parser reads alike (the API document's pattern says the same).
    fn authority(authority: &str) -> bool {
        let (host, port) = authority.split_at(authority.find(':').unwrap_or(authority.len()));
        let label = |l: &str| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let port = port.is_empty()
            || port
                .strip_prefix(':')
                .is_some_and(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
        host.split('.').all(label) && port
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"x".repeat(201)).is_err());
        assert!(Name::parse(&"é".repeat(200)).is_ok());
        assert!(Name::parse("a\u{0}b").is_err());
    }

    #[test]
    fn image_urls_are_https_with_a_host_every_parser_reads_alike() {
        for good in ["https://images.example.com/a.jpg", "https://cdn-1.example.com:8443/x?y#z", "https://img"] {
            assert!(ImageUrl::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "http://images.example.com/a.jpg",
            "https://",
            "https:///a",
            "https://[/a",
            "https://[::1/a",
            "https://[::1]/a",
            "https://a..b/c",
            "https://a b/c",
            "https://host:/a",
            "https://host:123456/a",
            "https://us@er/a",
            "https://host/a\u{7}",
        ] {
            assert!(ImageUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn skus_are_upper_cased_and_restricted() {
        assert_eq!(Sku::parse("tee-01.b").unwrap().as_str(), "TEE-01.B");
        assert!(Sku::parse("tee 01").is_err());
        assert!(Sku::parse("").is_err());
    }

    #[test]
    fn slugs_and_urls() {
        assert!(CategorySlug::parse("home-garden").is_ok());
        assert!(CategorySlug::parse("Home").is_err());
        assert!(CategorySlug::parse("-x").is_err());
        assert!(ImageUrl::parse("https://img.example/a.png").is_ok());
        assert!(ImageUrl::parse("http://img.example/a.png").is_err());
        assert!(ImageUrl::parse("https:///a.png").is_err());
    }
}
