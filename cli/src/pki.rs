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

/// How `pki list` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// `Name : value` lines, one block per certificate.
    Text,
    /// One JSON array of objects.
    Json,
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
        /// `text`: one list per certificate, within 100 columns; `json`: an
        /// array of objects with the same properties.
        #[arg(long, value_enum, default_value = "text")]
        output: ListFormat,
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

impl ListedCertificate {
    /// Its properties in order: name, and values (several for the SANs).
    fn properties(&self) -> [(&'static str, Vec<String>); 8] {
        let s = &self.summary;
        [
            ("File", vec![self.file.display().to_string()]),
            ("Subject", vec![s.subject.clone()]),
            ("Issuer", vec![s.issuer.clone()]),
            ("SerialNumber", vec![s.serial.clone()]),
            ("NotBefore", vec![s.not_before.clone()]),
            ("NotAfter", vec![s.not_after.clone()]),
            ("IsCA", vec![s.is_ca.to_string()]),
            ("SANs", s.sans.clone()),
        ]
    }

    /// The certificate as a JSON object (`SANs` an array, `IsCA` a boolean).
    pub fn to_json(&self) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        for (name, values) in self.properties() {
            let value = match name {
                "SANs" => serde_json::Value::from(values),
                "IsCA" => serde_json::Value::from(self.summary.is_ca),
                _ => serde_json::Value::from(values.concat()),
            };
            object.insert(name.to_owned(), value);
        }
        serde_json::Value::Object(object)
    }
}

/// The width `pki list` keeps to.
pub const LIST_WIDTH: usize = 100;

/// `Name : value` lines for each certificate, a blank line between them, as
/// `Format-List` shows objects; each SAN on a line of its own, and a value
/// too long for [`LIST_WIDTH`] continued on the next lines.
pub fn render_list(rows: &[ListedCertificate]) -> String {
    const NAME: usize = "SerialNumber".len();
    let mut out = String::new();
    for row in rows {
        out.push('\n');
        for (name, values) in row.properties() {
            let values = if values.is_empty() {
                vec![String::new()]
            } else {
                values
            };
            for (i, value) in values.iter().enumerate() {
                let label = if i == 0 { name } else { "" };
                let prefix = format!("{label:NAME$} {} ", if i == 0 { ':' } else { ' ' });
                let chars: Vec<char> = value.chars().collect();
                let room = LIST_WIDTH - prefix.len();
                let mut chunks = chars.chunks(room);
                let first: String = chunks.next().unwrap_or_default().iter().collect();
                out.push_str(format!("{prefix}{first}").trim_end());
                out.push('\n');
                for chunk in chunks {
                    out.push_str(&" ".repeat(prefix.len()));
                    out.extend(chunk);
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// `crossforest pki <args> --lab <lab>`: a hint the user can run as printed.
pub fn command(lab: &Lab, args: &str) -> String {
    format!(
        "crossforest pki {args} --lab {}",
        quoted(&lab.dir().display().to_string())
    )
}

/// `text` as one shell word: as it is when it holds only characters no
/// shell treats specially, else in single quotes.
pub fn quoted(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@,+=".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
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
        PkiCommand::List { lab, output } => {
            let lab = Lab::open(&lab)?;
            let rows = list(&lab)?;
            match output {
                ListFormat::Text => print!("{}", render_list(&rows)),
                ListFormat::Json => {
                    let json: Vec<_> = rows.iter().map(ListedCertificate::to_json).collect();
                    println!("{}", serde_json::to_string_pretty(&json)?);
                }
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
                    crate::ca_rotation::print(&lab, &forest, true, &r);
                }
                RotateWhat::Ca => {
                    let r = crate::ca_rotation::begin(&lab, &forest)?;
                    crate::ca_rotation::print(&lab, &forest, false, &r);
                }
            }
        }
    }
    Ok(())
}
