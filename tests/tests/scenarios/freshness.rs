//! Revocation freshness and faults between forests (issue 7): the change feed
//! revokes groups a still-valid token carries; a link that stays down past
//! `max_staleness_secs` refuses the forest's requests; followers reconnect and
//! resume without missing a change; the feed is for linked credentials only.

use std::time::Duration;

use super::common::federation;
use crossforest_shared::pki::IssuedCertificate;
use crossforest_shared::proto::directory::v1 as dir;
use crossforest_tests::Federation;
use crossforest_tests::{Error as SessionError, Session};

/// How many times a test asks again before giving up, and how long it waits
/// in between: the feed delivers asynchronously, tests assert outcomes only.
const ATTEMPTS: usize = 300;
const PAUSE: Duration = Duration::from_millis(50);

/// Runs `line` until `done` accepts the outcome; the last outcome.
pub async fn until(
    s: &mut Session,
    line: &str,
    done: impl Fn(&Result<(), SessionError>) -> bool,
) -> Result<(), SessionError> {
    let mut last = s.run(line).await.map(|_| ());
    for _ in 0..ATTEMPTS {
        if done(&last) {
            break;
        }
        tokio::time::sleep(PAUSE).await;
        last = s.run(line).await.map(|_| ());
    }
    last
}

/// Runs `Get-Mailbox` until the resource forest refuses it because its trust
/// link to `forest` has been down for more than `max_staleness_secs`, and
/// checks that the refusal says so.
pub async fn until_link_unavailable(s: &mut Session, forest: &str, max_staleness_secs: u64) {
    let needle = format!("trust link to {forest} unavailable since");
    let down =
        |r: &Result<(), SessionError>| r.as_ref().is_err_and(|e| e.to_string().contains(&needle));
    let last = until(s, "Get-Mailbox", down).await;
    assert!(down(&last), "{last:?}");
    let message = last.unwrap_err().to_string();
    let bound = format!("max_staleness_secs = {max_staleness_secs}");
    assert!(message.contains(&bound), "{message}");
}

/// Whether RBAC denied the request.
pub fn denied(r: &Result<(), SessionError>) -> bool {
    r.as_ref().is_err_and(SessionError::is_denied)
}

/// Removes `member` from `group` in the stored directory of a stopped forest,
/// as a change made while the resource forest could not hear about it.
fn remove_member_offline(f: &Federation, forest: &str, group: &str, member: &str) {
    let config = f.lab().account_config(&forest.parse().unwrap()).unwrap();
    let node = account_forest::node::AccountForest::load(config).unwrap();
    node.change(|d| d.remove_member(group, member)).unwrap();
}

#[tokio::test]
async fn removal_through_nesting_denies_the_old_token_once_the_feed_delivers_it() {
    let f = federation().await;
    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    alice.run("Get-Mailbox").await.unwrap();

    // alice is in Exchange Admins only through Tier 2 Admins.
    f.remove_member("fabrikam.com", "Exchange Admins", "Tier 2 Admins")
        .await
        .unwrap();
    let last = until(&mut alice, "Get-Mailbox", denied).await;
    assert!(denied(&last), "alice's old token still works: {last:?}");
    // The token itself is still valid: only the revoked group is gone.
    let who = alice.who_am_i().await.unwrap();
    assert!(who.role_groups.is_empty(), "{:?}", who.role_groups);
    // bob, a direct member, is untouched; a fresh token for alice is denied too.
    bob.run("Get-Mailbox").await.unwrap();
    let mut fresh = f.session("fabrikam\\alice").await.unwrap();
    assert!(fresh.run("Get-Mailbox").await.unwrap_err().is_denied());

    // Added back: a new token works again, the old one stays revoked.
    f.add_member("fabrikam.com", "Exchange Admins", "Tier 2 Admins")
        .await
        .unwrap();
    let mut again = f.session("fabrikam\\alice").await.unwrap();
    again.run("Get-Mailbox").await.unwrap();
    assert!(alice.run("Get-Mailbox").await.unwrap_err().is_denied());
}

#[tokio::test]
async fn changes_made_while_the_link_is_down_apply_after_reconnection() {
    let mut f = federation().await;
    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    alice.run("Get-Mailbox").await.unwrap();

    f.stop("fabrikam.com").await.unwrap();
    assert!(!f.is_running("fabrikam.com"));
    // Within the staleness bound (300 s by default) tokens keep working.
    alice.run("Get-Mailbox").await.unwrap();

    remove_member_offline(&f, "fabrikam.com", "Exchange Admins", "Tier 2 Admins");
    f.restart("fabrikam.com").await.unwrap();
    let last = until(&mut alice, "Get-Mailbox", denied).await;
    assert!(
        denied(&last),
        "the change made while disconnected was not applied: {last:?}"
    );
    bob.run("Get-Mailbox").await.unwrap();
}

#[tokio::test]
async fn past_the_staleness_bound_the_forest_is_refused_until_the_link_is_back() {
    let mut f = Federation::builder()
        .resource("contoso.com")
        .account("fabrikam.com")
        .account("tailspin.com")
        .max_staleness_secs(3)
        .start()
        .await
        .unwrap();
    for (forest, user) in [("fabrikam.com", "alice"), ("tailspin.com", "carol")] {
        f.add_user(forest, user).await.unwrap();
        f.add_group(forest, "Exchange Admins").await.unwrap();
        f.add_member(forest, "Exchange Admins", user).await.unwrap();
        f.link_role_group(
            forest,
            &format!("{forest} admins"),
            "Exchange Admins",
            &["View-Only Recipients"],
        )
        .await
        .unwrap();
    }
    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    let mut carol = f.session("tailspin\\carol").await.unwrap();
    until(&mut alice, "Get-Mailbox", Result::is_ok)
        .await
        .unwrap();

    f.stop("fabrikam.com").await.unwrap();
    until_link_unavailable(&mut alice, "fabrikam.com", 3).await;
    // Only that forest: tailspin's link is fine.
    carol.run("Get-Mailbox").await.unwrap();

    f.restart("fabrikam.com").await.unwrap();
    let last = until(&mut alice, "Get-Mailbox", Result::is_ok).await;
    assert!(last.is_ok(), "the link did not come back: {last:?}");
}

#[tokio::test]
async fn a_restarted_resource_forest_resynchronises_and_keeps_revoking() {
    let mut f = federation().await;
    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    alice.run("Get-Mailbox").await.unwrap();
    f.restart("contoso.com").await.unwrap();
    let last = until(&mut alice, "Get-Mailbox", Result::is_ok).await;
    assert!(last.is_ok(), "{last:?}");
    f.remove_member("fabrikam.com", "Tier 2 Admins", "alice")
        .await
        .unwrap();
    let last = until(&mut alice, "Get-Mailbox", denied).await;
    assert!(denied(&last), "{last:?}");
}

/// A directory client of fabrikam.com presenting `credential`.
pub async fn directory_as(
    f: &Federation,
    credential: &IssuedCertificate,
) -> dir::directory_client::DirectoryClient<tonic::transport::Channel> {
    let endpoint = f.endpoint("fabrikam.com").unwrap();
    let channel = crossforest_shared::client::connect(&endpoint, credential)
        .await
        .unwrap();
    dir::directory_client::DirectoryClient::new(channel)
}

#[tokio::test]
async fn the_change_feed_is_for_linked_credentials_only_and_resumes_by_sequence() {
    let f = federation().await;
    let fabrikam = "fabrikam.com".parse().unwrap();
    let alice = f.lab().credential(&fabrikam, "alice").unwrap();
    let mut client = directory_as(&f, &alice).await;
    let refused = client
        .watch_changes(dir::WatchRequest { from_sequence: 0 })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    assert!(
        refused.message().contains("Replicating Directory Changes"),
        "{}",
        refused.message()
    );
    let refused = client
        .get_membership_snapshot(dir::MembershipSnapshotRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);

    let svc = f
        .lab()
        .dir()
        .join("contoso.com/trusts/fabrikam.com/svc-contoso.pem");
    let linked = IssuedCertificate::read_combined(&svc).unwrap();
    let mut client = directory_as(&f, &linked).await;
    let snapshot = client
        .get_membership_snapshot(dir::MembershipSnapshotRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(snapshot.sequence > 0);
    // Resume after the snapshot minus two: exactly the last two changes.
    let mut stream = client
        .watch_changes(dir::WatchRequest {
            from_sequence: snapshot.sequence - 2,
        })
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    let second = stream.message().await.unwrap().unwrap();
    assert_eq!(
        (first.sequence, second.sequence),
        (snapshot.sequence - 1, snapshot.sequence)
    );
    // A new change arrives on the open stream, with what each user lost.
    f.remove_member("fabrikam.com", "Exchange Admins", "Tier 2 Admins")
        .await
        .unwrap();
    let change = loop {
        let next = stream.message().await.unwrap().unwrap();
        if next.kind != dir::ChangeKind::KeepAlive as i32 {
            break next;
        }
    };
    assert_eq!(change.sequence, snapshot.sequence + 1);
    assert_eq!(change.kind, dir::ChangeKind::MemberRemoved as i32);
    let alice_sid = snapshot
        .users
        .iter()
        .find(|u| u.group_sids.len() == 2)
        .map(|u| u.user_sid.clone())
        .unwrap();
    assert_eq!(change.revocations.len(), 1, "{change:?}");
    assert_eq!(change.revocations[0].user_sid, alice_sid);
    assert_eq!(
        change.revocations[0].group_sids,
        vec![change.object_sid.clone()]
    );

    // Ahead of the forest: told to resynchronise, explicitly.
    let ahead = client
        .watch_changes(dir::WatchRequest {
            from_sequence: snapshot.sequence + 1000,
        })
        .await
        .unwrap_err();
    assert_eq!(ahead.code(), tonic::Code::OutOfRange);
    assert!(
        ahead.message().contains("resynchronise"),
        "{}",
        ahead.message()
    );

    // The open stream ends as soon as its subscriber loses the right.
    f.disable_user("fabrikam.com", "svc-contoso").await.unwrap();
    let ended = loop {
        match stream.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream ended without saying why"),
            Err(status) => break status,
        }
    };
    assert_eq!(ended.code(), tonic::Code::PermissionDenied, "{ended:?}");
}

#[tokio::test]
async fn disabled_users_and_removed_groups_are_revoked_for_old_tokens() {
    let f = federation().await;
    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    alice.run("Get-Mailbox").await.unwrap();
    bob.run("Get-Mailbox").await.unwrap();

    f.disable_user("fabrikam.com", "bob").await.unwrap();
    let revoked = |r: &Result<(), SessionError>| {
        r.as_ref()
            .is_err_and(|e| e.to_string().contains("disabled or removed"))
    };
    let last = until(&mut bob, "Get-Mailbox", revoked).await;
    assert!(revoked(&last), "{last:?}");
    assert!(
        f.session("fabrikam\\bob").await.is_err(),
        "a disabled user signed in"
    );

    // Removing the nested group alice is in takes Exchange Admins with it.
    f.remove_principal("fabrikam.com", "Tier 2 Admins")
        .await
        .unwrap();
    let last = until(&mut alice, "Get-Mailbox", denied).await;
    assert!(denied(&last), "{last:?}");
    let refused = f.remove_principal("fabrikam.com", "Domain Admins").await;
    assert!(refused.unwrap_err().to_string().contains("built-in"));
}

#[tokio::test]
async fn a_certificate_reload_keeps_what_the_feed_revoked() {
    let f = federation().await;
    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    alice.run("Get-Mailbox").await.unwrap();
    f.remove_member("fabrikam.com", "Tier 2 Admins", "alice")
        .await
        .unwrap();
    let last = until(&mut alice, "Get-Mailbox", denied).await;
    assert!(denied(&last), "{last:?}");
    // Reloading certificates and trust bundles (SIGHUP, a rotated file)
    // replaces the trusts, not what the change feeds revoked.
    f.resource_node().unwrap().reload().unwrap();
    let after = alice.run("Get-Mailbox").await.map(|_| ());
    assert!(denied(&after), "{after:?}");
}
