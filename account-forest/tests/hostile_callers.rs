//! The account forest under a hostile caller holding one ordinary
//! credential (issue 16): a real node over mutual TLS answers every refused
//! sign-in alike, checks no password for a certificate of another account,
//! locks an account out after the lockout threshold until an administrator
//! unlocks it, and never runs more password checks at once than its memory
//! budget holds.

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use account_forest::admin::DirectoryAdmin;
use account_forest::config::NodeConfig;
use account_forest::init::{credential_path, init, InitOptions};
use account_forest::node::AccountForest;
use account_forest::service::SIGN_IN_REFUSED;
use crossforest_shared::client::{connect, ForestEndpoint};
use crossforest_shared::pki::{read_text, IssuedCertificate};
use crossforest_shared::proto::directory::v1 as pb;
use crossforest_shared::serve::status::EdgeError;
use tonic::Code;

const PASSWORD: &str = "correct horse";

/// A running account forest with users alice, bob, carol (disabled) and
/// dave, the group `Tier 2`, and every user's credential.
struct Forest {
    node: Arc<AccountForest>,
    endpoint: ForestEndpoint,
    credentials: HashMap<String, IssuedCertificate>,
    dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn forest(configure: impl FnOnce(&mut NodeConfig)) -> Forest {
    let dir = tempfile::tempdir().unwrap();
    let mut config = init(&InitOptions {
        dir: dir.path().to_owned(),
        forest: "fabrikam.com".parse().unwrap(),
        domain_sid: "S-1-5-21-4-5-6".parse().unwrap(),
        listen: "127.0.0.1:0".into(),
        administrator_password: PASSWORD.into(),
        store: Default::default(),
    })
    .unwrap();
    configure(&mut config);
    let node = AccountForest::load(config.clone()).unwrap();
    let mut credentials = HashMap::new();
    for name in ["alice", "bob", "carol", "dave"] {
        let user = node.change(|d| d.add_user(name, PASSWORD)).unwrap();
        credentials.insert(name.to_owned(), node.issue_credential(&user).unwrap());
    }
    node.change(|d| d.add_group("Tier 2")).unwrap();
    node.change(|d| d.disable_user("carol")).unwrap();
    credentials.insert(
        "Administrator".into(),
        IssuedCertificate::read_combined(&credential_path(dir.path(), "Administrator")).unwrap(),
    );
    let (listener, address) = crossforest_shared::serve::bind("127.0.0.1:0")
        .await
        .unwrap();
    // The admin command line reads the address from node.toml.
    let toml = dir.path().join("node.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replace("127.0.0.1:0", &address.to_string())).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(account_forest::server::serve(
        listener,
        node.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let endpoint = ForestEndpoint {
        forest: config.forest.clone(),
        address: address.to_string(),
        ca_pem: read_text(&config.pki_dir.join("ca.pem")).unwrap(),
    };
    Forest {
        node,
        endpoint,
        credentials,
        dir,
        _stop: stop,
    }
}

impl Forest {
    /// `Authenticate` over a connection made with `as_whom`'s certificate.
    async fn sign_in(
        &self,
        as_whom: &str,
        user: &str,
        password: &str,
    ) -> Result<pb::AuthenticateResponse, tonic::Status> {
        let channel = connect(&self.endpoint, &self.credentials[as_whom])
            .await
            .unwrap();
        pb::directory_client::DirectoryClient::new(channel)
            .authenticate(pb::AuthenticateRequest {
                user: user.to_owned(),
                password: password.to_owned(),
                audience: "contoso.com".into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn admin(&self) -> DirectoryAdmin {
        DirectoryAdmin::connect(&self.endpoint, &self.credentials["Administrator"])
            .await
            .unwrap()
    }

    /// Runs `account-forest <args> --config node.toml`; its standard output.
    fn command_line(&self, args: &[&str]) -> String {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_account-forest"))
            .args(args)
            .arg("--config")
            .arg(self.dir.path().join("node.toml"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    }
}

/// Asserts the one answer of a refused sign-in.
fn assert_refused(case: &str, answer: Result<pb::AuthenticateResponse, tonic::Status>) {
    let status = answer.expect_err(case);
    assert_eq!(status.code(), Code::Unauthenticated, "{case}: {status:?}");
    assert_eq!(status.message(), SIGN_IN_REFUSED, "{case}");
    assert_eq!(
        EdgeError::from_status(&status),
        Some(EdgeError::Unauthenticated(SIGN_IN_REFUSED.into())),
        "{case}"
    );
}

/// Locks `user` out with wrong passwords, as the user.
async fn lock_out(f: &Forest, user: &str) {
    for _ in 0..f.node.config().lockout_threshold {
        assert_refused("a wrong password", f.sign_in(user, user, "wrong").await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refused_sign_in_gets_the_same_answer() {
    let f = forest(|c| c.lockout_threshold = 3).await;
    lock_out(&f, "dave").await;
    let cases = [
        ("an unknown user", "alice", "nobody", PASSWORD),
        ("a wrong password", "alice", "alice", "wrong"),
        ("another user's certificate", "alice", "bob", PASSWORD),
        ("a disabled account", "carol", "carol", PASSWORD),
        ("a locked-out account", "dave", "dave", PASSWORD),
        ("a group", "alice", "Tier 2", PASSWORD),
        (
            "a user of another forest",
            "alice",
            "tailspin\\alice",
            PASSWORD,
        ),
    ];
    for (case, certificate, user, password) in cases {
        assert_refused(case, f.sign_in(certificate, user, password).await);
    }
    let signed_in = f
        .sign_in("alice", "FABRIKAM\\alice", PASSWORD)
        .await
        .unwrap();
    assert_eq!(signed_in.user.unwrap().name, "alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_alice_asking_for_bob_never_reaches_the_hasher() {
    let f = forest(|_| {}).await;
    let hashes = || f.node.hashing().computed();
    let before = hashes();
    for (user, password) in [("bob", PASSWORD), ("bob", "wrong"), ("nobody", PASSWORD)] {
        assert_refused(user, f.sign_in("alice", user, password).await);
    }
    assert_eq!(hashes(), before, "another account's password was checked");
    // Nor does it count against bob (or alice).
    assert!(f
        .node
        .lockouts()
        .states(std::time::Instant::now())
        .is_empty());
    // The certificate's own account costs one check, disabled or not: a
    // disabled account is checked against the dummy hash.
    assert_refused("alice", f.sign_in("alice", "alice", "wrong").await);
    assert_eq!(hashes(), before + 1);
    assert_refused("carol", f.sign_in("carol", "carol", PASSWORD).await);
    assert_eq!(hashes(), before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lockout_threshold_locks_an_account_out_until_an_administrator_unlocks_it() {
    let f = forest(|c| {
        c.lockout_threshold = 3;
        c.lockout_duration_mins = 0;
    })
    .await;
    lock_out(&f, "alice").await;
    // Locked out: even the right password is refused, and not checked.
    let hashes = f.node.hashing().computed();
    assert_refused("locked out", f.sign_in("alice", "alice", PASSWORD).await);
    assert_eq!(f.node.hashing().computed(), hashes);
    // Other accounts sign in.
    f.sign_in("bob", "bob", PASSWORD).await.unwrap();

    let listed = f.admin().await.list().await.unwrap();
    let alice = listed
        .principals
        .iter()
        .find(|p| p.name == "alice")
        .unwrap();
    let lockout = listed.lockouts.iter().find(|l| l.sid == alice.sid).unwrap();
    assert_eq!(lockout.bad_password_count, 3);
    assert_eq!(lockout.locked_out_until, i64::MAX);
    let list = f.command_line(&["user", "list"]);
    let line = list
        .lines()
        .find(|l| l.ends_with(")") && l.contains(" alice "))
        .unwrap();
    assert!(
        line.contains("LOCKED OUT until unlocked (3 bad passwords)"),
        "{list}"
    );

    let unlocked = f.command_line(&["user", "unlock", "alice"]);
    assert!(unlocked.starts_with("unlocked alice"), "{unlocked}");
    f.sign_in("alice", "alice", PASSWORD).await.unwrap();
    let again = f.command_line(&["user", "unlock", "alice"]);
    assert!(again.contains("was not locked out"), "{again}");
    assert!(!f.command_line(&["user", "list"]).contains("LOCKED OUT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_checks_in_flight_never_exceed_the_memory_budget() {
    // 38 MiB holds two checks of 19 MiB; every call may wait for one.
    let f = Arc::new(
        forest(|c| {
            c.password_hash_memory_mib = 38;
            c.password_hash_wait_ms = 60_000;
            c.lockout_threshold = 0;
        })
        .await,
    );
    assert_eq!(f.node.hashing().permits(), 2);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let f = f.clone();
            tokio::spawn(async move { f.sign_in("alice", "alice", "wrong").await })
        })
        .collect();
    for call in calls {
        assert_refused("a wrong password", call.await.unwrap());
    }
    assert_eq!(f.node.hashing().computed(), 8);
    let peak = f.node.hashing().peak_running();
    assert!((1..=2).contains(&peak), "{peak} checks ran at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_beyond_the_memory_budget_is_told_to_retry() {
    let f = forest(|c| {
        c.password_hash_memory_mib = 19;
        c.password_hash_wait_ms = 50;
    })
    .await;
    // Every check the budget holds is in use.
    let held = f.node.hashing().acquire().await.unwrap();
    let status = f.sign_in("alice", "alice", PASSWORD).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(matches!(
        EdgeError::from_status(&status),
        Some(EdgeError::Exhausted(_))
    ));
    assert_eq!(
        EdgeError::retry_after(&status),
        Some(Duration::from_millis(100))
    );
    // A call that was never checked counts for nothing.
    assert!(f
        .node
        .lockouts()
        .states(std::time::Instant::now())
        .is_empty());
    drop(held);
    f.sign_in("alice", "alice", PASSWORD).await.unwrap();
}
