//! Who `--as` names, and the lab credential that signs in as them.
//!
//! Windows account names are case-insensitive, and an account has two
//! spellings: `DOMAIN\user` (the domain by its NetBIOS or DNS name) and the
//! user principal name `user@forest`. Both, in any case, name the same
//! credential of the lab (`<forest>/credentials/<user>.pem`).
//!
//! How a user gets a credential depends on the kind of forest:
//! * the resource forest's own users (created with `New-Mailbox` or
//!   `New-ADUser`): `crossforest pki issue-user`, which looks the user's SID up
//!   in the running forest ([`crate::issue_user`]); they sign in with the
//!   certificate alone;
//! * an account forest's users: `crossforest account-forest user add`, which
//!   creates the user and writes its credential; they sign in at their account
//!   forest with their password (`<forest>/credentials/<user>.password` in a
//!   lab) and present its token.

use std::path::Path;

use anyhow::{bail, Context as _};
use crossforest_shared::ForestName;

use crate::lab::Lab;

/// A lab user `--as` named, spelled as the lab stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabIdentity {
    /// The user's forest.
    pub forest: ForestName,
    /// The user's name as its credential file spells it (`Ray` for `RAY`).
    pub user: String,
}

impl LabIdentity {
    /// `DOMAIN\user`, the form the shell's prompt and the audit log use.
    pub fn display(&self) -> String {
        format!("{}\\{}", self.forest.netbios(), self.user)
    }
}

/// Checks that `user` is a bare account name that can name a file of the lab.
pub fn check_user_name(user: &str) -> anyhow::Result<()> {
    if user.is_empty() || user.contains(['/', '\\', '@']) || user.starts_with('.') {
        bail!("`{user}` is not a user name (a name like `alice`, without a domain or a path)");
    }
    Ok(())
}

/// Splits `DOMAIN\user` or `user@forest` into (domain, user).
pub fn split_identity(identity: &str) -> anyhow::Result<(&str, &str)> {
    let split = match identity.split_once('\\') {
        Some(pair) => Some(pair),
        None => identity
            .rsplit_once('@')
            .map(|(user, domain)| (domain, user)),
    };
    match split {
        Some((domain, user)) if !domain.is_empty() && !user.is_empty() => Ok((domain, user)),
        _ => bail!(
            "`{identity}` is not an account: write `DOMAIN\\user` (e.g. `fabrikam\\alice`) or `user@forest` (e.g. `alice@fabrikam.com`)"
        ),
    }
}

/// The name of the credential file in `dir` whose stem is `user`, ignoring
/// case (an exact match first).
fn stored_name(dir: &Path, user: &str) -> Option<String> {
    if dir.join(format!("{user}.pem")).is_file() {
        return Some(user.to_owned());
    }
    let entries = std::fs::read_dir(dir).ok()?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
            let stem = path.file_stem()?.to_str()?.to_owned();
            (path.extension()? == "pem" && stem.eq_ignore_ascii_case(user)).then_some(stem)
        })
        .collect();
    names.sort();
    names.into_iter().next()
}

/// How a user of `forest` gets a lab credential.
pub fn how_to_get_a_credential(lab: &Lab, forest: &ForestName, user: &str) -> String {
    let dir = lab.dir().display();
    if *forest == lab.file().resource {
        format!(
            "a user of the resource forest {forest} gets one with `crossforest pki issue-user --lab {dir} --forest {forest} --user {user}`"
        )
    } else {
        format!(
            "a user of the account forest {forest} gets one when it is created: `crossforest account-forest user add --config {dir}/{forest}/node.toml {user} --password-file {dir}/{forest}/credentials/{user}.password` (the password file is where the lab's shell reads it)"
        )
    }
}

impl Lab {
    /// The lab user `identity` (`DOMAIN\user` or `user@forest`, any case)
    /// names, or an error saying how to get its credential.
    pub fn identity(&self, identity: &str) -> anyhow::Result<LabIdentity> {
        let (domain, user) = split_identity(identity)?;
        check_user_name(user)?;
        let forest = self.forest(domain)?;
        let credentials = self.node_dir(&forest).join("credentials");
        let user = stored_name(&credentials, user).with_context(|| {
            format!(
                "the lab holds no credential for `{identity}`: {}",
                how_to_get_a_credential(self, &forest, user)
            )
        })?;
        Ok(LabIdentity { forest, user })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_split_into_domain_and_user() {
        assert_eq!(
            split_identity("FABRIKAM\\Bob").unwrap(),
            ("FABRIKAM", "Bob")
        );
        assert_eq!(
            split_identity("bob@fabrikam.com").unwrap(),
            ("fabrikam.com", "bob")
        );
        for bad in ["bob", "\\bob", "fabrikam\\", "@fabrikam.com", "bob@"] {
            let error = split_identity(bad).unwrap_err().to_string();
            assert!(
                error.contains(bad) && error.contains("user@forest"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_user_name_is_not_a_path() {
        check_user_name("Ray").unwrap();
        for bad in ["", "../Ray", ".hidden", "a/b", "a@b"] {
            assert!(check_user_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_credential_file_is_found_in_any_case() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Ray.pem"), "").unwrap();
        std::fs::write(dir.path().join("Ray.password"), "").unwrap();
        assert_eq!(stored_name(dir.path(), "RAY").as_deref(), Some("Ray"));
        assert_eq!(stored_name(dir.path(), "ray").as_deref(), Some("Ray"));
        assert_eq!(stored_name(dir.path(), "Rae"), None);
    }
}
