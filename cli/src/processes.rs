//! Running a lab's nodes as separate processes of this executable
//! (`crossforest account-forest serve …`, `crossforest resource-forest serve …`).

use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::lab::Lab;
use crate::node_process::{running_pid, NodeBinaries, NodeKind, NodeProcess};
use crossforest_shared::telemetry::LogFormat;

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
            let node_dir = lab.node_dir(&forest);
            let process =
                NodeProcess::start_with_options(&binaries, kind, forest, &node_dir, &options)
                    .await?;
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

/// A free loopback port, for a lab's listen addresses.
pub fn free_loopback_address() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}
