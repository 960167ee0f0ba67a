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
/// (default `default_filter`), in colour only when standard error is a
/// terminal (a node's log file stays plain text). Calling it twice is
/// harmless.
pub fn init(default_filter: &str) {
    init_with(default_filter, LogFormat::Text);
}

/// [`init`] in the given format.
pub fn init_with(default_filter: &str, format: LogFormat) {
    use std::io::IsTerminal as _;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let colour = format == LogFormat::Text && std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || Escaping {
            out: std::io::stderr(),
            colour,
        })
        .with_ansi(colour)
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
/// With `colour`, the formatter's colour and style sequences pass (and only
/// those: they can recolour text, never hide it, move the cursor or clear).
struct Escaping<W> {
    out: W,
    colour: bool,
}

/// SGR parameters the log formatter uses: reset, bold, dim, italic, their
/// resets, and the eight foreground colours.
const FORMATTER_SGR: &[&str] = &[
    "0", "1", "2", "3", "22", "23", "30", "31", "32", "33", "34", "35", "36", "37", "39",
];

/// The length of the colour sequence `ESC [ <params> m` at the start of
/// `text`, when every parameter is one the formatter uses.
fn formatter_colour(text: &str) -> Option<usize> {
    let params = text.strip_prefix("\u{1b}[")?;
    let end = params.find('m')?;
    let params = &params[..end];
    params
        .split(';')
        .all(|p| FORMATTER_SGR.contains(&p))
        .then_some(2 + end + 1)
}

/// `body` escaped, keeping the formatter's colour sequences when `colour`.
fn escape_event(body: &str, colour: bool) -> String {
    if !colour {
        return crate::text::escape(body).into_owned();
    }
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find('\u{1b}') {
        out.push_str(&crate::text::escape(&rest[..at]));
        match formatter_colour(&rest[at..]) {
            Some(len) => {
                out.push_str(&rest[at..at + len]);
                rest = &rest[at + len..];
            }
            None => {
                out.push_str(&crate::text::escape("\u{1b}"));
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(&crate::text::escape(rest));
    out
}

impl<W: std::io::Write> std::io::Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, end) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (text.as_ref(), ""),
        };
        self.out
            .write_all(escape_event(body, self.colour).as_bytes())?;
        self.out.write_all(end.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::{escape_event, Escaping};

    #[test]
    fn an_event_stays_one_line_whatever_its_fields_hold() {
        let mut out = Escaping {
            out: Vec::new(),
            colour: false,
        };
        out.write_all(b"INFO caller=fabrikam\\x\nINFO forged=1 \x1b[2J\n")
            .unwrap();
        let written = String::from_utf8(out.out).unwrap();
        assert_eq!(written.matches('\n').count(), 1, "{written}");
        assert!(written.ends_with('\n'));
        assert!(written.contains("\\nINFO forged=1 \\u{1b}[2J"), "{written}");
    }

    #[test]
    fn colour_keeps_the_formatters_sequences_and_escapes_the_rest() {
        let event = "\u{1b}[32m INFO\u{1b}[0m \u{1b}[1mgrpc\u{1b}[0m x=\u{1b}[2J\u{1b}[8mhidden";
        let coloured = escape_event(event, true);
        assert!(coloured.starts_with("\u{1b}[32m INFO\u{1b}[0m \u{1b}[1mgrpc\u{1b}[0m"));
        assert!(
            coloured.ends_with("x=\\u{1b}[2J\\u{1b}[8mhidden"),
            "{coloured}"
        );
        let plain = escape_event(event, false);
        assert!(!plain.contains('\u{1b}'), "{plain}");
    }
}
