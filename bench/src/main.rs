//! `crossforest-bench`: see `BENCHMARKS.md` for what each command measures.

use anyhow::Result;
use clap::{Parser, Subcommand};
use crossforest_bench::model::Shape;

#[derive(Parser)]
#[command(
    name = "crossforest-bench",
    about = "crossforest's benchmarks (issue 8)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The same model and request stream through crossforest, Cedar and
    /// casbin: check that all three agree on every request, then time them.
    Compare {
        /// Requests in the stream.
        #[arg(long, default_value_t = 1_000_000)]
        requests: usize,
        /// Cedar and casbin decide only the first N requests (they take
        /// milliseconds each on the full model); crossforest decides all.
        #[arg(long)]
        peer_requests: Option<usize>,
        /// A small model and 200 requests (CI).
        #[arg(long)]
        quick: bool,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Compare {
            requests,
            peer_requests,
            quick,
        } => {
            if quick {
                crossforest_bench::compare::run(Shape::SMALL, 200, None)
            } else {
                crossforest_bench::compare::run(Shape::ORGANIZATION, requests, peer_requests)
            }
        }
    }
}
