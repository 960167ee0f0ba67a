//! Permission models as code: a readable TOML file describing an
//! organization's RBAC configuration relative to what setup installs, tested
//! offline with assertions (`crossforest model test`).
//!
//! The in-memory form, [`Model`], is an [`Organization`] — the same value the
//! resource forest serves — holding the model's RBAC configuration, its
//! permission model and the local principals the model names, plus the
//! foreign principals it names. Every question is answered by the server's
//! own code on it (the compiled `Authorizer`, its explanations, the
//! cmdlet registry), so an exhaustive verifier can enumerate the
//! principals ([`crate::rbac::Authorizer::principals`]), the cmdlets of every
//! role and the scopes of every assignment on the same value.
//!
//! # Layout
//! * [`format`]: the model file and its JSON Schema.
//! * [`convert`]: file → [`Model`]; [`export`]: RBAC document → file.
//! * [`names`]: the names ↔ SIDs of the principals a model names.
//! * [`tests_file`]: the assertion file; [`assertions`]: running it;
//!   [`report`]: the readable report and JUnit XML.

pub mod against;
pub mod assertions;
pub mod convert;
pub mod export;
pub mod format;
pub mod names;
pub mod plan;
pub mod report;
pub mod tests_file;
pub mod verify;

use std::collections::BTreeMap;

use crossforest_shared::Sid;

use crate::org::Organization;

pub use convert::ModelError;
pub use format::ModelFile;

/// A principal of an account forest the model names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignPrincipal {
    /// `fabrikam\Exchange Admins`.
    pub name: String,
    /// The account forest's NetBIOS name, lower case.
    pub domain: String,
}

/// A permission model in memory.
#[derive(Debug, Clone)]
pub struct Model {
    /// The organization as setup leaves it, with the model's RBAC
    /// configuration and permission model; local principals the model names
    /// are its local accounts.
    pub org: Organization,
    /// Principals of account forests the model names, by SID.
    pub foreign: BTreeMap<Sid, ForeignPrincipal>,
}

impl Model {
    /// Parses and converts a model file's text.
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let file: ModelFile = toml::from_str(text).map_err(|e| ModelError::Parse(e.to_string()))?;
        convert::to_model(&file)
    }

    /// `DOMAIN\name` of a SID (a role group by its name), or the SID.
    pub fn name_of(&self, sid: &Sid) -> String {
        if let Some(f) = self.foreign.get(sid) {
            return f.name.clone();
        }
        if let Some(g) = self.org.rbac.role_group_by_sid(sid) {
            return g.name.clone();
        }
        crate::request::principal::principal_name(&self.org, sid)
    }
}
