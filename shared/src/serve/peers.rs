//! The principal of each TLS connection, read from its client certificate
//! once per connection instead of once per request (issue 20: parsing the
//! certificate was ≈ 8 % of a `Check`'s server time).
//!
//! tonic hands every request of one connection the same certificate chain
//! (one `Arc`, made when the connection was accepted, after rustls verified
//! the chain). An entry is keyed by that `Arc` and holds a clone of it, so no
//! other connection's chain can take its address while the entry lives: a
//! principal is only ever served to requests of the connection whose
//! certificate named it. Nothing here verifies anything; rustls verified the
//! chain during the handshake, as before.
//!
//! Bounded: a connection's first request also drops the entries of closed
//! connections (whose chain only the cache still holds), so the cache holds
//! no more chains than the open connections do; past [`CAPACITY`] open
//! connections it starts again empty.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::pki_types::CertificateDer;

use crate::identity::{IdentityError, Principal};

/// Entries kept at most.
pub const CAPACITY: usize = 1_024;

/// A connection's verified certificate chain (leaf first), as tonic shares it
/// between the connection's requests.
pub type PeerChain = Arc<Vec<CertificateDer<'static>>>;

#[derive(Debug)]
struct Entry {
    /// Keeps the chain's address from being reused while the entry lives.
    chain: PeerChain,
    principal: Principal,
}

/// Principals of open connections, by their certificate chain.
#[derive(Debug, Default)]
pub struct ConnectionPrincipals {
    entries: Mutex<HashMap<usize, Entry>>,
}

impl ConnectionPrincipals {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The principal `chain` names: parsed on a connection's first request,
    /// then taken from the entry of that very chain.
    ///
    /// # Errors
    /// When the leaf certificate names no principal (not cached).
    pub fn principal(&self, chain: &PeerChain) -> Result<Principal, IdentityError> {
        let key = Arc::as_ptr(chain) as usize;
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = entries.get(&key) {
                if Arc::ptr_eq(&entry.chain, chain) {
                    return Ok(entry.principal.clone());
                }
            }
        }
        let principal = Principal::from_peer_certificates(chain)?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // Once per connection, not per request: closed connections go (only
        // this cache still holds their chain).
        entries.retain(|_, e| Arc::strong_count(&e.chain) > 1);
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                chain: Arc::clone(chain),
                principal: principal.clone(),
            },
        );
        Ok(principal)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no connection is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::CertificateAuthority;
    use crate::sid::DomainSid;

    fn chain_of(
        ca: &CertificateAuthority,
        principal: &Principal,
    ) -> Result<PeerChain, Box<dyn std::error::Error>> {
        let issued = ca.issue_principal(principal, "someone")?;
        Ok(Arc::new(vec![issued.certificate_der()?]))
    }

    #[test]
    fn a_connection_s_principal_is_read_once_and_served_only_to_that_connection(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let ca = CertificateAuthority::generate(&"fabrikam.com".parse()?)?;
        let domain = DomainSid::new(1, 2, 3);
        let alice = Principal {
            forest: "fabrikam.com".parse()?,
            sid: domain.with_rid(1105),
        };
        let bob = Principal {
            forest: "fabrikam.com".parse()?,
            sid: domain.with_rid(1106),
        };
        let cache = ConnectionPrincipals::new();
        let first = chain_of(&ca, &alice)?;
        assert_eq!(cache.principal(&first)?, alice);
        assert_eq!(cache.principal(&Arc::clone(&first))?, alice);
        assert_eq!(cache.len(), 1, "one connection, one entry");
        // Another connection, even with the same certificate, has its own entry.
        let again = Arc::new(first.as_ref().clone());
        assert_eq!(cache.principal(&again)?, alice);
        assert_eq!(cache.len(), 2);
        // The first connection closes; a new one with another certificate is
        // never answered from the old entry.
        drop(first);
        let other = chain_of(&ca, &bob)?;
        assert_eq!(cache.principal(&other)?, bob);
        // A chain naming no principal is refused, and not held.
        let server = Arc::new(vec![ca.issue_server(&[])?.certificate_der()?]);
        assert!(cache.principal(&server).is_err());
        assert!(cache.principal(&Arc::new(Vec::new())).is_err());
        // The closed first connection went when bob's connection came.
        assert_eq!(cache.len(), 2);
        Ok(())
    }

    #[test]
    fn closed_connections_leave_at_the_next_connection_and_open_ones_are_bounded(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let ca = CertificateAuthority::generate(&"fabrikam.com".parse()?)?;
        let alice = Principal {
            forest: "fabrikam.com".parse()?,
            sid: DomainSid::new(1, 2, 3).with_rid(1105),
        };
        let open = chain_of(&ca, &alice)?;
        let cache = ConnectionPrincipals::new();
        cache.principal(&open)?;
        for _ in 0..3 * CAPACITY {
            // Each of these connections closes right after its request.
            cache.principal(&Arc::new(open.as_ref().clone()))?;
        }
        // The open connection and the last closed one, not yet swept.
        assert_eq!(cache.len(), 2);
        // Past the capacity of open connections, the cache starts again.
        let many: Vec<PeerChain> = (0..CAPACITY + 1)
            .map(|_| Arc::new(open.as_ref().clone()))
            .collect();
        for chain in &many {
            assert_eq!(cache.principal(chain)?, alice);
        }
        assert!(cache.len() <= CAPACITY, "{}", cache.len());
        Ok(())
    }
}
