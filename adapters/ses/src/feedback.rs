//! SES's bounce and complaint reports, as they reach the feedback queue: an SNS notification
//! (not raw) whose `Message` is the SES event, JSON in a string (as SNS sends it) or already an
//! object. Both SES formats are read, event publishing through a configuration set (with the
//! message's tags) and identity notifications: a report is what its `bounce` or `complaint`
//! object says, whatever its `eventType` or `notificationType` field holds.

use serde::Deserialize;
use serde_json::Value;
use shop::domain::UserId;
use shop::notifications::EmailReport;

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Message")]
    message: Value,
}

#[derive(Deserialize)]
struct SesEvent {
    #[serde(default)]
    bounce: Option<Bounce>,
    #[serde(default)]
    complaint: Option<Complaint>,
    #[serde(default)]
    mail: Option<Mail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    bounced_recipients: Vec<Recipient>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    complained_recipients: Vec<Recipient>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
    /// `failed` for an address that does not take mail; `delayed` and others are not final.
    #[serde(default)]
    action: Option<String>,
}

#[derive(Deserialize)]
struct Mail {
    #[serde(default)]
    tags: std::collections::HashMap<String, Vec<String>>,
}

fn addresses(recipients: Vec<Recipient>) -> Vec<String> {
    recipients.into_iter().map(|r| r.email_address).collect()
}

/// The recipients a bounce says are gone for good.
fn failed(recipients: Vec<Recipient>) -> Vec<String> {
    addresses(recipients.into_iter().filter(|r| r.action.as_deref().is_none_or(|a| a == "failed")).collect())
}

/// The report one queue message holds; None for an SES event that is neither a bounce nor a
/// complaint (a delivery, an open...).
pub fn report(body: &str) -> anyhow::Result<Option<EmailReport>> {
    let envelope: Envelope = serde_json::from_str(body).map_err(|e| anyhow::anyhow!("not an SNS notification: {e}"))?;
    let event: SesEvent = match envelope.message {
        Value::String(text) => serde_json::from_str(&text),
        object => serde_json::from_value(object),
    }
    .map_err(|e| anyhow::anyhow!("not an SES event: {e}"))?;
    let user_id = event
        .mail
        .and_then(|m| m.tags.get("user_id").and_then(|v| v.first().cloned()))
        .and_then(|id| UserId::parse(&id).ok());
    Ok(match (event.bounce, event.complaint) {
        (Some(bounce), _) => Some(EmailReport::Bounce {
            permanent: bounce.bounce_type == "Permanent",
            recipients: failed(bounce.bounced_recipients),
            user_id,
        }),
        (None, Some(complaint)) => {
            Some(EmailReport::Complaint { recipients: addresses(complaint.complained_recipients), user_id })
        }
        (None, None) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An SNS notification of `event`, its `Message` a string as SNS sends it.
    fn notification(event: Value) -> String {
        json!({"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:feedback",
            "Message": event.to_string(), "Timestamp": "2026-11-30T10:00:00.000Z"})
        .to_string()
    }

    #[test]
    fn a_permanent_bounce_through_the_configuration_set_names_the_address_and_the_user() {
        // The shape of AWS's documented event-publishing example for a bounce.
        let event = json!({
            "eventType": "Bounce",
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": "nobody@example.com", "action": "failed",
                    "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                "timestamp": "2026-11-30T10:00:00.000Z", "feedbackId": "0102-abc"},
            "mail": {"timestamp": "2026-11-30T09:59:59.000Z", "source": "orders@shop.example.com",
                "messageId": "0102-def", "destination": ["nobody@example.com"],
                "tags": {"ses:configuration-set": ["shop"], "user_id": ["44444444-4444-4444-8444-444444444444"],
                    "message_id": ["01EVT-email"]}}
        });
        let user = UserId::parse("44444444-4444-4444-8444-444444444444").unwrap();
        assert_eq!(
            report(&notification(event)).unwrap(),
            Some(EmailReport::Bounce {
                permanent: true,
                recipients: vec!["nobody@example.com".into()],
                user_id: Some(user)
            })
        );
    }

    #[test]
    fn identity_notifications_and_objects_in_place_of_strings_are_read_too() {
        let complaint = json!({
            "notificationType": "Complaint",
            "complaint": {"complainedRecipients": [{"emailAddress": "grumpy@example.com"}],
                "timestamp": "2026-11-30T10:00:00.000Z", "feedbackId": "0102-ghi"},
            "mail": {"messageId": "0102-jkl", "source": "orders@shop.example.com", "destination": ["grumpy@example.com"]}
        });
        let body = json!({"Type": "Notification", "Message": complaint}).to_string();
        assert_eq!(
            report(&body).unwrap(),
            Some(EmailReport::Complaint { recipients: vec!["grumpy@example.com".into()], user_id: None })
        );
        let transient = json!({"eventType": "Bounce", "bounce": {"bounceType": "Transient",
            "bouncedRecipients": [{"emailAddress": "full@example.com"}]}});
        assert!(matches!(
            report(&notification(transient)).unwrap(),
            Some(EmailReport::Bounce { permanent: false, .. })
        ));
        assert_eq!(report(&notification(json!({"eventType": "Delivery", "mail": {}}))).unwrap(), None);
        assert!(report("not json").is_err());
        assert!(report(&json!({"Message": "{not an event"}).to_string()).is_err());
    }
}
