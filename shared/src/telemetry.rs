//! Structured logging with `tracing`, configured from `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// Installs a global subscriber writing to standard error, filtered by `RUST_LOG`
/// (default `default_filter`). Calling it twice is harmless.
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
