//! The management cmdlets. Each one is bound, authorised, and only then run; a
//! change is computed on a copy of the organization and committed whole.
//!
//! Every cmdlet is declared once, beside its handler, in its family's
//! `CMDLETS`; [`registry`] gathers them and looks them up.

pub mod args;
pub mod assignments;
pub mod audit_config;
pub mod audit_log;
pub mod connectors;
pub mod directory;
pub mod distribution_groups;
pub mod field;
pub mod help;
pub mod mailbox;
pub mod parameters;
pub mod permissions;
pub mod policies;
pub mod query;
pub mod recipient_view;
pub mod registry;
pub mod remote_mailbox;
pub mod role_group;
pub mod roles;
pub mod scopes;
pub mod servers;
pub mod should_process;

use crate::org::{OrgError, Organization};
use crate::rbac::lockout::LockoutError;
use crate::rbac::model::LinkedGroup;
use crate::rbac::{Access, Authorizer, Denial, Request, Subject, Target};
use crate::trust::authenticate::Caller;
use crate::trust::linked::LinkedError;
use crate::trust::Trusts;
pub use args::{Args, Value};
pub use field::{Field, Record};
pub use registry::{Cmdlet, ConfirmImpact, Handler};

/// Why a cmdlet failed. Nothing has changed when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdletError {
    /// No such cmdlet.
    #[error("the term `{0}` is not recognized as the name of a cmdlet")]
    NotRecognized(String),
    /// A parameter the cmdlet does not have.
    #[error("a parameter cannot be found that matches parameter name `{parameter}` of `{cmdlet}`; valid parameters: {valid}")]
    UnknownParameter {
        /// The cmdlet.
        cmdlet: String,
        /// What was given.
        parameter: String,
        /// What exists.
        valid: String,
    },
    /// A positional value for a cmdlet that takes none.
    #[error("`{cmdlet}` takes no positional value; got `{value}`")]
    Positional {
        /// The cmdlet.
        cmdlet: String,
        /// The value.
        value: String,
    },
    /// A required parameter is missing.
    #[error("`{cmdlet}` needs `-{parameter}`")]
    MissingParameter {
        /// The cmdlet.
        cmdlet: String,
        /// The parameter.
        parameter: String,
    },
    /// A value is wrong.
    #[error("`-{parameter}` {reason}")]
    InvalidValue {
        /// The parameter.
        parameter: String,
        /// Why.
        reason: String,
    },
    /// Parameters that cannot be combined.
    #[error("{0}")]
    Conflict(String),
    /// RBAC denied the request.
    #[error("{0}")]
    Denied(Denial),
    /// A delegation rule denied the request: ManagedBy (R-RG-5) or the lack
    /// of a delegating assignment (R-ASG-1).
    #[error("{0}")]
    Forbidden(String),
    /// The change would break a lockout protection (R-LOCK-1..4).
    #[error(transparent)]
    Lockout(#[from] LockoutError),
    /// An organization rule.
    #[error(transparent)]
    Org(#[from] OrgError),
    /// Resolving a linked group failed.
    #[error(transparent)]
    Linked(#[from] LinkedError),
    /// A rule of role groups (R-LRG-3 and others).
    #[error("{0}")]
    Refused(String),
    /// Another node changed the organization while this change was computed,
    /// every time it was tried; nothing was changed.
    #[error("{0}; nothing was changed, run the command again")]
    Stale(String),
    /// The organization's store could not be used; nothing was changed.
    #[error("{0}")]
    Unavailable(String),
    /// The node failed while running the request (a bug); see its log.
    #[error("{0}")]
    Internal(String),
}

/// What a cmdlet returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Objects, each a list of (property, value) in display order.
    pub records: Vec<Record>,
    /// Warnings for the caller.
    pub warnings: Vec<String>,
    /// The organization after the change, for write cmdlets.
    pub change: Option<Organization>,
    /// The object acted on, for the audit log.
    pub target: Option<String>,
}

/// What a cmdlet sees while it runs.
#[derive(Debug)]
pub struct Context<'a> {
    /// The authenticated, SID-filtered caller, its SIDs completed by the
    /// request path (a local caller's security groups, R-ASG-2).
    pub caller: &'a Caller,
    /// The role assignment policies that apply to the caller.
    pub policies: &'a [String],
    /// The organization as of the start of the request.
    pub org: &'a Organization,
    /// Its compiled RBAC: what reports about the configuration read.
    pub authorizer: &'a Authorizer,
    /// The RBAC the caller is authorised against: [`Self::authorizer`], or
    /// in a statement the one of the statement's start (R-SESSION-1).
    pub permissions: &'a Authorizer,
    /// Trusted forests.
    pub trusts: &'a Trusts,
    /// The admin audit log (read by Search-AdminAuditLog).
    pub audit: &'a crate::audit::AuditLog,
    /// The cmdlet.
    pub cmdlet: &'static str,
    /// Parameters used.
    pub parameters: Vec<String>,
    /// The foreign group the `-Linked*` parameters name, resolved over the
    /// network before the writer lock was taken (see
    /// [`role_group::resolve_link`]); `None` when they were not given.
    pub linked: Option<&'a LinkedGroup>,
}

impl<'a> Context<'a> {
    /// The caller as the RBAC core sees it.
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            user: self.caller.user,
            sids: &self.caller.sids,
            policies: self.policies,
        }
    }

    /// Authorises this cmdlet with its parameters on `target`.
    pub fn authorize(&self, target: Target<'_>, access: Access) -> Result<(), CmdletError> {
        let request = Request {
            cmdlet: self.cmdlet,
            parameters: &self.parameters,
            target,
            access,
        };
        self.permissions
            .authorize(&self.subject(), &request)
            .map_err(CmdletError::Denied)
    }

    /// Requires a delegating assignment of `role` (or of a role it derives
    /// from) reaching the caller: the right to assign it (R-ASG-1).
    pub fn require_delegating(&self, role: &str) -> Result<(), CmdletError> {
        let ancestors = self.org.rbac.ancestors(role);
        let names: Vec<&str> = ancestors.iter().map(|r| r.name.as_str()).collect();
        match self
            .permissions
            .delegating_assignment(&self.subject(), role, &names)
        {
            Some(_) => Ok(()),
            None => Err(CmdletError::Forbidden(format!(
                "you can't assign or unassign `{role}`: no delegating assignment of it reaches you (R-ASG-1)"
            ))),
        }
    }

    /// Whether the caller is a member of Organization Management or holds Role
    /// Management (R-RG-5).
    pub fn is_role_administrator(&self) -> bool {
        let subject = self.subject();
        self.permissions
            .is_member(&subject, crate::rbac::catalogue::ORGANIZATION_MANAGEMENT)
            || self
                .permissions
                .holds_role(&subject, crate::rbac::lockout::ROLE_MANAGEMENT)
    }

    /// Refuses a group creation, removal or membership change under Active
    /// Directory split permissions (R-SPLIT-3); `directory_tool` is what
    /// makes the change instead.
    pub fn refuse_group_write(&self, what: &str, directory_tool: &str) -> Result<(), CmdletError> {
        crate::org::permission_model::refuse_group_write(self.org, what, directory_tool)
            .map_err(CmdletError::Refused)
    }

    /// Whether the caller may read `target` with this cmdlet (for filtering lists).
    pub fn can_read(&self, target: Target<'_>) -> bool {
        self.authorize(target, Access::Read).is_ok()
    }
}

/// A boolean as PowerShell prints it: `True` or `False`.
pub fn ps_bool(b: bool) -> String {
    if b { "True" } else { "False" }.to_owned()
}

/// The default `-ResultSize`, as Exchange.
pub const DEFAULT_RESULT_SIZE: usize = 1000;

/// Exchange's warning when a read stopped at the default `-ResultSize` with
/// more objects left.
pub const RESULT_SIZE_WARNING: &str = "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number of items returned. To return all items, specify \"-ResultSize Unlimited\". Be aware that, depending upon the actual number of items, returning all items can take a long time and consume a large amount of memory. Also, we don't recommend storing the results in a variable; instead, pipe the results to another task or script to perform batch changes.";

/// `-ResultSize`: a number or `Unlimited`; 1000 when not given, as Exchange.
pub fn result_size(args: &Args) -> Result<usize, CmdletError> {
    match args.text("ResultSize") {
        None => Ok(DEFAULT_RESULT_SIZE),
        Some(s) if s.eq_ignore_ascii_case("unlimited") => Ok(usize::MAX),
        Some(s) => s.parse().map_err(|_| {
            invalid(
                "ResultSize",
                format!("expects a number or Unlimited; got `{s}`"),
            )
        }),
    }
}

/// The first `-ResultSize` records of `records`, with Exchange's warning
/// when the default size cut some off (a size the caller gave does not
/// warn).
pub fn first_results(
    args: &Args,
    records: impl Iterator<Item = Record>,
) -> Result<Outcome, CmdletError> {
    let limit = result_size(args)?;
    let mut records: Vec<Record> = records.take(limit.saturating_add(1)).collect();
    let mut warnings = Vec::new();
    if records.len() > limit {
        records.truncate(limit);
        if args.text("ResultSize").is_none() {
            warnings.push(RESULT_SIZE_WARNING.to_owned());
        }
    }
    Ok(Outcome {
        records,
        warnings,
        ..Outcome::default()
    })
}

/// The error for a missing object.
pub fn not_found(identity: &str) -> CmdletError {
    CmdletError::Org(OrgError::NotFound(identity.to_owned()))
}

/// The error for a bad value of `parameter`.
pub fn invalid(parameter: &str, reason: impl Into<String>) -> CmdletError {
    CmdletError::InvalidValue {
        parameter: parameter.to_owned(),
        reason: reason.into(),
    }
}

/// Checks an object name: 1 to 64 characters, none of `\ / , "`.
pub fn check_name(parameter: &str, name: &str) -> Result<String, CmdletError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.contains(['\\', '/', ',', '"']) {
        return Err(invalid(
            parameter,
            format!("`{name}` must be 1 to 64 characters without \\ / , or quotes"),
        ));
    }
    Ok(name.to_owned())
}

/// A change: the next organization, the records to show and the target.
pub fn changed(next: Organization, target: &str, records: Vec<Record>) -> Outcome {
    Outcome {
        records,
        warnings: Vec::new(),
        change: Some(next),
        target: Some(target.to_owned()),
    }
}

/// Records to show, without a change.
pub fn listed(records: Vec<Record>) -> Outcome {
    Outcome {
        records,
        ..Outcome::default()
    }
}

/// The value of `property` in a record shown.
pub fn shown<'r>(record: &'r [(String, Field)], property: &str) -> Option<&'r str> {
    record
        .iter()
        .find(|(k, _)| k == property)
        .map(|(_, v)| v.text())
}

/// A record from `(name, value)` pairs; values of mixed types take `.into()`.
pub fn record<V: Into<Field>, const N: usize>(pairs: [(&str, V); N]) -> Record {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into()))
        .collect()
}
