//! Tokens already verified, by their exact text: an administrator's session
//! presents the same token on every request, and checking its signer chain and
//! signature (two ECDSA P-256 verifications) dominated the cost of a request.
//!
//! An entry holds what [`verify_signed`] proved: the signer's chain to the CA
//! of the forest it names, the signature and the issuer. It is used only while
//! the signing certificate is valid and the token unexpired; the audience and
//! validity period are checked again on every use ([`check_claims`]). A cache
//! belongs to one set of trust anchors: whoever replaces the anchors (a reload
//! of trust bundles) starts a new cache.
//!
//! Entries are found by a keyed hash of the token's text (randomly seeded per
//! cache, so no caller can aim at a bucket) and served only to the exact same
//! text: the map compares the whole token, so two tokens sharing a hash are
//! two entries, never one served for the other.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::tls::ForestTrustStore;
use crate::token::{
    check_claims, unix_seconds, verify_signed, SignedClaims, TokenError, TokenPolicy, VerifiedToken,
};

/// Entries kept at most; past it, expired entries go, then all of them.
pub const CAPACITY: usize = 16_384;

/// Bytes of token text kept at most (a token may be up to
/// [`crate::token::MAX_TOKEN_LEN`]); past it, as past [`CAPACITY`].
pub const CAPACITY_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug)]
struct Entry {
    signed: SignedClaims,
    /// Unix seconds after which the entry is not used: the earlier of the
    /// token's expiry (with the clock skew) and the signer's.
    usable_until: i64,
}

/// The entries by token text, and the bytes of text they hold.
#[derive(Debug, Default)]
struct Held<S> {
    entries: HashMap<Box<str>, Entry, S>,
    bytes: usize,
}

/// Verified tokens of one set of trust anchors.
#[derive(Debug, Default)]
pub struct VerifiedTokens<S = foldhash::quality::RandomState> {
    held: Mutex<Held<S>>,
}

impl VerifiedTokens {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S: BuildHasher> VerifiedTokens<S> {
    /// An empty cache whose entries are found with `hasher`.
    pub fn with_hasher(hasher: S) -> Self {
        Self {
            held: Mutex::new(Held {
                entries: HashMap::with_hasher(hasher),
                bytes: 0,
            }),
        }
    }

    /// [`crate::token::verify`], skipping the signature checks for a token
    /// verified before against the same anchors and still usable.
    pub fn verify(
        &self,
        encoded: &str,
        trust: &ForestTrustStore,
        policy: &TokenPolicy,
        now: SystemTime,
    ) -> Result<VerifiedToken, TokenError> {
        let at = unix_seconds(now);
        {
            let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = held.entries.get(encoded) {
                if at <= entry.usable_until {
                    return check_claims(&entry.signed, policy, now);
                }
            }
        }
        // Verify outside the lock: other sessions' lookups go on meanwhile.
        let signed = verify_signed(encoded, trust, now)?;
        let verified = check_claims(&signed, policy, now)?;
        // Text too long to be a token is refused above, never stored.
        if encoded.len() <= crate::token::MAX_TOKEN_LEN {
            let skew = i64::try_from(policy.clock_skew.as_secs()).unwrap_or(i64::MAX);
            let usable_until = signed
                .claims
                .expires_at
                .saturating_add(skew)
                .min(signed.signer_not_after);
            let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
            let full = |held: &Held<S>| {
                held.entries.len() >= CAPACITY || held.bytes + encoded.len() > CAPACITY_BYTES
            };
            if full(&held) {
                held.entries.retain(|_, e| e.usable_until >= at);
                held.bytes = held.entries.keys().map(|k| k.len()).sum();
                if full(&held) {
                    held.entries.clear();
                    held.bytes = 0;
                }
            }
            let entry = Entry {
                signed,
                usable_until,
            };
            // A token re-verified after its entry expired replaces it: same bytes.
            if held.entries.insert(encoded.into(), entry).is_none() {
                held.bytes += encoded.len();
            }
        }
        Ok(verified)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .len()
    }

    /// Bytes of token text held.
    pub fn bytes(&self) -> usize {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }

    /// Whether no token is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use base64::Engine;
    use prost::Message;

    use super::*;
    use crate::proto::token::v1::SignedToken;
    use crate::token::tests::{claims, fixture};

    #[test]
    fn a_token_is_verified_once_and_its_claims_on_every_use(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let f = fixture()?;
        let cache = VerifiedTokens::new();
        let now = SystemTime::now();
        let token = f.signer.sign(&claims(unix_seconds(now)))?;
        let first = cache.verify(&token, &f.trust, &f.policy, now)?;
        assert_eq!(
            first,
            crate::token::verify(&token, &f.trust, &f.policy, now)?
        );
        assert_eq!(cache.len(), 1);
        // Cached, yet still checked: another audience, and past the expiry.
        let elsewhere = TokenPolicy {
            audience: "tailspin.com".parse()?,
            clock_skew: f.policy.clock_skew,
        };
        assert!(matches!(
            cache.verify(&token, &f.trust, &elsewhere, now),
            Err(TokenError::Audience { .. })
        ));
        let later = now + Duration::from_secs(600 + 31);
        assert!(matches!(
            cache.verify(&token, &f.trust, &f.policy, later),
            Err(TokenError::Expired { .. })
        ));
        assert_eq!(cache.verify(&token, &f.trust, &f.policy, now)?, first);
        Ok(())
    }

    #[test]
    fn refused_tokens_are_never_held() -> Result<(), Box<dyn std::error::Error>> {
        let f = fixture()?;
        let cache = VerifiedTokens::new();
        let now = SystemTime::now();
        let token = f.signer.sign(&claims(unix_seconds(now)))?;
        let raw = base64::engine::general_purpose::STANDARD.decode(&token)?;
        let mut signed = SignedToken::decode(raw.as_slice())?;
        signed.signature[10] ^= 0xff;
        let forged = base64::engine::general_purpose::STANDARD.encode(signed.encode_to_vec());
        for _ in 0..2 {
            assert_eq!(
                cache.verify(&forged, &f.trust, &f.policy, now),
                Err(TokenError::Signature)
            );
        }
        assert!(cache.verify("garbage", &f.trust, &f.policy, now).is_err());
        assert!(cache.is_empty());
        // A token verified by one cache proves nothing to a cache of other
        // anchors: an empty trust store refuses it.
        cache.verify(&token, &f.trust, &f.policy, now)?;
        let other = VerifiedTokens::new();
        assert!(matches!(
            other.verify(&token, &ForestTrustStore::new(), &f.policy, now),
            Err(TokenError::UntrustedForest(_))
        ));
        Ok(())
    }
    /// Sends every token to the same hash bucket.
    #[derive(Default)]
    struct OneBucket;

    impl std::hash::Hasher for OneBucket {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, _: &[u8]) {}
    }

    #[test]
    fn tokens_sharing_a_hash_are_never_served_for_each_other(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let f = fixture()?;
        let cache =
            VerifiedTokens::with_hasher(std::hash::BuildHasherDefault::<OneBucket>::default());
        let now = SystemTime::now();
        let alice = f.signer.sign(&claims(unix_seconds(now)))?;
        let mut bobs_claims = claims(unix_seconds(now));
        bobs_claims.user_sid = crate::sid::DomainSid::new(1, 2, 3)
            .with_rid(1102)
            .to_string();
        bobs_claims.user_name = "bob".into();
        let bob = f.signer.sign(&bobs_claims)?;
        for _ in 0..2 {
            assert_eq!(
                cache.verify(&alice, &f.trust, &f.policy, now)?.user_name,
                "alice"
            );
            assert_eq!(
                cache.verify(&bob, &f.trust, &f.policy, now)?.user_name,
                "bob"
            );
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.bytes(), alice.len() + bob.len());
        // A third text in the same bucket is verified, not served an entry.
        let raw = base64::engine::general_purpose::STANDARD.decode(&alice)?;
        let mut signed = SignedToken::decode(raw.as_slice())?;
        signed.signature[10] ^= 0xff;
        let forged = base64::engine::general_purpose::STANDARD.encode(signed.encode_to_vec());
        assert_eq!(
            cache.verify(&forged, &f.trust, &f.policy, now),
            Err(TokenError::Signature)
        );
        assert_eq!(cache.len(), 2);
        Ok(())
    }
}
