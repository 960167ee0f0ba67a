//! Revocation freshness: what the change feed of each trusted forest taught us
//! since a token was issued, and whether the link is fresh enough to honour its
//! tokens at all.
//!
//! A token carries the directory sequence number it was issued at (`T`). The
//! feed reports, for every change `N`, the groups each affected user lost
//! (nesting included). A group a token carries is dropped when the feed revoked
//! it for that user at some `N > T`; an account disabled or removed at `N > T`
//! is refused. After a full resynchronisation at `S`, a token issued before `S`
//! keeps only the groups the snapshot still lists for its user. Nothing here is
//! persisted: a restarted resource forest resynchronises first.
//!
//! While the feed is silent (link down), tokens keep working until the trust's
//! `max_staleness_secs`, after which every request from that forest is refused.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crossforest_shared::proto::directory::v1 as pb;
use crossforest_shared::{ForestName, Sid};

use super::sid_filter::DroppedSid;

/// Default bound on how long tokens of a forest are honoured without news
/// from its change feed.
pub const DEFAULT_MAX_STALENESS_SECS: u64 = 300;

/// The smallest bound accepted: below it, a healthy link's keep-alives could
/// not keep it fresh.
pub const MIN_MAX_STALENESS_SECS: u64 = 2;

/// Why a token from a trusted forest is not honoured any more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaleError {
    /// The change feed has been silent for longer than the bound.
    #[error("trust link to {forest} unavailable since {since} (no change feed for more than max_staleness_secs = {bound_secs} s); requests from {forest} are refused until the link is restored")]
    LinkUnavailable {
        /// The forest.
        forest: ForestName,
        /// RFC 3339 time the link was last known to be up.
        since: String,
        /// The bound.
        bound_secs: u64,
    },
    /// The account was disabled or removed after the token was issued.
    #[error("{forest} disabled or removed `{user}` (change {sequence}) after this token was issued at change {issued}; sign in again")]
    AccountRevoked {
        /// The forest.
        forest: ForestName,
        /// The user.
        user: Sid,
        /// The change that revoked it (or the snapshot that no longer lists it).
        sequence: u64,
        /// The token's sequence.
        issued: u64,
    },
    /// The feed sent something that cannot be applied: resynchronise.
    #[error("change feed of {forest}: {reason}")]
    Feed {
        /// The forest.
        forest: ForestName,
        /// What was wrong.
        reason: String,
    },
}

#[derive(Debug, Clone, Default)]
struct Baseline {
    sequence: u64,
    users: HashMap<Sid, HashSet<Sid>>,
}

#[derive(Debug, Clone)]
struct Link {
    max_staleness: Duration,
    /// The last change applied.
    sequence: u64,
    /// Set once synchronised from a snapshot; `None` means resynchronise.
    baseline: Option<Baseline>,
    /// user → group → latest change that revoked it.
    revoked_groups: HashMap<Sid, HashMap<Sid, u64>>,
    /// user → latest change that disabled or removed it.
    revoked_accounts: HashMap<Sid, u64>,
    /// When the feed last proved the link up (or when we started).
    last_heard: SystemTime,
    connected: bool,
}

/// Where one trusted forest's link stands (for status and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus {
    /// The last change applied.
    pub sequence: u64,
    /// A stream is open.
    pub connected: bool,
    /// Synchronised (a snapshot was installed since start).
    pub synchronised: bool,
    /// When the feed last proved the link up.
    pub last_heard: SystemTime,
}

/// The freshness state of every trusted forest.
#[derive(Debug)]
pub struct Freshness {
    links: Mutex<BTreeMap<ForestName, Link>>,
}

fn parse_sid(forest: &ForestName, text: &str) -> Result<Sid, StaleError> {
    text.parse().map_err(|e| StaleError::Feed {
        forest: forest.clone(),
        reason: format!("bad SID `{text}`: {e}"),
    })
}

fn rfc3339(time: SystemTime) -> String {
    time::OffsetDateTime::from(time)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Freshness {
    /// Links to `forests` (each with its staleness bound), not yet synchronised;
    /// the bound runs from `now`.
    pub fn new(forests: impl IntoIterator<Item = (ForestName, Duration)>, now: SystemTime) -> Self {
        let links = forests
            .into_iter()
            .map(|(forest, max_staleness)| {
                (
                    forest,
                    Link {
                        max_staleness,
                        sequence: 0,
                        baseline: None,
                        revoked_groups: HashMap::new(),
                        revoked_accounts: HashMap::new(),
                        last_heard: now,
                        connected: false,
                    },
                )
            })
            .collect();
        Self {
            links: Mutex::new(links),
        }
    }

    fn with<T>(&self, forest: &ForestName, f: impl FnOnce(&mut Link) -> T) -> Option<T> {
        // Nothing panics while holding the lock; recover the data if it ever did.
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        links.get_mut(forest).map(f)
    }

    /// Where `forest`'s link stands.
    pub fn status(&self, forest: &ForestName) -> Option<LinkStatus> {
        self.with(forest, |l| LinkStatus {
            sequence: l.sequence,
            connected: l.connected,
            synchronised: l.baseline.is_some(),
            last_heard: l.last_heard,
        })
    }

    /// Whether `forest` needs a full resynchronisation before resuming.
    pub fn needs_snapshot(&self, forest: &ForestName) -> bool {
        self.with(forest, |l| l.baseline.is_none()).unwrap_or(false)
    }

    /// Forgets the baseline: the next connection resynchronises fully.
    pub fn require_snapshot(&self, forest: &ForestName) {
        self.with(forest, |l| l.baseline = None);
    }

    /// The sequence number to resume after.
    pub fn sequence(&self, forest: &ForestName) -> u64 {
        self.with(forest, |l| l.sequence).unwrap_or(0)
    }

    /// Installs a full snapshot: the state as of its sequence number.
    pub fn install_snapshot(
        &self,
        forest: &ForestName,
        snapshot: &pb::MembershipSnapshot,
        now: SystemTime,
    ) -> Result<(), StaleError> {
        let mut users = HashMap::new();
        for u in &snapshot.users {
            let groups = u
                .group_sids
                .iter()
                .map(|g| parse_sid(forest, g))
                .collect::<Result<HashSet<Sid>, _>>()?;
            users.insert(parse_sid(forest, &u.user_sid)?, groups);
        }
        self.with(forest, |l| {
            l.baseline = Some(Baseline {
                sequence: snapshot.sequence,
                users,
            });
            l.sequence = snapshot.sequence;
            // Every revocation so far is at or before the snapshot: the
            // baseline covers older tokens, and newer ones never carried it.
            l.revoked_groups.clear();
            l.revoked_accounts.clear();
            l.last_heard = now;
        });
        Ok(())
    }

    /// Marks the stream open (`true`) or closed.
    pub fn set_connected(&self, forest: &ForestName, connected: bool, now: SystemTime) {
        self.with(forest, |l| {
            l.connected = connected;
            if connected {
                l.last_heard = now;
            }
        });
    }

    /// Applies one message of the feed. A gap in sequence numbers is an
    /// error: the subscriber must resynchronise.
    pub fn apply(
        &self,
        forest: &ForestName,
        change: &pb::DirectoryChange,
        now: SystemTime,
    ) -> Result<(), StaleError> {
        let mut revocations = Vec::new();
        for r in &change.revocations {
            let user = parse_sid(forest, &r.user_sid)?;
            let groups = r
                .group_sids
                .iter()
                .map(|g| parse_sid(forest, g))
                .collect::<Result<Vec<Sid>, _>>()?;
            revocations.push((user, groups, r.account_revoked));
        }
        let keep_alive = change.kind == pb::ChangeKind::KeepAlive as i32;
        self.with(forest, |l| {
            let expected = if keep_alive {
                l.sequence
            } else {
                l.sequence + 1
            };
            if change.sequence < expected && !keep_alive {
                l.last_heard = now; // a repeat: already applied
                return Ok(());
            }
            if change.sequence != expected {
                l.baseline = None;
                return Err(StaleError::Feed {
                    forest: forest.clone(),
                    reason: format!(
                        "expected change {expected}, got {}; resynchronising",
                        change.sequence
                    ),
                });
            }
            for (user, groups, account) in revocations {
                let revoked = l.revoked_groups.entry(user).or_default();
                for g in groups {
                    revoked.insert(g, change.sequence);
                }
                if account {
                    l.revoked_accounts.insert(user, change.sequence);
                }
            }
            l.sequence = change.sequence;
            l.last_heard = now;
            Ok(())
        })
        .unwrap_or(Ok(()))
    }

    /// The groups of a token (`user`, issued at `issued`, already SID-filtered)
    /// that are still honoured, with the ones dropped; or why the token is not
    /// honoured at all. A trust without a linked credential has no feed and
    /// no link: its tokens are taken as they are.
    pub fn check(
        &self,
        forest: &ForestName,
        user: &Sid,
        issued: u64,
        groups: Vec<Sid>,
        now: SystemTime,
    ) -> Result<(Vec<Sid>, Vec<DroppedSid>), StaleError> {
        let linked = self.with(forest, |_| ()).is_some();
        let groups_without_link = if linked { Vec::new() } else { groups.clone() };
        self.with(forest, |l| {
            if now.duration_since(l.last_heard).unwrap_or(Duration::ZERO) > l.max_staleness {
                return Err(StaleError::LinkUnavailable {
                    forest: forest.clone(),
                    since: rfc3339(l.last_heard),
                    bound_secs: l.max_staleness.as_secs(),
                });
            }
            let revoked = |sequence: u64| StaleError::AccountRevoked {
                forest: forest.clone(),
                user: *user,
                sequence,
                issued,
            };
            if let Some(n) = l.revoked_accounts.get(user).filter(|n| **n > issued) {
                return Err(revoked(*n));
            }
            let baseline = l.baseline.as_ref().filter(|b| issued < b.sequence);
            let still_in = match baseline {
                Some(b) => Some(b.users.get(user).ok_or_else(|| revoked(b.sequence))?),
                None => None,
            };
            let no_revocations = HashMap::new();
            let revoked_groups = l.revoked_groups.get(user).unwrap_or(&no_revocations);
            let (kept, dropped): (Vec<Sid>, Vec<Sid>) = groups.into_iter().partition(|g| {
                revoked_groups.get(g).is_none_or(|n| *n <= issued)
                    && still_in.is_none_or(|set| set.contains(g))
            });
            let dropped = dropped
                .into_iter()
                .map(|g| DroppedSid {
                    sid: g.to_string(),
                    reason: "revoked by the forest's change feed after the token was issued",
                })
                .collect();
            Ok((kept, dropped))
        })
        .unwrap_or_else(|| Ok((groups_without_link, Vec::new())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossforest_shared::DomainSid;

    const FAB: DomainSid = DomainSid::new(7, 7, 7);

    fn fabrikam() -> ForestName {
        "fabrikam.com".parse().unwrap()
    }

    fn removal(sequence: u64, user: Sid, groups: &[Sid]) -> pb::DirectoryChange {
        pb::DirectoryChange {
            sequence,
            kind: pb::ChangeKind::MemberRemoved as i32,
            revocations: vec![pb::Revocation {
                user_sid: user.to_string(),
                group_sids: groups.iter().map(ToString::to_string).collect(),
                account_revoked: false,
            }],
            ..Default::default()
        }
    }

    fn synced(now: SystemTime, sequence: u64, users: &[(Sid, &[Sid])]) -> Freshness {
        let f = Freshness::new([(fabrikam(), Duration::from_secs(10))], now);
        let snapshot = pb::MembershipSnapshot {
            sequence,
            users: users
                .iter()
                .map(|(u, gs)| pb::UserGroups {
                    user_sid: u.to_string(),
                    group_sids: gs.iter().map(ToString::to_string).collect(),
                })
                .collect(),
        };
        f.install_snapshot(&fabrikam(), &snapshot, now).unwrap();
        f
    }

    #[test]
    fn a_group_revoked_after_the_token_is_dropped_and_kept_for_newer_tokens() {
        let now = SystemTime::now();
        let (alice, t2, admins) = (FAB.with_rid(1101), FAB.with_rid(1102), FAB.with_rid(1103));
        let f = synced(now, 5, &[(alice, &[t2, admins])]);
        f.apply(&fabrikam(), &removal(6, alice, &[admins]), now)
            .unwrap();
        let (kept, dropped) = f
            .check(&fabrikam(), &alice, 5, vec![t2, admins], now)
            .unwrap();
        assert_eq!(kept, vec![t2]);
        assert_eq!(dropped.len(), 1);
        // A token issued at or after the removal (re-added since) keeps it.
        let (kept, _) = f
            .check(&fabrikam(), &alice, 6, vec![t2, admins], now)
            .unwrap();
        assert_eq!(kept, vec![t2, admins]);
    }

    #[test]
    fn tokens_older_than_the_snapshot_keep_only_what_it_lists() {
        let now = SystemTime::now();
        let (alice, bob, g) = (FAB.with_rid(1101), FAB.with_rid(1104), FAB.with_rid(1103));
        let f = synced(now, 20, &[(alice, &[])]);
        let (kept, _) = f.check(&fabrikam(), &alice, 3, vec![g], now).unwrap();
        assert!(kept.is_empty());
        assert!(matches!(
            f.check(&fabrikam(), &bob, 3, vec![g], now),
            Err(StaleError::AccountRevoked { sequence: 20, .. })
        ));
        let (kept, _) = f.check(&fabrikam(), &bob, 20, vec![g], now).unwrap();
        assert_eq!(kept, vec![g]);
    }

    #[test]
    fn a_gap_in_the_feed_forces_a_resynchronisation() {
        let now = SystemTime::now();
        let alice = FAB.with_rid(1101);
        let f = synced(now, 5, &[(alice, &[])]);
        assert!(f.apply(&fabrikam(), &removal(7, alice, &[]), now).is_err());
        assert!(f.needs_snapshot(&fabrikam()));
        // Repeats are ignored.
        let f = synced(now, 5, &[(alice, &[])]);
        f.apply(&fabrikam(), &removal(5, alice, &[FAB.with_rid(9)]), now)
            .unwrap();
        assert_eq!(f.sequence(&fabrikam()), 5);
    }

    #[test]
    fn tokens_work_until_the_staleness_bound_then_the_link_is_unavailable() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let alice = FAB.with_rid(1101);
        let f = synced(start, 1, &[(alice, &[])]);
        f.set_connected(&fabrikam(), false, start);
        let within = start + Duration::from_secs(10);
        assert!(f.check(&fabrikam(), &alice, 1, vec![], within).is_ok());
        let after = start + Duration::from_secs(11);
        let err = f.check(&fabrikam(), &alice, 1, vec![], after).unwrap_err();
        assert_eq!(
            err.to_string(),
            "trust link to fabrikam.com unavailable since 2027-01-15T08:00:00Z (no change feed for more than max_staleness_secs = 10 s); requests from fabrikam.com are refused until the link is restored"
        );
        // A keep-alive brings it back.
        let alive = pb::DirectoryChange {
            sequence: 1,
            kind: pb::ChangeKind::KeepAlive as i32,
            ..Default::default()
        };
        f.apply(&fabrikam(), &alive, after).unwrap();
        assert!(f.check(&fabrikam(), &alice, 1, vec![], after).is_ok());
    }
}
