//! An index from every identity form a recipient answers to (name, alias, UPN,
//! primary SMTP address, SID, canonical name) to the recipient, so that
//! `-Identity` and an authorization Check find their target without reading
//! every recipient.
//!
//! Only an organization that no longer changes is indexed (a published
//! snapshot, see [`crate::state`]); a copy being changed has no index and is
//! searched as before. The index holds hashes of the lower-cased forms, never
//! the forms themselves (≈ 130 bytes per recipient): a lookup takes the
//! recipients whose forms hash alike and keeps those that
//! [`Recipient::answers_to`] the identity, so a hash collision costs time,
//! never a wrong answer.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher, RandomState};

use super::recipients::Recipient;

/// Hashes of identity forms, each with the recipient it names.
#[derive(Debug, Default)]
pub struct IdentityIndex {
    hasher: RandomState,
    /// `(hash of a lower-cased form, position in keys)`, sorted.
    entries: Vec<(u64, u32)>,
    /// The recipients' keys in the organization's map.
    keys: Vec<Box<str>>,
}

impl IdentityIndex {
    /// Indexes every recipient of `recipients` (by lower-case name).
    pub fn new(recipients: &BTreeMap<String, Recipient>) -> Self {
        let mut index = Self {
            hasher: RandomState::new(),
            entries: Vec::with_capacity(recipients.len() * 6),
            keys: Vec::with_capacity(recipients.len()),
        };
        let mut scratch = String::new();
        for (position, (key, r)) in recipients.iter().enumerate() {
            let Ok(position) = u32::try_from(position) else {
                // Past 4 billion recipients the rest are found by the scan.
                break;
            };
            for form in [
                r.name.as_str(),
                &r.alias,
                &r.user_principal_name,
                &r.primary_smtp_address,
            ] {
                if !form.is_empty() {
                    index.entries.push((index.hash(form), position));
                }
            }
            scratch.clear();
            let _ = write!(scratch, "{}", r.sid);
            index.entries.push((index.hash(&scratch), position));
            scratch.clear();
            let _ = write!(scratch, "{}/{}", r.organizational_unit, r.name);
            index.entries.push((index.hash(&scratch), position));
            index.keys.push(key.as_str().into());
        }
        index.entries.sort_unstable();
        index.entries.dedup();
        index.entries.shrink_to_fit();
        index
    }

    fn hash(&self, form: &str) -> u64 {
        // Lower-cased in chunks: the hasher streams, so chunking does not
        // change the hash, and a call per chunk is far cheaper than per byte.
        let mut hasher = self.hasher.build_hasher();
        let mut chunk = [0u8; 64];
        for piece in form.as_bytes().chunks(chunk.len()) {
            let lower = &mut chunk[..piece.len()];
            lower.copy_from_slice(piece);
            lower.make_ascii_lowercase();
            hasher.write(lower);
        }
        hasher.finish()
    }

    /// The recipients of `recipients` (the map this index was built from)
    /// that answer to `identity`.
    pub fn find<'a, 'i>(
        &'a self,
        recipients: &'a BTreeMap<String, Recipient>,
        identity: &'i str,
    ) -> impl Iterator<Item = &'a Recipient> + use<'a, 'i> {
        let hash = self.hash(identity);
        let start = self.entries.partition_point(|(h, _)| *h < hash);
        // Entries are unique: a recipient is listed once per hash.
        self.entries[start..]
            .iter()
            .take_while(move |(h, _)| *h == hash)
            .filter_map(|(_, position)| {
                let key = self.keys.get(usize::try_from(*position).ok()?)?;
                recipients.get(key.as_ref())
            })
            .filter(move |r| r.answers_to(identity))
    }
}

/// The index of an organization, when it has one; a clone has none (it may
/// be changed), and two organizations are equal whatever their indexes.
#[derive(Debug, Default)]
pub struct IndexSlot(Option<IdentityIndex>);

impl IndexSlot {
    /// The index, if built.
    pub fn get(&self) -> Option<&IdentityIndex> {
        self.0.as_ref()
    }

    /// Sets the index.
    pub fn set(&mut self, index: IdentityIndex) {
        self.0 = Some(index);
    }
}

impl Clone for IndexSlot {
    fn clone(&self) -> Self {
        Self(None)
    }
}

impl PartialEq for IndexSlot {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for IndexSlot {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::organization::{OrgError, Organization};
    use crate::org::recipients::RecipientType;

    fn recipient(name: &str, alias: &str, rid: u32, ou: &str) -> Recipient {
        let row = format!(
            r#"{{"name":"{name}","recipient_type":"UserMailbox","alias":"{alias}","display_name":"{name}","sid":"S-1-5-21-1-2-3-{rid}","organizational_unit":"contoso.com/{ou}","user_principal_name":"{alias}@contoso.com","primary_smtp_address":"{alias}@contoso.com","external_email_address":"","role_assignment_policy":"Default Role Assignment Policy","members":[],"managed_by":[],"attributes":{{}}}}"#
        );
        serde_json::from_str(&row).unwrap()
    }

    /// An OU whose canonical names are hashed in more than one chunk.
    const LONG_OU: &str = "Users/Research and Development Laboratories in Redmond and Bellevue";

    /// Four mailboxes; `Lee`'s alias is `ann`'s name, so `ann` is ambiguous.
    fn organization() -> Organization {
        let mut org = Organization::new(
            "contoso.com".parse().unwrap(),
            "S-1-5-21-1-2-3".parse().unwrap(),
            &crate::rbac::catalogue::builtin().unwrap(),
            &["Users/Seattle".to_owned(), LONG_OU.to_owned()],
        )
        .unwrap();
        for r in [
            recipient("Ann", "annl", 1105, "Users/Seattle"),
            recipient("Bob", "bob", 1106, "Users"),
            recipient("Lee", "Ann", 1107, "Users"),
            recipient("Kim", "kim", 1108, LONG_OU),
        ] {
            org.recipients.insert(r.name.to_ascii_lowercase(), r);
        }
        org
    }

    fn names(found: Result<&Recipient, OrgError>) -> Result<String, OrgError> {
        found.map(|r| r.name.clone())
    }

    #[test]
    fn indexed_lookups_answer_as_the_scan_does() {
        let scanned = organization();
        let mut indexed = organization();
        indexed.index_identities();
        assert!(indexed.identities.get().is_some());
        for identity in [
            "bob",
            "BOB@contoso.com",
            "annl",
            "s-1-5-21-1-2-3-1105",
            "S-1-5-21-1-2-3-1106",
            "contoso.com/users/seattle/ann",
            "contoso.com/Users/Bob",
            "contoso.com/Users/Seattle/Bob",
            "CONTOSO.COM/users/research and development laboratories in redmond and bellevue/KIM",
            "contoso.com/Users/Research and Development Laboratories in Redmond and Bellevue/Ki",
            "ann",
            "Lee",
            "",
            "S-1-5-21-1-2-3-110",
            "nobody",
        ] {
            for types in [
                &[][..],
                &[RecipientType::UserMailbox],
                &[RecipientType::User],
            ] {
                assert_eq!(
                    names(indexed.recipient(identity, types)),
                    names(scanned.recipient(identity, types)),
                    "{identity} {types:?}"
                );
            }
        }
        assert!(matches!(
            indexed.recipient("ann", &[]),
            Err(OrgError::Ambiguous(_))
        ));
    }

    #[test]
    fn a_clone_is_not_indexed_so_its_changes_are_found() {
        let mut org = organization();
        org.index_identities();
        let mut changed = org.clone();
        assert!(changed.identities.get().is_none());
        assert_eq!(org, changed, "the index takes no part in equality");
        if let Some(bob) = changed.recipients.get_mut("bob") {
            bob.alias = "robert".into();
        }
        assert_eq!(
            names(changed.recipient("robert", &[])).unwrap(),
            "Bob".to_owned()
        );
        assert!(org.recipient("robert", &[]).is_err());
    }
}
