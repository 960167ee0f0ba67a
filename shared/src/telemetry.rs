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
        .with_writer(|| Escaping(std::io::stderr()))
        .with_ansi(false)
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

/// A writer that keeps every log event on one line: the formatter hands it
/// one whole event per write, and every character that could forge a line
/// or rewrite the terminal (control characters, bidi overrides, zero-width
/// characters) inside it is escaped, whatever field a caller's text reached.
struct Escaping<W>(W);

impl<W: std::io::Write> std::io::Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, end) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (text.as_ref(), ""),
        };
        let escaped = crate::text::escape(body);
        self.0.write_all(escaped.as_bytes())?;
        self.0.write_all(end.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::Escaping;

    #[test]
    fn an_event_stays_one_line_whatever_its_fields_hold() {
        let mut out = Escaping(Vec::new());
        out.write_all(b"INFO caller=fabrikam\\x\nINFO forged=1 \x1b[2J\n")
            .unwrap();
        let written = String::from_utf8(out.0).unwrap();
        assert_eq!(written.matches('\n').count(), 1, "{written}");
        assert!(written.ends_with('\n'));
        assert!(written.contains("\\nINFO forged=1 \\u{1b}[2J"), "{written}");
    }
}
