//! Running a lab's nodes as separate processes of this executable
//! (`crossforest account-forest serve …`, `crossforest resource-forest serve …`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use crossforest_shared::ForestName;
use tokio::process::{Child, Command};

use crate::lab::Lab;

/// How long a node may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One running node.
#[derive(Debug)]
struct Node {
    forest: ForestName,
    child: Child,
    /// How long the node may drain in-flight requests when stopped.
    drain: Duration,
}

/// The lab's running nodes; they are stopped when this is dropped.
#[derive(Debug)]
pub struct Running {
    nodes: Vec<Node>,
}

async fn wait_listening(
    forest: &ForestName,
    child: &mut Child,
    ready: &Path,
    log: &Path,
) -> anyhow::Result<String> {
    let started = Instant::now();
    loop {
        if let Ok(address) = std::fs::read_to_string(ready) {
            return Ok(address);
        }
        if let Some(status) = child.try_wait()? {
            let log_text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = log_text.lines().rev().take(5).collect();
            bail!(
                "the {forest} node exited ({status}) before listening:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        if started.elapsed() > START_TIMEOUT {
            bail!(
                "the {forest} node did not start listening within {START_TIMEOUT:?}; see {}",
                log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Running {
    /// Starts every node of `lab` (account forests first), each logging to
    /// `<node>/node.log`, and waits until each listens.
    pub async fn start(lab: &Lab) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find the crossforest executable")?;
        let mut running = Self { nodes: Vec::new() };
        let file = lab.file().clone();
        let order: Vec<(ForestName, &str)> = file
            .accounts
            .iter()
            .chain(&file.untrusted)
            .map(|f| (f.clone(), "account-forest"))
            .chain(std::iter::once((file.resource.clone(), "resource-forest")))
            .collect();
        for (forest, kind) in order {
            let node_dir = lab.node_dir(&forest);
            let ready = node_dir.join("data").join("listening");
            let _ = std::fs::remove_file(&ready);
            let log_path = node_dir.join("node.log");
            let log = std::fs::File::create(&log_path)
                .with_context(|| format!("cannot write {}", log_path.display()))?;
            let config: PathBuf = node_dir.join("node.toml");
            let mut child = Command::new(&exe)
                .arg(kind)
                .arg("serve")
                .arg("--config")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("cannot start the {forest} node"))?;
            let address = wait_listening(&forest, &mut child, &ready, &log_path).await?;
            let drain_secs = if kind == "resource-forest" {
                lab.resource_config()?.operations.drain_timeout_secs
            } else {
                lab.account_config(&forest)?.operations.drain_timeout_secs
            };
            eprintln!(
                "  started {kind} {forest} on {address} (pid {})",
                child.id().unwrap_or(0)
            );
            running.nodes.push(Node {
                forest,
                child,
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
            if let Some(pid) = node.child.id() {
                let _ = std::process::Command::new("kill")
                    .arg("-TERM")
                    .arg(pid.to_string())
                    .status();
            }
            let grace = node.drain + Duration::from_secs(5);
            match tokio::time::timeout(grace, node.child.wait()).await {
                Ok(_) => {}
                Err(_) => {
                    eprintln!("  {} did not stop in time; killing it", node.forest);
                    let _ = node.child.kill().await;
                }
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
                        if let Ok(Some(status)) = node.child.try_wait() {
                            return (node.forest.clone(), status);
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
