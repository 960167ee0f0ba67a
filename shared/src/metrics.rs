//! Prometheus metrics of a node, and the plain-HTTP `/metrics` endpoint that
//! exposes them in the Prometheus text format.
//!
//! Series (all prefixed `crossforest_`):
//! * `grpc_requests_total{method,code}` and `grpc_request_duration_seconds{method}`:
//!   `method` is one the node serves, or `unknown` (see
//!   [`crate::observe::KnownMethods`]);
//! * `rate_limited_total{forest}`: requests refused by the per-principal rate
//!   limit, by the forest of the caller's certificate (`unidentified` without
//!   one); only trusted forests' certificates get this far;
//! * `decisions_total{decision="allowed|denied"}`: RBAC decisions on cmdlets;
//! * `sid_filter_dropped_total{forest}`: SIDs dropped by SID filtering (R-TRUST-3);
//! * `trust_link_up{forest}`: 1 when the last call to the account forest with the
//!   linked credential succeeded, 0 when it failed;
//! * `trust_last_success_timestamp_seconds{forest}`: when (Unix seconds) a call
//!   to the account forest with the linked credential last succeeded, so a
//!   reader can tell how stale the link is;
//! * `authentications_total{result="success|failure"}`: account forest sign-ins;
//! * `tls_reloads_total{result="success|failure"}`: certificate reloads.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// Labels of a gRPC request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `/package.Service/Method`.
    pub method: Arc<str>,
    /// The gRPC status code name, e.g. `Ok`, `PermissionDenied`.
    pub code: &'static str,
}

/// Labels carrying only a gRPC method.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    /// `/package.Service/Method`.
    pub method: Arc<str>,
}

/// Labels of a decision.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    /// `allowed` or `denied`.
    pub decision: &'static str,
}

/// Labels naming a forest.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ForestLabels {
    /// The forest's DNS name.
    pub forest: String,
}

/// Labels of an outcome.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `success` or `failure`.
    pub result: String,
}

type DurationFamily = Family<MethodLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // 1 ms .. ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Every metric of one node, and the registry that encodes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: DurationFamily,
    decisions: Family<DecisionLabels, Counter>,
    sid_filter_dropped: Family<ForestLabels, Counter>,
    trust_link_up: Family<ForestLabels, Gauge>,
    trust_last_success: Family<ForestLabels, Gauge>,
    authentications: Family<ResultLabels, Counter>,
    tls_reloads: Family<ResultLabels, Counter>,
    rate_limited: Family<ForestLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh set of metrics, registered under the `crossforest` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("crossforest");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "grpc_requests",
            "gRPC requests served, by method and status code",
            requests.clone(),
        );
        let durations: DurationFamily = Family::new_with_constructor(duration_histogram);
        registry.register(
            "grpc_request_duration_seconds",
            "Time to serve a gRPC request, by method",
            durations.clone(),
        );
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "decisions",
            "RBAC decisions on cmdlets, allowed or denied",
            decisions.clone(),
        );
        let sid_filter_dropped = Family::<ForestLabels, Counter>::default();
        registry.register(
            "sid_filter_dropped",
            "SIDs dropped by SID filtering, by the forest that vouched for them (R-TRUST-3)",
            sid_filter_dropped.clone(),
        );
        let trust_link_up = Family::<ForestLabels, Gauge>::default();
        registry.register(
            "trust_link_up",
            "1 when the last call to a trusted forest with the linked credential succeeded, 0 when it failed",
            trust_link_up.clone(),
        );
        let trust_last_success = Family::<ForestLabels, Gauge>::default();
        registry.register(
            "trust_last_success_timestamp_seconds",
            "When a call to a trusted forest with the linked credential last succeeded (Unix seconds)",
            trust_last_success.clone(),
        );
        let authentications = Family::<ResultLabels, Counter>::default();
        registry.register(
            "authentications",
            "Sign-ins at this account forest, by result",
            authentications.clone(),
        );
        let tls_reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "tls_reloads",
            "Reloads of certificates and trust bundles, by result",
            tls_reloads.clone(),
        );
        let rate_limited = Family::<ForestLabels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused by the per-principal rate limit, by the caller's forest",
            rate_limited.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            decisions,
            sid_filter_dropped,
            trust_link_up,
            trust_last_success,
            authentications,
            tls_reloads,
            rate_limited,
        }
    }

    /// Records one served gRPC request (its labels shared, not copied: no
    /// allocation per request).
    pub fn request(&self, method: &Arc<str>, code: &'static str, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: Arc::clone(method),
                code,
            })
            .inc();
        self.durations
            .get_or_create(&MethodLabels {
                method: Arc::clone(method),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Records an RBAC decision.
    pub fn decision(&self, allowed: bool) {
        let decision = if allowed { "allowed" } else { "denied" };
        self.decisions
            .get_or_create(&DecisionLabels { decision })
            .inc();
    }

    /// Records `count` SIDs dropped from a token of `forest`.
    pub fn sid_filter_dropped(&self, forest: &str, count: usize) {
        if count > 0 {
            self.sid_filter_dropped
                .get_or_create(&ForestLabels {
                    forest: forest.to_owned(),
                })
                .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
        }
    }

    /// Records whether the link to `forest` works.
    pub fn trust_link(&self, forest: &str, up: bool) {
        let labels = ForestLabels {
            forest: forest.to_owned(),
        };
        self.trust_link_up.get_or_create(&labels).set(i64::from(up));
        if up {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            self.trust_last_success.get_or_create(&labels).set(now);
        }
    }

    /// Records a sign-in at an account forest.
    pub fn authentication(&self, success: bool) {
        self.authentications.get_or_create(&result(success)).inc();
    }

    /// Records a request of a principal of `forest` refused by the rate limit.
    pub fn rate_limited(&self, forest: &str) {
        self.rate_limited
            .get_or_create(&ForestLabels {
                forest: forest.to_owned(),
            })
            .inc();
    }

    /// Records a reload of certificates and trust bundles.
    pub fn tls_reload(&self, success: bool) {
        self.tls_reloads.get_or_create(&result(success)).inc();
    }

    /// Every series in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

fn result(success: bool) -> ResultLabels {
    ResultLabels {
        result: if success { "success" } else { "failure" }.to_owned(),
    }
}

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn respond(
    metrics: &Metrics,
    request: &hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (status, content_type, body) =
        if request.method() == hyper::Method::GET && request.uri().path() == "/metrics" {
            (hyper::StatusCode::OK, CONTENT_TYPE, metrics.encode())
        } else {
            (
                hyper::StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "only GET /metrics is served here\n".to_owned(),
            )
        };
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// Serves `GET /metrics` over plain HTTP/1.1 on `listener` until `shutdown`
/// completes. Metrics carry no secrets; bind it to loopback or a management
/// network all the same.
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send,
) {
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "metrics: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = respond(&metrics, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await
            {
                tracing::debug!(%peer, %error, "metrics connection ended");
            }
        });
    }
}

/// Binds `listen` for the metrics endpoint and announces the bound address in
/// `<data_dir>/metrics-listening`.
pub async fn bind_metrics(
    listen: &str,
    data_dir: &std::path::Path,
) -> std::io::Result<(TcpListener, std::net::SocketAddr)> {
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen for metrics on `{listen}`: {e}"),
        )
    })?;
    let address = listener.local_addr()?;
    crate::config::write_atomic(
        &data_dir.join("metrics-listening"),
        address.to_string().as_bytes(),
    )
    .map_err(std::io::Error::other)?;
    Ok((listener, address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_named_as_documented() {
        let m = Metrics::new();
        m.request(&Arc::from("/x.Y/Z"), "OK", Duration::from_millis(3));
        m.decision(true);
        m.decision(false);
        m.sid_filter_dropped("fabrikam.com", 2);
        m.trust_link("fabrikam.com", true);
        let text = m.encode();
        for line in [
            "crossforest_grpc_requests_total{method=\"/x.Y/Z\",code=\"OK\"} 1",
            "crossforest_decisions_total{decision=\"allowed\"} 1",
            "crossforest_decisions_total{decision=\"denied\"} 1",
            "crossforest_sid_filter_dropped_total{forest=\"fabrikam.com\"} 2",
            "crossforest_trust_link_up{forest=\"fabrikam.com\"} 1",
            "crossforest_trust_last_success_timestamp_seconds{forest=\"fabrikam.com\"} ",
            "crossforest_grpc_request_duration_seconds_count{method=\"/x.Y/Z\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
