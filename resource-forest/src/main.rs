//! `resource-forest`: run an Exchange organization node.

use clap::Parser;

/// The resource forest of crossforest: an Exchange organization and its RBAC.
#[derive(Debug, Parser)]
#[command(name = "resource-forest", version, about)]
struct Cli {
    #[command(subcommand)]
    command: resource_forest::cli::Command,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    crossforest_shared::telemetry::init("info");
    match resource_forest::cli::run(Cli::parse().command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
