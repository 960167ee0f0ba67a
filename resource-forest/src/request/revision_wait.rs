//! Read-your-writes across nodes: a request may ask for "revision N or
//! later" (`at_least_revision`, a revision an earlier answer carried, from
//! this node or another on the same store). A node behind waits for it,
//! bounded by `[revision_wait] max_wait_ms` and the request's deadline, holding
//! no lock (it wakes on the publish that reaches N, see
//! [`crate::state::OrgState::at_least`]); past the wait it refuses, naming
//! both revisions. Waiting requests are bounded per caller and in all, so a
//! revision never committed cannot park a caller's requests without end.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crossforest_shared::config::Problems;
use crossforest_shared::{ForestName, Sid};
use serde::{Deserialize, Serialize};

use crate::node::ResourceForest;
use crate::trust::authenticate::Caller;

/// `[revision_wait]` of a resource forest's `node.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RevisionWaitSettings {
    /// The longest a request waits for the revision it asks for.
    pub max_wait_ms: u64,
    /// Requests one caller (forest and SID) may have waiting at once.
    pub max_waiting_per_caller: usize,
    /// Requests the node lets wait in all.
    pub max_waiting: usize,
}

impl Default for RevisionWaitSettings {
    fn default() -> Self {
        Self {
            max_wait_ms: 5_000,
            max_waiting_per_caller: 16,
            max_waiting: 512,
        }
    }
}

impl RevisionWaitSettings {
    /// Whether these are the defaults (not written to `node.toml`).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Checks the settings, naming `revision_wait.<key>` in each problem.
    pub fn check(&self, problems: &mut Problems) {
        if self.max_waiting < self.max_waiting_per_caller {
            problems.push(
                "revision_wait.max_waiting",
                format!(
                    "{} is less than max_waiting_per_caller ({})",
                    self.max_waiting, self.max_waiting_per_caller
                ),
            );
        }
    }
}

/// Why a request did not get the revision it asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevisionWaitError {
    /// The node did not reach it within the wait.
    #[error("{forest} is at revision {at}; the request needs at least {needed}, which this node did not reach within {waited_ms} ms; another node of the organization may have it, or repeat the request later")]
    NotReached {
        /// The organization.
        forest: ForestName,
        /// The node's revision when the wait ended.
        at: u64,
        /// The revision asked for.
        needed: u64,
        /// How long the request waited.
        waited_ms: u128,
    },
    /// Too many requests wait already: the caller's own, or all.
    #[error("{forest} is at revision {at}; the request needs at least {needed}, and {waiting} requests {whose} wait for a revision already (at most {max}); nothing was run")]
    TooManyWaiting {
        /// The organization.
        forest: ForestName,
        /// The node's revision.
        at: u64,
        /// The revision asked for.
        needed: u64,
        /// How many wait.
        waiting: usize,
        /// `of this caller` or `in all`.
        whose: &'static str,
        /// The limit.
        max: usize,
    },
}

impl RevisionWaitError {
    /// The revision the node was at.
    pub fn revision(&self) -> u64 {
        match self {
            Self::NotReached { at, .. } | Self::TooManyWaiting { at, .. } => *at,
        }
    }
}

/// The requests waiting for a revision: per caller and in all.
#[derive(Debug, Default)]
pub struct Waiting {
    callers: Mutex<HashMap<(ForestName, Sid), usize>>,
}

/// One request's place among the waiting; freed when dropped.
struct Place<'a> {
    waiting: &'a Waiting,
    key: (ForestName, Sid),
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut callers = self.waiting.lock();
        if let Some(n) = callers.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                callers.remove(&self.key);
            }
        }
    }
}

impl Waiting {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(ForestName, Sid), usize>> {
        self.callers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for `caller`, or how many wait already and the limit passed.
    fn enter(
        &self,
        caller: &Caller,
        settings: &RevisionWaitSettings,
    ) -> Result<Place<'_>, (usize, &'static str, usize)> {
        let key = (caller.forest.clone(), caller.user);
        let mut callers = self.lock();
        let total: usize = callers.values().sum();
        let mine = callers.get(&key).copied().unwrap_or(0);
        if mine >= settings.max_waiting_per_caller {
            return Err((mine, "of this caller", settings.max_waiting_per_caller));
        }
        if total >= settings.max_waiting {
            return Err((total, "in all", settings.max_waiting));
        }
        *callers.entry(key.clone()).or_default() += 1;
        Ok(Place { waiting: self, key })
    }

    /// How many requests wait now (a test hook).
    pub fn len(&self) -> usize {
        self.lock().values().sum()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ResourceForest {
    /// Waits until the node serves revision `needed` or later (0: at once),
    /// for at most the configured wait or `deadline`, whichever is shorter;
    /// returns the revision it serves.
    pub async fn at_least(
        &self,
        caller: &Caller,
        needed: u64,
        deadline: Option<Duration>,
    ) -> Result<u64, RevisionWaitError> {
        let at = self.store().snapshot().revision;
        if at >= needed {
            return Ok(at);
        }
        let settings = self.config().revision_wait;
        let forest = self.config().forest.clone();
        let _place = self
            .waiting()
            .enter(caller, &settings)
            .map_err(|(waiting, whose, max)| RevisionWaitError::TooManyWaiting {
                forest: forest.clone(),
                at,
                needed,
                waiting,
                whose,
                max,
            })?;
        let mut wait = Duration::from_millis(settings.max_wait_ms);
        if let Some(deadline) = deadline {
            wait = wait.min(deadline);
        }
        match self.store().at_least(needed, wait).await {
            Ok(snapshot) => Ok(snapshot.revision),
            Err(at) => Err(RevisionWaitError::NotReached {
                forest,
                at,
                needed,
                waited_ms: wait.as_millis(),
            }),
        }
    }
}
