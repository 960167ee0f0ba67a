//! Recipients: mailboxes and the user accounts behind them.

use std::collections::BTreeMap;

use crossforest_shared::Sid;
use serde::{Deserialize, Serialize};

use super::ou::OrganizationalUnit;

/// A mailbox and its user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// Common name, unique in the organization.
    pub name: String,
    /// Mail nickname.
    pub alias: String,
    /// Display name.
    pub display_name: String,
    /// The user account's SID (in the resource forest).
    pub sid: Sid,
    /// Where the user lives.
    pub organizational_unit: OrganizationalUnit,
    /// Logon name.
    pub user_principal_name: String,
    /// Primary SMTP address.
    pub primary_smtp_address: String,
    /// The role assignment policy (R-ROLE-4).
    pub role_assignment_policy: String,
    /// Other Exchange attributes set with Set-Mailbox (CustomAttribute1, Office, …).
    pub attributes: BTreeMap<String, String>,
}

impl Mailbox {
    /// Whether `identity` names this mailbox: name, alias, UPN, SMTP address,
    /// SID or canonical name, case-insensitively.
    pub fn answers_to(&self, identity: &str) -> bool {
        let canonical = format!("{}/{}", self.organizational_unit, self.name);
        [
            self.name.as_str(),
            &self.alias,
            &self.user_principal_name,
            &self.primary_smtp_address,
            &canonical,
        ]
        .iter()
        .any(|v| v.eq_ignore_ascii_case(identity))
            || self.sid.to_string().eq_ignore_ascii_case(identity)
    }

    /// Properties in Exchange's display order.
    pub fn properties(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("Name".to_owned(), self.name.clone()),
            ("Alias".to_owned(), self.alias.clone()),
            ("DisplayName".to_owned(), self.display_name.clone()),
            (
                "OrganizationalUnit".to_owned(),
                self.organizational_unit.to_string(),
            ),
            (
                "UserPrincipalName".to_owned(),
                self.user_principal_name.clone(),
            ),
            (
                "PrimarySmtpAddress".to_owned(),
                self.primary_smtp_address.clone(),
            ),
            ("SID".to_owned(), self.sid.to_string()),
            (
                "RoleAssignmentPolicy".to_owned(),
                self.role_assignment_policy.clone(),
            ),
        ];
        out.extend(self.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }
}
