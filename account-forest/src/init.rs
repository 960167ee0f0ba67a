//! Creating a new account forest on disk: PKI, directory and `node.toml`.

use std::path::{Path, PathBuf};

use crossforest_shared::pki::{write_private, CertificateAuthority, IssuedCertificate};
use crossforest_shared::sid::rid;
use crossforest_shared::store::{block_on, StoreConfig};
use crossforest_shared::{DomainSid, ForestName, Principal};

use crate::config::{
    NodeConfig, DEFAULT_LOCKOUT_MINUTES, DEFAULT_LOCKOUT_THRESHOLD,
    DEFAULT_PASSWORD_HASH_MEMORY_MIB, DEFAULT_PASSWORD_HASH_WAIT_MS, DEFAULT_TOKEN_LIFETIME_SECS,
};
use crate::directory::Directory;
use crate::node::{AccountForest, NodeError};

/// What `account-forest init` needs.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Directory to create the node in.
    pub dir: PathBuf,
    /// The forest's DNS name.
    pub forest: ForestName,
    /// The root domain's SID.
    pub domain_sid: DomainSid,
    /// `host:port` to listen on.
    pub listen: String,
    /// The built-in Administrator's password.
    pub administrator_password: String,
    /// Where the directory is kept.
    pub store: StoreConfig,
}

/// A random domain SID, as a new forest would get.
pub fn random_domain_sid() -> DomainSid {
    let [a, b, c]: [u32; 3] = rand::random();
    // Real domain sub-authorities are large; keep them so for recognisable SIDs.
    DomainSid::new(a | 0x4000_0000, b | 0x4000_0000, c | 0x4000_0000)
}

/// The credential file of a user of the node in `dir`.
pub fn credential_path(dir: &Path, user: &str) -> PathBuf {
    dir.join("credentials").join(format!("{user}.pem"))
}

/// Creates the node: CA, server and token-signing certificates, a directory with
/// the built-in Administrator, the Administrator's credential and `node.toml`.
pub fn init(options: &InitOptions) -> Result<NodeConfig, NodeError> {
    let config_path = options.dir.join("node.toml");
    crossforest_shared::config::refuse_existing(&config_path)?;
    let pki_dir = options.dir.join("pki");
    let ca = CertificateAuthority::generate(&options.forest)?;
    ca.store(&pki_dir)?;
    ca.issue_server(&[])?
        .write_combined(&pki_dir.join("server.pem"))?;
    ca.issue_token_signing()?
        .write_combined(&pki_dir.join("token-signing.pem"))?;

    let directory = Directory::new(
        options.forest.clone(),
        options.domain_sid,
        &options.administrator_password,
    )?;
    let config = NodeConfig {
        forest: options.forest.clone(),
        domain_sid: options.domain_sid,
        listen: options.listen.clone(),
        data_dir: PathBuf::from("data"),
        pki_dir: PathBuf::from("pki"),
        token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
        lockout_threshold: DEFAULT_LOCKOUT_THRESHOLD,
        lockout_duration_mins: DEFAULT_LOCKOUT_MINUTES,
        lockout_observation_window_mins: DEFAULT_LOCKOUT_MINUTES,
        password_hash_memory_mib: DEFAULT_PASSWORD_HASH_MEMORY_MIB,
        password_hash_wait_ms: DEFAULT_PASSWORD_HASH_WAIT_MS,
        operations: Default::default(),
        store: options.store.clone(),
    };
    let data_dir = options.dir.join("data");
    block_on(async {
        crate::store::open(&options.store, &data_dir)
            .await?
            .create(&directory)
            .await
    })
    .map_err(|source| NodeError::Store {
        store: options.store.describe(),
        source,
    })?;
    let administrator = Principal {
        forest: options.forest.clone(),
        sid: options.domain_sid.with_rid(rid::ADMINISTRATOR),
    };
    ca.issue_principal(&administrator, "Administrator")?
        .write_combined(&credential_path(&options.dir, "Administrator"))?;
    crossforest_shared::config::write_toml(&config_path, &config)?;
    NodeConfig::load(&config_path).map_err(NodeError::from)
}

/// Creates the service account this forest issues to a resource forest as its
/// linked credential (R-TRUST-2), in the stored directory of a stopped node,
/// granted Replicating Directory Changes so that it may read the change feed.
pub fn add_linked_credential_offline(
    config: &NodeConfig,
    name: &str,
    password: &str,
) -> Result<IssuedCertificate, NodeError> {
    let node = AccountForest::load(config.clone())?;
    let user = node.change(|d| {
        let user = d.add_user(name, password)?;
        d.grant_replicating_directory_changes(name)?;
        Ok(user)
    })?;
    node.issue_credential(&user)
}

/// Writes a password file readable by its owner only (lab use).
pub fn write_password(path: &Path, password: &str) -> Result<(), NodeError> {
    Ok(write_private(path, password)?)
}
