//! `cargo run`: the local stack. `cargo run -- provision`: create the table, user pool, topic
//! and queues on an AWS endpoint (`AWS_ENDPOINT_URL` for an emulator) from template.yaml.
//! `cargo run -- dead-letters [list|redrive] [queue]`: the events the consumers gave up on.

/// The stack's allocator: its requests build and drop many small values (each read turns a
/// JSON document into a record and the answer back into JSON), and mimalloc serves those
/// faster than the system's allocator (ARCHITECTURE.md, Requests, has the figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    local::cli::run().await
}
