//! The management cmdlets. Each one is bound, authorised, and only then run; a
//! change is computed on a copy of the organization and committed whole.

pub mod args;
pub mod mailbox;
pub mod role_group;
pub mod roles;
pub mod spec;

use crate::org::{OrgError, Organization};
use crate::rbac::{Access, Authorizer, Decision, Denial, Grant, Request, Subject, Target};
use crate::trust::authenticate::Caller;
use crate::trust::linked::LinkedError;
use crate::trust::Trusts;
pub use args::{Args, Value};

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
    /// An organization rule.
    #[error(transparent)]
    Org(#[from] OrgError),
    /// Resolving a linked group failed.
    #[error(transparent)]
    Linked(#[from] LinkedError),
    /// A rule of role groups (R-LRG-3 and others).
    #[error("{0}")]
    Refused(String),
}

/// What a cmdlet returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Objects, each a list of (property, value) in display order.
    pub records: Vec<Vec<(String, String)>>,
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
    /// The authenticated, SID-filtered caller.
    pub caller: &'a Caller,
    /// The organization as of the start of the request.
    pub org: &'a Organization,
    /// Its compiled RBAC.
    pub authorizer: &'a Authorizer,
    /// Trusted forests.
    pub trusts: &'a Trusts,
    /// The cmdlet.
    pub cmdlet: &'static str,
    /// Parameters used.
    pub parameters: Vec<String>,
    policies: Vec<String>,
}

impl<'a> Context<'a> {
    /// A context for one request.
    pub fn new(
        caller: &'a Caller,
        org: &'a Organization,
        authorizer: &'a Authorizer,
        trusts: &'a Trusts,
        cmdlet: &'static str,
        parameters: Vec<String>,
    ) -> Self {
        let policies = org.policies_of(&caller.user);
        Self {
            caller,
            org,
            authorizer,
            trusts,
            cmdlet,
            parameters,
            policies,
        }
    }

    /// The caller as the RBAC core sees it.
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            user: self.caller.user,
            sids: &self.caller.sids,
            policies: &self.policies,
        }
    }

    /// Authorises this cmdlet with its parameters on `target`.
    pub fn authorize(&self, target: Target<'_>, access: Access) -> Result<Vec<Grant>, CmdletError> {
        let request = Request {
            cmdlet: self.cmdlet,
            parameters: &self.parameters,
            target,
            access,
        };
        match self.authorizer.authorize(&self.subject(), &request) {
            Decision::Allowed(grants) => Ok(grants),
            Decision::Denied(denial) => Err(CmdletError::Denied(denial)),
        }
    }

    /// Whether the caller may read `target` with this cmdlet (for filtering lists).
    pub fn can_read(&self, target: Target<'_>) -> bool {
        self.authorize(target, Access::Read).is_ok()
    }
}

/// Runs a bound cmdlet. The caller has already passed the cmdlet-level check.
pub async fn run(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    match ctx.cmdlet {
        "New-Mailbox" => mailbox::new_mailbox(ctx, args),
        "Get-Mailbox" => mailbox::get_mailbox(ctx, args),
        "Set-Mailbox" => mailbox::set_mailbox(ctx, args),
        "Remove-Mailbox" => mailbox::remove_mailbox(ctx, args),
        "New-RoleGroup" => role_group::new_role_group(ctx, args).await,
        "Get-RoleGroup" => role_group::get_role_group(ctx, args),
        "Remove-RoleGroup" => role_group::remove_role_group(ctx, args),
        "Add-RoleGroupMember" => role_group::change_member(ctx, args, true),
        "Remove-RoleGroupMember" => role_group::change_member(ctx, args, false),
        "Get-RoleGroupMember" => role_group::get_role_group_member(ctx, args),
        "Get-ManagementRole" => roles::get_management_role(ctx, args),
        "Get-ManagementRoleAssignment" => roles::get_management_role_assignment(ctx, args),
        other => Err(CmdletError::NotRecognized(other.to_owned())),
    }
}

/// `(name, value)` pairs from string slices.
pub fn record<const N: usize>(pairs: [(&str, String); N]) -> Vec<(String, String)> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
