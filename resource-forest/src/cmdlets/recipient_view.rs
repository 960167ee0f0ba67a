//! A recipient as the recipient cmdlets return it: its properties typed (a
//! Set-Mailbox boolean is a boolean, a list a list, an unset property
//! null), and a mailbox's home database, server and quota as Exchange shows
//! them.

use super::parameters::Kind;
use super::{invalid, registry, Args, CmdletError, Field, Record};
use crate::org::recipients::{Recipient, RecipientType};
use crate::org::Organization;

/// The attribute holding a mailbox's database.
const DATABASE: &str = "Database";
/// The attribute holding the server of a mailbox's database (Active
/// Directory keeps it on the user as well: `msExchHomeServerName`).
const SERVER_NAME: &str = "ServerName";
/// A mailbox without its own quota uses its database's defaults: `Unlimited`
/// until one is set.
const PROHIBIT_SEND_QUOTA: &str = "ProhibitSendQuota";

/// Places a new mailbox on `-Database`, else on the first mailbox database
/// of the organization (as automatic mailbox distribution picks one); an
/// organization without databases leaves it unplaced.
pub fn place(org: &Organization, args: &Args, mailbox: &mut Recipient) -> Result<(), CmdletError> {
    let database = match args.text(DATABASE) {
        Some(name) => Some(
            org.databases
                .get(&name.to_ascii_lowercase())
                .ok_or_else(|| {
                    invalid(
                        DATABASE,
                        format!("`{name}` is not a mailbox database of this organization"),
                    )
                })?,
        ),
        None => org.databases.values().next(),
    };
    if let Some(database) = database {
        mailbox.attributes.insert(DATABASE, &database.name);
        mailbox.attributes.insert(SERVER_NAME, &database.server);
    }
    Ok(())
}

/// The type a stored attribute has: that of the Set- parameter that sets it.
fn typed(name: &str, text: &str) -> Field {
    let kind = ["Set-Mailbox", "Set-User"]
        .iter()
        .filter_map(|c| registry::find(c)?.parameter(name))
        .map(|p| p.kind)
        .next();
    match kind {
        Some(Kind::Bool) if text.eq_ignore_ascii_case("true") => true.into(),
        Some(Kind::Bool) if text.eq_ignore_ascii_case("false") => false.into(),
        Some(Kind::List) if !text.is_empty() => text
            .split(',')
            .map(|v| v.trim().to_owned())
            .collect::<Vec<_>>()
            .into(),
        _ => text.into(),
    }
}

/// The recipient's properties in Exchange's display order; unset ones are
/// null, not left out.
pub fn recipient_record(r: &Recipient) -> Record {
    let mailbox = r.recipient_type == RecipientType::UserMailbox;
    let mut out: Record = vec![
        ("Name".to_owned(), r.name.as_str().into()),
        (
            "RecipientType".to_owned(),
            r.recipient_type.to_string().into(),
        ),
        (
            "RecipientTypeDetails".to_owned(),
            r.recipient_type.details().into(),
        ),
        ("Alias".to_owned(), r.alias.as_str().into()),
    ];
    if mailbox {
        for name in [SERVER_NAME, PROHIBIT_SEND_QUOTA, DATABASE] {
            let value = match r.attributes.get(name) {
                None if name == PROHIBIT_SEND_QUOTA => Some("Unlimited"),
                other => other,
            };
            out.push((name.to_owned(), value.into()));
        }
    }
    out.extend([
        ("DisplayName".to_owned(), r.display_name.as_str().into()),
        (
            "OrganizationalUnit".to_owned(),
            r.organizational_unit.to_string().into(),
        ),
    ]);
    if r.recipient_type.is_user() {
        out.push((
            "UserPrincipalName".to_owned(),
            r.user_principal_name.as_str().into(),
        ));
    }
    out.push((
        "PrimarySmtpAddress".to_owned(),
        r.primary_smtp_address.as_str().into(),
    ));
    if let Some(parameter) = r.recipient_type.external_address_parameter() {
        out.push((
            parameter.to_owned(),
            r.external_email_address.as_str().into(),
        ));
    }
    out.push(("SID".to_owned(), r.sid.to_string().into()));
    if mailbox {
        out.push((
            "RoleAssignmentPolicy".to_owned(),
            r.role_assignment_policy.as_str().into(),
        ));
    }
    let shown_above = [SERVER_NAME, PROHIBIT_SEND_QUOTA, DATABASE];
    out.extend(
        r.attributes
            .iter()
            .filter(|(k, _)| !(mailbox && shown_above.contains(k)))
            .map(|(k, v)| (k.to_owned(), typed(k, v))),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdlets::field::Typed;

    fn value<'r>(record: &'r Record, name: &str) -> Option<&'r Typed> {
        record
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.typed())
    }

    #[test]
    fn a_mailbox_shows_typed_properties_and_nulls() -> Result<(), serde_json::Error> {
        let mut r: Recipient = serde_json::from_str(
            r#"{"name":"Ann","recipient_type":"UserMailbox","alias":"ann","display_name":"","sid":"S-1-5-21-1-2-3-1105","organizational_unit":"contoso.com/Users","user_principal_name":"ann@contoso.com","primary_smtp_address":"ann@contoso.com","external_email_address":"","role_assignment_policy":"Default Role Assignment Policy","members":[],"managed_by":[],"attributes":{"Department":"Sales"}}"#,
        )?;
        r.attributes.insert("HiddenFromAddressListsEnabled", "True");
        r.attributes.insert("Languages", "en-US, fr-FR");
        let record = recipient_record(&r);
        assert_eq!(
            value(&record, "HiddenFromAddressListsEnabled"),
            Some(&Typed::Boolean(true))
        );
        assert_eq!(
            value(&record, "Languages"),
            Some(&Typed::List(vec!["en-US".into(), "fr-FR".into()]))
        );
        assert_eq!(value(&record, "ServerName"), Some(&Typed::Null));
        assert_eq!(
            super::super::shown(&record, "ProhibitSendQuota"),
            Some("Unlimited")
        );
        assert_eq!(value(&record, "Department"), Some(&Typed::Text));
        assert_eq!(value(&record, "DisplayName"), Some(&Typed::Null));
        Ok(())
    }
}
