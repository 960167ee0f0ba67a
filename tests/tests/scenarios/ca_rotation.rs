//! Rotating a forest's CA with an overlap window (issue 7): while the window
//! is open, certificates and tokens of the old CA and of the new one are both
//! accepted; once it is finished, only the new CA's. A forest's CAs vouch for
//! that forest only (R-TRUST-1).

use base64::Engine as _;
use crossforest_cli::ca_rotation;
use crossforest_cli::session::Session;
use crossforest_shared::identity::ForestUri;
use crossforest_shared::inspect::summarize;
use crossforest_shared::pki::{read_text, CertificateAuthority, IssuedCertificate};
use crossforest_shared::proto::token::v1::SignedToken;
use crossforest_shared::ForestName;
use crossforest_tests::Federation;
use prost::Message as _;

use super::mtls::token_for_audience;

fn fabrikam() -> ForestName {
    "fabrikam.com".parse().unwrap()
}

/// contoso.com trusting fabrikam.com, whose alice ∈ Exchange Admins, linked
/// to "fabrikam Recipient Admins" (Mail Recipients).
pub async fn linked_alice() -> Federation {
    let f = Federation::builder()
        .account("fabrikam.com")
        .start()
        .await
        .unwrap();
    f.add_user("fabrikam.com", "alice").await.unwrap();
    f.add_group("fabrikam.com", "Exchange Admins")
        .await
        .unwrap();
    f.add_member("fabrikam.com", "Exchange Admins", "alice")
        .await
        .unwrap();
    f.link_role_group(
        "fabrikam.com",
        "fabrikam Recipient Admins",
        "Exchange Admins",
        &["Mail Recipients"],
    )
    .await
    .unwrap();
    f
}

/// Runs `Get-Mailbox` at contoso.com as `credential` with `token`: the
/// error, or `None` when it was served.
pub async fn get_mailbox(
    f: &Federation,
    credential: &IssuedCertificate,
    token: &str,
) -> Option<String> {
    let resource = f.endpoint("contoso.com").unwrap();
    let outcome = async {
        let mut s =
            Session::with_token(&resource, credential, Some(token.to_owned()), "test").await?;
        s.run("Get-Mailbox").await.map_err(anyhow::Error::from)
    }
    .await;
    outcome.err().map(|e| format!("{e:#}"))
}

/// Logs alice on at fabrikam with `credential`: the error, if refused.
pub async fn home_logon(f: &Federation, credential: &IssuedCertificate) -> Option<String> {
    let home = f.endpoint("fabrikam.com").unwrap();
    let password = f.lab().password(&fabrikam(), "alice").unwrap();
    let logon = crossforest_cli::session::ForeignLogon {
        home: &home,
        user: "alice",
        password: &password,
        credential,
    };
    crossforest_cli::session::authenticate(&logon, "contoso.com")
        .await
        .err()
        .map(|e| e.to_string())
}

/// alice logs on with her lab credential and runs `Get-Mailbox`.
async fn alice_signs_in(f: &Federation) {
    let mut session = f.session("fabrikam\\alice").await.unwrap();
    session.run("Get-Mailbox").await.unwrap();
}

/// The subject of the CA that issued the token's signing certificate.
fn token_signer_issuer(token: &str) -> String {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .unwrap();
    let signed = SignedToken::decode(raw.as_slice()).unwrap();
    summarize(&signed.signer_certificate.as_slice().into())
        .unwrap()
        .issuer
}

fn ca_subjects(f: &Federation, file: &str) -> Vec<(String, String, String)> {
    crossforest_cli::pki::list(f.lab())
        .unwrap()
        .into_iter()
        .filter(|c| c.file == std::path::Path::new(file))
        .map(|c| (c.summary.subject, c.summary.not_before, c.summary.not_after))
        .collect()
}

#[tokio::test]
async fn old_and_new_ca_are_both_accepted_during_the_window_and_only_the_new_after_finish() {
    let f = linked_alice().await;
    let old_credential = f.lab().credential(&fabrikam(), "alice").unwrap();
    let old_token = token_for_audience(&f, "fabrikam.com", "alice", "contoso.com").await;
    let old_ca = summarize(
        &read_text(&f.lab().node_dir(&fabrikam()).join("pki/ca.pem"))
            .map(|pem| crossforest_shared::pki::first_certificate_der(&pem, "ca").unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(get_mailbox(&f, &old_credential, &old_token).await, None);

    // Begin: both CAs in every bundle, the nodes reload (as on SIGHUP).
    let began = ca_rotation::begin(f.lab(), &fabrikam()).unwrap();
    assert_eq!(began.trusted.len(), 2);
    assert_eq!(began.trusted[1].subject, old_ca.subject);
    assert_ne!(began.issuing.subject, old_ca.subject);
    for file in [
        "fabrikam.com/pki/ca.pem",
        "contoso.com/trusts/fabrikam.com/ca.pem",
    ] {
        let listed = ca_subjects(&f, file);
        assert_eq!(listed.len(), 2, "{file}: {listed:?}");
        assert_eq!(listed[0].0, began.issuing.subject);
        assert_eq!(listed[1].0, old_ca.subject);
        assert!(listed.iter().all(|(_, from, to)| from < to));
    }
    f.reload("fabrikam.com").unwrap();
    f.reload("contoso.com").unwrap();

    // A new credential and a new token, both from the new CA: the account
    // forest signs with its re-issued token-signing key without a restart.
    let (_, reissued) = ca_rotation::reissue_credential(f.lab(), &fabrikam(), "alice").unwrap();
    assert_eq!(reissued.issuer, began.issuing.subject);
    let new_credential = f.lab().credential(&fabrikam(), "alice").unwrap();
    assert_eq!(
        crossforest_shared::Principal::from_peer_certificates(&[new_credential
            .certificate_der()
            .unwrap()])
        .unwrap(),
        crossforest_shared::Principal::from_peer_certificates(&[old_credential
            .certificate_der()
            .unwrap()])
        .unwrap(),
        "the reissued credential is alice's"
    );
    let new_token = token_for_audience(&f, "fabrikam.com", "alice", "contoso.com").await;
    assert_eq!(token_signer_issuer(&new_token), began.issuing.subject);
    assert_eq!(token_signer_issuer(&old_token), old_ca.subject);

    for (credential, token, what) in [
        (&old_credential, &old_token, "old certificate, old token"),
        (&new_credential, &new_token, "new certificate, new token"),
        (&old_credential, &new_token, "old certificate, new token"),
        (&new_credential, &old_token, "new certificate, old token"),
    ] {
        assert_eq!(get_mailbox(&f, credential, token).await, None, "{what}");
    }
    // A full logon at home, with the old credential and with the new one.
    assert_eq!(home_logon(&f, &old_credential).await, None);
    alice_signs_in(&f).await;
    f.add_group("fabrikam.com", "Help Desk").await.unwrap();

    // Finish: only the new CA; what the old one issued is refused.
    let finished = ca_rotation::finish(f.lab(), &fabrikam()).unwrap();
    assert_eq!(finished.trusted, vec![began.issuing.clone()]);
    // alice was given a new credential; the lab's Administrator was not.
    assert_eq!(
        finished.retired_credentials,
        vec![std::path::PathBuf::from(
            "fabrikam.com/credentials/Administrator.pem"
        )]
    );
    assert_eq!(
        ca_subjects(&f, "contoso.com/trusts/fabrikam.com/ca.pem").len(),
        1
    );
    f.reload("fabrikam.com").unwrap();
    f.reload("contoso.com").unwrap();

    assert_eq!(get_mailbox(&f, &new_credential, &new_token).await, None);
    let refused_certificate = get_mailbox(&f, &old_credential, &new_token)
        .await
        .expect("an old-CA certificate was accepted after the rotation finished");
    assert!(
        refused_certificate.contains("received fatal alert: UnknownCA"),
        "{refused_certificate}"
    );
    let refused_token = get_mailbox(&f, &new_credential, &old_token)
        .await
        .expect("an old-CA token was accepted after the rotation finished");
    assert!(
        refused_token
            .contains("the token's signing certificate does not chain to the CA of `fabrikam.com`"),
        "{refused_token}"
    );
    let home = home_logon(&f, &old_credential)
        .await
        .expect("fabrikam accepted alice's old-CA certificate");
    assert!(
        home.contains("the server does not trust the CA that issued your certificate"),
        "{home}"
    );
    alice_signs_in(&f).await;

    // The linked credential was re-issued at the start of the window: the
    // resource forest still resolves fabrikam's groups with it.
    f.link_role_group(
        "fabrikam.com",
        "fabrikam Help Desk",
        "Help Desk",
        &["View-Only Recipients"],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_rotation_cannot_finish_unbegun_nor_begin_twice_and_nodes_pick_it_up_by_themselves() {
    let f = linked_alice().await;
    let bundle = f.lab().node_dir(&fabrikam()).join("pki/ca.pem");
    let read = || std::fs::read_to_string(&bundle).unwrap();
    let before = read();
    let error = ca_rotation::finish(f.lab(), &fabrikam())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("no rotation of the CA of fabrikam.com is in progress"),
        "{error}"
    );
    assert_eq!(read(), before, "a refused --finish changed the bundle");
    let error = ca_rotation::begin(f.lab(), &"northwind.com".parse().unwrap())
        .unwrap_err()
        .to_string();
    assert!(error.contains("is not a forest of the lab"), "{error}");

    // A file the rotation must re-issue cannot be read: nothing is written.
    let linked = f
        .lab()
        .dir()
        .join("contoso.com/trusts/fabrikam.com/svc-contoso.pem");
    let held = std::fs::read_to_string(&linked).unwrap();
    std::fs::write(&linked, "not a credential").unwrap();
    let error = format!(
        "{:#}",
        ca_rotation::begin(f.lab(), &fabrikam()).unwrap_err()
    );
    assert!(error.contains("svc-contoso.pem"), "{error}");
    assert_eq!(read(), before, "a failed rotation changed the bundle");
    std::fs::write(&linked, held).unwrap();

    let old_ca =
        CertificateAuthority::load(&fabrikam(), &f.lab().node_dir(&fabrikam()).join("pki"))
            .unwrap();
    let began = ca_rotation::begin(f.lab(), &fabrikam()).unwrap();
    let during = read();
    let error = ca_rotation::begin(f.lab(), &fabrikam())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("a rotation of the CA of fabrikam.com is already in progress")
            && error.contains("--finish"),
        "{error}"
    );
    assert_eq!(
        read(),
        during,
        "a refused second rotation changed the bundle"
    );
    assert!(!f.lab().dir().join(".ca-rotation.tmp").exists());

    // No SIGHUP and no reload call: the account forest notices the replaced
    // files by its poll and signs with the new token-signing key, and the
    // resource forest takes that key's CA from its new bundle.
    let alice = f.lab().credential(&fabrikam(), "alice").unwrap();
    let mut new_token = None;
    for _ in 0..POLLS {
        let token = token_for_audience(&f, "fabrikam.com", "alice", "contoso.com").await;
        if token_signer_issuer(&token) == began.issuing.subject
            && get_mailbox(&f, &alice, &token).await.is_none()
        {
            new_token = Some(token);
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let new_token = new_token.expect("the nodes never picked up the new CA by themselves");

    // A server certificate of the old CA put back during the window: finishing
    // would leave the node with an untrusted certificate, so it is refused.
    old_ca
        .issue_server(&[])
        .unwrap()
        .write_combined(&f.lab().node_dir(&fabrikam()).join("pki/server.pem"))
        .unwrap();
    let error = ca_rotation::finish(f.lab(), &fabrikam())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("server.pem` was issued by `CN=fabrikam.com Forest Root CA, O=fabrikam.com`, not by the new CA"),
        "{error}"
    );
    assert_eq!(read(), during, "a refused --finish changed the bundle");
    crossforest_cli::pki::issue_server(f.lab(), &fabrikam(), &[]).unwrap();
    ca_rotation::finish(f.lab(), &fabrikam()).unwrap();

    // Again by the poll alone: alice's old-CA certificate is refused.
    let mut refused = None;
    for _ in 0..POLLS {
        refused = get_mailbox(&f, &alice, &new_token).await;
        if refused.is_some() {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let refused = refused.expect("the resource forest never dropped the old CA by itself");
    assert!(refused.contains("UnknownCA"), "{refused}");
}

/// How often, and how many times, a test looks whether a node reloaded by
/// itself (its poll runs every `reload_interval_secs`, 2 s in the lab).
const POLL: std::time::Duration = std::time::Duration::from_millis(200);
const POLLS: usize = 150;

#[tokio::test]
async fn the_resource_forests_own_ca_rotates_with_the_same_window() {
    let f = Federation::builder()
        .account("fabrikam.com")
        .start()
        .await
        .unwrap();
    let contoso = f.resource().clone();
    let old_admin = f.lab().credential(&contoso, "Administrator").unwrap();
    let ForestUri::Principal(administrator) =
        ForestUri::of_certificate(&old_admin.certificate_der().unwrap()).unwrap()
    else {
        panic!("the Administrator's credential names no principal");
    };
    let get_role_group = |credential: IssuedCertificate| {
        let f = &f;
        async move {
            let resource = f.endpoint("contoso.com").unwrap();
            let outcome = async {
                let mut s =
                    Session::local(&resource, &credential, "contoso\\Administrator").await?;
                s.run("Get-RoleGroup").await.map_err(anyhow::Error::from)
            }
            .await;
            outcome.err().map(|e| format!("{e:#}"))
        }
    };

    let began = ca_rotation::begin(f.lab(), &contoso).unwrap();
    assert_eq!(began.trusted.len(), 2);
    f.reload("contoso.com").unwrap();
    let ca = CertificateAuthority::load(&contoso, &f.lab().node_dir(&contoso).join("pki")).unwrap();
    let new_admin = ca.issue_principal(&administrator, "Administrator").unwrap();
    assert_eq!(get_role_group(old_admin.clone()).await, None);
    assert_eq!(get_role_group(new_admin.clone()).await, None);

    let finished = ca_rotation::finish(f.lab(), &contoso).unwrap();
    assert!(finished
        .retired_credentials
        .contains(&"contoso.com/credentials/Administrator.pem".into()));
    f.reload("contoso.com").unwrap();
    assert_eq!(get_role_group(new_admin).await, None);
    let error = get_role_group(old_admin)
        .await
        .expect("an old-CA certificate was accepted after the rotation finished");
    assert!(error.contains("received fatal alert: UnknownCA"), "{error}");
}

#[tokio::test]
async fn after_finish_the_change_feed_reconnects_with_the_reissued_linked_credential() {
    let mut f = linked_alice().await;
    f.add_user("fabrikam.com", "bob").await.unwrap();
    f.add_member("fabrikam.com", "Exchange Admins", "bob")
        .await
        .unwrap();
    ca_rotation::begin(f.lab(), &fabrikam()).unwrap();
    for user in ["alice", "bob", "Administrator"] {
        ca_rotation::reissue_credential(f.lab(), &fabrikam(), user).unwrap();
    }
    let finished = ca_rotation::finish(f.lab(), &fabrikam()).unwrap();
    assert!(finished.retired_credentials.is_empty());
    f.reload("contoso.com").unwrap();
    // fabrikam restarts: the resource forest's open change feed ends and
    // must reconnect, now with the linked credential of the new CA.
    f.restart("fabrikam.com").await.unwrap();

    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    alice.run("Get-Mailbox").await.unwrap();
    f.remove_member("fabrikam.com", "Exchange Admins", "alice")
        .await
        .unwrap();
    let mut last = alice.run("Get-Mailbox").await.map(|_| ());
    for _ in 0..POLLS {
        if last.as_ref().is_err_and(|e| e.is_denied()) {
            break;
        }
        tokio::time::sleep(POLL).await;
        last = alice.run("Get-Mailbox").await.map(|_| ());
    }
    assert!(
        last.as_ref().is_err_and(|e| e.is_denied()),
        "the feed never delivered alice's removal: {last:?}"
    );
    // The link is up, not stale: bob, still a member, keeps working.
    bob.run("Get-Mailbox").await.unwrap();
}
