//! The local stack's command line (as `cargo run` runs it), built beside the tests so they can
//! start it as a process and kill it.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    local::cli::run().await
}
