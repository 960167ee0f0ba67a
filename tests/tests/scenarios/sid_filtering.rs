//! SID filtering (R-TRUST-3): a trusted forest may vouch only for SIDs of its own
//! domains.

use std::time::SystemTime;

use super::common::federation;
use crossforest_shared::pki::{CertificateAuthority, IssuedCertificate};
use crossforest_shared::proto::token::v1::TokenClaims;
use crossforest_shared::token::{unix_seconds, TokenSigner};
use crossforest_shared::{ForestName, Principal, Sid};
use crossforest_tests::Federation;

pub fn signer(f: &Federation, forest: &str) -> TokenSigner {
    let dir = f.lab().node_dir(&forest.parse().unwrap()).join("pki");
    TokenSigner::new(
        forest.parse().unwrap(),
        &IssuedCertificate::read_combined(&dir.join("token-signing.pem")).unwrap(),
    )
    .unwrap()
}

pub fn claims(user: Sid, name: &str, issuer: &str, groups: Vec<String>) -> TokenClaims {
    let now = unix_seconds(SystemTime::now());
    TokenClaims {
        user_sid: user.to_string(),
        user_name: name.into(),
        group_sids: groups,
        issuer: issuer.into(),
        audience: "contoso.com".into(),
        issued_at: now,
        expires_at: now + 300,
        token_id: "forged".into(),
        // Issued after every change so far: what the change feed revoked is
        // not what these tests check (see `freshness`).
        directory_sequence: 1_000_000,
    }
}

#[tokio::test]
async fn token_from_one_trusted_forest_claiming_a_sid_of_the_other_is_filtered() {
    let f = federation().await;
    let fabrikam = f.domain_sid("fabrikam.com").unwrap();
    // RIDs: alice 1101, bob 1102, Exchange Admins 1103 (after svc-contoso 1101? no:
    // look the SID up instead of guessing).
    let resource = f.endpoint("contoso.com").unwrap();
    let group = f
        .administrator()
        .await
        .unwrap()
        .run("Get-RoleGroup \"fabrikam Recipient Admins\"")
        .await
        .unwrap();
    let exchange_admins = super::common::property(&group, "LinkedGroup").unwrap();
    assert!(exchange_admins.starts_with(&fabrikam.to_string()));

    // tailspin signs a token for its own carol that also lists fabrikam's group.
    let tailspin: ForestName = "tailspin.com".parse().unwrap();
    let carol = f.lab().credential(&tailspin, "carol").unwrap();
    let mut carol_session = f.session("tailspin\\carol").await.unwrap();
    let carol_sid: Sid = carol_session
        .who_am_i()
        .await
        .unwrap()
        .user_sid
        .parse()
        .unwrap();
    let token = signer(&f, "tailspin.com")
        .sign(&claims(
            carol_sid,
            "carol",
            "tailspin.com",
            vec![exchange_admins.clone(), "S-1-5-32-544".into()],
        ))
        .unwrap();
    let mut forged = crossforest_cli::session::Session::with_token(
        &resource,
        &carol,
        Some(token),
        "tailspin\\carol",
    )
    .await
    .unwrap();
    let who = forged.who_am_i().await.unwrap();
    assert!(who.group_sids.is_empty(), "{:?}", who.group_sids);
    assert_eq!(who.filtered_sids.len(), 2, "{:?}", who.filtered_sids);
    assert!(who.filtered_sids[0].starts_with(&exchange_admins));
    assert!(
        !who.role_groups.iter().any(|g| g.contains("fabrikam")),
        "{:?}",
        who.role_groups
    );
    let err = forged.run("New-Mailbox -Name Mallory").await.unwrap_err();
    assert!(err.is_denied(), "{err}");
}

#[tokio::test]
async fn trusted_forest_vouching_for_a_user_of_another_forest_is_refused() {
    let f = federation().await;
    let fabrikam = f.domain_sid("fabrikam.com").unwrap();
    let bob_sid = {
        let mut bob = f.session("fabrikam\\bob").await.unwrap();
        bob.who_am_i()
            .await
            .unwrap()
            .user_sid
            .parse::<Sid>()
            .unwrap()
    };
    assert!(fabrikam.contains(&bob_sid));
    // tailspin's CA issues a tailspin certificate carrying bob's (fabrikam) SID,
    // and tailspin signs a matching token: the user SID itself is filtered.
    let tailspin: ForestName = "tailspin.com".parse().unwrap();
    let ca =
        CertificateAuthority::load(&tailspin, &f.lab().node_dir(&tailspin).join("pki")).unwrap();
    let cert = ca
        .issue_principal(
            &Principal {
                forest: tailspin.clone(),
                sid: bob_sid,
            },
            "bob",
        )
        .unwrap();
    let token = signer(&f, "tailspin.com")
        .sign(&claims(bob_sid, "bob", "tailspin.com", vec![]))
        .unwrap();
    let resource = f.endpoint("contoso.com").unwrap();
    let mut session =
        crossforest_cli::session::Session::with_token(&resource, &cert, Some(token), "x")
            .await
            .unwrap();
    let err = session.run("Get-Mailbox").await.unwrap_err();
    assert_eq!(
        err.status().map(|s| s.code()),
        Some(tonic::Code::Unauthenticated),
        "{err}"
    );
    assert!(err.to_string().contains("R-TRUST-3"), "{err}");
}

#[tokio::test]
async fn token_signed_by_another_trusted_forest_for_a_fabrikam_certificate_is_refused() {
    let f = federation().await;
    // bob's real fabrikam certificate with a token tailspin signed for him.
    let fabrikam: ForestName = "fabrikam.com".parse().unwrap();
    let bob = f.lab().credential(&fabrikam, "bob").unwrap();
    let bob_sid: Sid = f
        .session("fabrikam\\bob")
        .await
        .unwrap()
        .who_am_i()
        .await
        .unwrap()
        .user_sid
        .parse()
        .unwrap();
    let token = signer(&f, "tailspin.com")
        .sign(&claims(bob_sid, "bob", "tailspin.com", vec![]))
        .unwrap();
    let resource = f.endpoint("contoso.com").unwrap();
    let mut session =
        crossforest_cli::session::Session::with_token(&resource, &bob, Some(token), "x")
            .await
            .unwrap();
    let err = session.run("Get-Mailbox").await.unwrap_err();
    assert_eq!(
        err.status().map(|s| s.code()),
        Some(tonic::Code::Unauthenticated),
        "{err}"
    );
}
