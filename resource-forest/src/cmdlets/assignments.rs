//! New-, Get-, Set- and Remove-ManagementRoleAssignment: regular and delegating
//! assignments of roles to role groups, users, USGs and policies (R-ASG-1), with
//! their write scopes (R-SCOPE-5, R-SCOPE-6). Assigning or unassigning a role
//! needs a delegating assignment of it (R-ASG-1); the lockout rules are checked
//! on every change (R-LOCK-1..4).

use super::parameters::{
    p, req,
    Kind::{Bool, List, Switch, Text},
    Param, IDENTITY,
};
use super::registry::{
    Cmdlet,
    ConfirmImpact::{High, Medium},
    Handler,
};
use super::Record;
use super::{changed, invalid, listed, not_found, record, Args, CmdletError, Context, Outcome};
use crate::org::recipients::RecipientType;
use crate::rbac::config::builtin_assignment_name;
use crate::rbac::model::{
    Assignee, ConfigWriteScope, Delegation, RecipientScope, RecipientWriteScope, RoleAssignment,
};
use crate::rbac::scope::ScopeRestrictionType;
use crate::rbac::{Access, Subject, Target};
use crossforest_shared::Sid;

/// The role assignment cmdlets.
pub const CMDLETS: &[Cmdlet] = &[
    Cmdlet::new(
        "New-ManagementRoleAssignment",
        "Assigns a role to a role group, user, security group or policy.",
        Handler::Sync(new_assignment),
        ASSIGNMENT_VIEW,
    )
    .with(&[
        p("Name", Text),
        req("Role", Text),
        p("User", Text),
        p("SecurityGroup", Text),
        p("Policy", Text),
        p("Delegating", Switch),
        p("RecipientOrganizationalUnitScope", Text),
        p("CustomRecipientWriteScope", Text),
        p("ExclusiveRecipientWriteScope", Text),
        p("RecipientRelativeWriteScope", Text),
        p("CustomConfigWriteScope", Text),
        p("ExclusiveConfigWriteScope", Text),
    ])
    .at("Name")
    .changes(Medium),
    Cmdlet::new(
        "Get-ManagementRoleAssignment",
        "Lists role assignments; answers who can write a recipient.",
        Handler::Async(|ctx, args| Box::pin(get_assignment(ctx, args))),
        ASSIGNMENT_VIEW,
    )
    .with(&[
        p("Identity", Text),
        p("Role", Text),
        p("RoleAssignee", Text),
        p("Delegating", Bool),
        p("Enabled", Bool),
        p("GetEffectiveUsers", Switch),
        p("WritableRecipient", Text),
        p("WritableServer", Text),
        p("WritableDatabase", Text),
        p("CustomRecipientWriteScope", Text),
        p("ExclusiveRecipientWriteScope", Text),
        p("RoleAssigneeType", Text),
        p("AssignmentMethod", List),
        p("Exclusive", Bool),
        p("RecipientWriteScope", Text),
        p("RecipientOrganizationalUnitScope", Text),
        p("ConfigWriteScope", Text),
        p("CustomConfigWriteScope", Text),
        p("ExclusiveConfigWriteScope", Text),
    ])
    .at("Identity"),
    Cmdlet::new(
        "Set-ManagementRoleAssignment",
        "Changes the scope of a role assignment or disables it.",
        Handler::Sync(set_assignment),
        ASSIGNMENT_VIEW,
    )
    .with(SET_ASSIGNMENT)
    .at("Identity")
    .changes(Medium),
    Cmdlet::new(
        "Remove-ManagementRoleAssignment",
        "Removes a role assignment.",
        Handler::Sync(remove_assignment),
        ASSIGNMENT_VIEW,
    )
    .with(IDENTITY)
    .at("Identity")
    .changes(High),
];

/// EMS shows Name, Role, RoleAssigneeName, RoleAssigneeType,
/// AssignmentMethod, EffectiveUserName.
const ASSIGNMENT_VIEW: &[&str] = &[
    "Name",
    "Role",
    "RoleAssigneeName",
    "RoleAssigneeType",
    "AssignmentMethod",
    "EffectiveUserName",
];

const SET_ASSIGNMENT: &[Param] = &[
    req("Identity", Text),
    p("Enabled", Bool),
    p("RecipientOrganizationalUnitScope", Text),
    p("CustomRecipientWriteScope", Text),
    p("ExclusiveRecipientWriteScope", Text),
    p("RecipientRelativeWriteScope", Text),
    p("CustomConfigWriteScope", Text),
    p("ExclusiveConfigWriteScope", Text),
];

const RECIPIENT_SCOPES: [&str; 4] = [
    "RecipientOrganizationalUnitScope",
    "CustomRecipientWriteScope",
    "ExclusiveRecipientWriteScope",
    "RecipientRelativeWriteScope",
];
const CONFIG_SCOPES: [&str; 2] = ["CustomConfigWriteScope", "ExclusiveConfigWriteScope"];

fn one_of<'a>(
    args: &'a Args,
    names: &[&'static str],
) -> Result<Option<(&'static str, &'a str)>, CmdletError> {
    let given: Vec<&'static str> = names.iter().copied().filter(|n| args.has(n)).collect();
    if given.len() > 1 {
        return Err(CmdletError::Conflict(format!(
            "{} can't be combined: an assignment has at most one recipient and one configuration write scope (R-SCOPE-5, R-SCOPE-6)",
            given.iter().map(|n| format!("-{n}")).collect::<Vec<_>>().join(" and ")
        )));
    }
    Ok(given.first().and_then(|n| args.text(n).map(|v| (*n, v))))
}

fn relative(value: &str) -> Result<RecipientScope, CmdletError> {
    Ok(match value.to_ascii_lowercase().as_str() {
        "organization" => RecipientScope::Organization,
        "self" => RecipientScope::Myself,
        "mygal" => RecipientScope::MyGal,
        "mydistributiongroups" => RecipientScope::MyDistributionGroups,
        "none" => RecipientScope::None,
        _ => {
            return Err(invalid(
                "RecipientRelativeWriteScope",
                format!(
                "expects Organization, Self, MyGAL, MyDistributionGroups or None; got `{value}`"
            ),
            ))
        }
    })
}

fn named_scope(
    ctx: &Context<'_>,
    parameter: &str,
    name: &str,
    kinds: &[ScopeRestrictionType],
    exclusive: bool,
) -> Result<String, CmdletError> {
    let scope = ctx.org.rbac.scope(name).ok_or_else(|| not_found(name))?;
    if !kinds.contains(&scope.restriction_type()) {
        return Err(invalid(
            parameter,
            format!(
                "`{}` is a {} and can't be used here",
                scope.name,
                scope.restriction_type()
            ),
        ));
    }
    if scope.exclusive != exclusive {
        return Err(invalid(
            parameter,
            if scope.exclusive {
                format!(
                    "`{}` is exclusive: use it with an -Exclusive…WriteScope parameter",
                    scope.name
                )
            } else {
                format!(
                    "`{}` isn't exclusive: use it with a -Custom…WriteScope parameter",
                    scope.name
                )
            },
        ));
    }
    Ok(scope.name.clone())
}

/// The recipient and configuration write scopes given on the command line,
/// each checked (R-SCOPE-5, R-SCOPE-6); `None` where none was given.
pub fn scopes_from(
    ctx: &Context<'_>,
    args: &Args,
) -> Result<(Option<RecipientWriteScope>, Option<ConfigWriteScope>), CmdletError> {
    let recipient_kinds = [ScopeRestrictionType::RecipientScope];
    let config_kinds = [
        ScopeRestrictionType::ServerScope,
        ScopeRestrictionType::DatabaseScope,
    ];
    let recipient = match one_of(args, &RECIPIENT_SCOPES)? {
        None => None,
        Some(("RecipientOrganizationalUnitScope", ou)) => {
            Some(RecipientWriteScope::OrganizationalUnit(ctx.org.ou(ou)?))
        }
        Some(("RecipientRelativeWriteScope", v)) => {
            Some(RecipientWriteScope::Relative(relative(v)?))
        }
        Some((p @ "ExclusiveRecipientWriteScope", s)) => Some(RecipientWriteScope::Exclusive(
            named_scope(ctx, p, s, &recipient_kinds, true)?,
        )),
        Some((p, s)) => Some(RecipientWriteScope::Custom(named_scope(
            ctx,
            p,
            s,
            &recipient_kinds,
            false,
        )?)),
    };
    let config = match one_of(args, &CONFIG_SCOPES)? {
        None => None,
        Some((p @ "ExclusiveConfigWriteScope", s)) => Some(ConfigWriteScope::Exclusive(
            named_scope(ctx, p, s, &config_kinds, true)?,
        )),
        Some((p, s)) => Some(ConfigWriteScope::Custom(named_scope(
            ctx,
            p,
            s,
            &config_kinds,
            false,
        )?)),
    };
    Ok((recipient, config))
}

fn assignee(ctx: &Context<'_>, args: &Args) -> Result<(Assignee, String), CmdletError> {
    let given: Vec<&str> = ["User", "SecurityGroup", "Policy"]
        .into_iter()
        .filter(|p| args.has(p))
        .collect();
    let [kind] = given.as_slice() else {
        return Err(CmdletError::Conflict(
            "give exactly one of -User, -SecurityGroup or -Policy".into(),
        ));
    };
    let identity = args.text(kind).unwrap_or_default();
    match *kind {
        "Policy" => {
            let p = ctx
                .org
                .rbac
                .policy(identity)
                .ok_or_else(|| not_found(identity))?;
            Ok((Assignee::Policy(p.name.clone()), p.name.clone()))
        }
        "SecurityGroup" => {
            // Role groups are universal security groups: assigning to one by
            // name is how Exchange assigns roles to role groups.
            if let Some(g) = ctx.org.rbac.role_group(identity) {
                return Ok((Assignee::RoleGroup(g.name.clone()), g.name.clone()));
            }
            let g = ctx
                .org
                .recipient(identity, &[RecipientType::MailUniversalSecurityGroup])?;
            Ok((Assignee::SecurityGroup(g.sid), g.name.clone()))
        }
        _ => {
            if let Some((sid, name)) = ctx
                .org
                .local_accounts
                .iter()
                .find(|(s, n)| n.eq_ignore_ascii_case(identity) || s.to_string() == identity)
            {
                return Ok((Assignee::User(*sid), name.clone()));
            }
            let u = ctx.org.recipient(identity, &RecipientType::USERS)?;
            Ok((Assignee::User(u.sid), u.name.clone()))
        }
    }
}

/// `New-ManagementRoleAssignment`.
pub fn new_assignment(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let role_name = args.required("Role", ctx.cmdlet)?;
    let role = ctx
        .org
        .rbac
        .role(role_name)
        .ok_or_else(|| not_found(role_name))?;
    ctx.require_delegating(&role.name)?;
    let (who, who_name) = assignee(ctx, args)?;
    let delegation = if args.switch("Delegating") {
        Delegation::Delegating
    } else {
        Delegation::Regular
    };
    let (recipient, config) = scopes_from(ctx, args)?;
    let scoped = recipient.is_some() || config.is_some();
    if let Assignee::Policy(_) = who {
        if !role.is_end_user() {
            return Err(CmdletError::Refused(format!(
                "`{}` isn't an end-user role; only end-user roles can be assigned to role assignment policies (R-ROLE-4)",
                role.name
            )));
        }
        if scoped || delegation == Delegation::Delegating {
            return Err(CmdletError::Conflict(
                "assignments to role assignment policies take no scopes and can't be delegating (R-ROLE-4)".into(),
            ));
        }
    }
    if role.unscoped && scoped {
        return Err(CmdletError::Conflict(format!(
            "`{}` is an unscoped top-level role and can't be scoped (R-ROLE-3)",
            role.name
        )));
    }
    if delegation == Delegation::Delegating && scoped {
        return Err(CmdletError::Conflict(
            "a delegating assignment grants only the right to assign the role; it takes no scopes"
                .into(),
        ));
    }
    let name = match args.text("Name") {
        Some(n) => super::check_name("Name", n)?,
        None => builtin_assignment_name(&role.name, &who_name, delegation),
    };
    if ctx
        .org
        .rbac
        .assignments
        .contains_key(&name.to_ascii_lowercase())
    {
        return Err(crate::org::OrgError::Exists(name).into());
    }
    let mut assignment = RoleAssignment::new(name.clone(), role.name.clone(), who, delegation);
    if let Some(r) = recipient {
        assignment.recipient_write_scope = r;
    }
    if let Some(c) = config {
        assignment.config_write_scope = c;
    }
    let mut next = ctx.org.clone();
    let records = vec![assignment_record(ctx, &assignment)];
    next.rbac_mut().insert_assignment(assignment);
    Ok(changed(next, &name, records))
}

fn assignee_name(ctx: &Context<'_>, a: &Assignee) -> String {
    match a {
        Assignee::RoleGroup(g) | Assignee::Policy(g) => g.clone(),
        Assignee::User(sid) | Assignee::SecurityGroup(sid) => ctx.org.sid_name(sid),
    }
}

fn assignment_record(ctx: &Context<'_>, a: &RoleAssignment) -> Record {
    let (write, custom, ou) = match &a.recipient_write_scope {
        RecipientWriteScope::Implicit => (
            ctx.org
                .rbac
                .role(&a.role)
                .map(|r| r.scopes.recipient_write.to_string())
                .unwrap_or_default(),
            String::new(),
            String::new(),
        ),
        RecipientWriteScope::Relative(s) => (s.to_string(), String::new(), String::new()),
        RecipientWriteScope::OrganizationalUnit(ou) => ("OU".into(), String::new(), ou.to_string()),
        RecipientWriteScope::Custom(s) => ("CustomRecipientScope".into(), s.clone(), String::new()),
        RecipientWriteScope::Exclusive(s) => {
            ("ExclusiveRecipientScope".into(), s.clone(), String::new())
        }
    };
    let (config, custom_config) = match &a.config_write_scope {
        ConfigWriteScope::Implicit => (
            ctx.org
                .rbac
                .role(&a.role)
                .map(|r| r.scopes.config_write.to_string())
                .unwrap_or_default(),
            String::new(),
        ),
        ConfigWriteScope::Custom(s) => ("CustomConfigScope".into(), s.clone()),
        ConfigWriteScope::Exclusive(s) => ("ExclusiveConfigScope".into(), s.clone()),
    };
    let role = ctx.org.rbac.role(&a.role);
    record([
        ("Name", a.name.clone()),
        ("Role", a.role.clone()),
        ("RoleAssigneeName", assignee_name(ctx, &a.assignee)),
        ("RoleAssigneeType", a.assignee.type_name().to_owned()),
        ("AssignmentMethod", DIRECT.to_owned()),
        ("RoleAssignmentDelegationType", a.delegation.to_string()),
        (
            "RecipientReadScope",
            role.map(|r| r.scopes.recipient_read.to_string())
                .unwrap_or_default(),
        ),
        (
            "ConfigReadScope",
            role.map(|r| r.scopes.config_read.to_string())
                .unwrap_or_default(),
        ),
        ("RecipientWriteScope", write),
        ("CustomRecipientWriteScope", custom),
        ("RecipientOrganizationalUnitScope", ou),
        ("ConfigWriteScope", config),
        ("CustomConfigWriteScope", custom_config),
        ("Enabled", super::ps_bool(a.enabled)),
    ])
}

/// `Get-ManagementRoleAssignment`, with `-GetEffectiveUsers` (each assignment
/// once per user, nested groups expanded, linked groups shown as their foreign
/// group, R-LRG-8) and `-WritableRecipient`, `-WritableServer` or
/// `-WritableDatabase` (only assignments whose effective write scope contains
/// the object, evaluated per effective user).
pub async fn get_assignment(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Read)?;
    let identity = args.text("Identity");
    let role = args.text("Role");
    let assignee_filter = args.text("RoleAssignee");
    let delegating = args.boolean("Delegating");
    let enabled = args.boolean("Enabled");
    let custom = args.text("CustomRecipientWriteScope");
    let exclusive = args.text("ExclusiveRecipientWriteScope");
    let writable = match (
        args.text("WritableRecipient"),
        args.text("WritableServer"),
        args.text("WritableDatabase"),
    ) {
        (None, None, None) => None,
        (Some(r), None, None) => Some(Target::Recipient(ctx.org.recipient(r, &[])?)),
        (None, Some(s), None) => Some(Target::Server(
            ctx.org
                .servers
                .get(&s.to_ascii_lowercase())
                .ok_or_else(|| not_found(s))?,
        )),
        (None, None, Some(d)) => Some(Target::Database(
            ctx.org
                .databases
                .get(&d.to_ascii_lowercase())
                .ok_or_else(|| not_found(d))?,
        )),
        _ => {
            return Err(CmdletError::Conflict(
                "-WritableRecipient, -WritableServer and -WritableDatabase can't be combined"
                    .into(),
            ))
        }
    };
    let effective = args.switch("GetEffectiveUsers") || writable.is_some();
    // A user or USG as `-RoleAssignee` gets every assignment reaching it:
    // direct, through role groups and USGs (nested) and through its mailbox's
    // role assignment policy (R-ASG-2). A role group or policy gets its own.
    let reaching: Option<(Sid, Vec<Sid>, Vec<String>)> = assignee_filter
        .filter(|x| ctx.org.rbac.role_group(x).is_none() && ctx.org.rbac.policy(x).is_none())
        .and_then(|x| ctx.org.principal_sid(x).ok())
        .map(|sid| {
            let mut sids = vec![sid];
            sids.extend(ctx.org.security_groups_of(&sid));
            (sid, sids, ctx.org.policies_of(&sid))
        });
    let shown = shown_filters(ctx, args)?;
    // How an assignment reaches `-RoleAssignee` (AssignmentMethod).
    let method = |a: &RoleAssignment| match (&reaching, &a.assignee) {
        (Some((user, ..)), Assignee::User(s) | Assignee::SecurityGroup(s)) if s == user => DIRECT,
        (Some(_), Assignee::RoleGroup(_)) => "RoleGroup",
        (Some(_), Assignee::SecurityGroup(_)) => "SecurityGroup",
        (Some(_), Assignee::Policy(_)) => "RoleAssignmentPolicy",
        _ => DIRECT,
    };
    let reaches = |a: &RoleAssignment, name: &str| match (&reaching, assignee_filter) {
        (_, None) => true,
        (Some((user, sids, policies)), Some(_)) => {
            let subject = Subject {
                user: *user,
                sids,
                policies,
            };
            ctx.authorizer.reaches(&subject, &a.assignee)
        }
        (None, Some(x)) => x.eq_ignore_ascii_case(name),
    };
    let mut records = Vec::new();
    let mut warnings = Vec::new();
    let mut foreign = ForeignMembers::default();
    for a in ctx.org.rbac.assignments.values() {
        let name = assignee_name(ctx, &a.assignee);
        let keep = identity.is_none_or(|i| a.name.eq_ignore_ascii_case(i))
            && role.is_none_or(|r| a.role.eq_ignore_ascii_case(r))
            && delegating.is_none_or(|d| (a.delegation == Delegation::Delegating) == d)
            && enabled.is_none_or(|e| a.enabled == e)
            && reaches(a, &name)
            && custom.is_none_or(|c| matches!(&a.recipient_write_scope, RecipientWriteScope::Custom(s) if s.eq_ignore_ascii_case(c)))
            && exclusive.is_none_or(|c| matches!(&a.recipient_write_scope, RecipientWriteScope::Exclusive(s) if s.eq_ignore_ascii_case(c)));
        if !keep {
            continue;
        }
        let mut record = assignment_record(ctx, a);
        set(&mut record, "AssignmentMethod", method(a));
        if !shown.iter().all(|check| check.holds(&record)) {
            continue;
        }
        if !effective {
            records.push(record);
            continue;
        }
        for (user, sids) in effective_users(ctx, &a.assignee, &mut foreign, &mut warnings).await {
            let Some(&sid) = sids.first() else {
                continue;
            };
            if let Some(w) = writable {
                let policies = ctx.org.policies_of(&sid);
                let subject = Subject {
                    user: sid,
                    sids: &sids,
                    policies: &policies,
                };
                if a.delegation == Delegation::Delegating
                    || !a.enabled
                    || !ctx.authorizer.assignment_writes(&a.name, &subject, w)
                {
                    continue;
                }
            }
            let mut r = record.clone();
            r.insert(1, ("EffectiveUserName".into(), user.into()));
            records.push(r);
        }
    }
    Ok(Outcome {
        warnings,
        ..listed(records)
    })
}

/// `AssignmentMethod` of an assignment to the assignee itself.
const DIRECT: &str = "Direct";

/// Sets `property` of a record shown.
fn set(record: &mut [(String, super::Field)], property: &str, value: &str) {
    if let Some((_, v)) = record.iter_mut().find(|(k, _)| k == property) {
        *v = value.into();
    }
}

/// A filter of `Get-ManagementRoleAssignment` on a property as shown: one of
/// `values` (case-insensitive), or for `-Exclusive` whether a write scope is
/// exclusive.
enum Shown {
    /// The property is one of the values.
    OneOf(&'static str, Vec<String>),
    /// Whether the recipient or configuration write scope is exclusive.
    Exclusive(bool),
}

impl Shown {
    fn holds(&self, record: &[(String, super::Field)]) -> bool {
        let value = |property: &str| super::shown(record, property).unwrap_or_default();
        match self {
            Self::OneOf(property, values) => values
                .iter()
                .any(|v| v.eq_ignore_ascii_case(value(property))),
            Self::Exclusive(e) => {
                (value("RecipientWriteScope") == "ExclusiveRecipientScope"
                    || value("ConfigWriteScope") == "ExclusiveConfigScope")
                    == *e
            }
        }
    }
}

/// `value` if it is one of `valid` (as spelled there), else an error naming
/// `parameter` and the valid values.
fn one_of_values(parameter: &str, value: &str, valid: &[&str]) -> Result<String, CmdletError> {
    valid
        .iter()
        .find(|v| v.eq_ignore_ascii_case(value.trim()))
        .map(|v| (*v).to_owned())
        .ok_or_else(|| {
            invalid(
                parameter,
                format!("expects {}; got `{value}`", valid.join(", ")),
            )
        })
}

/// The filters on properties as shown: `-RoleAssigneeType`,
/// `-AssignmentMethod` (with `-RoleAssignee`), `-Exclusive`, the write scope
/// kinds and the OU and configuration scopes.
fn shown_filters(ctx: &Context<'_>, args: &Args) -> Result<Vec<Shown>, CmdletError> {
    let mut out = Vec::new();
    let mut one = |property, value: String| out.push(Shown::OneOf(property, vec![value]));
    if let Some(t) = args.text("RoleAssigneeType") {
        let valid = ["User", "SecurityGroup", "RoleGroup", "RoleAssignmentPolicy"];
        one(
            "RoleAssigneeType",
            one_of_values("RoleAssigneeType", t, &valid)?,
        );
    }
    if let Some(t) = args.text("RecipientWriteScope") {
        let valid = [
            "None",
            "NotApplicable",
            "Organization",
            "MyGAL",
            "Self",
            "OU",
            "CustomRecipientScope",
            "MyDistributionGroups",
            "ExclusiveRecipientScope",
        ];
        one(
            "RecipientWriteScope",
            one_of_values("RecipientWriteScope", t, &valid)?,
        );
    }
    if let Some(t) = args.text("ConfigWriteScope") {
        let valid = [
            "None",
            "NotApplicable",
            "OrganizationConfig",
            "CustomConfigScope",
            "ExclusiveConfigScope",
        ];
        one(
            "ConfigWriteScope",
            one_of_values("ConfigWriteScope", t, &valid)?,
        );
    }
    if let Some(ou) = args.text("RecipientOrganizationalUnitScope") {
        one(
            "RecipientOrganizationalUnitScope",
            ctx.org.ou(ou)?.to_string(),
        );
    }
    for (parameter, kind) in [
        ("CustomConfigWriteScope", "CustomConfigScope"),
        ("ExclusiveConfigWriteScope", "ExclusiveConfigScope"),
    ] {
        if let Some(scope) = args.text(parameter) {
            one("ConfigWriteScope", kind.to_owned());
            one("CustomConfigWriteScope", scope.to_owned());
        }
    }
    if let Some(methods) = args.list("AssignmentMethod") {
        if !args.has("RoleAssignee") {
            return Err(CmdletError::Conflict(
                "-AssignmentMethod needs -RoleAssignee: it says how assignments reach that assignee"
                    .into(),
            ));
        }
        let valid = [
            "Direct",
            "SecurityGroup",
            "RoleGroup",
            "RoleAssignmentPolicy",
        ];
        let methods = methods
            .iter()
            .map(|m| one_of_values("AssignmentMethod", m, &valid))
            .collect::<Result<_, _>>()?;
        out.push(Shown::OneOf("AssignmentMethod", methods));
    }
    if let Some(e) = args.boolean("Exclusive") {
        out.push(Shown::Exclusive(e));
    }
    Ok(out)
}

/// Members of foreign groups, read once per request with the linked credential.
#[derive(Default)]
struct ForeignMembers(std::collections::BTreeMap<Sid, Option<Vec<(Sid, String)>>>);

impl ForeignMembers {
    async fn of(
        &mut self,
        ctx: &Context<'_>,
        link: &crate::rbac::model::LinkedGroup,
        warnings: &mut Vec<String>,
    ) -> Option<Vec<(Sid, String)>> {
        if let Some(known) = self.0.get(&link.sid) {
            return known.clone();
        }
        let read = match ctx.trusts.get(&link.forest) {
            Some(trust) => crate::trust::linked::foreign_members(trust, &link.sid)
                .await
                .map_err(|e| e.to_string()),
            None => Err(format!("`{}` is no longer trusted", link.forest)),
        };
        let members = match read {
            Ok(m) => Some(m),
            Err(e) => {
                warnings.push(format!(
                    "the members of `{}` couldn't be read with the linked credential: {e}; showing the group",
                    link.name
                ));
                None
            }
        };
        self.0.insert(link.sid, members.clone());
        members
    }
}

/// The users an assignee stands for: role groups expanded through nesting;
/// a linked group as its foreign group, marked foreign; a policy as its
/// mailboxes.
async fn effective_users(
    ctx: &Context<'_>,
    assignee: &Assignee,
    foreign: &mut ForeignMembers,
    warnings: &mut Vec<String>,
) -> Vec<(String, Vec<Sid>)> {
    use crate::rbac::model::RoleGroupKind;
    let rbac = &ctx.org.rbac;
    match assignee {
        Assignee::User(sid) | Assignee::SecurityGroup(sid) => {
            vec![(ctx.org.sid_name(sid), vec![*sid])]
        }
        Assignee::Policy(p) => ctx
            .org
            .recipients
            .values()
            .filter(|r| r.role_assignment_policy.eq_ignore_ascii_case(p))
            .map(|r| (r.name.clone(), vec![r.sid]))
            .collect(),
        Assignee::RoleGroup(g) => {
            let mut out = Vec::new();
            let mut seen = std::collections::BTreeSet::new();
            let mut stack = vec![g.clone()];
            while let Some(name) = stack.pop() {
                let Some(group) = rbac.role_group(&name) else {
                    continue;
                };
                if !seen.insert(group.sid) {
                    continue;
                }
                match &group.kind {
                    // R-LRG-8: the foreign members, read with the linked
                    // credential and marked foreign; the group itself if the
                    // account forest can't be read.
                    RoleGroupKind::Linked(link) => match foreign.of(ctx, link, warnings).await {
                        Some(members) => out.extend(members.into_iter().map(|(sid, name)| {
                            (
                                format!("{name} (foreign, via {})", link.name),
                                vec![sid, link.sid],
                            )
                        })),
                        None => out.push((
                            format!("{} (foreign group {})", link.name, link.sid),
                            vec![link.sid],
                        )),
                    },
                    RoleGroupKind::Standard { members } => {
                        for m in members {
                            match rbac.role_group_by_sid(m) {
                                Some(nested) => stack.push(nested.name.clone()),
                                None => out.push((ctx.org.sid_name(m), vec![*m])),
                            }
                        }
                    }
                }
            }
            out
        }
    }
}

/// The assignment `identity` names.
fn find<'a>(ctx: &'a Context<'_>, identity: &str) -> Result<&'a RoleAssignment, CmdletError> {
    ctx.org
        .rbac
        .assignments
        .get(&identity.to_ascii_lowercase())
        .ok_or_else(|| not_found(identity))
}

/// `Set-ManagementRoleAssignment`: `-Enabled` (R-ASG-4) and the write scopes;
/// a scope parameter replaces that kind of scope.
pub fn set_assignment(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let current = find(ctx, args.required("Identity", ctx.cmdlet)?)?;
    ctx.require_delegating(&current.role)?;
    let mut updated = current.clone();
    if let Some(e) = args.boolean("Enabled") {
        updated.enabled = e;
    }
    let (recipient, config) = scopes_from(ctx, args)?;
    if (recipient.is_some() || config.is_some()) && current.delegation == Delegation::Delegating {
        return Err(CmdletError::Conflict(
            "a delegating assignment takes no scopes".into(),
        ));
    }
    if recipient.is_some() || config.is_some() {
        let role = ctx.org.rbac.role(&current.role);
        if role.is_some_and(|r| r.unscoped) || matches!(current.assignee, Assignee::Policy(_)) {
            return Err(CmdletError::Conflict(format!(
                "`{}` can't be scoped: unscoped roles and policy assignments take no scopes (R-ROLE-3, R-ROLE-4)",
                current.name
            )));
        }
    }
    if let Some(r) = recipient {
        updated.recipient_write_scope = r;
    }
    if let Some(c) = config {
        updated.config_write_scope = c;
    }
    let mut next = ctx.org.clone();
    let records = vec![assignment_record(ctx, &updated)];
    next.rbac_mut().insert_assignment(updated);
    Ok(changed(next, &current.name, records))
}

/// `Remove-ManagementRoleAssignment`.
pub fn remove_assignment(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    ctx.authorize(Target::Config, Access::Write)?;
    let current = find(ctx, args.required("Identity", ctx.cmdlet)?)?;
    ctx.require_delegating(&current.role)?;
    let mut next = ctx.org.clone();
    next.rbac_mut()
        .assignments
        .remove(&current.name.to_ascii_lowercase());
    Ok(changed(next, &current.name, Vec::new()))
}
