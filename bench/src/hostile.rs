//! `crossforest-bench hostile`: what one hostile trusted caller costs a
//! resource forest (issue 16), against node processes started by the test
//! harness (process mode, so that the node's memory and log are its own).
//!
//! * memory: the node's resident set (`VmRSS`) when idle and after
//!   `paths` requests to distinct invented method paths, sent by a disabled
//!   user's certificate without a token;
//! * disk: bytes added to the admin audit log and the node's log by
//!   `requests` oversized requests of a view-only user (half with a huge
//!   parameter value, half with a huge cmdlet name), and, for comparison,
//!   by as many requests at the size limits (60 parameters of 4096
//!   characters, as many as one message holds), which the cmdlet refuses
//!   and the audit log records.
//!
//! The node's rate limit is off here: the figures are those of the caller's
//! requests, not of the limit.

use std::path::Path;

use anyhow::{Context as _, Result};
use crossforest_cli::parse::Value;
use crossforest_shared::limits::{MAX_PARAMETERS, MAX_VALUE};
use crossforest_shared::proto::management::v1 as pb;
use crossforest_tests::Federation;
use tokio::task::JoinSet;

/// Parameters of [`MAX_VALUE`] characters in one request at the limits: as
/// many as fit in one message (`serve::MAX_REQUEST_BYTES`), below
/// [`MAX_PARAMETERS`].
const AT_LIMITS: usize = 60;
const _: () = assert!(AT_LIMITS <= MAX_PARAMETERS);

/// Resident set of process `pid`, in bytes.
fn resident(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmRSS")?;
    Ok(kib * 1024)
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Sends `count` requests to distinct invented paths over `streams`
/// connections of `user`'s certificate, without a token.
async fn unknown_paths(f: &Federation, user: &str, count: usize, streams: usize) -> Result<()> {
    let credential = f.lab().credential(&"fabrikam.com".parse()?, user)?;
    let endpoint = f.endpoint("contoso.com")?;
    let mut tasks = JoinSet::new();
    for s in 0..streams.max(1) {
        let channel = crossforest_shared::client::connect(&endpoint, &credential).await?;
        tasks.spawn(async move {
            let mut grpc = tonic::client::Grpc::new(channel);
            for i in (s..count).step_by(streams.max(1)) {
                grpc.ready().await?;
                let path = format!("/attacker.v{i}.Service{i}/Method{i}").parse()?;
                // Every one is answered UNIMPLEMENTED; only the cost matters.
                let _ = grpc
                    .unary(
                        tonic::Request::new(pb::WhoAmIRequest {}),
                        path,
                        tonic_prost::ProstCodec::<pb::WhoAmIRequest, pb::WhoAmIResponse>::default(),
                    )
                    .await;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// `crossforest-bench hostile`.
///
/// # Errors
/// When the nodes do not start or a measurement cannot be read.
pub async fn run(paths: usize, requests: usize) -> Result<()> {
    let mut f = Federation::builder()
        .resource("contoso.com")
        .account("fabrikam.com")
        .account("tailspin.com")
        .resource_rate_limit(0, 0)
        .processes()
        .start()
        .await?;
    f.add_user("fabrikam.com", "mallory").await?;
    f.disable_user("fabrikam.com", "mallory").await?;
    f.add_user("tailspin.com", "carol").await?;
    f.add_group("tailspin.com", "Exchange Admins").await?;
    f.add_member("tailspin.com", "Exchange Admins", "carol")
        .await?;
    f.link_role_group(
        "tailspin.com",
        "tailspin View-Only",
        "Exchange Admins",
        &["View-Only Recipients"],
    )
    .await?;
    let pid = f.node_pid("contoso.com")?;
    let audit = f
        .lab()
        .node_dir(f.resource())
        .join("data")
        .join("audit.jsonl");
    let log = f.node_log("contoso.com")?;

    // Memory: warm up (connections, allocator), then the invented paths.
    unknown_paths(&f, "mallory", 1000, 16).await?;
    let idle = resident(pid)?;
    unknown_paths(&f, "mallory", paths, 16).await?;
    let after = resident(pid)?;
    println!("| resident memory of the resource forest | bytes |");
    println!("|---|---|");
    println!("| idle (after 1,000 warm-up paths) | {} |", mib(idle));
    println!(
        "| after {paths} more unknown method paths | {} |",
        mib(after)
    );
    println!("| growth | {} |", mib(after.saturating_sub(idle)));

    // Disk: oversized requests of a view-only user, then requests at the limits.
    let mut carol = f.session("tailspin\\carol").await?;
    let huge = 200 * 1024;
    let (audit_before, log_before) = (size(&audit), size(&log));
    for i in 0..requests {
        let result = if i % 2 == 0 {
            carol
                .invoke(
                    "Set-Mailbox",
                    vec![
                        ("Identity".into(), Value::Text("x".into())),
                        ("Office".into(), Value::Text("o".repeat(huge))),
                    ],
                )
                .await
        } else {
            carol.invoke(&"c".repeat(huge), vec![]).await
        };
        match result {
            Err(crossforest_tests::Error::InvalidArgument { .. }) => {}
            other => anyhow::bail!("an oversized request was not refused: {other:?}"),
        }
    }
    let (audit_oversized, log_oversized) = (size(&audit), size(&log));
    for _ in 0..requests {
        // As many values of the largest size as one message holds.
        let parameters = (0..AT_LIMITS)
            .map(|i| (format!("P{i}"), Value::Text("v".repeat(MAX_VALUE))))
            .collect();
        // Refused while binding (no such parameters), and audited.
        match carol.invoke("Set-Mailbox", parameters).await {
            Err(crossforest_tests::Error::InvalidArgument { parameter, .. })
                if parameter == "P0" => {}
            other => {
                anyhow::bail!("a request at the limits was not refused by the cmdlet: {other:?}")
            }
        }
    }
    let (audit_limits, log_limits) = (size(&audit), size(&log));
    println!();
    println!("| {requests} requests of a view-only user | audit log | node log | total |");
    println!("|---|---|---|---|");
    let row = |what: &str, audit: u64, log: u64| {
        println!(
            "| {what} | {} | {} | {} |",
            mib(audit),
            mib(log),
            mib(audit + log)
        );
    };
    row(
        "oversized (200 KiB value or cmdlet name)",
        audit_oversized - audit_before,
        log_oversized - log_before,
    );
    row(
        "at the limits (60 parameters × 4096 characters), refused by the cmdlet and audited",
        audit_limits - audit_oversized,
        log_limits - log_oversized,
    );
    Ok(())
}
