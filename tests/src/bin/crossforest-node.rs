//! `crossforest-node`: serves one node of a lab, exactly as `resource-forest
//! serve` and `account-forest serve` do, for the harness's process mode
//! (`crossforest-node resource-forest serve --config <node.toml>`). Built with
//! the tests crate, so its integration tests find it as
//! `CARGO_BIN_EXE_crossforest-node`.

use clap::Parser;

/// One crossforest node, for the federation test harness.
#[derive(Debug, Parser)]
#[command(name = "crossforest-node", about)]
struct Cli {
    #[command(flatten)]
    logging: crossforest_shared::telemetry::LogArgs,
    #[command(subcommand)]
    node: Node,
}

#[derive(Debug, clap::Subcommand)]
enum Node {
    /// An account forest node.
    #[command(subcommand)]
    AccountForest(account_forest::cli::Command),
    /// A resource forest node.
    #[command(subcommand)]
    ResourceForest(resource_forest::cli::Command),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    crossforest_shared::telemetry::init_with("info", cli.logging.log_format);
    let result = match cli.node {
        Node::AccountForest(command) => account_forest::cli::run(command).await,
        Node::ResourceForest(command) => resource_forest::cli::run(command).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            crossforest_shared::report::print_error(error.chain());
            std::process::ExitCode::from(crossforest_shared::report::exit_status(error.chain()))
        }
    }
}
