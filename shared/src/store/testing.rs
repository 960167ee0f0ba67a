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
