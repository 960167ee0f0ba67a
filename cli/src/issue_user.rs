//! `crossforest pki issue-user`: a credential for a user of the lab's resource
//! forest (one created with `New-Mailbox` or `New-ADUser`), so that
//! `crossforest shell --as 'contoso\Ray'` signs in as that user.
//!
//! The credential is a client certificate from the resource forest's CA whose
//! single URI SAN is `forest://<forest>/sid/<the user's SID>`: the resource
//! forest takes a certificate of its own CA for the local principal that SID
//! names, as it does the Administrator's. The SID comes from the running
//! forest (`Get-User`, run as its Administrator), the directory's word on who
//! exists; a stopped lab is not guessed at.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use crossforest_shared::inspect::{summarize_pem, CertificateSummary};
use crossforest_shared::{ForestName, Sid};

use crate::lab::Lab;
use crate::parse::Value;
use crate::session::SessionError;
use crate::sign_in::{check_user_name, how_to_get_a_credential};

/// A user the resource forest's directory knows.
#[derive(Debug, Clone)]
pub struct DirectoryUser {
    /// Its name (`Get-User`'s `Name`), which names its credential file.
    pub name: String,
    /// Its SID.
    pub sid: Sid,
}

/// What `issue-user` wrote.
#[derive(Debug, Clone)]
pub struct IssuedUser {
    /// The user.
    pub user: DirectoryUser,
    /// `<forest>/credentials/<name>.pem` (owner-only).
    pub path: PathBuf,
    /// What the certificate says.
    pub summary: CertificateSummary,
}

/// Whether the resource forest could not be reached at all.
fn unreachable(error: &SessionError) -> bool {
    matches!(
        error,
        SessionError::Connect(_) | SessionError::LabNotRunning(..)
    ) || error.is_unavailable()
}

/// Looks `user` up in the running resource forest with `Get-User`, as its
/// Administrator.
pub async fn look_up(lab: &Lab, user: &str) -> anyhow::Result<DirectoryUser> {
    let resource = &lab.file().resource;
    let administrator = format!("{}\\Administrator", resource.netbios());
    let not_running = || {
        format!(
            "issue-user looks `{user}` up in the running resource forest {resource}: start the lab with `crossforest up --dir {}`",
            lab.dir().display()
        )
    };
    let mut session = match lab.session(&administrator).await {
        Ok(session) => session,
        Err(e) if e.downcast_ref::<SessionError>().is_some_and(unreachable) => {
            return Err(e).with_context(not_running)
        }
        Err(e) => return Err(e),
    };
    let found = match session
        .invoke("Get-User", vec![("Identity".into(), Value::Text(user.into()))])
        .await
    {
        Ok(found) => found,
        Err(e) if unreachable(&e) => return Err(e).with_context(not_running),
        Err(e) if e.status().is_some_and(|s| s.code() == tonic::Code::NotFound) => bail!(
            "{resource} has no user `{user}` (`Get-User {user}` found none); create it first, e.g. with `New-Mailbox -Name {user}` or `New-ADUser -Name {user}`"
        ),
        Err(e) => return Err(e).with_context(|| format!("`Get-User {user}` failed")),
    };
    let property = |name: &str| {
        found
            .records
            .first()
            .and_then(|r| r.properties.iter().find(|p| p.name == name))
            .map(|p| p.value.clone())
            .with_context(|| format!("`Get-User {user}` returned no {name}"))
    };
    Ok(DirectoryUser {
        name: property("Name")?,
        sid: property("SID")?
            .parse()
            .with_context(|| format!("`Get-User {user}` returned a malformed SID"))?,
    })
}

/// Issues a credential to `user` of `forest`, which must be the lab's
/// resource forest and must know the user; replaces an earlier credential of
/// that user.
pub async fn issue_user(lab: &Lab, forest: &ForestName, user: &str) -> anyhow::Result<IssuedUser> {
    check_user_name(user)?;
    if *forest != lab.file().resource {
        if lab.forests().any(|f| f == forest) {
            bail!(
                "{forest} is an account forest: its users sign in there with their password, not with a certificate of the resource forest; {}",
                how_to_get_a_credential(lab, forest, user)
            );
        }
        bail!(
            "`{forest}` is not a forest of the lab in `{}`",
            lab.dir().display()
        );
    }
    let found = look_up(lab, user).await?;
    check_user_name(&found.name)?;
    let path = lab.issue_local_credential(&found.name, found.sid)?;
    let summary = summarize_pem(
        &crossforest_shared::pki::read_text(&path)?,
        "user credential",
    )?;
    Ok(IssuedUser {
        user: found,
        path,
        summary,
    })
}
