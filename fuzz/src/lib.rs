//! The bodies of the fuzz targets, shared by `cargo fuzz` (`fuzz_targets/`)
//! and by anything that replays the corpora. Each must never panic, whatever
//! the input; where the input is accepted, what it parsed to must survive a
//! round trip through its canonical text.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use crossforest_shared::pki::CertificateAuthority;
use crossforest_shared::tls::ForestTrustStore;
use crossforest_shared::token::{verify, TokenPolicy, TokenSigner};
use crossforest_shared::{DomainSid, ForestName, Sid};

/// The shell parser (`crossforest shell` lines).
pub fn shell_parser(data: &[u8]) {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = crossforest_cli::parse::parse(line);
    }
}

/// The OPATH parser (recipient filters); accepted filters round-trip through
/// their canonical text.
pub fn opath_parser(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(filter) = resource_forest::rbac::scope::parse_recipient_filter(text) {
        let canonical = filter.to_string();
        let again = resource_forest::rbac::scope::parse_recipient_filter(&canonical);
        assert_eq!(again.map(|f| f.to_string()).as_deref(), Ok(canonical.as_str()));
    }
    // The wildcard matcher, with the input split into pattern and text.
    if let Some((pattern, subject)) = text.split_at_checked(text.len() / 2) {
        let _ = resource_forest::rbac::opath::wildcard_match(pattern, subject);
    }
}

/// The SID parsers; accepted SIDs print back to the same text.
pub fn sid_parser(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sid) = text.parse::<Sid>() {
        assert_eq!(sid.to_string(), text);
    }
    if let Ok(domain) = text.parse::<DomainSid>() {
        assert_eq!(domain.with_rid(1).to_string(), format!("{text}-1"));
    }
}

struct Fixture {
    store: ForestTrustStore,
    policy: TokenPolicy,
    genuine: String,
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let forest: ForestName = "fabrikam.com".parse().ok()?;
            let ca = CertificateAuthority::generate(&forest).ok()?;
            let signer = TokenSigner::new(forest.clone(), &ca.issue_token_signing().ok()?).ok()?;
            let mut store = ForestTrustStore::new();
            store.trust(forest, ca.certificate_pem()).ok()?;
            let claims = crossforest_shared::proto::token::v1::TokenClaims {
                user_sid: "S-1-5-21-1-2-3-1101".into(),
                user_name: "alice".into(),
                group_sids: vec!["S-1-5-21-1-2-3-1102".into()],
                issuer: "fabrikam.com".into(),
                audience: "contoso.com".into(),
                issued_at: 1_800_000_000,
                expires_at: 1_800_000_600,
                token_id: "fuzz".into(),
                directory_sequence: 7,
            };
            Some(Fixture {
                store,
                policy: TokenPolicy {
                    audience: "contoso.com".parse().ok()?,
                    clock_skew: Duration::from_secs(60),
                },
                genuine: signer.sign(&claims).ok()?,
            })
        })
        .as_ref()
}

/// Token decoding and verification: arbitrary text, and a genuine token with
/// the input spliced into it, must be refused (never accepted, never a panic)
/// unless it is the genuine token itself.
pub fn token_decoding(data: &[u8]) {
    let Some(f) = fixture() else {
        return;
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_100);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verify(text, &f.store, &f.policy, now);
        let _ = crossforest_shared::token::from_header(text);
    }
    if data.is_empty() {
        return;
    }
    let mut bytes = f.genuine.clone().into_bytes();
    let at = usize::from(data[0]) * 7 % bytes.len();
    let end = (at + data.len() - 1).min(bytes.len());
    bytes.splice(at..end, data[1..].iter().copied());
    if let Ok(text) = String::from_utf8(bytes) {
        let verified = verify(&text, &f.store, &f.policy, now);
        if text.trim() != f.genuine {
            if let Ok(v) = verified {
                // Base64 may decode differently-written text to the same bytes;
                // then it is the same token and must say the same.
                assert_eq!(v.user_sid.to_string(), "S-1-5-21-1-2-3-1101");
                assert_eq!(v.group_sids, vec!["S-1-5-21-1-2-3-1102".to_owned()]);
            }
        }
    }
}
