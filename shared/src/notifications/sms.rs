//! What bounds the SMS the shop pays for: numbers only in the countries it serves, verified by
//! a code before anything else is sent to them, and a daily cap per account and per number.
//! An SMS to a premium or international-network number (`+882...`) is money out of the shop's
//! pocket and into whoever runs that number, so a free account must not be able to have many
//! sent.

use std::sync::Arc;

use crate::codes;
use crate::domain::{Country, Phone, UserId};
use crate::keys;
use crate::table::{Condition, Table, Update, Write, WriteError};
use crate::time::epoch_now;
use crate::users::{PHONE_CODE, UserError, Users};

use super::message::{CODE_SLOT, Message};
use crate::domain::Channel;

/// SMS one account may be sent per day (codes and order news together): a day with an order
/// placed, paid, shipped and delivered and a code sent is five.
pub const PER_ACCOUNT_PER_DAY: i64 = 10;
/// SMS one number may be sent per day, whichever accounts name it.
pub const PER_NUMBER_PER_DAY: i64 = 10;
/// How long a phone verification code is good.
pub const CODE_MINUTES: i64 = 10;

/// Countries and their international calling codes (ITU-T E.164), for the countries a shop
/// may serve. Calling codes form a prefix code, so a number starts with at most one of them;
/// `US` and `CA` share `1` (the North American plan, which also holds Caribbean islands).
const CALLING_CODES: &[(&str, &str)] = &[
    ("AT", "43"),
    ("AU", "61"),
    ("BE", "32"),
    ("BG", "359"),
    ("CA", "1"),
    ("CH", "41"),
    ("CY", "357"),
    ("CZ", "420"),
    ("DE", "49"),
    ("DK", "45"),
    ("EE", "372"),
    ("ES", "34"),
    ("FI", "358"),
    ("FR", "33"),
    ("GB", "44"),
    ("GR", "30"),
    ("HR", "385"),
    ("HU", "36"),
    ("IE", "353"),
    ("IS", "354"),
    ("IT", "39"),
    ("JP", "81"),
    ("LI", "423"),
    ("LT", "370"),
    ("LU", "352"),
    ("LV", "371"),
    ("MT", "356"),
    ("NL", "31"),
    ("NO", "47"),
    ("NZ", "64"),
    ("PL", "48"),
    ("PT", "351"),
    ("RO", "40"),
    ("SE", "46"),
    ("SI", "386"),
    ("SK", "421"),
    ("US", "1"),
];

/// The countries served by default: the European Union, the rest of the European Economic
/// Area, Switzerland and the United Kingdom (the shop prices in euros).
const DEFAULT_COUNTRIES: &[&str] = &[
    "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR", "HU", "IE", "IS", "IT",
    "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// The countries whose numbers the shop accepts and sends SMS to. Shared, not copied, by the
/// states that hold it: a router clones its state into every route and layer, and copying the
/// list was 0.9 million of the 2.4 million instructions the users function took to its first
/// poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsCountries(std::sync::Arc<[(String, &'static str)]>);

impl Default for SmsCountries {
    fn default() -> Self {
        Self::parse(&DEFAULT_COUNTRIES.join(",")).expect("the default countries have calling codes")
    }
}

impl SmsCountries {
    /// From a comma-separated list of ISO 3166-1 codes (`DE,AT,CH`).
    pub fn parse(list: &str) -> anyhow::Result<Self> {
        let mut countries = Vec::new();
        for code in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let country = Country::parse(code).map_err(|e| anyhow::anyhow!("{code}: {e}"))?;
            let calling = CALLING_CODES
                .iter()
                .find(|(iso, _)| *iso == country.as_str())
                .map(|(_, calling)| *calling)
                .ok_or_else(|| anyhow::anyhow!("the shop knows no calling code for {code}"))?;
            countries.push((country.as_str().to_owned(), calling));
        }
        anyhow::ensure!(!countries.is_empty(), "name at least one country");
        Ok(Self(countries.into()))
    }

    /// From `SMS_COUNTRIES` as `var` finds it, or the default.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        var("SMS_COUNTRIES").map_or_else(|| Ok(Self::default()), |list| Self::parse(&list))
    }

    /// Whether `phone` is a number of one of the countries.
    pub fn allows(&self, phone: &Phone) -> bool {
        let digits = phone.as_str().trim_start_matches('+');
        self.0.iter().any(|(_, calling)| digits.starts_with(calling))
    }

    /// A phone number as given, if it is one of a country served.
    pub fn phone(&self, raw: &str) -> Result<Phone, crate::domain::Invalid> {
        let phone = Phone::parse(raw)?;
        self.check(&phone).map(|()| phone)
    }

    /// Why `phone` is refused, if it is: for a 422 naming the field.
    pub fn check(&self, phone: &Phone) -> Result<(), crate::domain::Invalid> {
        if self.allows(phone) {
            return Ok(());
        }
        let served: Vec<&str> = self.0.iter().map(|(iso, _)| iso.as_str()).collect();
        Err(crate::domain::Invalid::new(format!(
            "must be a number of a country the shop serves ({})",
            served.join(", ")
        )))
    }
}

/// The SMS carrying a code that verifies `number` for `user`.
pub fn phone_code_message(user: &UserId, number: &Phone, code: &str) -> Message {
    Message {
        text: format!("Shop: your code is {CODE_SLOT}. It is good for {CODE_MINUTES} minutes."),
        code: Some(code.into()),
        ..Message::new(user, "phone_verification", Channel::Sms, number.as_str())
    }
}

/// Sends a code to `user`'s phone number by SMS, within the account's hourly cap of account
/// messages: answers whether it was sent.
pub async fn send_phone_code(table: &Arc<dyn Table>, user: &UserId, served: &SmsCountries) -> Result<bool, UserError> {
    let profile = Users::new(table.clone()).get(user).await?.ok_or(UserError::NotFound)?;
    let phone = profile.phone.ok_or(UserError::NoPhone)?;
    served.check(&phone).map_err(|e| UserError::PhoneNotServed(e.0))?;
    let expires = epoch_now() + CODE_MINUTES * 60;
    let (code, stored) = codes::issue(&keys::user_code(user, PHONE_CODE), expires, Some(phone.as_str()));
    let message = phone_code_message(user, &phone, &code);
    Ok(super::account::queue(&**table, &message, Some(expires), vec![stored]).await?)
}

/// Counts one SMS to `number` for `user` today, unless the account or the number had its day's
/// SMS already: answers whether it may be sent.
pub async fn take_daily_allowance(table: &dyn Table, user: &UserId, number: &str) -> anyhow::Result<bool> {
    let day = epoch_now() / 86_400;
    let counted = Update::default().add("sent", 1).set(keys::EXPIRES_AT, (day + 2) * 86_400);
    let writes = vec![
        Write::update(keys::sms_sent_by(user, day), counted.clone())
            .when(Condition::Under("sent".into(), PER_ACCOUNT_PER_DAY)),
        Write::update(keys::sms_sent_to(number, day), counted)
            .when(Condition::Under("sent".into(), PER_NUMBER_PER_DAY)),
    ];
    match table.transact(writes).await {
        Ok(()) => Ok(true),
        Err(WriteError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(anyhow::anyhow!("counting an SMS: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(n: &str) -> Phone {
        Phone::parse(n).unwrap()
    }

    #[test]
    fn numbers_of_the_served_countries_only() {
        let served = SmsCountries::default();
        assert!(served.allows(&phone("+4915112345678")));
        assert!(served.allows(&phone("+447700900123")));
        assert!(!served.allows(&phone("+88234567890")), "an international network, no country");
        assert!(!served.allows(&phone("+12025550123")), "the US is not served by default");
        let us = SmsCountries::parse("US").unwrap();
        assert!(us.allows(&phone("+12025550123")) && !us.allows(&phone("+4915112345678")));
        assert!(served.check(&phone("+88234567890")).unwrap_err().0.contains("DE"));
        assert!(SmsCountries::parse("XX").is_err() && SmsCountries::parse("").is_err());
    }
}
