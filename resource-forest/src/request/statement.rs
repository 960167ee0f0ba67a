//! Statements (R-SESSION-1): a pipeline, with every cmdlet in it, is
//! authorised against the permissions its caller held when it started.
//!
//! A client opens a statement before the pipeline's first cmdlet and closes
//! it after the last. Opening pins the caller's principal (its SIDs as
//! authenticated and SID-filtered then, a local caller's security groups,
//! its policies) and the compiled RBAC configuration of the current
//! snapshot. Every Invoke naming the statement is authorised against that
//! pin, while the cmdlet still runs against, and commits to, the organization
//! as it is then; the lockout rules are checked against that current state
//! at commit. So a pipeline that removes its own caller's assignments runs
//! to its end, and the next statement sees the new permissions.
//!
//! Authentication is not pinned: every call is authenticated afresh, so an
//! account disabled or a trust link past its staleness bound refuses the
//! very next call. A foreign group the account forest revoked stays in the
//! pin until the statement ends (at most `lifetime_secs`).
//!
//! A statement id is 128 random bits, good only for the caller that opened
//! it. An id that is unknown, closed, expired or another caller's is
//! answered alike: the call is authorised against the caller's *current*
//! permissions (what it gets without a statement, so nothing is gained),
//! and the answer says so. The table is bounded per caller and in all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossforest_shared::config::Problems;
use crossforest_shared::limits;
use crossforest_shared::{ForestName, Sid};
use serde::{Deserialize, Serialize};

use crate::node::ResourceForest;
use crate::rbac::Authorizer;
use crate::trust::authenticate::Caller;

use super::principal::Principal;

/// `[statements]` of a resource forest's `node.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatementSettings {
    /// A statement ends after this many seconds without a call.
    pub idle_secs: u64,
    /// A statement ends this many seconds after it opened, in use or not.
    pub lifetime_secs: u64,
    /// Statements one caller (forest and SID) may have open at once.
    pub max_per_caller: usize,
    /// Statements the node keeps open in all.
    pub max_open: usize,
}

impl Default for StatementSettings {
    fn default() -> Self {
        Self {
            idle_secs: limits::STATEMENT_IDLE_SECS,
            lifetime_secs: limits::STATEMENT_LIFETIME_SECS,
            max_per_caller: limits::STATEMENTS_PER_CALLER,
            max_open: limits::MAX_OPEN_STATEMENTS,
        }
    }
}

impl StatementSettings {
    /// Whether these are the defaults (not written to `node.toml`).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Checks the settings, naming `statements.<key>` in each problem.
    pub fn check(&self, problems: &mut Problems) {
        if self.idle_secs == 0 {
            problems.push(
                "statements.idle_secs",
                "must be at least 1 second; a statement would end before its first cmdlet",
            );
        }
        if self.lifetime_secs < self.idle_secs {
            problems.push(
                "statements.lifetime_secs",
                format!(
                    "{} is shorter than idle_secs ({})",
                    self.lifetime_secs, self.idle_secs
                ),
            );
        }
        if self.max_per_caller == 0 {
            problems.push(
                "statements.max_per_caller",
                "must be at least 1; every statement would be refused",
            );
        }
        if self.max_open < self.max_per_caller {
            problems.push(
                "statements.max_open",
                format!(
                    "{} is less than max_per_caller ({})",
                    self.max_open, self.max_per_caller
                ),
            );
        }
    }
}

/// What a statement keeps from its start: the permissions its calls are
/// authorised against.
#[derive(Debug)]
pub struct Pinned {
    /// The caller as RBAC saw it when the statement opened.
    pub principal: Principal,
    /// The compiled RBAC configuration then.
    pub authorizer: Arc<Authorizer>,
    /// The organization revision it was taken from.
    pub revision: u64,
}

/// Why a statement could not be opened or closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    /// The caller has as many statements open as it may.
    #[error("`{caller}` already has {open} statements open, the most one caller may (statements.max_per_caller); close one or let it end ({idle_secs} s without a call)")]
    TooManyForCaller {
        /// `DOMAIN\name` of the caller.
        caller: String,
        /// Its open statements.
        open: usize,
        /// When an unused one ends.
        idle_secs: u64,
    },
    /// The node keeps as many statements as it may.
    #[error("this node has {0} statements open, the most it keeps (statements.max_open); run the command again when some have ended")]
    TooMany(usize),
    /// No statement of the caller has this id.
    #[error("no statement `{0}` is open for you: it is unknown, has ended, or belongs to another caller")]
    NotOpen(String),
}

/// The warning a call gets when the statement it names is not open for its
/// caller; it was authorised against the caller's current permissions.
pub fn not_open_warning(id: &str) -> String {
    format!(
        "{}; this command was authorised against your current permissions",
        StatementError::NotOpen(shown(id))
    )
}

/// An id as messages show it: bounded and escaped, it comes from the caller.
fn shown(id: &str) -> String {
    crossforest_shared::text::escape(&crossforest_shared::text::bounded(
        id,
        limits::MAX_STATEMENT_ID,
    ))
    .into_owned()
}

/// Who a statement belongs to.
type Owner = (ForestName, Sid);

fn owner(caller: &Caller) -> Owner {
    (caller.forest.clone(), caller.user)
}

/// One open statement.
#[derive(Debug)]
struct Open {
    owner: Owner,
    pinned: Arc<Pinned>,
    opened: Instant,
    used: Instant,
}

impl Open {
    fn ended(&self, settings: &StatementSettings, now: Instant) -> bool {
        now.duration_since(self.used) >= Duration::from_secs(settings.idle_secs)
            || now.duration_since(self.opened) >= Duration::from_secs(settings.lifetime_secs)
    }
}

/// The node's open statements.
#[derive(Debug)]
pub struct Statements {
    settings: StatementSettings,
    open: Mutex<HashMap<String, Open>>,
}

impl Statements {
    /// No statements, bounded by `settings`.
    pub fn new(settings: StatementSettings) -> Self {
        Self {
            settings,
            open: Mutex::default(),
        }
    }

    /// The bounds.
    pub fn settings(&self) -> &StatementSettings {
        &self.settings
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a statement for `caller` keeping `pinned`; its id.
    pub fn open(
        &self,
        caller: &Caller,
        name: &str,
        pinned: Pinned,
        now: Instant,
    ) -> Result<String, StatementError> {
        let mut table = self.table();
        table.retain(|_, s| !s.ended(&self.settings, now));
        let owner = owner(caller);
        let mine = table.values().filter(|s| s.owner == owner).count();
        if mine >= self.settings.max_per_caller {
            return Err(StatementError::TooManyForCaller {
                caller: name.to_owned(),
                open: mine,
                idle_secs: self.settings.idle_secs,
            });
        }
        if table.len() >= self.settings.max_open {
            return Err(StatementError::TooMany(table.len()));
        }
        let id = format!("{:032x}", rand::random::<u128>());
        table.insert(
            id.clone(),
            Open {
                owner,
                pinned: Arc::new(pinned),
                opened: now,
                used: now,
            },
        );
        Ok(id)
    }

    /// The permissions statement `id` of `caller` keeps, and the statement
    /// is used now; [`StatementError::NotOpen`] for an id the caller has no
    /// open statement under (an ended one is dropped).
    pub fn pinned(
        &self,
        id: &str,
        caller: &Caller,
        now: Instant,
    ) -> Result<Arc<Pinned>, StatementError> {
        let mut table = self.table();
        let found = match table.get_mut(id) {
            Some(s) if s.ended(&self.settings, now) => {
                table.remove(id);
                None
            }
            Some(s) if s.owner == owner(caller) => {
                s.used = now;
                Some(s.pinned.clone())
            }
            _ => None,
        };
        found.ok_or_else(|| StatementError::NotOpen(shown(id)))
    }

    /// Closes statement `id` of `caller`; another caller's is left open and
    /// answered as an unknown one.
    pub fn close(&self, id: &str, caller: &Caller, now: Instant) -> Result<(), StatementError> {
        let mut table = self.table();
        match table.get(id) {
            Some(s) if s.owner == owner(caller) && !s.ended(&self.settings, now) => {
                table.remove(id);
                Ok(())
            }
            Some(s) if s.ended(&self.settings, now) => {
                table.remove(id);
                Err(StatementError::NotOpen(shown(id)))
            }
            _ => Err(StatementError::NotOpen(shown(id))),
        }
    }

    /// Statements open now (ended ones not yet swept may count).
    pub fn len(&self) -> usize {
        self.table().len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ResourceForest {
    /// Opens a statement for `caller`: the permissions it holds on the
    /// current snapshot are pinned. Returns the id and the revision.
    pub fn open_statement(&self, caller: &Caller) -> Result<(String, u64), StatementError> {
        let snapshot = self.store().snapshot();
        let principal = Principal::resolve(&snapshot.org, caller);
        let name = principal.name.clone();
        let pinned = Pinned {
            principal,
            authorizer: snapshot.authorizer.clone(),
            revision: snapshot.revision,
        };
        let id = self
            .statements()
            .open(caller, &name, pinned, Instant::now())?;
        Ok((id, snapshot.revision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(rid: u32) -> Caller {
        Caller {
            forest: "contoso.com".parse().unwrap(),
            user: format!("S-1-5-21-1-2-3-{rid}").parse().unwrap(),
            display_name: format!("contoso\\u{rid}"),
            sids: vec![format!("S-1-5-21-1-2-3-{rid}").parse().unwrap()],
            dropped: Vec::new(),
            local: true,
        }
    }

    fn pinned(c: &Caller) -> Pinned {
        let org = crate::org::Organization::new(
            "contoso.com".parse().unwrap(),
            "S-1-5-21-1-2-3".parse().unwrap(),
            &crate::rbac::catalogue::builtin().unwrap(),
            &[],
        )
        .unwrap();
        Pinned {
            principal: Principal::resolve(&org, c),
            authorizer: Arc::new(Authorizer::new(&org.rbac)),
            revision: 1,
        }
    }

    fn settings() -> StatementSettings {
        StatementSettings {
            idle_secs: 60,
            lifetime_secs: 600,
            max_per_caller: 2,
            max_open: 3,
        }
    }

    #[test]
    fn a_statement_is_its_callers_only_and_ends_when_closed() {
        let table = Statements::new(settings());
        let (ann, bob) = (caller(1105), caller(1106));
        let now = Instant::now();
        let id = table.open(&ann, "ann", pinned(&ann), now).unwrap();
        assert_eq!(id.len(), 32);
        assert!(table.pinned(&id, &ann, now).is_ok());
        // Another caller gets the answer an unknown id gets, and the
        // statement stays open for its own.
        let theirs = table.pinned(&id, &bob, now).unwrap_err();
        let unknown = table.pinned("0123", &bob, now).unwrap_err();
        assert!(matches!(
            (&theirs, &unknown),
            (StatementError::NotOpen(_), StatementError::NotOpen(_))
        ));
        assert!(table.close(&id, &bob, now).is_err());
        assert!(table.pinned(&id, &ann, now).is_ok());
        table.close(&id, &ann, now).unwrap();
        assert!(table.pinned(&id, &ann, now).is_err());
        assert!(table.is_empty());
    }

    #[test]
    fn a_statement_ends_when_idle_and_when_old() {
        let table = Statements::new(settings());
        let ann = caller(1105);
        let start = Instant::now();
        let idle = table.open(&ann, "ann", pinned(&ann), start).unwrap();
        assert!(table
            .pinned(&idle, &ann, start + Duration::from_secs(60))
            .is_err());
        // Used every 50 s, it still ends 600 s after it opened.
        let busy = table.open(&ann, "ann", pinned(&ann), start).unwrap();
        for s in (50..600).step_by(50) {
            assert!(table
                .pinned(&busy, &ann, start + Duration::from_secs(s))
                .is_ok());
        }
        assert!(table
            .pinned(&busy, &ann, start + Duration::from_secs(600))
            .is_err());
        assert!(table.is_empty());
    }

    #[test]
    fn open_statements_are_bounded_per_caller_and_in_all() {
        let table = Statements::new(settings());
        let (ann, bob) = (caller(1105), caller(1106));
        let now = Instant::now();
        table.open(&ann, "contoso\\ann", pinned(&ann), now).unwrap();
        table.open(&ann, "contoso\\ann", pinned(&ann), now).unwrap();
        let refused = table
            .open(&ann, "contoso\\ann", pinned(&ann), now)
            .unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("`contoso\\ann` already has 2 statements open"),
            "{refused}"
        );
        table.open(&bob, "contoso\\bob", pinned(&bob), now).unwrap();
        assert_eq!(
            table.open(&bob, "contoso\\bob", pinned(&bob), now),
            Err(StatementError::TooMany(3))
        );
        // Ended statements make room.
        let later = now + Duration::from_secs(61);
        table
            .open(&ann, "contoso\\ann", pinned(&ann), later)
            .unwrap();
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn settings_that_could_not_work_are_named() {
        let mut problems = Problems::new();
        StatementSettings {
            idle_secs: 0,
            lifetime_secs: 0,
            max_per_caller: 0,
            max_open: 0,
        }
        .check(&mut problems);
        let text = format!("{problems:?}");
        assert!(text.contains("statements.idle_secs"), "{text}");
        assert!(text.contains("statements.max_per_caller"), "{text}");
        let mut problems = Problems::new();
        StatementSettings::default().check(&mut problems);
        assert!(problems.into_result(std::path::Path::new("x")).is_ok());
    }
}
