//! A model file → the in-memory [`Model`]: the base organization setup
//! installs, with the file's roles, scopes, role groups, policies and
//! assignments applied. Every reference is checked; an error names the
//! object and the key.

use std::collections::BTreeMap;

use crossforest_shared::{DomainSid, ForestName};

use super::format::{
    AssignmentSpec, ModelFile, PolicySpec, RoleGroupSpec, RoleSpec, ScopeSpec, BASE_EXCHANGE_2013,
};
use super::names::{self, SidTable};
use super::Model;
use crate::org::Organization;
use crate::rbac::catalogue;
use crate::rbac::config::{builtin_assignment_name, RoleAssignmentPolicy};
use crate::rbac::model::{
    Assignee, ConfigScope, ConfigWriteScope, Delegation, ImplicitScopes, LinkedGroup,
    ManagementRole, RecipientScope, RecipientWriteScope, RoleAssignment, RoleGroup, RoleGroupKind,
};
use crate::rbac::scope::{parse_config_filter, parse_recipient_filter, ManagementScope, ScopeRule};

/// Why a model file can't be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Not TOML of the model's shape.
    #[error("{0}")]
    Parse(String),
    /// A value or reference that does not hold.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(message: String) -> ModelError {
    ModelError::Invalid(message)
}

/// The organization setup installs for `forest`: built-in roles, role groups
/// and policy, the Administrator in Organization Management, and under
/// Active Directory split permissions what `/PrepareAD
/// /ActiveDirectorySplitPermissions:true` leaves.
pub fn base(
    forest: &ForestName,
    domain: DomainSid,
    split: bool,
) -> Result<Organization, ModelError> {
    let catalogue = catalogue::builtin().map_err(|e| invalid(e.to_string()))?;
    let org = Organization::new(forest.clone(), domain, &catalogue, &[])
        .map_err(|e| invalid(e.to_string()))?;
    Ok(if split {
        crate::org::permission_model::prepare_ad(&org, Some(true)).0
    } else {
        org
    })
}

/// Converts `file`.
pub fn to_model(file: &ModelFile) -> Result<Model, ModelError> {
    let header = &file.model;
    if header.base != BASE_EXCHANGE_2013 {
        return Err(invalid(format!(
            "[Model] Base is `{}`; the only base is `{BASE_EXCHANGE_2013}`",
            header.base
        )));
    }
    let forest: ForestName = header
        .organization
        .parse()
        .map_err(|e| invalid(format!("[Model] Organization: {e}")))?;
    let domain = match &header.domain_sid {
        Some(text) => text
            .parse()
            .map_err(|e| invalid(format!("[Model] DomainSid `{text}`: {e}")))?,
        None => names::domain_sid_of(forest.as_str()),
    };
    let table = SidTable::parse(&file.sids)?;
    let mut model = Model {
        org: base(&forest, domain, header.active_directory_split_permissions)?,
        foreign: BTreeMap::new(),
    };
    for spec in &file.roles {
        add_role(&mut model, spec)?;
    }
    for spec in &file.scopes {
        add_scope(&mut model, spec)?;
    }
    // Role groups first (members may name each other), then their members.
    for spec in &file.role_groups {
        declare_role_group(&mut model, &table, spec)?;
    }
    for spec in &file.role_groups {
        fill_role_group(&mut model, &table, spec)?;
    }
    for spec in &file.policies {
        add_policy(&mut model, spec);
    }
    for name in &header.removed_assignments {
        if model
            .org
            .rbac_mut()
            .assignments
            .remove(&name.to_ascii_lowercase())
            .is_none()
        {
            return Err(invalid(format!(
                "[Model] RemovedAssignments: the base has no assignment `{name}`"
            )));
        }
    }
    for spec in &file.assignments {
        add_assignment(&mut model, &table, spec)?;
    }
    Ok(model)
}

fn add_role(model: &mut Model, spec: &RoleSpec) -> Result<(), ModelError> {
    let rbac = &model.org.rbac;
    let what = format!("[[ManagementRole]] `{}`", spec.name);
    if rbac.role(&spec.name).is_some() {
        return Err(invalid(format!(
            "{what}: a role of that name exists already"
        )));
    }
    let mut role = match (&spec.parent, spec.unscoped_top_level) {
        (Some(parent), false) => {
            let parent = rbac.role(parent).ok_or_else(|| {
                invalid(format!(
                    "{what}: Parent `{parent}` is not a role of the model"
                ))
            })?;
            ManagementRole {
                name: spec.name.clone(),
                builtin: false,
                parent: Some(parent.name.clone()),
                unscoped: false,
                ..parent.clone()
            }
        }
        (None, true) => ManagementRole {
            name: spec.name.clone(),
            role_type: "UnScoped".into(),
            builtin: false,
            parent: None,
            unscoped: true,
            description: String::new(),
            scopes: ImplicitScopes {
                recipient_read: RecipientScope::None,
                recipient_write: RecipientScope::None,
                config_read: ConfigScope::None,
                config_write: ConfigScope::None,
            },
            entries: Default::default(),
        },
        _ => {
            return Err(invalid(format!(
                "{what}: give either Parent or UnScopedTopLevel = true"
            )))
        }
    };
    role.description = spec.description.clone();
    if let Some(lines) = &spec.entries {
        let parent = role.entries.clone();
        role.entries.clear();
        for line in lines {
            let entry = catalogue::parse_entry(line)
                .ok_or_else(|| invalid(format!("{what}: `{line}` is not `Cmdlet -Parameter …`")))?;
            if !role.unscoped {
                let granted = parent.get(&entry.cmdlet.to_ascii_lowercase());
                let extra: Vec<&String> = entry
                    .parameters
                    .iter()
                    .filter(|p| !granted.is_some_and(|g| g.grants(p)))
                    .collect();
                if granted.is_none() || !extra.is_empty() {
                    return Err(invalid(format!(
                        "{what}: entry `{line}` isn't in its parent `{}`{}; a custom role only removes entries and parameters (R-ROLE-2)",
                        role.parent.as_deref().unwrap_or_default(),
                        if granted.is_some() {
                            format!(" (not with {})", extra.iter().map(|p| format!("-{p}")).collect::<Vec<_>>().join(" "))
                        } else {
                            String::new()
                        }
                    )));
                }
            }
            role.entries
                .insert(entry.cmdlet.to_ascii_lowercase(), entry);
        }
    }
    model
        .org
        .rbac_mut()
        .roles
        .insert(spec.name.to_ascii_lowercase(), role);
    Ok(())
}

fn add_scope(model: &mut Model, spec: &ScopeSpec) -> Result<(), ModelError> {
    let what = format!("[[ManagementScope]] `{}`", spec.name);
    let filter = |text: &String, recipient: bool| -> Result<String, ModelError> {
        let parsed = if recipient {
            parse_recipient_filter(text)
        } else {
            parse_config_filter(text)
        };
        parsed
            .map(|_| text.clone())
            .map_err(|e| invalid(format!("{what}: filter `{text}`: {e}")))
    };
    let rules: Vec<ScopeRule> = [
        (spec.recipient_root.is_some() || spec.recipient_restriction_filter.is_some()).then(|| {
            Ok(ScopeRule::Recipients {
                root: spec
                    .recipient_root
                    .as_ref()
                    .map(|r| {
                        r.parse()
                            .map_err(|e| invalid(format!("{what}: RecipientRoot `{r}`: {e}")))
                    })
                    .transpose()?,
                filter: spec
                    .recipient_restriction_filter
                    .as_ref()
                    .map(|f| filter(f, true))
                    .transpose()?,
            })
        }),
        spec.server_list
            .clone()
            .map(|l| Ok(ScopeRule::ServerList(l))),
        spec.server_restriction_filter
            .as_ref()
            .map(|f| filter(f, false).map(ScopeRule::ServerFilter)),
        spec.database_list
            .clone()
            .map(|l| Ok(ScopeRule::DatabaseList(l))),
        spec.database_restriction_filter
            .as_ref()
            .map(|f| filter(f, false).map(ScopeRule::DatabaseFilter)),
    ]
    .into_iter()
    .flatten()
    .collect::<Result<_, _>>()?;
    let [rule] = <[ScopeRule; 1]>::try_from(rules).map_err(|_| {
        invalid(format!(
            "{what}: give exactly one of RecipientRoot/RecipientRestrictionFilter, ServerList, ServerRestrictionFilter, DatabaseList, DatabaseRestrictionFilter"
        ))
    })?;
    model.org.rbac_mut().scopes.insert(
        spec.name.to_ascii_lowercase(),
        ManagementScope {
            name: spec.name.clone(),
            rule,
            exclusive: spec.exclusive,
        },
    );
    Ok(())
}

fn declare_role_group(
    model: &mut Model,
    table: &SidTable,
    spec: &RoleGroupSpec,
) -> Result<(), ModelError> {
    let key = spec.name.to_ascii_lowercase();
    let existing = model.org.rbac.role_groups.get(&key).cloned();
    let sid = match (table.get(&spec.name), &existing) {
        (Some(sid), _) => sid,
        (None, Some(g)) => g.sid,
        (None, None) => names::fresh_local(model, table)?,
    };
    let group = RoleGroup {
        name: spec.name.clone(),
        sid,
        description: spec.description.clone(),
        display_name: spec.display_name.clone(),
        kind: RoleGroupKind::Standard {
            members: Default::default(),
        },
        managed_by: Default::default(),
        builtin: existing.is_some_and(|g| g.builtin),
    };
    model.org.rbac_mut().role_groups.insert(key, group);
    Ok(())
}

fn fill_role_group(
    model: &mut Model,
    table: &SidTable,
    spec: &RoleGroupSpec,
) -> Result<(), ModelError> {
    let what = format!("[[RoleGroup]] `{}`", spec.name);
    let resolve = |model: &mut Model, key: &str, list: &[String]| {
        list.iter()
            .map(|m| {
                names::principal(model, table, m)
                    .map_err(|e| invalid(format!("{what}: {key}: {e}")))
            })
            .collect::<Result<std::collections::BTreeSet<_>, _>>()
    };
    let managed_by = resolve(model, "ManagedBy", &spec.managed_by)?;
    let kind = match &spec.linked_foreign_group {
        None => {
            if spec.linked_domain_controller.is_some() || spec.linked_credential.is_some() {
                return Err(invalid(format!(
                    "{what}: LinkedDomainController and LinkedCredential need LinkedForeignGroup"
                )));
            }
            RoleGroupKind::Standard {
                members: resolve(model, "Members", &spec.members)?,
            }
        }
        Some(foreign) => {
            if !spec.members.is_empty() {
                return Err(invalid(format!(
                    "{what}: a linked role group has no Members of its own; its membership is `{foreign}`'s (R-LRG-3)"
                )));
            }
            let Some((domain, _)) =
                names::split(foreign).filter(|(d, _)| !model.org.forest.answers_to(d))
            else {
                return Err(invalid(format!(
                    "{what}: LinkedForeignGroup `{foreign}` must be `DOMAIN\\name` of another forest (R-LRG-7)"
                )));
            };
            let dc = spec.linked_domain_controller.clone().ok_or_else(|| {
                invalid(format!(
                    "{what}: LinkedForeignGroup requires LinkedDomainController (R-LRG-7)"
                ))
            })?;
            let forest = match &spec.linked_forest {
                Some(f) => f.clone(),
                None => forest_of(&dc, domain).ok_or_else(|| {
                    invalid(format!(
                        "{what}: LinkedDomainController `{dc}` doesn't name forest `{domain}`; add LinkedForest"
                    ))
                })?,
            };
            let forest: ForestName = forest
                .parse()
                .map_err(|e| invalid(format!("{what}: LinkedForest: {e}")))?;
            let sid = names::principal(model, table, foreign)?;
            RoleGroupKind::Linked(LinkedGroup {
                sid,
                forest,
                name: foreign.clone(),
                domain_controller: dc,
                credential: spec.linked_credential.clone().unwrap_or_default(),
            })
        }
    };
    if let Some(group) = model
        .org
        .rbac_mut()
        .role_groups
        .get_mut(&spec.name.to_ascii_lowercase())
    {
        group.kind = kind;
        group.managed_by = managed_by;
    }
    Ok(())
}

/// The forest a domain controller's name places it in: the labels from the
/// one that is the forest's NetBIOS name (`dc01.fabrikam.com` → `fabrikam.com`).
pub fn forest_of(domain_controller: &str, netbios: &str) -> Option<String> {
    let host = domain_controller
        .rsplit_once(':')
        .map_or(domain_controller, |(h, _)| h);
    let labels: Vec<&str> = host.split('.').collect();
    let at = labels
        .iter()
        .position(|l| l.eq_ignore_ascii_case(netbios))?;
    (at + 1 < labels.len()).then(|| labels[at..].join(".").to_ascii_lowercase())
}

fn add_policy(model: &mut Model, spec: &PolicySpec) {
    let rbac = model.org.rbac_mut();
    if spec.is_default {
        for p in rbac.policies.values_mut() {
            p.is_default = false;
        }
    }
    rbac.policies.insert(
        spec.name.to_ascii_lowercase(),
        RoleAssignmentPolicy {
            name: spec.name.clone(),
            description: spec.description.clone(),
            is_default: spec.is_default,
        },
    );
}

fn add_assignment(
    model: &mut Model,
    table: &SidTable,
    spec: &AssignmentSpec,
) -> Result<(), ModelError> {
    let what = format!(
        "[[ManagementRoleAssignment]] `{}`",
        spec.name.as_deref().unwrap_or(&spec.role)
    );
    let role = model
        .org
        .rbac
        .role(&spec.role)
        .ok_or_else(|| {
            invalid(format!(
                "{what}: Role `{}` is not a role of the model",
                spec.role
            ))
        })?
        .name
        .clone();
    let (assignee, assignee_name) = match (&spec.security_group, &spec.user, &spec.policy) {
        (Some(g), None, None) => match model.org.rbac.role_group(g) {
            Some(group) => (Assignee::RoleGroup(group.name.clone()), group.name.clone()),
            None => (
                Assignee::SecurityGroup(
                    names::principal(model, table, g)
                        .map_err(|e| invalid(format!("{what}: {e}")))?,
                ),
                names::split(g).map_or(g.clone(), |(_, n)| n.to_owned()),
            ),
        },
        (None, Some(u), None) => (
            Assignee::User(
                names::principal(model, table, u).map_err(|e| invalid(format!("{what}: {e}")))?,
            ),
            names::split(u).map_or(u.clone(), |(_, n)| n.to_owned()),
        ),
        (None, None, Some(p)) => {
            let policy = model.org.rbac.policy(p).ok_or_else(|| {
                invalid(format!(
                    "{what}: Policy `{p}` is not a role assignment policy of the model"
                ))
            })?;
            (Assignee::Policy(policy.name.clone()), policy.name.clone())
        }
        _ => {
            return Err(invalid(format!(
                "{what}: give exactly one of SecurityGroup, User, Policy"
            )))
        }
    };
    let delegation = if spec.delegating {
        Delegation::Delegating
    } else {
        Delegation::Regular
    };
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| builtin_assignment_name(&role, &assignee_name, delegation));
    let scope = |s: &String| -> Result<String, ModelError> {
        model
            .org
            .rbac
            .scope(s)
            .map(|s| s.name.clone())
            .ok_or_else(|| {
                invalid(format!(
                    "{what}: scope `{s}` is not a management scope of the model"
                ))
            })
    };
    let recipient: Vec<RecipientWriteScope> = [
        spec.recipient_relative_write_scope
            .as_ref()
            .map(|s| relative(s).map(RecipientWriteScope::Relative).ok_or_else(|| {
                invalid(format!("{what}: RecipientRelativeWriteScope `{s}` is not Organization, MyGAL, Self, MyDistributionGroups or None"))
            })),
        spec.recipient_organizational_unit_scope.as_ref().map(|ou| {
            ou.parse()
                .map(RecipientWriteScope::OrganizationalUnit)
                .map_err(|e| invalid(format!("{what}: RecipientOrganizationalUnitScope `{ou}`: {e}")))
        }),
        spec.custom_recipient_write_scope
            .as_ref()
            .map(|s| scope(s).map(RecipientWriteScope::Custom)),
        spec.exclusive_recipient_write_scope
            .as_ref()
            .map(|s| scope(s).map(RecipientWriteScope::Exclusive)),
    ]
    .into_iter()
    .flatten()
    .collect::<Result<_, _>>()?;
    let config: Vec<ConfigWriteScope> = [
        spec.custom_config_write_scope
            .as_ref()
            .map(|s| scope(s).map(ConfigWriteScope::Custom)),
        spec.exclusive_config_write_scope
            .as_ref()
            .map(|s| scope(s).map(ConfigWriteScope::Exclusive)),
    ]
    .into_iter()
    .flatten()
    .collect::<Result<_, _>>()?;
    if recipient.len() > 1 || config.len() > 1 {
        return Err(invalid(format!(
            "{what}: an assignment has at most one recipient write scope and one configuration write scope (R-SCOPE-5)"
        )));
    }
    let assignment = RoleAssignment {
        name,
        role,
        assignee,
        delegation,
        recipient_write_scope: recipient
            .into_iter()
            .next()
            .unwrap_or(RecipientWriteScope::Implicit),
        config_write_scope: config
            .into_iter()
            .next()
            .unwrap_or(ConfigWriteScope::Implicit),
        enabled: spec.enabled,
    };
    model.org.rbac_mut().insert_assignment(assignment);
    Ok(())
}

/// A predefined recipient scope by Exchange's name.
pub fn relative(name: &str) -> Option<RecipientScope> {
    [
        RecipientScope::Organization,
        RecipientScope::MyGal,
        RecipientScope::Myself,
        RecipientScope::MyDistributionGroups,
        RecipientScope::None,
    ]
    .into_iter()
    .find(|s| s.to_string().eq_ignore_ascii_case(name))
}
