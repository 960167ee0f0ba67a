//! `crossforest-bench load`: drives a resource forest node over mutual TLS on
//! loopback with `Authorization.Check` and `Get-Mailbox <id>`
//! (`Management.Invoke`) at several concurrency levels, bounded by a request
//! count and a time limit per cell, and reports throughput, latency
//! percentiles and CPU per request.
//!
//! The node and an account forest are started in this process by the test
//! harness (`crossforest-tests`), so the CPU figures are the client's and the
//! server's together, an upper bound of the server's own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use crossforest_cli::session::Session;
use crossforest_shared::proto::management::v1::CheckRequest;
use crossforest_tests::Federation;

use crate::stats::{show, Latencies};

/// What each request of a cell does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Operation {
    /// `Authorization.Check` of `Set-Mailbox -Identity -Office` on a mailbox.
    Check,
    /// `Get-Mailbox <id>` through `Management.Invoke`.
    GetMailbox,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::Check => "Check",
            Self::GetMailbox => "Get-Mailbox",
        }
    }
}

/// Limits of one cell (operation × concurrency).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests at most.
    pub requests: usize,
    /// Wall time at most (requests under way finish).
    pub duration: Duration,
}

/// One cell's results.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The operation.
    pub operation: Operation,
    /// Concurrent streams.
    pub concurrency: usize,
    /// Requests that succeeded.
    pub completed: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Latencies of the completed requests.
    pub latencies: Latencies,
    /// Process CPU (user + system) per request, client and server together.
    pub cpu_per_request: Duration,
    /// Requests answered with the wrong decision or an error.
    pub failures: usize,
}

impl Cell {
    /// Requests per second.
    pub fn throughput(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The process's CPU time so far (user + system), from `/proc/self/stat`,
/// whose times are in USER_HZ (100 per second on Linux).
pub fn process_cpu() -> Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("/proc/self/stat without a command name")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    let ticks = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .context("/proc/self/stat too short")?
            .parse::<u64>()
            .context("/proc/self/stat: CPU time is not a number")
    };
    Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

/// A federation with a linked role group writing mailboxes, and a session of
/// its member.
pub struct Lab {
    federation: Federation,
    session: Session,
    mailbox: String,
}

impl Lab {
    /// Starts contoso.com (resource) and fabrikam.com (account) on loopback,
    /// links `fabrikam\Exchange Admins` to a role group with Mail Recipients
    /// and creates `mailboxes` mailboxes.
    ///
    /// # Errors
    /// When a node does not start or a set-up command fails.
    pub async fn start(mailboxes: usize) -> Result<Self> {
        let federation = Federation::builder()
            .resource("contoso.com")
            .account("fabrikam.com")
            // One principal at tens of thousands of requests per second: no
            // per-principal limit here (issue 16).
            .resource_rate_limit(0, 0)
            .start()
            .await?;
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
                &["Mail Recipients"],
            )
            .await?;
        let mut admin = federation.administrator().await?;
        for i in 0..mailboxes.max(1) {
            admin
                .run(&format!("New-Mailbox -Name load{i:04}"))
                .await
                .with_context(|| format!("New-Mailbox load{i:04}"))?;
        }
        let session = federation.session("fabrikam\\alice").await?.into();
        Ok(Self {
            federation,
            session,
            mailbox: "load0000".to_owned(),
        })
    }

    /// The running federation.
    pub fn federation(&self) -> &Federation {
        &self.federation
    }

    /// One request; `Ok(false)` for a wrong answer.
    async fn once(session: &mut Session, operation: Operation, mailbox: &str) -> Result<bool> {
        Ok(match operation {
            Operation::Check => session
                .check(CheckRequest {
                    cmdlet: "Set-Mailbox".to_owned(),
                    parameters: vec!["Identity".to_owned(), "Office".to_owned()],
                    target: mailbox.to_owned(),
                    write: None,
                })
                .await?
                .decision
                .is_some_and(|d| d.allowed),
            Operation::GetMailbox => {
                let out = session.run(&format!("Get-Mailbox {mailbox}")).await?;
                out.records.len() == 1
            }
        })
    }

    /// Runs one cell: `concurrency` streams share the request budget.
    ///
    /// # Errors
    /// When the CPU time cannot be read or no request completed.
    pub async fn cell(
        &self,
        operation: Operation,
        concurrency: usize,
        limits: Limits,
    ) -> Result<Cell> {
        // Warm up: the connection and the node's caches.
        let mut warm = self.session.clone();
        for _ in 0..20 {
            Self::once(&mut warm, operation, &self.mailbox).await?;
        }
        let issued = Arc::new(AtomicUsize::new(0));
        let cpu_before = process_cpu()?;
        let start = Instant::now();
        let deadline = start + limits.duration;
        let mut tasks = Vec::with_capacity(concurrency);
        for _ in 0..concurrency.max(1) {
            let mut session = self.session.clone();
            let issued = Arc::clone(&issued);
            let mailbox = self.mailbox.clone();
            tasks.push(tokio::spawn(async move {
                let mut ns = Vec::new();
                let mut failures = 0usize;
                while Instant::now() < deadline
                    && issued.fetch_add(1, Ordering::Relaxed) < limits.requests
                {
                    let t = Instant::now();
                    match Self::once(&mut session, operation, &mailbox).await {
                        Ok(true) => ns.push(t.elapsed().as_nanos() as u64),
                        Ok(false) | Err(_) => failures += 1,
                    }
                }
                (ns, failures)
            }));
        }
        let mut ns = Vec::new();
        let mut failures = 0;
        for task in tasks {
            let (n, f) = task.await.context("a load stream panicked")?;
            ns.extend(n);
            failures += f;
        }
        let elapsed = start.elapsed();
        let cpu = process_cpu()?.saturating_sub(cpu_before);
        let completed = ns.len();
        let Some(latencies) = Latencies::of(&mut ns) else {
            bail!("no {} request completed", operation.name());
        };
        Ok(Cell {
            operation,
            concurrency,
            completed,
            elapsed,
            latencies,
            cpu_per_request: cpu / completed.max(1) as u32,
            failures,
        })
    }
}

/// `crossforest-bench load`: each of `operations` at every concurrency,
/// printed as a table; with `flamegraph`, the cells (not the set-up) run
/// under the profiler, whose SVG goes there.
///
/// # Errors
/// When the lab does not start, a cell fails or the profiler does.
pub async fn run(
    operations: &[Operation],
    concurrency: &[usize],
    limits: Limits,
    flamegraph: Option<&std::path::Path>,
) -> Result<Vec<Cell>> {
    let lab = Lab::start(100).await?;
    let profile = flamegraph.map(crate::profile::Profile::start).transpose()?;
    println!(
        "| operation | streams | requests | failures | throughput | p50 | p99 | p99.9 | CPU/request |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut cells = Vec::new();
    for operation in operations {
        for c in concurrency {
            let cell = lab.cell(*operation, *c, limits).await?;
            println!(
                "| {} | {} | {} | {} | {:.0}/s | {} | {} | {} | {} |",
                operation.name(),
                c,
                cell.completed,
                cell.failures,
                cell.throughput(),
                show(cell.latencies.p50),
                show(cell.latencies.p99),
                show(cell.latencies.p999),
                show(cell.cpu_per_request),
            );
            cells.push(cell);
        }
    }
    if let (Some(profile), Some(svg)) = (profile, flamegraph) {
        profile.finish()?.print(svg, 15);
    }
    Ok(cells)
}
