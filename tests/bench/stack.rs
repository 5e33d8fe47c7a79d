//! The local stack's command line (as `cargo run` runs it), built beside the tests so they can
//! start it as a process and kill it.

/// The allocator `cargo run`'s stack has (local/src/main.rs says why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    local::cli::run().await
}
