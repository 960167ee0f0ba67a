//! Operations (issue 5): certificates and trust bundles reloaded in a running
//! node, request ids, and the Prometheus metrics endpoint.

use crossforest_shared::client::connect;
use crossforest_shared::inspect::summarize;
use crossforest_shared::pki::{CertificateAuthority, IssuedCertificate};
use crossforest_shared::{ForestName, Sid};
use crossforest_tests::Federation;
use rustls_pki_types::ServerName;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use super::common::federation;
use super::sid_filtering::{claims, signer};

/// A fresh TLS connection to `address` as `credential`: the serial of the
/// server certificate it was shown.
async fn served_serial(
    address: &str,
    server: &str,
    ca_pem: &str,
    credential: &IssuedCertificate,
) -> String {
    let config = super::session_resumption::client(ca_pem, credential);
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(ServerName::try_from(server.to_owned()).unwrap(), tcp)
        .await
        .unwrap();
    let leaf = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    summarize(&leaf).unwrap().serial
}

#[tokio::test]
async fn a_rotated_server_certificate_serves_new_connections_while_old_sessions_go_on() {
    let f = Federation::builder()
        .account("fabrikam.com")
        .start()
        .await
        .unwrap();
    let resource = f.endpoint("contoso.com").unwrap();
    let admin_credential = f.lab().credential(f.resource(), "Administrator").unwrap();
    let serial = || {
        served_serial(
            &resource.address,
            "contoso.com",
            &resource.ca_pem,
            &admin_credential,
        )
    };
    let mut old_session = f.administrator().await.unwrap();
    old_session.run("Get-RoleGroup").await.unwrap();
    let before = serial().await;

    let issued = crossforest_cli::pki::issue_server(f.lab(), f.resource(), &[]).unwrap();
    assert_ne!(issued.serial, before);
    let reloaded = f.resource_node().unwrap().reload().unwrap();
    assert_eq!(reloaded.server_serial, issued.serial);

    assert_eq!(
        serial().await,
        issued.serial,
        "a new connection sees the new certificate"
    );
    let listed = crossforest_cli::pki::list(f.lab()).unwrap();
    let server = listed
        .iter()
        .find(|c| c.file == std::path::Path::new("contoso.com/pki/server.pem"))
        .unwrap();
    assert_eq!(server.summary.serial, issued.serial);
    assert!(server.summary.sans.contains(&"DNS:contoso.com".to_owned()));
    assert!(
        listed
            .iter()
            .all(|c| !c.file.to_string_lossy().ends_with(".key")),
        "keys are not listed"
    );
    old_session
        .run("Get-RoleGroup")
        .await
        .expect("the session opened before the rotation keeps working");
    f.administrator()
        .await
        .unwrap()
        .run("Get-RoleGroup")
        .await
        .expect("a new session works with the new certificate");
}

/// Runs `Get-Mailbox` in a new session as `fabrikam\alice`: `true` when the
/// resource forest authenticated her (allowed or denied by RBAC), `false` when
/// her certificate was refused.
async fn alice_is_accepted(f: &Federation) -> bool {
    let session = f.session("fabrikam\\alice").await;
    match session {
        Ok(mut s) => match s.run("Get-Mailbox").await {
            Ok(_) => true,
            Err(e) => e.is_denied(),
        },
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_swapped_trust_bundle_takes_effect_without_restart() {
    let f = Federation::builder()
        .account("fabrikam.com")
        .start()
        .await
        .unwrap();
    f.add_user("fabrikam.com", "alice").await.unwrap();
    assert!(alice_is_accepted(&f).await);
    let fabrikam: ForestName = "fabrikam.com".parse().unwrap();
    let bundle = f.lab().trust_ca_path(&fabrikam);

    // Another CA calling itself fabrikam.com replaces the trust bundle.
    let impostor = CertificateAuthority::generate(&fabrikam).unwrap();
    crossforest_shared::pki::write_public(&bundle, impostor.certificate_pem()).unwrap();
    f.resource_node().unwrap().reload().unwrap();
    assert!(
        !alice_is_accepted(&f).await,
        "fabrikam's real certificates no longer chain to the trusted CA"
    );
    let mut admin = f.administrator().await.unwrap();
    admin
        .run("Get-RoleGroup")
        .await
        .expect("local callers are unaffected");

    // `crossforest pki rotate --what trust-bundle` copies the real CA back.
    crossforest_cli::pki::refresh_trust_bundle(f.lab(), &fabrikam).unwrap();
    f.resource_node().unwrap().reload().unwrap();
    assert!(alice_is_accepted(&f).await);

    // A bundle that is not a certificate is refused whole: nothing changes.
    std::fs::write(&bundle, "not a certificate").unwrap();
    assert!(f.resource_node().unwrap().reload().is_err());
    assert!(
        alice_is_accepted(&f).await,
        "the previous trust bundle stays in use"
    );
}

#[tokio::test]
async fn each_request_gets_an_id_echoed_in_the_response() {
    let f = Federation::builder().start().await.unwrap();
    let resource = f.endpoint("contoso.com").unwrap();
    let credential = f.lab().credential(f.resource(), "Administrator").unwrap();
    let mut health = HealthClient::new(connect(&resource, &credential).await.unwrap());
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: String::new(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "change-4711".parse().unwrap());
    let response = health.check(request).await.unwrap();
    assert_eq!(
        response.metadata().get("x-request-id").unwrap(),
        "change-4711"
    );
    let generated = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    let id = generated
        .metadata()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
}

/// The value of the series `name` (with its labels) in a scrape, 0 if absent.
fn value(scrape: &str, name: &str) -> f64 {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_count_requests_decisions_sid_filter_drops_and_trust_links() {
    let f = federation().await;
    let before = f.scrape_metrics("contoso.com").await.unwrap();
    let allowed = "crossforest_decisions_total{decision=\"allowed\"}";
    let denied = "crossforest_decisions_total{decision=\"denied\"}";
    let dropped = "crossforest_sid_filter_dropped_total{forest=\"tailspin.com\"}";

    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    alice.run("Get-Mailbox").await.unwrap();
    let mut carol = f.session("tailspin\\carol").await.unwrap();
    assert!(carol
        .run("Set-Mailbox Administrator -Office X")
        .await
        .unwrap_err()
        .is_denied());

    // tailspin vouches for a SID of fabrikam and a well-known one: both dropped.
    let carol_sid: Sid = carol.who_am_i().await.unwrap().user_sid.parse().unwrap();
    let fabrikam_group = f.domain_sid("fabrikam.com").unwrap().with_rid(4000);
    let token = signer(&f, "tailspin.com")
        .sign(&claims(
            carol_sid,
            "carol",
            "tailspin.com",
            vec![fabrikam_group.to_string(), "S-1-5-32-544".into()],
        ))
        .unwrap();
    let tailspin: ForestName = "tailspin.com".parse().unwrap();
    let mut forged = crossforest_cli::session::Session::with_token(
        &f.endpoint("contoso.com").unwrap(),
        &f.lab().credential(&tailspin, "carol").unwrap(),
        Some(token),
        "tailspin\\carol",
    )
    .await
    .unwrap();
    forged.who_am_i().await.unwrap();

    let after = f.scrape_metrics("contoso.com").await.unwrap();
    assert_eq!(
        value(&after, allowed) - value(&before, allowed),
        1.0,
        "{after}"
    );
    assert_eq!(
        value(&after, denied) - value(&before, denied),
        1.0,
        "{after}"
    );
    assert_eq!(
        value(&after, dropped) - value(&before, dropped),
        2.0,
        "{after}"
    );
    // The linked role groups were created over working linked credentials.
    assert_eq!(
        value(&after, "crossforest_trust_link_up{forest=\"fabrikam.com\"}"),
        1.0
    );
    let invoked = "crossforest_grpc_requests_total{method=\"/crossforest.management.v1.Management/Invoke\",code=\"Ok\"}";
    assert!(value(&after, invoked) > value(&before, invoked), "{after}");
    assert!(
        after.contains("crossforest_grpc_request_duration_seconds_bucket{"),
        "{after}"
    );

    // The account forests count their sign-ins.
    let fabrikam = f.scrape_metrics("fabrikam.com").await.unwrap();
    assert!(
        value(
            &fabrikam,
            "crossforest_authentications_total{result=\"success\"}"
        ) >= 1.0,
        "{fabrikam}"
    );
}

#[tokio::test]
async fn the_trust_link_probe_reports_a_forest_going_down() {
    let mut f = Federation::builder()
        .account("fabrikam.com")
        .start()
        .await
        .unwrap();
    let fabrikam: ForestName = "fabrikam.com".parse().unwrap();
    let up = "crossforest_trust_link_up{forest=\"fabrikam.com\"}";
    let trusts = f.resource_node().unwrap().trusts();
    let trust = trusts.get(&fabrikam).unwrap();
    assert_eq!(
        resource_forest::trust::probe::probe(trust).await,
        Some(true)
    );
    assert_eq!(
        value(&f.scrape_metrics("contoso.com").await.unwrap(), up),
        1.0
    );

    f.stop("fabrikam.com").await.unwrap();
    while f.is_running("fabrikam.com") {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        resource_forest::trust::probe::probe(trust).await,
        Some(false)
    );
    assert_eq!(
        value(&f.scrape_metrics("contoso.com").await.unwrap(), up),
        0.0
    );
}

#[tokio::test]
async fn a_changed_certificate_file_is_picked_up_by_a_running_account_forest() {
    let f = Federation::builder()
        .account("fabrikam.com")
        .start()
        .await
        .unwrap();
    let fabrikam: ForestName = "fabrikam.com".parse().unwrap();
    let endpoint = f.endpoint("fabrikam.com").unwrap();
    let credential = f.lab().credential(&fabrikam, "Administrator").unwrap();
    let serial = || {
        served_serial(
            &endpoint.address,
            "fabrikam.com",
            &endpoint.ca_pem,
            &credential,
        )
    };
    let before = serial().await;
    let issued = crossforest_cli::pki::issue_server(f.lab(), &fabrikam, &[]).unwrap();
    assert_ne!(before, issued.serial);
    // Nobody calls reload(): the node notices the file (every 2 s by default).
    let mut seen = before;
    for _ in 0..600 {
        seen = serial().await;
        if seen == issued.serial {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen, issued.serial,
        "the running node never served the new certificate"
    );
    let reloads = f.scrape_metrics("fabrikam.com").await.unwrap();
    assert_eq!(
        value(
            &reloads,
            "crossforest_tls_reloads_total{result=\"success\"}"
        ),
        1.0,
        "{reloads}"
    );
}
