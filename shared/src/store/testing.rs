//! For tests that run against PostgreSQL: where the test server is, and a
//! fresh schema per test so that tests can run in parallel.
//!
//! * `CROSSFOREST_TEST_POSTGRES`: the server's URL
//!   (`postgres://user:password@127.0.0.1/db`);
//! * `CROSSFOREST_REQUIRE_POSTGRES=1`: a missing URL is an error, not a skip
//!   (`scripts/test.sh` sets both).

use std::sync::atomic::{AtomicU32, Ordering};

use super::StoreConfig;

/// The test server's URL; `Ok(None)` (after printing why the test is
/// skipped) when none is configured and none is required.
pub fn postgres_url(test: &str) -> Result<Option<String>, String> {
    match std::env::var("CROSSFOREST_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Ok(Some(url)),
        _ if std::env::var("CROSSFOREST_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            Err("CROSSFOREST_REQUIRE_POSTGRES=1 but CROSSFOREST_TEST_POSTGRES is not set".into())
        }
        _ => {
            eprintln!("skipped: {test}: set CROSSFOREST_TEST_POSTGRES to a PostgreSQL URL to run it (scripts/test.sh does)");
            Ok(None)
        }
    }
}

/// A schema name no other test (in this or another process) uses.
pub fn unique_schema(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The store the scenario tests' nodes use:
/// `CROSSFOREST_TEST_STORE=postgres` selects PostgreSQL (a fresh schema per
/// call), anything else the embedded store.
pub fn scenario_store() -> Result<StoreConfig, String> {
    if std::env::var("CROSSFOREST_TEST_STORE").as_deref() != Ok("postgres") {
        return Ok(StoreConfig::Embedded);
    }
    let url = std::env::var("CROSSFOREST_TEST_POSTGRES").map_err(|_| {
        "CROSSFOREST_TEST_STORE=postgres needs CROSSFOREST_TEST_POSTGRES".to_owned()
    })?;
    Ok(StoreConfig::Postgres {
        url,
        schema: unique_schema("scenario"),
    })
}

/// A store benchmark's summary of one writer's write times: writes per
/// second, p50, p99 and max.
pub fn write_rate(mut samples: Vec<std::time::Duration>) -> String {
    samples.sort();
    let ms = |p: f64| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a rank among the samples"
        )]
        let rank = ((samples.len() as f64 * p) as usize).min(samples.len().saturating_sub(1));
        samples.get(rank).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let total: std::time::Duration = samples.iter().sum();
    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    let rate = samples.len() as f64 / total.as_secs_f64().max(f64::MIN_POSITIVE);
    format!(
        "{rate:.0}/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(0.50),
        ms(0.99),
        ms(1.0)
    )
}
