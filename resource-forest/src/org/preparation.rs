//! What Exchange setup writes to the directory beside the organization
//! (seed 001's table of Active Directory split permission changes): where the
//! Exchange Windows Permissions group lives, whether the Exchange Trusted
//! Subsystem is a member of it (the right to create security principals), and
//! the domains prepared with `/PrepareDomain` or `/PrepareAllDomains` — each
//! with its Microsoft Exchange System Objects container and whether its domain
//! object grants Exchange Windows Permissions its rights.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Organization;

/// The OU of the Exchange security groups (shared and RBAC split permissions).
pub const SECURITY_GROUPS_OU: &str = "Microsoft Exchange Security Groups";
/// The OU that holds Exchange Windows Permissions under Active Directory split
/// permissions, created and removed by `/PrepareAD`.
pub const PROTECTED_GROUPS_OU: &str = "Microsoft Exchange Protected Groups";

/// The directory as setup left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryPreparation {
    /// Whether the OU Microsoft Exchange Protected Groups exists and holds
    /// Exchange Windows Permissions (Active Directory split); otherwise the
    /// group is in Microsoft Exchange Security Groups.
    pub protected_groups_ou: bool,
    /// Whether the Exchange Trusted Subsystem is a member of Exchange Windows
    /// Permissions, which lets Exchange create security principals.
    pub trusted_subsystem_in_windows_permissions: bool,
    /// Prepared domains by lower-case FQDN.
    pub domains: BTreeMap<String, PreparedDomain>,
}

/// A domain prepared by setup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedDomain {
    /// The domain's FQDN.
    pub fqdn: String,
    /// Whether the domain object carries the access control entries of
    /// Exchange Windows Permissions (not under Active Directory split).
    pub windows_permissions_aces: bool,
}

impl DirectoryPreparation {
    /// The directory after `/PrepareAD` installed `org` (its root domain
    /// prepared too), with or without Active Directory split permissions.
    pub fn installed(org: &Organization, split: bool) -> Self {
        let root = org.forest.to_string();
        Self {
            protected_groups_ou: split,
            trusted_subsystem_in_windows_permissions: !split,
            domains: BTreeMap::from([(
                root.to_ascii_lowercase(),
                PreparedDomain {
                    fqdn: root,
                    windows_permissions_aces: !split,
                },
            )]),
        }
    }

    /// The OU that holds Exchange Windows Permissions.
    pub fn windows_permissions_ou(&self) -> &'static str {
        if self.protected_groups_ou {
            PROTECTED_GROUPS_OU
        } else {
            SECURITY_GROUPS_OU
        }
    }

    /// The state, one line each, as setup reports it.
    pub fn describe(&self, forest: &str) -> Vec<String> {
        let mut lines = vec![format!(
            "Exchange Windows Permissions is in {forest}/{}; the Exchange Trusted Subsystem is {}a member of it",
            self.windows_permissions_ou(),
            if self.trusted_subsystem_in_windows_permissions { "" } else { "not " }
        )];
        lines.extend(self.domains.values().map(|d| {
            format!(
                "domain {}: Microsoft Exchange System Objects container present; the domain object {} the rights of Exchange Windows Permissions",
                d.fqdn,
                if d.windows_permissions_aces { "grants" } else { "doesn't grant" }
            )
        }));
        lines
    }
}

/// Which domains `/PrepareDomain` or `/PrepareAllDomains` prepares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Domains {
    /// `/PrepareAllDomains`: every domain of the forest.
    All,
    /// `/PrepareDomain[:<FQDN>]`: one domain; `None` is the domain setup runs
    /// in (the forest root domain).
    One(Option<String>),
}

/// Why a domain cannot be prepared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareDomainError {
    /// Not a domain of this forest.
    #[error("`{domain}` is not a domain of the {forest} forest; its domains are: {known}")]
    UnknownDomain {
        /// What was given.
        domain: String,
        /// The forest.
        forest: String,
        /// Its domains.
        known: String,
    },
}

/// The domains of `org`'s forest. The resource forest has one domain, its
/// root domain, named as the forest.
fn forest_domains(org: &Organization) -> Vec<String> {
    vec![org.forest.to_string()]
}

/// `setup /PrepareDomain` or `/PrepareAllDomains`: in each domain, creates the
/// Microsoft Exchange System Objects container and sets the permissions —
/// those of Exchange Windows Permissions on the domain object only outside
/// Active Directory split permissions, which removes them. Idempotent: a
/// domain already prepared as the model wants reports that nothing changed.
pub fn prepare_domains(
    org: &Organization,
    which: &Domains,
) -> Result<(Organization, Vec<String>), PrepareDomainError> {
    let known = forest_domains(org);
    let chosen: Vec<String> = match which {
        Domains::All => known,
        Domains::One(None) => vec![org.forest.to_string()],
        Domains::One(Some(fqdn)) => {
            let found = known
                .iter()
                .find(|d| d.eq_ignore_ascii_case(fqdn.trim_end_matches('.')));
            match found {
                Some(d) => vec![d.clone()],
                None => {
                    return Err(PrepareDomainError::UnknownDomain {
                        domain: fqdn.clone(),
                        forest: org.forest.to_string(),
                        known: known.join(", "),
                    })
                }
            }
        }
    };
    let split = org.active_directory_split_permissions;
    let mut preparation = org.directory_preparation();
    let mut changes = Vec::new();
    for fqdn in chosen {
        let want_aces = !split;
        match preparation.domains.get_mut(&fqdn.to_ascii_lowercase()) {
            None => {
                changes.push(format!(
                    "domain {fqdn}: created the Microsoft Exchange System Objects container"
                ));
                changes.push(format!(
                    "domain {fqdn}: set the permissions of the Exchange servers and the Exchange Trusted Subsystem on the domain object"
                ));
                changes.push(aces_change(&fqdn, want_aces, split));
                preparation.domains.insert(
                    fqdn.to_ascii_lowercase(),
                    PreparedDomain {
                        fqdn,
                        windows_permissions_aces: want_aces,
                    },
                );
            }
            Some(domain) if domain.windows_permissions_aces != want_aces => {
                domain.windows_permissions_aces = want_aces;
                changes.push(aces_change(&fqdn, want_aces, split));
            }
            Some(_) => changes.push(format!(
                "domain {fqdn} is already prepared for {}; nothing changed",
                super::permission_model::model_name(split)
            )),
        }
    }
    let mut next = org.clone();
    next.preparation = Some(preparation);
    Ok((next, changes))
}

/// The line for the ACEs of Exchange Windows Permissions on a domain object.
fn aces_change(fqdn: &str, added: bool, split: bool) -> String {
    if added {
        format!("domain {fqdn}: added the access control entries of Exchange Windows Permissions to the domain object")
    } else if split {
        format!("domain {fqdn}: removed the access control entries of Exchange Windows Permissions from the domain object (Active Directory split permissions)")
    } else {
        format!("domain {fqdn}: removed the access control entries of Exchange Windows Permissions from the domain object")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::catalogue;

    fn org() -> Organization {
        let catalogue = catalogue::builtin().unwrap();
        Organization::new(
            "contoso.com".parse().unwrap(),
            "S-1-5-21-1-2-3".parse().unwrap(),
            &catalogue,
            &[],
        )
        .unwrap()
    }

    #[test]
    fn prepare_domain_is_idempotent_and_names_unknown_domains() {
        let org = org();
        let (next, changes) = prepare_domains(&org, &Domains::All).unwrap();
        assert_eq!(next, org, "{changes:?}");
        assert!(changes[0].contains("nothing changed"), "{changes:?}");
        let e = prepare_domains(&org, &Domains::One(Some("sales.fabrikam.com".into())));
        assert!(matches!(e, Err(PrepareDomainError::UnknownDomain { .. })));
        let (_, changes) =
            prepare_domains(&org, &Domains::One(Some("CONTOSO.com".into()))).unwrap();
        assert_eq!(changes.len(), 1);
    }

    #[test]
    fn switching_to_ad_split_takes_the_rights_from_exchange_windows_permissions() {
        let org = org();
        assert!(
            org.directory_preparation()
                .trusted_subsystem_in_windows_permissions
        );
        let (split, changes) = crate::org::permission_model::prepare_ad(&org, Some(true));
        let text = changes.join("\n");
        for line in [
            "created the organizational unit contoso.com/Microsoft Exchange Protected Groups",
            "removed the Exchange Trusted Subsystem from Exchange Windows Permissions",
            "removed the access control entries of Exchange Windows Permissions",
        ] {
            assert!(text.contains(line), "{text}");
        }
        let state = split.directory_preparation();
        assert!(!state.trusted_subsystem_in_windows_permissions);
        assert_eq!(state.windows_permissions_ou(), PROTECTED_GROUPS_OU);
        assert!(!state.domains["contoso.com"].windows_permissions_aces);
        // The root domain was prepared by /PrepareAD itself.
        let (_, changes) = prepare_domains(&split, &Domains::All).unwrap();
        assert!(changes[0].contains("already prepared"), "{changes:?}");
        // Back: the group and its rights return, the OU goes.
        let (shared, changes) = crate::org::permission_model::prepare_ad(&split, Some(false));
        let text = changes.join("\n");
        assert!(
            text.contains("added the Exchange Trusted Subsystem to Exchange Windows Permissions"),
            "{text}"
        );
        assert_eq!(shared.directory_preparation(), org.directory_preparation());
    }
}
