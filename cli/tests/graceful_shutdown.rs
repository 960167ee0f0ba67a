//! Graceful shutdown of the node binaries (issue 5): on SIGTERM a node stops
//! accepting connections, lets the request in flight finish, and exits 0.
//! The nodes are real processes of this crate's `crossforest` executable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crossforest_cli::lab::{service_account, Lab, LabSpec};
use crossforest_cli::node_process::{NodeBinaries, NodeKind, NodeProcess};
use crossforest_cli::processes::free_loopback_address;
use crossforest_shared::ForestName;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// Starts `crossforest --log-format json <kind> serve --config <node.toml>`
/// for `forest` and waits until it announces its address.
/// Logs go to `<node>/node.log`, as JSON lines.
async fn start(lab: &Lab, kind: NodeKind, forest: &ForestName) -> NodeProcess {
    let binaries = NodeBinaries::Combined(env!("CARGO_BIN_EXE_crossforest").into());
    let node_dir = lab.node_dir(forest);
    let options = ["--log-format", "json"];
    NodeProcess::start_with_options(&binaries, kind, forest.clone(), &node_dir, &options)
        .await
        .unwrap()
}

fn terminate(node: &NodeProcess) {
    node.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
}

/// A TCP proxy in front of fabrikam's directory, the endpoint contoso.com's
/// trust names: connections pass through until [`Proxy::hold_next`]; the
/// next one is then reported and held until released — a directory server
/// that answers only when the test says so.
struct Proxy {
    hold: std::sync::Arc<std::sync::atomic::AtomicBool>,
    passed: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    held: mpsc::Receiver<oneshot::Sender<()>>,
}

impl Proxy {
    async fn start(listener: TcpListener, target: String) -> Self {
        use std::sync::atomic::Ordering;
        let hold = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let passed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (tx, held) = mpsc::channel(4);
        let (hold_, passed_) = (hold.clone(), passed.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                if hold_.swap(false, Ordering::SeqCst) {
                    let (release, released) = oneshot::channel();
                    if tx.send(release).await.is_err() {
                        return;
                    }
                    tokio::spawn(async move {
                        let _ = released.await;
                        let mut outbound = TcpStream::connect(&target).await.unwrap();
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    });
                } else {
                    passed_.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(async move {
                        let mut outbound = TcpStream::connect(&target).await.unwrap();
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    });
                }
            }
        });
        Self { hold, passed, held }
    }

    /// Holds the next connection, once the change feed has connected (so
    /// the held one is the request's); returns its release.
    async fn hold_next(&mut self, request: impl FnOnce()) -> oneshot::Sender<()> {
        use std::sync::atomic::Ordering;
        while self.passed.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.hold.store(true, Ordering::SeqCst);
        request();
        self.held.recv().await.unwrap()
    }
}

/// A lab of contoso.com trusting fabrikam.com, both nodes running as
/// processes; fabrikam has an `Exchange Admins` group. Each `(default, value)`
/// of `operations` replaces a line of the resource forest's `[operations]`.
async fn running_lab(
    operations: &[(&str, &str)],
) -> (tempfile::TempDir, Lab, NodeProcess, NodeProcess, Proxy) {
    let dir = tempfile::tempdir().unwrap();
    let contoso: ForestName = "contoso.com".parse().unwrap();
    let fabrikam: ForestName = "fabrikam.com".parse().unwrap();
    let spec = LabSpec {
        resource: (contoso.clone(), free_loopback_address().unwrap()),
        accounts: vec![(fabrikam.clone(), free_loopback_address().unwrap())],
        untrusted: Vec::new(),
        organizational_units: Vec::new(),
        active_directory_split_permissions: false,
        store: Default::default(),
    };
    let lab = Lab::create(dir.path(), &spec).unwrap();
    let path = lab.node_dir(&contoso).join("node.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    // contoso.com reaches fabrikam's directory through the proxy; no probe.
    let fabrikam_address = lab.endpoint(&fabrikam).unwrap().address;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_address = listener.local_addr().unwrap().to_string();
    text = text.replace(
        &format!("endpoint = \"{fabrikam_address}\""),
        &format!("endpoint = \"{proxy_address}\""),
    );
    assert!(text.contains(&proxy_address), "{text}");
    text = text.replace(
        "trust_probe_interval_secs = 30",
        "trust_probe_interval_secs = 0",
    );
    let proxy = Proxy::start(listener, fabrikam_address).await;
    for (default, value) in operations {
        assert!(text.contains(default), "{default} not in {text}");
        text = text.replace(default, value);
    }
    std::fs::write(&path, text).unwrap();
    let account = start(&lab, NodeKind::AccountForest, &fabrikam).await;
    let resource = start(&lab, NodeKind::ResourceForest, &contoso).await;
    lab.directory_admin(&fabrikam)
        .await
        .unwrap()
        .add_group("Exchange Admins")
        .await
        .unwrap();
    (dir, lab, account, resource, proxy)
}

/// Starts `New-RoleGroup` linking fabrikam's group through its configured
/// endpoint (the proxy): a request that stays in flight in the resource
/// forest while the proxy holds its connection.
fn link_through(lab: &Lab) -> tokio::task::JoinHandle<Result<(), String>> {
    let lab = lab.clone();
    let line = format!(
        "New-RoleGroup -Name \"fabrikam Admins\" -LinkedForeignGroup \"fabrikam\\Exchange Admins\" -LinkedDomainController dc01.fabrikam.com -LinkedCredential fabrikam\\{} -Roles \"Mail Recipients\"",
        service_account(&lab.file().resource)
    );
    tokio::spawn(async move {
        let mut admin = lab
            .session("contoso\\Administrator")
            .await
            .map_err(|e| e.to_string())?;
        admin
            .run(&line)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish_and_exits_zero() {
    let (_dir, lab, account, resource, mut proxy) = running_lab(&[]).await;
    let contoso: ForestName = "contoso.com".parse().unwrap();
    let resource_address = lab.endpoint(&contoso).unwrap().address;
    // New-RoleGroup resolves the foreign group through a directory server
    // that holds the connection: the request stays in flight in the node.
    let mut in_flight = None;
    let release = proxy
        .hold_next(|| in_flight = Some(link_through(&lab)))
        .await;
    let in_flight = in_flight.unwrap();

    terminate(&resource);
    // The node stops accepting new connections first...
    while TcpStream::connect(&resource_address).await.is_ok() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...and the request it had already taken completes.
    release.send(()).unwrap();
    let answer = in_flight.await.unwrap();
    assert!(answer.is_ok(), "the in-flight request failed: {answer:?}");

    let mut resource = resource;
    let status = resource.wait().await.unwrap();
    assert_eq!(status.code(), Some(0), "resource-forest exit status");

    // The change was committed before the node stopped: the stopped node's
    // store exports it.
    let exported = std::process::Command::new(env!("CARGO_BIN_EXE_crossforest"))
        .args(["resource-forest", "export", "--config"])
        .arg(lab.node_dir(&contoso).join("node.toml"))
        .output()
        .unwrap();
    assert!(exported.status.success(), "{exported:?}");
    assert!(String::from_utf8_lossy(&exported.stdout).contains("fabrikam Admins"));

    // Structured logs: one JSON object per line; the request that was in
    // flight logged its completion with its id, method and caller; the drain
    // was logged; no token was.
    let log = std::fs::read_to_string(lab.node_dir(&contoso).join("node.log")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let completed = lines
        .iter()
        .find(|l| {
            l["message"] == "request completed"
                && l["span"]["method"] == "/crossforest.management.v1.Management/Invoke"
        })
        .unwrap_or_else(|| panic!("no completion line in:\n{log}"));
    assert_eq!(completed["code"], "Ok", "{completed}");
    assert_eq!(
        completed["span"]["request_id"].as_str().map(str::len),
        Some(32)
    );
    assert_eq!(completed["span"]["peer_forest"], "contoso.com");
    assert!(log.contains("draining in-flight requests"), "{log}");
    assert!(
        !log.contains(crossforest_shared::token::TOKEN_HEADER),
        "a token was logged:\n{log}"
    );

    let mut account = account;
    terminate(&account);
    assert_eq!(
        account.wait().await.unwrap().code(),
        Some(0),
        "account-forest exit status"
    );
}

#[tokio::test]
async fn a_request_outlasting_the_drain_timeout_is_abandoned_and_the_node_still_exits_zero() {
    let (_dir, lab, account, mut resource, mut proxy) =
        running_lab(&[("drain_timeout_secs = 30", "drain_timeout_secs = 1")]).await;
    let mut in_flight = None;
    // Held and never released: the request cannot finish.
    let _held = proxy
        .hold_next(|| in_flight = Some(link_through(&lab)))
        .await;
    let in_flight = in_flight.unwrap();
    terminate(&resource);
    assert_eq!(resource.wait().await.unwrap().code(), Some(0));
    assert!(
        in_flight.await.unwrap().is_err(),
        "the abandoned request cannot have succeeded"
    );
    let log = std::fs::read_to_string(lab.node_dir(&lab.file().resource).join("node.log")).unwrap();
    assert!(
        log.contains("did not finish within the drain timeout"),
        "{log}"
    );
    drop(account);
}

#[tokio::test]
async fn sighup_reloads_a_rotated_server_certificate() {
    // No file polling: only the signal can make the node reload.
    let (_dir, lab, _account, resource, _proxy) =
        running_lab(&[("reload_interval_secs = 2", "reload_interval_secs = 0")]).await;
    let contoso = lab.file().resource.clone();
    let issued = crossforest_cli::pki::issue_server(&lab, &contoso, &[]).unwrap();
    let pid = resource.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let log_path = lab.node_dir(&contoso).join("node.log");
    let reloaded = |log: &str| {
        log.lines().any(|l| {
            let line: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
            line["message"] == "reloaded certificates and trust bundles"
                && line["server_serial"] == issued.serial.as_str()
        })
    };
    let mut log = String::new();
    for _ in 0..600 {
        log = std::fs::read_to_string(&log_path).unwrap();
        if reloaded(&log) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        reloaded(&log),
        "no reload with serial {}:\n{log}",
        issued.serial
    );
    assert!(log.contains("SIGHUP"), "{log}");
    assert!(!log.contains("PRIVATE KEY"), "a key was logged:\n{log}");
    // The node still serves, with the new certificate.
    lab.session("contoso\\Administrator")
        .await
        .unwrap()
        .run("Get-RoleGroup")
        .await
        .unwrap();
}
