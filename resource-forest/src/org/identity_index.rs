//! The recipients of an organization with an index kept up to date on every
//! change, so that `-Identity`, an authorization Check and the look-ups of a
//! write (`name_taken`, the SID of a caller, the groups a SID is in) find
//! their recipients without reading every recipient (issue 15).
//!
//! Both the recipients and the index are persistent ordered trees
//! ([`imbl`]): a clone costs O(1) and shares every node with the original,
//! a change copies the O(log n) nodes on its path, and the recipients that
//! differ between two versions are found by skipping the subtrees they share
//! ([`Recipients::changes`]), so a write costs what it changes.
//!
//! The index holds hashes of the lower-cased identity forms (alias, UPN,
//! primary SMTP address, SID, canonical name; not those equal to the key,
//! the lower-case name, which a lookup reads from the map directly) and of
//! the SIDs a group lists as members or owners, each with the key of the
//! recipient; a lookup takes the recipients whose forms hash alike and keeps
//! those that really answer ([`Recipient::answers_to`], the SID compared, the
//! member list read), so a hash collision costs time, never a wrong answer.
//!
//! Memory: the map holds a shared pointer per recipient (a path copy clones
//! pointers, not recipients), and the key is one allocation shared by the
//! map and the index entries.

use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Arc;

use crossforest_shared::Sid;
use imbl::{OrdMap, OrdSet};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::recipients::Recipient;

/// A recipient's key in the index: its lower-case name, shared by its entries.
type Key = Arc<str>;

/// `(hash, key of the recipient)`: ordered by hash, then by key.
type Entries = OrdSet<(u64, Key)>;

/// The index of [`Recipients`].
#[derive(Debug, Clone, Default)]
struct IdentityIndex {
    hasher: RandomState,
    /// Hashes of every identity form of every recipient.
    forms: Entries,
    /// Hashes of the SIDs each group lists in `members` or `managed_by`.
    references: Entries,
}

impl IdentityIndex {
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

    fn hash_sid(&self, sid: &Sid, scratch: &mut String) -> u64 {
        scratch.clear();
        let _ = write!(scratch, "{sid}");
        self.hash(scratch)
    }

    /// The hashes of `r`'s identity forms (but those equal to `key`, found
    /// in the map directly) and of the SIDs it references.
    fn hashes(&self, key: &str, r: &Recipient) -> (Vec<u64>, Vec<u64>) {
        let mut scratch = String::new();
        let mut forms = Vec::with_capacity(6);
        let mut add = |form: &str| {
            // The key is lower-case: a form equal to it ignoring case is
            // found by the map; any other is hashed.
            let is_key =
                form.eq_ignore_ascii_case(key) && !key.bytes().any(|b| b.is_ascii_uppercase());
            if !form.is_empty() && !is_key {
                forms.push(self.hash(form));
            }
        };
        for form in [
            r.name.as_str(),
            &r.alias,
            &r.user_principal_name,
            &r.primary_smtp_address,
        ] {
            add(form);
        }
        let _ = write!(scratch, "{}", r.sid);
        add(&scratch);
        scratch.clear();
        let _ = write!(scratch, "{}/{}", r.organizational_unit, r.name);
        add(&scratch);
        forms.sort_unstable();
        forms.dedup();
        let references = r
            .members
            .iter()
            .chain(&r.managed_by)
            .map(|sid| self.hash_sid(sid, &mut scratch))
            .collect();
        (forms, references)
    }

    fn add(&mut self, key: &Key, r: &Recipient) {
        let (forms, references) = self.hashes(key, r);
        for h in forms {
            self.forms.insert((h, key.clone()));
        }
        for h in references {
            self.references.insert((h, key.clone()));
        }
    }

    fn remove(&mut self, key: &Key, r: &Recipient) {
        let (forms, references) = self.hashes(key, r);
        for h in forms {
            self.forms.remove(&(h, key.clone()));
        }
        for h in references {
            self.references.remove(&(h, key.clone()));
        }
    }

    /// The keys listed under `hash` in `entries`, in key order.
    fn keys(entries: &Entries, hash: u64) -> impl Iterator<Item = &Key> {
        entries
            .range((hash, Key::from(""))..)
            .take_while(move |(h, _)| *h == hash)
            .map(|(_, key)| key)
    }
}

/// The recipients of an organization by lower-case name, with their index.
#[derive(Debug, Clone, Default)]
pub struct Recipients {
    map: OrdMap<Key, Arc<Recipient>>,
    index: IdentityIndex,
}

impl Recipients {
    /// No recipients.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many recipients.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The recipient keyed `key` (its lower-case name).
    pub fn get(&self, key: &str) -> Option<&Recipient> {
        self.map.get(key).map(|r| &**r)
    }

    /// Whether a recipient is keyed `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Every recipient with its key, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Recipient)> {
        self.map.iter().map(|(k, r)| (k.as_ref(), &**r))
    }

    /// Every key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(|k| k.as_ref())
    }

    /// Every recipient, in key order.
    pub fn values(&self) -> impl Iterator<Item = &Recipient> {
        self.map.values().map(|r| &**r)
    }

    /// Adds or replaces the recipient keyed `key`; returns the one replaced.
    pub fn insert(&mut self, key: String, recipient: Recipient) -> Option<Recipient> {
        let replaced = self.remove(&key);
        let shared: Key = key.into();
        self.index.add(&shared, &recipient);
        self.map.insert(shared, Arc::new(recipient));
        replaced
    }

    /// Removes the recipient keyed `key`.
    pub fn remove(&mut self, key: &str) -> Option<Recipient> {
        let (key, removed) = self.map.remove_with_key(key)?;
        self.index.remove(&key, &removed);
        Some(Arc::unwrap_or_clone(removed))
    }

    /// Changes the recipient keyed `key` with `change`; false if there is none.
    pub fn update(&mut self, key: &str, change: impl FnOnce(&mut Recipient)) -> bool {
        let Some(mut recipient) = self.get(key).cloned() else {
            return false;
        };
        change(&mut recipient);
        if self.get(key) != Some(&recipient) {
            self.insert(key.to_owned(), recipient);
        }
        true
    }

    /// Changes with `change` every recipient `matches` selects (a scan: for
    /// changes that are not about one identity, such as renaming a policy).
    pub fn update_where(
        &mut self,
        mut matches: impl FnMut(&Recipient) -> bool,
        mut change: impl FnMut(&mut Recipient),
    ) {
        let keys: Vec<String> = self
            .map
            .iter()
            .filter(|(_, r)| matches(r))
            .map(|(k, _)| k.to_string())
            .collect();
        for key in keys {
            self.update(&key, &mut change);
        }
    }

    /// The recipients that answer to `identity` (see
    /// [`Recipient::answers_to`]), in key order.
    pub fn find<'a, 'i>(
        &'a self,
        identity: &'i str,
    ) -> impl Iterator<Item = &'a Recipient> + use<'a, 'i> {
        self.candidates(identity)
            .filter(move |r| r.answers_to(identity))
    }

    /// The recipients whose SID is `sid`, in key order.
    pub fn by_sid<'a, 'i>(
        &'a self,
        sid: &'i Sid,
    ) -> impl Iterator<Item = &'a Recipient> + use<'a, 'i> {
        self.candidates(&sid.to_string())
            .filter(move |r| r.sid == *sid)
    }

    /// The recipients named, aliased or logging on as one of `forms`
    /// (case-insensitively, empty forms ignored), in key order.
    pub fn named<'a, 'i>(
        &'a self,
        name: &'i str,
        alias: &'i str,
        upn: &'i str,
    ) -> impl Iterator<Item = &'a Recipient> + use<'a, 'i> {
        let mut found: Vec<(&Key, &Arc<Recipient>)> = [name, alias, upn]
            .iter()
            .filter(|f| !f.is_empty())
            .flat_map(|f| self.candidate_entries(f))
            .collect();
        found.sort_unstable_by(|a, b| a.0.cmp(b.0));
        found.dedup_by(|a, b| a.0 == b.0);
        found.into_iter().map(|(_, r)| &**r).filter(move |r| {
            (!name.is_empty() && r.name.eq_ignore_ascii_case(name))
                || (!alias.is_empty() && r.alias.eq_ignore_ascii_case(alias))
                || (!upn.is_empty() && r.user_principal_name.eq_ignore_ascii_case(upn))
        })
    }

    /// The recipients that list `sid` as a member or an owner, in key order.
    pub fn referencing<'a, 'i>(
        &'a self,
        sid: &'i Sid,
    ) -> impl Iterator<Item = &'a Recipient> + use<'a, 'i> {
        let hash = self.index.hash_sid(sid, &mut String::new());
        IdentityIndex::keys(&self.index.references, hash)
            .filter_map(|k| self.get(k))
            .filter(move |r| r.members.contains(sid) || r.managed_by.contains(sid))
    }

    /// The recipients that may answer to `form`, in key order: the one keyed
    /// by it, and those with a form hashed alike.
    fn candidates(&self, form: &str) -> impl Iterator<Item = &Recipient> {
        self.candidate_entries(form).into_iter().map(|(_, r)| &**r)
    }

    fn candidate_entries(&self, form: &str) -> Vec<(&Key, &Arc<Recipient>)> {
        let mut found: Vec<(&Key, &Arc<Recipient>)> =
            IdentityIndex::keys(&self.index.forms, self.index.hash(form))
                .filter_map(|k| self.map.get_key_value(k.as_ref()))
                .collect();
        if let Some(keyed) = self.map.get_key_value(form.to_ascii_lowercase().as_str()) {
            if let Err(at) = found.binary_search_by(|(k, _)| k.cmp(&keyed.0)) {
                found.insert(at, keyed);
            }
        }
        found
    }

    /// What changed from `self` to `after`, in key order: each key with the
    /// recipient it holds after (`None`: removed). Subtrees the two share
    /// are skipped, so a copy changed in k places is compared in
    /// O(k log n).
    pub fn changes<'a>(
        &'a self,
        after: &'a Self,
    ) -> impl Iterator<Item = (&'a str, Option<&'a Recipient>)> + 'a {
        self.map.diff(&after.map).map(|item| match item {
            imbl::ordmap::DiffItem::Add(k, v) => (k.as_ref(), Some(&**v)),
            imbl::ordmap::DiffItem::Update { new: (k, v), .. } => (k.as_ref(), Some(&**v)),
            imbl::ordmap::DiffItem::Remove(k, _) => (k.as_ref(), None),
        })
    }

    /// Whether the two share their whole tree (one is an unchanged copy of
    /// the other).
    pub fn ptr_eq(&self, other: &Self) -> bool {
        self.map.ptr_eq(&other.map)
    }

    /// Every index entry, for tests: what a rebuild must equal.
    #[cfg(test)]
    fn entries(&self) -> [Vec<(u64, String)>; 2] {
        let list = |e: &Entries| e.iter().map(|(h, k)| (*h, k.to_string())).collect();
        [list(&self.index.forms), list(&self.index.references)]
    }
}

impl PartialEq for Recipients {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl Eq for Recipients {}

impl FromIterator<(String, Recipient)> for Recipients {
    fn from_iter<I: IntoIterator<Item = (String, Recipient)>>(iter: I) -> Self {
        let mut recipients = Self::new();
        for (key, r) in iter {
            recipients.insert(key, r);
        }
        recipients
    }
}

impl Serialize for Recipients {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Recipients {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, Recipient>::deserialize(deserializer)?;
        Ok(map.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::organization::{OrgError, Organization};
    use crate::org::recipients::RecipientType;
    use proptest::prelude::*;

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

    /// What `Organization::recipient` answered before the index: a scan.
    fn scanned<'a>(
        org: &'a Organization,
        identity: &str,
        types: &[RecipientType],
    ) -> Result<&'a Recipient, OrgError> {
        let mut found = org
            .recipients
            .values()
            .filter(|r| types.is_empty() || types.contains(&r.recipient_type))
            .filter(|r| r.answers_to(identity));
        match (found.next(), found.next()) {
            (Some(m), None) => Ok(m),
            (Some(_), Some(_)) => Err(OrgError::Ambiguous(identity.to_owned())),
            (None, _) => Err(OrgError::NotFound(identity.to_owned())),
        }
    }

    #[test]
    fn indexed_lookups_answer_as_the_scan_does() {
        let org = organization();
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
                    names(org.recipient(identity, types)),
                    names(scanned(&org, identity, types)),
                    "{identity} {types:?}"
                );
            }
        }
        assert!(matches!(
            org.recipient("ann", &[]),
            Err(OrgError::Ambiguous(_))
        ));
    }

    #[test]
    fn a_changed_copy_finds_its_changes_and_the_original_does_not() {
        let org = organization();
        let mut changed = org.clone();
        assert_eq!(org, changed);
        assert!(changed
            .recipients
            .update("bob", |bob| bob.alias = "robert".into()));
        assert_eq!(
            names(changed.recipient("robert", &[])).unwrap(),
            "Bob".to_owned()
        );
        assert!(org.recipient("robert", &[]).is_err());
        assert!(changed.recipient("bob@contoso.com", &[]).is_ok());
        let changes: Vec<_> = org
            .recipients
            .changes(&changed.recipients)
            .map(|(k, r)| (k.to_owned(), r.map(|r| r.alias.clone())))
            .collect();
        assert_eq!(changes, vec![("bob".to_owned(), Some("robert".to_owned()))]);
    }

    /// A rebuild from scratch, with the same hasher.
    fn rebuilt(recipients: &Recipients) -> Recipients {
        let mut fresh = Recipients {
            map: OrdMap::new(),
            index: IdentityIndex {
                hasher: recipients.index.hasher.clone(),
                ..Default::default()
            },
        };
        for (k, r) in recipients.iter() {
            fresh.insert(k.to_owned(), r.clone());
        }
        fresh
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u8, u8),
        Change(u8, u8),
        Join(u8, u8),
        Remove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..24, 0u8..24, 0u8..4).prop_map(|(n, a, ou)| Op::Insert(n, a, ou)),
            (0u8..24, 0u8..24).prop_map(|(n, a)| Op::Change(n, a)),
            (0u8..24, 0u8..24).prop_map(|(g, m)| Op::Join(g, m)),
            (0u8..24).prop_map(Op::Remove),
        ]
    }

    proptest! {
        /// After any sequence of inserts, changes and removals, on copies
        /// that share their trees, the index equals a rebuild and every
        /// look-up answers as a scan.
        #[test]
        fn the_incremental_index_equals_a_rebuild(ops in proptest::collection::vec(op(), 1..60)) {
            let sid = |n: u8| -> Sid { format!("S-1-5-21-1-2-3-{}", 2000 + u32::from(n)).parse().unwrap() };
            let mut versions = vec![Recipients::new()];
            for op in ops {
                let mut next = versions.last().unwrap().clone();
                match op {
                    Op::Insert(n, a, ou) => {
                        let ou = ["Users", "Users/Seattle", LONG_OU, "Users"][usize::from(ou)];
                        let mut r = recipient(&format!("N{n}"), &format!("a{a}"), 2000 + u32::from(n), ou);
                        if n % 3 == 0 {
                            r.recipient_type = RecipientType::MailUniversalSecurityGroup;
                        }
                        next.insert(r.name.to_ascii_lowercase(), r);
                    }
                    Op::Change(n, a) => {
                        next.update(&format!("n{n}"), |r| {
                            r.alias = format!("A{a}");
                            r.primary_smtp_address = format!("a{a}@contoso.com");
                        });
                    }
                    Op::Join(g, m) => {
                        next.update(&format!("n{g}"), |r| {
                            if !r.members.remove(&sid(m)) {
                                r.members.insert(sid(m));
                                r.managed_by.push(sid(m.wrapping_add(1) % 24));
                            }
                        });
                    }
                    Op::Remove(n) => {
                        next.remove(&format!("n{n}"));
                    }
                }
                versions.push(next);
            }
            for (i, v) in versions.iter().enumerate() {
                prop_assert_eq!(v.entries(), rebuilt(v).entries(), "version {}", i);
                for n in 0..24u8 {
                    for identity in [format!("n{n}"), format!("A{n}"), format!("a{n}@contoso.com"), sid(n).to_string()] {
                        let indexed: Vec<_> = v.find(&identity).map(|r| r.name.clone()).collect();
                        let scan: Vec<_> = v.values().filter(|r| r.answers_to(&identity)).map(|r| r.name.clone()).collect();
                        prop_assert_eq!(indexed, scan);
                    }
                    let s = sid(n);
                    let indexed: Vec<_> = v.by_sid(&s).map(|r| r.name.clone()).collect();
                    let scan: Vec<_> = v.values().filter(|r| r.sid == s).map(|r| r.name.clone()).collect();
                    prop_assert_eq!(indexed, scan);
                    let indexed: Vec<_> = v.referencing(&s).map(|r| r.name.clone()).collect();
                    let scan: Vec<_> = v.values().filter(|r| r.members.contains(&s) || r.managed_by.contains(&s)).map(|r| r.name.clone()).collect();
                    prop_assert_eq!(indexed, scan);
                    let (name, alias) = (format!("N{n}"), format!("a{}", n / 2));
                    let indexed: Vec<_> = v.named(&name, &alias, "").map(|r| r.name.clone()).collect();
                    let scan: Vec<_> = v.values().filter(|r| r.name.eq_ignore_ascii_case(&name) || r.alias.eq_ignore_ascii_case(&alias)).map(|r| r.name.clone()).collect();
                    prop_assert_eq!(indexed, scan);
                }
            }
        }
    }
}
