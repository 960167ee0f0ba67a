//! Running a lab's nodes as separate processes of this executable
//! (`crossforest account-forest serve …`, `crossforest resource-forest serve …`).

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::lab::Lab;
use crate::node_process::{running_pid, AddressInUse, NodeBinaries, NodeKind, NodeProcess};
use crossforest_shared::telemetry::LogFormat;
use crossforest_shared::ForestName;

/// One running node.
#[derive(Debug)]
struct Node {
    process: NodeProcess,
    /// How long the node may drain in-flight requests when stopped.
    drain: Duration,
}

/// The lab's running nodes; they are stopped when this is dropped.
#[derive(Debug)]
pub struct Running {
    nodes: Vec<Node>,
}

impl Running {
    /// Starts every node of `lab` (account forests first), each logging to
    /// `<node>/node.log` in `log_format`, saying what it waits for, and waits
    /// until each listens. A lab whose nodes already run is refused before
    /// anything starts.
    pub async fn start(lab: &Lab, log_format: LogFormat) -> anyhow::Result<Self> {
        refuse_running(lab)?;
        let exe = std::env::current_exe().context("cannot find the crossforest executable")?;
        let binaries = NodeBinaries::Combined(exe);
        let options = match log_format {
            LogFormat::Text => ["--log-format", "text"],
            LogFormat::Json => ["--log-format", "json"],
        };
        let mut running = Self { nodes: Vec::new() };
        let file = lab.file().clone();
        let order: Vec<_> = file
            .accounts
            .iter()
            .chain(&file.untrusted)
            .map(|f| (f.clone(), NodeKind::AccountForest))
            .chain(std::iter::once((
                file.resource.clone(),
                NodeKind::ResourceForest,
            )))
            .collect();
        for (forest, kind) in order {
            let (listen, operations) = match kind {
                NodeKind::ResourceForest => {
                    let config = lab.resource_config()?;
                    (config.listen, config.operations)
                }
                NodeKind::AccountForest => {
                    let config = lab.account_config(&forest)?;
                    (config.listen, config.operations)
                }
            };
            let role = match kind {
                NodeKind::ResourceForest => "resource forest",
                NodeKind::AccountForest => "account forest",
            };
            eprintln!("  waiting for {forest} ({role}) on {listen} to listen …");
            let process = start_node(lab, &binaries, kind, forest, &options).await?;
            eprintln!(
                "  started {} {} on {} (pid {}){}",
                kind.name(),
                process.forest(),
                process.address(),
                process.id().unwrap_or(0),
                operations
                    .metrics_listen
                    .as_deref()
                    .map(|m| format!("; metrics on http://{m}/metrics"))
                    .unwrap_or_default()
            );
            running.nodes.push(Node {
                process,
                drain: Duration::from_secs(operations.drain_timeout_secs),
            });
        }
        Ok(running)
    }

    /// Stops every node: SIGTERM (graceful: in-flight requests finish within
    /// the node's drain timeout), then SIGKILL for any node still running five
    /// seconds after that.
    pub async fn stop(mut self) {
        for node in self.nodes.iter_mut().rev() {
            if let Err(error) = node.process.terminate(node.drain).await {
                eprintln!(
                    "  {}",
                    crossforest_shared::report::error_chain(error.chain())
                );
            }
        }
    }

    /// Waits until a node exits on its own (or Ctrl-C), then stops the rest.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut exited = None;
        tokio::select! {
            _ = crossforest_shared::serve::shutdown_signal() => {}
            result = async {
                loop {
                    for node in &mut self.nodes {
                        if let Ok(Some(status)) = node.process.try_wait() {
                            return (node.process.forest().clone(), status);
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            } => { exited = Some(result); }
        }
        self.stop().await;
        if let Some((forest, status)) = exited {
            bail!("the {forest} node exited ({status})");
        }
        Ok(())
    }
}

/// Refuses to start `lab` while any of its nodes runs (a second `up`, or
/// nodes left from one that was killed): each node's store is open there.
pub fn refuse_running(lab: &Lab) -> anyhow::Result<()> {
    let pids: Vec<String> = lab
        .forests()
        .filter_map(|f| running_pid(&lab.node_dir(f)).map(|pid| format!("{f} {pid}")))
        .collect();
    if !pids.is_empty() {
        bail!(
            "the lab in `{}` is already running (pids: {}); use it as it is, or stop it first (Ctrl-C where `crossforest up` runs, or `kill` those pids)",
            lab.dir().display(),
            pids.join(", ")
        );
    }
    Ok(())
}

/// How many times [`start_node`] moves a node whose port is taken.
const MOVES: usize = 3;

/// Starts `forest`'s node of `lab` and waits until it listens. A lab's ports
/// are chosen free when it is created, but another program may hold one by
/// the time a node starts: a node that exits because an address it is to
/// listen on is in use is moved to free ports ([`Lab::move_node`]), which is
/// said on standard error, and started again, up to three times.
pub async fn start_node(
    lab: &Lab,
    binaries: &NodeBinaries,
    kind: NodeKind,
    forest: ForestName,
    options: &[&str],
) -> anyhow::Result<NodeProcess> {
    let node_dir = lab.node_dir(&forest);
    let mut moves = 0;
    loop {
        let started =
            NodeProcess::start_with_options(binaries, kind, forest.clone(), &node_dir, options)
                .await;
        match started {
            Err(error) if moves < MOVES && error.is::<AddressInUse>() => {
                moves += 1;
                let listen = lab.move_node(&forest)?;
                eprintln!(
                    "  an address of {forest} is in use by another program; moved it to {listen}"
                );
            }
            started => return started,
        }
    }
}

/// A free loopback port, for a lab's listen addresses: one the system has
/// free now, and never one this process handed out before, so that the
/// addresses of one lab differ even though each is released at once.
pub fn free_loopback_address() -> anyhow::Result<String> {
    /// Ports handed out by this process (emptied past 16,384).
    static GIVEN: std::sync::Mutex<BTreeSet<u16>> = std::sync::Mutex::new(BTreeSet::new());
    for _ in 0..64 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let mut given = GIVEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if given.len() >= 16_384 {
            given.clear();
        }
        if given.insert(address.port()) {
            return Ok(address.to_string());
        }
    }
    bail!("no free loopback port: the system gave only ports handed out before")
}
