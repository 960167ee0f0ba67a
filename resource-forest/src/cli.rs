//! The `resource-forest` command line, also mounted as `crossforest resource-forest`.

use std::path::PathBuf;

use clap::Subcommand;

use crate::config::NodeConfig;
use crate::node::ResourceForest;

/// `resource-forest` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the organization over gRPC with mutual TLS.
    Serve {
        /// The node's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Exchange setup's organization preparation on a stopped node:
    /// `--prepare-ad [--active-directory-split-permissions true|false]` switches
    /// the permission model and prints what changed; `--prepare-all-domains`
    /// and `--prepare-domain [FQDN]` prepare the forest's domains (the
    /// Microsoft Exchange System Objects container and permissions); see
    /// docs/rules.md, R-SPLIT-1..4. For a
    /// running node use `crossforest setup --lab …`.
    #[command(group(clap::ArgGroup::new("operation").required(true).args([
        "prepare_ad", "prepare_all_domains", "prepare_domain",
    ])))]
    Setup {
        /// The node's configuration file.
        #[arg(long)]
        config: PathBuf,
        /// Prepare the organization (`/PrepareAD`).
        #[arg(long)]
        prepare_ad: bool,
        /// `/ActiveDirectorySplitPermissions`: true or false; omitted keeps the model.
        #[arg(long, requires = "prepare_ad")]
        active_directory_split_permissions: Option<bool>,
        /// Prepare every domain of the forest (`/PrepareAllDomains`).
        #[arg(long)]
        prepare_all_domains: bool,
        /// Prepare one domain (`/PrepareDomain[:FQDN]`); without a value, the
        /// forest root domain.
        #[arg(long, value_name = "FQDN", num_args = 0..=1, default_missing_value = "")]
        prepare_domain: Option<String>,
        /// Show what would change, and who would gain or lose which cmdlets;
        /// change nothing.
        #[arg(long)]
        what_if: bool,
    },
    /// Export the organization's RBAC configuration (roles, role groups,
    /// assignments, scopes, policies, trusts) as a versioned JSON document
    /// (`crossforest.rbac/1`), to standard output or `--output`. A running
    /// node with an embedded store is asked over its management API, as the
    /// Administrator (`credentials/Administrator.pem` beside the
    /// configuration): one consistent snapshot, audited.
    Export {
        /// The node's configuration file.
        #[arg(long)]
        config: PathBuf,
        /// Write the document here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// `json` (the document `import` reads) or `model` (a permission
        /// model file for `crossforest model test`).
        #[arg(long, default_value = "json", value_parser = ["json", "model"])]
        format: String,
    },
    /// Import an RBAC document written by `export`: validated whole (every
    /// reference and the lockout rules) before anything changes, then
    /// committed as one change and audited, as the organization's
    /// Administrator. With an embedded store the node must be stopped.
    Import {
        /// The node's configuration file.
        #[arg(long)]
        config: PathBuf,
        /// The document.
        #[arg(long)]
        file: PathBuf,
        /// Show who would gain or lose which cmdlets; change nothing.
        #[arg(long)]
        what_if: bool,
    },
    /// Check a node's configuration (every key, the certificate files, the
    /// trusts) and its organization without serving; prints `OK` and a summary,
    /// or every problem by key.
    #[command(alias = "check-config")]
    Check {
        /// The node's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
}

/// Runs one subcommand.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve { config } => {
            let config = NodeConfig::load(&config)?;
            let node = ResourceForest::load(config.clone()).await?;
            let (listener, address) = crossforest_shared::serve::bind(&config.listen).await?;
            tracing::info!(forest = %config.forest, %address, trusts = config.trusts.len(), "resource forest listening");
            crate::server::serve(listener, node, crossforest_shared::serve::shutdown_signal())
                .await?;
        }
        Command::Setup {
            config,
            prepare_ad: _,
            active_directory_split_permissions,
            prepare_all_domains,
            prepare_domain,
            what_if,
        } => {
            let config = NodeConfig::load(&config)?;
            refuse_running(
                &config,
                "stop it, or run `crossforest setup --lab …` against it",
            )?;
            let domains = domains(prepare_all_domains, prepare_domain);
            // First run: setup creates the organization, in the model asked.
            let store = crate::store::open(&config.store, &config.data_dir).await?;
            if store.load().await?.is_none() {
                if domains.is_some() {
                    anyhow::bail!(
                        "the organization doesn't exist yet: run `setup --prepare-ad` first, then prepare the domains"
                    );
                }
                let catalogue = crate::rbac::catalogue::builtin()
                    .map_err(|e| anyhow::anyhow!("built-in catalogue: {e}"))?;
                let org = crate::org::Organization::new(
                    config.forest.clone(),
                    config.domain_sid,
                    &catalogue,
                    &[],
                )?;
                let split = active_directory_split_permissions.unwrap_or(false);
                let (org, _) = crate::org::permission_model::prepare_ad(&org, Some(split));
                if !what_if {
                    store.create(&org).await?;
                }
                println!(
                    "{}created organization {} with the built-in roles and role groups{}",
                    if what_if { "What if: " } else { "" },
                    config.forest,
                    if split {
                        "; Active Directory split permissions: the regular assignments of Mail Recipient Creation and Security Group Creation and Membership were not created"
                    } else {
                        ""
                    }
                );
                return Ok(());
            }
            drop(store);
            let node = ResourceForest::load(config.clone()).await?;
            let caller = administrator(&config);
            let (revision, changes) = match domains {
                Some(domains) => node.prepare_domains(&caller, domains, what_if).await?,
                None => {
                    node.prepare_ad(&caller, active_directory_split_permissions, what_if)
                        .await?
                }
            };
            for change in changes {
                println!("{change}");
            }
            println!("organization revision {revision}");
        }
        Command::Export {
            config: path,
            output,
            format,
        } => {
            let config = NodeConfig::load(&path)?;
            let document = match running_address(&config) {
                Some(address) if config.store.is_embedded() => {
                    export_running(&config, &path, &address).await?
                }
                _ => {
                    let node = ResourceForest::load(config.clone()).await?;
                    let snapshot = node.store().snapshot();
                    crate::rbac_document::RbacDocument::export(
                        &snapshot.org,
                        snapshot.revision,
                        &config.trusts,
                    )
                }
            };
            let text = if format == "model" {
                crate::model::export::to_toml(&crate::model::export::export(&document)?)?
            } else {
                let mut text = serde_json::to_string_pretty(&document)?;
                text.push('\n');
                text
            };
            match output {
                Some(path) => crossforest_shared::config::write_atomic(&path, text.as_bytes())?,
                None => print!("{text}"),
            }
        }
        Command::Import {
            config,
            file,
            what_if,
        } => {
            let config = NodeConfig::load(&config)?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", file.display()))?;
            let document = crate::rbac_document::RbacDocument::parse(&text)
                .map_err(|e| anyhow::anyhow!("`{}`: {e}", file.display()))?;
            if config.store.is_embedded() {
                refuse_running(&config, "stop it first (its store is open)")?;
            }
            let node = ResourceForest::load(config.clone()).await?;
            let (revision, lines) = node
                .import_rbac(&administrator(&config), &document, what_if)
                .await?;
            for line in lines {
                println!("{line}");
            }
            println!("organization revision {revision}");
        }
        Command::Check { config } => {
            let config = NodeConfig::load(&config)?;
            let node = ResourceForest::load(config.clone()).await?;
            let snapshot = node.store().snapshot();
            println!("OK");
            println!(
                "organization {} ({}) revision {}: {} roles, {} role groups, {} assignments, {} recipients",
                config.forest,
                config.domain_sid,
                snapshot.revision,
                snapshot.org.rbac.roles.len(),
                snapshot.org.rbac.role_groups.len(),
                snapshot.org.rbac.assignments.len(),
                snapshot.org.recipients.len()
            );
            for trust in node.trusts().all() {
                println!(
                    "trust {} at {} (domains {}; linked credential {})",
                    trust.forest,
                    trust.endpoint.address,
                    trust
                        .domain_sids
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    trust
                        .linked_credential
                        .as_ref()
                        .map_or("none", |l| l.user.as_str())
                );
            }
            let server = crossforest_shared::inspect::summarize_pem(
                &crossforest_shared::pki::read_text(&config.pki_dir.join("server.pem"))?,
                "server certificate",
            )?;
            println!(
                "server certificate serial {} valid until {}; metrics {}",
                server.serial,
                server.not_after,
                config
                    .operations
                    .metrics_listen
                    .as_deref()
                    .map_or("off".to_owned(), |m| format!("on http://{m}/metrics"))
            );
        }
    }
    Ok(())
}

/// The domains `--prepare-all-domains` or `--prepare-domain [FQDN]` name, if
/// either was given.
pub fn domains(all: bool, one: Option<String>) -> Option<crate::org::preparation::Domains> {
    use crate::org::preparation::Domains;
    match (all, one) {
        (true, _) => Some(Domains::All),
        (false, Some(d)) if d.is_empty() => Some(Domains::One(None)),
        (false, Some(d)) => Some(Domains::One(Some(d))),
        (false, None) => None,
    }
}

/// Where the node serves, if it does: the address it announced in
/// `<data_dir>/listening`, when that accepts connections.
fn running_address(config: &NodeConfig) -> Option<String> {
    let address = std::fs::read_to_string(config.data_dir.join("listening")).ok()?;
    let address = address.trim();
    std::net::TcpStream::connect(address)
        .is_ok()
        .then(|| address.to_owned())
}

/// Refuses an offline command while the node is serving (`why` says what to
/// do instead).
fn refuse_running(config: &NodeConfig, why: &str) -> anyhow::Result<()> {
    if let Some(address) = running_address(config) {
        anyhow::bail!("the node is running on {address}: {why}");
    }
    Ok(())
}

/// Exports the RBAC configuration of the node serving on `address` (its
/// embedded store is open there) over its management API, as the
/// organization's Administrator (`credentials/Administrator.pem` beside
/// `config_path`): one consistent snapshot, authorised and audited like
/// any caller's request.
async fn export_running(
    config: &NodeConfig,
    config_path: &std::path::Path,
    address: &str,
) -> anyhow::Result<crate::rbac_document::RbacDocument> {
    use anyhow::Context as _;
    use crossforest_shared::proto::management::v1 as pb;
    let dir = config_path.parent().unwrap_or(std::path::Path::new("."));
    let credential_path = crate::init::credential_path(dir, "Administrator");
    let credential = crossforest_shared::pki::IssuedCertificate::read_combined(&credential_path)
        .with_context(|| {
            format!(
                "the node is running on {address}: a running node's configuration is exported over its management API as the Administrator, whose credential `{}` cannot be read",
                credential_path.display()
            )
        })?;
    let endpoint = crossforest_shared::client::ForestEndpoint {
        forest: config.forest.clone(),
        address: address.to_owned(),
        ca_pem: crossforest_shared::pki::read_text(&config.pki_dir.join("ca.pem"))?,
    };
    let channel = crossforest_shared::client::connect(&endpoint, &credential).await?;
    let response = pb::management_client::ManagementClient::new(channel)
        .export_rbac(pb::ExportRbacRequest {})
        .await
        .map_err(|status| anyhow::anyhow!("{address} refused the export: {}", status.message()))?
        .into_inner();
    crate::rbac_document::RbacDocument::parse(&response.document).map_err(|e| {
        anyhow::anyhow!("the node on {address} sent an RBAC document that does not parse: {e}")
    })
}

/// Offline commands run as the organization's installing administrator.
pub fn administrator(config: &NodeConfig) -> crate::trust::authenticate::Caller {
    let administrator = config
        .domain_sid
        .with_rid(crossforest_shared::sid::rid::ADMINISTRATOR);
    crate::trust::authenticate::Caller {
        forest: config.forest.clone(),
        user: administrator,
        display_name: format!("{}\\Administrator", config.forest.netbios()),
        sids: vec![administrator],
        dropped: Vec::new(),
        local: true,
    }
}
