//! `cargo run`: the local stack. `cargo run -- provision`: create the table, user pool, topic
//! and queues on an AWS endpoint (`AWS_ENDPOINT_URL` for an emulator) from template.yaml.
//! `cargo run -- dead-letters [list|redrive] [queue]`: the events the consumers gave up on.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    local::cli::run().await
}
