//! The nodes of a federation: served inside the test process (tokio tasks) or
//! each as its own OS process.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use crossforest_cli::lab::Lab;
use crossforest_cli::node_process::{NodeBinaries, NodeKind, NodeProcess};
use crossforest_shared::ForestName;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The environment variable naming a directory that holds the
/// `resource-forest` and `account-forest` programs, for
/// [`FederationBuilder::processes`](crate::FederationBuilder::processes).
pub const NODE_BINARIES_ENV: &str = "CROSSFOREST_NODE_BINARIES";

/// The harness's own node program, built with this crate's integration tests.
const HARNESS_NODE: &str = "crossforest-node";

/// The programs process mode runs: the directory [`NODE_BINARIES_ENV`] names,
/// else the `crossforest-node` program built beside the running test (this
/// crate's `[[bin]]`, which Cargo builds for its own integration tests).
pub fn discover_node_binaries() -> anyhow::Result<NodeBinaries> {
    node_binaries_from(
        std::env::var_os(NODE_BINARIES_ENV).map(PathBuf::from),
        &std::env::current_exe()?,
    )
}

/// [`discover_node_binaries`] given the variable's value and the running
/// executable.
fn node_binaries_from(named: Option<PathBuf>, exe: &Path) -> anyhow::Result<NodeBinaries> {
    if let Some(dir) = named {
        for kind in [NodeKind::ResourceForest, NodeKind::AccountForest] {
            let program = dir.join(kind.name());
            anyhow::ensure!(
                program.is_file(),
                "{NODE_BINARIES_ENV} names {}, which holds no `{}` program",
                dir.display(),
                kind.name()
            );
        }
        return Ok(NodeBinaries::Directory(dir));
    }
    // Test executables live in `target/<profile>/deps`, programs one up.
    let mut dir = exe
        .parent()
        .context("the test executable has no directory")?;
    if dir.ends_with("deps") {
        dir = dir.parent().unwrap_or(dir);
    }
    let program = dir.join(HARNESS_NODE);
    anyhow::ensure!(
        program.is_file(),
        "no node programs for process mode: {} does not exist; set {NODE_BINARIES_ENV} to a directory holding `resource-forest` and `account-forest` (`cargo build -p resource-forest -p account-forest`), or call FederationBuilder::node_binaries",
        program.display()
    );
    Ok(NodeBinaries::Combined(program))
}

/// One node of the federation.
/// Whether a node process starts for the first time, when a port another
/// program took may still be given up for a free one (nothing is connected
/// to it yet), or again on its known address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// The federation starts.
    First,
    /// A stopped node restarts.
    Again,
}

#[derive(Debug)]
pub(crate) struct RunningNode {
    pub(crate) forest: ForestName,
    /// For a further node of the resource forest (1, 2, …): its number;
    /// it keeps its audit log and node id in `data/node<N>`.
    pub(crate) replica: Option<usize>,
    pub(crate) address: String,
    pub(crate) serving: Serving,
}

/// How a node is served.
#[derive(Debug)]
pub(crate) enum Serving {
    /// A tokio task of the test process.
    InProcess {
        /// The loaded node, when it is the resource forest.
        resource: Option<Arc<resource_forest::node::ResourceForest>>,
        /// The loaded node, when it is an account forest.
        account: Option<Arc<account_forest::node::AccountForest>>,
        stop: Option<oneshot::Sender<()>>,
        task: JoinHandle<anyhow::Result<()>>,
    },
    /// Its own OS process.
    Process {
        process: Box<NodeProcess>,
        binaries: NodeBinaries,
        /// The node's drain timeout, for SIGTERM.
        drain: Duration,
    },
}

impl RunningNode {
    /// Loads `forest`'s node from the lab and serves it on `listener` in
    /// this process.
    pub(crate) async fn start(
        lab: &Lab,
        forest: ForestName,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        Self::start_replica(lab, forest, None, listener).await
    }

    /// [`Self::start`]; for `replica` Some(N), a further node of the
    /// resource forest on the same store, with a data directory of its own.
    pub(crate) async fn start_replica(
        lab: &Lab,
        forest: ForestName,
        replica: Option<usize>,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let address = listener.local_addr()?.to_string();
        let (tx, rx) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = rx.await;
        };
        let (mut resource, mut account) = (None, None);
        let task = if forest == lab.file().resource {
            let mut config = lab.resource_config()?;
            config.operations.metrics_listen = Some("127.0.0.1:0".into());
            if let Some(n) = replica {
                config.data_dir = config.data_dir.join(format!("node{n}"));
                std::fs::create_dir_all(&config.data_dir)?;
            }
            let node = resource_forest::node::ResourceForest::load(config).await?;
            resource = Some(node.clone());
            tokio::spawn(async move {
                resource_forest::server::serve(listener, node, shutdown)
                    .await
                    .map_err(anyhow::Error::from)
            })
        } else {
            let mut config = lab.account_config(&forest)?;
            config.operations.metrics_listen = Some("127.0.0.1:0".into());
            let node = account_forest::node::AccountForest::load(config)?;
            account = Some(node.clone());
            tokio::spawn(async move {
                account_forest::server::serve(listener, node, shutdown)
                    .await
                    .map_err(anyhow::Error::from)
            })
        };
        Ok(Self {
            forest,
            replica,
            address,
            serving: Serving::InProcess {
                resource,
                account,
                stop: Some(tx),
                task,
            },
        })
    }

    /// Starts `forest`'s node as a process of `binaries` serving its
    /// `node.toml`, and waits until it listens. Started the first time, a
    /// node whose port another program took is moved to a free one.
    pub(crate) async fn spawn(
        lab: &Lab,
        forest: ForestName,
        binaries: NodeBinaries,
        start: Start,
    ) -> anyhow::Result<Self> {
        let (kind, drain_secs) = if forest == lab.file().resource {
            let config = lab.resource_config()?;
            (
                NodeKind::ResourceForest,
                config.operations.drain_timeout_secs,
            )
        } else {
            let config = lab.account_config(&forest)?;
            (
                NodeKind::AccountForest,
                config.operations.drain_timeout_secs,
            )
        };
        let process = match start {
            Start::First => {
                crossforest_cli::processes::start_node(lab, &binaries, kind, forest.clone(), &[])
                    .await?
            }
            Start::Again => {
                NodeProcess::start(&binaries, kind, forest.clone(), &lab.node_dir(&forest)).await?
            }
        };
        Ok(Self {
            forest,
            replica: None,
            address: process.address().to_owned(),
            serving: Serving::Process {
                process: Box::new(process),
                binaries,
                drain: Duration::from_secs(drain_secs),
            },
        })
    }

    /// Whether the node still serves (a paused process does, to the kernel).
    pub(crate) fn is_running(&self) -> bool {
        match &self.serving {
            Serving::InProcess { task, .. } => !task.is_finished(),
            Serving::Process { process, .. } => process.is_running(),
        }
    }

    /// The node's process, for faults only processes can have.
    pub(crate) fn process(&mut self, fault: &str) -> anyhow::Result<&mut NodeProcess> {
        match &mut self.serving {
            Serving::Process { process, .. } => Ok(process),
            Serving::InProcess { .. } => anyhow::bail!(
                "`{fault}` needs the node to run as a process: build the federation with FederationBuilder::processes()"
            ),
        }
    }

    /// Stops serving gracefully: in-flight requests finish, open streams end,
    /// the port is released (SIGTERM for a process).
    pub(crate) async fn stop(&mut self) -> anyhow::Result<()> {
        let (stop, task, resource, account) = match &mut self.serving {
            Serving::Process { process, drain, .. } => return process.terminate(*drain).await,
            Serving::InProcess {
                stop,
                task,
                resource,
                account,
            } => (stop, task, resource, account),
        };
        if let Some(stop) = stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(10), &mut *task).await {
            Ok(joined) => joined??,
            Err(_) => {
                task.abort();
                anyhow::bail!("{} did not stop within 10 s", self.forest);
            }
        }
        // The node's background tasks end with it; only then is its store
        // closed and can the node start again, as a new process would.
        let node: Option<Arc<dyn std::any::Any + Send + Sync>> =
            match (resource.take(), account.take()) {
                (Some(node), _) => Some(node),
                (_, Some(node)) => Some(node),
                _ => None,
            };
        if let Some(node) = node {
            let mut waited = 0;
            while Arc::strong_count(&node) > 1 {
                anyhow::ensure!(
                    waited < 1000,
                    "{}'s background tasks did not end within 10 s",
                    self.forest
                );
                waited += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        Ok(())
    }

    /// Starts the node again from its state on disk, on the same address,
    /// in the same mode (stopping it first if it is still running).
    pub(crate) async fn restart(&mut self, lab: &Lab) -> anyhow::Result<()> {
        if self.is_running() {
            self.stop().await?;
        }
        let forest = self.forest.clone();
        *self = match &self.serving {
            Serving::Process { binaries, .. } => {
                Self::spawn(lab, forest, binaries.clone(), Start::Again).await?
            }
            Serving::InProcess { .. } => {
                let listener = listen_again(&self.address).await?;
                Self::start_replica(lab, forest, self.replica, listener).await?
            }
        };
        Ok(())
    }

    /// Stops at once, without draining (dropping the federation).
    pub(crate) fn abort(&mut self) {
        match &mut self.serving {
            Serving::InProcess { stop, task, .. } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                task.abort();
            }
            // Killed when dropped.
            Serving::Process { .. } => {}
        }
    }

    /// Reloads the node's certificates, keys and trust bundles now, as SIGHUP
    /// does; a node process is sent SIGHUP and reloads as soon as it handles
    /// it. A stopped node is an error.
    pub(crate) fn reload(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.is_running(), "{} is not running", self.forest);
        match &self.serving {
            Serving::Process { process, .. } => process.signal(nix::sys::signal::Signal::SIGHUP),
            Serving::InProcess {
                resource: Some(node),
                ..
            } => node.reload().map(|_| ()).map_err(anyhow::Error::from),
            Serving::InProcess {
                account: Some(node),
                ..
            } => node.reload().map_err(anyhow::Error::from),
            Serving::InProcess { .. } => anyhow::bail!("{} is not running", self.forest),
        }
    }

    /// The resource forest's loaded node, when served in this process.
    pub(crate) fn resource(&self) -> Option<&Arc<resource_forest::node::ResourceForest>> {
        match &self.serving {
            Serving::InProcess { resource, .. } => resource.as_ref(),
            Serving::Process { .. } => None,
        }
    }
}

/// Listens on `address` again; binding may briefly race the release of the
/// old socket.
async fn listen_again(address: &str) -> anyhow::Result<TcpListener> {
    let mut attempts = 0;
    loop {
        match TcpListener::bind(address).await {
            Ok(listener) => return Ok(listener),
            Err(_) if attempts < 50 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot listen on {address} again")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn node_programs_come_from_the_named_directory_else_beside_the_test() {
        let dir = tempfile::tempdir().unwrap();
        let deps = dir.path().join("deps");
        std::fs::create_dir(&deps).unwrap();
        let exe = deps.join("scenarios-0123");

        let error = node_binaries_from(None, &exe).unwrap_err().to_string();
        assert!(error.contains(NODE_BINARIES_ENV), "{error}");
        std::fs::write(dir.path().join(HARNESS_NODE), "").unwrap();
        assert_eq!(
            node_binaries_from(None, &exe).unwrap(),
            NodeBinaries::Combined(dir.path().join(HARNESS_NODE))
        );

        let named = dir.path().join("bin");
        std::fs::create_dir(&named).unwrap();
        std::fs::write(named.join("resource-forest"), "").unwrap();
        let error = node_binaries_from(Some(named.clone()), &exe)
            .unwrap_err()
            .to_string();
        assert!(error.contains("no `account-forest` program"), "{error}");
        std::fs::write(named.join("account-forest"), "").unwrap();
        assert_eq!(
            node_binaries_from(Some(named.clone()), &exe).unwrap(),
            NodeBinaries::Directory(named)
        );
    }
}
