//! The organization as rows: one row per object (recipient, role, role group,
//! assignment, scope, policy, server, database, cluster, Receive connector)
//! plus one `organization` row for everything else, each keyed by
//! `(kind, lower-case name)` and holding the object as JSON. A change is the
//! rows that differ between two organizations, so a write costs O(change).

use std::collections::BTreeMap;
use std::sync::Arc;

use crossforest_shared::store::{decode as parse, encode as json, unknown_kind as unknown};
pub use crossforest_shared::store::{Delta, Row, RowChanges};
use serde::Serialize;

use super::StoreError;
use crate::org::{Organization, Recipients};

/// The kind of the row holding everything that is not a keyed object.
pub const ORGANIZATION: &str = "organization";

/// The kind of the audit outbox's rows: the admin audit record of a change,
/// written in the change's own transaction (R-AUDIT-3), keyed
/// `<node id>/<revision>`, deleted once the node's audit log holds it (see
/// `request::commit`). Not part of the organization.
pub const AUDIT: &str = "audit";

/// Calls `$m!(kind, field)` for every keyed collection of an organization
/// other than the recipients (a map of the organization), and
/// `$m!(kind, rbac: field)` for those of its RBAC configuration.
macro_rules! collections {
    ($m:ident) => {
        $m!("role", rbac: roles);
        $m!("role_group", rbac: role_groups);
        $m!("assignment", rbac: assignments);
        $m!("scope", rbac: scopes);
        $m!("policy", rbac: policies);
        $m!("server", servers);
        $m!("database", databases);
        $m!("cluster", clusters);
        $m!("receive_connector", receive_connectors);
    };
}

/// The kind of a recipient's row.
const RECIPIENT: &str = "recipient";

/// Every kind of row, the organization row first.
pub const KINDS: &[&str] = &[
    ORGANIZATION,
    RECIPIENT,
    "role",
    "role_group",
    "assignment",
    "scope",
    "policy",
    "server",
    "database",
    "cluster",
    "receive_connector",
];

/// The organization without its keyed objects: the `organization` row.
fn hollow(org: &Organization) -> Organization {
    Organization {
        forest: org.forest.clone(),
        domain_sid: org.domain_sid,
        next_rid: org.next_rid,
        organizational_units: org.organizational_units.clone(),
        local_accounts: org.local_accounts.clone(),
        recipients: Recipients::new(),
        rbac: Arc::default(),
        servers: BTreeMap::new(),
        databases: BTreeMap::new(),
        clusters: BTreeMap::new(),
        receive_connectors: BTreeMap::new(),
        ad_permissions: org.ad_permissions.clone(),
        active_directory_split_permissions: org.active_directory_split_permissions,
        preparation: org.preparation.clone(),
        admin_audit_log_config: org.admin_audit_log_config.clone(),
    }
}

/// Every row of `org`.
pub fn split(org: &Organization) -> Result<Vec<Row>, StoreError> {
    let mut rows = vec![Row {
        kind: ORGANIZATION,
        key: String::new(),
        body: json(ORGANIZATION, "", &hollow(org))?,
    }];
    for (key, value) in org.recipients.iter() {
        rows.push(Row {
            kind: RECIPIENT,
            key: key.to_owned(),
            body: json(RECIPIENT, key, value)?,
        });
    }
    macro_rules! push_map {
        ($kind:literal, rbac: $field:ident) => {
            push_rows($kind, &org.rbac.$field, &mut rows)?;
        };
        ($kind:literal, $field:ident) => {
            push_rows($kind, &org.$field, &mut rows)?;
        };
    }
    collections!(push_map);
    Ok(rows)
}

fn push_rows<V: Serialize>(
    kind: &'static str,
    map: &BTreeMap<String, V>,
    rows: &mut Vec<Row>,
) -> Result<(), StoreError> {
    for (key, value) in map {
        rows.push(Row {
            kind,
            key: key.clone(),
            body: json(kind, key, value)?,
        });
    }
    Ok(())
}

fn diff_map<V: PartialEq + Serialize>(
    kind: &'static str,
    before: &BTreeMap<String, V>,
    after: &BTreeMap<String, V>,
    changes: &mut RowChanges,
) -> Result<(), StoreError> {
    for (key, value) in after {
        if before.get(key) != Some(value) {
            changes.upserts.push(Row {
                kind,
                key: key.clone(),
                body: json(kind, key, value)?,
            });
        }
    }
    changes.deletes.extend(
        before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .map(|k| (kind, k.clone())),
    );
    Ok(())
}

/// The rows that turn `before` into `after`. When `after` is a changed copy
/// of `before` this costs O(change): the recipients they share are skipped
/// whole ([`Recipients::changes`]), and the RBAC rows are not read when the
/// two share their RBAC configuration.
pub fn diff(before: &Organization, after: &Organization) -> Result<RowChanges, StoreError> {
    let mut changes = RowChanges::default();
    let hollow_after = hollow(after);
    if hollow(before) != hollow_after {
        changes.upserts.push(Row {
            kind: ORGANIZATION,
            key: String::new(),
            body: json(ORGANIZATION, "", &hollow_after)?,
        });
    }
    for (key, value) in before.recipients.changes(&after.recipients) {
        match value {
            Some(value) => changes.upserts.push(Row {
                kind: RECIPIENT,
                key: key.to_owned(),
                body: json(RECIPIENT, key, value)?,
            }),
            None => changes.deletes.push((RECIPIENT, key.to_owned())),
        }
    }
    let same_rbac = Arc::ptr_eq(&before.rbac, &after.rbac);
    macro_rules! compare {
        ($kind:literal, rbac: $field:ident) => {
            if !same_rbac {
                diff_map($kind, &before.rbac.$field, &after.rbac.$field, &mut changes)?;
            }
        };
        ($kind:literal, $field:ident) => {
            diff_map($kind, &before.$field, &after.$field, &mut changes)?;
        };
    }
    collections!(compare);
    Ok(changes)
}

/// The organization the rows hold; `None` when there is no `organization` row.
/// Unknown kinds are errors: they come from a newer schema.
pub fn assemble(
    rows: impl IntoIterator<Item = (String, String, String)>,
) -> Result<Option<Organization>, StoreError> {
    let mut org: Option<Organization> = None;
    let mut objects = Vec::new();
    for (kind, key, body) in rows {
        if kind == AUDIT {
            continue;
        }
        if kind == ORGANIZATION {
            org = Some(parse(ORGANIZATION, &key, &body)?);
        } else {
            objects.push((kind, key, body));
        }
    }
    let Some(mut org) = org else {
        return if objects.is_empty() {
            Ok(None)
        } else {
            Err(StoreError::Corrupt(
                "objects are stored without their organization".into(),
            ))
        };
    };
    for (kind, key, body) in objects {
        place(&mut org, &kind, key, &body)?;
    }
    Ok(Some(org))
}

/// Inserts (or replaces) the object a row holds.
fn place(org: &mut Organization, kind: &str, key: String, body: &str) -> Result<(), StoreError> {
    if kind == RECIPIENT {
        let value = parse(RECIPIENT, &key, body)?;
        org.recipients.insert(key, value);
        return Ok(());
    }
    macro_rules! place {
        ($kind:literal, rbac: $field:ident) => {
            if kind == $kind {
                let value = parse($kind, &key, body)?;
                org.rbac_mut().$field.insert(key, value);
                return Ok(());
            }
        };
        ($kind:literal, $field:ident) => {
            if kind == $kind {
                let value = parse($kind, &key, body)?;
                org.$field.insert(key, value);
                return Ok(());
            }
        };
    }
    collections!(place);
    Err(unknown(kind, &key))
}

/// `org` (as of the revision the delta starts from) with `delta` applied: in
/// O(delta) on a copy of a snapshot's organization, whose trees the result
/// shares (and its RBAC configuration, when no RBAC row changed).
pub fn apply(mut org: Organization, delta: Delta) -> Result<Organization, StoreError> {
    for (kind, key) in delta.deletes {
        if kind == AUDIT {
            continue;
        }
        if kind == RECIPIENT {
            org.recipients.remove(&key);
            continue;
        }
        macro_rules! remove {
            ($kind:literal, rbac: $field:ident) => {
                if kind == $kind {
                    org.rbac_mut().$field.remove(&key);
                    continue;
                }
            };
            ($kind:literal, $field:ident) => {
                if kind == $kind {
                    org.$field.remove(&key);
                    continue;
                }
            };
        }
        collections!(remove);
        return Err(unknown(&kind, &key));
    }
    for (kind, key, body) in delta.upserts {
        if kind == AUDIT {
            continue;
        }
        if kind == ORGANIZATION {
            let mut hollow: Organization = parse(ORGANIZATION, &key, &body)?;
            hollow.recipients = std::mem::take(&mut org.recipients);
            hollow.rbac = std::mem::take(&mut org.rbac);
            macro_rules! keep {
                ($kind:literal, rbac: $field:ident) => {};
                ($kind:literal, $field:ident) => {
                    hollow.$field = std::mem::take(&mut org.$field);
                };
            }
            collections!(keep);
            org = hollow;
        } else {
            place(&mut org, &kind, key, &body)?;
        }
    }
    Ok(org)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::catalogue;

    fn org() -> Organization {
        let domain = "S-1-5-21-1-2-3".parse().unwrap();
        Organization::new(
            "contoso.com".parse().unwrap(),
            domain,
            &catalogue::builtin().unwrap(),
            &[],
        )
        .unwrap()
    }

    fn rows(org: &Organization) -> Vec<(String, String, String)> {
        split(org)
            .unwrap()
            .into_iter()
            .map(|r| (r.kind.to_owned(), r.key, r.body))
            .collect()
    }

    #[test]
    fn split_then_assemble_gives_the_organization_back() {
        let org = org();
        assert_eq!(assemble(rows(&org)).unwrap(), Some(org));
    }

    /// One assignment fewer and one RID more.
    fn changed(before: &Organization) -> Organization {
        let mut after = before.clone();
        after
            .rbac_mut()
            .assignments
            .remove("mail recipients-recipient management");
        after.next_rid += 1;
        after
    }

    #[test]
    fn diff_names_only_what_changed() {
        let before = org();
        let after = changed(&before);
        let changes = diff(&before, &after).unwrap();
        assert_eq!(
            changes.deletes,
            vec![(
                "assignment",
                "mail recipients-recipient management".to_owned()
            )]
        );
        assert_eq!(changes.upserts.len(), 1);
        assert_eq!(changes.upserts[0].kind, ORGANIZATION);
        assert!(diff(&before, &before).unwrap().is_empty());
    }

    #[test]
    fn a_delta_turns_one_revision_into_the_next() {
        let before = org();
        let mut after = changed(&before);
        after
            .rbac_mut()
            .role_groups
            .values_mut()
            .for_each(|g| g.description = "x".into());
        let changes = diff(&before, &after).unwrap();
        let delta = Delta {
            revision: 2,
            upserts: changes
                .upserts
                .into_iter()
                .map(|r| (r.kind.to_owned(), r.key, r.body))
                .collect(),
            deletes: changes
                .deletes
                .into_iter()
                .map(|(k, key)| (k.to_owned(), key))
                .collect(),
        };
        assert_eq!(apply(before, delta).unwrap(), after);
    }

    fn recipient(i: u32) -> crate::org::recipients::Recipient {
        let row = format!(
            r#"{{"name":"User{i}","recipient_type":"UserMailbox","alias":"user{i}","display_name":"User {i}","sid":"S-1-5-21-1-2-3-{}","organizational_unit":"contoso.com/Users","user_principal_name":"user{i}@contoso.com","primary_smtp_address":"user{i}@contoso.com","external_email_address":"","role_assignment_policy":"Default Role Assignment Policy","members":[],"managed_by":[],"attributes":{{}}}}"#,
            10_000 + i
        );
        serde_json::from_str(&row).unwrap()
    }

    fn with_recipients(n: u32) -> Organization {
        let mut org = org();
        for i in 0..n {
            org.recipients.insert(format!("user{i}"), recipient(i));
        }
        org
    }

    fn delta(revision: u64, changes: RowChanges) -> Delta {
        Delta {
            revision,
            upserts: changes
                .upserts
                .into_iter()
                .map(|r| (r.kind.to_owned(), r.key, r.body))
                .collect(),
            deletes: changes
                .deletes
                .into_iter()
                .map(|(k, key)| (k.to_owned(), key))
                .collect(),
        }
    }

    #[test]
    fn a_one_recipient_change_names_exactly_its_row_among_10000() {
        let before = with_recipients(10_000);
        let mut after = before.clone();
        after
            .recipients
            .update("user4321", |r| r.display_name = "Changed".into());
        let changes = diff(&before, &after).unwrap();
        assert_eq!(
            changes
                .upserts
                .iter()
                .map(|r| (r.kind, r.key.as_str()))
                .collect::<Vec<_>>(),
            vec![(RECIPIENT, "user4321")]
        );
        assert!(changes.deletes.is_empty());
        assert!(Arc::ptr_eq(&before.rbac, &after.rbac));

        let mut after = before.clone();
        after.recipients.remove("user17");
        after
            .recipients
            .insert("user10000".into(), recipient(10_000));
        let changes = diff(&before, &after).unwrap();
        assert_eq!(changes.deletes, vec![(RECIPIENT, "user17".to_owned())]);
        assert_eq!(changes.upserts.len(), 1);
        assert_eq!(changes.upserts[0].key, "user10000");
    }

    #[test]
    fn a_delta_applied_on_a_follower_equals_a_full_reload() {
        let before = with_recipients(2_000);
        let mut after = before.clone();
        for i in (0..2_000).step_by(97) {
            after.recipients.update(&format!("user{i}"), |r| {
                r.alias = format!("renamed{i}");
                r.members.insert(
                    format!("S-1-5-21-1-2-3-{}", 10_000 + i / 2)
                        .parse()
                        .unwrap(),
                );
            });
        }
        for i in (5..2_000).step_by(211) {
            after.forget(
                &format!("S-1-5-21-1-2-3-{}", 10_000 + i).parse().unwrap(),
                &format!("User{i}"),
            );
        }
        after.recipients.insert("user9999".into(), recipient(9_999));
        after.next_rid += 3;

        // Recipients only: the follower's copy keeps the RBAC it shares.
        let follower = apply(before.clone(), delta(2, diff(&before, &after).unwrap())).unwrap();
        let reloaded = assemble(rows(&after)).unwrap().unwrap();
        assert_eq!(follower, reloaded);
        assert_eq!(follower, after);
        assert!(Arc::ptr_eq(&follower.rbac, &before.rbac));
        for i in [0u32, 97, 5, 216, 1_000, 9_999] {
            for identity in [
                format!("user{i}"),
                format!("renamed{i}"),
                format!("S-1-5-21-1-2-3-{}", 10_000 + i),
            ] {
                let ours = follower.recipient(&identity, &[]).map(|r| r.name.clone());
                let theirs = reloaded.recipient(&identity, &[]).map(|r| r.name.clone());
                assert_eq!(ours, theirs, "{identity}");
            }
            let sid = format!("S-1-5-21-1-2-3-{}", 10_000 + i).parse().unwrap();
            assert_eq!(
                follower.security_groups_of(&sid),
                reloaded.security_groups_of(&sid)
            );
            assert_eq!(follower.policies_of(&sid), reloaded.policies_of(&sid));
        }

        // And with RBAC rows: the follower has its own RBAC, equal to the reload's.
        let rbac_changed = changed(&after);
        let follower = apply(
            after.clone(),
            delta(3, diff(&after, &rbac_changed).unwrap()),
        )
        .unwrap();
        assert_eq!(follower, assemble(rows(&rbac_changed)).unwrap().unwrap());
        assert!(!Arc::ptr_eq(&follower.rbac, &after.rbac));
    }

    #[test]
    fn unknown_kinds_are_refused() {
        let mut rows = rows(&org());
        rows.push(("mystery".into(), "x".into(), "{}".into()));
        let e = assemble(rows).unwrap_err().to_string();
        assert!(e.contains("mystery"), "{e}");
    }
}
