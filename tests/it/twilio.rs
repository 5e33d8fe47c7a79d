//! SMS through Twilio: the adapter against the stateful fake Twilio (`shop_tests::twilio`), and
//! the fake against Twilio's own Python library.

use std::sync::Arc;

use shop::events::Consumer;
use shop::notifications::{Channel, Deliveries, DeliveryStatus, Message, OutgoingSms, SendError, Senders, SmsSender};
use shop::table::Table;
use shop_tests::twilio::{FROM, FakeTwilio, MESSAGING_SERVICE};
use shop_twilio::TwilioSms;

fn sms<'a>(to: &'a str, text: &'a str) -> OutgoingSms<'a> {
    OutgoingSms { to, text, message_id: "01EVT-sms" }
}

mod contract {
    use std::sync::Arc;

    use shop::notifications::contract::{Outbox, Sender, Sent, Subject};

    use super::*;

    /// The fake's messages, read back.
    struct Messages(FakeTwilio);

    #[async_trait::async_trait]
    impl Outbox for Messages {
        async fn sent_to(&self, to: &str) -> Vec<Sent> {
            let sent = self.0.messages().into_iter().filter(|m| m["to"] == to);
            sent.map(|m| Sent { id: text(&m["sid"]), to: text(&m["to"]), words: text(&m["body"]) }).collect()
        }
    }

    fn text(value: &serde_json::Value) -> String {
        value.as_str().unwrap_or_default().to_owned()
    }

    shop::sender_contract!(async {
        shop_aws::default_tls_crypto();
        let fake = FakeTwilio::start().await;
        let twilio = Arc::new(TwilioSms::new(fake.config(FROM)).unwrap());
        Subject { sender: Sender::Sms(twilio), outbox: Arc::new(Messages(fake)) }
    });
}

#[tokio::test]
async fn messages_are_sent_and_twilios_refusals_are_told_apart() {
    shop_aws::default_tls_crypto();
    let fake = FakeTwilio::start().await;
    let twilio = TwilioSms::new(fake.config(FROM)).unwrap();
    let sid = twilio.send_sms(&sms("+4915112345678", "Shop: order shipped.")).await.unwrap();
    assert!(sid.starts_with("SM"), "{sid}");
    let sent = fake.messages();
    assert_eq!((sent[0]["sid"].as_str(), sent[0]["to"].as_str()), (Some(sid.as_str()), Some("+4915112345678")));
    assert_eq!((sent[0]["from"].as_str(), sent[0]["body"].as_str()), (Some(FROM), Some("Shop: order shipped.")));
    // Through a Messaging Service instead of a number.
    let service = TwilioSms::new(fake.config(MESSAGING_SERVICE)).unwrap();
    service.send_sms(&sms("+4915112345678", "hi")).await.unwrap();
    assert_eq!(fake.messages()[1]["messaging_service_sid"], MESSAGING_SERVICE);

    // The recipient replied STOP: suppressed, for good.
    fake.stop("+4915100000001");
    let stopped = twilio.send_sms(&sms("+4915100000001", "x")).await;
    assert!(matches!(&stopped, Err(SendError::Suppressed(why)) if why.contains("STOP")), "{stopped:?}");
    // Not a number Twilio can send to: refused, never retried.
    assert!(matches!(twilio.send_sms(&sms("12345", "x")).await, Err(SendError::Refused(_))));
    // An outage, a wrong token, a sender the account does not own: tried again later (and,
    // once fixed, redriven).
    fake.fail_next(1);
    assert!(matches!(twilio.send_sms(&sms("+4915112345678", "x")).await, Err(SendError::Unavailable(_))));
    assert!(twilio.send_sms(&sms("+4915112345678", "x")).await.is_ok(), "served again");
    let wrong = TwilioSms::new(shop_twilio::Config { auth_token: "wrong".into(), ..fake.config(FROM) }).unwrap();
    let refused = wrong.send_sms(&sms("+4915112345678", "x")).await;
    assert!(matches!(&refused, Err(SendError::Unavailable(e)) if e.to_string().contains("20003")), "{refused:?}");
    let foreign = TwilioSms::new(fake.config("+15550000000")).unwrap();
    assert!(matches!(foreign.send_sms(&sms("+4915112345678", "x")).await, Err(SendError::Unavailable(_))));
    assert!(!format!("{:?}", fake.config(FROM)).contains(shop_tests::twilio::AUTH_TOKEN), "no token in Debug");
}

#[tokio::test]
async fn a_number_that_replied_stop_is_suppressed_by_the_delivery() {
    shop_aws::default_tls_crypto();
    let fake = FakeTwilio::start().await;
    fake.stop("+4915100000002");
    let dir = shop_tests::temp_dir("twilio");
    let table: Arc<dyn Table> =
        Arc::new(shop_embedded::sqlite::SqliteTable::open(&dir.path().join("shop.db")).unwrap());
    let mailbox = Arc::new(shop_embedded::mailbox::Mailbox::new(table.clone()));
    let twilio = Arc::new(TwilioSms::new(fake.config(FROM)).unwrap());
    let deliveries = Deliveries::new(table.clone(), Senders { email: mailbox, sms: twilio });
    let user = shop::domain::UserId::parse("55555555-5555-4555-8555-555555555555").unwrap();
    let mut message = shop::notifications::code_message(&user, "x@example.com", "reset", "000000", 60);
    (message.channel, message.to, message.text) = (Channel::Sms, "+4915100000002".into(), "Shop: hi".into());
    table.transact(message.writes()).await.unwrap();
    let Some(shop::table::Write::Put { item, .. }) = message.event() else { panic!("a queued message has an event") };
    deliveries.handle(&shop::events::Event::from_item(&item).unwrap()).await.unwrap();
    let stored: Message = table.get(&message.key()).await.unwrap().unwrap().decode().unwrap();
    assert_eq!(stored.status, DeliveryStatus::Suppressed);
    assert!(stored.reason.as_deref().unwrap().contains("replied STOP"), "{stored:?}");
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn twilios_own_python_library_is_served_by_the_fake() {
    let fake = FakeTwilio::start().await;
    fake.stop("+4915100000003");
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/support/twilio_conformance.py");
    let url = fake.url.clone();
    let ran = tokio::process::Command::new(python)
        .args([script, &url, shop_tests::twilio::ACCOUNT_SID, shop_tests::twilio::AUTH_TOKEN, FROM, "+4915100000003"])
        .output()
        .await
        .expect("the test tools' Python (./scripts/test installs it)");
    let said = format!("{}{}", String::from_utf8_lossy(&ran.stdout), String::from_utf8_lossy(&ran.stderr));
    assert!(ran.status.success(), "{said}");
    assert!(said.contains("conformant"), "{said}");
    assert_eq!(fake.messages().len(), 1, "only the one good message was accepted");
    assert_eq!(fake.sends(), 6);
}
