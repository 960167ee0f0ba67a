//! Recipients of the domain partition: mailboxes, mail users, mail contacts,
//! distribution groups and plain users, as one type with a recipient type.

use std::collections::BTreeSet;
use std::fmt;

use crossforest_shared::Sid;
use serde::{Deserialize, Serialize};

use super::attributes::Attributes;
use super::ou::OrganizationalUnit;
use crate::rbac::opath::Properties;
use crate::rbac::scope::RecipientObject;

/// Exchange's `RecipientType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecipientType {
    /// A user with a mailbox.
    UserMailbox,
    /// A user with an external e-mail address.
    MailUser,
    /// A contact with an external e-mail address.
    MailContact,
    /// A mail-enabled universal distribution group.
    MailUniversalDistributionGroup,
    /// A mail-enabled universal security group.
    MailUniversalSecurityGroup,
    /// A user account that is not mail-enabled (`Enable-Mailbox` makes it one).
    User,
    /// A mail user whose mailbox lives elsewhere, mail routed to its
    /// `RemoteRoutingAddress` (`New-RemoteMailbox`): RecipientType
    /// `MailUser`, RecipientTypeDetails `RemoteUserMailbox`.
    RemoteUserMailbox,
}

impl RecipientType {
    /// Every recipient type, in declaration order.
    pub const ALL: [Self; 7] = [
        Self::UserMailbox,
        Self::MailUser,
        Self::MailContact,
        Self::MailUniversalDistributionGroup,
        Self::MailUniversalSecurityGroup,
        Self::User,
        Self::RemoteUserMailbox,
    ];

    /// Whether the recipient is a distribution or mail-enabled security group.
    pub fn is_group(self) -> bool {
        matches!(
            self,
            Self::MailUniversalDistributionGroup | Self::MailUniversalSecurityGroup
        )
    }

    /// Every recipient type with a user account.
    pub const USERS: [Self; 4] = [
        Self::UserMailbox,
        Self::MailUser,
        Self::RemoteUserMailbox,
        Self::User,
    ];

    /// Whether the recipient has a user account (a security principal that can
    /// be a role group member or manager).
    pub fn is_user(self) -> bool {
        Self::USERS.contains(&self)
    }

    /// Exchange's `RecipientType`: a remote mailbox is a `MailUser`.
    pub fn name(self) -> &'static str {
        match self {
            Self::RemoteUserMailbox => "MailUser",
            other => other.details(),
        }
    }

    /// Exchange's `RecipientTypeDetails`.
    pub fn details(self) -> &'static str {
        match self {
            Self::UserMailbox => "UserMailbox",
            Self::MailUser => "MailUser",
            Self::MailContact => "MailContact",
            Self::MailUniversalDistributionGroup => "MailUniversalDistributionGroup",
            Self::MailUniversalSecurityGroup => "MailUniversalSecurityGroup",
            Self::User => "User",
            Self::RemoteUserMailbox => "RemoteUserMailbox",
        }
    }

    /// The parameter that sets the external address mail is routed to, for
    /// the types that have one.
    pub fn external_address_parameter(self) -> Option<&'static str> {
        match self {
            Self::MailUser | Self::MailContact => Some("ExternalEmailAddress"),
            Self::RemoteUserMailbox => Some("RemoteRoutingAddress"),
            _ => None,
        }
    }
}

impl fmt::Display for RecipientType {
    /// As Exchange shows `RecipientType`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `value` displays as `text`, ignoring ASCII case, without
/// formatting it into a string: `Get-Mailbox` and `Check` test every
/// recipient's canonical name and SID against the identity they are given.
fn displays_as(value: impl fmt::Display, text: &str) -> bool {
    /// Consumes `rest` while what is written matches it.
    struct Matcher<'t> {
        rest: &'t str,
    }
    impl fmt::Write for Matcher<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            match self.rest.get(..s.len()) {
                Some(head) if head.eq_ignore_ascii_case(s) => {
                    self.rest = &self.rest[s.len()..];
                    Ok(())
                }
                _ => Err(fmt::Error),
            }
        }
    }
    let mut matcher = Matcher { rest: text };
    fmt::write(&mut matcher, format_args!("{value}")).is_ok() && matcher.rest.is_empty()
}

/// A recipient and, for users, its account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Common name, unique in the organization.
    pub name: String,
    /// What kind of recipient.
    pub recipient_type: RecipientType,
    /// Mail nickname.
    pub alias: String,
    /// Display name.
    pub display_name: String,
    /// The object's SID (in the resource forest).
    pub sid: Sid,
    /// Where it lives.
    pub organizational_unit: OrganizationalUnit,
    /// Logon name (users).
    pub user_principal_name: String,
    /// Primary SMTP address (empty for plain users).
    pub primary_smtp_address: String,
    /// External address (mail users and contacts), or a remote mailbox's
    /// `RemoteRoutingAddress`.
    #[serde(default)]
    pub external_email_address: String,
    /// The role assignment policy (mailboxes, R-ROLE-4).
    pub role_assignment_policy: String,
    /// Members (groups).
    #[serde(default)]
    pub members: BTreeSet<Sid>,
    /// Owners (groups): the `MyDistributionGroups` scope.
    #[serde(default)]
    pub managed_by: Vec<Sid>,
    /// Other attributes set with Set-Mailbox and Set-User (CustomAttribute1,
    /// Office, City, Department, …).
    pub attributes: Attributes,
}

impl Recipient {
    /// Whether `identity` names this recipient: name, alias, UPN, SMTP address,
    /// SID or canonical name, case-insensitively.
    pub fn answers_to(&self, identity: &str) -> bool {
        [
            self.name.as_str(),
            &self.alias,
            &self.user_principal_name,
            &self.primary_smtp_address,
        ]
        .iter()
        .any(|v| !v.is_empty() && v.eq_ignore_ascii_case(identity))
            || (self.canonical_name_could_be(identity)
                && displays_as(
                    format_args!("{}/{}", self.organizational_unit, self.name),
                    identity,
                ))
            || (identity
                .get(..2)
                .is_some_and(|p| p.eq_ignore_ascii_case("S-"))
                && displays_as(self.sid, identity))
    }

    /// Whether `identity` ends with `/<name>`: the cheap half of comparing
    /// it with the canonical name, tried first.
    fn canonical_name_could_be(&self, identity: &str) -> bool {
        identity
            .len()
            .checked_sub(self.name.len() + 1)
            .and_then(|at| identity.get(at..))
            .and_then(|tail| tail.strip_prefix('/'))
            .is_some_and(|name| name.eq_ignore_ascii_case(&self.name))
    }
}

impl Properties for Recipient {
    fn property(&self, name: &str) -> Option<&str> {
        match name {
            "Name" => Some(&self.name),
            "Alias" => Some(&self.alias),
            "DisplayName" => Some(&self.display_name),
            "PrimarySmtpAddress" => Some(&self.primary_smtp_address),
            "UserPrincipalName" => Some(&self.user_principal_name),
            "RecipientType" => Some(self.recipient_type.name()),
            "RecipientTypeDetails" => Some(self.recipient_type.details()),
            other => self.attributes.get(other),
        }
    }
}

impl RecipientObject for Recipient {
    fn name(&self) -> &str {
        &self.name
    }

    fn organizational_unit(&self) -> &OrganizationalUnit {
        &self.organizational_unit
    }

    fn sid(&self) -> Option<Sid> {
        Some(self.sid)
    }

    fn managed_by(&self) -> &[Sid] {
        &self.managed_by
    }

    fn is_group(&self) -> bool {
        self.recipient_type.is_group()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row as the store wrote it while attributes were a `BTreeMap` and
    /// OUs owned their segments: it still reads, and writes back unchanged.
    const STORED_ROW: &str = r#"{"name":"Ann","recipient_type":"UserMailbox","alias":"ann","display_name":"Ann Lee","sid":"S-1-5-21-1-2-3-1105","organizational_unit":"contoso.com/Users/Seattle","user_principal_name":"ann@contoso.com","primary_smtp_address":"ann@contoso.com","external_email_address":"","role_assignment_policy":"Default Role Assignment Policy","members":[],"managed_by":[],"attributes":{"City":"Seattle","CustomAttribute15":"VIP","Department":"Sales"}}"#;

    #[test]
    fn displays_as_compares_the_whole_text_ignoring_case() {
        assert!(displays_as(
            format_args!("{}/{}", "contoso.com/Users", "Ann"),
            "CONTOSO.com/users/ann"
        ));
        assert!(!displays_as(
            format_args!("{}/{}", "contoso.com/Users", "Ann"),
            "contoso.com/Users/Anne"
        ));
        assert!(!displays_as(
            format_args!("{}/{}", "contoso.com/Users", "Ann"),
            "contoso.com/Users/An"
        ));
        assert!(!displays_as(
            format_args!("{}/{}", "contoso.com/Users", "Ann"),
            ""
        ));
        assert!(displays_as(1105u32, "1105"));
        assert!(!displays_as(1105u32, "11050"));
        // A multi-byte character straddling a written piece is no match, not a panic.
        assert!(!displays_as("ab", "aé"));
    }

    #[test]
    fn answers_to_every_identity_form() -> Result<(), Box<dyn std::error::Error>> {
        let r: Recipient = serde_json::from_str(STORED_ROW)?;
        for identity in [
            "ann",
            "ANN",
            "Ann@Contoso.com",
            "contoso.com/users/seattle/ann",
            "S-1-5-21-1-2-3-1105",
            "s-1-5-21-1-2-3-1105",
        ] {
            assert!(r.answers_to(identity), "{identity}");
        }
        for identity in [
            "",
            "an",
            "contoso.com/Users/Seattle",
            "contoso.com/Users/Seattle/Ann/",
            "S-1-5-21-1-2-3-110",
            "S-1-5-21-1-2-3-11050",
        ] {
            assert!(!r.answers_to(identity), "{identity}");
        }
        Ok(())
    }

    #[test]
    fn a_stored_row_reads_and_writes_back_unchanged() -> Result<(), Box<dyn std::error::Error>> {
        let r: Recipient = serde_json::from_str(STORED_ROW)?;
        assert_eq!(
            r.organizational_unit.to_string(),
            "contoso.com/Users/Seattle"
        );
        assert_eq!(r.attributes.get("Department"), Some("Sales"));
        assert_eq!(r.property("CustomAttribute15"), Some("VIP"));
        assert_eq!(r.property("Office"), None);
        let names: Vec<&str> = r.attributes.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["City", "CustomAttribute15", "Department"]);
        assert_eq!(serde_json::to_string(&r)?, STORED_ROW);
        Ok(())
    }
}
