//! A federation of forests for integration tests: one resource forest and any
//! number of account forests, each a real gRPC server on a loopback port with its
//! own CA and real mutual TLS, started in this process.
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
//! alice.run("Get-Mailbox").await?;
//! # Ok(()) }
//! ```
//!
//! Ports are chosen by the operating system (port 0); every node is served with
//! `serve(listener, node, shutdown)` and stops when the federation is dropped.
//! [`Federation::stop`] and [`Federation::restart`] stop and restart one node
//! (faults, partitions) on the same address, from its state on disk.

use std::path::Path;

use anyhow::Context as _;
use crossforest_cli::lab::{Lab, LabSpec};
use crossforest_cli::session::Session;
use crossforest_shared::client::ForestEndpoint;
use crossforest_shared::{DomainSid, ForestName};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Builds a [`Federation`].
#[derive(Debug, Default)]
pub struct FederationBuilder {
    resource: Option<String>,
    accounts: Vec<String>,
    untrusted: Vec<String>,
    organizational_units: Vec<String>,
    active_directory_split_permissions: bool,
    max_staleness_secs: Option<u64>,
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

    /// Writes the lab into a temporary directory and starts every node.
    pub async fn start(self) -> anyhow::Result<Federation> {
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
            store: resource_forest::store::testing::scenario_store().map_err(anyhow::Error::msg)?,
        };
        let lab_dir = dir.path().to_owned();
        let lab = tokio::task::spawn_blocking(move || Lab::create(&lab_dir, &spec)).await??;
        if let Some(secs) = self.max_staleness_secs {
            set_max_staleness(&lab, secs)?;
        }
        let mut nodes = Vec::new();
        for (forest, listener) in listeners {
            let listener = TcpListener::from_std(listener)?;
            nodes.push(RunningNode::start(&lab, forest, listener).await?);
        }
        Ok(Federation {
            lab,
            nodes,
            _dir: dir,
        })
    }
}

/// Sets `max_staleness_secs` on every trust of the lab's resource forest.
fn set_max_staleness(lab: &Lab, secs: u64) -> anyhow::Result<()> {
    let path = lab.node_dir(&lab.file().resource).join("node.toml");
    let mut config: toml::Table = toml::from_str(&std::fs::read_to_string(&path)?)?;
    if let Some(toml::Value::Array(trusts)) = config.get_mut("trust") {
        for trust in trusts.iter_mut().filter_map(toml::Value::as_table_mut) {
            let secs = i64::try_from(secs)?;
            trust.insert("max_staleness_secs".into(), toml::Value::Integer(secs));
        }
    }
    std::fs::write(&path, toml::to_string(&config)?)?;
    Ok(())
}

#[derive(Debug)]
struct RunningNode {
    forest: ForestName,
    address: String,
    /// The loaded node, when it is the resource forest.
    resource: Option<std::sync::Arc<resource_forest::node::ResourceForest>>,
    /// The loaded node, when it is an account forest.
    account: Option<std::sync::Arc<account_forest::node::AccountForest>>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningNode {
    /// Loads `forest`'s node from the lab and serves it on `listener`.
    async fn start(lab: &Lab, forest: ForestName, listener: TcpListener) -> anyhow::Result<Self> {
        let address = listener.local_addr()?.to_string();
        let (tx, rx) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = rx.await;
        };
        let mut resource = None;
        let mut account = None;
        let task = if forest == lab.file().resource {
            let mut config = lab.resource_config()?;
            config.operations.metrics_listen = Some("127.0.0.1:0".into());
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
            address,
            resource,
            account,
            stop: Some(tx),
            task,
        })
    }

    /// Stops serving: in-flight requests finish, open streams end, the port
    /// is released.
    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(std::time::Duration::from_secs(10), &mut self.task).await {
            Ok(joined) => joined??,
            Err(_) => {
                self.task.abort();
                anyhow::bail!("{} did not stop within 10 s", self.forest);
            }
        }
        // The node's background tasks end with it; only then is its store
        // closed and can the node start again, as a new process would.
        let held: Option<Box<dyn Fn() -> usize + Send>> =
            match (self.resource.take(), self.account.take()) {
                (Some(node), _) => Some(Box::new(move || std::sync::Arc::strong_count(&node))),
                (_, Some(node)) => Some(Box::new(move || std::sync::Arc::strong_count(&node))),
                _ => None,
            };
        if let Some(held) = held {
            let mut waited = 0;
            while held() > 1 {
                anyhow::ensure!(
                    waited < 1000,
                    "{}'s background tasks did not end within 10 s",
                    self.forest
                );
                waited += 1;
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        Ok(())
    }
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
            if let Some(stop) = node.stop.take() {
                let _ = stop.send(());
            }
            node.task.abort();
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
            .find_map(|n| n.resource.as_ref())
            .context("the resource forest was not started")
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
            .any(|n| n.forest.as_str() == forest_name && !n.task.is_finished())
    }

    /// Stops `forest`'s node as a crash or partition would look to the others:
    /// its port closes and open streams end. Its state stays on disk.
    pub async fn stop(&mut self, forest_name: &str) -> anyhow::Result<()> {
        self.node_mut(forest_name)?.stop().await
    }

    /// Starts `forest`'s node again from its state on disk, on the same
    /// address (stopping it first if it is still running).
    pub async fn restart(&mut self, forest_name: &str) -> anyhow::Result<()> {
        let node = self.node_mut(forest_name)?;
        if !node.task.is_finished() {
            node.stop().await?;
        }
        let (forest, address) = (node.forest.clone(), node.address.clone());
        // The old socket is closed; binding may briefly race its release.
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(&address).await {
                Ok(listener) => break listener,
                Err(_) if attempts < 50 => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot listen on {address} again"))
                }
            }
        };
        let restarted = RunningNode::start(&self.lab, forest, listener).await?;
        *self.node_mut(forest_name)? = restarted;
        Ok(())
    }

    fn node_mut(&mut self, forest_name: &str) -> anyhow::Result<&mut RunningNode> {
        self.nodes
            .iter_mut()
            .find(|n| n.forest.as_str() == forest_name)
            .with_context(|| format!("no node for `{forest_name}` in this federation"))
    }

    /// A management session as `DOMAIN\user` (authenticating at home first for
    /// account-forest users).
    pub async fn session(&self, identity: &str) -> anyhow::Result<Session> {
        self.lab.session(identity).await
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

    /// A session as a local user of the resource forest (a mailbox's account),
    /// found by `Get-Mailbox` as the Administrator and given a credential from
    /// the resource forest's CA.
    pub async fn local_session(&self, user: &str) -> anyhow::Result<Session> {
        let found = self
            .administrator()
            .await?
            .run(&format!("Get-Mailbox \"{user}\""))
            .await
            .with_context(|| format!("no mailbox `{user}`"))?;
        let sid = found
            .records
            .first()
            .and_then(|r| r.properties.iter().find(|p| p.name == "SID"))
            .with_context(|| format!("no SID for `{user}`"))?
            .value
            .parse()?;
        self.lab.issue_local_credential(user, sid)?;
        self.session(&format!("{}\\{user}", self.resource().netbios()))
            .await
    }

    /// A session as the resource forest's built-in Administrator (Organization
    /// Management).
    pub async fn administrator(&self) -> anyhow::Result<Session> {
        self.session(&format!("{}\\Administrator", self.resource().netbios()))
            .await
    }
}
