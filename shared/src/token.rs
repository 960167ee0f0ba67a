//! Forest tokens: what an account forest vouches for about one of its users.
//!
//! The account forest encodes [`TokenClaims`] with prost and signs the bytes with
//! its token-signing key (ECDSA P-256). The token carries the signing certificate,
//! which the forest's CA issued with the `documentSigning` usage and the URI SAN
//! `forest://<forest>/token-signing`. A verifier checks that certificate against the
//! CA of the forest it names (and only that CA), the signature, issuer, audience
//! and validity period. SID filtering is the caller's next step, not this module's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use prost::Message;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::identity::{ForestName, ForestUri};
use crate::pki::IssuedCertificate;
use crate::proto::token::v1::{SignedToken, TokenClaims};
use crate::sid::Sid;
use crate::tls::ForestTrustStore;

/// The metadata key a token travels under: `x-crossforest-token: <base64 SignedToken>`.
///
/// Not `authorization`: HTTP/2 encoders never add that header to a
/// connection's HPACK table, so a session would resend (and the node
/// Huffman-decode) the whole ≈ 1.5 KB token on every request. Under this name
/// the token is sent once per connection and referenced by its table index
/// after. The table's compression-oracle risk (RFC 7541 §7.1) needs a header
/// the attacker chooses on the same connection; our clients send none beside
/// the token (the other headers are gRPC's own, fixed per method).
pub const TOKEN_HEADER: &str = "x-crossforest-token";

/// Longest encoded token accepted, so that a hostile peer cannot make us decode
/// megabytes.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// `id-kp-documentSigning`, DER content octets, as webpki wants it.
const DOCUMENT_SIGNING_OID_DER: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x24];

/// Why a token could not be made or was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token-signing key could not be loaded.
    #[error("the token-signing key cannot be used: {0}")]
    Key(String),
    /// Signing failed.
    #[error("signing the token failed")]
    Sign,
    /// Not base64, not a token, or too long.
    #[error("the forest token is malformed: {0}")]
    Malformed(String),
    /// The signing certificate does not name a token-signing key.
    #[error("the token's signing certificate is not a forest token-signing certificate: {0}")]
    Signer(String),
    /// The signing certificate names a forest that is not trusted.
    #[error("the token was signed by forest `{0}`, which is not trusted here")]
    UntrustedForest(ForestName),
    /// The signing certificate does not chain to the forest's CA.
    #[error("the token's signing certificate does not chain to the CA of `{forest}`: {reason}")]
    Chain {
        /// The forest the certificate claims.
        forest: ForestName,
        /// webpki's reason.
        reason: String,
    },
    /// The signature does not verify.
    #[error("the token's signature does not verify")]
    Signature,
    /// The claims name an issuer other than the signer's forest.
    #[error("the token claims issuer `{claimed}` but was signed by `{signer}`")]
    Issuer {
        /// What the claims say.
        claimed: String,
        /// Whose key signed.
        signer: ForestName,
    },
    /// The token is for another forest.
    #[error("the token is for `{found}`, not for `{expected}`")]
    Audience {
        /// The audience in the token.
        found: String,
        /// This forest.
        expected: ForestName,
    },
    /// The token's signing certificate is outside its validity period.
    #[error("the token's signing certificate of `{forest}` {when}; the forest must sign with a current token-signing certificate")]
    SignerExpired {
        /// The forest the certificate claims.
        forest: ForestName,
        /// `expired at …` or `is not valid before …`.
        when: String,
    },
    /// The token has expired, by more than the tolerated clock skew.
    #[error("the token expired at {expires_at} (Unix seconds), more than the tolerated clock skew of {clock_skew_secs} s ago")]
    Expired {
        /// When the token expired, Unix seconds.
        expires_at: i64,
        /// The tolerance.
        clock_skew_secs: u64,
    },
    /// The token is not valid yet, by more than the tolerated clock skew.
    #[error("the token is not valid before {issued_at} (Unix seconds), more than the tolerated clock skew of {clock_skew_secs} s from now")]
    NotYetValid {
        /// When the token was issued, Unix seconds.
        issued_at: i64,
        /// The tolerance.
        clock_skew_secs: u64,
    },
    /// The user SID is malformed.
    #[error("the token's user SID is invalid: {0}")]
    UserSid(String),
}

/// Signs forest tokens with a forest's token-signing key.
pub struct TokenSigner {
    forest: ForestName,
    key: EcdsaKeyPair,
    certificate: Vec<u8>,
    rng: SystemRandom,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("forest", &self.forest)
            .finish_non_exhaustive()
    }
}

/// Unix seconds of `time`.
pub fn unix_seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl TokenSigner {
    /// A signer from the token-signing certificate and its PKCS#8 key.
    pub fn new(forest: ForestName, credential: &IssuedCertificate) -> Result<Self, TokenError> {
        let certificate = credential
            .certificate_der()
            .map_err(|e| TokenError::Key(e.to_string()))?
            .to_vec();
        let mut pem = credential.private_key_pem.as_bytes();
        let key = rustls_pemfile::private_key(&mut pem)
            .ok()
            .flatten()
            .ok_or_else(|| TokenError::Key("no PKCS#8 private key".into()))?;
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, key.secret_der(), &rng)
            .map_err(|e| TokenError::Key(e.to_string()))?;
        Ok(Self {
            forest,
            key,
            certificate,
            rng,
        })
    }

    /// The forest whose tokens this signer makes.
    pub fn forest(&self) -> &ForestName {
        &self.forest
    }

    /// Signs `claims` (whose issuer must be this forest) and returns the token as
    /// it travels: base64 of the encoded [`SignedToken`].
    pub fn sign(&self, claims: &TokenClaims) -> Result<String, TokenError> {
        let bytes = claims.encode_to_vec();
        let signature = self
            .key
            .sign(&self.rng, &bytes)
            .map_err(|_| TokenError::Sign)?;
        let token = SignedToken {
            claims: bytes,
            signature: signature.as_ref().to_vec(),
            signer_certificate: self.certificate.clone(),
        };
        Ok(base64::engine::general_purpose::STANDARD.encode(token.encode_to_vec()))
    }
}

/// A token whose signature, chain, issuer, audience and validity have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The forest that issued (and signed) the token.
    pub issuer: ForestName,
    /// The user the token is about.
    pub user_sid: Sid,
    /// The user's name, for display.
    pub user_name: String,
    /// Group SIDs as the issuer listed them, not yet SID-filtered.
    pub group_sids: Vec<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds.
    pub issued_at: i64,
    /// The token's identifier.
    pub token_id: String,
    /// The issuing directory's change-feed sequence number at issue.
    pub directory_sequence: u64,
}

/// What a verifier accepts.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    /// This forest: tokens must name it as audience.
    pub audience: ForestName,
    /// Tolerated clock difference between forests.
    pub clock_skew: Duration,
}

/// Verifies an encoded token against the forests of `trust`.
pub fn verify(
    encoded: &str,
    trust: &ForestTrustStore,
    policy: &TokenPolicy,
    now: SystemTime,
) -> Result<VerifiedToken, TokenError> {
    let signed = verify_signed(encoded, trust, now)?;
    check_claims(&signed, policy, now)
}

/// A token whose signer chain, signature and issuer were verified; its claims
/// (audience, validity period) are checked by [`check_claims`] on every use.
#[derive(Debug, Clone)]
pub struct SignedClaims {
    /// The forest that signed the token.
    pub forest: ForestName,
    /// What it vouches for.
    pub claims: TokenClaims,
    /// When the signing certificate expires (Unix seconds): the verification
    /// of its chain holds until then.
    pub signer_not_after: i64,
}

/// Verifies the signer's chain to a CA of the forest it names (and only that
/// forest's CAs), the signature and the issuer; not the audience or validity.
pub fn verify_signed(
    encoded: &str,
    trust: &ForestTrustStore,
    now: SystemTime,
) -> Result<SignedClaims, TokenError> {
    if encoded.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed(format!(
            "{} bytes is longer than the {MAX_TOKEN_LEN} allowed",
            encoded.len()
        )));
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| TokenError::Malformed(e.to_string()))?;
    let token =
        SignedToken::decode(raw.as_slice()).map_err(|e| TokenError::Malformed(e.to_string()))?;

    let signer_der = CertificateDer::from(token.signer_certificate.as_slice());
    let forest = match ForestUri::of_certificate(&signer_der) {
        Ok(ForestUri::TokenSigning(forest)) => forest,
        Ok(other) => return Err(TokenError::Signer(other.to_string())),
        Err(e) => return Err(TokenError::Signer(e.to_string())),
    };
    let cas = trust
        .cas(&forest)
        .ok_or_else(|| TokenError::UntrustedForest(forest.clone()))?;
    let chain_error = |reason: String| TokenError::Chain {
        forest: forest.clone(),
        reason,
    };
    let anchors = cas
        .iter()
        .map(webpki::anchor_from_trusted_cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| chain_error(e.to_string()))?;
    let signer =
        webpki::EndEntityCert::try_from(&signer_der).map_err(|e| chain_error(e.to_string()))?;
    let verify_time =
        UnixTime::since_unix_epoch(now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO));
    signer
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &[],
            verify_time,
            webpki::KeyUsage::required(DOCUMENT_SIGNING_OID_DER),
            None,
            None,
        )
        .map_err(|e| match e {
            webpki::Error::CertExpired { not_after, .. } => TokenError::SignerExpired {
                forest: forest.clone(),
                when: format!("expired at {}", rfc3339(not_after)),
            },
            webpki::Error::CertNotValidYet { not_before, .. } => TokenError::SignerExpired {
                forest: forest.clone(),
                when: format!("is not valid before {}", rfc3339(not_before)),
            },
            other => chain_error(other.to_string()),
        })?;
    signer
        .verify_signature(
            webpki::ring::ECDSA_P256_SHA256,
            &token.claims,
            &token.signature,
        )
        .map_err(|_| TokenError::Signature)?;

    let claims = TokenClaims::decode(token.claims.as_slice())
        .map_err(|e| TokenError::Malformed(e.to_string()))?;
    if claims.issuer != forest.as_str() {
        return Err(TokenError::Issuer {
            claimed: claims.issuer,
            signer: forest,
        });
    }
    let signer_not_after = x509_parser::parse_x509_certificate(&signer_der)
        .map_err(|e| chain_error(e.to_string()))?
        .1
        .validity()
        .not_after
        .timestamp();
    Ok(SignedClaims {
        forest,
        claims,
        signer_not_after,
    })
}

/// Checks a verified token's audience and validity period at `now`.
pub fn check_claims(
    signed: &SignedClaims,
    policy: &TokenPolicy,
    now: SystemTime,
) -> Result<VerifiedToken, TokenError> {
    let (forest, claims) = (&signed.forest, &signed.claims);
    if claims.audience != policy.audience.as_str() {
        return Err(TokenError::Audience {
            found: claims.audience.clone(),
            expected: policy.audience.clone(),
        });
    }
    let now = unix_seconds(now);
    let clock_skew_secs = policy.clock_skew.as_secs();
    let skew = i64::try_from(clock_skew_secs).unwrap_or(i64::MAX);
    if now > claims.expires_at.saturating_add(skew) {
        return Err(TokenError::Expired {
            expires_at: claims.expires_at,
            clock_skew_secs,
        });
    }
    if now < claims.issued_at.saturating_sub(skew) {
        return Err(TokenError::NotYetValid {
            issued_at: claims.issued_at,
            clock_skew_secs,
        });
    }
    let user_sid = claims
        .user_sid
        .parse()
        .map_err(|e: crate::sid::SidError| TokenError::UserSid(e.to_string()))?;
    Ok(VerifiedToken {
        issuer: forest.clone(),
        user_sid,
        user_name: claims.user_name.clone(),
        group_sids: claims.group_sids.clone(),
        expires_at: claims.expires_at,
        issued_at: claims.issued_at,
        token_id: claims.token_id.clone(),
        directory_sequence: claims.directory_sequence,
    })
}

/// A certificate time as RFC 3339 (Unix seconds if out of range).
fn rfc3339(time: UnixTime) -> String {
    let secs = i64::try_from(time.as_secs()).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{secs} (Unix seconds)"))
}

/// The token in a [`TOKEN_HEADER`] metadata value; `None` when it is blank.
pub fn from_header(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|token| !token.is_empty())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pki::CertificateAuthority;
    use crate::sid::DomainSid;

    pub(crate) struct Fixture {
        pub(crate) fabrikam: CertificateAuthority,
        pub(crate) signer: TokenSigner,
        pub(crate) trust: ForestTrustStore,
        pub(crate) policy: TokenPolicy,
    }

    pub(crate) fn fixture() -> Result<Fixture, Box<dyn std::error::Error>> {
        let forest: ForestName = "fabrikam.com".parse()?;
        let fabrikam = CertificateAuthority::generate(&forest)?;
        let signer = TokenSigner::new(forest.clone(), &fabrikam.issue_token_signing()?)?;
        let mut trust = ForestTrustStore::new();
        trust.trust(forest, fabrikam.certificate_pem())?;
        let policy = TokenPolicy {
            audience: "contoso.com".parse()?,
            clock_skew: Duration::from_secs(30),
        };
        Ok(Fixture {
            fabrikam,
            signer,
            trust,
            policy,
        })
    }

    pub(crate) fn claims(now: i64) -> TokenClaims {
        TokenClaims {
            user_sid: DomainSid::new(1, 2, 3).with_rid(1105).to_string(),
            user_name: "alice".into(),
            group_sids: vec![DomainSid::new(1, 2, 3).with_rid(1106).to_string()],
            issuer: "fabrikam.com".into(),
            audience: "contoso.com".into(),
            issued_at: now,
            expires_at: now + 600,
            token_id: "t1".into(),
            directory_sequence: 0,
        }
    }

    /// The error's text, or nothing when `result` is `Ok`.
    fn refusal<T>(result: Result<T, TokenError>) -> String {
        result.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn signed_token_verifies() -> Result<(), Box<dyn std::error::Error>> {
        let f = fixture()?;
        let now = SystemTime::now();
        let token = f.signer.sign(&claims(unix_seconds(now)))?;
        let verified = verify(&token, &f.trust, &f.policy, now)?;
        assert_eq!(verified.user_sid.rid(), 1105);
        assert_eq!(verified.issuer.as_str(), "fabrikam.com");
        Ok(())
    }

    #[test]
    fn tampered_claims_fail_the_signature() -> Result<(), Box<dyn std::error::Error>> {
        let f = fixture()?;
        let now = SystemTime::now();
        let token = f.signer.sign(&claims(unix_seconds(now)))?;
        let raw = base64::engine::general_purpose::STANDARD.decode(token)?;
        let mut signed = SignedToken::decode(raw.as_slice())?;
        let mut c = TokenClaims::decode(signed.claims.as_slice())?;
        c.group_sids
            .push(DomainSid::new(1, 2, 3).with_rid(512).to_string());
        signed.claims = c.encode_to_vec();
        let forged = base64::engine::general_purpose::STANDARD.encode(signed.encode_to_vec());
        assert_eq!(
            verify(&forged, &f.trust, &f.policy, now),
            Err(TokenError::Signature)
        );
        Ok(())
    }

    #[test]
    fn wrong_audience_expiry_and_issuer_are_refused() -> Result<(), Box<dyn std::error::Error>> {
        let f = fixture()?;
        let now = SystemTime::now();
        let secs = unix_seconds(now);

        let mut other = claims(secs);
        other.audience = "tailspin.com".into();
        let err = verify(&f.signer.sign(&other)?, &f.trust, &f.policy, now);
        assert!(matches!(err, Err(TokenError::Audience { .. })), "{err:?}");

        let mut old = claims(secs - 4000);
        old.expires_at = secs - 3000;
        let err = verify(&f.signer.sign(&old)?, &f.trust, &f.policy, now);
        assert!(matches!(err, Err(TokenError::Expired { .. })), "{err:?}");

        let mut liar = claims(secs);
        liar.issuer = "tailspin.com".into();
        let err = verify(&f.signer.sign(&liar)?, &f.trust, &f.policy, now);
        assert!(matches!(err, Err(TokenError::Issuer { .. })), "{err:?}");
        Ok(())
    }

    #[test]
    fn tls_certificate_cannot_sign_tokens() -> Result<(), Box<dyn std::error::Error>> {
        let f = fixture()?;
        let principal = crate::identity::Principal {
            forest: f.fabrikam.forest().clone(),
            sid: DomainSid::new(1, 2, 3).with_rid(1105),
        };
        let tls_cert = f.fabrikam.issue_principal(&principal, "alice")?;
        let signer = TokenSigner::new(f.fabrikam.forest().clone(), &tls_cert)?;
        let now = SystemTime::now();
        let err = verify(
            &signer.sign(&claims(unix_seconds(now)))?,
            &f.trust,
            &f.policy,
            now,
        );
        assert!(matches!(err, Err(TokenError::Signer(_))), "{err:?}");
        Ok(())
    }

    #[test]
    fn signing_key_of_an_untrusted_forest_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let f = fixture()?;
        let rogue = CertificateAuthority::generate(&"fabrikam.com".parse()?)?;
        let signer = TokenSigner::new("fabrikam.com".parse()?, &rogue.issue_token_signing()?)?;
        let now = SystemTime::now();
        let err = verify(
            &signer.sign(&claims(unix_seconds(now)))?,
            &f.trust,
            &f.policy,
            now,
        );
        assert!(matches!(err, Err(TokenError::Chain { .. })), "{err:?}");
        Ok(())
    }

    #[test]
    fn tokens_of_both_cas_verify_during_a_rotation_and_only_the_new_after(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let f = fixture()?;
        let forest = f.fabrikam.forest().clone();
        let new = f.fabrikam.successor()?;
        let new_signer = TokenSigner::new(forest.clone(), &new.issue_token_signing()?)?;
        let now = SystemTime::now();
        let old_token = f.signer.sign(&claims(unix_seconds(now)))?;
        let new_token = new_signer.sign(&claims(unix_seconds(now)))?;
        let mut window = ForestTrustStore::new();
        let bundle = format!("{}{}", new.certificate_pem(), f.fabrikam.certificate_pem());
        window.trust(forest.clone(), &bundle)?;
        verify(&old_token, &window, &f.policy, now)?;
        verify(&new_token, &window, &f.policy, now)?;

        let mut finished = ForestTrustStore::new();
        finished.trust(forest.clone(), new.certificate_pem())?;
        verify(&new_token, &finished, &f.policy, now)?;
        let err = verify(&old_token, &finished, &f.policy, now);
        assert!(matches!(err, Err(TokenError::Chain { .. })), "{err:?}");

        // A CA of fabrikam's bundle cannot sign for tailspin.
        // Nor can a store be told to take it as tailspin's CA.
        let mut two = window.clone();
        assert!(two
            .trust("tailspin.com".parse()?, new.certificate_pem())
            .is_err());
        let mut params = new.token_signing_params()?;
        params.subject_alt_names = vec![rcgen::SanType::URI(
            "forest://tailspin.com/token-signing".try_into()?,
        )];
        let impostor = TokenSigner::new("tailspin.com".parse()?, &f.fabrikam.issue(&params)?)?;
        let mut lie = claims(unix_seconds(now));
        lie.issuer = "tailspin.com".into();
        let err = verify(&impostor.sign(&lie)?, &window, &f.policy, now);
        assert!(
            matches!(err, Err(TokenError::UntrustedForest(_))),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn an_expired_signing_certificate_is_named() -> Result<(), Box<dyn std::error::Error>> {
        let f = fixture()?;
        let mut params = f.fabrikam.token_signing_params()?;
        params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(10);
        params.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        let signer = TokenSigner::new(f.fabrikam.forest().clone(), &f.fabrikam.issue(&params)?)?;
        let now = SystemTime::now();
        let token = signer.sign(&claims(unix_seconds(now)))?;
        let err = refusal(verify(&token, &f.trust, &f.policy, now));
        assert!(
            err.starts_with("the token's signing certificate of `fabrikam.com` expired at 20"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn clock_skew_is_tolerated_up_to_the_policy() -> Result<(), Box<dyn std::error::Error>> {
        let f = fixture()?;
        let now = SystemTime::now();
        let secs = unix_seconds(now);
        let skew = 30;
        let at = |issued_at: i64, expires_at: i64| -> Result<_, Box<dyn std::error::Error>> {
            let mut c = claims(secs);
            c.issued_at = issued_at;
            c.expires_at = expires_at;
            Ok(verify(&f.signer.sign(&c)?, &f.trust, &f.policy, now))
        };
        assert!(at(secs - 600, secs - (skew - 5))?.is_ok());
        assert_eq!(
            at(secs - 600, secs - (skew + 5))?,
            Err(TokenError::Expired {
                expires_at: secs - (skew + 5),
                clock_skew_secs: 30
            })
        );
        assert!(at(secs + (skew - 5), secs + 600)?.is_ok());
        let err = refusal(at(secs + skew + 5, secs + 600)?);
        assert!(
            err.ends_with("more than the tolerated clock skew of 30 s from now"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() -> Result<(), Box<dyn std::error::Error>> {
        let f = fixture()?;
        let now = SystemTime::now();
        for junk in ["", "!!!", "AAAA", &"A".repeat(MAX_TOKEN_LEN + 4)] {
            assert!(verify(junk, &f.trust, &f.policy, now).is_err());
        }
        Ok(())
    }
}
