//! Hostile callers (issue 16): many concurrent wrong-password `Authenticate`
//! calls against a real account-forest node, and what they cost the node in
//! resident memory.
//!
//! ```text
//! cargo run -p account-forest --example hostile_callers -- [--calls 48] [--users 1]
//! ```
//!
//! The example creates a forest in a temporary directory with `--users` users
//! (`user0`, `user1`, …), starts the node as a child process (this same
//! program, `serve <node.toml>`), waits until it announces its address, reads
//! its idle `VmRSS` from `/proc/<pid>/status`, resets its peak (`VmHWM`, by
//! writing `5` to `/proc/<pid>/clear_refs`), then sends `--calls` concurrent
//! `Authenticate` calls with a wrong password, spread over the users (each
//! call over its own mutual-TLS connection, as the user's own certificate).
//! It prints the answers by gRPC code and the node's peak resident memory
//! above idle: the larger of `VmHWM` and `VmRSS` sampled every millisecond.
//!
//! Linux only (it reads `/proc`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use account_forest::config::NodeConfig;
use account_forest::init::{init, InitOptions};
use account_forest::node::AccountForest;
use crossforest_shared::client::{connect, ForestEndpoint};
use crossforest_shared::pki::{read_text, IssuedCertificate};
use crossforest_shared::proto::directory::v1 as pb;

const PASSWORD: &str = "correct horse battery staple";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        return serve(Path::new(&args[2]));
    }
    let flag = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| v.parse().expect("a number"))
            .unwrap_or(default)
    };
    let (calls, users) = (flag("--calls", 48), flag("--users", 1).max(1));
    attack(calls, users)
}

/// The node: the child process.
fn serve(config: &Path) -> anyhow::Result<()> {
    let config = NodeConfig::load(config)?;
    let node = AccountForest::load(config.clone())?;
    tokio::runtime::Runtime::new()?.block_on(async move {
        let (listener, _) = crossforest_shared::serve::bind(&config.listen).await?;
        account_forest::server::serve(listener, node, std::future::pending()).await?;
        anyhow::Ok(())
    })
}

/// Kills the node when the attack ends, however it ends.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn attack(calls: usize, users: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = init(&InitOptions {
        dir: dir.path().to_owned(),
        forest: "fabrikam.com".parse()?,
        domain_sid: "S-1-5-21-4-5-6".parse()?,
        listen: "127.0.0.1:0".into(),
        administrator_password: PASSWORD.into(),
        store: Default::default(),
    })?;
    let credentials = {
        let node = AccountForest::load(config.clone())?;
        (0..users)
            .map(|i| {
                let user = node.change(|d| d.add_user(&format!("user{i}"), PASSWORD))?;
                Ok((user.name.clone(), node.issue_credential(&user)?))
            })
            .collect::<anyhow::Result<Vec<(String, IssuedCertificate)>>>()?
    };
    let node = Node(
        Command::new(std::env::current_exe()?)
            .arg("serve")
            .arg(dir.path().join("node.toml"))
            .spawn()?,
    );
    let pid = node.0.id();
    let address = wait_for_address(&config.data_dir.join("listening"))?;
    let endpoint = ForestEndpoint {
        forest: config.forest.clone(),
        address,
        ca_pem: read_text(&config.pki_dir.join("ca.pem"))?,
    };

    let runtime = tokio::runtime::Runtime::new()?;
    let clients = runtime.block_on(async {
        let mut clients = Vec::new();
        for i in 0..calls {
            let (name, credential) = &credentials[i % users];
            let channel = connect(&endpoint, credential).await?;
            clients.push((
                name.clone(),
                pb::directory_client::DirectoryClient::new(channel),
            ));
        }
        anyhow::Ok(clients)
    })?;

    let idle = status_kib(pid, "VmRSS:");
    let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    let done = Arc::new(AtomicBool::new(false));
    let sampled = Arc::new(AtomicU64::new(idle));
    let sampler = {
        let (done, sampled) = (done.clone(), sampled.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                sampled.fetch_max(status_kib(pid, "VmRSS:"), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let started = Instant::now();
    let answers = runtime.block_on(async {
        let barrier = Arc::new(tokio::sync::Barrier::new(calls));
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|(user, mut client)| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let answer = client
                        .authenticate(pb::AuthenticateRequest {
                            user,
                            password: "not the password".into(),
                            audience: "contoso.com".into(),
                        })
                        .await;
                    match answer {
                        Ok(_) => "OK".to_owned(),
                        Err(status) => format!("{:?}", status.code()),
                    }
                })
            })
            .collect();
        let mut answers = BTreeMap::<String, usize>::new();
        for task in tasks {
            *answers
                .entry(task.await.unwrap_or_else(|e| e.to_string()))
                .or_default() += 1;
        }
        answers
    });
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let hwm = if reset { status_kib(pid, "VmHWM:") } else { 0 };
    let peak = hwm.max(sampled.load(Ordering::Relaxed));
    let after = status_kib(pid, "VmRSS:");
    drop(node);

    println!(
        "{calls} concurrent wrong-password Authenticate calls as {users} user(s), {elapsed:.2?}"
    );
    println!("answers: {answers:?}");
    println!(
        "node resident memory: idle {} MiB, peak {} MiB, after {} MiB; peak above idle {} MiB{}",
        idle / 1024,
        peak / 1024,
        after / 1024,
        peak.saturating_sub(idle) / 1024,
        if reset {
            ""
        } else {
            " (VmHWM could not be reset: sampled only)"
        }
    );
    Ok(())
}

/// Waits (up to 60 s) for the node to announce its address.
fn wait_for_address(path: &PathBuf) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(address) = std::fs::read_to_string(path) {
            if !address.is_empty() {
                return Ok(address);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    anyhow::bail!(
        "the node never announced its address in `{}`",
        path.display()
    )
}
