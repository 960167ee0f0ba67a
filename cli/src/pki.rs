//! `crossforest pki`: list a lab's certificates, issue or rotate server
//! certificates, issue credentials to the resource forest's users
//! ([`crate::issue_user`]), and rotate a forest's CA with an overlap window
//! ([`crate::ca_rotation`]). A running node notices a replaced file (within its
//! `operations.reload_interval_secs`, or at once on SIGHUP) and serves new
//! connections with it; established sessions keep theirs. Keys are never printed.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use crossforest_shared::inspect::{summarize, summarize_pem, CertificateSummary};
use crossforest_shared::pki::{certificates_der, read_text, CertificateAuthority};
use crossforest_shared::ForestName;

use crate::lab::Lab;

/// What `pki rotate` replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RotateWhat {
    /// The node's server certificate, issued anew by the forest's CA.
    Server,
    /// The resource forest's copy of a trusted forest's CA certificate (its
    /// trust bundle), refreshed from that forest.
    TrustBundle,
    /// The forest's CA, in two steps: without `--finish`, a new CA whose
    /// certificate joins the old one in every trust bundle of the forest, and
    /// new server, token-signing and linked-credential certificates from it;
    /// with `--finish`, the old CA leaves the bundles and what it issued is
    /// refused.
    Ca,
}

/// `crossforest pki …`.
#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Every certificate of a lab: file, subject, SANs, serial, validity. A
    /// trust bundle lists each of its CAs (two during a CA rotation).
    List {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        lab: PathBuf,
    },
    /// Issue a new server certificate for a forest's node from its CA.
    IssueServer {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        lab: PathBuf,
        /// The forest, e.g. contoso.com.
        #[arg(long)]
        forest: ForestName,
        /// Extra DNS names for the certificate (the forest name, `localhost`
        /// and 127.0.0.1 are always included).
        #[arg(long = "dns-name")]
        dns_names: Vec<String>,
    },
    /// Issue a credential to an existing user of the resource forest (one
    /// created with `New-Mailbox` or `New-ADUser`), so that `crossforest shell
    /// --as 'contoso\Ray'` signs in as that user. The user's SID is looked up
    /// with `Get-User` in the running resource forest (start the lab first);
    /// the certificate, from the forest's CA, names that SID. Written to
    /// `<forest>/credentials/<user>.pem`, owner-only; issuing again replaces
    /// it. Account forests' users (fabrikam.com) don't use this: they get
    /// their credential when created (`crossforest account-forest user add
    /// --config <lab>/<forest>/node.toml <user> --password-file
    /// <lab>/<forest>/credentials/<user>.password`) and sign in at their forest
    /// with their password.
    IssueUser {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        lab: PathBuf,
        /// The resource forest, e.g. contoso.com.
        #[arg(long)]
        forest: ForestName,
        /// The user: its name, alias or user principal name, e.g. Ray (any
        /// case; the credential file takes the name `Get-User` shows).
        #[arg(long)]
        user: String,
    },
    /// Issue a user's credential anew from the forest's current CA, for the
    /// same account: during a CA rotation, how a user moves to the new CA
    /// before the rotation is finished.
    Reissue {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        lab: PathBuf,
        /// The user's forest, e.g. fabrikam.com.
        #[arg(long)]
        forest: ForestName,
        /// The user, e.g. alice (`<forest>/credentials/<user>.pem`).
        #[arg(long)]
        user: String,
    },
    /// Rotate a forest's server certificate (`--what server`), refresh the
    /// resource forest's trust bundle for an account forest (`--what
    /// trust-bundle --forest <account forest>`), or rotate a forest's CA:
    /// `--what ca --forest <forest>` begins the overlap window (old and new CA
    /// both trusted), `--what ca --forest <forest> --finish` ends it.
    Rotate {
        /// The lab directory.
        #[arg(long, default_value = "crossforest-lab")]
        lab: PathBuf,
        /// The forest.
        #[arg(long)]
        forest: ForestName,
        /// What to rotate.
        #[arg(long, value_enum, default_value = "server")]
        what: RotateWhat,
        /// With `--what ca`: end the overlap window; the old CA is no longer
        /// trusted.
        #[arg(long)]
        finish: bool,
    },
}

/// One certificate file of a lab.
#[derive(Debug, Clone)]
pub struct ListedCertificate {
    /// The file, relative to the lab.
    pub file: PathBuf,
    /// What it says.
    pub summary: CertificateSummary,
}

/// Every certificate (`*.pem`) under each forest's `pki/`, `trusts/` and
/// `credentials/` directories; a file holding several (a trust bundle) gives
/// one row each.
pub fn list(lab: &Lab) -> anyhow::Result<Vec<ListedCertificate>> {
    let mut out = Vec::new();
    for forest in lab.forests() {
        let node = lab.node_dir(forest);
        for sub in ["pki", "trusts", "credentials"] {
            collect(lab.dir(), &node.join(sub), &mut out)?;
        }
    }
    Ok(out)
}

fn collect(lab: &Path, dir: &Path, out: &mut Vec<ListedCertificate>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect(lab, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "pem") {
            let what = path.display().to_string();
            for der in certificates_der(&read_text(&path)?, &what)? {
                out.push(ListedCertificate {
                    file: path.strip_prefix(lab).unwrap_or(&path).to_owned(),
                    summary: summarize(&der)?,
                });
            }
        }
    }
    Ok(())
}

/// Issues a new server certificate for `forest` from its CA and writes it over
/// `<forest>/pki/server.pem` (atomically); returns what it says.
pub fn issue_server(
    lab: &Lab,
    forest: &ForestName,
    dns_names: &[String],
) -> anyhow::Result<CertificateSummary> {
    if !lab.forests().any(|f| f == forest) {
        anyhow::bail!(
            "`{forest}` is not a forest of the lab in `{}`",
            lab.dir().display()
        );
    }
    let pki = lab.node_dir(forest).join("pki");
    let ca = CertificateAuthority::load(forest, &pki)
        .with_context(|| format!("cannot load the CA of {forest}"))?;
    let issued = ca.issue_server(dns_names)?;
    issued.write_combined(&pki.join("server.pem"))?;
    Ok(summarize_pem(
        &issued.certificate_pem,
        "server certificate",
    )?)
}

/// Copies the current CA certificate of the account forest `forest` into the
/// resource forest's trust directory, where its `[[trust]]` points.
pub fn refresh_trust_bundle(lab: &Lab, forest: &ForestName) -> anyhow::Result<CertificateSummary> {
    if !lab.file().accounts.contains(forest) {
        anyhow::bail!("`{forest}` is not an account forest the lab's resource forest trusts");
    }
    let ca = read_text(&lab.node_dir(forest).join("pki").join("ca.pem"))?;
    let target = lab.trust_ca_path(forest);
    crossforest_shared::pki::write_public(&target, &ca)?;
    Ok(summarize_pem(&ca, "CA certificate")?)
}

fn print_issued(what: &str, file: &Path, s: &CertificateSummary) {
    println!(
        "{what} {}: {} serial {} valid until {}",
        file.display(),
        s.subject,
        s.serial,
        s.not_after
    );
    println!("a running node uses it for new connections within its reload interval, or at once on SIGHUP");
}

/// Runs one `pki` subcommand.
pub async fn run(command: PkiCommand) -> anyhow::Result<()> {
    match command {
        PkiCommand::List { lab } => {
            let lab = Lab::open(&lab)?;
            let rows = list(&lab)?;
            let file_width = rows
                .iter()
                .map(|r| r.file.display().to_string().len())
                .max()
                .unwrap_or(4);
            let subject_width = rows
                .iter()
                .map(|r| r.summary.subject.len())
                .max()
                .unwrap_or(7);
            println!(
                "{:file_width$}  {:subject_width$}  {:32}  {:20}  {:20}  SANs",
                "File", "Subject", "Serial", "NotBefore", "NotAfter"
            );
            for r in rows {
                let s = &r.summary;
                println!(
                    "{:file_width$}  {:subject_width$}  {:32}  {:20}  {:20}  {}",
                    r.file.display().to_string(),
                    s.subject,
                    s.serial,
                    s.not_before,
                    s.not_after,
                    s.sans.join(", ")
                );
            }
        }
        PkiCommand::IssueServer {
            lab,
            forest,
            dns_names,
        } => {
            let lab = Lab::open(&lab)?;
            let s = issue_server(&lab, &forest, &dns_names)?;
            print_issued("issued", &lab.node_dir(&forest).join("pki/server.pem"), &s);
        }
        PkiCommand::IssueUser { lab, forest, user } => {
            let lab = Lab::open(&lab)?;
            let issued = crate::issue_user::issue_user(&lab, &forest, &user).await?;
            let s = &issued.summary;
            println!(
                "issued {} to {}\\{} ({}): {} serial {} valid until {}",
                issued.path.display(),
                forest.netbios(),
                issued.user.name,
                issued.user.sid,
                s.subject,
                s.serial,
                s.not_after
            );
            println!(
                "sign in with: crossforest shell --lab {} --as '{}\\{}'",
                lab.dir().display(),
                forest.netbios(),
                issued.user.name
            );
        }
        PkiCommand::Reissue { lab, forest, user } => {
            let lab = Lab::open(&lab)?;
            let (path, s) = crate::ca_rotation::reissue_credential(&lab, &forest, &user)?;
            println!(
                "reissued {}: {} issued by {} serial {} valid until {}",
                path.display(),
                s.subject,
                s.issuer,
                s.serial,
                s.not_after
            );
        }
        PkiCommand::Rotate {
            lab,
            forest,
            what,
            finish,
        } => {
            let lab = Lab::open(&lab)?;
            if finish && what != RotateWhat::Ca {
                anyhow::bail!("--finish ends a CA rotation: use it with `--what ca`");
            }
            match what {
                RotateWhat::Server => {
                    let s = issue_server(&lab, &forest, &[])?;
                    print_issued("rotated", &lab.node_dir(&forest).join("pki/server.pem"), &s);
                }
                RotateWhat::TrustBundle => {
                    let s = refresh_trust_bundle(&lab, &forest)?;
                    print_issued("refreshed trust bundle", &lab.trust_ca_path(&forest), &s);
                }
                RotateWhat::Ca if finish => {
                    let r = crate::ca_rotation::finish(&lab, &forest)?;
                    crate::ca_rotation::print(&forest, true, &r);
                }
                RotateWhat::Ca => {
                    let r = crate::ca_rotation::begin(&lab, &forest)?;
                    crate::ca_rotation::print(&forest, false, &r);
                }
            }
        }
    }
    Ok(())
}
