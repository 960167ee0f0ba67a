//! `resource-forest`: run an Exchange organization node.

use clap::Parser;

/// The resource forest of crossforest: an Exchange organization and its RBAC.
#[derive(Debug, Parser)]
#[command(name = "resource-forest", version, about)]
struct Cli {
    #[command(flatten)]
    logging: crossforest_shared::telemetry::LogArgs,
    #[command(subcommand)]
    command: resource_forest::cli::Command,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    crossforest_shared::telemetry::init_with("info", cli.logging.log_format);
    match resource_forest::cli::run(cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            crossforest_shared::report::print_error(error.chain());
            std::process::ExitCode::from(crossforest_shared::report::exit_status(error.chain()))
        }
    }
}
