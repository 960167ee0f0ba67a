//! Running a lab's nodes as separate processes of this executable
//! (`crossforest account-forest serve …`, `crossforest resource-forest serve …`).

use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::lab::Lab;
use crate::node_process::{NodeBinaries, NodeKind, NodeProcess};

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
    /// `<node>/node.log`, and waits until each listens.
    pub async fn start(lab: &Lab) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find the crossforest executable")?;
        let binaries = NodeBinaries::Combined(exe);
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
            let drain_secs = match kind {
                NodeKind::ResourceForest => lab.resource_config()?.operations.drain_timeout_secs,
                NodeKind::AccountForest => {
                    lab.account_config(&forest)?.operations.drain_timeout_secs
                }
            };
            let node_dir = lab.node_dir(&forest);
            let process = NodeProcess::start(&binaries, kind, forest, &node_dir).await?;
            eprintln!(
                "  started {} {} on {} (pid {})",
                kind.name(),
                process.forest(),
                process.address(),
                process.id().unwrap_or(0)
            );
            running.nodes.push(Node {
                process,
                drain: Duration::from_secs(drain_secs),
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
                eprintln!("  {error:#}");
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

/// A free loopback port, for a lab's listen addresses.
pub fn free_loopback_address() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}
