//! Mutual TLS: every client certificate is verified against the CA of the forest
//! its single URI SAN names, and only that one (R-TRUST-1). Refusals happen at
//! the TLS layer: no gRPC handler runs and nothing is audited.

use super::common::federation;
use crossforest_cli::session::Session;
use crossforest_shared::pki::{CertificateAuthority, IssuedCertificate};
use crossforest_shared::proto::directory::v1 as dir;
use crossforest_shared::{ForestName, Principal, Sid};
use crossforest_tests::Federation;

fn audit_lines(f: &Federation) -> usize {
    super::common::audit(f).len()
}

fn user_sid(f: &Federation, forest: &str, rid_user: u32) -> Sid {
    f.domain_sid(forest).unwrap().with_rid(rid_user)
}

/// Runs Get-Mailbox as `credential` with `token`; returns the error.
pub async fn refused(
    f: &Federation,
    credential: &IssuedCertificate,
    token: Option<String>,
) -> String {
    let resource = f.endpoint("contoso.com").unwrap();
    let outcome = async {
        let mut session = Session::with_token(&resource, credential, token, "test").await?;
        session
            .run("Get-Mailbox")
            .await
            .map_err(anyhow::Error::from)
    }
    .await;
    match outcome {
        Ok(_) => panic!("the request was served"),
        Err(e) => format!("{e:#}"),
    }
}

/// A real token for `user` of `forest`, from its home forest.
async fn token_for(f: &Federation, forest: &str, user: &str) -> String {
    token_for_audience(f, forest, user, "contoso.com").await
}

/// A real token for `user` of `forest` issued for `audience`.
pub async fn token_for_audience(
    f: &Federation,
    forest: &str,
    user: &str,
    audience: &str,
) -> String {
    let forest_name: ForestName = forest.parse().unwrap();
    let home = f.endpoint(forest).unwrap();
    let credential = f.lab().credential(&forest_name, user).unwrap();
    let password = f.lab().password(&forest_name, user).unwrap();
    let logon = crossforest_cli::session::ForeignLogon {
        home: &home,
        user,
        password: &password,
        credential: &credential,
    };
    crossforest_cli::session::authenticate(&logon, audience)
        .await
        .unwrap()
}

#[tokio::test]
async fn client_certificate_from_an_untrusted_ca_is_refused_at_tls() {
    let f = federation().await;
    let before = audit_lines(&f);
    // A rogue CA calling itself fabrikam.com mints bob's identity.
    let bob = user_sid(&f, "fabrikam.com", 1102);
    let rogue = CertificateAuthority::generate(&"fabrikam.com".parse().unwrap()).unwrap();
    let forged = rogue
        .issue_principal(
            &Principal {
                forest: "fabrikam.com".parse().unwrap(),
                sid: bob,
            },
            "bob",
        )
        .unwrap();
    let token = token_for(&f, "fabrikam.com", "bob").await;
    let error = refused(&f, &forged, Some(token)).await;
    assert!(
        !error.contains("PermissionDenied") && !error.contains("R-"),
        "refused by a handler, not TLS: {error}"
    );
    assert_eq!(
        audit_lines(&f),
        before,
        "a refused handshake reached the audit log"
    );
}

#[tokio::test]
async fn untrusted_forest_is_refused() {
    let f = federation().await;
    let northwind: ForestName = "northwind.com".parse().unwrap();
    let nina = f.lab().credential(&northwind, "nina").unwrap();
    let home = f.endpoint("northwind.com").unwrap();
    let password = f.lab().password(&northwind, "nina").unwrap();
    let logon = crossforest_cli::session::ForeignLogon {
        home: &home,
        user: "nina",
        password: &password,
        credential: &nina,
    };
    let token = crossforest_cli::session::authenticate(&logon, "contoso.com")
        .await
        .unwrap();
    let error = refused(&f, &nina, Some(token)).await;
    assert!(!error.contains("Set-Mailbox"), "{error}");
    // The shell's session says why, not that the connection was lost.
    assert!(
        error.contains("contoso.com does not trust certificates of northwind.com"),
        "{error}"
    );
    assert!(f.is_running("contoso.com"));
}

#[tokio::test]
async fn certificate_with_two_uri_sans_or_expired_is_refused() {
    let f = federation().await;
    let fabrikam_dir = f.lab().node_dir(&"fabrikam.com".parse().unwrap());
    let ca =
        CertificateAuthority::load(&"fabrikam.com".parse().unwrap(), &fabrikam_dir.join("pki"))
            .unwrap();
    let bob = Principal {
        forest: "fabrikam.com".parse().unwrap(),
        sid: user_sid(&f, "fabrikam.com", 1102),
    };
    let token = token_for(&f, "fabrikam.com", "bob").await;

    let mut two = ca.principal_params(&bob, "bob").unwrap();
    let other = Principal {
        forest: "fabrikam.com".parse().unwrap(),
        sid: user_sid(&f, "fabrikam.com", 500),
    };
    two.subject_alt_names.push(rcgen::SanType::URI(
        other.uri().to_string().try_into().unwrap(),
    ));
    refused(&f, &ca.issue(&two).unwrap(), Some(token.clone())).await;

    let mut expired = ca.principal_params(&bob, "bob").unwrap();
    expired.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(10);
    expired.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    refused(&f, &ca.issue(&expired).unwrap(), Some(token)).await;
}

#[tokio::test]
async fn certificate_naming_another_forest_is_checked_against_that_forests_ca() {
    let f = federation().await;
    // tailspin's CA (trusted) issues a certificate that claims to be fabrikam's bob:
    // the verifier picks fabrikam's CA from the URI and the chain fails.
    let tailspin_dir = f.lab().node_dir(&"tailspin.com".parse().unwrap());
    let tailspin_ca =
        CertificateAuthority::load(&"tailspin.com".parse().unwrap(), &tailspin_dir.join("pki"))
            .unwrap();
    let bob = Principal {
        forest: "fabrikam.com".parse().unwrap(),
        sid: user_sid(&f, "fabrikam.com", 1102),
    };
    let forged = tailspin_ca.issue_principal(&bob, "bob").unwrap();
    let token = token_for(&f, "fabrikam.com", "bob").await;
    refused(&f, &forged, Some(token)).await;
}

#[tokio::test]
async fn account_forest_refuses_a_caller_holding_only_a_resource_forest_certificate() {
    let f = federation().await;
    let endpoint = f.endpoint("fabrikam.com").unwrap();
    let contoso_admin = f.lab().credential(f.resource(), "Administrator").unwrap();
    let outcome = async {
        let channel = crossforest_shared::client::connect(&endpoint, &contoso_admin).await?;
        let mut client = dir::directory_client::DirectoryClient::new(channel);
        client
            .resolve_token_groups(dir::ResolveTokenGroupsRequest {
                user_sid: user_sid(&f, "fabrikam.com", 1102).to_string(),
            })
            .await
            .map_err(anyhow::Error::from)
    }
    .await;
    let error = format!(
        "{:#}",
        outcome.expect_err("fabrikam served a contoso certificate")
    );
    assert!(
        !error.contains("PermissionDenied"),
        "refused by a handler, not TLS: {error}"
    );
}

#[tokio::test]
async fn foreign_caller_needs_a_matching_token() {
    let f = federation().await;
    let fabrikam: ForestName = "fabrikam.com".parse().unwrap();
    let alice = f.lab().credential(&fabrikam, "alice").unwrap();
    let error = refused(&f, &alice, None).await;
    assert!(error.contains("must present a forest token"), "{error}");
    // bob's token with alice's certificate.
    let bobs = token_for(&f, "fabrikam.com", "bob").await;
    let error = refused(&f, &alice, Some(bobs)).await;
    assert!(error.contains("the token names"), "{error}");
    let error = refused(&f, &alice, Some("bm90IGEgdG9rZW4=".into())).await;
    assert!(error.contains("malformed"), "{error}");
}

/// The token travels in `x-crossforest-token`, a header HTTP/2 may keep in
/// the connection's table: it is still checked on every request of that
/// connection (R-TRUST-2). After a request with the genuine token, requests on
/// the same connection without it, with it tampered, or with it under the
/// former `authorization` name are refused as failed sign-ins; the genuine
/// one is served again after them.
#[tokio::test]
async fn the_token_is_checked_on_every_request_of_a_connection() {
    use crossforest_shared::proto::management::v1 as pb;
    use crossforest_shared::token::TOKEN_HEADER;
    use pb::management_client::ManagementClient;

    let f = federation().await;
    let fabrikam: ForestName = "fabrikam.com".parse().unwrap();
    let alice = f.lab().credential(&fabrikam, "alice").unwrap();
    let token = token_for(&f, "fabrikam.com", "alice").await;
    let mut tampered = token.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let channel = crossforest_shared::client::connect(&f.endpoint("contoso.com").unwrap(), &alice)
        .await
        .unwrap();
    let mut client = ManagementClient::new(channel);
    let call = |header: Option<(&'static str, String)>| {
        let mut request = tonic::Request::new(pb::WhoAmIRequest {});
        if let Some((name, value)) = header {
            request.metadata_mut().insert(name, value.parse().unwrap());
        }
        request
    };

    let who = client
        .who_am_i(call(Some((TOKEN_HEADER, token.clone()))))
        .await
        .unwrap()
        .into_inner();
    assert!(who
        .user_sid
        .starts_with(&f.domain_sid("fabrikam.com").unwrap().to_string()));
    for (what, header) in [
        ("no token", None),
        ("a tampered token", Some((TOKEN_HEADER, tampered))),
        (
            "the token under `authorization`",
            Some(("authorization", format!("ForestToken {token}"))),
        ),
    ] {
        let status = client.who_am_i(call(header)).await.unwrap_err();
        assert_eq!(
            status.code(),
            tonic::Code::Unauthenticated,
            "{what}: {status:?}"
        );
    }
    let again = client
        .who_am_i(call(Some((TOKEN_HEADER, token))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.user_sid, who.user_sid);
}
