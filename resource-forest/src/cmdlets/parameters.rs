//! Parameters as binding sees them: a name, how a value binds, whether it
//! must be given. Each cmdlet declares its own beside its handler; the common
//! parameters come from [`crate::rbac::common_parameters`].

use crate::rbac::common_parameters::common_parameter;

/// How a parameter binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One string.
    Text,
    /// A comma list.
    List,
    /// `$true` / `$false`.
    Bool,
    /// A switch.
    Switch,
}

/// One parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Name as Exchange spells it.
    pub name: &'static str,
    /// How it binds.
    pub kind: Kind,
    /// Whether it must be given.
    pub required: bool,
}

/// An optional parameter.
pub const fn p(name: &'static str, kind: Kind) -> Param {
    Param {
        name,
        kind,
        required: false,
    }
}

/// A required parameter.
pub const fn req(name: &'static str, kind: Kind) -> Param {
    Param {
        name,
        kind,
        required: true,
    }
}

/// `-Identity`, required.
pub const IDENTITY: &[Param] = &[req("Identity", Kind::Text)];
/// `-Identity`, optional (every object when not given).
pub const OPTIONAL_IDENTITY: &[Param] = &[p("Identity", Kind::Text)];

/// The common parameter `name` (case-insensitive) as binding sees it, if a
/// cmdlet that `writes` (or not) takes it: the risk-mitigation parameters
/// only on cmdlets that change something.
pub fn common(name: &str, writes: bool) -> Option<Param> {
    common_parameter(name)
        .filter(|c| writes || !c.risk_mitigation)
        .map(|c| p(c.name, if c.switch { Kind::Switch } else { Kind::Text }))
}
