//! `shop`: the core every function and the local stack are built from.
//!
//! The domain sits at the centre ([`domain`]); ports ([`table`], [`identity`]) surround it, each
//! with an AWS adapter and an embedded adapter that honour one contract; the repositories
//! ([`users`], [`catalog`]) are written once against the ports. [`http`] holds the HTTP conventions
//! every service follows and [`lambda`] the one way a function runs on AWS Lambda.

pub mod aws;
pub mod cart;
pub mod catalog;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod identity;
pub mod keys;
pub mod lambda;
pub mod notifications;
pub mod openapi;
pub mod orders;
pub mod sales;
pub mod table;
pub mod time;
pub mod users;

pub use error::{Error, Result};

#[doc(hidden)]
pub use {paste, utoipa_axum};
