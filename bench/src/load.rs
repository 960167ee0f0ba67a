//! `crossforest-bench load`: drives a resource forest node over mutual TLS on
//! loopback with `Authorization.Check`, `Get-Mailbox <id>`, `New-Mailbox` and
//! `Set-Mailbox` (`Management.Invoke`) at several concurrency levels and
//! organization sizes, bounded by a request count and a time limit per cell,
//! and reports throughput, latency percentiles and CPU per request.
//!
//! The node and an account forest are started in this process by the test
//! harness (`crossforest-tests`), on a runtime of their own whose threads are
//! named [`SERVER_THREADS`]: the CPU per request is reported for the process
//! (client and server together) and apart for the server (those threads,
//! read from `/proc/self/task/*/stat`) and the load generator (the rest).
//!
//! An organization of N recipients is written into the node's store in this
//! process, while the node is stopped, before the cells run (issue 15).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use crossforest_cli::session::Session;
use crossforest_shared::proto::management::v1::CheckRequest;
use crossforest_tests::Federation;
use resource_forest::org::recipients::{Recipient, RecipientType};
use resource_forest::rbac::catalogue::DEFAULT_POLICY;

use crate::stats::{show, Latencies};

/// What each request of a cell does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Operation {
    /// `Authorization.Check` of `Set-Mailbox -Identity -Office` on a mailbox.
    Check,
    /// `Authorization.CheckBulk` of [`BULK`] such checks, each on another of
    /// the organization's mailboxes; each decision counts.
    CheckBulk,
    /// The same `CheckBulk` with `without_chains`: the decisions alone.
    CheckBulkDecisions,
    /// `Get-Mailbox <id>` through `Management.Invoke`.
    GetMailbox,
    /// `New-Mailbox -Name <new name>`: a write, one revision each.
    NewMailbox,
    /// `Set-Mailbox <one of the organization's mailboxes> -CustomAttribute1
    /// <value>`: a write, one revision each.
    SetMailbox,
}

impl Operation {
    /// Decisions per request: [`BULK`] for a `CheckBulk`, else one.
    pub fn decisions(self) -> usize {
        match self {
            Self::CheckBulk | Self::CheckBulkDecisions => BULK,
            Self::Check | Self::GetMailbox | Self::NewMailbox | Self::SetMailbox => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Check => "Check",
            Self::CheckBulk => "CheckBulk",
            Self::CheckBulkDecisions => "CheckBulk without_chains",
            Self::GetMailbox => "Get-Mailbox",
            Self::NewMailbox => "New-Mailbox",
            Self::SetMailbox => "Set-Mailbox",
        }
    }
}

/// Checks per `CheckBulk` call: the most one call may hold.
pub const BULK: usize = 1000;

/// The `Set-Mailbox -Identity -Office` check on `mailbox`.
fn office_check(mailbox: String) -> CheckRequest {
    CheckRequest {
        cmdlet: "Set-Mailbox".to_owned(),
        parameters: vec!["Identity".to_owned(), "Office".to_owned()],
        target: mailbox,
        write: None,
        at_least_revision: 0,
    }
}

/// The name of the threads of the runtime the nodes run on.
pub const SERVER_THREADS: &str = "cf-server";

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
    /// Decisions per request: [`BULK`] for `CheckBulk`, else one.
    pub decisions_per_request: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Latencies of the completed requests.
    pub latencies: Latencies,
    /// Process CPU (user + system) per request, client and server together.
    pub cpu_per_request: Duration,
    /// The load generator's share: the process's CPU less the server's.
    pub client_cpu_per_request: Duration,
    /// The server's share: the threads of the nodes' runtime.
    pub server_cpu_per_request: Duration,
    /// Requests answered with the wrong decision or an error.
    pub failures: usize,
}

impl Cell {
    /// Requests per second.
    pub fn throughput(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Decisions per second.
    pub fn decisions_per_second(&self) -> f64 {
        self.throughput() * self.decisions_per_request as f64
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

/// The CPU time (user + system) of this process's live threads named `name`,
/// from `/proc/self/task/*/stat`.
pub fn threads_cpu(name: &str) -> Result<Duration> {
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").context("reading /proc/self/task")? {
        let Ok(stat) = std::fs::read_to_string(task?.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c);
        if comm != name {
            continue;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        for i in [11, 12] {
            ticks += fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(Duration::from_millis(ticks * 10))
}

/// The process's CPU and the server's (the threads of the nodes' runtime,
/// which live as long as the lab). The load generator's is the rest, so a
/// client thread that ends within a cell is still counted as the client's.
fn cpu_now() -> Result<(Duration, Duration)> {
    Ok((process_cpu()?, threads_cpu(SERVER_THREADS)?))
}

/// A federation with a linked role group writing mailboxes, and a session of
/// its member.
pub struct Lab {
    federation: Option<Federation>,
    session: Session,
    mailbox: String,
    /// Mailboxes `load000000`… the organization was given.
    recipients: usize,
    /// Writes so far (names of new mailboxes, values set).
    writes: Arc<AtomicUsize>,
    /// The nodes' runtime.
    _server: ServerRuntime,
}

impl Drop for Lab {
    fn drop(&mut self) {
        drop(self.federation.take());
    }
}

/// The nodes' runtime, shut down without waiting when dropped (it may be
/// dropped on the client's runtime).
struct ServerRuntime(Option<tokio::runtime::Runtime>);

impl Drop for ServerRuntime {
    fn drop(&mut self) {
        if let Some(server) = self.0.take() {
            server.shutdown_background();
        }
    }
}

/// Mailbox `i` of the generated organization.
fn recipient(
    org: &resource_forest::org::Organization,
    domain: crossforest_shared::DomainSid,
    i: usize,
) -> Result<Recipient> {
    let name = format!("load{i:06}");
    Ok(Recipient {
        alias: name.clone(),
        display_name: name.clone(),
        sid: domain.with_rid(1_000_000 + u32::try_from(i)?),
        organizational_unit: org.users_ou()?,
        user_principal_name: format!("{name}@contoso.com"),
        primary_smtp_address: format!("{name}@contoso.com"),
        external_email_address: String::new(),
        role_assignment_policy: DEFAULT_POLICY.to_owned(),
        members: Default::default(),
        managed_by: Vec::new(),
        attributes: [("Department".to_owned(), format!("Dept{}", i % 50))].into(),
        recipient_type: RecipientType::UserMailbox,
        name,
    })
}

/// Writes `recipients` mailboxes into the (stopped) resource forest's store
/// as one change.
async fn populate(federation: &Federation, recipients: usize) -> Result<()> {
    let config = federation.lab().resource_config()?;
    let domain = federation.domain_sid("contoso.com")?;
    crate::cluster::write_into_store(&config, |next| {
        for i in 0..recipients {
            let r = recipient(next, domain, i)?;
            next.recipients.insert(r.name.clone(), r);
        }
        Ok(())
    })
    .await?;
    Ok(())
}

impl Lab {
    /// Starts contoso.com (resource) and fabrikam.com (account) on loopback
    /// on a runtime of their own, writes `recipients` mailboxes into the
    /// resource forest's store (stopped meanwhile), and links
    /// `fabrikam\Exchange Admins` to a role group with Mail Recipients and
    /// Mail Recipient Creation.
    ///
    /// # Errors
    /// When a node does not start or a set-up command fails.
    pub async fn start(recipients: usize) -> Result<Self> {
        let recipients = recipients.max(1);
        let server = ServerRuntime(Some(
            tokio::runtime::Builder::new_multi_thread()
                .thread_name(SERVER_THREADS)
                .enable_all()
                .build()?,
        ));
        let handle = server
            .0
            .as_ref()
            .context("the server runtime")?
            .handle()
            .clone();
        let mut federation = handle
            .spawn(async {
                let mut federation = Federation::builder()
                    .resource("contoso.com")
                    .account("fabrikam.com")
                    // One principal at tens of thousands of requests per
                    // second: no per-principal limit here (issue 16).
                    .resource_rate_limit(0, 0)
                    .start()
                    .await?;
                federation.stop("contoso.com").await?;
                anyhow::Ok(federation)
            })
            .await??;
        populate(&federation, recipients)
            .await
            .context("writing the organization")?;
        federation = handle
            .spawn(async move {
                federation.restart("contoso.com").await?;
                anyhow::Ok(federation)
            })
            .await??;
        crate::cluster::link_recipient_admins(
            &federation,
            &["Mail Recipients", "Mail Recipient Creation"],
        )
        .await?;
        let session = federation.session("fabrikam\\alice").await?.into();
        Ok(Self {
            federation: Some(federation),
            session,
            mailbox: "load000000".to_owned(),
            recipients,
            writes: Arc::new(AtomicUsize::new(0)),
            _server: server,
        })
    }

    /// The running federation.
    pub fn federation(&self) -> &Federation {
        self.federation
            .as_ref()
            .unwrap_or_else(|| unreachable!("taken only when dropped"))
    }

    /// One request; `Ok(false)` for a wrong answer.
    async fn once(
        session: &mut Session,
        operation: Operation,
        mailbox: &str,
        recipients: usize,
        writes: &AtomicUsize,
    ) -> Result<bool> {
        Ok(match operation {
            Operation::Check => session
                .check(office_check(mailbox.to_owned()))
                .await?
                .decision
                .is_some_and(|d| d.allowed),
            Operation::CheckBulk | Operation::CheckBulkDecisions => {
                let checks = (0..BULK)
                    .map(|i| office_check(format!("load{:06}", i % recipients)))
                    .collect();
                let out = if operation == Operation::CheckBulk {
                    session.check_bulk(checks).await?
                } else {
                    session.check_bulk_without_chains(checks).await?
                };
                out.decisions.len() == BULK && out.decisions.iter().all(|d| d.allowed)
            }
            Operation::GetMailbox => {
                let out = session.run(&format!("Get-Mailbox {mailbox}")).await?;
                out.records.len() == 1
            }
            Operation::NewMailbox => {
                let n = writes.fetch_add(1, Ordering::Relaxed);
                let out = session.run(&format!("New-Mailbox -Name new{n:07}")).await?;
                out.records.len() == 1
            }
            Operation::SetMailbox => {
                let n = writes.fetch_add(1, Ordering::Relaxed);
                let target = (n * 7_919) % recipients;
                session
                    .run(&format!(
                        "Set-Mailbox load{target:06} -CustomAttribute1 v{n}"
                    ))
                    .await?;
                true
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
            Self::once(
                &mut warm,
                operation,
                &self.mailbox,
                self.recipients,
                &self.writes,
            )
            .await?;
        }
        let issued = Arc::new(AtomicUsize::new(0));
        let (cpu_before, server_before) = cpu_now()?;
        let start = Instant::now();
        let deadline = start + limits.duration;
        let mut tasks = Vec::with_capacity(concurrency);
        for _ in 0..concurrency.max(1) {
            let mut session = self.session.clone();
            let issued = Arc::clone(&issued);
            let mailbox = self.mailbox.clone();
            let recipients = self.recipients;
            let writes = Arc::clone(&self.writes);
            tasks.push(tokio::spawn(async move {
                let mut ns = Vec::new();
                let mut failures = 0usize;
                while Instant::now() < deadline
                    && issued.fetch_add(1, Ordering::Relaxed) < limits.requests
                {
                    let t = Instant::now();
                    match Self::once(&mut session, operation, &mailbox, recipients, &writes).await {
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
        let (cpu_after, server_after) = cpu_now()?;
        let cpu = cpu_after.saturating_sub(cpu_before);
        let server = server_after.saturating_sub(server_before);
        let completed = ns.len();
        let Some(latencies) = Latencies::of(&mut ns) else {
            bail!("no {} request completed", operation.name());
        };
        Ok(Cell {
            operation,
            concurrency,
            completed,
            decisions_per_request: operation.decisions(),
            elapsed,
            latencies,
            cpu_per_request: cpu / completed.max(1) as u32,
            client_cpu_per_request: cpu.saturating_sub(server) / completed.max(1) as u32,
            server_cpu_per_request: server / completed.max(1) as u32,
            failures,
        })
    }
}

/// `crossforest-bench load`: for each organization size in `recipients`, a
/// fresh lab; each of `operations` at every concurrency, printed as a table;
/// with `flamegraph`, the cells (not the set-up) run under the profiler,
/// whose SVG goes there.
///
/// # Errors
/// When the lab does not start, a cell fails or the profiler does.
pub async fn run(
    operations: &[Operation],
    concurrency: &[usize],
    recipients: &[usize],
    limits: Limits,
    flamegraph: Option<&std::path::Path>,
) -> Result<Vec<Cell>> {
    println!(
        "| recipients | operation | streams | requests | failures | throughput | decisions/s | p50 | p99 | p99.9 | CPU/request | server CPU/request | client CPU/request |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut cells = Vec::new();
    for size in recipients {
        let lab = Lab::start(*size).await?;
        let profile = flamegraph.map(crate::profile::Profile::start).transpose()?;
        for operation in operations {
            for c in concurrency {
                let cell = lab.cell(*operation, *c, limits).await?;
                println!(
                    "| {} | {} | {} | {} | {} | {:.0}/s | {:.0}/s | {} | {} | {} | {} | {} | {} |",
                    size,
                    operation.name(),
                    c,
                    cell.completed,
                    cell.failures,
                    cell.throughput(),
                    cell.decisions_per_second(),
                    show(cell.latencies.p50),
                    show(cell.latencies.p99),
                    show(cell.latencies.p999),
                    show(cell.cpu_per_request),
                    show(cell.server_cpu_per_request),
                    show(cell.client_cpu_per_request),
                );
                cells.push(cell);
            }
        }
        if let (Some(profile), Some(svg)) = (profile, flamegraph) {
            profile.finish()?.print(svg, 15);
        }
    }
    Ok(cells)
}
