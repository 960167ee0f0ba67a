//! `crossforest`: demo, lab, management shell, and the node binaries.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use crossforest_cli::output::Format;
use crossforest_cli::shell::{Input, EXIT_ERROR};

/// Exchange cross-forest administration: a resource forest trusting account
/// forests one way over mutual TLS, with linked role groups and RBAC.
#[derive(Debug, Parser)]
#[command(name = "crossforest", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start contoso.com (resource) and fabrikam.com, tailspin.com (account
    /// forests) as separate processes and run a cross-forest transcript.
    Demo {
        /// Directory for the lab (replaced if it holds a previous lab).
        #[arg(long, default_value = "crossforest-lab")]
        dir: PathBuf,
    },
    /// Start a lab's nodes (creating the lab first if `--dir` holds none) and
    /// run them until Ctrl-C.
    Up {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        dir: PathBuf,
    },
    /// Run Exchange Management Shell commands against a lab's resource forest.
    Shell {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        lab: PathBuf,
        /// Who to run as: `DOMAIN\user`, e.g. `fabrikam\alice` or `contoso\Administrator`.
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
    /// Exchange setup against a lab's running resource forest, as its
    /// Administrator: `--prepare-ad [--active-directory-split-permissions
    /// true|false]` switches the permission model and prints what changed.
    Setup {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        lab: PathBuf,
        /// Prepare the organization (`/PrepareAD`).
        #[arg(long, required = true)]
        prepare_ad: bool,
        /// `/ActiveDirectorySplitPermissions`: true or false; omitted keeps the model.
        #[arg(long)]
        active_directory_split_permissions: Option<bool>,
        /// Show what would change, and who would gain or lose which cmdlets;
        /// change nothing.
        #[arg(long)]
        what_if: bool,
        /// Who runs setup: a member of Organization Management (default: the
        /// resource forest's Administrator).
        #[arg(long = "as")]
        identity: Option<String>,
    },
    /// Run or administer an account forest node.
    #[command(subcommand)]
    AccountForest(account_forest::cli::Command),
    /// Run a resource forest node.
    #[command(subcommand)]
    ResourceForest(resource_forest::cli::Command),
}

async fn up(dir: PathBuf) -> anyhow::Result<()> {
    use crossforest_cli::lab::{Lab, LabSpec};
    use crossforest_cli::processes::{free_loopback_address, Running};
    let lab = if dir.join("lab.toml").exists() {
        Lab::open(&dir)?
    } else {
        let spec = LabSpec {
            resource: (
                crossforest_cli::demo::RESOURCE.parse()?,
                free_loopback_address()?,
            ),
            accounts: vec![
                (
                    crossforest_cli::demo::FABRIKAM.parse()?,
                    free_loopback_address()?,
                ),
                (
                    crossforest_cli::demo::TAILSPIN.parse()?,
                    free_loopback_address()?,
                ),
            ],
            untrusted: Vec::new(),
            organizational_units: vec!["Sales".into(), "Seattle".into()],
        };
        eprintln!("creating a lab in {}", dir.display());
        Lab::create(&dir, &spec)?
    };
    let running = Running::start(&lab).await?;
    eprintln!("lab running; Ctrl-C stops it. Try: crossforest shell --lab {} --as 'contoso\\Administrator' -c 'Get-RoleGroup'", dir.display());
    running.wait().await
}

async fn setup(
    lab: PathBuf,
    identity: Option<String>,
    split: Option<bool>,
    what_if: bool,
) -> anyhow::Result<u8> {
    let lab = crossforest_cli::lab::Lab::open(&lab)?;
    let identity =
        identity.unwrap_or_else(|| format!("{}\\Administrator", lab.file().resource.netbios()));
    let mut session = lab.session(&identity).await?;
    match session.prepare_ad(split, what_if).await {
        Ok(response) => {
            for change in response.changes {
                println!("{change}");
            }
            println!("organization revision {}", response.revision);
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
        Command::Demo { .. } | Command::Shell { .. } | Command::Up { .. } | Command::Setup { .. }
    );
    crossforest_shared::telemetry::init(if quiet { "warn" } else { "info" });
    let result = match cli.command {
        Command::Demo { dir } => crossforest_cli::demo::run(&dir).await.map(|()| 0),
        Command::Up { dir } => up(dir).await.map(|()| 0),
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
            prepare_ad: _,
            active_directory_split_permissions,
            what_if,
            identity,
        } => setup(lab, identity, active_directory_split_permissions, what_if).await,
        Command::AccountForest(command) => account_forest::cli::run(command).await.map(|()| 0),
        Command::ResourceForest(command) => resource_forest::cli::run(command).await.map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
