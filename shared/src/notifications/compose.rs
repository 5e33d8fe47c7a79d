//! Composing: order events and account codes put into words, one message per channel.

use std::sync::Arc;

use askama::Template;
use async_trait::async_trait;

use crate::domain::{Channel, DeliveryStatus};
use crate::domain::{Money, OrderId, OrderLine, OrderStatus, UserId};
use crate::events::{Consumer, DomainEvent, Event, NOTIFICATIONS, Queue};
use crate::pricing::Totals;
use crate::table::Table;
use crate::users::{UserProfile, Users};

use super::message::{CODE_SLOT, Message};

#[derive(Template)]
#[template(path = "order.html")]
struct OrderHtml<'a> {
    subject: &'a str,
    name: &'a str,
    intro: &'a str,
    lines: &'a [OrderLine],
    total: &'a Money,
    totals: &'a Option<Totals>,
    tracking: &'a Option<String>,
    order_id: &'a OrderId,
    /// A guest's link to the order (view, pay, cancel).
    link: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "order.txt")]
struct OrderText<'a> {
    name: &'a str,
    intro: &'a str,
    lines: &'a [OrderLine],
    total: &'a Money,
    totals: &'a Option<Totals>,
    tracking: &'a Option<String>,
    order_id: &'a OrderId,
    /// A guest's link to the order (view, pay, cancel).
    link: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodeHtml<'a> {
    subject: &'a str,
    intro: &'a str,
    code: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "code.txt")]
struct CodeText<'a> {
    intro: &'a str,
    code: &'a str,
    minutes: i64,
}

/// What an order event tells, in words: (subject, the email's opening, the SMS); None for an
/// event shoppers do not hear of.
fn order_words(event: &DomainEvent) -> Option<(String, String, String)> {
    let order_event = event.order()?;
    let (order, total) = (&order_event.order_id, &order_event.total);
    Some(match event {
        DomainEvent::OrderPlaced(_) => (
            format!("Order {order} received"),
            format!("Thank you: we have your order for {total}. It ships once paid."),
            format!("Shop: order {order} received, {total}."),
        ),
        DomainEvent::OrderPaid(_) => (
            format!("Order {order} paid"),
            format!("We have your payment of {total}. Your order is being prepared."),
            format!("Shop: payment of {total} for order {order} received."),
        ),
        DomainEvent::OrderPaymentFailed(_) => (
            format!("Payment for order {order} failed"),
            format!("Your payment of {total} did not go through. We keep your order: you can pay again."),
            format!("Shop: payment for order {order} failed; you can pay again."),
        ),
        DomainEvent::OrderShipped(_) => {
            let sms = match &order_event.tracking_number {
                Some(tracking) => format!("Shop: order {order} shipped, tracking {tracking}."),
                None => format!("Shop: order {order} shipped."),
            };
            (format!("Order {order} shipped"), "Your order is on its way.".into(), sms)
        }
        DomainEvent::OrderDelivered(_) => (
            format!("Order {order} delivered"),
            "Your order has been delivered. Enjoy it.".into(),
            format!("Shop: order {order} delivered."),
        ),
        DomainEvent::OrderCancelled(_) => (
            format!("Order {order} cancelled"),
            "Your order has been cancelled. Anything you paid is refunded.".into(),
            format!("Shop: order {order} cancelled."),
        ),
        DomainEvent::OrderRefunded(_) => (
            format!("Order {order} refunded"),
            format!("We have refunded {total} for your order."),
            format!("Shop: {total} refunded for order {order}."),
        ),
        DomainEvent::ReturnRequested(_)
        | DomainEvent::ReturnApproved(_)
        | DomainEvent::ReturnRefused(_)
        | DomainEvent::ReturnReceived(_)
        | DomainEvent::ReturnRefunded(_) => return_words(event, order_event.returned.as_ref()?),
        _ => return None,
    })
}

/// What a return's step tells the shopper: (subject, the email's opening, the SMS, which is
/// never sent: a return's steps go by email only).
fn return_words(event: &DomainEvent, returned: &crate::domain::Return) -> (String, String, String) {
    let order = event.order().map(|o| o.order_id.to_string()).unwrap_or_default();
    let units: u32 = returned.lines.iter().map(|l| l.quantity.get()).sum();
    let (subject, intro) = match event {
        DomainEvent::ReturnApproved(_) => (
            format!("Your return for order {order} is approved"),
            format!(
                "Your return is approved. How to send the goods: {}",
                returned.instructions.as_ref().map_or("", |i| i.as_str())
            ),
        ),
        DomainEvent::ReturnRefused(_) => (
            format!("Your return for order {order} was refused"),
            format!("We cannot accept your return: {}", returned.refusal.as_ref().map_or("", |r| r.as_str())),
        ),
        DomainEvent::ReturnReceived(_) => (
            format!("Your returned goods for order {order} arrived"),
            "We have your returned goods. Their refund follows.".into(),
        ),
        DomainEvent::ReturnRefunded(_) => (
            format!("Your return for order {order} is refunded"),
            match &returned.refunded {
                Some(amount) => format!("We have refunded {amount} for your returned goods."),
                None => "We have refunded your returned goods.".into(),
            },
        ),
        _ => (
            format!("We received your return request for order {order}"),
            format!("We have your request to return {units} item(s) and will answer it soon."),
        ),
    };
    (subject, intro, String::new())
}

/// The messages an order event makes for `user`, one per channel they can be reached on;
/// None for an event shoppers do not hear of. A guest's order's link leads to `storefront`.
pub fn order_messages(event: &Event, user: &UserProfile, storefront: &str) -> Vec<Message> {
    let (Some((subject, intro, sms)), Some(order)) = (order_words(&event.event), event.event.order()) else {
        return Vec::new();
    };
    let (name, tracking) = (user.name.as_str(), &order.tracking_number);
    let (lines, total, order_id) = (&order.lines[..], &order.total, &order.order_id);
    let totals = &order.totals;
    let link = order.guest.as_ref().and_then(|g| g.link.as_ref()).map(|token| guest_link(storefront, order_id, token));
    let link = link.as_deref();
    let html = OrderHtml { subject: &subject, name, intro: &intro, lines, total, totals, tracking, order_id, link };
    let text = OrderText { name, intro: &intro, lines, total, totals, tracking, order_id, link };
    // Why a message is not sent, if it is not.
    let message = |channel: Channel, to: String, held_back: Option<String>| Message {
        id: format!("{}-{}", event.event_id, channel.as_str()),
        status: if held_back.is_none() { DeliveryStatus::Queued } else { DeliveryStatus::Suppressed },
        created_at: event.at,
        reason: held_back,
        order_id: Some(order.order_id),
        ..Message::new(&user.id, event.kind().as_str(), channel, &to)
    };
    let off = |channel: Channel, wanted: bool| (!wanted).then(|| format!("{} is turned off", channel.as_str()));
    let mut messages = vec![Message {
        subject: Some(subject.clone()),
        text: text.render().expect("the order text template renders"),
        html: Some(html.render().expect("the order HTML template renders")),
        ..message(Channel::Email, user.email.to_string(), off(Channel::Email, user.preferences.email))
    }];
    if let Some(phone) = user.phone.as_ref().filter(|_| texted(&event.event)) {
        let held_back = if user.phone_verified {
            off(Channel::Sms, user.preferences.sms)
        } else {
            Some("the number is not verified".into())
        };
        messages.push(Message { text: sms, ..message(Channel::Sms, phone.as_str().into(), held_back) });
    }
    messages
}

/// The storefront's page of a guest's order, with the token that reaches it (in the fragment,
/// which browsers send to no server).
fn guest_link(storefront: &str, order: &OrderId, token: &str) -> String {
    format!("{}/#/guest/orders/{order}/{token}", storefront.trim_end_matches('/'))
}

/// Whether an order event is worth an SMS. An unpaid order's placement and cancellation are
/// not: anyone could place and cancel orders in a loop to have the shop pay for SMS.
fn texted(event: &DomainEvent) -> bool {
    match event {
        DomainEvent::OrderPlaced(_) => false,
        DomainEvent::ReturnRequested(_)
        | DomainEvent::ReturnApproved(_)
        | DomainEvent::ReturnRefused(_)
        | DomainEvent::ReturnReceived(_)
        | DomainEvent::ReturnRefunded(_) => false,
        DomainEvent::OrderCancelled(order) => order.from != Some(OrderStatus::PendingPayment),
        _ => true,
    }
}

/// The email carrying a one-time code for `purpose` (`confirm`, `reset`), good for `minutes`:
/// stored with the code in [`Message::code`] only.
pub fn code_message(user: &UserId, to: &str, purpose: &str, code: &str, minutes: i64) -> Message {
    let (subject, intro) = match purpose {
        "confirm" => ("Confirm your account", "Welcome! Enter this code to confirm your account:"),
        _ => ("Reset your password", "Enter this code to choose a new password:"),
    };
    let html = CodeHtml { subject, intro, code: CODE_SLOT, minutes };
    Message {
        subject: Some(subject.into()),
        text: CodeText { intro, code: CODE_SLOT, minutes }.render().expect("the code text template renders"),
        html: Some(html.render().expect("the code HTML template renders")),
        code: Some(code.into()),
        ..Message::new(user, purpose, Channel::Email, to)
    }
}

/// The consumer that tells shoppers what happened to their orders.
#[derive(Clone)]
pub struct OrderNotifications {
    table: Arc<dyn Table>,
    users: Users,
    /// Where guests' links lead.
    storefront: String,
}

impl OrderNotifications {
    pub fn new(table: Arc<dyn Table>, storefront: String) -> Self {
        Self { users: Users::new(table.clone()), table, storefront }
    }
}

#[async_trait]
impl Consumer for OrderNotifications {
    fn queue(&self) -> &'static Queue {
        &NOTIFICATIONS
    }

    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        let Some(order) = event.event.order() else { return Ok(()) };
        let user = match &order.guest {
            // A guest has no profile: their order says where to write, by the name it ships to.
            Some(guest) => UserProfile::new(order.user_id.clone(), guest.email.clone(), guest.name.clone(), None),
            // A deleted account hears nothing more.
            None => match self.users.get(&order.user_id).await? {
                Some(user) => user,
                None => return Ok(()),
            },
        };
        let messages = order_messages(event, &user, &self.storefront);
        if messages.is_empty() {
            return Ok(());
        }
        let writes = messages.iter().flat_map(Message::writes).collect();
        crate::events::once(&*self.table, NOTIFICATIONS.name, event, writes).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderStatus;
    use crate::domain::{Currency, Email, Label, Name, Phone, ProductId, Quantity};
    use crate::events::{OrderEvent, StockCause, StockChanged};
    use crate::notifications::Notification;
    use crate::time::Timestamp;

    fn shopper() -> UserProfile {
        let mut user = UserProfile::new(
            UserId::parse("user-1").unwrap(),
            Email::parse("ada@example.com").unwrap(),
            Name::parse("Ada <b>Lovelace</b>").unwrap(),
            Some(Phone::parse("+4915112345678").unwrap()),
        );
        user.preferences.sms = true;
        user
    }

    fn event(event: DomainEvent) -> Event {
        Event { event_id: "01EVT".into(), at: Timestamp::now(), event }
    }

    fn shipped() -> Event {
        let eur = |amount| Money { amount, currency: Currency::EUR };
        event(DomainEvent::OrderShipped(OrderEvent {
            order_id: OrderId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
            user_id: UserId::parse("user-1").unwrap(),
            status: OrderStatus::Shipped,
            from: Some(OrderStatus::Paid),
            total: eur(4500),
            totals: None,
            lines: vec![OrderLine {
                product_id: ProductId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAW").unwrap(),
                variant_id: ProductId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAW").unwrap().into(),
                sku: "LAMP-1".into(),
                name: "Lamp <script>alert(1)</script> & shade".into(),
                options: [(Label::parse("Shade").unwrap(), Label::parse("Linen & <b>").unwrap())].into(),
                unit_price: eur(1500),
                quantity: Quantity::new(3).unwrap(),
                line_total: eur(4500),
                discount: None,
                tax: None,
            }],
            tracking_number: Some("1Z999AA10123456784".into()),
            reason: None,
            guest: None,
            returned: None,
            recovered: false,
        }))
    }

    #[test]
    fn a_guests_order_email_holds_the_link_to_the_order() {
        let mut placed = shipped();
        let DomainEvent::OrderShipped(order) = &mut placed.event else { unreachable!() };
        let contact = |link: Option<&str>| crate::events::GuestContact {
            email: Email::parse("guest@example.com").unwrap(),
            name: Name::parse("Grace Hopper").unwrap(),
            link: link.map(str::to_owned),
        };
        order.guest = Some(contact(Some("abc.def")));
        let guest = UserProfile::new(order.user_id.clone(), contact(None).email, contact(None).name, None);
        let email = &order_messages(&placed, &guest, "https://shop.example.com")[0];
        let link = "https://shop.example.com/#/guest/orders/01ARZ3NDEKTSV4RRFFQ69G5FAV/abc.def";
        assert!(email.text.contains(link) && email.html.as_ref().unwrap().contains(link), "{}", email.text);
        assert!(!order_messages(&shipped(), &shopper(), "/")[0].text.contains("#/guest"), "an account's has none");
    }

    #[test]
    fn an_order_email_has_both_parts_with_what_shoppers_typed_escaped_only_in_html() {
        let messages = order_messages(&shipped(), &shopper(), "https://shop.example.com/");
        let email = &messages[0];
        assert_eq!(
            (email.channel, email.status, email.id.as_str()),
            (Channel::Email, DeliveryStatus::Queued, "01EVT-email")
        );
        assert_eq!(email.subject.as_deref(), Some("Order 01ARZ3NDEKTSV4RRFFQ69G5FAV shipped"));
        let html = email.html.as_deref().unwrap();
        assert!(
            html.contains("Lamp &#60;script&#62;alert(1)&#60;/script&#62; &#38; shade (Linen &#38; &#60;b&#62;)"),
            "{html}"
        );
        assert!(html.contains("Ada &#60;b&#62;Lovelace&#60;/b&#62;"), "{html}");
        assert!(!html.contains("<script>") && !html.contains("<b>"), "{html}");
        assert!(html.contains("45.00 EUR") && html.contains("1Z999AA10123456784"), "{html}");
        let text = &email.text;
        assert!(text.contains("Lamp <script>alert(1)</script> & shade (Linen & <b>) x 3: 45.00 EUR"), "{text}");
        assert!(text.contains("Hello Ada <b>Lovelace</b>,") && text.contains("Tracking number: 1Z999AA10123456784"));
    }

    #[test]
    fn an_sms_is_one_short_text_and_a_channel_turned_off_is_stored_suppressed() {
        let mut user = shopper();
        // An unverified number is sent nothing.
        let unverified = order_messages(&shipped(), &user, "/");
        assert_eq!(unverified[1].reason.as_deref(), Some("the number is not verified"));
        assert_eq!((unverified[1].status, unverified[1].writes().len()), (DeliveryStatus::Suppressed, 1));
        user.phone_verified = true;
        user.preferences.email = false;
        let messages = order_messages(&shipped(), &user, "/");
        let (email, sms) = (&messages[0], &messages[1]);
        assert_eq!((email.status, email.writes().len()), (DeliveryStatus::Suppressed, 1), "stored, no event");
        assert_eq!((sms.channel, sms.to.as_str(), sms.writes().len()), (Channel::Sms, "+4915112345678", 2));
        assert_eq!(sms.text, "Shop: order 01ARZ3NDEKTSV4RRFFQ69G5FAV shipped, tracking 1Z999AA10123456784.");
        assert!(sms.html.is_none() && sms.text.len() <= 160);
        user.phone = None;
        assert_eq!(order_messages(&shipped(), &user, "/").len(), 1);
        user.phone = Some(Phone::parse("+4915112345678").unwrap());
        // An unpaid order's placement and cancellation are not texted; a paid one's cancellation is.
        let mut cancelled = shipped();
        let mut cancel = |from: OrderStatus| {
            let DomainEvent::OrderShipped(order) = &shipped().event else { unreachable!() };
            let order = OrderEvent { status: OrderStatus::Cancelled, from: Some(from), ..order.clone() };
            cancelled.event = DomainEvent::OrderCancelled(order);
            order_messages(&cancelled, &user, "/").iter().filter(|m| m.channel == Channel::Sms).count()
        };
        assert_eq!((cancel(OrderStatus::PendingPayment), cancel(OrderStatus::Paid)), (0, 1));
        let adjusted = StockChanged { cause: StockCause::Adjustment { reason: "count".into() }, products: vec![] };
        assert!(order_messages(&event(DomainEvent::StockChanged(adjusted)), &user, "/").is_empty());
    }

    #[test]
    fn a_code_message_carries_its_code_in_both_parts() {
        let message = code_message(&UserId::parse("user-1").unwrap(), "ada@example.com", "reset", "012345", 15);
        let (text, html) = message.filled();
        assert!(text.contains("012345") && html.unwrap().contains("012345"));
        assert!(text.contains("15 minutes"));
        let stored = serde_json::to_string(&message.item().0).unwrap();
        assert_eq!(stored.matches("012345").count(), 1, "the stored text and HTML hold only the slot: {stored}");
        let listed = Notification::from_item(&message.item()).unwrap();
        assert!(!serde_json::to_string(&listed).unwrap().contains("012345"), "the list never shows a code");
    }
}
