//! An organization's RBAC configuration (an RBAC document, from a running
//! node or its store) → a model file that lists only what differs from the
//! base, names principals by `DOMAIN\name` and keeps every SID in `[Sids]`,
//! so that converting the file back gives the same configuration.

use std::collections::BTreeMap;

use crossforest_shared::{DomainSid, Sid};

use super::convert::{base, forest_of};
use super::format::{
    AssignmentSpec, Header, ModelFile, PolicySpec, RoleGroupSpec, RoleSpec, ScopeSpec,
    BASE_EXCHANGE_2013,
};
use super::ModelError;
use crate::rbac::config::{builtin_assignment_name, RbacConfig};
use crate::rbac::model::{
    Assignee, ConfigWriteScope, Delegation, ManagementRole, RecipientWriteScope, RoleAssignment,
    RoleGroup, RoleGroupKind,
};
use crate::rbac::scope::{ManagementScope, ScopeRule};
use crate::rbac_document::RbacDocument;

/// Names SIDs for the file and records them in `[Sids]`.
struct Namer<'d> {
    rbac: &'d RbacConfig,
    names: &'d BTreeMap<Sid, String>,
    sids: BTreeMap<String, String>,
}

impl Namer<'_> {
    /// A role group by its name, anyone else by `DOMAIN\name` (recorded).
    fn name(&mut self, sid: &Sid) -> String {
        if let Some(g) = self.rbac.role_group_by_sid(sid) {
            return g.name.clone();
        }
        match self.names.get(sid) {
            Some(name) if name.contains('\\') => {
                self.sids.insert(name.clone(), sid.to_string());
                name.clone()
            }
            _ => sid.to_string(),
        }
    }
}

/// The model file of `document`.
pub fn export(document: &RbacDocument) -> Result<ModelFile, ModelError> {
    let domain: DomainSid = document.domain_sid.ok_or_else(|| {
        ModelError::Invalid(
            "the RBAC document doesn't record the organization's domain SID; export it again with this version".into(),
        )
    })?;
    let base = base(
        &document.organization,
        domain,
        document.active_directory_split_permissions,
    )?;
    let base = &*base.rbac;
    let rbac = RbacConfig {
        roles: document.roles.clone(),
        role_groups: document.role_groups.clone(),
        assignments: document.assignments.clone(),
        scopes: document.scopes.clone(),
        policies: document.policies.clone(),
    };
    let mut namer = Namer {
        rbac: &rbac,
        names: &document.names,
        sids: BTreeMap::new(),
    };
    for (key, role) in &base.roles {
        if rbac.roles.get(key) != Some(role) {
            return Err(ModelError::Invalid(format!(
                "built-in role `{}` differs from this version's catalogue; a model can't express that",
                role.name
            )));
        }
    }
    for (key, policy) in &base.policies {
        if !rbac.policies.contains_key(key) {
            return Err(ModelError::Invalid(format!(
                "built-in policy `{}` is missing; a model can't express that",
                policy.name
            )));
        }
    }
    let roles = parents_first(&rbac).into_iter().map(role_spec).collect();
    let scopes = rbac.scopes.values().map(scope_spec).collect();
    let mut role_groups = Vec::new();
    for (key, group) in &rbac.role_groups {
        let base_group = base.role_groups.get(key);
        if base_group == Some(group) {
            continue;
        }
        if base_group.is_none_or(|b| b.sid != group.sid) {
            namer.sids.insert(group.name.clone(), group.sid.to_string());
        }
        role_groups.push(role_group_spec(group, &mut namer));
    }
    let policies = rbac
        .policies
        .iter()
        .filter(|(key, p)| base.policies.get(*key) != Some(*p))
        .map(|(_, p)| PolicySpec {
            name: p.name.clone(),
            description: p.description.clone(),
            is_default: p.is_default,
        })
        .collect();
    let removed_assignments = base
        .assignments
        .iter()
        .filter(|(key, _)| !rbac.assignments.contains_key(*key))
        .map(|(_, a)| a.name.clone())
        .collect();
    let assignments = rbac
        .assignments
        .iter()
        .filter(|(key, a)| base.assignments.get(*key) != Some(*a))
        .map(|(_, a)| assignment_spec(a, &mut namer))
        .collect();
    Ok(ModelFile {
        model: Header {
            organization: document.organization.to_string(),
            base: BASE_EXCHANGE_2013.to_owned(),
            active_directory_split_permissions: document.active_directory_split_permissions,
            removed_assignments,
            domain_sid: Some(domain.to_string()),
        },
        roles,
        scopes,
        role_groups,
        policies,
        assignments,
        sids: namer.sids,
    })
}

/// The custom roles, each after its parent (a file is read in order).
fn parents_first(rbac: &RbacConfig) -> Vec<&ManagementRole> {
    let mut out: Vec<&ManagementRole> = Vec::new();
    let mut left: Vec<&ManagementRole> = rbac.roles.values().filter(|r| !r.builtin).collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|r| {
            let ready = r.parent.as_ref().is_none_or(|p| {
                rbac.role(p).is_none_or(|p| p.builtin)
                    || out.iter().any(|o| o.name.eq_ignore_ascii_case(p))
            });
            if ready {
                out.push(r);
            }
            !ready
        });
        if left.len() == before {
            // A cycle (no store makes one): keep the rest in name order.
            out.append(&mut left);
        }
    }
    out
}

fn role_spec(role: &ManagementRole) -> RoleSpec {
    RoleSpec {
        name: role.name.clone(),
        parent: role.parent.clone(),
        unscoped_top_level: role.unscoped,
        description: role.description.clone(),
        entries: Some(role.entries.values().map(|e| e.to_string()).collect()),
    }
}

fn scope_spec(scope: &ManagementScope) -> ScopeSpec {
    let mut spec = ScopeSpec {
        name: scope.name.clone(),
        exclusive: scope.exclusive,
        ..ScopeSpec::default()
    };
    match &scope.rule {
        ScopeRule::Recipients { root, filter } => {
            spec.recipient_root = root.as_ref().map(|r| r.to_string());
            spec.recipient_restriction_filter = filter.clone();
        }
        ScopeRule::ServerList(l) => spec.server_list = Some(l.clone()),
        ScopeRule::ServerFilter(f) => spec.server_restriction_filter = Some(f.clone()),
        ScopeRule::DatabaseList(l) => spec.database_list = Some(l.clone()),
        ScopeRule::DatabaseFilter(f) => spec.database_restriction_filter = Some(f.clone()),
    }
    spec
}

fn role_group_spec(group: &RoleGroup, namer: &mut Namer<'_>) -> RoleGroupSpec {
    let mut spec = RoleGroupSpec {
        name: group.name.clone(),
        display_name: group.display_name.clone(),
        description: group.description.clone(),
        managed_by: group.managed_by.iter().map(|s| namer.name(s)).collect(),
        ..RoleGroupSpec::default()
    };
    match &group.kind {
        RoleGroupKind::Standard { members } => {
            spec.members = members.iter().map(|s| namer.name(s)).collect();
        }
        RoleGroupKind::Linked(linked) => {
            namer
                .sids
                .insert(linked.name.clone(), linked.sid.to_string());
            let netbios = linked.forest.netbios();
            spec.linked_foreign_group = Some(linked.name.clone());
            spec.linked_domain_controller = Some(linked.domain_controller.clone());
            if forest_of(&linked.domain_controller, netbios).as_deref()
                != Some(linked.forest.as_str())
            {
                spec.linked_forest = Some(linked.forest.to_string());
            }
            spec.linked_credential = Some(linked.credential.clone()).filter(|c| !c.is_empty());
        }
    }
    spec
}

fn assignment_spec(a: &RoleAssignment, namer: &mut Namer<'_>) -> AssignmentSpec {
    let mut spec = AssignmentSpec {
        role: a.role.clone(),
        delegating: a.delegation == Delegation::Delegating,
        enabled: a.enabled,
        ..AssignmentSpec::default()
    };
    let assignee_name = match &a.assignee {
        Assignee::RoleGroup(g) => {
            spec.security_group = Some(g.clone());
            g.clone()
        }
        Assignee::SecurityGroup(sid) => {
            let name = namer.name(sid);
            spec.security_group = Some(name.clone());
            short(&name)
        }
        Assignee::User(sid) => {
            let name = namer.name(sid);
            spec.user = Some(name.clone());
            short(&name)
        }
        Assignee::Policy(p) => {
            spec.policy = Some(p.clone());
            p.clone()
        }
    };
    if builtin_assignment_name(&a.role, &assignee_name, a.delegation) != a.name {
        spec.name = Some(a.name.clone());
    }
    match &a.recipient_write_scope {
        RecipientWriteScope::Implicit => {}
        RecipientWriteScope::Relative(s) => {
            spec.recipient_relative_write_scope = Some(s.to_string())
        }
        RecipientWriteScope::OrganizationalUnit(ou) => {
            spec.recipient_organizational_unit_scope = Some(ou.to_string())
        }
        RecipientWriteScope::Custom(s) => spec.custom_recipient_write_scope = Some(s.clone()),
        RecipientWriteScope::Exclusive(s) => spec.exclusive_recipient_write_scope = Some(s.clone()),
    }
    match &a.config_write_scope {
        ConfigWriteScope::Implicit => {}
        ConfigWriteScope::Custom(s) => spec.custom_config_write_scope = Some(s.clone()),
        ConfigWriteScope::Exclusive(s) => spec.exclusive_config_write_scope = Some(s.clone()),
    }
    spec
}

fn short(name: &str) -> String {
    super::names::split(name).map_or(name.to_owned(), |(_, n)| n.to_owned())
}

/// The model file as TOML.
pub fn to_toml(file: &ModelFile) -> Result<String, ModelError> {
    let body = toml::to_string_pretty(file).map_err(|e| ModelError::Invalid(e.to_string()))?;
    Ok(format!(
        "# A crossforest permission model: what differs from the organization setup\n# installs. Test it with `crossforest model test MODEL TESTS`.\n\n{body}"
    ))
}
