//! Management scopes (R-SCOPE-1..7): named, reusable write scopes that role
//! assignments point at. A recipient scope is an OU root and/or an OPATH
//! recipient filter; a configuration scope is a server or database list or
//! filter. An exclusive scope protects what it matches from every non-exclusive
//! assignment (R-SCOPE-3).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::opath::{Filter, OpathError, Properties};
use crossforest_shared::ou::OrganizationalUnit;

/// What a scope restricts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScopeRestrictionType {
    /// Recipients of the domain partition.
    RecipientScope,
    /// Exchange servers.
    ServerScope,
    /// Mailbox databases.
    DatabaseScope,
}

impl fmt::Display for ScopeRestrictionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RecipientScope => "RecipientScope",
            Self::ServerScope => "ServerScope",
            Self::DatabaseScope => "DatabaseScope",
        })
    }
}

/// How a scope selects its objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScopeRule {
    /// `-RecipientRoot` and/or `-RecipientRestrictionFilter`.
    Recipients {
        /// Only recipients in this OU's subtree.
        root: Option<OrganizationalUnit>,
        /// Only recipients matching this OPATH filter (its text, canonical).
        filter: Option<String>,
    },
    /// `-ServerList`: servers by name.
    ServerList(Vec<String>),
    /// `-ServerRestrictionFilter`: servers matching an OPATH filter.
    ServerFilter(String),
    /// `-DatabaseList`: databases by name.
    DatabaseList(Vec<String>),
    /// `-DatabaseRestrictionFilter`: databases matching an OPATH filter.
    DatabaseFilter(String),
}

/// A management scope as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagementScope {
    /// Name, e.g. `Seattle Users`.
    pub name: String,
    /// What it selects.
    pub rule: ScopeRule,
    /// Exclusive scopes deny write by every non-exclusive assignment (R-SCOPE-3).
    pub exclusive: bool,
}

impl ManagementScope {
    /// What kind of object the scope restricts.
    pub fn restriction_type(&self) -> ScopeRestrictionType {
        match self.rule {
            ScopeRule::Recipients { .. } => ScopeRestrictionType::RecipientScope,
            ScopeRule::ServerList(_) | ScopeRule::ServerFilter(_) => {
                ScopeRestrictionType::ServerScope
            }
            ScopeRule::DatabaseList(_) | ScopeRule::DatabaseFilter(_) => {
                ScopeRestrictionType::DatabaseScope
            }
        }
    }
}

/// Properties a recipient filter may use, canonically spelled.
pub const RECIPIENT_FILTER_PROPERTIES: &[&str] = &[
    "Name",
    "Alias",
    "DisplayName",
    "FirstName",
    "LastName",
    "Department",
    "Company",
    "City",
    "StateOrProvince",
    "CountryOrRegion",
    "Office",
    "Title",
    "PrimarySmtpAddress",
    "UserPrincipalName",
    "RecipientType",
    "HiddenFromAddressListsEnabled",
    "CustomAttribute1",
    "CustomAttribute2",
    "CustomAttribute3",
    "CustomAttribute4",
    "CustomAttribute5",
    "CustomAttribute6",
    "CustomAttribute7",
    "CustomAttribute8",
    "CustomAttribute9",
    "CustomAttribute10",
    "CustomAttribute11",
    "CustomAttribute12",
    "CustomAttribute13",
    "CustomAttribute14",
    "CustomAttribute15",
];

/// Properties a server or database filter may use.
pub const CONFIG_FILTER_PROPERTIES: &[&str] = &["Name", "ServerSite", "Server", "Edition"];

fn canonical(list: &'static [&'static str]) -> impl Fn(&str) -> Option<&'static str> {
    move |name| list.iter().copied().find(|p| p.eq_ignore_ascii_case(name))
}

/// Parses a recipient filter (`-RecipientRestrictionFilter`).
pub fn parse_recipient_filter(text: &str) -> Result<Filter, OpathError> {
    Filter::parse(text, &canonical(RECIPIENT_FILTER_PROPERTIES))
}

/// Parses a server or database filter.
pub fn parse_config_filter(text: &str) -> Result<Filter, OpathError> {
    Filter::parse(text, &canonical(CONFIG_FILTER_PROPERTIES))
}

/// A recipient as scopes and filters see it.
pub trait RecipientObject: Properties + Sync {
    /// Name, for messages.
    fn name(&self) -> &str;
    /// The OU it lives in.
    fn organizational_unit(&self) -> &OrganizationalUnit;
    /// Its security principal, if any.
    fn sid(&self) -> Option<crossforest_shared::Sid>;
    /// Who manages it (distribution groups; empty otherwise).
    fn managed_by(&self) -> &[crossforest_shared::Sid];
    /// Whether it is a distribution group.
    fn is_group(&self) -> bool;
}

/// A server or database as configuration scopes see it.
pub trait ConfigObject: Properties + Sync {
    /// Name.
    fn name(&self) -> &str;
}

/// A scope compiled for evaluation: the filter parsed once.
#[derive(Debug, Clone)]
pub struct CompiledScope {
    /// Name.
    pub name: String,
    /// Exclusive?
    pub exclusive: bool,
    /// Kind.
    pub kind: ScopeRestrictionType,
    root: Option<OrganizationalUnit>,
    filter: Option<Filter>,
    list: Vec<String>,
    /// A stored filter that no longer parses: the scope matches nothing.
    broken: bool,
}

impl CompiledScope {
    /// Compiles `scope`; a stored filter that no longer parses matches nothing.
    pub fn new(scope: &ManagementScope) -> Self {
        let (root, filter, list) = match &scope.rule {
            ScopeRule::Recipients { root, filter } => (
                root.clone(),
                filter.as_deref().map(parse_recipient_filter),
                Vec::new(),
            ),
            ScopeRule::ServerList(l) | ScopeRule::DatabaseList(l) => (None, None, l.clone()),
            ScopeRule::ServerFilter(f) | ScopeRule::DatabaseFilter(f) => {
                (None, Some(parse_config_filter(f)), Vec::new())
            }
        };
        let (filter, broken) = match filter {
            Some(Ok(f)) => (Some(f), false),
            Some(Err(_)) => (None, true),
            None => (None, false),
        };
        Self {
            name: scope.name.clone(),
            exclusive: scope.exclusive,
            kind: scope.restriction_type(),
            root,
            filter,
            list,
            broken,
        }
    }

    /// Whether the recipient is in the scope.
    pub fn matches_recipient(&self, r: &dyn RecipientObject) -> bool {
        !self.broken
            && self.kind == ScopeRestrictionType::RecipientScope
            && self
                .root
                .as_ref()
                .is_none_or(|root| r.organizational_unit().is_within(root))
            && self.filter.as_ref().is_none_or(|f| f.matches(r))
    }

    /// Whether the server or database is in the scope.
    pub fn matches_config(&self, kind: ScopeRestrictionType, o: &dyn ConfigObject) -> bool {
        if self.broken || self.kind != kind || kind == ScopeRestrictionType::RecipientScope {
            return false;
        }
        match &self.filter {
            Some(f) => f.matches(o),
            None => self.list.iter().any(|n| n.eq_ignore_ascii_case(o.name())),
        }
    }

    /// For a recipient scope that is exactly one `Property -eq 'value'`
    /// filter (no root): the property and the value.
    pub fn as_equality(&self) -> Option<(&'static str, &str)> {
        match (&self.kind, &self.root, &self.filter) {
            (ScopeRestrictionType::RecipientScope, None, Some(f)) => f.as_equality(),
            _ => None,
        }
    }

    /// A short description, for explanations.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(root) = &self.root {
            parts.push(format!("RecipientRoot {root}"));
        }
        if let Some(f) = &self.filter {
            parts.push(format!("filter {f}"));
        }
        if !self.list.is_empty() {
            parts.push(format!("list {}", self.list.join(",")));
        }
        format!(
            "{}scope `{}` ({})",
            if self.exclusive { "exclusive " } else { "" },
            self.name,
            parts.join(", ")
        )
    }
}
