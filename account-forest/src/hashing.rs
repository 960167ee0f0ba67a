//! Checking passwords within a memory budget.
//!
//! One argon2 check holds [`HASH_MEMORY_KIB`] of memory (19 MiB with the
//! parameters [`crate::directory::hash_password`] uses) for about 25 ms. Left
//! unbounded, concurrent sign-ins with wrong passwords exhaust the node's
//! memory; here a semaphore sized from `password_hash_memory_mib` admits only
//! as many checks as the budget holds, each on a blocking thread with memory
//! taken from a pool allocated once, so the node's resident memory for
//! password checks is at most the budget whatever the allocator does. A
//! caller that finds every permit taken waits at most `password_hash_wait_ms`,
//! then is told to retry later.
//!
//! Unknown accounts are never checked (the certificate is bound to the
//! account first); a bound account that cannot sign in (disabled) is checked
//! against a dummy hash made once with the same parameters, so it costs what
//! a wrong password costs.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::directory::{hash_password, DirectoryError};

/// Memory one password check of this product needs, in KiB: argon2's
/// memory cost with the parameters every stored hash is made with.
pub const HASH_MEMORY_KIB: u32 = Params::DEFAULT_M_COST;

/// The shortest retry hint given to a caller refused for lack of budget.
const MIN_RETRY_AFTER: Duration = Duration::from_millis(100);

/// The memory budget for password checks: every check in flight holds
/// [`HASH_MEMORY_KIB`]; a caller that finds the budget spent waits at most
/// `wait`, then is refused with [`Busy`].
#[derive(Debug)]
pub struct PasswordHashing {
    /// One permit per check the budget holds.
    permits: Arc<Semaphore>,
    /// How many permits the budget holds.
    total: u32,
    /// How long a check waits for a permit.
    wait: Duration,
    /// Argon2 memory, allocated once per permit in use and kept.
    pool: Mutex<Vec<Vec<Block>>>,
    /// A hash of a random password with the same parameters, for accounts
    /// that cannot sign in.
    dummy: String,
    /// Checks computed since the node started.
    computed: AtomicU64,
    /// Checks running now.
    running: AtomicUsize,
    /// The most checks ever running at once.
    peak: AtomicUsize,
}

/// Every check the memory budget holds is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("every password check the memory budget allows is in use; retry in {} ms", .retry_after.as_millis())]
pub struct Busy {
    /// When a retry has a chance.
    pub retry_after: Duration,
}

/// The right to run one password check, within the budget.
#[derive(Debug)]
pub struct HashPermit {
    _permit: OwnedSemaphorePermit,
}

impl PasswordHashing {
    /// A budget of `budget_mib` MiB (at least one check runs whatever the
    /// budget) and the longest wait for it; computes the dummy hash.
    pub fn new(budget_mib: u32, wait: Duration) -> Result<Self, DirectoryError> {
        let total = Self::permits_for(budget_mib).max(1);
        let random: [u8; 32] = rand::random();
        let dummy = hash_password(
            &random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        )?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(total as usize)),
            total,
            wait,
            pool: Mutex::new(Vec::new()),
            dummy,
            computed: AtomicU64::new(0),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }

    /// How many concurrent checks `budget_mib` MiB holds (0: not even one).
    pub fn permits_for(budget_mib: u32) -> u32 {
        budget_mib.saturating_mul(1024) / HASH_MEMORY_KIB
    }

    /// How many checks may run at once.
    pub fn permits(&self) -> u32 {
        self.total
    }

    /// Waits (at most the configured wait) for the right to run one check.
    pub async fn acquire(&self) -> Result<HashPermit, Busy> {
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(HashPermit { _permit: permit }),
            // The semaphore is never closed: either way the budget is spent.
            Ok(Err(_)) | Err(_) => Err(Busy {
                retry_after: self.wait.max(MIN_RETRY_AFTER),
            }),
        }
    }

    /// Checks `password` against `hash`, or against the dummy hash when
    /// `None` (never a match then). Blocks for the length of one argon2
    /// hash: call it on a blocking thread, holding `permit`.
    pub fn verify(&self, permit: HashPermit, hash: Option<&str>, password: &str) -> bool {
        let running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(running, Ordering::SeqCst);
        let mut memory = self.pool().pop().unwrap_or_default();
        let matched = check(
            hash.unwrap_or(&self.dummy),
            password.as_bytes(),
            &mut memory,
        );
        self.computed.fetch_add(1, Ordering::SeqCst);
        self.running.fetch_sub(1, Ordering::SeqCst);
        // Kept for the next check: every check holds a permit while it runs,
        // so there are never more buffers than permits.
        self.pool().push(memory);
        drop(permit);
        matched && hash.is_some()
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
        // Nothing panics while holding it; recover the data if it ever did.
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks computed since the node started (each costs one argon2 hash).
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::SeqCst)
    }

    /// The most checks that ever ran at once; never more than
    /// [`Self::permits`].
    pub fn peak_running(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// Whether `password` hashes to the PHC-format argon2 `hash`, computed in
/// `memory` (grown first if the hash needs more; every stored hash has the
/// default cost, which is what the pool keeps).
fn check(hash: &str, password: &[u8], memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let Ok(version) = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count().max(Params::DEFAULT.block_count());
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let argon2 = Argon2::new(algorithm, version, params);
    Output::init_with(expected.len(), |out| {
        Ok(argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..])?)
    })
    .is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::verify_password;

    #[test]
    fn a_check_in_pooled_memory_agrees_with_argon2() -> Result<(), DirectoryError> {
        let hash = hash_password("correct horse")?;
        let mut memory = Vec::new();
        for _ in 0..2 {
            assert!(check(&hash, b"correct horse", &mut memory));
            assert!(!check(&hash, b"correct horsf", &mut memory));
        }
        assert_eq!(memory.len(), Params::DEFAULT.block_count());
        assert!(verify_password(&hash, "correct horse"));
        assert!(!check("not a hash", b"correct horse", &mut memory));
        Ok(())
    }

    #[test]
    fn the_budget_holds_whole_checks() {
        assert_eq!(PasswordHashing::permits_for(18), 0);
        assert_eq!(PasswordHashing::permits_for(19), 1);
        assert_eq!(PasswordHashing::permits_for(80), 4);
    }

    #[tokio::test]
    async fn the_dummy_hash_never_matches_and_costs_one_check() -> Result<(), DirectoryError> {
        let hashing = PasswordHashing::new(19, Duration::ZERO)?;
        let permit = hashing.acquire().await.map_err(|_| DirectoryError::Hash)?;
        assert!(!hashing.verify(permit, None, ""));
        assert_eq!(hashing.computed(), 1);
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_checks_run_than_the_budget_holds() -> Result<(), DirectoryError> {
        let hashing = Arc::new(PasswordHashing::new(38, Duration::from_secs(60))?);
        assert_eq!(hashing.permits(), 2);
        let hash = Arc::new(hash_password("pw")?);
        let checks: Vec<_> = (0..6)
            .map(|_| {
                let (hashing, hash) = (hashing.clone(), hash.clone());
                tokio::spawn(async move {
                    let permit = hashing.acquire().await.ok()?;
                    tokio::task::spawn_blocking(move || hashing.verify(permit, Some(&hash), "x"))
                        .await
                        .ok()
                })
            })
            .collect();
        for check in checks {
            assert_eq!(check.await.ok().flatten(), Some(false));
        }
        assert_eq!(hashing.computed(), 6);
        assert!(hashing.peak_running() <= 2, "{}", hashing.peak_running());
        assert!(hashing.pool().len() <= 2);
        Ok(())
    }

    #[tokio::test]
    async fn a_caller_finding_the_budget_spent_is_told_to_retry() -> Result<(), DirectoryError> {
        let hashing = PasswordHashing::new(19, Duration::from_millis(50))?;
        let held = hashing.acquire().await;
        assert!(held.is_ok());
        assert_eq!(
            hashing.acquire().await.err(),
            Some(Busy {
                retry_after: MIN_RETRY_AFTER
            })
        );
        drop(held);
        assert!(hashing.acquire().await.is_ok());
        Ok(())
    }
}
