//! The cross-service tests, in one binary: each module was its own test binary, and each of
//! those linked the whole stack again. `cargo test -p shop-tests --test it <module>::` runs one.
//! The logs and monitoring tests stay binaries of their own: what they check (the tracing
//! subscriber, the metrics recorder) is global to a process, and other tests would write into it.

mod aws;
mod checkout;
mod crash;
mod deployment;
mod events;
mod guests;
mod hardening;
mod imports;
mod integrity;
mod journeys;
mod media;
mod notifications;
mod partners;
mod payments;
mod paypal;
mod recovery;
mod returns;
mod search;
mod staff;
mod stripe;
mod twilio;
mod variants;
