//! `crossforest-bench cold-start`: how long a resource-forest node with the
//! generated organization (100,000 recipients, 10,000 assignments) on the
//! embedded store takes from process start to serving (issue 20's goal:
//! ≤ 1 s). The node is the real `resource-forest serve` program; the figure
//! runs from spawning it until its first answer to a request over mutual TLS
//! (`WhoAmI` as the lab's Administrator), and apart until it announces that
//! it listens (`<data_dir>/listening`, which the launcher polls every 25 ms).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use crossforest_cli::node_process::{NodeBinaries, NodeKind, NodeProcess};
use resource_forest::store::StoreConfig;

use crate::model::Shape;

/// Where the `resource-forest` program is: `CROSSFOREST_NODE_BINARIES`, else
/// beside this program (`cargo build --release -p resource-forest`).
fn binaries() -> Result<NodeBinaries> {
    let dir = match std::env::var_os("CROSSFOREST_NODE_BINARIES") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_exe()?
            .parent()
            .context("this program has no directory")?
            .to_owned(),
    };
    anyhow::ensure!(
        dir.join(NodeKind::ResourceForest.name()).is_file(),
        "no `resource-forest` program in {}: build it (`cargo build --release -p resource-forest`) or set CROSSFOREST_NODE_BINARIES",
        dir.display()
    );
    Ok(NodeBinaries::Directory(dir))
}

/// One start: until listening, and until the first answer.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    /// Spawn → `listening` seen (25 ms polling).
    pub listening: Duration,
    /// Spawn → the first request answered.
    pub serving: Duration,
}

/// Writes a lab whose resource forest keeps the organization of `shape` on
/// the embedded store, then starts its node `rounds` times and prints each
/// start and the median.
///
/// # Errors
/// When the program is missing, the lab cannot be written or the node
/// does not start or answer.
pub async fn run(shape: Shape, rounds: usize) -> Result<Vec<Start>> {
    let binaries = binaries()?;
    let dir = tempfile::tempdir()?;
    let lab = crossforest_tests::small_lab(dir.path(), &[], StoreConfig::Embedded).await?;
    let config = lab.resource_config()?;
    let written = Instant::now();
    crate::cluster::populate(&config, shape).await?;
    println!(
        "wrote {} recipients and the generated RBAC into the embedded store in {:.1} s",
        shape.recipients,
        written.elapsed().as_secs_f64()
    );
    let forest = lab.file().resource.clone();
    let node_dir = lab.node_dir(&forest);
    let mut starts = Vec::new();
    println!("| round | spawn → listening | spawn → first answer |");
    println!("|---|---|---|");
    for round in 1..=rounds.max(1) {
        let spawned = Instant::now();
        let mut node = NodeProcess::start(
            &binaries,
            NodeKind::ResourceForest,
            forest.clone(),
            &node_dir,
        )
        .await?;
        let listening = spawned.elapsed();
        let mut session = lab.session("contoso\\Administrator").await?;
        session.who_am_i().await?;
        let serving = spawned.elapsed();
        println!(
            "| {round} | {:.0} ms | {:.0} ms |",
            listening.as_secs_f64() * 1e3,
            serving.as_secs_f64() * 1e3
        );
        starts.push(Start { listening, serving });
        drop(session);
        node.terminate(Duration::from_secs(10)).await?;
    }
    phases(&lab.resource_config()?).await?;
    let mut serving: Vec<Duration> = starts.iter().map(|s| s.serving).collect();
    serving.sort();
    println!(
        "median spawn → first answer: {:.0} ms over {} starts",
        serving[serving.len() / 2].as_secs_f64() * 1e3,
        serving.len()
    );
    Ok(starts)
}

/// Where a start goes, measured in this process on the same store: opening
/// it, reading and assembling every row and compiling the RBAC
/// (`OrgState::open`), and the whole `ResourceForest::load` (certificates,
/// trusts, audit log and outbox besides).
async fn phases(config: &resource_forest::config::NodeConfig) -> Result<()> {
    let started = Instant::now();
    let store = resource_forest::store::open(&config.store, &config.data_dir).await?;
    let opened = started.elapsed();
    let state = resource_forest::state::OrgState::open(store).await?;
    let loaded = started.elapsed();
    drop(state);
    let started = Instant::now();
    let node = resource_forest::node::ResourceForest::load(config.clone()).await?;
    let whole = started.elapsed();
    drop(node);
    println!(
        "in process: open the store {:.0} ms; read, assemble and compile {:.0} ms; the whole node load {:.0} ms",
        opened.as_secs_f64() * 1e3,
        (loaded - opened).as_secs_f64() * 1e3,
        whole.as_secs_f64() * 1e3
    );
    Ok(())
}
