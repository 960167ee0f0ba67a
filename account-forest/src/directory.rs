//! The directory itself: users and universal security groups of one forest, with
//! nested membership. Pure data and rules; persistence is in [`crate::store`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crossforest_shared::sid::rid;
use crossforest_shared::{DomainSid, ForestName, Sid};
use serde::{Deserialize, Serialize};

use crate::changes::{Change, ChangeKind, ChangeLog, Revocation};

/// Why a directory operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// No principal has that name or SID.
    #[error("no user or group named `{0}` exists in this forest")]
    NotFound(String),
    /// The name is in another forest.
    #[error("`{name}` is not in forest `{forest}`")]
    OtherForest {
        /// The name as given.
        name: String,
        /// This forest.
        forest: ForestName,
    },
    /// A principal with that name already exists.
    #[error("a user or group named `{0}` already exists")]
    Exists(String),
    /// The name is not a valid account name.
    #[error("`{0}` is not a valid account name: use 1 to 64 characters, none of \\ / [ ] : ; | = , + * ? < > \" @")]
    InvalidName(String),
    /// The object is not a group.
    #[error("`{0}` is not a universal security group")]
    NotAGroup(String),
    /// The object is not a user.
    #[error("`{0}` is not a user")]
    NotAUser(String),
    /// The member is already in the group.
    #[error("`{member}` is already a member of `{group}`")]
    AlreadyMember {
        /// The member.
        member: String,
        /// The group.
        group: String,
    },
    /// The member is not in the group.
    #[error("`{member}` is not a member of `{group}`")]
    NotMember {
        /// The member.
        member: String,
        /// The group.
        group: String,
    },
    /// A password was empty.
    #[error("the password must not be empty")]
    EmptyPassword,
    /// RIDs are exhausted.
    #[error("the forest has no relative identifiers left")]
    RidsExhausted,
    /// Hashing a password failed.
    #[error("the password could not be hashed")]
    Hash,
    /// Built-in principals cannot be removed or disabled.
    #[error("`{0}` is a built-in account of the forest and cannot be removed or disabled")]
    BuiltIn(String),
    /// The user is already disabled.
    #[error("`{0}` is already disabled")]
    AlreadyDisabled(String),
}

/// Why a client certificate does not sign in as the account a sign-in
/// names. The caller is never told which (see `service`); the node logs it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// No principal has the name.
    #[error("no account has the name")]
    UnknownName,
    /// The name is another principal's than the certificate's.
    #[error("the client certificate belongs to `{certificate}`, not to the account named")]
    OtherAccount {
        /// The certificate's SID.
        certificate: Sid,
    },
    /// The name is the certificate's, but a group's.
    #[error("the name is a group's")]
    NotAUser,
}

/// The account a client certificate signs in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInAccount {
    /// The user.
    pub user: PrincipalInfo,
    /// Its password hash; `None` when the account is disabled.
    pub password_hash: Option<String>,
}

/// A user or a universal security group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Object {
    /// A user account.
    User {
        /// PHC-format argon2 hash; the password itself is never stored.
        password_hash: String,
        /// Disabled accounts cannot authenticate or be looked up.
        enabled: bool,
    },
    /// A universal security group; members are RIDs of this forest.
    UniversalSecurityGroup {
        /// Direct members (users and groups).
        members: BTreeSet<u32>,
    },
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// sAMAccountName.
    pub name: String,
    /// What it is.
    #[serde(flatten)]
    pub object: Object,
}

/// A principal as callers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalInfo {
    /// SID.
    pub sid: Sid,
    /// sAMAccountName.
    pub name: String,
    /// True for groups.
    pub is_group: bool,
}

/// The directory of one forest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    forest: ForestName,
    domain_sid: DomainSid,
    next_rid: u32,
    entries: BTreeMap<u32, Entry>,
    /// Committed changes, for the change feed.
    #[serde(default)]
    changes: ChangeLog,
    /// RIDs granted Replicating Directory Changes: they may read the change feed.
    #[serde(default)]
    replicators: BTreeSet<u32>,
}

/// The directory's scalar state: one row in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Header {
    pub forest: ForestName,
    pub domain_sid: DomainSid,
    pub next_rid: u32,
    /// The change log's latest sequence number.
    pub sequence: u64,
}

/// A directory taken apart (see [`Directory::into_parts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parts {
    pub header: Header,
    pub entries: BTreeMap<u32, Entry>,
    /// The retained changes, oldest first.
    pub changes: VecDeque<Change>,
    pub replicators: BTreeSet<u32>,
}

fn valid_name(name: &str) -> bool {
    const FORBIDDEN: &str = "\\/[]:;|=,+*?<>\"@";
    let trimmed = name.trim();
    !trimmed.is_empty()
        && trimmed == name
        && name.chars().count() <= 64
        && !name
            .chars()
            .any(|c| FORBIDDEN.contains(c) || c.is_control())
        && !name.chars().all(|c| c == '.')
}

/// Hashes a password with argon2 (PHC string).
pub fn hash_password(password: &str) -> Result<String, DirectoryError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    if password.is_empty() {
        return Err(DirectoryError::EmptyPassword);
    }
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| DirectoryError::Hash)
}

/// Checks `password` against a PHC-format argon2 hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

impl Directory {
    /// A new forest with the built-in Administrator (RID 500) in Domain Admins (512).
    pub fn new(
        forest: ForestName,
        domain_sid: DomainSid,
        administrator_password: &str,
    ) -> Result<Self, DirectoryError> {
        let mut entries = BTreeMap::new();
        entries.insert(
            rid::ADMINISTRATOR,
            Entry {
                name: "Administrator".into(),
                object: Object::User {
                    password_hash: hash_password(administrator_password)?,
                    enabled: true,
                },
            },
        );
        entries.insert(
            rid::DOMAIN_ADMINS,
            Entry {
                name: "Domain Admins".into(),
                object: Object::UniversalSecurityGroup {
                    members: BTreeSet::from([rid::ADMINISTRATOR]),
                },
            },
        );
        Ok(Self {
            forest,
            domain_sid,
            next_rid: rid::FIRST_ALLOCATED,
            entries,
            changes: ChangeLog::default(),
            replicators: BTreeSet::new(),
        })
    }

    /// The directory taken apart, for the store's rows.
    pub(crate) fn into_parts(self) -> Parts {
        Parts {
            header: self.header(),
            entries: self.entries,
            changes: self.changes.into_retained(),
            replicators: self.replicators,
        }
    }

    /// The directory the store's rows hold.
    pub(crate) fn from_parts(parts: Parts) -> Self {
        let Header {
            forest,
            domain_sid,
            next_rid,
            sequence,
        } = parts.header;
        Self {
            forest,
            domain_sid,
            next_rid,
            entries: parts.entries,
            changes: ChangeLog::from_retained(sequence, parts.changes),
            replicators: parts.replicators,
        }
    }

    /// Everything but the entries, change log and replicators.
    pub(crate) fn header(&self) -> Header {
        Header {
            forest: self.forest.clone(),
            domain_sid: self.domain_sid,
            next_rid: self.next_rid,
            sequence: self.changes.sequence(),
        }
    }

    /// Every entry, by RID.
    pub(crate) fn entries(&self) -> &BTreeMap<u32, Entry> {
        &self.entries
    }

    /// The RIDs granted Replicating Directory Changes.
    pub(crate) fn replicators(&self) -> &BTreeSet<u32> {
        &self.replicators
    }

    /// The forest's DNS name.
    pub fn forest(&self) -> &ForestName {
        &self.forest
    }

    /// The forest's domain SID.
    pub fn domain_sid(&self) -> DomainSid {
        self.domain_sid
    }

    fn info(&self, rid: u32, entry: &Entry) -> PrincipalInfo {
        PrincipalInfo {
            sid: self.domain_sid.with_rid(rid),
            name: entry.name.clone(),
            is_group: matches!(entry.object, Object::UniversalSecurityGroup { .. }),
        }
    }

    /// Strips an optional `DOMAIN\` prefix, refusing other forests' names.
    fn local_name<'a>(&self, name: &'a str) -> Result<&'a str, DirectoryError> {
        match name.split_once('\\') {
            Some((domain, local)) if self.forest.answers_to(domain) => Ok(local),
            Some(_) => Err(DirectoryError::OtherForest {
                name: name.to_owned(),
                forest: self.forest.clone(),
            }),
            None => Ok(name),
        }
    }

    fn rid_of(&self, name: &str) -> Result<u32, DirectoryError> {
        let local = self.local_name(name)?;
        self.entries
            .iter()
            .find(|(_, e)| e.name.eq_ignore_ascii_case(local))
            .map(|(rid, _)| *rid)
            .ok_or_else(|| DirectoryError::NotFound(name.to_owned()))
    }

    /// A principal by name (`name` or `DOMAIN\name`).
    pub fn lookup(&self, name: &str) -> Result<PrincipalInfo, DirectoryError> {
        let rid = self.rid_of(name)?;
        let entry = self
            .entries
            .get(&rid)
            .ok_or_else(|| DirectoryError::NotFound(name.to_owned()))?;
        Ok(self.info(rid, entry))
    }

    /// A principal by SID.
    pub fn lookup_sid(&self, sid: &Sid) -> Result<PrincipalInfo, DirectoryError> {
        if !self.domain_sid.contains(sid) {
            return Err(DirectoryError::NotFound(sid.to_string()));
        }
        let entry = self
            .entries
            .get(&sid.rid())
            .ok_or_else(|| DirectoryError::NotFound(sid.to_string()))?;
        Ok(self.info(sid.rid(), entry))
    }

    /// Whether `sid` is an enabled user of this forest.
    pub fn is_enabled_user(&self, sid: &Sid) -> bool {
        self.domain_sid.contains(sid)
            && matches!(
                self.entries.get(&sid.rid()).map(|e| &e.object),
                Some(Object::User { enabled: true, .. })
            )
    }

    fn allocate(&mut self, name: &str, object: Object) -> Result<PrincipalInfo, DirectoryError> {
        if !valid_name(name) {
            return Err(DirectoryError::InvalidName(name.to_owned()));
        }
        if self.rid_of(name).is_ok() {
            return Err(DirectoryError::Exists(name.to_owned()));
        }
        let rid = self.next_rid;
        self.next_rid = rid.checked_add(1).ok_or(DirectoryError::RidsExhausted)?;
        let entry = Entry {
            name: name.to_owned(),
            object,
        };
        let info = self.info(rid, &entry);
        self.entries.insert(rid, entry);
        let kind = if info.is_group {
            ChangeKind::GroupAdded
        } else {
            ChangeKind::UserAdded
        };
        self.changes.record(kind, info.sid, None, Vec::new());
        Ok(info)
    }

    /// Creates a user with a password (stored hashed).
    pub fn add_user(
        &mut self,
        name: &str,
        password: &str,
    ) -> Result<PrincipalInfo, DirectoryError> {
        if !valid_name(name) {
            return Err(DirectoryError::InvalidName(name.to_owned()));
        }
        let password_hash = hash_password(password)?;
        self.allocate(
            name,
            Object::User {
                password_hash,
                enabled: true,
            },
        )
    }

    /// Creates an empty universal security group.
    pub fn add_group(&mut self, name: &str) -> Result<PrincipalInfo, DirectoryError> {
        self.allocate(
            name,
            Object::UniversalSecurityGroup {
                members: BTreeSet::new(),
            },
        )
    }

    fn group_members_mut(
        &mut self,
        group: &str,
    ) -> Result<(u32, &mut BTreeSet<u32>), DirectoryError> {
        let rid = self.rid_of(group)?;
        match self.entries.get_mut(&rid).map(|e| &mut e.object) {
            Some(Object::UniversalSecurityGroup { members }) => Ok((rid, members)),
            _ => Err(DirectoryError::NotAGroup(group.to_owned())),
        }
    }

    /// Adds `member` (user or group) to `group`. Circular nesting is allowed, as in
    /// Active Directory; every reader of membership is cycle-safe.
    pub fn add_member(&mut self, group: &str, member: &str) -> Result<(), DirectoryError> {
        let member_rid = self.rid_of(member)?;
        let (group_rid, members) = self.group_members_mut(group)?;
        if !members.insert(member_rid) {
            return Err(DirectoryError::AlreadyMember {
                member: member.to_owned(),
                group: group.to_owned(),
            });
        }
        let (object, member) = (
            self.domain_sid.with_rid(group_rid),
            self.domain_sid.with_rid(member_rid),
        );
        self.changes
            .record(ChangeKind::MemberAdded, object, Some(member), Vec::new());
        Ok(())
    }

    /// Removes `member` from `group`.
    pub fn remove_member(&mut self, group: &str, member: &str) -> Result<(), DirectoryError> {
        let member_rid = self.rid_of(member)?;
        let affected = self.users_under(member_rid);
        let before: Vec<Vec<PrincipalInfo>> =
            affected.iter().map(|u| self.transitive_groups(u)).collect();
        let (group_rid, members) = self.group_members_mut(group)?;
        if !members.remove(&member_rid) {
            return Err(DirectoryError::NotMember {
                member: member.to_owned(),
                group: group.to_owned(),
            });
        }
        let revocations = self.losses(&affected, before, false);
        let (object, member) = (
            self.domain_sid.with_rid(group_rid),
            self.domain_sid.with_rid(member_rid),
        );
        self.changes
            .record(ChangeKind::MemberRemoved, object, Some(member), revocations);
        Ok(())
    }

    /// What each of `users` lost between `before` (their groups then) and now;
    /// `account` marks the users themselves as revoked.
    fn losses(
        &self,
        users: &[Sid],
        before: Vec<Vec<PrincipalInfo>>,
        account: bool,
    ) -> Vec<Revocation> {
        users
            .iter()
            .zip(before)
            .filter_map(|(user, before)| {
                let after = self.transitive_groups(user);
                let lost: Vec<Sid> = before
                    .into_iter()
                    .filter(|g| !after.contains(g))
                    .map(|g| g.sid)
                    .collect();
                (account || !lost.is_empty()).then_some(Revocation {
                    user: *user,
                    groups: lost,
                    account,
                })
            })
            .collect()
    }

    /// The RID of a principal that may be removed or disabled.
    fn removable(&self, name: &str) -> Result<u32, DirectoryError> {
        let rid = self.rid_of(name)?;
        if rid < rid::FIRST_ALLOCATED {
            return Err(DirectoryError::BuiltIn(name.to_owned()));
        }
        Ok(rid)
    }

    /// Disables a user (`Disable-ADAccount`).
    pub fn disable_user(&mut self, name: &str) -> Result<PrincipalInfo, DirectoryError> {
        let rid = self.removable(name)?;
        match self.entries.get_mut(&rid).map(|e| &mut e.object) {
            Some(Object::User { enabled, .. }) if *enabled => *enabled = false,
            Some(Object::User { .. }) => {
                return Err(DirectoryError::AlreadyDisabled(name.to_owned()))
            }
            _ => return Err(DirectoryError::NotAUser(name.to_owned())),
        }
        let user = self.lookup(name)?;
        let revocation = Revocation {
            user: user.sid,
            groups: Vec::new(),
            account: true,
        };
        self.changes
            .record(ChangeKind::UserDisabled, user.sid, None, vec![revocation]);
        Ok(user)
    }

    /// Deletes a user or group and every membership it had (`Remove-ADUser`,
    /// `Remove-ADGroup`).
    pub fn remove_principal(&mut self, name: &str) -> Result<PrincipalInfo, DirectoryError> {
        let rid = self.removable(name)?;
        let principal = self.lookup(name)?;
        let affected = self.users_under(rid);
        let before: Vec<Vec<PrincipalInfo>> =
            affected.iter().map(|u| self.transitive_groups(u)).collect();
        self.entries.remove(&rid);
        self.replicators.remove(&rid);
        for entry in self.entries.values_mut() {
            if let Object::UniversalSecurityGroup { members } = &mut entry.object {
                members.remove(&rid);
            }
        }
        let revocations = self.losses(&affected, before, !principal.is_group);
        self.changes.record(
            ChangeKind::PrincipalRemoved,
            principal.sid,
            None,
            revocations,
        );
        Ok(principal)
    }

    /// The users a principal stands for: itself if a user, its transitive
    /// users if a group.
    fn users_under(&self, rid: u32) -> Vec<Sid> {
        let sid = self.domain_sid.with_rid(rid);
        match self.entries.get(&rid).map(|e| &e.object) {
            Some(Object::User { .. }) => vec![sid],
            _ => self
                .transitive_users(&sid)
                .map(|users| users.into_iter().map(|u| u.sid).collect())
                .unwrap_or_default(),
        }
    }

    /// The change log.
    pub fn changes(&self) -> &ChangeLog {
        &self.changes
    }

    /// Grants Replicating Directory Changes (the change feed) to `name`.
    pub fn grant_replicating_directory_changes(
        &mut self,
        name: &str,
    ) -> Result<PrincipalInfo, DirectoryError> {
        let principal = self.lookup(name)?;
        if principal.is_group {
            return Err(DirectoryError::NotAUser(name.to_owned()));
        }
        self.replicators.insert(principal.sid.rid());
        Ok(principal)
    }

    /// Whether `sid` is an enabled user granted Replicating Directory Changes.
    pub fn may_replicate(&self, sid: &Sid) -> bool {
        self.is_enabled_user(sid) && self.replicators.contains(&sid.rid())
    }

    /// Every enabled user with its transitive groups.
    pub fn membership(&self) -> Vec<(Sid, Vec<Sid>)> {
        self.entries
            .iter()
            .filter(|(_, e)| matches!(e.object, Object::User { enabled: true, .. }))
            .map(|(rid, _)| {
                let sid = self.domain_sid.with_rid(*rid);
                (
                    sid,
                    self.transitive_groups(&sid)
                        .into_iter()
                        .map(|g| g.sid)
                        .collect(),
                )
            })
            .collect()
    }

    /// Direct members of a group.
    pub fn members(&self, group: &str) -> Result<Vec<PrincipalInfo>, DirectoryError> {
        let rid = self.rid_of(group)?;
        match self.entries.get(&rid).map(|e| &e.object) {
            Some(Object::UniversalSecurityGroup { members }) => Ok(members
                .iter()
                .filter_map(|m| self.entries.get(m).map(|e| self.info(*m, e)))
                .collect()),
            _ => Err(DirectoryError::NotAGroup(group.to_owned())),
        }
    }

    /// Every group `sid` belongs to, directly or through nesting; terminates on
    /// circular nesting.
    pub fn transitive_groups(&self, sid: &Sid) -> Vec<PrincipalInfo> {
        if !self.domain_sid.contains(sid) {
            return Vec::new();
        }
        let mut member_of: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (group, entry) in &self.entries {
            if let Object::UniversalSecurityGroup { members } = &entry.object {
                for m in members {
                    member_of.entry(*m).or_default().push(*group);
                }
            }
        }
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([sid.rid()]);
        while let Some(next) = queue.pop_front() {
            for group in member_of.get(&next).into_iter().flatten() {
                if seen.insert(*group) {
                    queue.push_back(*group);
                }
            }
        }
        seen.remove(&sid.rid());
        seen.into_iter()
            .filter_map(|g| self.entries.get(&g).map(|e| self.info(g, e)))
            .collect()
    }

    /// Every user in the group `sid`, directly or through nested groups;
    /// terminates on circular nesting.
    pub fn transitive_users(&self, sid: &Sid) -> Result<Vec<PrincipalInfo>, DirectoryError> {
        let group = self.lookup_sid(sid)?;
        if !group.is_group {
            return Err(DirectoryError::NotAGroup(group.name));
        }
        let mut seen = BTreeSet::from([sid.rid()]);
        let mut queue = VecDeque::from([sid.rid()]);
        let mut users = Vec::new();
        while let Some(next) = queue.pop_front() {
            let Some(Object::UniversalSecurityGroup { members }) =
                self.entries.get(&next).map(|e| &e.object)
            else {
                continue;
            };
            for m in members {
                if !seen.insert(*m) {
                    continue;
                }
                if let Some(e) = self.entries.get(m) {
                    let info = self.info(*m, e);
                    if info.is_group {
                        queue.push_back(*m);
                    } else {
                        users.push(info);
                    }
                }
            }
        }
        Ok(users)
    }

    /// Checks a user's password; `None` when the user does not exist, is disabled
    /// or the password is wrong (callers must not tell which).
    pub fn authenticate(&self, name: &str, password: &str) -> Option<PrincipalInfo> {
        let (user, hash) = self.password_hash(name)?;
        verify_password(&hash, password).then_some(user)
    }

    /// An enabled user and its password hash, for checking a password outside
    /// any lock.
    pub fn password_hash(&self, name: &str) -> Option<(PrincipalInfo, String)> {
        let rid = self.rid_of(name).ok()?;
        let entry = self.entries.get(&rid)?;
        match &entry.object {
            Object::User {
                password_hash,
                enabled: true,
            } => Some((self.info(rid, entry), password_hash.clone())),
            _ => None,
        }
    }

    /// The account a sign-in naming `name` may check the password of, when
    /// the client certificate is `certificate`'s: only the certificate's own
    /// account, so that a certificate never learns anything of another
    /// account (not even whether it exists) and no password of another
    /// account is ever checked.
    pub fn sign_in_account(
        &self,
        certificate: &Sid,
        name: &str,
    ) -> Result<SignInAccount, SignInError> {
        let rid = self.rid_of(name).map_err(|_| SignInError::UnknownName)?;
        if !self.domain_sid.contains(certificate) || certificate.rid() != rid {
            return Err(SignInError::OtherAccount {
                certificate: *certificate,
            });
        }
        let entry = self.entries.get(&rid).ok_or(SignInError::UnknownName)?;
        match &entry.object {
            Object::User {
                password_hash,
                enabled,
            } => Ok(SignInAccount {
                user: self.info(rid, entry),
                password_hash: enabled.then(|| password_hash.clone()),
            }),
            Object::UniversalSecurityGroup { .. } => Err(SignInError::NotAUser),
        }
    }

    /// Every principal, ordered by RID.
    pub fn principals(&self) -> Vec<PrincipalInfo> {
        self.entries
            .iter()
            .map(|(rid, e)| self.info(*rid, e))
            .collect()
    }

    /// Whether `sid` is the Administrator or a (nested) member of Domain Admins.
    pub fn is_domain_admin(&self, sid: &Sid) -> bool {
        self.domain_sid.contains(sid)
            && (sid.rid() == rid::ADMINISTRATOR
                || self
                    .transitive_groups(sid)
                    .iter()
                    .any(|g| g.sid.rid() == rid::DOMAIN_ADMINS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fabrikam() -> Result<Directory, DirectoryError> {
        let forest = "fabrikam.com"
            .parse()
            .map_err(|_| DirectoryError::InvalidName("fabrikam.com".into()))?;
        Directory::new(forest, DomainSid::new(10, 20, 30), "P@ssw0rd!")
    }

    #[test]
    fn sids_are_allocated_under_the_domain_sid() -> Result<(), DirectoryError> {
        let mut dir = fabrikam()?;
        let alice = dir.add_user("alice", "pw")?;
        let admins = dir.add_group("Exchange Admins")?;
        assert_eq!(alice.sid, DomainSid::new(10, 20, 30).with_rid(1101));
        assert_eq!(admins.sid.rid(), 1102);
        assert!(admins.is_group);
        assert_eq!(dir.lookup("FABRIKAM\\exchange admins")?.sid, admins.sid);
        assert!(matches!(
            dir.lookup("tailspin\\Exchange Admins"),
            Err(DirectoryError::OtherForest { .. })
        ));
        assert_eq!(
            dir.add_user("Alice", "pw"),
            Err(DirectoryError::Exists("Alice".into()))
        );
        Ok(())
    }

    #[test]
    fn nested_groups_resolve_transitively_even_when_circular() -> Result<(), DirectoryError> {
        let mut dir = fabrikam()?;
        let alice = dir.add_user("alice", "pw")?;
        let inner = dir.add_group("Tier 2")?;
        let outer = dir.add_group("Exchange Admins")?;
        dir.add_member("Tier 2", "alice")?;
        dir.add_member("Exchange Admins", "Tier 2")?;
        dir.add_member("Tier 2", "Exchange Admins")?; // a cycle
        let groups: Vec<Sid> = dir
            .transitive_groups(&alice.sid)
            .into_iter()
            .map(|g| g.sid)
            .collect();
        assert_eq!(groups, vec![inner.sid, outer.sid]);
        dir.remove_member("Tier 2", "alice")?;
        assert!(dir.transitive_groups(&alice.sid).is_empty());
        Ok(())
    }

    #[test]
    fn removals_record_what_each_user_lost_through_nesting() -> Result<(), DirectoryError> {
        use crate::changes::{ChangeKind, Resume};
        let mut dir = fabrikam()?;
        let alice = dir.add_user("alice", "pw")?;
        let bob = dir.add_user("bob", "pw")?;
        let tier2 = dir.add_group("Tier 2")?;
        let admins = dir.add_group("Exchange Admins")?;
        dir.add_member("Tier 2", "alice")?;
        dir.add_member("Exchange Admins", "Tier 2")?;
        dir.add_member("Exchange Admins", "bob")?;
        dir.add_member("Tier 2", "bob")?;
        let before = dir.changes().sequence();
        dir.remove_member("Exchange Admins", "Tier 2")?;
        let Resume::From(changes) = dir.changes().after(before) else {
            panic!("the change is retained");
        };
        let [change] = changes.as_slice() else {
            panic!("one change: {changes:?}");
        };
        assert_eq!(change.kind, ChangeKind::MemberRemoved);
        assert_eq!(
            (change.object, change.member),
            (admins.sid, Some(tier2.sid))
        );
        // alice lost Exchange Admins; bob is still a direct member: no loss.
        assert_eq!(change.revocations.len(), 1);
        assert_eq!(change.revocations[0].user, alice.sid);
        assert_eq!(change.revocations[0].groups, vec![admins.sid]);
        assert!(dir
            .membership()
            .contains(&(bob.sid, vec![tier2.sid, admins.sid])));
        Ok(())
    }

    #[test]
    fn authentication_checks_the_hashed_password() -> Result<(), DirectoryError> {
        let mut dir = fabrikam()?;
        dir.add_user("alice", "correct horse")?;
        assert!(dir.authenticate("alice", "correct horse").is_some());
        assert!(dir.authenticate("alice", "wrong").is_none());
        assert!(dir.authenticate("bob", "correct horse").is_none());
        let json = serde_json::to_string(&dir).map_err(|_| DirectoryError::Hash)?;
        assert!(!json.contains("correct horse"));
        Ok(())
    }

    #[test]
    fn a_certificate_signs_in_as_its_own_account_only() -> Result<(), DirectoryError> {
        let mut dir = fabrikam()?;
        let alice = dir.add_user("alice", "pw")?;
        let bob = dir.add_user("bob", "pw")?;
        let own = dir.sign_in_account(&alice.sid, "FABRIKAM\\Alice");
        assert_eq!(own.map(|a| a.user), Ok(alice.clone()));
        let other = Err(SignInError::OtherAccount {
            certificate: alice.sid,
        });
        assert_eq!(dir.sign_in_account(&alice.sid, "bob"), other);
        assert_eq!(
            dir.sign_in_account(&alice.sid, "carol"),
            Err(SignInError::UnknownName)
        );
        dir.disable_user("bob")?;
        let disabled = dir.sign_in_account(&bob.sid, "bob");
        assert_eq!(disabled.map(|a| a.password_hash), Ok(None));
        Ok(())
    }

    #[test]
    fn bad_names_are_refused() -> Result<(), DirectoryError> {
        let mut dir = fabrikam()?;
        for bad in ["", " alice", "a\\b", "a,b", "...", &"x".repeat(65)] {
            assert!(
                matches!(dir.add_group(bad), Err(DirectoryError::InvalidName(_))),
                "{bad}"
            );
        }
        Ok(())
    }

    #[test]
    fn administrator_is_a_domain_admin() -> Result<(), DirectoryError> {
        let mut dir = fabrikam()?;
        let alice = dir.add_user("alice", "pw")?;
        let admin = dir.domain_sid().with_rid(rid::ADMINISTRATOR);
        assert!(dir.is_domain_admin(&admin));
        assert!(!dir.is_domain_admin(&alice.sid));
        dir.add_member("Domain Admins", "alice")?;
        assert!(dir.is_domain_admin(&alice.sid));
        Ok(())
    }
}
