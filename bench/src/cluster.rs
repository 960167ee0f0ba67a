//! `crossforest-bench cluster`: aggregate `Authorization.Check` throughput of
//! one organization served by 1, 2 and 3 resource-forest nodes on one
//! PostgreSQL schema (issue 20). The nodes, an account forest and the load
//! generator run in this process (the test harness's in-process nodes), each
//! node on a loopback port of its own with mutual TLS; the streams are spread
//! round-robin over the nodes in use, one HTTP/2 connection per node.
//!
//! The organization is the generated one of the other benchmarks (100,000
//! recipients, 10,000 assignments: [`crate::model`]) merged into the lab's,
//! written once through the shared store; every node follows it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use crossforest_cli::session::Session;
use crossforest_shared::proto::management::v1::CheckRequest;
use crossforest_tests::Federation;
use resource_forest::config::NodeConfig;
use resource_forest::org::Organization;

use crate::load::Limits;
use crate::model::{build_model, Rng, Shape};
use crate::stats::{show, Latencies};

/// The generated organization of `shape` merged into `org`: its recipients
/// (`user0000000`…), and its roles, role groups, assignments, scopes and
/// policies where `org` has none of the name (the lab's built-in ones stay).
pub fn merge_model(org: &mut Organization, shape: Shape) -> Result<()> {
    let generated = build_model(&mut Rng(Rng::SEED), shape)?;
    for r in generated.recipients {
        org.recipients.insert(r.name.to_ascii_lowercase(), r);
    }
    let config = generated.config;
    let rbac = org.rbac_mut();
    for (k, v) in config.roles {
        rbac.roles.entry(k).or_insert(v);
    }
    for (k, v) in config.role_groups {
        rbac.role_groups.entry(k).or_insert(v);
    }
    for (k, v) in config.assignments {
        rbac.assignments.entry(k).or_insert(v);
    }
    for (k, v) in config.scopes {
        rbac.scopes.entry(k).or_insert(v);
    }
    for (k, v) in config.policies {
        rbac.policies.entry(k).or_insert(v);
    }
    Ok(())
}

/// Writes the generated organization of `shape` into the store of node
/// `config` as one change; returns its revision. On the embedded store the
/// node must be stopped.
pub async fn populate(config: &NodeConfig, shape: Shape) -> Result<u64> {
    write_into_store(config, |next| merge_model(next, shape)).await
}

/// Opens the (stopped) node `config`'s store, commits what `change` makes of
/// its organization as one revision, and returns once the store is closed
/// again (the commit's writer task lets go of it a moment after the commit
/// is answered, and the embedded store stays locked while open).
pub async fn write_into_store(
    config: &NodeConfig,
    change: impl FnOnce(&mut Organization) -> Result<()>,
) -> Result<u64> {
    let store = resource_forest::store::open(&config.store, &config.data_dir).await?;
    let state = resource_forest::state::OrgState::open(Arc::clone(&store))
        .await?
        .context("the resource forest's store holds no organization")?;
    let guard = state.lock().await;
    let before = state.snapshot();
    let mut next = before.org.clone();
    change(&mut next)?;
    let revision = state.commit(&guard, &before, next).await?;
    drop(guard);
    drop(before);
    drop(state);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Arc::strong_count(&store) > 1 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the resource forest's store was still open 30 s after it was written"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(revision)
}

/// The results of one configuration.
#[derive(Debug, Clone)]
pub struct Run {
    /// Nodes serving.
    pub nodes: usize,
    /// Checks answered.
    pub completed: usize,
    /// Checks that failed.
    pub failures: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Latencies of the answered checks.
    pub latencies: Latencies,
}

/// `Set-Mailbox -Identity -Office` on recipient `k` of the organization.
fn check(k: usize, recipients: usize) -> CheckRequest {
    CheckRequest {
        cmdlet: "Set-Mailbox".to_owned(),
        parameters: vec!["Identity".to_owned(), "Office".to_owned()],
        target: format!("user{:07}", (k * 7_919) % recipients),
        write: None,
        at_least_revision: 0,
    }
}

/// `streams` streams over the first `nodes` of `sessions` (one per node),
/// until `limits`.
async fn measure(
    sessions: &[Session],
    nodes: usize,
    streams: usize,
    limits: Limits,
    recipients: usize,
) -> Result<Run> {
    let issued = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + limits.duration;
    let mut tasks = Vec::new();
    for s in 0..streams.max(1) {
        let mut session = sessions[s % nodes].clone();
        let issued = Arc::clone(&issued);
        tasks.push(tokio::spawn(async move {
            let (mut ns, mut failures) = (Vec::new(), 0usize);
            loop {
                let k = issued.fetch_add(1, Ordering::Relaxed);
                if k >= limits.requests || Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                match session.check(check(k, recipients)).await {
                    Ok(answer) if answer.decision.is_some() => {
                        ns.push(t.elapsed().as_nanos() as u64);
                    }
                    _ => failures += 1,
                }
            }
            (ns, failures)
        }));
    }
    let (mut ns, mut failures) = (Vec::new(), 0);
    for task in tasks {
        let (n, f) = task.await.context("a stream panicked")?;
        ns.extend(n);
        failures += f;
    }
    let elapsed = start.elapsed();
    let completed = ns.len();
    let latencies = Latencies::of(&mut ns).context("no Check was answered")?;
    Ok(Run {
        nodes,
        completed,
        failures,
        elapsed,
        latencies,
    })
}

/// `fabrikam\alice`, a member of `fabrikam\Exchange Admins`, which the
/// linked role group `fabrikam Recipient Admins` links to `roles`: the
/// caller the benchmarks over mutual TLS drive the node as.
///
/// # Errors
/// When a set-up command fails.
pub async fn link_recipient_admins(federation: &Federation, roles: &[&str]) -> Result<()> {
    federation.add_user("fabrikam.com", "alice").await?;
    federation
        .add_group("fabrikam.com", "Exchange Admins")
        .await?;
    federation
        .add_member("fabrikam.com", "Exchange Admins", "alice")
        .await?;
    federation
        .link_role_group(
            "fabrikam.com",
            "fabrikam Recipient Admins",
            "Exchange Admins",
            roles,
        )
        .await
}

/// `crossforest-bench cluster`: starts `max(nodes)` resource-forest nodes on
/// one PostgreSQL schema (`postgres_url`), writes the organization of
/// `shape`, then for each count in `nodes` spreads `streams` Check streams
/// over that many nodes and prints Check/s and latencies.
///
/// # Errors
/// When a node does not start, the organization cannot be written or a
/// configuration answers no Check.
pub async fn run(
    nodes: &[usize],
    streams: usize,
    limits: Limits,
    shape: Shape,
) -> Result<Vec<Run>> {
    anyhow::ensure!(
        std::env::var("CROSSFOREST_TEST_POSTGRES").is_ok_and(|u| !u.is_empty()),
        "`cluster` needs PostgreSQL: set CROSSFOREST_TEST_POSTGRES to its URL (scripts/test.sh shows one)"
    );
    let most = nodes.iter().copied().max().unwrap_or(1).max(1);
    let federation = Federation::builder()
        .resource("contoso.com")
        .account("fabrikam.com")
        .resource_rate_limit(0, 0)
        .resource_nodes(most)
        .start()
        .await?;
    link_recipient_admins(&federation, &["Mail Recipients"]).await?;
    let written = Instant::now();
    let revision = populate(&federation.lab().resource_config()?, shape).await?;
    for i in 0..most {
        federation
            .resource_node_at(i)?
            .store()
            .at_least(revision, Duration::from_secs(600))
            .await
            .map_err(|at| anyhow::anyhow!("node {i} stayed at revision {at}"))?;
    }
    println!(
        "{} recipients, {} assignments written and followed by {most} nodes in {:.1} s",
        shape.recipients,
        federation
            .resource_node_at(0)?
            .store()
            .snapshot()
            .org
            .rbac
            .assignments
            .len(),
        written.elapsed().as_secs_f64()
    );
    let mut sessions = Vec::new();
    for i in 0..most {
        let session: Session = federation.session_on(i, "fabrikam\\alice").await?.into();
        sessions.push(session);
    }
    // Warm up every node: its connection and caches.
    for session in &mut sessions {
        for k in 0..50 {
            session.check(check(k, shape.recipients)).await?;
        }
    }
    println!("| nodes | streams | checks | failures | Check/s | p50 | p99 |");
    println!("|---|---|---|---|---|---|---|");
    let mut runs = Vec::new();
    for &n in nodes {
        let run = measure(&sessions, n.max(1), streams, limits, shape.recipients).await?;
        println!(
            "| {} | {streams} | {} | {} | {:.0} | {} | {} |",
            run.nodes,
            run.completed,
            run.failures,
            run.completed as f64 / run.elapsed.as_secs_f64().max(1e-9),
            show(run.latencies.p50),
            show(run.latencies.p99),
        );
        runs.push(run);
    }
    Ok(runs)
}
