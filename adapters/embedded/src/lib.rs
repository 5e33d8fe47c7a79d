//! `shop-embedded`: the adapters the local stack runs on, with no AWS account: the table in
//! SQLite ([`sqlite`], its change stream a table written in the same transaction), the event
//! bus persisted beside it ([`bus`]), the identity provider with argon2id hashes and ES256
//! JWTs shaped like Cognito's ([`identity`]), and the JWT verifier the local gateway checks
//! tokens with, as API Gateway's Cognito authorizer does ([`jwt`]), and the mailbox its email and
//! SMS go to ([`mailbox`]). No function links them.

pub mod bus;
pub mod identity;
pub mod jwt;
pub mod mailbox;
pub mod oauth;
pub mod objects;
pub mod payments;
pub mod sqlite;
