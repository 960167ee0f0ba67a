//! Browser sessions: a random cookie bound to one identity's management
//! session, a form token and a message for the next page (the outcome of a
//! form, shown after its redirect); at most [`Limits::max_sessions`] at
//! once, each ending after [`Limits::idle`] without a request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::session::Session;

/// The console's bounds: sessions, their idle time, the request body.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most browser sessions open at once.
    pub max_sessions: usize,
    /// A browser session ends after this long without a request.
    pub idle: Duration,
    /// The largest request body read (a model file fits; a larger one is
    /// refused with 413 before it is read whole).
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_sessions: 32,
            idle: Duration::from_secs(30 * 60),
            max_body: 256 * 1024,
        }
    }
}

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
    flash: Option<String>,
}

/// The open browser sessions, each a `T` ([`BrowserSession`] in the console).
#[derive(Debug)]
pub struct Sessions<T = BrowserSession> {
    open: Mutex<HashMap<String, Entry<T>>>,
    limits: Limits,
}

/// What a session id names.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<T> {
    /// An open session, with the message left for its next page.
    Open(T, Option<String>),
    /// A session that ended after [`Limits::idle`] without a request.
    Expired,
    /// No session: signed out, never opened, or the console restarted.
    Unknown,
}

/// 32 random bytes, URL-safe base64: a session id or form token.
pub fn random_token() -> String {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Why a sign-in could not get a session.
#[derive(Debug, thiserror::Error)]
#[error("the console has {max} browser sessions open, its limit; sign out elsewhere or wait for one to end (each ends after {} idle)", idle_text(*.idle))]
pub struct Full {
    max: usize,
    idle: Duration,
}

/// `idle` as the console says it: minutes, or seconds when less than one.
pub fn idle_text(idle: Duration) -> String {
    match idle.as_secs() {
        s if s >= 60 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

impl<T: Clone> Sessions<T> {
    /// No sessions yet, within `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            open: Mutex::new(HashMap::new()),
            limits,
        }
    }

    /// The limits the sessions keep.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Opens a session holding `value`; returns its id.
    pub fn open(&self, value: T) -> Result<String, Full> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let idle = self.limits.idle;
        open.retain(|_, e| now.duration_since(e.last_used) < idle);
        if open.len() >= self.limits.max_sessions {
            return Err(Full {
                max: self.limits.max_sessions,
                idle,
            });
        }
        let id = random_token();
        open.insert(
            id.clone(),
            Entry {
                value,
                last_used: now,
                flash: None,
            },
        );
        Ok(id)
    }

    /// The session `id` names, if open and not idle too long (and marks it
    /// used), with the message left for this page (taken: shown once).
    pub fn get(&self, id: &str) -> Lookup<T> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let Some(entry) = open.get_mut(id) else {
            return Lookup::Unknown;
        };
        if now.duration_since(entry.last_used) >= self.limits.idle {
            open.remove(id);
            return Lookup::Expired;
        }
        entry.last_used = now;
        Lookup::Open(entry.value.clone(), entry.flash.take())
    }

    /// Leaves `message` (HTML) for the next page of the session `id`.
    pub fn flash(&self, id: &str, message: String) {
        if let Some(entry) = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(id)
        {
            entry.flash = Some(message);
        }
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
        let limits = Limits::default();
        let sessions = Sessions::<usize>::new(limits);
        let ids: Vec<String> = (0..limits.max_sessions)
            .map(|i| sessions.open(i).unwrap())
            .collect();
        let full = sessions.open(limits.max_sessions).unwrap_err();
        assert!(
            full.to_string()
                .starts_with("the console has 32 browser sessions open, its limit"),
            "{full}"
        );
        assert_eq!(sessions.get(&ids[3]), Lookup::Open(3, None));
        assert_eq!(sessions.get("not-an-id"), Lookup::Unknown);
        sessions.close(&ids[3]);
        assert_eq!(sessions.get(&ids[3]), Lookup::Unknown);
        let again = sessions.open(99).unwrap();
        assert_eq!(sessions.get(&again), Lookup::Open(99, None));
    }

    #[test]
    fn a_session_idle_for_its_limit_has_expired_and_then_is_gone() {
        let sessions = Sessions::<usize>::new(Limits {
            idle: Duration::ZERO,
            ..Limits::default()
        });
        let id = sessions.open(1).unwrap();
        assert_eq!(sessions.get(&id), Lookup::Expired);
        assert_eq!(sessions.get(&id), Lookup::Unknown);
    }

    #[test]
    fn a_flash_is_shown_once() {
        let sessions = Sessions::<usize>::new(Limits::default());
        let id = sessions.open(1).unwrap();
        sessions.flash(&id, "done".into());
        assert_eq!(sessions.get(&id), Lookup::Open(1, Some("done".into())));
        assert_eq!(sessions.get(&id), Lookup::Open(1, None));
    }
}
