//! Expired certificates and clock skew (issue 7): an expired client
//! certificate, server certificate or token-signing certificate is refused with
//! an error naming the expiry; a token's validity period is honoured within the
//! resource forest's `clock_skew_secs`, and not beyond.

use base64::Engine as _;
use crossforest_shared::pki::{CertificateAuthority, IssuedCertificate};
use crossforest_shared::proto::token::v1::{SignedToken, TokenClaims};
use crossforest_shared::token::{unix_seconds, TokenSigner};
use crossforest_shared::ForestName;
use crossforest_tests::Federation;
use prost::Message as _;
use time::{Duration, OffsetDateTime};

use super::ca_rotation::{get_mailbox, home_logon, linked_alice};
use super::mtls::token_for_audience;

fn fabrikam() -> ForestName {
    "fabrikam.com".parse().unwrap()
}

fn fabrikam_ca(f: &Federation) -> CertificateAuthority {
    CertificateAuthority::load(&fabrikam(), &f.lab().node_dir(&fabrikam()).join("pki")).unwrap()
}

/// Validity that ended yesterday.
fn expired(params: &mut rcgen::CertificateParams) {
    params.not_before = OffsetDateTime::now_utc() - Duration::days(10);
    params.not_after = OffsetDateTime::now_utc() - Duration::days(1);
}

/// The claims of a real token.
fn claims_of(token: &str) -> TokenClaims {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .unwrap();
    let signed = SignedToken::decode(raw.as_slice()).unwrap();
    TokenClaims::decode(signed.claims.as_slice()).unwrap()
}

/// `claims` with a fresh id, signed with `credential` as fabrikam's
/// token-signing key.
fn sign(credential: &IssuedCertificate, mut claims: TokenClaims, id: &str) -> String {
    claims.token_id = id.to_owned();
    TokenSigner::new(fabrikam(), credential)
        .unwrap()
        .sign(&claims)
        .unwrap()
}

#[tokio::test]
async fn an_expired_client_certificate_is_refused_naming_its_expiry() {
    let f = linked_alice().await;
    let credential = f.lab().credential(&fabrikam(), "alice").unwrap();
    let token = token_for_audience(&f, "fabrikam.com", "alice", "contoso.com").await;
    let alice = crossforest_shared::Principal::from_peer_certificates(&[credential
        .certificate_der()
        .unwrap()])
    .unwrap();
    let ca = fabrikam_ca(&f);
    let mut params = ca.principal_params(&alice, "alice").unwrap();
    expired(&mut params);
    let stale = ca.issue(&params).unwrap();

    // At the resource forest, with a valid token.
    let error = get_mailbox(&f, &stale, &token)
        .await
        .expect("an expired client certificate was accepted");
    assert!(
        error.contains("received fatal alert: CertificateExpired"),
        "{error}"
    );
    // At home, logging on.
    let error = home_logon(&f, &stale)
        .await
        .expect("fabrikam accepted an expired client certificate");
    assert!(
        error.contains("CertificateExpired") && error.contains("it has expired"),
        "{error}"
    );
    // The valid certificate still works.
    assert_eq!(get_mailbox(&f, &credential, &token).await, None);
}

#[tokio::test]
async fn an_expired_server_certificate_is_refused_by_the_client() {
    let f = linked_alice().await;
    let ca = fabrikam_ca(&f);
    let mut params = ca.server_params(&[]).unwrap();
    expired(&mut params);
    ca.issue(&params)
        .unwrap()
        .write_combined(&f.lab().node_dir(&fabrikam()).join("pki/server.pem"))
        .unwrap();
    f.reload("fabrikam.com").unwrap();

    let credential = f.lab().credential(&fabrikam(), "alice").unwrap();
    let error = home_logon(&f, &credential)
        .await
        .expect("the client accepted an expired server certificate");
    assert!(
        error.contains("cannot reach fabrikam.com")
            && error.contains("invalid peer certificate: certificate expired"),
        "{error}"
    );

    // A current server certificate: logons work again.
    crossforest_cli::pki::issue_server(f.lab(), &fabrikam(), &[]).unwrap();
    f.reload("fabrikam.com").unwrap();
    assert_eq!(home_logon(&f, &credential).await, None);
}

#[tokio::test]
async fn a_token_whose_signing_certificate_expired_is_refused() {
    let f = linked_alice().await;
    let credential = f.lab().credential(&fabrikam(), "alice").unwrap();
    let real = token_for_audience(&f, "fabrikam.com", "alice", "contoso.com").await;
    let ca = fabrikam_ca(&f);
    let mut params = ca.token_signing_params().unwrap();
    expired(&mut params);
    let stale_signer = ca.issue(&params).unwrap();
    let token = sign(&stale_signer, claims_of(&real), "expired-signer");
    let error = get_mailbox(&f, &credential, &token)
        .await
        .expect("a token signed under an expired certificate was accepted");
    assert!(
        error.contains("the token's signing certificate of `fabrikam.com` expired at 20"),
        "{error}"
    );
    // The same claims signed with the forest's current key are accepted.
    let current = IssuedCertificate::read_combined(
        &f.lab().node_dir(&fabrikam()).join("pki/token-signing.pem"),
    )
    .unwrap();
    let token = sign(&current, claims_of(&real), "current-signer");
    assert_eq!(get_mailbox(&f, &credential, &token).await, None);
}

#[tokio::test]
async fn clock_skew_is_tolerated_within_the_configured_bound_and_not_beyond() {
    let f = linked_alice().await;
    let skew = i64::try_from(f.resource_node().unwrap().clock_skew().as_secs()).unwrap();
    assert!(skew > 5, "the test needs a tolerance above 5 s, not {skew}");
    let credential = f.lab().credential(&fabrikam(), "alice").unwrap();
    let real = claims_of(&token_for_audience(&f, "fabrikam.com", "alice", "contoso.com").await);
    let signing = IssuedCertificate::read_combined(
        &f.lab().node_dir(&fabrikam()).join("pki/token-signing.pem"),
    )
    .unwrap();
    // A token valid from `issued` to `expires` seconds from now, as a forest
    // whose clock is off would sign it.
    let shifted = |issued: i64, expires: i64, id: &str| {
        let now = unix_seconds(std::time::SystemTime::now());
        let mut claims = real.clone();
        claims.issued_at = now + issued;
        claims.expires_at = now + expires;
        sign(&signing, claims, id)
    };

    // Expired, by less than the tolerance and by more.
    let token = shifted(-600, -(skew - 5), "expired-within");
    assert_eq!(get_mailbox(&f, &credential, &token).await, None);
    let token = shifted(-600, -(skew + 5), "expired-beyond");
    let error = get_mailbox(&f, &credential, &token)
        .await
        .expect("a token expired beyond the clock skew was accepted");
    assert!(
        error.contains(&format!(
            "more than the tolerated clock skew of {skew} s ago"
        )) && error.contains("the token expired at"),
        "{error}"
    );

    // Issued in the future, by less than the tolerance and by more.
    let token = shifted(skew - 5, 600, "future-within");
    assert_eq!(get_mailbox(&f, &credential, &token).await, None);
    let token = shifted(skew + 5, 600, "future-beyond");
    let error = get_mailbox(&f, &credential, &token)
        .await
        .expect("a token issued beyond the clock skew in the future was accepted");
    assert!(
        error.contains(&format!(
            "more than the tolerated clock skew of {skew} s from now"
        )) && error.contains("the token is not valid before"),
        "{error}"
    );
}
