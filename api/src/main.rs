//! The `lyo` binary.

use clap::Parser;
use std::process::ExitCode;

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
