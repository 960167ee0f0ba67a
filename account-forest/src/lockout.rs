//! Active Directory's account lockout policy, per account: after
//! `LockoutThreshold` bad passwords, each within `LockoutObservationWindow`
//! of the one before, the account is locked out for `LockoutDuration` (0:
//! until an administrator unlocks it, `Unlock-ADAccount`). A good password
//! resets the count, as AD's badPwdCount.
//!
//! The counts and lockouts live in the node's memory, not in its store: a
//! store write per failed sign-in would let any caller turn wrong passwords
//! into disk writes (and, on a shared PostgreSQL store, into notifications to
//! every node). So each node counts for itself, and a restart clears them.
//!
//! A sign-in in flight counts as bad until its password is checked: with a
//! threshold of 10, at most 10 checks of one account run however many calls
//! arrive at once, so the lockout bounds the password checks one credential
//! can cause.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crossforest_shared::Sid;

/// AD's account lockout policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// `LockoutThreshold`: bad passwords that lock the account out; 0 never.
    pub threshold: u32,
    /// `LockoutDuration`: how long a lockout lasts; zero until unlocked.
    pub duration: Duration,
    /// `LockoutObservationWindow`: a bad password this long after the
    /// previous one starts the count again.
    pub observation_window: Duration,
}

/// Why an account may not try a password now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LockoutError {
    /// The account is locked out.
    #[error("the account is locked out")]
    LockedOut,
    /// As many checks as the threshold allows are already in flight.
    #[error("{0} sign-ins of the account are already in flight, as many as the lockout threshold allows")]
    InFlight(u32),
}

/// One account's state; absent while clean.
#[derive(Debug, Clone, Default)]
struct Account {
    /// Bad passwords counted (badPwdCount).
    bad: u32,
    /// When the last bad password was counted (badPasswordTime).
    last_bad: Option<Instant>,
    /// Checks admitted and not yet decided.
    pending: u32,
    /// The lockout, if any: since when, on both clocks.
    locked: Option<(Instant, SystemTime)>,
}

impl Account {
    fn is_clean(&self) -> bool {
        self.bad == 0 && self.pending == 0 && self.locked.is_none()
    }
}

/// A user's lockout state as administrators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutState {
    /// The user.
    pub sid: Sid,
    /// Bad passwords counted within the observation window.
    pub bad_password_count: u32,
    /// Locked out: until when, or `None` inside for "until unlocked".
    pub locked_out: Option<Option<SystemTime>>,
}

/// Every account's bad password count and lockout on this node.
#[derive(Debug)]
pub struct Lockouts {
    policy: LockoutPolicy,
    accounts: Mutex<HashMap<Sid, Account>>,
}

/// A password check admitted for an account: counted as bad until
/// [`Attempt::succeeded`] or [`Attempt::failed`]; dropped undecided (the
/// check never ran), it counts for nothing.
#[derive(Debug)]
pub struct Attempt {
    lockouts: Arc<Lockouts>,
    sid: Sid,
    decided: bool,
}

/// What a failed attempt did to its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Counted; the account is not locked out.
    Bad(u32),
    /// This attempt reached the threshold: the account is now locked out.
    LockedOut,
}

impl Lockouts {
    /// No account counted yet.
    pub fn new(policy: LockoutPolicy) -> Self {
        Self {
            policy,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> LockoutPolicy {
        self.policy
    }

    fn accounts(&self) -> MutexGuard<'_, HashMap<Sid, Account>> {
        // Nothing panics while holding it; recover the data if it ever did.
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends a lockout that has lasted its duration and forgets a count
    /// older than the observation window.
    fn expire(&self, account: &mut Account, now: Instant) {
        if let Some((since, _)) = account.locked {
            if !self.policy.duration.is_zero()
                && now.saturating_duration_since(since) >= self.policy.duration
            {
                account.locked = None;
                account.bad = 0;
                account.last_bad = None;
            }
        }
        if account.locked.is_none()
            && account.last_bad.is_some_and(|last| {
                now.saturating_duration_since(last) >= self.policy.observation_window
            })
        {
            account.bad = 0;
            account.last_bad = None;
        }
    }

    /// Admits one password check of `sid` at `now`, or says why not.
    pub fn admit(self: &Arc<Self>, sid: Sid, now: Instant) -> Result<Attempt, LockoutError> {
        let mut accounts = self.accounts();
        let account = accounts.entry(sid).or_default();
        self.expire(account, now);
        if account.locked.is_some() {
            return Err(LockoutError::LockedOut);
        }
        if self.policy.threshold != 0 && account.bad + account.pending >= self.policy.threshold {
            return Err(LockoutError::InFlight(account.pending));
        }
        account.pending += 1;
        Ok(Attempt {
            lockouts: self.clone(),
            sid,
            decided: false,
        })
    }

    /// Unlocks `sid` and clears its count (`Unlock-ADAccount`); whether it
    /// was locked out.
    pub fn unlock(&self, sid: &Sid, now: Instant) -> bool {
        let mut accounts = self.accounts();
        let Some(account) = accounts.get_mut(sid) else {
            return false;
        };
        self.expire(account, now);
        let was_locked = account.locked.take().is_some();
        account.bad = 0;
        account.last_bad = None;
        if account.is_clean() {
            accounts.remove(sid);
        }
        was_locked
    }

    /// Every account with a bad password counted or locked out at `now`,
    /// ordered by SID.
    pub fn states(&self, now: Instant) -> Vec<LockoutState> {
        let mut accounts = self.accounts();
        let mut states: Vec<LockoutState> = accounts
            .iter_mut()
            .filter_map(|(sid, account)| {
                self.expire(account, now);
                (account.bad > 0 || account.locked.is_some()).then(|| LockoutState {
                    sid: *sid,
                    bad_password_count: account.bad,
                    locked_out: account.locked.map(|(_, at)| {
                        (!self.policy.duration.is_zero()).then(|| at + self.policy.duration)
                    }),
                })
            })
            .collect();
        accounts.retain(|_, a| !a.is_clean());
        states.sort_by_key(|s| s.sid.to_string());
        states
    }

    /// Whether `sid` is locked out at `now`.
    pub fn is_locked_out(&self, sid: &Sid, now: Instant) -> bool {
        let mut accounts = self.accounts();
        accounts.get_mut(sid).is_some_and(|account| {
            self.expire(account, now);
            account.locked.is_some()
        })
    }

    fn decide(&self, sid: &Sid, good: bool, now: Instant) -> Option<Counted> {
        let mut accounts = self.accounts();
        let account = accounts.entry(*sid).or_default();
        account.pending = account.pending.saturating_sub(1);
        let counted = if good {
            account.bad = 0;
            account.last_bad = None;
            None
        } else {
            self.expire(account, now);
            account.bad = account.bad.saturating_add(1);
            account.last_bad = Some(now);
            if self.policy.threshold != 0
                && account.bad >= self.policy.threshold
                && account.locked.is_none()
            {
                account.locked = Some((now, SystemTime::now()));
                Some(Counted::LockedOut)
            } else {
                Some(Counted::Bad(account.bad))
            }
        };
        if account.is_clean() {
            accounts.remove(sid);
        }
        counted
    }
}

impl Attempt {
    /// The password was right: the count starts again.
    pub fn succeeded(mut self, now: Instant) {
        self.decided = true;
        self.lockouts.decide(&self.sid, true, now);
    }

    /// The password was wrong (or the account could not sign in): one more
    /// bad password, which may lock the account out.
    pub fn failed(mut self, now: Instant) -> Counted {
        self.decided = true;
        self.lockouts
            .decide(&self.sid, false, now)
            .unwrap_or(Counted::Bad(0))
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.decided {
            let mut accounts = self.lockouts.accounts();
            if let Some(account) = accounts.get_mut(&self.sid) {
                account.pending = account.pending.saturating_sub(1);
                if account.is_clean() {
                    accounts.remove(&self.sid);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossforest_shared::DomainSid;

    const MINUTE: Duration = Duration::from_secs(60);

    fn lockouts(threshold: u32, duration_mins: u64) -> Arc<Lockouts> {
        Arc::new(Lockouts::new(LockoutPolicy {
            threshold,
            duration: MINUTE * duration_mins as u32,
            observation_window: MINUTE * 30,
        }))
    }

    fn alice() -> Sid {
        DomainSid::new(4, 5, 6).with_rid(1101)
    }

    fn fail(l: &Arc<Lockouts>, at: Instant) -> Result<Counted, LockoutError> {
        Ok(l.admit(alice(), at)?.failed(at))
    }

    #[test]
    fn the_threshold_locks_out_for_the_duration() -> Result<(), LockoutError> {
        let l = lockouts(3, 30);
        let t0 = Instant::now();
        assert_eq!(fail(&l, t0)?, Counted::Bad(1));
        assert_eq!(fail(&l, t0)?, Counted::Bad(2));
        assert_eq!(fail(&l, t0)?, Counted::LockedOut);
        assert_eq!(
            l.admit(alice(), t0 + MINUTE * 29).err(),
            Some(LockoutError::LockedOut)
        );
        assert!(l.is_locked_out(&alice(), t0));
        let states = l.states(t0);
        assert_eq!(states.len(), 1);
        assert_eq!(states[0].bad_password_count, 3);
        assert!(matches!(states[0].locked_out, Some(Some(_))));
        // After LockoutDuration the account signs in again, count cleared.
        assert_eq!(fail(&l, t0 + MINUTE * 30)?, Counted::Bad(1));
        Ok(())
    }

    #[test]
    fn a_good_password_or_the_observation_window_resets_the_count() -> Result<(), LockoutError> {
        let l = lockouts(3, 30);
        let t0 = Instant::now();
        fail(&l, t0)?;
        fail(&l, t0)?;
        l.admit(alice(), t0)?.succeeded(t0);
        assert_eq!(fail(&l, t0)?, Counted::Bad(1));
        fail(&l, t0)?;
        assert_eq!(fail(&l, t0 + MINUTE * 31)?, Counted::Bad(1));
        assert!(l.states(t0 + MINUTE * 61).is_empty());
        Ok(())
    }

    #[test]
    fn a_duration_of_zero_locks_out_until_unlocked() -> Result<(), LockoutError> {
        let l = lockouts(1, 0);
        let t0 = Instant::now();
        assert_eq!(fail(&l, t0)?, Counted::LockedOut);
        let later = t0 + MINUTE * 60 * 24 * 365;
        assert_eq!(l.admit(alice(), later).err(), Some(LockoutError::LockedOut));
        assert_eq!(l.states(later)[0].locked_out, Some(None));
        assert!(l.unlock(&alice(), later));
        assert!(!l.unlock(&alice(), later));
        assert!(l.admit(alice(), later).is_ok());
        Ok(())
    }

    #[test]
    fn checks_in_flight_count_against_the_threshold() -> Result<(), LockoutError> {
        let l = lockouts(2, 30);
        let t0 = Instant::now();
        let first = l.admit(alice(), t0)?;
        let second = l.admit(alice(), t0)?;
        assert_eq!(l.admit(alice(), t0).err(), Some(LockoutError::InFlight(2)));
        // A check that never ran counts for nothing.
        drop(second);
        first.succeeded(t0);
        assert!(l.states(t0).is_empty());
        assert!(l.admit(alice(), t0).is_ok());
        Ok(())
    }

    #[test]
    fn a_threshold_of_zero_never_locks_out() -> Result<(), LockoutError> {
        let l = lockouts(0, 30);
        let t0 = Instant::now();
        for n in 1..=50 {
            assert_eq!(fail(&l, t0)?, Counted::Bad(n));
        }
        Ok(())
    }
}
