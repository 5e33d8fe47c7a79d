//! `shop-paypal`: the payments port on PayPal Checkout (Orders v2 over PayPal's REST API, with
//! reqwest on rustls), and PayPal's webhook verification.
//!
//! A shop payment is a PayPal order with intent `CAPTURE`: created for the order's total, approved
//! by the buyer on PayPal's page (its `approve` link), then captured by the shop. Every unsafe
//! call carries a `PayPal-Request-Id` derived from the shop's own keys (the order and the
//! attempt, the PayPal order, the refund key), so a retried call never makes a second PayPal
//! order, capture or refund. The API base URL and the hosts webhook certificates may come from
//! are configurable, so tests run against a PayPal-protocol server.

mod amount;
mod client;
mod config;
mod provider;
mod resources;
mod webhook;

pub use amount::{AmountError, from_value, paypal_digits, to_value};
pub use client::{PaypalPayments, from_secrets_manager};
pub use config::{CERT_ORIGINS, Config, LIVE, SANDBOX, SANDBOX_CERT_ORIGINS};
pub use webhook::{AUTH_ALGO, CERT_URL, HEADERS, TRANSMISSION_ID, TRANSMISSION_SIG, TRANSMISSION_TIME};
