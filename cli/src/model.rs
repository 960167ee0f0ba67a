//! `crossforest model`: permission models as code — test a model offline
//! against assertions, verify its invariants exhaustively, export a running
//! lab's configuration as a model, plan and apply a model on a running lab
//! (see [`crate::model_plan`]), print the model file's JSON Schema.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use resource_forest::model::{
    assertions, export, format, report, tests_file::TestsFile, verify, Model,
};

/// What `crossforest model` does.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Check a model against a tests file, offline (no servers): exit code 0
    /// when every assertion holds, 1 when one fails (its chain or nearest
    /// miss is printed).
    Test {
        /// The model file (TOML).
        model: PathBuf,
        /// The tests file (TOML): `[[Principal]]`, `[[Object]]`, `[[Assert]]`.
        tests: PathBuf,
        /// Also write the outcomes as JUnit XML here, for CI.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Print the chain of passing assertions too.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Check a model's invariants exhaustively, offline: the lockout rules,
    /// its permission model, no account forest reaching Role Management, no
    /// dead assignment, exclusive scopes written only through exclusive
    /// assignments, and the tests file's `[[Invariant]]`s, for every
    /// principal and every class of objects the scopes carve out. Exit code
    /// 0 when all hold, 1 when one fails (with a counterexample and its
    /// chain).
    Verify {
        /// The model file (TOML).
        model: PathBuf,
        /// A tests file: `PermissionModel`, `[[Object]]`s, `[[Invariant]]`s.
        #[arg(long)]
        tests: Option<PathBuf>,
        /// Also write the outcomes as JUnit XML here, for CI.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Print what each invariant covered when it holds too.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Write a running lab's RBAC configuration as a model file: only what
    /// differs from what setup installs, principals by name.
    Export {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        lab: PathBuf,
        /// Who reads it (a member of Organization Management or View-Only
        /// Organization Management); default the Administrator.
        #[arg(long = "as")]
        identity: Option<String>,
        /// Write the model here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Show what applying a model to a running lab would change: the objects
    /// (with the cmdlets that make each change) and who would gain or lose
    /// which cmdlets, each change authorised for the caller and the lockout
    /// rules checked. Exit code 0: no changes; 2: changes pending; 1: error
    /// (a change the caller may not make, a lockout, a bad model).
    Plan {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        lab: PathBuf,
        /// Who plans it (default the Administrator).
        #[arg(long = "as")]
        identity: Option<String>,
        /// The model file (TOML).
        model: PathBuf,
    },
    /// Apply a model to a running lab as one audited change: each change
    /// authorised as the cmdlet that makes it, for the caller; refused whole
    /// on any error. Shows the plan and asks first, unless --yes.
    Apply {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        lab: PathBuf,
        /// Who applies it (default the Administrator).
        #[arg(long = "as")]
        identity: Option<String>,
        /// Don't ask (as -Confirm:$false); required without a terminal.
        #[arg(long, short)]
        yes: bool,
        /// The model file (TOML).
        model: PathBuf,
    },
    /// Print the model file's JSON Schema (also in docs/model.schema.json).
    Schema,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// Prints `outcomes`, writes them as JUnit XML to `junit` (the suite named
/// for `suite`) if asked; the exit code: 1 when one failed.
fn reported(
    outcomes: &[assertions::Outcome],
    verbose: bool,
    junit: Option<&Path>,
    suite: &Path,
) -> anyhow::Result<u8> {
    print!("{}", report::text(outcomes, verbose));
    if let Some(path) = junit {
        let suite = suite.display().to_string();
        std::fs::write(path, report::junit(&suite, outcomes))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(u8::from(outcomes.iter().any(|o| !o.passed)))
}

/// Runs `command`; returns the exit code.
pub async fn run(command: ModelCommand) -> anyhow::Result<u8> {
    match command {
        ModelCommand::Test {
            model,
            tests,
            junit,
            verbose,
        } => {
            let parsed = Model::parse(&read(&model)?)
                .with_context(|| format!("model `{}`", model.display()))?;
            let file: TestsFile = toml::from_str(&read(&tests)?)
                .with_context(|| format!("tests `{}`", tests.display()))?;
            let outcomes = assertions::run(&parsed, &file)
                .with_context(|| format!("tests `{}`", tests.display()))?;
            reported(&outcomes, verbose, junit.as_deref(), &tests)
        }
        ModelCommand::Verify {
            model,
            tests,
            junit,
            verbose,
        } => {
            let parsed = Model::parse(&read(&model)?)
                .with_context(|| format!("model `{}`", model.display()))?;
            let file: TestsFile = match &tests {
                Some(path) => toml::from_str(&read(path)?)
                    .with_context(|| format!("tests `{}`", path.display()))?,
                None => TestsFile::default(),
            };
            let outcomes = verify::run(&parsed, &file)
                .with_context(|| format!("model `{}`", model.display()))?;
            reported(&outcomes, verbose, junit.as_deref(), &model)
        }
        ModelCommand::Export {
            lab,
            identity,
            output,
        } => {
            let lab = crate::lab::Lab::open(&lab)?;
            let identity = identity
                .unwrap_or_else(|| format!("{}\\Administrator", lab.file().resource.netbios()));
            let text = export_model(&mut lab.session(&identity).await?).await?;
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write `{}`", path.display()))?,
                None => print!("{text}"),
            }
            Ok(0)
        }
        ModelCommand::Plan {
            lab,
            identity,
            model,
        } => crate::model_plan::plan(&lab, identity, &model).await,
        ModelCommand::Apply {
            lab,
            identity,
            yes,
            model,
        } => crate::model_plan::apply(&lab, identity, &model, yes).await,
        ModelCommand::Schema => {
            print!("{}", format::schema());
            Ok(0)
        }
    }
}

/// The organization's RBAC configuration, read as the session's identity
/// (`ExportRbac`), as a model file: what differs from what setup installs.
pub async fn export_model(session: &mut crate::session::Session) -> anyhow::Result<String> {
    let response = session.export_rbac().await?;
    let document = resource_forest::rbac_document::RbacDocument::parse(&response.document)?;
    Ok(export::to_toml(&export::export(&document)?)?)
}
