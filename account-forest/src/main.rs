//! `account-forest`: run or administer an account forest node.

use clap::Parser;

/// An account forest of crossforest: users and universal security groups.
#[derive(Debug, Parser)]
#[command(name = "account-forest", version, about)]
struct Cli {
    #[command(flatten)]
    logging: crossforest_shared::telemetry::LogArgs,
    #[command(subcommand)]
    command: account_forest::cli::Command,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    crossforest_shared::telemetry::init_with("info", cli.logging.log_format);
    match account_forest::cli::run(cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            crossforest_shared::report::print_error(error.chain());
            std::process::ExitCode::from(crossforest_shared::report::exit_status(error.chain()))
        }
    }
}
