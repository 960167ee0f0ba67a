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
    /// Check a node's configuration, trusts and organization without serving.
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
            let node = ResourceForest::load(config.clone())?;
            let (listener, address) =
                crossforest_shared::serve::bind_and_announce(&config.listen, &config.data_dir)
                    .await?;
            tracing::info!(forest = %config.forest, %address, trusts = config.trusts.len(), "resource forest listening");
            crate::server::serve(listener, node, crossforest_shared::serve::shutdown_signal())
                .await?;
        }
        Command::Check { config } => {
            let config = NodeConfig::load(&config)?;
            let node = ResourceForest::load(config.clone())?;
            let snapshot = node.store().snapshot();
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
        }
    }
    Ok(())
}
