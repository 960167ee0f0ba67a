//! The registry of cmdlets: every fact about a cmdlet in one declaration, so
//! that binding, authorisation, dispatch, `Get-Command` and `Get-Help` read
//! the same entry.
//!
//! Each family declares its cmdlets beside its handlers, as a
//! `pub const CMDLETS: &[Cmdlet]` (e.g. [`super::mailbox::CMDLETS`]);
//! [`FAMILIES`] gathers them. To add a cmdlet, write its handler and add a
//! [`Cmdlet::new`] to its family's list (a new family's list to
//! [`FAMILIES`]): the name, synopsis, handler and default columns are
//! required by the constructor, the rest defaults to a cmdlet that reads,
//! takes no parameters and is authorised by the caller's roles.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use super::parameters::{self, Param};
use super::{Args, CmdletError, Context, Outcome};

/// How strongly PowerShell asks before running a cmdlet (its
/// `ConfirmImpact`): it asks when the impact is at least
/// `$ConfirmPreference` (High by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfirmImpact {
    /// Never asks: a cmdlet that changes nothing.
    None,
    /// Low risk, e.g. creating a directory user.
    Low,
    /// Medium risk: most New-, Set- and Add- cmdlets.
    Medium,
    /// High risk: removals and replacing a whole membership.
    High,
}

/// Whether a cmdlet changes the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// It only reads.
    Reads,
    /// It changes the organization (takes `-WhatIf` and `-Confirm`), with
    /// this impact.
    Writes(ConfirmImpact),
}

/// What a handler returns.
pub type CmdletResult = Result<Outcome, CmdletError>;

/// A handler that runs to completion without waiting.
pub type SyncHandler = fn(&Context<'_>, &Args) -> CmdletResult;

/// A running asynchronous handler.
pub type Pending<'a> = Pin<Box<dyn Future<Output = CmdletResult> + Send + 'a>>;

/// A handler that waits (on another forest, for linked groups and foreign users).
pub type AsyncHandler = for<'a> fn(&'a Context<'_>, &'a Args) -> Pending<'a>;

/// What runs a cmdlet once it is bound and authorised.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Runs to completion.
    Sync(SyncHandler),
    /// Returns a future.
    Async(AsyncHandler),
}

impl Handler {
    /// Runs the cmdlet.
    pub async fn run(self, ctx: &Context<'_>, args: &Args) -> CmdletResult {
        match self {
            Self::Sync(handler) => handler(ctx, args),
            Self::Async(handler) => handler(ctx, args).await,
        }
    }
}

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sync(_) => "Handler::Sync",
            Self::Async(_) => "Handler::Async",
        })
    }
}

/// One example of a cmdlet's use, as `Get-Help -Examples` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    /// The command line.
    pub code: &'static str,
    /// What it does.
    pub remarks: &'static str,
}

/// An [`Example`].
pub const fn example(code: &'static str, remarks: &'static str) -> Example {
    Example { code, remarks }
}

/// One cmdlet: how it binds, who authorises it, what runs it, how it is
/// described and shown.
#[derive(Debug, Clone, Copy)]
pub struct Cmdlet {
    /// Name, e.g. `New-Mailbox`.
    pub name: &'static str,
    /// One line on what it does (`Get-Command`, `Get-Help`).
    pub synopsis: &'static str,
    /// What runs it.
    pub handler: Handler,
    /// The properties the default table view shows, in order.
    pub default_columns: &'static [&'static str],
    /// Its objects show as a list by default, not as a table (e.g.
    /// `Get-AdminAuditLogConfig`).
    pub list_view: bool,
    /// The parameter a positional value binds to.
    pub positional: Option<&'static str>,
    /// Parameters, common ones excluded.
    pub parameters: &'static [Param],
    /// Whether it changes the organization, and its confirm impact.
    pub effect: Effect,
    /// Whether the cmdlet authorises itself instead of the cmdlet-level role
    /// check: a role group's ManagedBy may allow it without a role (R-RG-5),
    /// the directory's rights allow `New-ADUser`, and anyone may test their
    /// own permissions.
    pub self_authorizing: bool,
    /// Parameters any caller may use without a role (asking about oneself);
    /// a role granting the cmdlet adds the rest.
    pub anyone: &'static [&'static str],
    /// Parameters a role group's managers may use on the groups they manage,
    /// whatever their roles (R-RG-5).
    pub managers: &'static [&'static str],
    /// Examples of its use (`Get-Help -Examples`).
    pub examples: &'static [Example],
}

impl Cmdlet {
    /// A cmdlet that reads, takes no parameters of its own and is authorised
    /// by the caller's roles; the methods below say otherwise.
    pub const fn new(
        name: &'static str,
        synopsis: &'static str,
        handler: Handler,
        default_columns: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            synopsis,
            handler,
            default_columns,
            list_view: false,
            positional: None,
            parameters: &[],
            effect: Effect::Reads,
            self_authorizing: false,
            anyone: &[],
            managers: &[],
            examples: &[],
        }
    }

    /// Shows `examples` in its help.
    pub const fn examples(mut self, examples: &'static [Example]) -> Self {
        self.examples = examples;
        self
    }

    /// Takes `parameters`.
    pub const fn with(mut self, parameters: &'static [Param]) -> Self {
        self.parameters = parameters;
        self
    }

    /// Binds a positional value to `parameter`.
    pub const fn at(mut self, parameter: &'static str) -> Self {
        self.positional = Some(parameter);
        self
    }

    /// Shows its objects as a list by default.
    pub const fn listed(mut self) -> Self {
        self.list_view = true;
        self
    }

    /// Changes the organization, with `impact`.
    pub const fn changes(mut self, impact: ConfirmImpact) -> Self {
        self.effect = Effect::Writes(impact);
        self
    }

    /// Authorises itself (see [`Cmdlet::self_authorizing`]).
    pub const fn authorizes_itself(mut self) -> Self {
        self.self_authorizing = true;
        self
    }

    /// Anyone may use `parameters` without a role; authorises itself.
    pub const fn for_anyone(mut self, parameters: &'static [&'static str]) -> Self {
        self.anyone = parameters;
        self.authorizes_itself()
    }

    /// A role group's managers may use `parameters`; authorises itself.
    pub const fn for_managers(mut self, parameters: &'static [&'static str]) -> Self {
        self.managers = parameters;
        self.authorizes_itself()
    }

    /// Whether the cmdlet changes the organization.
    pub const fn writes(&self) -> bool {
        matches!(self.effect, Effect::Writes(_))
    }

    /// Its confirm impact: `None` for a cmdlet that only reads.
    pub const fn confirm_impact(&self) -> ConfirmImpact {
        match self.effect {
            Effect::Reads => ConfirmImpact::None,
            Effect::Writes(impact) => impact,
        }
    }

    /// A parameter by name (case-insensitive), common parameters included.
    pub fn parameter(&self, name: &str) -> Option<Param> {
        self.parameters
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .copied()
            .or_else(|| parameters::common(name, self.writes()))
    }
}

/// Every family's cmdlets, in the order `Get-Command` lists them.
pub const FAMILIES: &[&[Cmdlet]] = &[
    super::mailbox::CMDLETS,
    super::remote_mailbox::CMDLETS,
    super::distribution_groups::CMDLETS,
    super::role_group::CMDLETS,
    super::roles::CMDLETS,
    super::assignments::CMDLETS,
    super::scopes::CMDLETS,
    super::policies::CMDLETS,
    super::servers::CMDLETS,
    super::audit_log::CMDLETS,
    super::audit_config::CMDLETS,
    super::directory::CMDLETS,
    super::connectors::CMDLETS,
    super::permissions::CMDLETS,
    super::help::CMDLETS,
];

/// Every implemented cmdlet.
pub fn all() -> impl Iterator<Item = &'static Cmdlet> {
    FAMILIES.iter().flat_map(|family| family.iter())
}

/// The cmdlet named `name` (case-insensitive).
pub fn find(name: &str) -> Option<&'static Cmdlet> {
    all().find(|c| c.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::cmdlets::parameters::Kind;
    use crate::cmdlets::Value;
    use crate::rbac::catalogue;
    use crate::rbac::common_parameters::{is_common_parameter, COMMON_PARAMETERS};

    fn declared(cmdlet: &Cmdlet, name: &str) -> bool {
        cmdlet.parameters.iter().any(|p| p.name == name)
    }

    #[test]
    fn every_cmdlet_is_declared_once_and_whole() {
        let mut names = BTreeSet::new();
        for cmdlet in all() {
            let name = cmdlet.name;
            assert!(
                names.insert(name.to_ascii_lowercase()),
                "{name} is declared twice"
            );
            assert!(!cmdlet.synopsis.is_empty(), "{name} has no synopsis");
            assert!(cmdlet.synopsis.ends_with('.'), "{name}");
            assert!(!cmdlet.default_columns.is_empty(), "{name} has no columns");
            let columns: BTreeSet<_> = cmdlet.default_columns.iter().collect();
            assert_eq!(columns.len(), cmdlet.default_columns.len(), "{name}");
            let mut parameters = BTreeSet::new();
            for p in cmdlet.parameters {
                assert!(parameters.insert(p.name), "{name} -{}", p.name);
                assert!(!is_common_parameter(p.name), "{name} -{}", p.name);
            }
            if let Some(positional) = cmdlet.positional {
                assert!(declared(cmdlet, positional), "{name} [-{positional}]");
            }
            for p in cmdlet.anyone.iter().chain(cmdlet.managers) {
                assert!(declared(cmdlet, p), "{name} -{p}");
            }
            if !cmdlet.anyone.is_empty() || !cmdlet.managers.is_empty() {
                assert!(cmdlet.self_authorizing, "{name}");
            }
            assert_eq!(
                cmdlet.writes(),
                cmdlet.confirm_impact() != ConfirmImpact::None,
                "{name}"
            );
            match &cmdlet.handler {
                Handler::Sync(_) | Handler::Async(_) => {}
            }
        }
        assert_eq!(names.len(), 68);
    }

    #[test]
    fn confirm_impact_follows_exchange() {
        let impact = |name: &str| find(name).map(Cmdlet::confirm_impact);
        assert_eq!(impact("Get-Mailbox"), Some(ConfirmImpact::None));
        assert_eq!(impact("New-Mailbox"), Some(ConfirmImpact::Medium));
        assert_eq!(impact("Set-Mailbox"), Some(ConfirmImpact::Medium));
        assert_eq!(impact("New-ADUser"), Some(ConfirmImpact::Low));
        for cmdlet in all() {
            let verb = cmdlet.name.split('-').next().unwrap_or_default();
            match verb {
                "Remove" | "Disable" | "Update" => {
                    assert_eq!(
                        cmdlet.confirm_impact(),
                        ConfirmImpact::High,
                        "{}",
                        cmdlet.name
                    );
                }
                "Get" | "Search" | "Test" => assert!(!cmdlet.writes(), "{}", cmdlet.name),
                _ => assert!(cmdlet.writes(), "{}", cmdlet.name),
            }
        }
    }

    /// A value of `kind`, as the shell would send it.
    fn value(kind: Kind) -> Value {
        match kind {
            Kind::Text => Value::Text("x".into()),
            Kind::List => Value::List(vec!["x".into()]),
            Kind::Bool => Value::Bool(true),
            Kind::Switch => Value::Switch,
        }
    }

    #[test]
    fn every_cmdlet_binds_the_common_parameters() {
        for cmdlet in all() {
            let required: Vec<(String, Value)> = cmdlet
                .parameters
                .iter()
                .filter(|p| p.required)
                .map(|p| (p.name.to_ascii_lowercase(), value(p.kind)))
                .collect();
            for common in &COMMON_PARAMETERS {
                let given = if common.switch {
                    Value::Switch
                } else {
                    Value::Text("Continue".into())
                };
                let mut parameters = required.clone();
                parameters.push((common.name.to_ascii_uppercase(), given));
                let bound = Args::bind(cmdlet, parameters);
                if common.risk_mitigation && !cmdlet.writes() {
                    assert!(
                        matches!(bound, Err(CmdletError::UnknownParameter { .. })),
                        "{} -{}: {bound:?}",
                        cmdlet.name,
                        common.name
                    );
                } else {
                    let names = bound
                        .unwrap_or_else(|e| panic!("{} -{}: {e}", cmdlet.name, common.name))
                        .names();
                    assert!(names.iter().any(|n| n == common.name), "{names:?}");
                }
            }
        }
    }

    #[test]
    fn no_role_entry_grants_a_common_parameter() -> Result<(), catalogue::CatalogueError> {
        let builtin = catalogue::builtin()?;
        let mut entries = 0;
        for role in builtin.roles.values() {
            for entry in role.entries.values() {
                entries += 1;
                for p in &entry.parameters {
                    assert!(
                        !is_common_parameter(p),
                        "{}: {} -{p}",
                        role.name,
                        entry.cmdlet
                    );
                }
                // What a role grants on an implemented cmdlet, binding accepts.
                if let Some(cmdlet) = find(&entry.cmdlet) {
                    for p in &entry.parameters {
                        assert!(declared(cmdlet, p), "{}: {} -{p}", role.name, entry.cmdlet);
                    }
                }
            }
        }
        assert!(entries > 0);
        Ok(())
    }

    #[test]
    fn default_views_are_ems_views() {
        let columns = |name: &str| find(name).map(|c| (c.default_columns, c.list_view));
        assert_eq!(
            columns("Get-Mailbox"),
            Some((
                &["Name", "Alias", "ServerName", "ProhibitSendQuota"][..],
                false
            ))
        );
        assert_eq!(
            columns("Get-MailboxDatabase"),
            Some((
                &["Name", "Server", "Recovery", "ReplicationType"][..],
                false
            ))
        );
        assert_eq!(columns("Get-AdminAuditLogConfig").map(|c| c.1), Some(true));
    }

    #[test]
    fn look_ups_ignore_case() {
        for name in ["get-mailbox", "GET-MAILBOX", "Get-Mailbox"] {
            assert_eq!(find(name).map(|c| c.name), Some("Get-Mailbox"));
        }
        assert!(find("Get-Nothing").is_none());
        let set = find("set-rolegroup").map(|c| (c.name, c.self_authorizing));
        assert_eq!(set, Some(("Set-RoleGroup", true)));
        let mailbox = find("Set-Mailbox").and_then(|c| c.parameter("identity"));
        assert_eq!(mailbox.map(|p| p.name), Some("Identity"));
        let what_if = find("Set-Mailbox").and_then(|c| c.parameter("whatif"));
        assert_eq!(what_if.map(|p| p.kind), Some(Kind::Switch));
    }
}
