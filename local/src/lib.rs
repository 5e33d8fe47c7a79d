//! The local stack: every service's router behind one gateway that does API Gateway's jobs,
//! with embedded backends (SQLite, the embedded identity provider) by default and the AWS
//! adapters on request. `cargo run` at the workspace root starts it.

pub mod aws_events;
pub mod cli;
pub mod dead_letters;
pub mod gateway;
pub mod iam;
pub mod mailbox;
pub mod metering;
pub mod metrics;
pub mod oauth;
pub mod provision;
pub mod seed;
pub mod simulation;

mod config;
mod server;
mod stack;

pub use config::{AwsSettings, Backend, Config, Payments};
pub use server::{Running, spawn};
pub use stack::{Events, Stack, build, openapi, search_index};
