//! Browser sessions: a random cookie bound to one identity's management
//! session and a form token, at most [`MAX_SESSIONS`] at once, each ending
//! after [`IDLE`] without a request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::session::Session;

/// The most browser sessions open at once.
pub const MAX_SESSIONS: usize = 32;

/// A browser session ends after this long without a request.
pub const IDLE: Duration = Duration::from_secs(30 * 60);

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    /// `DOMAIN\user`.
    pub identity: String,
    /// The token every form of the session carries.
    pub csrf: String,
    /// The management session, as `identity`.
    pub session: Session,
}

#[derive(Debug)]
struct Entry<T> {
    value: T,
    last_used: Instant,
}

/// The open browser sessions, each a `T` ([`BrowserSession`] in the console).
#[derive(Debug)]
pub struct Sessions<T = BrowserSession> {
    open: Mutex<HashMap<String, Entry<T>>>,
}

impl<T> Default for Sessions<T> {
    fn default() -> Self {
        Self {
            open: Mutex::new(HashMap::new()),
        }
    }
}

/// 32 random bytes, URL-safe base64: a session id or form token.
pub fn random_token() -> String {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Why a sign-in could not get a session.
#[derive(Debug, thiserror::Error)]
#[error("the console has {MAX_SESSIONS} browser sessions open, its limit; sign out elsewhere or wait for one to end (each ends after {} minutes idle)", IDLE.as_secs() / 60)]
pub struct Full;

impl<T: Clone> Sessions<T> {
    /// Opens a session holding `value`; returns its id.
    pub fn open(&self, value: T) -> Result<String, Full> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        open.retain(|_, e| now.duration_since(e.last_used) < IDLE);
        if open.len() >= MAX_SESSIONS {
            return Err(Full);
        }
        let id = random_token();
        open.insert(
            id.clone(),
            Entry {
                value,
                last_used: now,
            },
        );
        Ok(id)
    }

    /// The session `id` names, if open and not idle too long (and marks it used).
    pub fn get(&self, id: &str) -> Option<T> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let entry = open.get_mut(id)?;
        if now.duration_since(entry.last_used) >= IDLE {
            open.remove(id);
            return None;
        }
        entry.last_used = now;
        Some(entry.value.clone())
    }

    /// Ends the session `id`.
    pub fn close(&self, id: &str) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

/// Whether `given` is the session's form token (compared in constant time).
pub fn csrf_matches(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_compared_exactly() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(csrf_matches(&a, &a));
        assert!(!csrf_matches(&a, &b));
        assert!(!csrf_matches(&a, ""));
    }

    #[test]
    fn sessions_are_capped_and_a_closed_one_frees_its_place() {
        let sessions = Sessions::<usize>::default();
        let ids: Vec<String> = (0..MAX_SESSIONS)
            .map(|i| sessions.open(i).unwrap())
            .collect();
        assert!(sessions.open(MAX_SESSIONS).is_err());
        assert_eq!(sessions.get(&ids[3]), Some(3));
        assert_eq!(sessions.get("not-an-id"), None);
        sessions.close(&ids[3]);
        assert_eq!(sessions.get(&ids[3]), None);
        let again = sessions.open(99).unwrap();
        assert_eq!(sessions.get(&again), Some(99));
    }
}
