//! Explanations of decisions: the chain that allowed a request, or the nearest
//! miss that denied it. Every decision the resource forest makes can be shown
//! this way (`Test-CmdletPermission`, the `Authorization` service).

use std::fmt;

use crossforest_shared::Sid;

/// One step of a chain from the caller to a role group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// One of the caller's SIDs (the user, a group, or a foreign group).
    Sid(Sid),
    /// The foreign universal security group a linked role group stands for.
    ForeignGroup(String),
    /// A role group, in nesting order.
    RoleGroup(String),
    /// A role assignment policy.
    Policy(String),
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sid(sid) => write!(f, "{sid}"),
            Self::ForeignGroup(name) => write!(f, "linked foreign group {name}"),
            Self::RoleGroup(name) => write!(f, "role group {name}"),
            Self::Policy(name) => write!(f, "policy {name}"),
        }
    }
}

/// How one assignment reached the caller and what it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Caller SID → groups → role group (or policy).
    pub links: Vec<Link>,
    /// The role assignment.
    pub assignment: String,
    /// The role.
    pub role: String,
    /// The role entry for the cmdlet (`Cmdlet -P1 -P2 …`).
    pub entry: String,
    /// The assignment's effective scope for the request.
    pub scope: String,
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for link in &self.links {
            write!(f, "{link} → ")?;
        }
        write!(
            f,
            "assignment {} → role {} → entry {} → scope {}",
            self.assignment, self.role, self.entry, self.scope
        )
    }
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a request was denied: the nearest miss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No regular, enabled assignment reaching the subject has the cmdlet.
    CmdletNotAvailable {
        /// The cmdlet.
        cmdlet: String,
        /// Roles that have it, for the administrator who wants to grant it.
        roles: Vec<String>,
    },
    /// The cmdlet is available, but these parameters are granted by no role.
    ParametersNotGranted {
        /// The cmdlet.
        cmdlet: String,
        /// The missing parameters.
        parameters: Vec<String>,
        /// Roles that would grant them.
        roles: Vec<String>,
    },
    /// The cmdlet and parameters are granted, but not on this object.
    OutOfScope {
        /// The cmdlet.
        cmdlet: String,
        /// The object.
        target: String,
        /// Parameters that no in-scope assignment grants (all of them when no
        /// assignment covers the object).
        parameters: Vec<String>,
        /// The scopes of the assignments that had the cmdlet.
        scopes: Vec<String>,
        /// Exclusive scopes protecting the object (R-SCOPE-3).
        exclusive: Vec<String>,
    },
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CmdletNotAvailable { cmdlet, roles } => {
                write!(
                    f,
                    "`{cmdlet}` isn't available to you: none of your role assignments includes it (R-ROLE-1)"
                )?;
                if !roles.is_empty() {
                    write!(f, "; roles that have it: {}", list(roles))?;
                }
                Ok(())
            }
            Self::ParametersNotGranted {
                cmdlet,
                parameters,
                roles,
            } => {
                let dashed: Vec<String> = parameters.iter().map(|p| format!("-{p}")).collect();
                write!(
                    f,
                    "you can run `{cmdlet}` but not with {}: no role assigned to you grants {} (R-ROLE-1)",
                    list(&dashed),
                    if parameters.len() == 1 { "it" } else { "them" }
                )?;
                if !roles.is_empty() {
                    write!(f, "; roles that do: {}", list(roles))?;
                }
                Ok(())
            }
            Self::OutOfScope {
                cmdlet,
                target,
                parameters,
                scopes,
                exclusive,
            } => {
                // Name the parameters no in-scope assignment grants: the others
                // may well be granted on this object (R-ASG-3).
                if parameters.is_empty() {
                    write!(
                        f,
                        "`{target}` isn't within the write scope of any assignment that grants `{cmdlet}` to you (R-ASG-3)"
                    )?;
                } else {
                    let dashed: Vec<String> = parameters.iter().map(|p| format!("-{p}")).collect();
                    write!(
                        f,
                        "`{target}` isn't within the write scope of any assignment that grants `{cmdlet}` with {} to you (R-ASG-3)",
                        list(&dashed)
                    )?;
                }
                if !exclusive.is_empty() {
                    write!(
                        f,
                        "; it is protected by exclusive scope {}, so only assignments that use it may write it (R-SCOPE-3)",
                        list(exclusive)
                    )?;
                }
                write!(f, "; your scopes: {}", scopes.join("; "))
            }
        }
    }
}

/// A decision with its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Explanation {
    /// Allowed, by these chains.
    Allowed(Vec<Chain>),
    /// Denied, for this reason.
    Denied(Denial),
}

impl Explanation {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed(_))
    }
}
