//! The `account-forest` command line, also mounted as `crossforest account-forest`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, Subcommand};
use crossforest_shared::client::ForestEndpoint;
use crossforest_shared::pki::{read_text, IssuedCertificate};
use crossforest_shared::proto::directory::v1 as pb;
use crossforest_shared::{DomainSid, ForestName};

use crate::admin::DirectoryAdmin;
use crate::config::NodeConfig;
use crate::init::{credential_path, init, random_domain_sid, InitOptions};
use crate::node::AccountForest;

/// `account-forest` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new account forest in a directory: CA, certificates, directory,
    /// Administrator credential and node.toml.
    Init {
        /// Directory to create the node in.
        #[arg(long)]
        dir: PathBuf,
        /// The forest's DNS name, e.g. fabrikam.com.
        #[arg(long)]
        forest: ForestName,
        /// The root domain's SID (random when omitted).
        #[arg(long)]
        domain_sid: Option<DomainSid>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7101")]
        listen: String,
        /// File holding the Administrator's password.
        #[arg(long)]
        administrator_password_file: PathBuf,
    },
    /// Serve the directory over gRPC with mutual TLS.
    Serve {
        /// The node's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Check the node's configuration (every key, the certificate files) and
    /// its directory without serving; prints `OK` and a summary, or every
    /// problem by key.
    #[command(alias = "check")]
    CheckConfig {
        /// The node's configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Users (New-ADUser, Unlock-ADAccount).
    #[command(subcommand)]
    User(UserCommand),
    /// Universal security groups (New-ADGroup, Add-ADGroupMember).
    #[command(subcommand)]
    Group(GroupCommand),
}

/// Where the admin tools connect, and as whom.
#[derive(Debug, Args)]
pub struct AdminTarget {
    /// The node's configuration file (gives address, forest and CA).
    #[arg(long)]
    config: PathBuf,
    /// Credential file (certificate and key) of a Domain Admin; defaults to the
    /// node's `credentials/Administrator.pem`.
    #[arg(long = "as")]
    credential: Option<PathBuf>,
}

/// `account-forest user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and write its credential (certificate and key).
    Add {
        /// Where to connect, and as whom.
        #[command(flatten)]
        target: AdminTarget,
        /// sAMAccountName.
        name: String,
        /// File holding the user's password.
        #[arg(long)]
        password_file: PathBuf,
        /// Where to write the user's credential (default: the node's
        /// `credentials/<name>.pem`).
        #[arg(long)]
        credential_out: Option<PathBuf>,
    },
    /// List users and groups, with each user's bad password count and
    /// lockout on the node.
    List {
        /// Where to connect, and as whom.
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Unlock a user locked out by the account lockout policy and clear its
    /// bad password count (Unlock-ADAccount).
    Unlock {
        /// Where to connect, and as whom.
        #[command(flatten)]
        target: AdminTarget,
        /// sAMAccountName.
        name: String,
    },
}

/// `account-forest group …`.
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a universal security group.
    Add {
        /// Where to connect, and as whom.
        #[command(flatten)]
        target: AdminTarget,
        /// Group name.
        name: String,
    },
    /// Add a user or group to a group.
    AddMember {
        /// Where to connect, and as whom.
        #[command(flatten)]
        target: AdminTarget,
        /// The group.
        group: String,
        /// The user or group to add.
        member: String,
    },
    /// Remove a user or group from a group.
    RemoveMember {
        /// Where to connect, and as whom.
        #[command(flatten)]
        target: AdminTarget,
        /// The group.
        group: String,
        /// The user or group to remove.
        member: String,
    },
}

fn node_dir(config: &Path) -> PathBuf {
    config.parent().unwrap_or(Path::new(".")).to_owned()
}

async fn admin(target: &AdminTarget) -> anyhow::Result<DirectoryAdmin> {
    let config = NodeConfig::load(&target.config)?;
    let credential_file = target
        .credential
        .clone()
        .unwrap_or_else(|| credential_path(&node_dir(&target.config), "Administrator"));
    let credential = IssuedCertificate::read_combined(&credential_file)?;
    let endpoint = ForestEndpoint {
        forest: config.forest.clone(),
        address: config.listen.clone(),
        ca_pem: read_text(&config.pki_dir.join("ca.pem"))?,
    };
    Ok(DirectoryAdmin::connect(&endpoint, &credential).await?)
}

fn read_password(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read password file `{}`", path.display()))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

/// A user's lockout state, as `user list` shows it after the name.
fn lockout_text(lockout: &pb::AccountLockout) -> String {
    let bad = match lockout.bad_password_count {
        1 => "1 bad password".to_owned(),
        n => format!("{n} bad passwords"),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    match lockout.locked_out_until {
        0 => format!("  ({bad})"),
        i64::MAX => format!("  LOCKED OUT until unlocked ({bad})"),
        until => {
            let minutes = (until.saturating_sub(now).max(0) + 59) / 60;
            format!("  LOCKED OUT for {minutes} more min ({bad})")
        }
    }
}

/// Runs one subcommand.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init {
            dir,
            forest,
            domain_sid,
            listen,
            administrator_password_file,
        } => {
            let config = init(&InitOptions {
                dir: dir.clone(),
                forest,
                domain_sid: domain_sid.unwrap_or_else(random_domain_sid),
                listen,
                administrator_password: read_password(&administrator_password_file)?,
                store: Default::default(),
            })?;
            println!(
                "created account forest {} ({}) in {}",
                config.forest,
                config.domain_sid,
                dir.display()
            );
        }
        Command::Serve { config } => {
            let config = NodeConfig::load(&config)?;
            let node = AccountForest::load(config.clone())?;
            let (listener, address) = crossforest_shared::serve::bind(&config.listen).await?;
            tracing::info!(forest = %config.forest, %address, "account forest listening");
            crate::server::serve(listener, node, crossforest_shared::serve::shutdown_signal())
                .await?;
        }
        Command::CheckConfig { config } => {
            let config = NodeConfig::load(&config)?;
            let node = AccountForest::load(config.clone())?;
            let principals = node.read(|d| d.principals());
            let groups = principals.iter().filter(|p| p.is_group).count();
            let users = principals.len() - groups;
            let server = crossforest_shared::inspect::summarize_pem(
                &read_text(&config.pki_dir.join("server.pem"))?,
                "server certificate",
            )?;
            println!("OK");
            println!(
                "forest {} ({}) listening on {}: {users} users, {groups} groups; server certificate serial {} valid until {}",
                config.forest, config.domain_sid, config.listen, server.serial, server.not_after
            );
            let policy = config.lockout_policy();
            let lockout = match (policy.threshold, policy.duration.as_secs() / 60) {
                (0, _) => "accounts never lock out".to_owned(),
                (n, 0) => format!("{n} bad passwords lock an account out until it is unlocked"),
                (n, minutes) => {
                    format!("{n} bad passwords lock an account out for {minutes} min")
                }
            };
            println!(
                "sign-in: {lockout} (observation window {} min); at most {} password checks at once ({} MiB)",
                policy.observation_window.as_secs() / 60,
                node.hashing().permits(),
                config.password_hash_memory_mib
            );
        }
        Command::User(UserCommand::Add {
            target,
            name,
            password_file,
            credential_out,
        }) => {
            let password = read_password(&password_file)?;
            let (user, credential) = admin(&target).await?.add_user(&name, &password).await?;
            let out =
                credential_out.unwrap_or_else(|| credential_path(&node_dir(&target.config), &name));
            credential.write_combined(&out)?;
            println!(
                "created user {} ({}); credential written to {}",
                user.name,
                user.sid,
                out.display()
            );
        }
        Command::User(UserCommand::List { target }) => {
            let listed = admin(&target).await?.list().await?;
            for p in &listed.principals {
                let kind = if p.kind == 2 { "group" } else { "user" };
                let lockout = listed
                    .lockouts
                    .iter()
                    .find(|l| l.sid == p.sid)
                    .map(lockout_text)
                    .unwrap_or_default();
                println!("{:<48} {:<6} {}{lockout}", p.sid, kind, p.name);
            }
        }
        Command::User(UserCommand::Unlock { target, name }) => {
            let (user, was_locked_out) = admin(&target).await?.unlock(&name).await?;
            if was_locked_out {
                println!("unlocked {} ({})", user.name, user.sid);
            } else {
                println!(
                    "{} ({}) was not locked out; its bad password count is cleared",
                    user.name, user.sid
                );
            }
        }
        Command::Group(GroupCommand::Add { target, name }) => {
            let group = admin(&target).await?.add_group(&name).await?;
            println!(
                "created universal security group {} ({})",
                group.name, group.sid
            );
        }
        Command::Group(GroupCommand::AddMember {
            target,
            group,
            member,
        }) => {
            admin(&target).await?.add_member(&group, &member).await?;
            println!("added {member} to {group}");
        }
        Command::Group(GroupCommand::RemoveMember {
            target,
            group,
            member,
        }) => {
            admin(&target).await?.remove_member(&group, &member).await?;
            println!("removed {member} from {group}");
        }
    }
    Ok(())
}
