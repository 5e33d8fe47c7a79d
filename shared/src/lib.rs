//! `shop`: the core every function and the local stack are built from.
//!
//! The domain sits at the centre ([`domain`]); ports ([`table`], [`identity`]) surround it, each
//! with adapters in crates of their own (`shop-dynamodb`, `shop-cognito`, `shop-sns`,
//! `shop-embedded`, with `shop-aws` for the Lambda glue) that honour one contract, so each function
//! links only the adapters it calls; the repositories ([`users`], [`catalog`], [`cart`],
//! [`orders`]) are written once against the ports. [`http`] holds the HTTP conventions every
//! service follows.

pub mod cart;
pub mod catalog;
pub mod consumers;
pub mod deferred;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod identity;
pub mod keys;
pub mod metrics;
pub mod notifications;
pub mod openapi;
pub mod orders;
pub mod payments;
pub mod sales;
pub mod search;
pub mod table;
pub mod time;
pub mod users;

pub use error::{Error, Result};

#[doc(hidden)]
pub use {paste, utoipa_axum};
