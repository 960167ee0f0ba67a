//! Structured logging with `tracing`, configured from `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// How log lines are written (`--log-format text|json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the fields of every enclosing span
    /// (request id, method, peer forest, caller SID).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("log format `{other}` is not `text` or `json`")),
        }
    }
}

/// The logging option of every crossforest binary.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Log format: `text`, or `json` (one object per line, with the request
    /// id, method, peer forest and caller SID of each request).
    #[arg(
        long,
        global = true,
        env = "CROSSFOREST_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

/// Installs a global subscriber writing to standard error, filtered by `RUST_LOG`
/// (default `default_filter`). Calling it twice is harmless.
pub fn init(default_filter: &str) {
    init_with(default_filter, LogFormat::Text);
}

/// [`init`] in the given format.
pub fn init_with(default_filter: &str, format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
