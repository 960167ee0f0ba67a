//! One node of a lab as its own OS process: started from its `node.toml`,
//! waited for until it announces that it listens, logging to a file, and
//! signalled as an operator (or a fault) would: SIGTERM to stop with a drain,
//! SIGKILL to crash, SIGSTOP/SIGCONT to freeze it while it keeps its sockets.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use crossforest_shared::ForestName;
use nix::sys::signal::Signal;
use tokio::process::{Child, Command};

/// How long a node may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How many lines of a node's log an error about it quotes.
const LOG_TAIL_LINES: usize = 20;

/// A node exited before listening because an address in its `node.toml`
/// is held by another program.
#[derive(Debug, thiserror::Error)]
#[error("the {forest} node exited ({status}) before listening: an address in its node.toml is in use by another program; the end of {}:\n{tail}", log.display())]
pub struct AddressInUse {
    /// The node's forest.
    pub forest: ForestName,
    /// How it exited.
    pub status: std::process::ExitStatus,
    /// Its log.
    pub log: PathBuf,
    /// The end of its log.
    pub tail: String,
}

/// Which node a process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// `resource-forest serve`.
    ResourceForest,
    /// `account-forest serve`.
    AccountForest,
}

impl NodeKind {
    /// The program name and subcommand: `resource-forest` or `account-forest`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ResourceForest => "resource-forest",
            Self::AccountForest => "account-forest",
        }
    }
}

/// The programs that serve nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeBinaries {
    /// One program serving both kinds as a subcommand:
    /// `<program> resource-forest serve --config <file>` (the `crossforest`
    /// command, or the test harness's `crossforest-node`).
    Combined(PathBuf),
    /// A directory holding the `resource-forest` and `account-forest`
    /// programs: `<dir>/resource-forest serve --config <file>`.
    Directory(PathBuf),
}

impl NodeBinaries {
    /// The command that serves `kind` from `config`, with the program's
    /// options `options` (e.g. `--log-format json`).
    fn command(&self, kind: NodeKind, config: &Path, options: &[&str]) -> Command {
        let mut command = match self {
            Self::Combined(program) => {
                let mut command = Command::new(program);
                command.args(options).arg(kind.name());
                command
            }
            Self::Directory(dir) => {
                let mut command = Command::new(dir.join(kind.name()));
                command.args(options);
                command
            }
        };
        command.arg("serve").arg("--config").arg(config);
        command
    }
}

/// A running (or exited) node process; killed if dropped while running.
#[derive(Debug)]
pub struct NodeProcess {
    forest: ForestName,
    /// Locked only by [`NodeProcess::is_running`], to reap an ended process.
    child: std::sync::Mutex<Child>,
    log: PathBuf,
    /// `<node_dir>/node.pid`: the process id while it runs, so that a second
    /// start of the lab finds it ([`running_pid`]).
    pid: PathBuf,
    address: String,
}

/// Where a node's process id is kept while it runs.
fn pid_path(node_dir: &Path) -> PathBuf {
    node_dir.join("node.pid")
}

/// The process id of the node of `node_dir` if one started by
/// [`NodeProcess::start`] still runs: its `node.pid` names a live process
/// that serves this node's `node.toml` (a process id reused by another
/// program does not count).
pub fn running_pid(node_dir: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pid_path(node_dir))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let raw = nix::unistd::Pid::from_raw(i32::try_from(pid).ok()?);
    match nix::sys::signal::kill(raw, None) {
        Ok(()) | Err(nix::errno::Errno::EPERM) => {}
        Err(_) => return None,
    }
    // Where /proc tells what the process runs, it must be this node.
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return Some(pid);
    };
    let config = std::fs::canonicalize(node_dir.join("node.toml")).ok()?;
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
    cmdline
        .split(|b| *b == 0)
        .filter(|arg| arg.ends_with(b"node.toml"))
        .any(|arg| {
            let arg = cwd.join(String::from_utf8_lossy(arg).as_ref());
            std::fs::canonicalize(arg).is_ok_and(|a| a == config)
        })
        .then_some(pid)
}

impl NodeProcess {
    /// Starts the `kind` node of `forest` whose configuration is
    /// `<node_dir>/node.toml`, appending its output to `<node_dir>/node.log`,
    /// and waits until it announces in `<node_dir>/data/listening` that it
    /// listens. A node that exits or does not listen in time is an error
    /// quoting the end of its log.
    pub async fn start(
        binaries: &NodeBinaries,
        kind: NodeKind,
        forest: ForestName,
        node_dir: &Path,
    ) -> anyhow::Result<Self> {
        Self::start_with_options(binaries, kind, forest, node_dir, &[]).await
    }

    /// [`NodeProcess::start`], giving the program `options` before its
    /// subcommand (e.g. `--log-format json`).
    pub async fn start_with_options(
        binaries: &NodeBinaries,
        kind: NodeKind,
        forest: ForestName,
        node_dir: &Path,
        options: &[&str],
    ) -> anyhow::Result<Self> {
        let ready = node_dir.join("data").join("listening");
        match std::fs::remove_file(&ready) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", ready.display()))
            }
            _ => {}
        }
        let log = node_dir.join("node.log");
        let log_file = crossforest_shared::private::open_options()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("cannot write {}", log.display()))?;
        crossforest_shared::private::file(&log)
            .with_context(|| format!("cannot restrict {}", log.display()))?;
        let child = binaries
            .command(kind, &node_dir.join("node.toml"), options)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start the {forest} node with {binaries:?}"))?;
        let pid = pid_path(node_dir);
        if let Some(id) = child.id() {
            crossforest_shared::config::write_atomic(&pid, format!("{id}\n").as_bytes())
                .with_context(|| format!("cannot write {}", pid.display()))?;
        }
        let mut node = Self {
            forest,
            child: std::sync::Mutex::new(child),
            log,
            pid,
            address: String::new(),
        };
        node.address = node.wait_listening(&ready).await?;
        Ok(node)
    }

    fn child(&mut self) -> &mut Child {
        self.child
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn wait_listening(&mut self, ready: &Path) -> anyhow::Result<String> {
        let started = Instant::now();
        loop {
            if let Ok(address) = std::fs::read_to_string(ready) {
                return Ok(address.trim().to_owned());
            }
            if let Some(status) = self.child().try_wait()? {
                if status.code() == Some(i32::from(crossforest_shared::report::EXIT_ADDRESS_IN_USE))
                {
                    return Err(AddressInUse {
                        forest: self.forest.clone(),
                        status,
                        log: self.log.clone(),
                        tail: self.log_tail(),
                    }
                    .into());
                }
                bail!(
                    "the {} node exited ({status}) before listening; the end of {}:\n{}",
                    self.forest,
                    self.log.display(),
                    self.log_tail()
                );
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "the {} node did not start listening within {START_TIMEOUT:?}; the end of {}:\n{}",
                    self.forest,
                    self.log.display(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The last lines of the node's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }

    /// The forest the node serves.
    pub fn forest(&self) -> &ForestName {
        &self.forest
    }

    /// The address the node announced.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The process id, while the process has not been reaped.
    pub fn id(&self) -> Option<u32> {
        self.child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .id()
    }

    /// The node's log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Whether the process is still running (a paused process is).
    pub fn is_running(&self) -> bool {
        let mut child = self
            .child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        matches!(child.try_wait(), Ok(None))
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let pid = self
            .id()
            .with_context(|| format!("the {} node has already exited", self.forest))?;
        let pid = nix::unistd::Pid::from_raw(i32::try_from(pid)?);
        nix::sys::signal::kill(pid, signal)
            .with_context(|| format!("cannot send {signal} to the {} node", self.forest))
    }

    /// SIGKILL (a crash: nothing is drained or flushed), then waits for the
    /// process to end.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if self.id().is_some() {
            self.child().start_kill()?;
        }
        self.child().wait().await?;
        self.ended();
        Ok(())
    }

    /// Forgets the process id of an ended process.
    fn ended(&self) {
        // Already gone is fine.
        let _ = std::fs::remove_file(&self.pid);
    }

    /// SIGTERM (a graceful stop: no new connections, in-flight requests drain
    /// for up to `drain`), then waits; a node still running five seconds past
    /// `drain` is killed and the stop is an error.
    pub async fn terminate(&mut self, drain: Duration) -> anyhow::Result<()> {
        if self.id().is_none() {
            return Ok(());
        }
        // A paused process only handles SIGTERM once it runs again.
        self.signal(Signal::SIGTERM)?;
        self.signal(Signal::SIGCONT)?;
        let grace = drain + Duration::from_secs(5);
        match tokio::time::timeout(grace, self.child().wait()).await {
            Ok(status) => {
                status?;
                self.ended();
                Ok(())
            }
            Err(_) => {
                self.kill().await?;
                bail!(
                    "the {} node did not stop within {grace:?} of SIGTERM and was killed; the end of {}:\n{}",
                    self.forest,
                    self.log.display(),
                    self.log_tail()
                )
            }
        }
    }

    /// Waits for the process to end on its own.
    pub async fn wait(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        let status = self.child().wait().await?;
        self.ended();
        Ok(status)
    }

    /// Whether the process has ended, with its status.
    pub fn try_wait(&mut self) -> anyhow::Result<Option<std::process::ExitStatus>> {
        let status = self.child().try_wait()?;
        if status.is_some() {
            self.ended();
        }
        Ok(status)
    }
}
