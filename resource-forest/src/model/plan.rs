//! What a model changes in a running organization (`crossforest model
//! plan|apply`): each object added, changed or removed, with the cmdlets an
//! administrator would run to make the same change. Those cmdlets are what
//! the change is authorised as, one by one, for the caller.

use std::collections::{BTreeMap, BTreeSet};

use crossforest_shared::Sid;

use super::ModelError;
use crate::cmdlets::args::Value;
use crate::org::Organization;
use crate::rbac::config::RoleAssignmentPolicy;
use crate::rbac::model::{
    Assignee, ConfigWriteScope, Delegation, ManagementRole, RecipientWriteScope, RoleAssignment,
    RoleEntry, RoleGroup, RoleGroupKind,
};
use crate::rbac::scope::{ManagementScope, ScopeRule};
use crate::rbac::RbacConfig;

/// What happens to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// It is created.
    Add,
    /// It is changed.
    Change,
    /// It is removed.
    Remove,
}

/// One cmdlet invocation: the cmdlet and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The cmdlet.
    pub cmdlet: &'static str,
    /// Its parameters, by name.
    pub parameters: Vec<(String, Value)>,
    /// The role group it changes, for the ManagedBy check (R-RG-5).
    pub role_group: Option<String>,
    /// The role it assigns or unassigns, for the delegating check (R-ASG-1).
    pub assigns: Option<String>,
}

impl Invocation {
    fn new(cmdlet: &'static str) -> Self {
        Self {
            cmdlet,
            parameters: Vec::new(),
            role_group: None,
            assigns: None,
        }
    }

    fn text(mut self, name: &str, value: impl Into<String>) -> Self {
        self.parameters
            .push((name.to_owned(), Value::Text(value.into())));
        self
    }

    fn list(mut self, name: &str, values: Vec<String>) -> Self {
        if !values.is_empty() {
            self.parameters.push((name.to_owned(), Value::List(values)));
        }
        self
    }

    fn switch(mut self, name: &str, on: bool) -> Self {
        if on {
            self.parameters.push((name.to_owned(), Value::Switch));
        }
        self
    }

    fn bypass(mut self, group: &str) -> Self {
        self.role_group = Some(group.to_owned());
        self.switch("BypassSecurityGroupManagerCheck", true)
    }

    /// The invocation as a shell line.
    pub fn line(&self) -> String {
        let mut line = self.cmdlet.to_owned();
        for (name, value) in &self.parameters {
            match value {
                Value::Switch => line.push_str(&format!(" -{name}")),
                Value::Bool(b) => line.push_str(&format!(" -{name} ${b}")),
                Value::Text(t) => line.push_str(&format!(" -{name} {}", quoted(t))),
                Value::List(l) => {
                    let items: Vec<String> = l.iter().map(|v| quoted(v)).collect();
                    line.push_str(&format!(" -{name} {}", items.join(",")));
                }
            }
        }
        line
    }
}

fn quoted(value: &str) -> String {
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.\\@".contains(c))
    {
        value.to_owned()
    } else {
        format!("\"{}\"", value.replace('"', "`\""))
    }
}

/// One object the model adds, changes or removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectChange {
    /// What happens to it.
    pub action: Action,
    /// Its kind, as Exchange names it: `RoleGroup`, `ManagementRoleAssignment`…
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// What changes, for a change (`Members +contoso\Erin`).
    pub detail: String,
    /// The cmdlets that make the change.
    pub cmdlets: Vec<Invocation>,
}

impl ObjectChange {
    /// The change as one line: `+ RoleGroup "Active Directory Administrators"`.
    pub fn line(&self) -> String {
        let sign = match self.action {
            Action::Add => '+',
            Action::Change => '~',
            Action::Remove => '-',
        };
        let mut line = format!("{sign} {} \"{}\"", self.kind, self.name);
        if !self.detail.is_empty() {
            line.push_str(&format!(": {}", self.detail));
        }
        line
    }
}

fn invalid(message: String) -> ModelError {
    ModelError::Invalid(message)
}

/// Names principals for the cmdlets' parameters.
struct Names<'a> {
    before: &'a Organization,
    after: &'a RbacConfig,
}

impl Names<'_> {
    fn of(&self, sid: &Sid) -> String {
        if let Some(g) = self.after.role_group_by_sid(sid) {
            return g.name.clone();
        }
        let linked = self.after.role_groups.values().find_map(|g| match &g.kind {
            RoleGroupKind::Linked(l) if l.sid == *sid => Some(l.name.clone()),
            _ => None,
        });
        linked.unwrap_or_else(|| crate::request::principal::principal_name(self.before, sid))
    }

    fn all(&self, sids: &BTreeSet<Sid>) -> Vec<String> {
        sids.iter().map(|s| self.of(s)).collect()
    }
}

/// The objects `after` adds, changes and removes in `before`'s RBAC
/// configuration, each with its cmdlets; an error for a change no cmdlet
/// makes.
pub fn diff(before: &Organization, after: &RbacConfig) -> Result<Vec<ObjectChange>, ModelError> {
    let names = Names { before, after };
    let old = &*before.rbac;
    let mut out = Vec::new();
    each(&old.roles, &after.roles, &mut out, |o, n| {
        roles(after, o, n)
    })?;
    each(&old.scopes, &after.scopes, &mut out, scopes)?;
    each(&old.role_groups, &after.role_groups, &mut out, |o, n| {
        role_groups(&names, o, n)
    })?;
    each(&old.policies, &after.policies, &mut out, policies)?;
    each(&old.assignments, &after.assignments, &mut out, |o, n| {
        assignments(&names, o, n)
    })?;
    Ok(out)
}

/// Calls `compare` on each object of `old` and `new` that differs, by key.
fn each<V: PartialEq>(
    old: &BTreeMap<String, V>,
    new: &BTreeMap<String, V>,
    out: &mut Vec<ObjectChange>,
    compare: impl Fn(Option<&V>, Option<&V>) -> Result<Vec<ObjectChange>, ModelError>,
) -> Result<(), ModelError> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        let (o, n) = (old.get(key), new.get(key));
        if o != n {
            out.extend(compare(o, n)?);
        }
    }
    Ok(())
}

fn object(action: Action, kind: &'static str, name: &str, detail: String) -> ObjectChange {
    ObjectChange {
        action,
        kind,
        name: name.to_owned(),
        detail,
        cmdlets: Vec::new(),
    }
}

fn with(mut change: ObjectChange, cmdlets: Vec<Invocation>) -> Vec<ObjectChange> {
    change.cmdlets = cmdlets;
    vec![change]
}

fn roles(
    after: &RbacConfig,
    old: Option<&ManagementRole>,
    new: Option<&ManagementRole>,
) -> Result<Vec<ObjectChange>, ModelError> {
    const KIND: &str = "ManagementRole";
    match (old, new) {
        (Some(o), None) => Ok(with(
            object(Action::Remove, KIND, &o.name, String::new()),
            vec![Invocation::new("Remove-ManagementRole").text("Identity", &o.name)],
        )),
        (None, Some(n)) => {
            let mut cmdlets = vec![Invocation::new("New-ManagementRole")
                .text("Name", &n.name)
                .switch("UnScopedTopLevel", n.unscoped)];
            if let Some(parent) = &n.parent {
                cmdlets[0] = cmdlets[0].clone().text("Parent", parent);
            }
            if !n.description.is_empty() {
                cmdlets[0] = cmdlets[0].clone().text("Description", &n.description);
            }
            let empty = BTreeMap::new();
            let parent = n.parent.as_deref().and_then(|p| after.role(p));
            cmdlets.extend(entries(&n.name, parent.map_or(&empty, |p| &p.entries), n));
            Ok(with(
                object(Action::Add, KIND, &n.name, String::new()),
                cmdlets,
            ))
        }
        (Some(o), Some(n)) => {
            if o.builtin
                || o.parent != n.parent
                || o.unscoped != n.unscoped
                || o.description != n.description
            {
                return Err(invalid(format!(
                    "role `{}`: only a custom role's entries change in place; its parent, type and description don't (remove the role and create it again)",
                    n.name
                )));
            }
            let cmdlets = entries(&n.name, &o.entries, n);
            let detail = format!("{} entry change(s)", cmdlets.len());
            Ok(with(object(Action::Change, KIND, &n.name, detail), cmdlets))
        }
        (None, None) => Ok(Vec::new()),
    }
}

/// The entry cmdlets that make `new`'s entries from `old`'s (or, for a new
/// role, from what `New-ManagementRole` copies from the parent).
fn entries(
    role: &str,
    from: &BTreeMap<String, RoleEntry>,
    new: &ManagementRole,
) -> Vec<Invocation> {
    let mut out = Vec::new();
    for (key, entry) in &new.entries {
        let identity = format!("{role}\\{}", entry.cmdlet);
        let parameters: Vec<String> = entry.parameters.iter().cloned().collect();
        match from.get(key) {
            None => out.push(
                Invocation::new("Add-ManagementRoleEntry")
                    .text("Identity", identity)
                    .list("Parameters", parameters)
                    .switch("UnScopedTopLevel", new.unscoped),
            ),
            Some(e) if e != entry => out.push(
                Invocation::new("Set-ManagementRoleEntry")
                    .text("Identity", identity)
                    .list("Parameters", parameters),
            ),
            _ => {}
        }
    }
    for (key, entry) in from {
        if !new.entries.contains_key(key) {
            out.push(
                Invocation::new("Remove-ManagementRoleEntry")
                    .text("Identity", format!("{role}\\{}", entry.cmdlet)),
            );
        }
    }
    out
}

fn scope_parameters(mut call: Invocation, scope: &ManagementScope) -> Invocation {
    match &scope.rule {
        ScopeRule::Recipients { root, filter } => {
            if let Some(root) = root {
                call = call.text("RecipientRoot", root.to_string());
            }
            if let Some(filter) = filter {
                call = call.text("RecipientRestrictionFilter", filter);
            }
            call
        }
        ScopeRule::ServerList(l) => call.list("ServerList", l.clone()),
        ScopeRule::ServerFilter(f) => call.text("ServerRestrictionFilter", f),
        ScopeRule::DatabaseList(l) => call.list("DatabaseList", l.clone()),
        ScopeRule::DatabaseFilter(f) => call.text("DatabaseRestrictionFilter", f),
    }
}

fn scopes(
    old: Option<&ManagementScope>,
    new: Option<&ManagementScope>,
) -> Result<Vec<ObjectChange>, ModelError> {
    const KIND: &str = "ManagementScope";
    Ok(match (old, new) {
        (Some(o), None) => with(
            object(Action::Remove, KIND, &o.name, String::new()),
            vec![Invocation::new("Remove-ManagementScope").text("Identity", &o.name)],
        ),
        (None, Some(n)) => with(
            object(Action::Add, KIND, &n.name, String::new()),
            vec![scope_parameters(
                Invocation::new("New-ManagementScope")
                    .text("Name", &n.name)
                    .switch("Exclusive", n.exclusive),
                n,
            )],
        ),
        (Some(o), Some(n)) => {
            if o.exclusive != n.exclusive {
                return Err(invalid(format!(
                    "scope `{}`: whether a scope is exclusive is set when it is created (remove it and create it again)",
                    n.name
                )));
            }
            with(
                object(Action::Change, KIND, &n.name, "its filter".into()),
                vec![scope_parameters(
                    Invocation::new("Set-ManagementScope").text("Identity", &n.name),
                    n,
                )],
            )
        }
        (None, None) => Vec::new(),
    })
}

fn linked_parameters(mut call: Invocation, group: &RoleGroup) -> Invocation {
    if let RoleGroupKind::Linked(l) = &group.kind {
        call = call
            .text("LinkedForeignGroup", &l.name)
            .text("LinkedDomainController", &l.domain_controller);
        if !l.credential.is_empty() {
            call = call.text("LinkedCredential", &l.credential);
        }
    }
    call
}

fn members(group: &RoleGroup) -> BTreeSet<Sid> {
    match &group.kind {
        RoleGroupKind::Standard { members } => members.clone(),
        RoleGroupKind::Linked(_) => BTreeSet::new(),
    }
}

fn role_groups(
    names: &Names<'_>,
    old: Option<&RoleGroup>,
    new: Option<&RoleGroup>,
) -> Result<Vec<ObjectChange>, ModelError> {
    const KIND: &str = "RoleGroup";
    Ok(match (old, new) {
        (Some(o), None) => with(
            object(Action::Remove, KIND, &o.name, String::new()),
            vec![Invocation::new("Remove-RoleGroup")
                .text("Identity", &o.name)
                .bypass(&o.name)],
        ),
        (None, Some(n)) => {
            let mut call = Invocation::new("New-RoleGroup").text("Name", &n.name);
            if !n.description.is_empty() {
                call = call.text("Description", &n.description);
            }
            if !n.display_name.is_empty() {
                call = call.text("DisplayName", &n.display_name);
            }
            call = call
                .list("Members", names.all(&members(n)))
                .list("ManagedBy", names.all(&n.managed_by));
            with(
                object(Action::Add, KIND, &n.name, String::new()),
                vec![linked_parameters(call, n)],
            )
        }
        (Some(o), Some(n)) => {
            if o.sid != n.sid {
                return Err(invalid(format!(
                    "role group `{}` has SID {} here, {} in the model; a role group keeps its SID",
                    n.name, o.sid, n.sid
                )));
            }
            let mut cmdlets = Vec::new();
            let mut detail = Vec::new();
            let mut set = Invocation::new("Set-RoleGroup").text("Identity", &o.name);
            let before = set.parameters.len();
            if o.description != n.description {
                set = set.text("Description", &n.description);
                detail.push("Description".to_owned());
            }
            if o.display_name != n.display_name {
                set = set.text("DisplayName", &n.display_name);
                detail.push("DisplayName".to_owned());
            }
            if o.managed_by != n.managed_by {
                set.parameters
                    .push(("ManagedBy".into(), Value::List(names.all(&n.managed_by))));
                detail.push("ManagedBy".to_owned());
            }
            let link = |g: &RoleGroup| match &g.kind {
                RoleGroupKind::Linked(l) => Some(l.clone()),
                RoleGroupKind::Standard { .. } => None,
            };
            if link(o) != link(n) {
                if link(n).is_none() {
                    return Err(invalid(format!(
                        "role group `{}`: a linked role group doesn't become a standard one (remove it and create it again)",
                        n.name
                    )));
                }
                set = linked_parameters(set, n);
                detail.push("LinkedForeignGroup".to_owned());
            }
            if set.parameters.len() > before {
                cmdlets.push(set.bypass(&o.name));
            }
            let (was, is) = (members(o), members(n));
            let moves = [
                ('+', "Add-RoleGroupMember", is.difference(&was)),
                ('-', "Remove-RoleGroupMember", was.difference(&is)),
            ];
            for (sign, cmdlet, sids) in moves {
                for sid in sids {
                    let name = names.of(sid);
                    detail.push(format!("Members {sign}{name}"));
                    cmdlets.push(
                        Invocation::new(cmdlet)
                            .text("Identity", &o.name)
                            .text("Member", name)
                            .bypass(&o.name),
                    );
                }
            }
            with(
                object(Action::Change, KIND, &n.name, detail.join(", ")),
                cmdlets,
            )
        }
        (None, None) => Vec::new(),
    })
}

fn policies(
    old: Option<&RoleAssignmentPolicy>,
    new: Option<&RoleAssignmentPolicy>,
) -> Result<Vec<ObjectChange>, ModelError> {
    const KIND: &str = "RoleAssignmentPolicy";
    Ok(match (old, new) {
        (Some(o), None) => {
            return Err(invalid(format!(
            "role assignment policy `{}` isn't in the model, and no cmdlet here removes a policy",
            o.name
        )))
        }
        (None, Some(n)) => {
            let mut call = Invocation::new("New-RoleAssignmentPolicy").text("Name", &n.name);
            if !n.description.is_empty() {
                call = call.text("Description", &n.description);
            }
            with(
                object(Action::Add, KIND, &n.name, String::new()),
                vec![call.switch("IsDefault", n.is_default)],
            )
        }
        (Some(o), Some(n)) => {
            if o.is_default && !n.is_default {
                return Err(invalid(format!(
                    "role assignment policy `{}`: make another policy the default instead",
                    n.name
                )));
            }
            with(
                object(Action::Change, KIND, &n.name, String::new()),
                vec![Invocation::new("Set-RoleAssignmentPolicy")
                    .text("Identity", &n.name)
                    .text("Description", &n.description)
                    .switch("IsDefault", n.is_default && !o.is_default)],
            )
        }
        (None, None) => Vec::new(),
    })
}

fn write_scopes(mut call: Invocation, a: &RoleAssignment) -> Invocation {
    call = match &a.recipient_write_scope {
        RecipientWriteScope::Implicit => call,
        RecipientWriteScope::Relative(s) => call.text("RecipientRelativeWriteScope", s.to_string()),
        RecipientWriteScope::OrganizationalUnit(ou) => {
            call.text("RecipientOrganizationalUnitScope", ou.to_string())
        }
        RecipientWriteScope::Custom(s) => call.text("CustomRecipientWriteScope", s),
        RecipientWriteScope::Exclusive(s) => call.text("ExclusiveRecipientWriteScope", s),
    };
    match &a.config_write_scope {
        ConfigWriteScope::Implicit => call,
        ConfigWriteScope::Custom(s) => call.text("CustomConfigWriteScope", s),
        ConfigWriteScope::Exclusive(s) => call.text("ExclusiveConfigWriteScope", s),
    }
}

fn assignments(
    names: &Names<'_>,
    old: Option<&RoleAssignment>,
    new: Option<&RoleAssignment>,
) -> Result<Vec<ObjectChange>, ModelError> {
    const KIND: &str = "ManagementRoleAssignment";
    let remove = |o: &RoleAssignment| {
        let mut call = Invocation::new("Remove-ManagementRoleAssignment").text("Identity", &o.name);
        call.assigns = Some(o.role.clone());
        with(
            object(Action::Remove, KIND, &o.name, String::new()),
            vec![call],
        )
    };
    let add = |n: &RoleAssignment| {
        let mut call = Invocation::new("New-ManagementRoleAssignment")
            .text("Name", &n.name)
            .text("Role", &n.role);
        call = match &n.assignee {
            Assignee::RoleGroup(g) => call.text("SecurityGroup", g),
            Assignee::SecurityGroup(sid) => call.text("SecurityGroup", names.of(sid)),
            Assignee::User(sid) => call.text("User", names.of(sid)),
            Assignee::Policy(p) => call.text("Policy", p),
        };
        call = write_scopes(
            call.switch("Delegating", n.delegation == Delegation::Delegating),
            n,
        );
        call.assigns = Some(n.role.clone());
        let mut cmdlets = vec![call];
        if !n.enabled {
            cmdlets.push(disable(n));
        }
        with(object(Action::Add, KIND, &n.name, String::new()), cmdlets)
    };
    Ok(match (old, new) {
        (Some(o), None) => remove(o),
        (None, Some(n)) => add(n),
        (Some(o), Some(n)) => {
            if o.role != n.role || o.assignee != n.assignee || o.delegation != n.delegation {
                // Exchange changes none of these in place: remove, then add.
                let mut out = remove(o);
                out.extend(add(n));
                out
            } else {
                let mut call = write_scopes(
                    Invocation::new("Set-ManagementRoleAssignment").text("Identity", &n.name),
                    n,
                );
                if o.enabled != n.enabled {
                    call.parameters
                        .push(("Enabled".into(), Value::Bool(n.enabled)));
                }
                call.assigns = Some(n.role.clone());
                with(
                    object(Action::Change, KIND, &n.name, describe_assignment(o, n)),
                    vec![call],
                )
            }
        }
        (None, None) => Vec::new(),
    })
}

/// `Set-ManagementRoleAssignment -Identity … -Enabled …` for `a`.
fn disable(a: &RoleAssignment) -> Invocation {
    let mut call = Invocation::new("Set-ManagementRoleAssignment").text("Identity", &a.name);
    call.parameters
        .push(("Enabled".into(), Value::Bool(a.enabled)));
    call.assigns = Some(a.role.clone());
    call
}

fn describe_assignment(o: &RoleAssignment, n: &RoleAssignment) -> String {
    let mut detail = Vec::new();
    if o.enabled != n.enabled {
        detail.push(format!("Enabled {}", n.enabled));
    }
    if o.recipient_write_scope != n.recipient_write_scope {
        detail.push("recipient write scope".to_owned());
    }
    if o.config_write_scope != n.config_write_scope {
        detail.push("configuration write scope".to_owned());
    }
    detail.join(", ")
}
