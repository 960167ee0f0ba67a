//! `crossforest pki rotate --what ca`: replacing a forest's CA with an overlap
//! window (issue 7).
//!
//! * **Begin** (`--what ca --forest <f>`): a new CA key and certificate; every
//!   trust bundle of `<f>` (its own `pki/ca.pem`, and the resource forest's
//!   `trusts/<f>/ca.pem`) becomes *new + old*; the forest's server certificate,
//!   token-signing certificate and the linked credentials it issued are issued
//!   anew by the new CA. Certificates and tokens of the old CA keep working.
//! * **Finish** (`--finish`): the trust bundles hold the new CA only; what the
//!   old CA issued is refused from then on.
//!
//! Every file is written into the lab's staging directory first and renamed
//! over its target only when all were written, in an order in which each
//! intermediate state is consistent (bundles first, then the key, then what
//! the new CA issued): a node's CA is the certificate of the bundle its key
//! belongs to. Nodes pick the files up by their reload (SIGHUP, or the file
//! poll).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use crossforest_shared::identity::ForestUri;
use crossforest_shared::inspect::{summarize, summarize_pem, CertificateSummary};
use crossforest_shared::pki::{
    certificates_der, read_text, write_private, write_public, CertificateAuthority,
    IssuedCertificate,
};
use crossforest_shared::ForestName;

use crate::lab::Lab;

/// What a rotation step changed.
#[derive(Debug, Clone)]
pub struct CaRotation {
    /// The CA that issues from now on.
    pub issuing: CertificateSummary,
    /// The CAs in the forest's trust bundles now (the issuing one first).
    pub trusted: Vec<CertificateSummary>,
    /// Files written, relative to the lab.
    pub written: Vec<PathBuf>,
    /// Credentials in the lab issued by a CA no longer trusted (after
    /// `--finish`): they are refused from now on.
    pub retired_credentials: Vec<PathBuf>,
}

/// Files written into a staging directory of the lab first, then renamed over
/// their targets together.
struct Staging {
    dir: PathBuf,
    /// (staged file, target), in the order they are renamed.
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staging {
    fn new(lab: &Lab) -> anyhow::Result<Self> {
        let dir = lab.dir().join(".ca-rotation.tmp");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot clear `{}`", dir.display()))?;
        }
        Ok(Self {
            dir,
            files: Vec::new(),
        })
    }

    /// Stages `text` for `target` (owner-only when `private`).
    fn add(&mut self, target: &Path, text: &str, private: bool) -> anyhow::Result<()> {
        let staged = self.dir.join(self.files.len().to_string());
        if private {
            write_private(&staged, text)?;
        } else {
            write_public(&staged, text)?;
        }
        self.files.push((staged, target.to_owned()));
        Ok(())
    }

    /// Stages a CA's key for `target` without the key leaving the CA.
    fn add_ca_key(&mut self, ca: &CertificateAuthority, target: &Path) -> anyhow::Result<()> {
        let dir = self.dir.join(format!("{}.ca", self.files.len()));
        ca.store(&dir)?;
        self.files.push((dir.join("ca.key"), target.to_owned()));
        Ok(())
    }

    /// Renames every staged file over its target, in the order added; on
    /// failure before the first rename, nothing is changed.
    fn commit(self, lab: &Path) -> anyhow::Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for (staged, target) in &self.files {
            std::fs::rename(staged, target)
                .with_context(|| format!("cannot replace `{}`", target.display()))?;
            written.push(target.strip_prefix(lab).unwrap_or(target).to_owned());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(written)
    }

    /// Stages with `stage`, then commits; if staging fails, removes what was
    /// staged and changes nothing.
    fn run(
        mut self,
        lab: &Path,
        stage: impl FnOnce(&mut Self) -> anyhow::Result<()>,
    ) -> anyhow::Result<Vec<PathBuf>> {
        if let Err(e) = stage(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
            return Err(e.context("nothing was changed"));
        }
        self.commit(lab)
    }
}

/// Where `forest`'s trust bundles are: its own `pki/ca.pem`, and the
/// resource forest's copy when it trusts `forest`.
fn bundle_paths(lab: &Lab, forest: &ForestName) -> Vec<PathBuf> {
    let mut paths = vec![lab.node_dir(forest).join("pki").join("ca.pem")];
    if lab.file().accounts.contains(forest) {
        paths.push(lab.trust_ca_path(forest));
    }
    paths
}

/// The linked credentials `forest` issued to the resource forest, kept in
/// its `trusts/<forest>/` directory.
fn linked_credentials(lab: &Lab, forest: &ForestName) -> Vec<PathBuf> {
    let trust_ca = lab.trust_ca_path(forest);
    let Some(Ok(entries)) = trust_ca.parent().map(std::fs::read_dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pem") && *p != trust_ca)
        .collect();
    out.sort();
    out
}

fn load_ca(lab: &Lab, forest: &ForestName) -> anyhow::Result<CertificateAuthority> {
    if !lab.forests().any(|f| f == forest) {
        bail!(
            "`{forest}` is not a forest of the lab in `{}`",
            lab.dir().display()
        );
    }
    CertificateAuthority::load(forest, &lab.node_dir(forest).join("pki"))
        .with_context(|| format!("cannot load the CA of {forest}"))
}

fn summaries(pem: &str, what: &str) -> anyhow::Result<Vec<CertificateSummary>> {
    certificates_der(pem, what)?
        .iter()
        .map(|der| Ok(summarize(der)?))
        .collect()
}

/// A new credential from `ca` for the principal of the credential file
/// `path`, with the same name.
fn reissue(ca: &CertificateAuthority, path: &Path) -> anyhow::Result<IssuedCertificate> {
    let held = IssuedCertificate::read_combined(path)?;
    let der = held.certificate_der()?;
    let ForestUri::Principal(principal) = ForestUri::of_certificate(&der)? else {
        bail!("`{}` is not a principal's credential", path.display());
    };
    if principal.forest != *ca.forest() {
        bail!(
            "`{}` is a credential of {}, not of {}",
            path.display(),
            principal.forest,
            ca.forest()
        );
    }
    let name = summarize(&der)?.subject;
    let name = name.strip_prefix("CN=").unwrap_or(&name).to_owned();
    Ok(ca.issue_principal(&principal, &name)?)
}

/// Issues `user`'s lab credential (`<forest>/credentials/<user>.pem`) anew
/// from the forest's issuing CA, for the same principal: how a user moves to
/// the new CA before a rotation is finished. Returns what the new
/// certificate says.
pub fn reissue_credential(
    lab: &Lab,
    forest: &ForestName,
    user: &str,
) -> anyhow::Result<(PathBuf, CertificateSummary)> {
    crate::sign_in::check_user_name(user)?;
    let ca = load_ca(lab, forest)?;
    let path = lab
        .node_dir(forest)
        .join("credentials")
        .join(format!("{user}.pem"));
    if !path.exists() {
        bail!(
            "the lab holds no credential for `{}\\{user}` (`{}`)",
            forest.netbios(),
            path.display()
        );
    }
    let issued = reissue(&ca, &path)?;
    issued.write_combined(&path)?;
    let summary = summarize(&issued.certificate_der()?)?;
    Ok((path, summary))
}

/// Begins the rotation of `forest`'s CA (see the module documentation).
pub fn begin(lab: &Lab, forest: &ForestName) -> anyhow::Result<CaRotation> {
    let old = load_ca(lab, forest)?;
    let in_bundle = certificates_der(old.trust_bundle_pem(), "trust bundle")?.len();
    if in_bundle > 1 {
        bail!(
            "a rotation of the CA of {forest} is already in progress (its trust bundle holds {in_bundle} CA certificates); end it first with `{}`",
            crate::pki::command(lab, &format!("rotate --what ca --forest {forest} --finish"))
        );
    }
    let new = old.successor()?;
    let bundle = format!("{}{}", new.certificate_pem(), old.certificate_pem());
    let new = new.with_trust_bundle(&bundle)?;
    let pki = lab.node_dir(forest).join("pki");

    // Re-issue what the node itself holds, keeping the server's extra names.
    let server = IssuedCertificate::read_combined(&pki.join("server.pem"))?;
    let standard = [format!("DNS:{forest}"), "DNS:localhost".to_owned()];
    let extra: Vec<String> = summarize_pem(&server.certificate_pem, "server certificate")?
        .sans
        .iter()
        .filter(|s| !standard.contains(s))
        .filter_map(|s| s.strip_prefix("DNS:").map(str::to_owned))
        .collect();
    let mut reissued = vec![(pki.join("server.pem"), new.issue_server(&extra)?)];
    let token_signing = pki.join("token-signing.pem");
    if token_signing.exists() {
        reissued.push((token_signing, new.issue_token_signing()?));
    }
    for path in linked_credentials(lab, forest) {
        let issued = reissue(&new, &path)?;
        reissued.push((path, issued));
    }

    let written = Staging::new(lab)?.run(lab.dir(), |staging| {
        for path in bundle_paths(lab, forest) {
            staging.add(&path, new.trust_bundle_pem(), false)?;
        }
        staging.add_ca_key(&new, &pki.join("ca.key"))?;
        for (path, issued) in &reissued {
            staging.add(path, &issued.to_combined_pem(), true)?;
        }
        Ok(())
    })?;
    Ok(CaRotation {
        issuing: summarize(new.certificate_der())?,
        trusted: summaries(new.trust_bundle_pem(), "trust bundle")?,
        written,
        retired_credentials: Vec::new(),
    })
}

/// Ends the rotation of `forest`'s CA: its trust bundles hold the issuing CA
/// only. Refused when no rotation is in progress, or when the forest's server
/// or token-signing certificate is not yet issued by the new CA.
pub fn finish(lab: &Lab, forest: &ForestName) -> anyhow::Result<CaRotation> {
    let ca = load_ca(lab, forest)?;
    let in_bundle = certificates_der(ca.trust_bundle_pem(), "trust bundle")?.len();
    if in_bundle < 2 {
        bail!(
            "no rotation of the CA of {forest} is in progress (its trust bundle holds one CA certificate); begin one with `{}`",
            crate::pki::command(lab, &format!("rotate --what ca --forest {forest}"))
        );
    }
    let issuing = summarize(ca.certificate_der())?;
    let pki = lab.node_dir(forest).join("pki");
    let mut held = vec![pki.join("server.pem"), pki.join("token-signing.pem")];
    held.extend(linked_credentials(lab, forest));
    for path in held.iter().filter(|p| p.exists()) {
        let s = summarize_pem(&read_text(path)?, &path.display().to_string())?;
        if s.issuer != issuing.subject {
            bail!(
                "`{}` was issued by `{}`, not by the new CA `{}`: finishing now would leave it untrusted; issue it anew from the new CA first (`{}` for a server certificate)",
                path.display(),
                s.issuer,
                issuing.subject,
                crate::pki::command(lab, &format!("rotate --what server --forest {forest}"))
            );
        }
    }
    let written = Staging::new(lab)?.run(lab.dir(), |staging| {
        for path in bundle_paths(lab, forest) {
            staging.add(&path, ca.certificate_pem(), false)?;
        }
        Ok(())
    })?;
    let mut retired_credentials = Vec::new();
    let credentials = lab.node_dir(forest).join("credentials");
    if let Ok(entries) = std::fs::read_dir(&credentials) {
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "pem"))
        {
            let s = summarize_pem(&read_text(path)?, &path.display().to_string())?;
            if s.issuer != issuing.subject {
                retired_credentials.push(path.strip_prefix(lab.dir()).unwrap_or(path).to_owned());
            }
        }
    }
    Ok(CaRotation {
        trusted: vec![issuing.clone()],
        issuing,
        written,
        retired_credentials,
    })
}

/// Prints what a rotation step did, and the next steps as commands to run.
pub fn print(lab: &Lab, forest: &ForestName, finished: bool, r: &CaRotation) {
    if finished {
        println!("finished the rotation of the CA of {forest}: the old CA is no longer trusted");
    } else {
        println!("began the rotation of the CA of {forest}: old and new CA are both trusted");
    }
    for ca in &r.trusted {
        println!(
            "  trusted CA {} serial {} valid {} to {}",
            ca.subject, ca.serial, ca.not_before, ca.not_after
        );
    }
    println!("  issuing CA {}", r.issuing.subject);
    for file in &r.written {
        println!("  wrote {}", file.display());
    }
    for file in &r.retired_credentials {
        println!(
            "  refused from now on (issued by the old CA): {}; a new one: {}",
            file.display(),
            reissue_command(lab, forest, file)
        );
    }
    if finished {
        println!("a running node uses the new trust bundle within its reload interval, or at once on SIGHUP");
        return;
    }
    println!("a running node uses the new CA within its reload interval, or at once on SIGHUP");
    println!("next, give users credentials from the new CA:");
    for file in user_credentials(lab, forest) {
        println!("  {}", reissue_command(lab, forest, &file));
    }
    println!(
        "then end the overlap: {}",
        crate::pki::command(lab, &format!("rotate --what ca --forest {forest} --finish"))
    );
}

/// The users' credential files of `forest` in the lab, relative to it.
fn user_credentials(lab: &Lab, forest: &ForestName) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(lab.node_dir(forest).join("credentials")) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pem"))
        .map(|p| p.strip_prefix(lab.dir()).map(Path::to_owned).unwrap_or(p))
        .collect();
    paths.sort();
    paths
}

/// `crossforest pki reissue …` for the credential `file`
/// (`<forest>/credentials/<user>.pem`).
fn reissue_command(lab: &Lab, forest: &ForestName, file: &Path) -> String {
    let user = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    crate::pki::command(
        lab,
        &format!(
            "reissue --forest {forest} --user {}",
            crate::pki::quoted(&user)
        ),
    )
}
