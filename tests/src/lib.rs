//! A federation of forests for integration tests: one resource forest and any
//! number of account forests, each a real gRPC server on a loopback port with its
//! own CA and real mutual TLS, started in this process or, with
//! [`FederationBuilder::processes`], each as its own OS process.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use crossforest_tests::Federation;
//!
//! let federation = Federation::builder()
//!     .resource("contoso.com")
//!     .account("fabrikam.com")
//!     .untrusted_account("tailspin.com")
//!     .start()
//!     .await?;
//! federation.add_user("fabrikam.com", "alice").await?;
//! federation.add_group("fabrikam.com", "Exchange Admins").await?;
//! federation.add_member("fabrikam.com", "Exchange Admins", "alice").await?;
//! federation.link_role_group("fabrikam.com", "fabrikam Recipient Admins", "Exchange Admins", &["Mail Recipients"]).await?;
//! let mut alice = federation.session("fabrikam\\alice").await?;
//! let mailboxes = alice.run("Get-Mailbox").await?;
//! assert!(mailboxes.iter().all(|m| m.get("Name").is_some()));
//! // A denial is asserted by its rule, not by its message.
//! let denied = alice.run("New-RoleGroup -Name Mine").await;
//! assert!(matches!(
//!     denied,
//!     Err(crossforest_tests::Error::Denied {
//!         rule: crossforest_tests::DenialRule::CmdletNotAvailable,
//!         ..
//!     })
//! ));
//! # Ok(()) }
//! ```
//!
//! [`Session::run`] returns [`Records`] (each a [`Record`]: `get("Name")`,
//! properties in display order) or an [`Error`] by kind: denied (with its
//! [`DenialRule`] and reason), unauthenticated, refused at the TLS handshake
//! (a [`CertificateRefused`] naming both forests), invalid argument (naming
//! the parameter), not found, unavailable, or another stable [`ErrorCode`].
//!
//! Ports are chosen by the operating system (port 0); every node is served with
//! `serve(listener, node, shutdown)` and stops when the federation is dropped.
//! [`Federation::stop`] and [`Federation::restart`] stop and restart one node
//! (faults, partitions) on the same address, from its state on disk.
//!
//! # Process mode
//!
//! [`FederationBuilder::processes`] writes the same lab and runs each node as
//! its own OS process serving its `node.toml` (`resource-forest serve`,
//! `account-forest serve`), logging to `<lab>/<forest>/node.log`. Faults are
//! then real signals: [`Federation::kill`] (SIGKILL: a crash),
//! [`Federation::stop`] (SIGTERM: a drain), [`Federation::restart`],
//! [`Federation::pause`] and [`Federation::resume`] (SIGSTOP/SIGCONT: a
//! partition, the process holds its sockets but answers nothing). Every
//! process is killed when the federation is dropped.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use crossforest_tests::Federation;
//!
//! let mut federation = Federation::builder()
//!     .account("fabrikam.com")
//!     .max_staleness_secs(2)
//!     .processes()
//!     .start()
//!     .await?;
//! federation.kill("fabrikam.com").await?; // SIGKILL
//! federation.restart("fabrikam.com").await?; // from its state on disk
//! federation.pause("fabrikam.com")?; // SIGSTOP: a partition
//! federation.resume("fabrikam.com")?; // SIGCONT
//! # Ok(()) }
//! ```
//!
//! The programs are found by [`nodes::discover_node_binaries`]: the directory
//! named by `CROSSFOREST_NODE_BINARIES` (holding `resource-forest` and
//! `account-forest`, e.g. `target/debug` after `cargo build -p resource-forest
//! -p account-forest`), else this crate's `crossforest-node` program, which
//! Cargo builds for this crate's own tests; or given with
//! [`FederationBuilder::node_binaries`].

use std::path::Path;

use anyhow::Context as _;
use crossforest_cli::lab::{Lab, LabSpec};
pub use crossforest_cli::node_process::NodeBinaries;
use crossforest_shared::client::ForestEndpoint;
use crossforest_shared::{DomainSid, ForestName};
use nix::sys::signal::Signal;
use tokio::net::TcpListener;

pub mod nodes;
pub mod session;

use nodes::{RunningNode, Start};
pub use session::{
    CertificateRefused, DenialRule, Error, ErrorCode, Record, Records, Refusal, Session,
};

/// Builds a [`Federation`].
#[derive(Debug, Default)]
pub struct FederationBuilder {
    resource: Option<String>,
    accounts: Vec<String>,
    untrusted: Vec<String>,
    organizational_units: Vec<String>,
    active_directory_split_permissions: bool,
    max_staleness_secs: Option<u64>,
    /// The resource forest's per-principal rate limit: requests per second
    /// and burst (`[operations]`); `None` keeps the node's defaults.
    resource_rate_limit: Option<(u32, u32)>,
    /// Process mode, with these programs (`None`: discovered at start).
    processes: Option<Option<NodeBinaries>>,
    /// How many nodes serve the resource forest from one PostgreSQL schema
    /// (`None`: one, on the scenario store).
    resource_nodes: Option<usize>,
}

impl FederationBuilder {
    /// The resource forest (default `contoso.com`).
    pub fn resource(mut self, forest: &str) -> Self {
        self.resource = Some(forest.to_owned());
        self
    }

    /// An account forest the resource forest trusts.
    pub fn account(mut self, forest: &str) -> Self {
        self.accounts.push(forest.to_owned());
        self
    }

    /// An account forest the resource forest does not trust.
    pub fn untrusted_account(mut self, forest: &str) -> Self {
        self.untrusted.push(forest.to_owned());
        self
    }

    /// An extra OU under the resource forest's domain (e.g. `Sales`).
    pub fn organizational_unit(mut self, name: &str) -> Self {
        self.organizational_units.push(name.to_owned());
        self
    }

    /// Install the resource forest with Active Directory split permissions
    /// (`setup /PrepareAD /ActiveDirectorySplitPermissions:true`).
    pub fn active_directory_split_permissions(mut self) -> Self {
        self.active_directory_split_permissions = true;
        self
    }

    /// How long the resource forest honours a trusted forest's tokens while
    /// its change feed is down (`max_staleness_secs` of every trust).
    pub fn max_staleness_secs(mut self, secs: u64) -> Self {
        self.max_staleness_secs = Some(secs);
        self
    }

    /// The resource forest's per-principal rate limit
    /// (`[operations] requests_per_second` and `burst`); 0 requests per
    /// second sets none, as load benchmarks need.
    pub fn resource_rate_limit(mut self, requests_per_second: u32, burst: u32) -> Self {
        self.resource_rate_limit = Some((requests_per_second, burst));
        self
    }

    /// Serves the resource forest with `n` nodes (one too) on one PostgreSQL schema
    /// (the server `CROSSFOREST_TEST_POSTGRES` names; [`Federation::start`]
    /// fails without it), in this process. Node 0 is the one `node.toml`
    /// names; open sessions on any with [`Federation::session_on`].
    pub fn resource_nodes(mut self, n: usize) -> Self {
        self.resource_nodes = Some(n.max(1));
        self
    }

    /// Runs each node as its own OS process (see [the crate docs](crate)),
    /// with the programs [`nodes::discover_node_binaries`] finds.
    pub fn processes(mut self) -> Self {
        if self.processes.is_none() {
            self.processes = Some(None);
        }
        self
    }

    /// Runs each node as its own OS process of `binaries`.
    pub fn node_binaries(mut self, binaries: NodeBinaries) -> Self {
        self.processes = Some(Some(binaries));
        self
    }

    /// Writes the lab into a temporary directory and starts every node.
    pub async fn start(self) -> anyhow::Result<Federation> {
        let binaries = match self.processes.clone() {
            Some(Some(binaries)) => Some(binaries),
            Some(None) => Some(nodes::discover_node_binaries()?),
            None => None,
        };
        let dir = tempfile::tempdir()?;
        let resource: ForestName = self.resource.as_deref().unwrap_or("contoso.com").parse()?;
        let mut listeners = Vec::new();
        let mut bind = |forest: &str| -> anyhow::Result<(ForestName, String)> {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let address = listener.local_addr()?.to_string();
            listener.set_nonblocking(true)?;
            let forest: ForestName = forest.parse()?;
            listeners.push((forest.clone(), listener));
            Ok((forest, address))
        };
        let resource_address = bind(resource.as_str())?;
        let accounts = self
            .accounts
            .iter()
            .map(|f| bind(f))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let untrusted = self
            .untrusted
            .iter()
            .map(|f| bind(f))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let spec = LabSpec {
            resource: resource_address,
            accounts,
            untrusted,
            organizational_units: if self.organizational_units.is_empty() {
                vec!["Sales".into(), "Seattle".into()]
            } else {
                self.organizational_units
            },
            active_directory_split_permissions: self.active_directory_split_permissions,
            store: if self.resource_nodes.is_some() {
                let url = resource_forest::store::testing::postgres_url("resource_nodes")
                    .map_err(anyhow::Error::msg)?
                    .context("several resource-forest nodes need PostgreSQL: set CROSSFOREST_TEST_POSTGRES")?;
                resource_forest::store::StoreConfig::Postgres {
                    url,
                    schema: resource_forest::store::testing::unique_schema("cluster"),
                }
            } else {
                resource_forest::store::testing::scenario_store().map_err(anyhow::Error::msg)?
            },
        };
        let lab_dir = dir.path().to_owned();
        let lab = tokio::task::spawn_blocking(move || Lab::create(&lab_dir, &spec)).await??;
        if let Some(secs) = self.max_staleness_secs {
            let secs = i64::try_from(secs)?;
            edit_node_toml(&lab, &lab.file().resource, |config| {
                if let Some(toml::Value::Array(trusts)) = config.get_mut("trust") {
                    for trust in trusts.iter_mut().filter_map(toml::Value::as_table_mut) {
                        trust.insert("max_staleness_secs".into(), toml::Value::Integer(secs));
                    }
                }
            })?;
        }
        if let Some((requests_per_second, burst)) = self.resource_rate_limit {
            edit_node_toml(&lab, &lab.file().resource, |config| {
                if let Some(operations) = config
                    .entry("operations")
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                    .as_table_mut()
                {
                    operations.insert(
                        "requests_per_second".into(),
                        toml::Value::Integer(requests_per_second.into()),
                    );
                    operations.insert("burst".into(), toml::Value::Integer(burst.into()));
                }
            })?;
        }
        let mut federation = Federation {
            lab,
            nodes: Vec::new(),
            _dir: dir,
        };
        let Some(binaries) = binaries else {
            for (forest, listener) in listeners {
                let listener = TcpListener::from_std(listener)?;
                let node = RunningNode::start(&federation.lab, forest, listener).await?;
                federation.nodes.push(node);
            }
            for n in 1..self.resource_nodes.unwrap_or(1) {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let node = RunningNode::start_replica(
                    &federation.lab,
                    resource.clone(),
                    Some(n),
                    listener,
                )
                .await?;
                federation.nodes.push(node);
            }
            return Ok(federation);
        };
        anyhow::ensure!(
            self.resource_nodes.is_none(),
            "several resource-forest nodes are served in this process only"
        );
        // Account forests first, so that the resource forest's change feeds
        // connect at once. Each process binds its own address.
        listeners.sort_by_key(|(forest, _)| *forest == federation.lab.file().resource);
        for (forest, listener) in listeners {
            drop(listener);
            edit_node_toml(&federation.lab, &forest, |config| {
                if let Some(operations) = config
                    .entry("operations")
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                    .as_table_mut()
                {
                    operations.insert("metrics_listen".into(), "127.0.0.1:0".into());
                }
            })?;
            let node =
                RunningNode::spawn(&federation.lab, forest, binaries.clone(), Start::First).await?;
            federation.nodes.push(node);
        }
        Ok(federation)
    }
}

/// Rewrites `forest`'s `node.toml` with `edit`.
fn edit_node_toml(
    lab: &Lab,
    forest: &ForestName,
    edit: impl FnOnce(&mut toml::Table),
) -> anyhow::Result<()> {
    lab.edit_node_toml(forest, |config| {
        edit(config);
        Ok(())
    })
}

/// Running forests. Dropping it stops them and deletes their files.
#[derive(Debug)]
pub struct Federation {
    lab: Lab,
    nodes: Vec<RunningNode>,
    _dir: tempfile::TempDir,
}

impl Drop for Federation {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.abort();
        }
    }
}

/// A lab in `dir/lab`: the resource forest `contoso.com`, keeping its
/// organization in `store`, trusting the account forests `accounts`, each to
/// listen on a free loopback port; nothing is started.
pub async fn small_lab(
    dir: &Path,
    accounts: &[&str],
    store: resource_forest::store::StoreConfig,
) -> anyhow::Result<Lab> {
    let address = crossforest_cli::processes::free_loopback_address;
    let spec = LabSpec {
        resource: ("contoso.com".parse()?, address()?),
        accounts: accounts
            .iter()
            .map(|f| Ok((f.parse()?, address()?)))
            .collect::<anyhow::Result<_>>()?,
        untrusted: Vec::new(),
        organizational_units: Vec::new(),
        active_directory_split_permissions: false,
        store,
    };
    let lab_dir = dir.join("lab");
    tokio::task::spawn_blocking(move || Lab::create(&lab_dir, &spec)).await?
}

fn forest(name: &str) -> anyhow::Result<ForestName> {
    Ok(name.parse()?)
}

impl Federation {
    /// A builder.
    pub fn builder() -> FederationBuilder {
        FederationBuilder::default()
    }

    /// The running resource forest node (for `reload()` and its metrics).
    pub fn resource_node(
        &self,
    ) -> anyhow::Result<&std::sync::Arc<resource_forest::node::ResourceForest>> {
        self.nodes
            .iter()
            .find_map(RunningNode::resource)
            .context("the resource forest does not run in this process")
    }

    /// Reloads `forest`'s certificates, keys and trust bundles now, as SIGHUP
    /// would, instead of waiting for the node to notice the changed files.
    pub fn reload(&self, forest_name: &str) -> anyhow::Result<()> {
        self.nodes
            .iter()
            .find(|n| n.forest.as_str() == forest_name)
            .with_context(|| format!("no node for `{forest_name}` in this federation"))?
            .reload()
    }

    /// `GET /metrics` of `forest`'s node over plain HTTP: the response body.
    pub async fn scrape_metrics(&self, forest_name: &str) -> anyhow::Result<String> {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let announced = self
            .lab
            .node_dir(&forest(forest_name)?)
            .join("data")
            .join("metrics-listening");
        // The endpoint is announced once it listens; the node starts it first.
        let mut address = None;
        for _ in 0..200 {
            if let Ok(text) = std::fs::read_to_string(&announced) {
                address = Some(text);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let address = address.with_context(|| format!("{} never appeared", announced.display()))?;
        let mut tcp = tokio::net::TcpStream::connect(address.trim()).await?;
        tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut response = String::new();
        tcp.read_to_string(&mut response).await?;
        let (head, body) = response
            .split_once("\r\n\r\n")
            .context("not an HTTP response")?;
        anyhow::ensure!(head.starts_with("HTTP/1.1 200"), "metrics answered {head}");
        Ok(body.to_owned())
    }

    /// The lab on disk: node directories, PKI, credentials.
    pub fn lab(&self) -> &Lab {
        &self.lab
    }

    /// The lab's directory.
    pub fn dir(&self) -> &Path {
        self.lab.dir()
    }

    /// The resource forest.
    pub fn resource(&self) -> &ForestName {
        &self.lab.file().resource
    }

    /// Where `forest` listens, with its CA.
    pub fn endpoint(&self, forest_name: &str) -> anyhow::Result<ForestEndpoint> {
        self.lab.endpoint(&forest(forest_name)?)
    }

    /// The domain SID of `forest`.
    pub fn domain_sid(&self, forest_name: &str) -> anyhow::Result<DomainSid> {
        self.lab.domain_sid(&forest(forest_name)?)
    }

    /// Whether the node of `forest` is still serving.
    pub fn is_running(&self, forest_name: &str) -> bool {
        self.nodes
            .iter()
            .any(|n| n.forest.as_str() == forest_name && n.is_running())
    }

    /// Stops `forest`'s node as a crash or partition would look to the others:
    /// its port closes and open streams end. Its state stays on disk. A
    /// process gets SIGTERM and drains in-flight requests.
    pub async fn stop(&mut self, forest_name: &str) -> anyhow::Result<()> {
        self.node_mut(forest_name)?.stop().await
    }

    /// Starts `forest`'s node again from its state on disk, on the same
    /// address (stopping it first if it is still running).
    pub async fn restart(&mut self, forest_name: &str) -> anyhow::Result<()> {
        let lab = self.lab.clone();
        self.node_mut(forest_name)?.restart(&lab).await
    }

    /// Kills `forest`'s node process with SIGKILL, a crash: nothing drains,
    /// nothing is flushed; waits until it is gone. Process mode only.
    pub async fn kill(&mut self, forest_name: &str) -> anyhow::Result<()> {
        self.node_mut(forest_name)?.process("kill")?.kill().await
    }

    /// Freezes `forest`'s node process with SIGSTOP, a partition: it keeps
    /// its sockets (connections open, the port accepts) but answers nothing
    /// until [`Federation::resume`]. Process mode only.
    pub fn pause(&mut self, forest_name: &str) -> anyhow::Result<()> {
        self.node_mut(forest_name)?
            .process("pause")?
            .signal(Signal::SIGSTOP)
    }

    /// Lets a paused node process run again (SIGCONT). Process mode only.
    pub fn resume(&mut self, forest_name: &str) -> anyhow::Result<()> {
        self.node_mut(forest_name)?
            .process("resume")?
            .signal(Signal::SIGCONT)
    }

    /// The process id of `forest`'s node process. Process mode only.
    pub fn node_pid(&mut self, forest_name: &str) -> anyhow::Result<u32> {
        self.node_mut(forest_name)?
            .process("node_pid")?
            .id()
            .context("the node process has exited")
    }

    /// The log file of `forest`'s node process (its output, all runs).
    pub fn node_log(&mut self, forest_name: &str) -> anyhow::Result<std::path::PathBuf> {
        Ok(self
            .node_mut(forest_name)?
            .process("node_log")?
            .log()
            .to_owned())
    }

    fn node_mut(&mut self, forest_name: &str) -> anyhow::Result<&mut RunningNode> {
        self.nodes
            .iter_mut()
            .find(|n| n.forest.as_str() == forest_name)
            .with_context(|| format!("no node for `{forest_name}` in this federation"))
    }

    /// Node `index` of the resource forest (0: the one `node.toml` names;
    /// see [`FederationBuilder::resource_nodes`]).
    fn resource_at(&self, index: usize) -> anyhow::Result<&RunningNode> {
        let resource = self.lab.file().resource.clone();
        self.nodes
            .iter()
            .find(|n| n.forest == resource && n.replica.unwrap_or(0) == index)
            .with_context(|| format!("the resource forest has no node {index}"))
    }

    /// The loaded node `index` of the resource forest (in-process mode).
    pub fn resource_node_at(
        &self,
        index: usize,
    ) -> anyhow::Result<&std::sync::Arc<resource_forest::node::ResourceForest>> {
        self.resource_at(index)?
            .resource()
            .context("the resource forest runs as a process")
    }

    /// A session as `identity` (as [`Self::session`]) on node `index` of the
    /// resource forest. Every session of the federation shares one revision
    /// mark: each request asks for the highest revision any of them has
    /// seen, so a change made through one node is read on every other
    /// (read-your-writes); a node behind waits for it.
    pub async fn session_on(&self, index: usize, identity: &str) -> Result<Session, Error> {
        let address = self.resource_at(index)?.address.clone();
        Ok(self.lab.session_at(identity, Some(&address)).await?.into())
    }

    /// A management session as `DOMAIN\user` (authenticating at home first for
    /// account-forest users). A forest the resource forest does not trust
    /// may already be refused here ([`Error::HandshakeRefused`]), or at the
    /// session's first call.
    pub async fn session(&self, identity: &str) -> Result<Session, Error> {
        Ok(self.lab.session(identity).await?.into())
    }

    /// Creates a user in an account forest; its credential and password are kept.
    pub async fn add_user(&self, forest_name: &str, user: &str) -> anyhow::Result<()> {
        self.lab.add_user(&forest(forest_name)?, user).await
    }

    /// Creates a universal security group in an account forest.
    pub async fn add_group(&self, forest_name: &str, group: &str) -> anyhow::Result<()> {
        self.lab
            .directory_admin(&forest(forest_name)?)
            .await?
            .add_group(group)
            .await?;
        Ok(())
    }

    /// Adds a user or group to a group of an account forest.
    pub async fn add_member(
        &self,
        forest_name: &str,
        group: &str,
        member: &str,
    ) -> anyhow::Result<()> {
        self.lab
            .directory_admin(&forest(forest_name)?)
            .await?
            .add_member(group, member)
            .await?;
        Ok(())
    }

    /// Removes a user or group from a group of an account forest.
    pub async fn remove_member(
        &self,
        forest_name: &str,
        group: &str,
        member: &str,
    ) -> anyhow::Result<()> {
        self.lab
            .directory_admin(&forest(forest_name)?)
            .await?
            .remove_member(group, member)
            .await?;
        Ok(())
    }

    /// Disables a user of an account forest (`Disable-ADAccount`).
    pub async fn disable_user(&self, forest_name: &str, user: &str) -> anyhow::Result<()> {
        self.lab
            .directory_admin(&forest(forest_name)?)
            .await?
            .disable_user(user)
            .await?;
        Ok(())
    }

    /// Deletes a user or group of an account forest (`Remove-ADUser`,
    /// `Remove-ADGroup`).
    pub async fn remove_principal(&self, forest_name: &str, name: &str) -> anyhow::Result<()> {
        self.lab
            .directory_admin(&forest(forest_name)?)
            .await?
            .remove_principal(name)
            .await?;
        Ok(())
    }

    /// As the resource forest's Administrator, creates a linked role group for
    /// `group` of `account` with `roles`, through the real `New-RoleGroup`.
    pub async fn link_role_group(
        &self,
        account: &str,
        name: &str,
        group: &str,
        roles: &[&str],
    ) -> anyhow::Result<()> {
        let account = forest(account)?;
        let dc = self.lab.endpoint(&account)?.address;
        let netbios = account.netbios();
        let svc = crossforest_cli::lab::service_account(self.resource());
        let roles: Vec<String> = roles.iter().map(|r| format!("\"{r}\"")).collect();
        let line = format!(
            "New-RoleGroup -Name \"{name}\" -LinkedForeignGroup \"{netbios}\\{group}\" -LinkedDomainController {dc} -LinkedCredential {netbios}\\{svc} -Roles {}",
            roles.join(",")
        );
        self.administrator()
            .await?
            .run(&line)
            .await
            .with_context(|| format!("`{line}` failed"))?;
        Ok(())
    }

    /// A session as a local user of the resource forest (a mailbox's or
    /// `New-ADUser`'s account), given a credential as `crossforest pki
    /// issue-user` gives it.
    pub async fn local_session(&self, user: &str) -> anyhow::Result<Session> {
        let issued =
            crossforest_cli::issue_user::issue_user(&self.lab, self.resource(), user).await?;
        Ok(self
            .session(&format!(
                "{}\\{}",
                self.resource().netbios(),
                issued.user.name
            ))
            .await?)
    }

    /// A session as the resource forest's built-in Administrator (Organization
    /// Management).
    pub async fn administrator(&self) -> Result<Session, Error> {
        self.session(&format!("{}\\Administrator", self.resource().netbios()))
            .await
    }
}
