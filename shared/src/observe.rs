//! Request ids, request spans, completion logs and request metrics: one tower
//! layer in front of every gRPC service of a node.
//!
//! Each request gets an id (an incoming `x-request-id` is honoured when it is
//! short printable ASCII, otherwise one is generated), which the services can
//! read from the request metadata and which is echoed in the response metadata.
//! The request runs in a span carrying the id, the method, and the peer's forest
//! and SID from the verified client certificate; a completion line gives the
//! gRPC status and the latency. Metadata values (tokens) are never logged.
//!
//! Metrics are labelled by method only for the methods the node serves
//! ([`KnownMethods`], read from the services' descriptors); any other path is
//! counted as [`UNKNOWN_METHOD`], and its log lines carry a cut, escaped
//! prefix of it: a caller cannot grow the metrics registry or the log lines
//! by inventing paths.

use std::collections::HashSet;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use http::{HeaderValue, Request, Response};
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tracing::Instrument;

use crate::limits::ECHO_METHOD;
use crate::metrics::Metrics;
use crate::serve::peers::ConnectionPrincipals;
use crate::text::{bounded, escape};

/// The metadata key of the request id.
pub const REQUEST_ID: &str = "x-request-id";

/// The method label of every path the node does not serve.
pub const UNKNOWN_METHOD: &str = "unknown";

/// The `/package.Service/Method` paths a node serves: every method of its
/// own services and of the standard ones (health, reflection), read from the
/// services' encoded descriptors, so that the set follows the contracts.
#[derive(Debug, Clone, Default)]
pub struct KnownMethods(Arc<HashSet<Arc<str>>>);

impl KnownMethods {
    /// The methods of `services` (full names, e.g.
    /// `crossforest.management.v1.Management`; take them from the generated
    /// servers' `NamedService::NAME`) and of the standard services.
    pub fn serving(services: &[&str]) -> Self {
        use prost::Message as _;
        let wanted: HashSet<&str> = services
            .iter()
            .copied()
            .chain(crate::serve::STANDARD_SERVICES)
            .collect();
        let mut methods = HashSet::new();
        for encoded in [
            crate::proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ] {
            let Ok(set) = prost_types::FileDescriptorSet::decode(encoded) else {
                continue;
            };
            for file in set.file {
                let package = file.package().to_owned();
                for service in file.service {
                    let name = if package.is_empty() {
                        service.name().to_owned()
                    } else {
                        format!("{package}.{}", service.name())
                    };
                    if wanted.contains(name.as_str()) {
                        methods.extend(
                            service
                                .method
                                .iter()
                                .map(|m| Arc::from(format!("/{name}/{}", m.name()))),
                        );
                    }
                }
            }
        }
        Self(Arc::new(methods))
    }

    /// Whether `path` is a method the node serves.
    pub fn contains(&self, path: &str) -> bool {
        self.0.contains(path)
    }

    /// The metrics label of `path`: itself when served (shared, not
    /// copied), else [`UNKNOWN_METHOD`].
    pub fn label(&self, path: &str) -> Arc<str> {
        self.0
            .get(path)
            .map_or_else(|| Arc::from(UNKNOWN_METHOD), Arc::clone)
    }

    /// How many methods are known.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no method is known.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The layer: add with `tonic::transport::Server::builder().layer(…)`.
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    metrics: Arc<Metrics>,
    methods: KnownMethods,
    peers: Arc<ConnectionPrincipals>,
}

impl ObserveLayer {
    /// Observes requests into `metrics`, labelled by `methods`.
    pub fn new(metrics: Arc<Metrics>, methods: KnownMethods) -> Self {
        Self {
            metrics,
            methods,
            peers: Arc::new(ConnectionPrincipals::new()),
        }
    }
}

impl<S> tower_layer::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            metrics: self.metrics.clone(),
            methods: self.methods.clone(),
            peers: self.peers.clone(),
        }
    }
}

/// The service the layer wraps around a node's routes.
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    metrics: Arc<Metrics>,
    methods: KnownMethods,
    /// Each connection's principal, read from its certificate once.
    peers: Arc<ConnectionPrincipals>,
}

/// The request id to use: the caller's when acceptable, else a new one.
pub fn request_id(incoming: Option<&HeaderValue>) -> String {
    incoming
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic() && b != b'"')
        })
        .map_or_else(
            || {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let bytes: [u8; 16] = rand::random();
                let mut id = String::with_capacity(32);
                for b in bytes {
                    id.push(char::from(HEX[usize::from(b >> 4)]));
                    id.push(char::from(HEX[usize::from(b & 0xf)]));
                }
                id
            },
            str::to_owned,
        )
}

/// The names of the gRPC status codes, by number.
const CODE_NAMES: [&str; 17] = [
    "Ok",
    "Cancelled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

/// The gRPC status name of a numeric code (`0` → `Ok`; anything else not a
/// code → `Unknown`).
pub fn code_name(code: &str) -> &'static str {
    let code = code
        .parse::<i32>()
        .map_or(tonic::Code::Unknown, tonic::Code::from_i32);
    CODE_NAMES
        .get(usize::try_from(i32::from(code)).unwrap_or(2))
        .copied()
        .unwrap_or("Unknown")
}

impl<S, B, RB> tower_service::Service<Request<B>> for Observe<S>
where
    S: tower_service::Service<Request<B>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let metrics = self.metrics.clone();
        let id = request_id(request.headers().get(REQUEST_ID));
        let header = HeaderValue::from_str(&id).ok();
        if let Some(value) = &header {
            request.headers_mut().insert(REQUEST_ID, value.clone());
        }
        let path = request.uri().path();
        // The label is one of the served methods or `unknown`; the log shows
        // at most a cut, escaped prefix of a path nobody serves.
        let method = self.methods.label(path);
        let shown = if self.methods.contains(path) {
            None
        } else {
            Some(escape(&bounded(path, ECHO_METHOD)).into_owned())
        };
        let peer = request
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .and_then(TlsConnectInfo::peer_certs)
            .and_then(|certs| self.peers.principal(&certs).ok());
        if let Some(principal) = &peer {
            // Read once per connection here, taken by `serve::caller` (issue
            // 8: the certificate was parsed twice per request; issue 20: once
            // per connection).
            request
                .extensions_mut()
                .insert(crate::serve::VerifiedPeer(principal.clone()));
        }
        let span = tracing::info_span!(
            "grpc",
            request_id = %id,
            method = %shown.as_deref().unwrap_or(&method),
            peer_forest = peer.as_ref().map(|p| tracing::field::display(&p.forest)),
            caller_sid = peer.as_ref().map(|p| tracing::field::display(&p.sid)),
        );
        Box::pin(
            async move {
                let started = Instant::now();
                let result = inner.call(request).await;
                let elapsed = started.elapsed();
                match result {
                    Ok(mut response) => {
                        // Unary errors are "trailers-only": the status is in the
                        // headers. A success carries it in the trailers.
                        let code = response
                            .headers()
                            .get("grpc-status")
                            .and_then(|v| v.to_str().ok())
                            .map_or("Ok", code_name);
                        if let Some(value) = header {
                            response.headers_mut().insert(REQUEST_ID, value);
                        }
                        metrics.request(&method, code, elapsed);
                        tracing::info!(
                            code = %code,
                            latency_ms = elapsed.as_secs_f64() * 1000.0,
                            "request completed"
                        );
                        Ok(response)
                    }
                    Err(error) => {
                        metrics.request(&method, "Transport", elapsed);
                        tracing::warn!(
                            latency_ms = elapsed.as_secs_f64() * 1000.0,
                            "request failed in transport"
                        );
                        Err(error)
                    }
                }
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acceptable_incoming_id_is_kept_and_a_bad_one_replaced() {
        let ok = HeaderValue::from_static("abc-123");
        assert_eq!(request_id(Some(&ok)), "abc-123");
        let bad = HeaderValue::from_static("has space");
        let replaced = request_id(Some(&bad));
        assert_eq!(replaced.len(), 32);
        assert_ne!(request_id(None), request_id(None));
    }

    /// Answers every request with an empty OK response.
    #[derive(Clone)]
    struct Answer;

    impl tower_service::Service<Request<()>> for Answer {
        type Response = Response<()>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<Response<()>, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request<()>) -> Self::Future {
            std::future::ready(Ok(Response::new(())))
        }
    }

    #[test]
    fn the_known_methods_are_the_served_services_and_the_standard_ones() {
        let methods = KnownMethods::serving(&["crossforest.management.v1.Management"]);
        for known in [
            "/crossforest.management.v1.Management/Invoke",
            "/crossforest.management.v1.Management/WhoAmI",
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert!(methods.contains(known), "{known} not in {methods:?}");
        }
        // Another node's service is not served here.
        assert!(!methods.contains("/crossforest.directory.v1.Directory/Authenticate"));
        assert_eq!(&*methods.label("/x.Y/Z"), UNKNOWN_METHOD);
    }

    #[tokio::test]
    async fn a_thousand_unknown_paths_make_one_unknown_series() {
        use tower_layer::Layer as _;
        use tower_service::Service as _;
        let metrics = Arc::new(Metrics::new());
        let methods = KnownMethods::serving(&["crossforest.management.v1.Management"]);
        let mut service = ObserveLayer::new(metrics.clone(), methods).layer(Answer);
        let mut send = |path: String| {
            let request = Request::builder().uri(path).body(()).unwrap();
            service.call(request)
        };
        for i in 0..1000 {
            send(format!("/attacker.v{i}.Service/Method{i}"))
                .await
                .unwrap();
        }
        send("/crossforest.management.v1.Management/Invoke".into())
            .await
            .unwrap();
        let text = metrics.encode();
        let series = |family: &str| {
            text.lines()
                .filter(|l| l.starts_with(family))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let requests = series("crossforest_grpc_requests_total");
        for line in [
            "crossforest_grpc_requests_total{method=\"unknown\",code=\"Ok\"} 1000",
            "crossforest_grpc_requests_total{method=\"/crossforest.management.v1.Management/Invoke\",code=\"Ok\"} 1",
        ] {
            assert!(requests.iter().any(|l| l == line), "{line} not in {requests:?}");
        }
        assert_eq!(series("crossforest_grpc_requests_total").len(), 2, "{text}");
        assert_eq!(
            series("crossforest_grpc_request_duration_seconds_count").len(),
            2,
            "{text}"
        );
        assert!(!text.contains("attacker"), "{text}");
    }

    #[test]
    fn codes_are_named() {
        assert_eq!(code_name("0"), "Ok");
        assert_eq!(code_name("7"), "PermissionDenied");
        assert_eq!(code_name("x"), "Unknown");
        assert_eq!(code_name("99"), "Unknown");
        for n in 0..=17 {
            let code = tonic::Code::from_i32(n);
            assert_eq!(code_name(&n.to_string()), format!("{code:?}"));
        }
    }
}
