//! The built-in roles, role groups and role assignment policy, loaded from the
//! data files in `resource-forest/catalogue/` (embedded at build time).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::model::{
    ConfigScope, Delegation, ImplicitScopes, ManagementRole, RecipientScope, RoleEntry,
};

/// The Organization Management table of the specification, verbatim (R-RG-3).
pub const ORGANIZATION_MANAGEMENT_CSV: &str =
    include_str!("../../catalogue/organization-management-assignments.csv");
/// The other built-in role groups and the Default Role Assignment Policy (R-RG-2, R-ROLE-4).
pub const BUILTIN_ROLE_GROUPS_CSV: &str = include_str!("../../catalogue/builtin-role-groups.csv");
/// Role entries.
pub const ROLES_TOML: &str = include_str!("../../catalogue/roles.toml");

/// The built-in role group every other administrative right flows from.
pub const ORGANIZATION_MANAGEMENT: &str = "Organization Management";
/// The policy every mailbox gets unless told otherwise.
pub const DEFAULT_POLICY: &str = "Default Role Assignment Policy";

/// A problem in the catalogue files: a bug of the build, reported precisely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// A CSV row is malformed.
    #[error("{file} line {line}: {reason}")]
    Csv {
        /// Which file.
        file: &'static str,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// roles.toml is malformed.
    #[error("roles.toml: {0}")]
    Toml(String),
}

/// One built-in assignment of a role to a role group or policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinAssignment {
    /// The role.
    pub role: String,
    /// Regular or delegating.
    pub delegation: Delegation,
}

/// The catalogue: every built-in role and every built-in group's assignments.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// Built-in roles by lower-case name.
    pub roles: BTreeMap<String, ManagementRole>,
    /// Built-in role groups, in the order of R-RG-2, with their assignments.
    pub role_groups: Vec<(String, Vec<BuiltinAssignment>)>,
    /// Built-in role assignment policies with their (regular) roles.
    pub policies: Vec<(String, Vec<String>)>,
}

/// The twelve built-in role groups, in the order of R-RG-2.
pub const BUILTIN_ROLE_GROUPS: [&str; 12] = [
    "Organization Management",
    "View-Only Organization Management",
    "Recipient Management",
    "UM Management",
    "Discovery Management",
    "Records Management",
    "Server Management",
    "Help Desk",
    "Hygiene Management",
    "Compliance Management",
    "Public Folder Management",
    "Delegated Setup",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    role: Vec<RoleSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    name: String,
    #[serde(rename = "type")]
    role_type: Option<String>,
    entries: Vec<String>,
    scopes: Option<ImplicitScopes>,
}

/// One row of the Organization Management table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationManagementRow {
    /// Role name.
    pub role: String,
    /// Whether OM has a regular assignment.
    pub regular: bool,
    /// Whether OM has a delegating assignment.
    pub delegating: bool,
    /// The role's implicit scopes.
    pub scopes: ImplicitScopes,
}

fn csv_rows(
    file: &'static str,
    text: &str,
) -> Result<Vec<(usize, csv::StringRecord)>, CatalogueError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .enumerate()
        .map(|(i, r)| {
            r.map(|rec| (i + 2, rec)).map_err(|e| CatalogueError::Csv {
                file,
                line: i + 2,
                reason: e.to_string(),
            })
        })
        .collect()
}

fn parse_recipient_scope(s: &str) -> Option<RecipientScope> {
    Some(match s {
        "Organization" => RecipientScope::Organization,
        "MyGAL" => RecipientScope::MyGal,
        "Self" => RecipientScope::Myself,
        "MyDistributionGroups" => RecipientScope::MyDistributionGroups,
        "None" => RecipientScope::None,
        _ => return None,
    })
}

fn parse_config_scope(s: &str) -> Option<ConfigScope> {
    Some(match s {
        "OrganizationConfig" => ConfigScope::OrganizationConfig,
        "None" => ConfigScope::None,
        _ => return None,
    })
}

/// The Organization Management table, parsed.
pub fn organization_management_rows() -> Result<Vec<OrganizationManagementRow>, CatalogueError> {
    const FILE: &str = "organization-management-assignments.csv";
    csv_rows(FILE, ORGANIZATION_MANAGEMENT_CSV)?
        .into_iter()
        .map(|(line, rec)| {
            let bad = |reason: &str| CatalogueError::Csv {
                file: FILE,
                line,
                reason: reason.to_owned(),
            };
            let field = |i: usize| rec.get(i).ok_or_else(|| bad("missing column"));
            let yes = |i: usize| -> Result<bool, CatalogueError> {
                match field(i)? {
                    "yes" => Ok(true),
                    "no" => Ok(false),
                    _ => Err(bad("expected yes or no")),
                }
            };
            let rs = |i: usize| {
                field(i).and_then(|s| {
                    parse_recipient_scope(s).ok_or_else(|| bad("unknown recipient scope"))
                })
            };
            let cs = |i: usize| {
                field(i)
                    .and_then(|s| parse_config_scope(s).ok_or_else(|| bad("unknown config scope")))
            };
            Ok(OrganizationManagementRow {
                role: field(0)?.to_owned(),
                regular: yes(1)?,
                delegating: yes(2)?,
                scopes: ImplicitScopes {
                    recipient_read: rs(3)?,
                    recipient_write: rs(4)?,
                    config_read: cs(5)?,
                    config_write: cs(6)?,
                },
            })
        })
        .collect()
}

/// The role type Exchange gives a role named `name`, unless overridden:
/// each word capitalised, spaces and hyphens removed.
fn default_role_type(name: &str) -> String {
    name.split([' ', '-'])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// Parses `Cmdlet -P1 -P2` into an entry.
pub fn parse_entry(line: &str) -> Option<RoleEntry> {
    let mut words = line.split_whitespace();
    let cmdlet = words.next()?.to_owned();
    let parameters: Option<BTreeSet<String>> = words
        .map(|w| {
            w.strip_prefix('-')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
        })
        .collect();
    Some(RoleEntry {
        cmdlet,
        parameters: parameters?,
    })
}

/// Loads the embedded catalogue.
pub fn builtin() -> Result<Catalogue, CatalogueError> {
    let om = organization_management_rows()?;
    let spec: RolesFile =
        toml::from_str(ROLES_TOML).map_err(|e| CatalogueError::Toml(e.to_string()))?;
    let mut specs: BTreeMap<String, RoleSpec> = spec
        .role
        .into_iter()
        .map(|r| (r.name.to_ascii_lowercase(), r))
        .collect();

    let mut role_groups: Vec<(String, Vec<BuiltinAssignment>)> = BUILTIN_ROLE_GROUPS
        .iter()
        .map(|g| ((*g).to_owned(), Vec::new()))
        .collect();
    let mut policies: Vec<(String, Vec<String>)> = Vec::new();
    let mut scopes: BTreeMap<String, ImplicitScopes> = BTreeMap::new();
    let mut names: Vec<String> = Vec::new();

    for row in &om {
        scopes.insert(row.role.to_ascii_lowercase(), row.scopes);
        names.push(row.role.clone());
        let assignments = &mut role_groups[0].1;
        if row.regular {
            assignments.push(BuiltinAssignment {
                role: row.role.clone(),
                delegation: Delegation::Regular,
            });
        }
        if row.delegating {
            assignments.push(BuiltinAssignment {
                role: row.role.clone(),
                delegation: Delegation::Delegating,
            });
        }
    }

    const FILE: &str = "builtin-role-groups.csv";
    for (line, rec) in csv_rows(FILE, BUILTIN_ROLE_GROUPS_CSV)? {
        let bad = |reason: String| CatalogueError::Csv {
            file: FILE,
            line,
            reason,
        };
        let (Some(group), Some(role), Some(kind)) = (rec.get(0), rec.get(1), rec.get(2)) else {
            return Err(bad("expected role_group,role,assignment".into()));
        };
        if !names.iter().any(|n| n.eq_ignore_ascii_case(role)) {
            names.push(role.to_owned());
        }
        match kind {
            "regular" => {
                let slot = role_groups
                    .iter_mut()
                    .find(|(g, _)| g == group)
                    .ok_or_else(|| bad(format!("`{group}` is not a built-in role group")))?;
                slot.1.push(BuiltinAssignment {
                    role: role.to_owned(),
                    delegation: Delegation::Regular,
                });
            }
            "policy" => match policies.iter_mut().find(|(p, _)| p == group) {
                Some(slot) => slot.1.push(role.to_owned()),
                None => policies.push((group.to_owned(), vec![role.to_owned()])),
            },
            other => return Err(bad(format!("unknown assignment kind `{other}`"))),
        }
    }

    let mut roles = BTreeMap::new();
    for name in names {
        let key = name.to_ascii_lowercase();
        let spec = specs.remove(&key);
        let scopes = scopes
            .get(&key)
            .copied()
            .or_else(|| spec.as_ref().and_then(|s| s.scopes))
            .ok_or_else(|| CatalogueError::Toml(format!("role `{name}` has no implicit scopes")))?;
        let mut entries = BTreeMap::new();
        for line in spec
            .as_ref()
            .map(|s| s.entries.as_slice())
            .unwrap_or_default()
        {
            let entry = parse_entry(line).ok_or_else(|| {
                CatalogueError::Toml(format!("role `{name}`: bad entry `{line}`"))
            })?;
            entries.insert(entry.cmdlet.to_ascii_lowercase(), entry);
        }
        let role_type = spec
            .as_ref()
            .and_then(|s| s.role_type.clone())
            .unwrap_or_else(|| default_role_type(&name));
        roles.insert(
            key,
            ManagementRole {
                name,
                role_type,
                builtin: true,
                parent: None,
                unscoped: false,
                description: String::new(),
                scopes,
                entries,
            },
        );
    }
    if let Some(unknown) = specs.values().next() {
        return Err(CatalogueError::Toml(format!(
            "role `{}` is in roles.toml but in neither built-in table",
            unknown.name
        )));
    }
    Ok(Catalogue {
        roles,
        role_groups,
        policies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_management_has_76_assignments_53_regular() -> Result<(), CatalogueError> {
        // R-RG-3: 76 rows; 53 roles with a regular and a delegating assignment,
        // 23 with a delegating one only: 129 assignment objects in all.
        let catalogue = builtin()?;
        let (name, assignments) = &catalogue.role_groups[0];
        assert_eq!(name, ORGANIZATION_MANAGEMENT);
        let regular = assignments
            .iter()
            .filter(|a| a.delegation == Delegation::Regular)
            .count();
        let delegating = assignments.len() - regular;
        assert_eq!((regular, delegating), (53, 76));
        Ok(())
    }

    #[test]
    fn role_types_follow_exchange_names() -> Result<(), CatalogueError> {
        let catalogue = builtin()?;
        let ty = |n: &str| {
            catalogue
                .roles
                .get(&n.to_ascii_lowercase())
                .map(|r| r.role_type.clone())
        };
        assert_eq!(
            ty("Mail Recipient Creation").as_deref(),
            Some("MailRecipientCreation")
        );
        assert_eq!(
            ty("Security Group Creation and Membership").as_deref(),
            Some("SecurityGroupCreationAndMembership")
        );
        assert_eq!(
            ty("Unscoped Role Management").as_deref(),
            Some("UnScopedRoleManagement")
        );
        assert_eq!(ty("Team Mailboxes").as_deref(), Some("TeamMailboxes"));
        Ok(())
    }

    #[test]
    fn every_builtin_group_and_the_default_policy_exist() -> Result<(), CatalogueError> {
        let catalogue = builtin()?;
        assert_eq!(catalogue.role_groups.len(), 12);
        assert!(catalogue.role_groups.iter().all(|(_, a)| !a.is_empty()));
        assert_eq!(catalogue.policies.len(), 1);
        assert_eq!(catalogue.policies[0].0, DEFAULT_POLICY);
        assert_eq!(catalogue.policies[0].1.len(), 7);
        Ok(())
    }
}
