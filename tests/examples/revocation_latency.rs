//! Measures revocation freshness (issue 7): from the moment fabrikam.com
//! acknowledges `Remove-ADGroupMember` (the RemoveGroupMember call returns) to
//! the first request with the user's old, still valid token that contoso.com
//! denies. Real servers, real mutual TLS, in one process.
//!
//! ```sh
//! cargo run -p crossforest-tests --example revocation_latency [ROUNDS]
//! ```

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use crossforest_tests::Federation;

/// Longest wait for one denial before the run is declared failed.
const GIVE_UP: Duration = Duration::from_secs(30);

async fn first_denial(f: &Federation) -> anyhow::Result<Duration> {
    f.add_member("fabrikam.com", "Exchange Admins", "Tier 2 Admins")
        .await?;
    let mut alice = f.session("fabrikam\\alice").await?;
    alice.run("Get-Mailbox").await.context("alice is allowed")?;
    f.remove_member("fabrikam.com", "Exchange Admins", "Tier 2 Admins")
        .await?;
    let acknowledged = Instant::now();
    loop {
        match alice.run("Get-Mailbox").await {
            Err(e) if e.is_denied() => return Ok(acknowledged.elapsed()),
            Err(e) => bail!("unexpected failure: {e}"),
            Ok(_) if acknowledged.elapsed() > GIVE_UP => bail!("never denied"),
            Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(rank).copied().unwrap_or_default()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(50);
    let f = Federation::builder()
        .resource("contoso.com")
        .account("fabrikam.com")
        .start()
        .await?;
    f.add_user("fabrikam.com", "alice").await?;
    f.add_group("fabrikam.com", "Exchange Admins").await?;
    f.add_group("fabrikam.com", "Tier 2 Admins").await?;
    f.add_member("fabrikam.com", "Tier 2 Admins", "alice")
        .await?;
    f.add_member("fabrikam.com", "Exchange Admins", "Tier 2 Admins")
        .await?;
    f.link_role_group(
        "fabrikam.com",
        "fabrikam Recipient Admins",
        "Exchange Admins",
        &["Mail Recipients"],
    )
    .await?;
    f.remove_member("fabrikam.com", "Exchange Admins", "Tier 2 Admins")
        .await?;
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        samples.push(first_denial(&f).await?);
    }
    samples.sort();
    println!(
        "change acknowledged → first denial over {rounds} rounds: p50 {:?}, p95 {:?}, max {:?}",
        percentile(&samples, 0.5),
        percentile(&samples, 0.95),
        samples.last().copied().unwrap_or_default()
    );
    Ok(())
}
