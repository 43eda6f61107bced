//! The `lyo` binary.

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: processing allocates and frees many JSON values, sealed
/// payloads and row buffers across threads, where glibc's malloc took about two fifths of the
/// server's CPU (perf, 2026-11-23); with mimalloc the server's CPU per processed delivery fell
/// by about a quarter.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = lyo_api::cli::Cli::parse();
    match lyo_api::cli::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            // The cause chain, once; never a panic message or a backtrace for users.
            eprintln!("lyo: {error:#}");
            ExitCode::FAILURE
        }
    }
}
