//! `crossforest`: demo, lab, management shell, and the node binaries.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use crossforest_cli::output::Format;
use crossforest_cli::shell::{Input, EXIT_ERROR};
use crossforest_shared::telemetry::LogFormat;

/// Exchange cross-forest administration: a resource forest trusting account
/// forests one way over mutual TLS, with linked role groups and RBAC.
#[derive(Debug, Parser)]
#[command(name = "crossforest", version, about)]
struct Cli {
    #[command(flatten)]
    logging: crossforest_shared::telemetry::LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once per run; setup's many options are not worth a box"
)]
enum Command {
    /// Start contoso.com (resource) and fabrikam.com, tailspin.com (account
    /// forests) as separate processes and run a cross-forest transcript.
    Demo {
        /// Directory for the lab (replaced if it holds a previous lab).
        #[arg(long, default_value = "crossforest-lab")]
        dir: PathBuf,
        /// Install the organization with Active Directory split permissions
        /// (`setup /PrepareAD /ActiveDirectorySplitPermissions:true`).
        #[arg(long)]
        active_directory_split_permissions: bool,
    },
    /// Start a lab's nodes (creating the lab first if `--dir` holds none) and
    /// run them until Ctrl-C.
    Up {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        dir: PathBuf,
        /// For a new lab: install the organization with Active Directory split
        /// permissions. An existing lab switches with `crossforest setup
        /// --prepare-ad --active-directory-split-permissions true`.
        #[arg(long)]
        active_directory_split_permissions: bool,
    },
    /// A lab's certificates: list them, issue and rotate server certificates,
    /// issue credentials to the resource forest's users, refresh trust bundles. Running nodes pick up new files without restart.
    #[command(subcommand)]
    Pki(crossforest_cli::pki::PkiCommand),
    /// Run Exchange Management Shell commands against a lab's resource forest.
    Shell {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        lab: PathBuf,
        /// Who to run as: `DOMAIN\user` (NetBIOS or DNS domain) or `user@forest`,
        /// in any case, e.g. `fabrikam\alice`, `alice@fabrikam.com` or
        /// `contoso\Administrator`. A resource-forest user other than the
        /// Administrator needs a credential first: `crossforest pki
        /// issue-user`.
        #[arg(long = "as")]
        identity: String,
        /// One command line.
        #[arg(short = 'c', long = "command", conflicts_with = "file")]
        command: Option<String>,
        /// A script, one command per line.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        output: Format,
    },
    /// Exchange setup against a lab's running resource forest: the permission
    /// model (`--prepare-ad`), the domains (`--prepare-all-domains`,
    /// `--prepare-domain`) and delegated setup of servers (see docs/rules.md,
    /// R-SPLIT-1..4 and R-DS-1..4). Give exactly one operation.
    #[command(group(clap::ArgGroup::new("operation").required(true).args([
        "prepare_ad", "prepare_all_domains", "prepare_domain",
        "new_provisioned_server", "remove_provisioned_server",
        "install", "uninstall", "form_cluster", "new_cluster_computer",
    ])))]
    Setup {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        lab: PathBuf,
        /// Prepare the organization (`/PrepareAD`).
        #[arg(long, group = "preparation")]
        prepare_ad: bool,
        /// With `--prepare-ad`: `/ActiveDirectorySplitPermissions` true or
        /// false; omitted keeps the model.
        #[arg(long, requires = "prepare_ad")]
        active_directory_split_permissions: Option<bool>,
        /// With `--prepare-ad`, `--prepare-all-domains` or `--prepare-domain`:
        /// show what would change, and who would gain or lose which cmdlets;
        /// change nothing.
        #[arg(long, requires = "preparation")]
        what_if: bool,
        /// `/PrepareAllDomains`: in every domain of the forest, create the
        /// Microsoft Exchange System Objects container and set permissions
        /// (Organization Management).
        #[arg(long, group = "preparation")]
        prepare_all_domains: bool,
        /// `/PrepareDomain[:FQDN]`: the same in one domain; without a value,
        /// the forest root domain (Organization Management).
        #[arg(long, value_name = "FQDN", num_args = 0..=1, default_missing_value = "", group = "preparation")]
        prepare_domain: Option<String>,
        /// `/NewProvisionedServer:<name>` (Organization Management).
        #[arg(long, value_name = "SERVER")]
        new_provisioned_server: Option<String>,
        /// With `--new-provisioned-server`: the account or security group that
        /// may complete the installation (default: Delegated Setup).
        #[arg(long, requires = "new_provisioned_server")]
        delegate: Option<String>,
        /// `/RemoveProvisionedServer:<name>` (Organization Management).
        #[arg(long, value_name = "SERVER")]
        remove_provisioned_server: Option<String>,
        /// Install server roles on SERVER (a delegate may install only a
        /// provisioned server).
        #[arg(long, value_name = "SERVER")]
        install: Option<String>,
        /// With `--install`: the roles, e.g. `Mailbox`.
        #[arg(long, value_delimiter = ',', default_value = "Mailbox")]
        roles: Vec<String>,
        /// With `--install` of a clustered mailbox server: the node.
        #[arg(long, requires = "install")]
        node: Option<String>,
        /// Uninstall SERVER (Server Management).
        #[arg(long, value_name = "SERVER")]
        uninstall: Option<String>,
        /// Form a cluster for a clustered mailbox server.
        #[arg(long, value_name = "CLUSTER", requires = "nodes")]
        form_cluster: Option<String>,
        /// With `--form-cluster`: the nodes, active first.
        #[arg(long, value_delimiter = ',')]
        nodes: Vec<String>,
        /// Create the computer object of a clustered mailbox server.
        #[arg(long, value_name = "SERVER", requires = "cluster")]
        new_cluster_computer: Option<String>,
        /// With `--new-cluster-computer`: its cluster.
        #[arg(long)]
        cluster: Option<String>,
        /// Who runs setup (default: the resource forest's Administrator).
        #[arg(long = "as")]
        identity: Option<String>,
    },
    /// A permissions console in the browser, over HTTPS with a certificate
    /// from the lab's resource-forest CA: role groups, who can (with each
    /// chain drawn), what-if, the admin audit log, trusts. Every action runs
    /// its cmdlet as the signed-in identity.
    Console(crossforest_cli::console::ConsoleArgs),
    /// Permission models as code: test a model file offline against
    /// assertions, export a lab's configuration as one, print its schema.
    #[command(subcommand)]
    Model(crossforest_cli::model::ModelCommand),
    /// Run or administer an account forest node.
    #[command(subcommand)]
    AccountForest(account_forest::cli::Command),
    /// Run a resource forest node.
    #[command(subcommand)]
    ResourceForest(resource_forest::cli::Command),
}

async fn up(
    dir: PathBuf,
    active_directory_split_permissions: bool,
    log_format: LogFormat,
) -> anyhow::Result<()> {
    use crossforest_cli::lab::Lab;
    use crossforest_cli::processes::Running;
    let lab = if dir.join("lab.toml").exists() {
        if active_directory_split_permissions {
            anyhow::bail!(
                "--active-directory-split-permissions installs a new lab, and {0} holds one: start it with `crossforest up --dir {0}`, then switch with `crossforest setup --lab {0} --prepare-ad --active-directory-split-permissions true`",
                dir.display()
            );
        }
        Lab::open(&dir)?
    } else {
        eprintln!(
            "creating a lab in {}{}",
            dir.display(),
            if active_directory_split_permissions {
                " with Active Directory split permissions"
            } else {
                ""
            }
        );
        crossforest_cli::demo::generate(&dir, active_directory_split_permissions)?
    };
    let running = Running::start(&lab, log_format).await?;
    eprintln!("lab running; Ctrl-C stops it. Try: crossforest shell --lab {} --as 'contoso\\Administrator' -c 'Get-RoleGroup'", dir.display());
    running.wait().await
}

/// What `crossforest setup` runs.
enum SetupOperation {
    /// `/PrepareAD [/ActiveDirectorySplitPermissions]`.
    PrepareAd(Option<bool>),
    /// `/PrepareAllDomains` or `/PrepareDomain` (its what-if in the request).
    PrepareDomain(crossforest_shared::proto::management::v1::PrepareDomainRequest),
    /// A delegated-setup operation on a server.
    Server(crossforest_shared::proto::management::v1::ServerSetupRequest),
}

async fn setup(
    lab: PathBuf,
    identity: Option<String>,
    what_if: bool,
    operation: SetupOperation,
) -> anyhow::Result<u8> {
    let lab = crossforest_cli::lab::Lab::open(&lab)?;
    let identity =
        identity.unwrap_or_else(|| format!("{}\\Administrator", lab.file().resource.netbios()));
    let mut session = lab.session(&identity).await?;
    let result = match operation {
        SetupOperation::PrepareAd(split) => session
            .prepare_ad(split, what_if)
            .await
            .map(|r| (r.changes, r.revision)),
        SetupOperation::PrepareDomain(request) => session
            .prepare_domain(request)
            .await
            .map(|r| (r.changes, r.revision)),
        SetupOperation::Server(request) => session
            .server_setup(request)
            .await
            .map(|r| (r.changes, r.revision)),
    };
    match result {
        Ok((changes, revision)) => {
            for change in changes {
                println!("{change}");
            }
            println!("organization revision {revision}");
            Ok(0)
        }
        Err(e) if e.is_denied() => {
            eprintln!("DENIED: {e}");
            Ok(crossforest_cli::shell::EXIT_DENIED)
        }
        Err(e) => Err(e.into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        Command::Demo { .. }
            | Command::Shell { .. }
            | Command::Up { .. }
            | Command::Setup { .. }
            | Command::Model(_)
            | Command::Console(_)
    );
    crossforest_shared::telemetry::init_with(
        if quiet { "warn" } else { "info" },
        cli.logging.log_format,
    );
    let log_format = cli.logging.log_format;
    let result = match cli.command {
        Command::Demo {
            dir,
            active_directory_split_permissions,
        } => crossforest_cli::demo::run(&dir, active_directory_split_permissions, log_format)
            .await
            .map(|()| 0),
        Command::Up {
            dir,
            active_directory_split_permissions,
        } => up(dir, active_directory_split_permissions, log_format)
            .await
            .map(|()| 0),
        Command::Pki(command) => crossforest_cli::pki::run(command).await.map(|()| 0),
        Command::Shell {
            lab,
            identity,
            command,
            file,
            output,
        } => {
            let input = match (command, file) {
                (Some(line), _) => Input::Command(line),
                (None, Some(path)) => Input::File(path),
                (None, None) => Input::Stdin,
            };
            crossforest_cli::shell::run(lab, &identity, input, output).await
        }
        Command::Setup {
            lab,
            prepare_ad,
            active_directory_split_permissions,
            what_if,
            prepare_all_domains,
            prepare_domain,
            new_provisioned_server,
            delegate,
            remove_provisioned_server,
            install,
            roles,
            node,
            uninstall,
            form_cluster,
            nodes,
            new_cluster_computer,
            cluster,
            identity,
        } => {
            use crossforest_shared::proto::management::v1::{
                PrepareDomainRequest, ServerSetupRequest,
            };
            let operation = if prepare_ad {
                SetupOperation::PrepareAd(active_directory_split_permissions)
            } else if prepare_all_domains || prepare_domain.is_some() {
                SetupOperation::PrepareDomain(PrepareDomainRequest {
                    all_domains: prepare_all_domains,
                    domain: prepare_domain.unwrap_or_default(),
                    what_if,
                })
            } else {
                use crossforest_shared::proto::management::v1::SetupOperation as Op;
                let (operation, server) = [
                    (Op::NewProvisionedServer, new_provisioned_server),
                    (Op::RemoveProvisionedServer, remove_provisioned_server),
                    (Op::Install, install),
                    (Op::Uninstall, uninstall),
                    (Op::FormCluster, form_cluster),
                    (Op::NewClusterComputer, new_cluster_computer),
                ]
                .into_iter()
                .find_map(|(op, server)| server.map(|s| (op, s)))
                .unwrap_or_default();
                SetupOperation::Server(ServerSetupRequest {
                    operation: operation.into(),
                    server,
                    delegate: delegate.unwrap_or_default(),
                    nodes,
                    cluster: cluster.unwrap_or_default(),
                    node: node.unwrap_or_default(),
                    roles,
                    site: String::new(),
                })
            };
            setup(lab, identity, what_if, operation).await
        }
        Command::Model(command) => crossforest_cli::model::run(command).await,
        Command::Console(args) => crossforest_cli::console::run(args).await.map(|()| 0),
        Command::AccountForest(command) => account_forest::cli::run(command).await.map(|()| 0),
        Command::ResourceForest(command) => resource_forest::cli::run(command).await.map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            crossforest_shared::report::print_error(error.chain());
            match crossforest_shared::report::exit_status(error.chain()) {
                crossforest_shared::report::EXIT_ADDRESS_IN_USE => {
                    ExitCode::from(crossforest_shared::report::EXIT_ADDRESS_IN_USE)
                }
                _ => ExitCode::from(EXIT_ERROR),
            }
        }
    }
}
