//! Trusts: each account forest the resource forest trusts, whether its link
//! (the linked credential's calls) is up, how long since it last answered
//! against its staleness bound, and when its
//! CA certificate and linked credential expire. Read from the lab's
//! `node.toml` and certificates, and the resource forest's `/metrics`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::BodyExt as _;

use crate::console::html::{self, escape};
use crate::console::server::Console;

const TITLE: &str = "Trusts";

/// The trusts as a table.
pub async fn list(console: &Console) -> (String, String) {
    let lab = &console.lab;
    let mut main = format!(
        "<p>The one-way trusts of {}: read from the lab's <code>node.toml</code> and certificates \
         (as <code>crossforest pki list</code> shows them) and the resource forest's \
         <code>/metrics</code> (<code>crossforest_trust_link_up</code>, \
         <code>crossforest_trust_last_success_timestamp_seconds</code>). A trust whose link stays \
         down longer than its staleness bound stops its users' requests.</p>",
        escape(lab.file().resource.as_str())
    );
    let config = match lab.resource_config() {
        Ok(config) => config,
        Err(e) => {
            main.push_str(&html::error(
                "Could not read the resource forest's node.toml",
                &format!("{e:#}"),
            ));
            return (TITLE.to_owned(), main);
        }
    };
    let links = match &config.operations.metrics_listen {
        Some(address) => link_states(address).await,
        None => Err(
            "the resource forest serves no /metrics (operations.metrics_listen is not set)"
                .to_owned(),
        ),
    };
    if let Err(why) = &links {
        main.push_str(&html::error("Link state unknown", why));
    }
    let node_dir = lab.node_dir(&lab.file().resource);
    let rows = config.trusts.iter().map(|trust| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let link = match &links {
            Ok(states) => describe(
                states.get(trust.forest.as_str()),
                trust.max_staleness_secs,
                now,
            ),
            Err(_) => "unknown".to_owned(),
        };
        let credential = trust
            .linked_credential
            .as_ref()
            .map(|c| (c.user.clone(), expiry(&node_dir.join(&c.credential))))
            .unwrap_or_else(|| ("none".to_owned(), String::new()));
        vec![
            escape(trust.forest.as_str()),
            escape(&trust.endpoint),
            escape(&link),
            escape(&format!("{} s", trust.max_staleness_secs)),
            escape(&expiry(&node_dir.join(&trust.ca_certificate))),
            escape(&credential.0),
            escape(&credential.1),
        ]
    });
    main.push_str(&html::table(
        "Account forests",
        &[
            "Forest".into(),
            "Endpoint".into(),
            "Link".into(),
            "Staleness bound".into(),
            "CA certificate expires".into(),
            "Linked credential".into(),
            "Linked credential expires".into(),
        ],
        rows,
    ));
    (TITLE.to_owned(), main)
}

/// When the certificates in `path` expire (the earliest of a bundle's
/// last ones, each listed), or why that is unknown.
fn expiry(path: &Path) -> String {
    let text = match crossforest_shared::pki::read_text(path) {
        Ok(text) => text,
        Err(e) => return e.to_string(),
    };
    let what = path.display().to_string();
    match crossforest_shared::pki::certificates_der(&text, &what) {
        Ok(ders) => ders
            .iter()
            .map(|der| match crossforest_shared::inspect::summarize(der) {
                Ok(summary) => summary.not_after,
                Err(e) => e.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => e.to_string(),
    }
}

/// The most of a metrics text read.
const MAX_METRICS: usize = 4 * 1024 * 1024;

/// What `/metrics` says of one trust's link.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct LinkState {
    /// Whether the last call with the linked credential succeeded.
    up: Option<bool>,
    /// When a call last succeeded (Unix seconds).
    last_success: Option<u64>,
}

/// The link of a trust in words: up or down, how long since it last
/// answered, and whether that is past the trust's staleness bound.
fn describe(state: Option<&LinkState>, bound_secs: u64, now: u64) -> String {
    let Some(state) = state else {
        return "not called yet".to_owned();
    };
    let up = match state.up {
        Some(true) => "up",
        Some(false) => "DOWN",
        None => "unknown",
    };
    match state.last_success {
        None => format!("{up}, never answered"),
        Some(at) => {
            let age = now.saturating_sub(at);
            let stale = if age > bound_secs { " — STALE" } else { "" };
            format!("{up}, last answered {age} s ago{stale}")
        }
    }
}

/// The link state of each forest, from the plain-HTTP `/metrics` at
/// `address` (hyper's HTTP/1.1 client).
async fn link_states(address: &str) -> Result<BTreeMap<String, LinkState>, String> {
    let fetch = async {
        let tcp = tokio::net::TcpStream::connect(address).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
        tokio::spawn(connection);
        let request = hyper::Request::get("/metrics")
            .header(hyper::header::HOST, address)
            .body(http_body_util::Empty::<hyper::body::Bytes>::new())?;
        let response = sender.send_request(request).await?;
        anyhow::ensure!(
            response.status().is_success(),
            "it answered {}",
            response.status()
        );
        let body = http_body_util::Limited::new(response.into_body(), MAX_METRICS)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .to_bytes();
        anyhow::Ok(String::from_utf8_lossy(&body).into_owned())
    };
    let text = tokio::time::timeout(Duration::from_secs(3), fetch)
        .await
        .map_err(|_| format!("/metrics at {address} did not answer within 3 s"))?
        .map_err(|e| format!("cannot read /metrics at {address}: {e:#}"))?;
    Ok(parse_link_states(&text))
}

/// The `crossforest_trust_link_up{forest="…"} 0|1` and
/// `crossforest_trust_last_success_timestamp_seconds{forest="…"} T` samples
/// of a metrics text, by forest.
fn parse_link_states(text: &str) -> BTreeMap<String, LinkState> {
    let mut states = BTreeMap::<String, LinkState>::new();
    for line in text.lines() {
        let sample = |series: &str| {
            let rest = line.strip_prefix(series)?.strip_prefix("{forest=\"")?;
            let (forest, value) = rest.split_once("\"}")?;
            Some((forest.to_owned(), value.trim().to_owned()))
        };
        if let Some((forest, value)) = sample("crossforest_trust_link_up") {
            states.entry(forest).or_default().up = Some(value == "1");
        } else if let Some((forest, value)) =
            sample("crossforest_trust_last_success_timestamp_seconds")
        {
            states.entry(forest).or_default().last_success = value.parse().ok();
        }
    }
    states
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_states_are_read_from_the_metrics_text() {
        let text = "# HELP crossforest_trust_link_up …\n\
                    crossforest_trust_link_up{forest=\"fabrikam.com\"} 1\n\
                    crossforest_trust_link_up{forest=\"tailspin.com\"} 0\n\
                    crossforest_trust_last_success_timestamp_seconds{forest=\"fabrikam.com\"} 1000\n\
                    crossforest_trust_last_success_timestamp_seconds{forest=\"tailspin.com\"} 900\n\
                    crossforest_requests_total{method=\"x\"} 3\n";
        let states = parse_link_states(text);
        let fabrikam = LinkState {
            up: Some(true),
            last_success: Some(1000),
        };
        let tailspin = LinkState {
            up: Some(false),
            last_success: Some(900),
        };
        assert_eq!(states.get("fabrikam.com"), Some(&fabrikam));
        assert_eq!(states.get("tailspin.com"), Some(&tailspin));
        assert_eq!(states.len(), 2);
    }

    #[test]
    fn a_link_past_its_staleness_bound_is_stale() {
        let down = LinkState {
            up: Some(false),
            last_success: Some(900),
        };
        assert_eq!(
            describe(Some(&down), 60, 1000),
            "DOWN, last answered 100 s ago — STALE"
        );
        assert_eq!(
            describe(Some(&down), 300, 1000),
            "DOWN, last answered 100 s ago"
        );
        let never = LinkState {
            up: Some(false),
            last_success: None,
        };
        assert_eq!(describe(Some(&never), 60, 1000), "DOWN, never answered");
        assert_eq!(describe(None, 60, 1000), "not called yet");
    }
}
