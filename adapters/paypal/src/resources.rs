//! The Orders v2 resources the shop reads (orders, captures, refunds) and writes.

use serde::Deserialize;
use serde_json::{Value, json};
use shop::domain::Money;
use shop::payments::{PaymentStatus, ProviderError, ProviderPayment, RefundRequest};

use crate::{AmountError, from_value, to_value};

/// The separator of the fields the shop writes into a refund's `custom_id`.
pub(crate) const CUSTOM_SEPARATOR: char = ',';

/// `money` in PayPal's terms.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PaypalMoney {
    pub(crate) currency_code: String,
    pub(crate) value: String,
}

impl PaypalMoney {
    pub(crate) fn of(money: Money) -> Result<Value, AmountError> {
        Ok(json!({"currency_code": money.currency.as_str(), "value": to_value(money)?}))
    }

    pub(crate) fn money(&self) -> Result<Money, AmountError> {
        from_value(&self.value, &self.currency_code)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Link {
    pub(crate) href: String,
    pub(crate) rel: String,
}

/// An Orders v2 `order`, as far as the shop reads it.
#[derive(Debug, Deserialize)]
pub(crate) struct PaypalOrder {
    pub(crate) id: String,
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) purchase_units: Vec<PurchaseUnit>,
    #[serde(default)]
    pub(crate) links: Vec<Link>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PurchaseUnit {
    #[serde(default)]
    pub(crate) amount: Option<PaypalMoney>,
    #[serde(default)]
    pub(crate) payments: Option<UnitPayments>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UnitPayments {
    #[serde(default)]
    pub(crate) captures: Vec<Capture>,
}

/// A `capture` (in an order, or a webhook's resource).
#[derive(Debug, Deserialize)]
pub(crate) struct Capture {
    pub(crate) id: String,
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) amount: Option<PaypalMoney>,
    #[serde(default)]
    pub(crate) status_details: Option<StatusDetails>,
    #[serde(default)]
    pub(crate) custom_id: Option<String>,
    #[serde(default)]
    pub(crate) supplementary_data: Option<SupplementaryData>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StatusDetails {
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SupplementaryData {
    #[serde(default)]
    pub(crate) related_ids: Option<RelatedIds>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RelatedIds {
    #[serde(default)]
    pub(crate) order_id: Option<String>,
}

impl Capture {
    /// The PayPal order it belongs to, as the resource says.
    pub(crate) fn order_id(&self) -> Option<&str> {
        self.supplementary_data.as_ref()?.related_ids.as_ref()?.order_id.as_deref()
    }

    /// Whether it took the money: completed, and possibly refunded since.
    pub(crate) fn took(&self) -> bool {
        matches!(self.status.as_str(), "COMPLETED" | "PARTIALLY_REFUNDED" | "REFUNDED")
    }

    pub(crate) fn refused(&self) -> bool {
        matches!(self.status.as_str(), "DECLINED" | "FAILED")
    }
}

/// A `refund` resource.
#[derive(Debug, Deserialize)]
pub(crate) struct PaypalRefund {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) status: Option<String>,
    #[serde(default)]
    pub(crate) status_details: Option<StatusDetails>,
    #[serde(default)]
    pub(crate) amount: Option<PaypalMoney>,
    #[serde(default)]
    pub(crate) custom_id: Option<String>,
    #[serde(default)]
    pub(crate) links: Vec<Link>,
}

impl PaypalOrder {
    pub(crate) fn captures(&self) -> impl Iterator<Item = &Capture> {
        self.purchase_units.iter().filter_map(|u| u.payments.as_ref()).flat_map(|p| &p.captures)
    }

    /// The capture that took the money, if one did.
    pub(crate) fn taken(&self) -> Option<&Capture> {
        self.captures().find(|c| c.took())
    }

    /// The order in the port's terms: succeeded once completed with a capture that took the
    /// money (its amount then); failed when voided or its capture was declined; pending else.
    /// `asked` stands for the amount when PayPal answered the minimal representation.
    pub(crate) fn described(&self, asked: Option<Money>) -> Result<ProviderPayment, ProviderError> {
        let taken = self.taken().filter(|_| self.status == "COMPLETED");
        let status = if taken.is_some() {
            PaymentStatus::Succeeded
        } else if self.status == "VOIDED" || self.captures().any(Capture::refused) {
            PaymentStatus::Failed
        } else {
            PaymentStatus::Pending
        };
        let amount = taken
            .and_then(|c| c.amount.as_ref())
            .or_else(|| self.purchase_units.first().and_then(|u| u.amount.as_ref()))
            .map(PaypalMoney::money)
            .transpose()
            .map_err(|e| ProviderError::Unavailable(anyhow::anyhow!("PayPal order {}: {e}", self.id)))?
            .or(asked)
            .ok_or_else(|| ProviderError::Unavailable(anyhow::anyhow!("PayPal order {} has no amount", self.id)))?;
        let approve_url = self
            .links
            .iter()
            .find(|l| l.rel == "approve" || l.rel == "payer-action")
            .filter(|_| status == PaymentStatus::Pending)
            .map(|l| l.href.clone());
        Ok(ProviderPayment { id: self.id.clone(), status, amount, client_secret: None, approve_url })
    }
}

/// The refund's `custom_id`: what its webhook needs to find the shop's refund (the shop's
/// order, the PayPal order, the shop's refund key), at most 127 characters.
pub(crate) fn refund_custom_id(refund: &RefundRequest<'_>) -> Result<String, ProviderError> {
    let custom = format!("{}{CUSTOM_SEPARATOR}{}{CUSTOM_SEPARATOR}{}", refund.order, refund.payment_id, refund.key);
    if custom.len() > 127 || !custom.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.,".contains(&b)) {
        return Err(ProviderError::Refused(format!("the refund key {:?} does not fit PayPal's custom_id", refund.key)));
    }
    Ok(custom)
}
