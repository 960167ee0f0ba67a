//! `crossforest-bench`: see `BENCHMARKS.md` for what each command measures.

use anyhow::Result;
use clap::{Parser, Subcommand};
use crossforest_bench::compare::Caps;
use crossforest_bench::load::Operation;
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

/// Which engines `compare` runs.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Engines {
    /// crossforest and the four peers, agreement first.
    All,
    /// crossforest alone.
    Crossforest,
}

#[derive(Subcommand)]
enum Command {
    /// Aggregate `Authorization.Check` throughput of one organization (the
    /// generated 100,000 recipients / 10,000 assignments) served by 1, 2 and
    /// 3 resource-forest nodes on one PostgreSQL schema
    /// (`CROSSFOREST_TEST_POSTGRES`), the streams spread over the nodes.
    Cluster {
        /// Node counts, one row each.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
        nodes: Vec<usize>,
        /// Concurrent streams, spread round-robin over the nodes.
        #[arg(long, default_value_t = 16)]
        streams: usize,
        /// Checks per row at most.
        #[arg(long, default_value_t = 100_000)]
        requests: usize,
        /// Seconds per row at most.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// A small organization (CI).
        #[arg(long)]
        quick: bool,
    },
    /// Process start → first answer of a resource-forest node with the
    /// generated organization on the embedded store (the `resource-forest`
    /// program beside this one, or in `CROSSFOREST_NODE_BINARIES`).
    ColdStart {
        /// Starts to time.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// A small organization (CI).
        #[arg(long)]
        quick: bool,
    },
    /// The same model and request stream through crossforest, Cedar and
    /// casbin: check that all three agree on every request, then time them
    /// side by side, in turns of 10,000 requests (and crossforest alone).
    Compare {
        /// Requests in the stream.
        #[arg(long, default_value_t = 1_000_000)]
        requests: usize,
        /// Unsliced Cedar and casbin decide only the first N requests
        /// (they test every request against every assignment: milliseconds
        /// each on the full model); crossforest decides all.
        #[arg(long, default_value_t = 1_000)]
        unsliced_requests: usize,
        /// Sliced Cedar and casbin (each caller's policies only) decide only
        /// the first N requests (default: all).
        #[arg(long)]
        sliced_requests: Option<usize>,
        /// A small model and 200 requests (CI).
        #[arg(long)]
        quick: bool,
        /// `crossforest`: time crossforest alone, no peers built (to measure
        /// a change to the check; the ratios need `all`).
        #[arg(long, value_enum, default_value = "all")]
        engines: Engines,
        /// With `--engines crossforest`: timed passes over the stream.
        #[arg(long, default_value_t = 1)]
        passes: usize,
        /// With `--engines crossforest`: run the timed passes under the
        /// profiler and write its flamegraph here.
        #[arg(long)]
        flamegraph: Option<std::path::PathBuf>,
    },
    /// Drive a resource forest node over mutual TLS on loopback with
    /// `Authorization.Check`, `Get-Mailbox`, `New-Mailbox` and `Set-Mailbox`
    /// at 1, 16 and 256 streams, on organizations of the given sizes.
    Load {
        /// Requests per cell (operation × streams) at most.
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        /// Seconds per cell at most.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent streams, one cell each.
        #[arg(long, value_delimiter = ',', default_value = "1,16,256")]
        streams: Vec<usize>,
        /// Operations, one row each per number of streams.
        #[arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "check,get-mailbox"
        )]
        operations: Vec<Operation>,
        /// Recipients in the organization, one lab each (written into the
        /// store before the node starts).
        #[arg(long, value_delimiter = ',', default_value = "100")]
        recipients: Vec<usize>,
        /// Run the cells under the profiler and write its flamegraph here.
        #[arg(long)]
        flamegraph: Option<std::path::PathBuf>,
    },
    /// What one hostile trusted caller costs a resource forest node: its
    /// memory after many invented method paths, and the bytes its audit log
    /// and log grow by under oversized requests of a view-only user.
    Hostile {
        /// Distinct unknown method paths.
        #[arg(long, default_value_t = 30_000)]
        paths: usize,
        /// Oversized requests (and as many at the size limits).
        #[arg(long, default_value_t = 80)]
        requests: usize,
    },
    /// crossforest's check on the organization's denied-by-scope (or
    /// allowed) pairs in a loop under the profiler: a flamegraph of what
    /// bounds it.
    ProfileCheck {
        /// Profile the allowed pairs instead of the denied-by-scope ones.
        #[arg(long)]
        allowed: bool,
        /// Seconds to run.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Where the flamegraph goes.
        #[arg(long, default_value = "docs/flamegraph-check-denied.svg")]
        flamegraph: std::path::PathBuf,
    },
    /// Check latency and memory vs recipients, assignments and nesting depth:
    /// a table and an SVG plot.
    Scale {
        /// Where the plot goes.
        #[arg(long, default_value = "docs/scale.svg")]
        svg: std::path::PathBuf,
    },
    /// `crossforest model verify` on the organization (100,000 recipients,
    /// 10,000 assignments): the report and the time it took.
    Verify {
        /// A small organization (CI).
        #[arg(long)]
        quick: bool,
    },
    /// One point of the scale curve, measured in this process (used by `scale`).
    #[command(hide = true)]
    ScalePoint {
        /// Recipients.
        #[arg(long)]
        recipients: usize,
        /// Generated role groups.
        #[arg(long)]
        role_groups: usize,
        /// Assignments per role group.
        #[arg(long)]
        assignments_per_group: usize,
        /// Nesting chain length.
        #[arg(long)]
        nesting: usize,
    },
}

fn shape(quick: bool) -> Shape {
    if quick {
        Shape::SMALL
    } else {
        Shape::ORGANIZATION
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Cluster {
            nodes,
            streams,
            requests,
            seconds,
            quick,
        } => {
            let limits = crossforest_bench::load::Limits {
                requests,
                duration: std::time::Duration::from_secs(seconds),
            };
            runtime()?
                .block_on(crossforest_bench::cluster::run(
                    &nodes,
                    streams,
                    limits,
                    shape(quick),
                ))
                .map(|_| ())
        }
        Command::ColdStart { rounds, quick } => runtime()?
            .block_on(crossforest_bench::cold_start::run(shape(quick), rounds))
            .map(|_| ()),
        Command::Compare {
            requests,
            unsliced_requests,
            sliced_requests,
            quick,
            engines,
            passes,
            flamegraph,
        } => {
            let shape = if quick {
                Shape::SMALL
            } else {
                Shape::ORGANIZATION
            };
            if engines == Engines::Crossforest {
                let requests = if quick { 200 } else { requests };
                crossforest_bench::compare::run_crossforest(
                    shape,
                    requests,
                    passes,
                    flamegraph.as_deref(),
                )
            } else if quick {
                crossforest_bench::compare::run(Shape::SMALL, 200, Caps::NONE)
            } else {
                let caps = Caps {
                    unsliced: Some(unsliced_requests),
                    sliced: sliced_requests,
                };
                crossforest_bench::compare::run(shape, requests, caps)
            }
        }
        Command::Load {
            requests,
            seconds,
            streams,
            operations,
            recipients,
            flamegraph,
        } => {
            let limits = crossforest_bench::load::Limits {
                requests,
                duration: std::time::Duration::from_secs(seconds),
            };
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(crossforest_bench::load::run(
                    &operations,
                    &streams,
                    &recipients,
                    limits,
                    flamegraph.as_deref(),
                ))
                .map(|_| ())
        }
        Command::Hostile { paths, requests } => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(crossforest_bench::hostile::run(paths, requests)),
        Command::ProfileCheck {
            allowed,
            seconds,
            flamegraph,
        } => {
            let (checks, summary) = crossforest_bench::scale::profile_check(
                Shape::ORGANIZATION,
                !allowed,
                seconds,
                &flamegraph,
            )?;
            println!(
                "{checks} checks in {seconds} s: {:.0} ns each under the profiler",
                seconds * 1e9 / checks.max(1) as f64
            );
            summary.print(&flamegraph, 15);
            Ok(())
        }
        Command::Verify { quick } => crossforest_bench::verify::run(if quick {
            Shape::SMALL
        } else {
            Shape::ORGANIZATION
        }),
        Command::Scale { svg } => crossforest_bench::scale::run(&svg),
        Command::ScalePoint {
            recipients,
            role_groups,
            assignments_per_group,
            nesting,
        } => crossforest_bench::scale::point_command(Shape {
            recipients,
            role_groups,
            assignments_per_group,
            nesting,
        }),
    }
}
