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

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use ring::digest::{digest, SHA256};

use crate::tls::ForestTrustStore;
use crate::token::{
    check_claims, unix_seconds, verify_signed, SignedClaims, TokenError, TokenPolicy, VerifiedToken,
};

/// Entries kept at most; past it, expired entries go, then all of them.
pub const CAPACITY: usize = 16_384;

#[derive(Debug)]
struct Entry {
    signed: SignedClaims,
    /// Unix seconds after which the entry is not used: the earlier of the
    /// token's expiry (with the clock skew) and the signer's.
    usable_until: i64,
}

/// Verified tokens of one set of trust anchors.
#[derive(Debug, Default)]
pub struct VerifiedTokens {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl VerifiedTokens {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
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
        let key = key(encoded);
        let at = unix_seconds(now);
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = key.and_then(|k| entries.get(&k)) {
                if at <= entry.usable_until {
                    return check_claims(&entry.signed, policy, now);
                }
            }
        }
        // Verify outside the lock: other sessions' lookups go on meanwhile.
        let signed = verify_signed(encoded, trust, now)?;
        let verified = check_claims(&signed, policy, now)?;
        if let Some(key) = key {
            let skew = i64::try_from(policy.clock_skew.as_secs()).unwrap_or(i64::MAX);
            let usable_until = signed
                .claims
                .expires_at
                .saturating_add(skew)
                .min(signed.signer_not_after);
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if entries.len() >= CAPACITY {
                entries.retain(|_, e| e.usable_until >= at);
                if entries.len() >= CAPACITY {
                    entries.clear();
                }
            }
            entries.insert(
                key,
                Entry {
                    signed,
                    usable_until,
                },
            );
        }
        Ok(verified)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no token is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The SHA-256 of a token's text; `None` for text too long to be a token
/// (it is refused by verification, never stored).
fn key(encoded: &str) -> Option<[u8; 32]> {
    if encoded.len() > crate::token::MAX_TOKEN_LEN {
        return None;
    }
    digest(&SHA256, encoded.as_bytes()).as_ref().try_into().ok()
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
}
