//! A model file read against a running organization (`crossforest model
//! plan|apply`): its names resolved to the organization's own SIDs, so that
//! the model's configuration is the one the organization would hold.
//!
//! A name the model uses gets the SID the organization knows it by: its
//! users and groups, its role groups, the foreign groups its linked role
//! groups map. A new role group gets a SID the organization allocates. A
//! user or group the organization doesn't know is an error (create it
//! first); so is a `[Sids]` entry that contradicts the organization.

use std::collections::BTreeMap;

use crossforest_shared::Sid;

use super::format::ModelFile;
use super::{convert, ModelError};
use crate::org::Organization;
use crate::rbac::model::RoleGroupKind;
use crate::rbac::RbacConfig;
use crate::request::principal::principal_name;

fn invalid(message: String) -> ModelError {
    ModelError::Invalid(message)
}

/// Every name `org` knows a principal by, lower case → SID: its users and
/// groups (`contoso\dana`), its role groups, the foreign groups its linked
/// role groups map (`fabrikam\exchange admins`).
fn known_names(org: &Organization) -> BTreeMap<String, Sid> {
    let locals = org
        .local_accounts
        .keys()
        .copied()
        .chain(org.recipients.values().map(|r| r.sid));
    let mut out: BTreeMap<String, Sid> = locals
        .map(|sid| (principal_name(org, &sid).to_ascii_lowercase(), sid))
        .collect();
    for group in org.rbac.role_groups.values() {
        out.insert(group.name.to_ascii_lowercase(), group.sid);
        if let RoleGroupKind::Linked(l) = &group.kind {
            out.insert(l.name.to_ascii_lowercase(), l.sid);
        }
    }
    out
}

/// The SID `[Sids]` gives `name` (names compare without case).
fn given(sids: &BTreeMap<String, String>, name: &str) -> Option<String> {
    sids.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// The RBAC configuration `file` describes, its names resolved against
/// `org`, and `org` with the SIDs new role groups took allocated.
pub fn target(
    file: &ModelFile,
    org: &Organization,
) -> Result<(Organization, RbacConfig), ModelError> {
    let header = &file.model;
    if !org.forest.answers_to(&header.organization) {
        return Err(invalid(format!(
            "[Model] Organization is `{}`; this organization is `{}`",
            header.organization, org.forest
        )));
    }
    if let Some(text) = &header.domain_sid {
        if *text != org.domain_sid.to_string() {
            return Err(invalid(format!(
                "[Model] DomainSid is {text}; {}'s is {} (a model exported from another organization)",
                org.forest, org.domain_sid
            )));
        }
    }
    if header.active_directory_split_permissions != org.active_directory_split_permissions {
        return Err(invalid(format!(
            "[Model] ActiveDirectorySplitPermissions is {}; {}'s is {}: setup /PrepareAD /ActiveDirectorySplitPermissions switches it, a model doesn't",
            header.active_directory_split_permissions,
            org.forest,
            org.active_directory_split_permissions
        )));
    }
    let known = known_names(org);
    let mut file = file.clone();
    file.model.domain_sid = Some(org.domain_sid.to_string());
    for (name, sid) in &file.sids {
        if let Some(has) = known.get(&name.to_ascii_lowercase()) {
            if has.to_string() != *sid {
                return Err(invalid(format!(
                    "[Sids] gives `{name}` SID {sid}; {} knows `{name}` as {has}",
                    org.forest
                )));
            }
        }
    }
    let mut next = org.clone();
    for (name, sid) in &known {
        file.sids
            .entry(name.clone())
            .or_insert_with(|| sid.to_string());
    }
    for group in &file.role_groups {
        let key = group.name.to_ascii_lowercase();
        if given(&file.sids, &group.name).is_none() {
            let sid = next
                .allocate_sid()
                .map_err(|e| invalid(format!("[[RoleGroup]] `{}`: {e}", group.name)))?;
            file.sids.insert(key, sid.to_string());
        }
    }
    let model = convert::to_model(&file)?;
    for (sid, name) in &model.org.local_accounts {
        let exists =
            org.local_accounts.contains_key(sid) || org.recipients.by_sid(sid).next().is_some();
        if !exists {
            return Err(invalid(format!(
                "`{}\\{name}` is not a user or group of {}; create it first (New-Mailbox, New-ADUser, New-ADGroup)",
                org.forest.netbios(),
                org.forest
            )));
        }
    }
    for (sid, foreign) in &model.foreign {
        if given(&file.sids, &foreign.name) != Some(sid.to_string()) {
            return Err(invalid(format!(
                "`{}` is a group {} doesn't know yet: link it with New-RoleGroup -LinkedForeignGroup first, or give its SID in [Sids]",
                foreign.name, org.forest
            )));
        }
    }
    let rbac = (*model.org.rbac).clone();
    Ok((next, rbac))
}
