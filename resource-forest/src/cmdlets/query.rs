//! Questions about a cmdlet, answered without running it: a (cmdlet,
//! parameters, target) question resolved against one snapshot into the
//! request the RBAC core evaluates. Used by `Test-CmdletPermission`,
//! `Get-EffectivePermission` and the `Authorization` service.

use super::{registry, CmdletError};
use crate::org::recipients::Recipient;
use crate::org::Organization;
use crate::rbac::{Access, Request, Target};

/// Most checks answered in one bulk call.
pub const MAX_BULK: usize = 1000;

/// A question as asked: names as typed.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// Cmdlet name.
    pub cmdlet: &'a str,
    /// Parameter names, with or without the dash.
    pub parameters: &'a [String],
    /// The recipient acted on; empty for none.
    pub target: &'a str,
    /// Write or read; `None` for the cmdlet's own kind.
    pub write: Option<bool>,
}

/// A question resolved against an organization: canonical names, the target
/// found.
#[derive(Debug)]
pub struct Resolved<'o> {
    /// Canonical cmdlet name.
    pub cmdlet: &'static str,
    /// Canonical parameter names.
    pub parameters: Vec<String>,
    /// The recipient, if one was named.
    pub target: Option<&'o Recipient>,
    /// Read or write.
    pub access: Access,
}

impl Resolved<'_> {
    /// The request for the RBAC core.
    pub fn request(&self) -> Request<'_> {
        Request {
            cmdlet: self.cmdlet,
            parameters: &self.parameters,
            target: match self.target {
                Some(r) => Target::Recipient(r),
                None => Target::None,
            },
            access: self.access,
        }
    }
}

/// Resolves `query`: the cmdlet and every parameter must exist, and so must
/// the target.
pub fn resolve<'o>(org: &'o Organization, query: &Query<'_>) -> Result<Resolved<'o>, CmdletError> {
    let tested = registry::find(query.cmdlet)
        .ok_or_else(|| CmdletError::NotRecognized(query.cmdlet.to_owned()))?;
    let parameters = query
        .parameters
        .iter()
        .map(|p| {
            tested
                .parameter(p.trim_start_matches('-'))
                .map(|q| q.name.to_owned())
                .ok_or_else(|| CmdletError::UnknownParameter {
                    cmdlet: tested.name.to_owned(),
                    parameter: p.clone(),
                    valid: tested
                        .parameters
                        .iter()
                        .map(|q| q.name)
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        })
        .collect::<Result<_, _>>()?;
    let target = if query.target.is_empty() {
        None
    } else {
        Some(org.recipient(query.target, &[])?)
    };
    let access = match query.write {
        Some(true) => Access::Write,
        Some(false) => Access::Read,
        None if tested.writes() => Access::Write,
        None => Access::Read,
    };
    Ok(Resolved {
        cmdlet: tested.name,
        parameters,
        target,
        access,
    })
}
