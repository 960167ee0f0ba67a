//! The directory's change log: every committed change gets the next sequence
//! number and records what each affected user lost through it, so that a
//! relying forest can stop honouring a group its users' tokens still carry.
//! The last [`RETAINED_CHANGES`] are kept (persisted with the directory); a
//! subscriber further behind resynchronises from a membership snapshot.

use std::collections::VecDeque;
use std::time::SystemTime;

use crossforest_shared::token::unix_seconds;
use crossforest_shared::Sid;
use serde::{Deserialize, Serialize};

/// How many changes the log keeps for subscribers to resume from.
pub const RETAINED_CHANGES: usize = 4096;

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A user or group was added to a group.
    MemberAdded,
    /// A user or group was removed from a group.
    MemberRemoved,
    /// A user was created.
    UserAdded,
    /// A group was created.
    GroupAdded,
    /// A user was disabled.
    UserDisabled,
    /// A user or group was deleted.
    PrincipalRemoved,
}

/// What one user lost through one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// The user.
    pub user: Sid,
    /// Groups the user is no longer in, directly or through nesting.
    pub groups: Vec<Sid>,
    /// The account itself was disabled or removed.
    pub account: bool,
}

/// One committed change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Its sequence number (the first change is 1).
    pub sequence: u64,
    /// What it did.
    pub kind: ChangeKind,
    /// The group or principal changed.
    pub object: Sid,
    /// The member added or removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Sid>,
    /// Unix seconds.
    pub changed_at: i64,
    /// What every affected user lost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revocations: Vec<Revocation>,
}

/// Where a subscriber stands against the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume<'a> {
    /// Every change after the subscriber's sequence (possibly none).
    From(Vec<&'a Change>),
    /// The subscriber's sequence is older than the oldest change retained.
    TooOld {
        /// The subscriber's sequence.
        from: u64,
        /// The oldest sequence it could resume after.
        oldest: u64,
    },
    /// The subscriber's sequence is ahead of this directory (its state was
    /// restored from elsewhere).
    Ahead {
        /// The subscriber's sequence.
        from: u64,
        /// The latest sequence here.
        latest: u64,
    },
}

/// The retained changes and the latest sequence number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLog {
    sequence: u64,
    retained: VecDeque<Change>,
}

impl ChangeLog {
    /// A log whose latest sequence is `sequence`, retaining `retained`
    /// (oldest first).
    pub(crate) fn from_retained(sequence: u64, retained: VecDeque<Change>) -> Self {
        Self { sequence, retained }
    }

    /// The retained changes, oldest first.
    pub(crate) fn retained(&self) -> &VecDeque<Change> {
        &self.retained
    }

    /// The retained changes, oldest first, taking the log apart.
    pub(crate) fn into_retained(self) -> VecDeque<Change> {
        self.retained
    }

    /// The latest sequence number (0 before the first change).
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Records a change and returns its sequence number.
    pub fn record(
        &mut self,
        kind: ChangeKind,
        object: Sid,
        member: Option<Sid>,
        revocations: Vec<Revocation>,
    ) -> u64 {
        self.sequence += 1;
        self.retained.push_back(Change {
            sequence: self.sequence,
            kind,
            object,
            member,
            changed_at: unix_seconds(SystemTime::now()),
            revocations,
        });
        while self.retained.len() > RETAINED_CHANGES {
            self.retained.pop_front();
        }
        self.sequence
    }

    /// The changes after `from`, or why the subscriber must resynchronise.
    pub fn after(&self, from: u64) -> Resume<'_> {
        if from > self.sequence {
            return Resume::Ahead {
                from,
                latest: self.sequence,
            };
        }
        // Resuming after `from` needs change `from + 1` unless nothing is newer.
        let oldest_resumable = self
            .retained
            .front()
            .map_or(self.sequence, |c| c.sequence - 1);
        if from < oldest_resumable {
            return Resume::TooOld {
                from,
                oldest: oldest_resumable,
            };
        }
        Resume::From(self.retained.iter().filter(|c| c.sequence > from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossforest_shared::DomainSid;

    #[test]
    fn resumes_after_any_retained_sequence_and_says_when_too_old() {
        let d = DomainSid::new(1, 2, 3);
        let mut log = ChangeLog::default();
        assert_eq!(log.after(0), Resume::From(vec![]));
        for rid in 0..(RETAINED_CHANGES as u32 + 10) {
            log.record(ChangeKind::UserAdded, d.with_rid(1100 + rid), None, vec![]);
        }
        let latest = log.sequence();
        assert_eq!(latest, RETAINED_CHANGES as u64 + 10);
        match log.after(latest - 3) {
            Resume::From(changes) => {
                let seqs: Vec<u64> = changes.iter().map(|c| c.sequence).collect();
                assert_eq!(seqs, vec![latest - 2, latest - 1, latest]);
            }
            other => panic!("expected changes, got {other:?}"),
        }
        assert_eq!(log.after(10), Resume::From(log.retained.iter().collect()));
        assert_eq!(
            log.after(9),
            Resume::TooOld {
                from: 9,
                oldest: 10
            }
        );
        assert_eq!(
            log.after(latest + 1),
            Resume::Ahead {
                from: latest + 1,
                latest
            }
        );
    }
}
