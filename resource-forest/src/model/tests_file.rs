//! The assertion file of `crossforest model test`: principals (with the
//! groups their tokens carry), objects (recipients with their attributes) and
//! assertions (`Can`, `Cannot`, `WhoCan`, `WhatCan`), and for
//! `crossforest model verify` invariants over every principal and object.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A tests file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestsFile {
    /// Principals the assertions name beyond the model's members.
    #[serde(rename = "Principal", default)]
    pub principals: Vec<PrincipalSpec>,
    /// Recipients the assertions act on.
    #[serde(rename = "Object", default)]
    pub objects: Vec<ObjectSpec>,
    /// The assertions, in order.
    #[serde(rename = "Assert", default)]
    pub asserts: Vec<AssertSpec>,
    /// `model verify`: the permission model the organization follows,
    /// `Shared`, `RbacSplit` or `ActiveDirectorySplit`; default: the one
    /// its assignments show.
    #[serde(rename = "PermissionModel", default)]
    pub permission_model: Option<String>,
    /// `model verify`: invariants checked for every principal and object.
    #[serde(rename = "Invariant", default)]
    pub invariants: Vec<InvariantSpec>,
}

/// `[[Invariant]]` of `model verify`: `Cannot` (no principal of `ForAll` may
/// run a cmdlet, on `Objects` if given) or `Only` (no one but these may run
/// `Cmdlets`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvariantSpec {
    /// What the invariant says, for the report.
    #[serde(rename = "Name")]
    pub name: String,
    /// `principals` (default) or `principals of fabrikam.com`.
    #[serde(rename = "ForAll", default)]
    pub for_all: Option<String>,
    /// The cmdlet (and parameters) none of them may run.
    #[serde(rename = "Cannot", default)]
    pub cannot: Option<CmdletSpec>,
    /// `all`, or a management scope's name: the objects `Cannot` is checked
    /// on; absent, the cmdlet itself (no object).
    #[serde(rename = "Objects", default)]
    pub objects: Option<String>,
    /// Role groups, `DOMAIN\name` principals or policies: the only assignees
    /// that may grant `Cmdlets`.
    #[serde(rename = "Only", default)]
    pub only: Option<Vec<String>>,
    /// The cmdlets of `Only`.
    #[serde(rename = "Cmdlets", default)]
    pub cmdlets: Vec<String>,
}

/// A cmdlet with the parameters used, without the dash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CmdletSpec {
    /// The cmdlet.
    #[serde(rename = "Cmdlet")]
    pub cmdlet: String,
    /// Parameters used.
    #[serde(rename = "Parameters", default)]
    pub parameters: Vec<String>,
}

/// `[[Principal]]`: a user of the organization (`contoso\Ray`) or of an
/// account forest (`fabrikam\alice`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrincipalSpec {
    /// `DOMAIN\name`.
    #[serde(rename = "Name")]
    pub name: String,
    /// Security groups its token carries: the organization's
    /// (`contoso\Helpdesk`) or its own forest's (`fabrikam\Exchange Admins`).
    /// Role group membership is the model's.
    #[serde(rename = "MemberOf", default)]
    pub member_of: Vec<String>,
    /// The role assignment policy of its mailbox, if it has one.
    #[serde(rename = "RoleAssignmentPolicy", default)]
    pub role_assignment_policy: Option<String>,
}

/// `[[Object]]`, or an assertion's inline `Object`: a recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectSpec {
    /// `Name` (an inline object may leave it out).
    #[serde(rename = "Name", default)]
    pub name: Option<String>,
    /// The OU it lives in, e.g. `contoso.com/Seattle` (default: the Users
    /// container).
    #[serde(rename = "OrganizationalUnit", default)]
    pub organizational_unit: Option<String>,
    /// `RecipientTypeDetails`: `UserMailbox` (default), `MailUser`,
    /// `MailContact`, `MailUniversalDistributionGroup`,
    /// `MailUniversalSecurityGroup`, `User`, `RemoteUserMailbox`.
    #[serde(rename = "RecipientType", default)]
    pub recipient_type: Option<String>,
    /// Other properties scopes filter on: `City`, `Department`,
    /// `CustomAttribute1`…
    #[serde(rename = "Attributes", default)]
    pub attributes: BTreeMap<String, String>,
}

/// `[[Assert]]`: exactly one of `Can`, `Cannot`, `WhoCan`, `WhatCan`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssertSpec {
    /// What the assertion says, for the report.
    #[serde(rename = "Name")]
    pub name: String,
    /// The principal that may run `Cmdlet`.
    #[serde(rename = "Can", default)]
    pub can: Option<String>,
    /// The principal that may not run `Cmdlet`.
    #[serde(rename = "Cannot", default)]
    pub cannot: Option<String>,
    /// A cmdlet: everyone who may run it, exactly `Equals`.
    #[serde(rename = "WhoCan", default)]
    pub who_can: Option<String>,
    /// A principal: what it may run includes every item of `Contains`.
    #[serde(rename = "WhatCan", default)]
    pub what_can: Option<String>,
    /// The cmdlet of `Can` and `Cannot`.
    #[serde(rename = "Cmdlet", default)]
    pub cmdlet: Option<String>,
    /// Parameters used, without the dash.
    #[serde(rename = "Parameters", default)]
    pub parameters: Vec<String>,
    /// An `[[Object]]` by name: the recipient acted on.
    #[serde(rename = "Target", default)]
    pub target: Option<String>,
    /// A recipient described inline instead of `Target`.
    #[serde(rename = "Object", default)]
    pub object: Option<ObjectSpec>,
    /// `Read` or `Write`; default: the cmdlet's own kind.
    #[serde(rename = "Access", default)]
    pub access: Option<String>,
    /// `WhoCan`: the principals (`DOMAIN\name`, a security or foreign group,
    /// or a role assignment policy's name).
    #[serde(rename = "Equals", default)]
    pub equals: Option<Vec<String>>,
    /// `WhatCan`: items `Cmdlet` or `Cmdlet -Parameter …`.
    #[serde(rename = "Contains", default)]
    pub contains: Vec<String>,
}
