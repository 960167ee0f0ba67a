//! Creating a new resource forest on disk: PKI, organization and `node.toml`.

use std::path::{Path, PathBuf};

use crossforest_shared::config::write_toml;
use crossforest_shared::pki::CertificateAuthority;
use crossforest_shared::sid::rid;
use crossforest_shared::{DomainSid, ForestName, Principal};

use crate::config::{NodeConfig, DEFAULT_CLOCK_SKEW_SECS};
use crate::node::NodeError;
use crate::org::Organization;
use crate::rbac::catalogue;
use crate::store::StoreConfig;
use crate::trust::config::TrustConfig;

/// What `resource-forest init` needs.
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
    /// OUs to create under the domain besides `Users`.
    pub organizational_units: Vec<String>,
    /// Trusted forests.
    pub trusts: Vec<TrustConfig>,
    /// Install with Active Directory split permissions: the regular
    /// assignments of the roles that create security principals are never
    /// created (R-SPLIT-3).
    pub active_directory_split_permissions: bool,
    /// Where the organization is kept.
    pub store: StoreConfig,
}

/// The credential file of a local account of the node in `dir`.
pub fn credential_path(dir: &Path, user: &str) -> PathBuf {
    dir.join("credentials").join(format!("{user}.pem"))
}

/// Creates the node: CA, server certificate, the built-in Administrator's
/// credential (a member of Organization Management), the organization with the
/// built-in roles and role groups, and `node.toml`.
pub fn init(options: &InitOptions) -> Result<NodeConfig, NodeError> {
    let config_path = options.dir.join("node.toml");
    crossforest_shared::config::refuse_existing(&config_path)?;
    let pki_dir = options.dir.join("pki");
    let ca = CertificateAuthority::generate(&options.forest)?;
    ca.store(&pki_dir)?;
    ca.issue_server(&[])?
        .write_combined(&pki_dir.join("server.pem"))?;
    let administrator = Principal {
        forest: options.forest.clone(),
        sid: options.domain_sid.with_rid(rid::ADMINISTRATOR),
    };
    ca.issue_principal(&administrator, "Administrator")?
        .write_combined(&credential_path(&options.dir, "Administrator"))?;

    let catalogue = catalogue::builtin()
        .map_err(|e| NodeError::NotInitialised(format!("built-in catalogue: {e}")))?;
    let org = Organization::new(
        options.forest.clone(),
        options.domain_sid,
        &catalogue,
        &options.organizational_units,
    )
    .map_err(|e| NodeError::NotInitialised(e.to_string()))?;
    let org = if options.active_directory_split_permissions {
        crate::org::permission_model::prepare_ad(&org, Some(true)).0
    } else {
        org
    };
    let config = NodeConfig {
        forest: options.forest.clone(),
        domain_sid: options.domain_sid,
        listen: options.listen.clone(),
        data_dir: PathBuf::from("data"),
        pki_dir: PathBuf::from("pki"),
        clock_skew_secs: DEFAULT_CLOCK_SKEW_SECS,
        trusts: options.trusts.clone(),
        operations: Default::default(),
        audit: Default::default(),
        statements: Default::default(),
        revision_wait: Default::default(),
        store: options.store.clone(),
    };
    create_organization(&options.store, &options.dir.join("data"), &org)?;
    write_toml(&config_path, &config)?;
    Ok(NodeConfig::load(&config_path)?)
}

/// Stores `org` as revision 1 in the store `store` names (refusing one that
/// already holds an organization); callable from synchronous code.
pub fn create_organization(
    store: &StoreConfig,
    data_dir: &Path,
    org: &Organization,
) -> Result<u64, NodeError> {
    crate::store::block_on(async { crate::store::open(store, data_dir).await?.create(org).await })
        .map_err(|source| NodeError::Store {
            store: store.describe(),
            source,
        })
}
