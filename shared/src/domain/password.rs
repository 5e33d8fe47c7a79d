//! The password policy, the same one the Cognito user pool enforces in template.yaml.

use super::Invalid;

/// A password that meets the policy. Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 256;

    /// Checks the policy and names the first rule that fails.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let len = raw.chars().count();
        let rule = if len < Self::MIN_CHARS {
            Some(format!("must be at least {} characters", Self::MIN_CHARS))
        } else if len > Self::MAX_CHARS {
            Some(format!("must be at most {} characters", Self::MAX_CHARS))
        } else if !raw.chars().any(|c| c.is_lowercase()) {
            Some("must contain a lower-case letter".into())
        } else if !raw.chars().any(|c| c.is_uppercase()) {
            Some("must contain an upper-case letter".into())
        } else if !raw.chars().any(|c| c.is_ascii_digit()) {
            Some("must contain a digit".into())
        } else if raw.trim() != raw {
            Some("must not start or end with a space".into())
        } else {
            None
        };
        match rule {
            Some(rule) => Err(Invalid(rule)),
            None => Ok(Self(raw.to_owned())),
        }
    }

    /// A password presented at log-in: not checked against the policy (it may predate it),
    /// only bounded.
    pub fn presented(raw: &str) -> Result<Self, Invalid> {
        if raw.is_empty() || raw.chars().count() > Self::MAX_CHARS {
            return Err(Invalid::new("must be 1 to 256 characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_the_failing_rule() {
        assert_eq!(Password::parse("Short1").unwrap_err().0, "must be at least 10 characters");
        assert_eq!(Password::parse("alllowercase1").unwrap_err().0, "must contain an upper-case letter");
        assert_eq!(Password::parse("NoDigitsHereAtAll").unwrap_err().0, "must contain a digit");
        assert!(Password::parse("Correct-Horse-42").is_ok());
        assert_eq!(format!("{:?}", Password::parse("Correct-Horse-42").unwrap()), "Password(<redacted>)");
    }
}
