//! Request ids, request spans, completion logs and request metrics: one tower
//! layer in front of every gRPC service of a node.
//!
//! Each request gets an id (an incoming `x-request-id` is honoured when it is
//! short printable ASCII, otherwise one is generated), which the services can
//! read from the request metadata and which is echoed in the response metadata.
//! The request runs in a span carrying the id, the method, and the peer's forest
//! and SID from the verified client certificate; a completion line gives the
//! gRPC status and the latency. Metadata values (tokens) are never logged.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use http::{HeaderValue, Request, Response};
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tracing::Instrument;

use crate::metrics::Metrics;

/// The metadata key of the request id.
pub const REQUEST_ID: &str = "x-request-id";

/// The layer: add with `tonic::transport::Server::builder().layer(…)`.
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    metrics: Arc<Metrics>,
}

impl ObserveLayer {
    /// Observes requests into `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> tower_layer::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service the layer wraps around a node's routes.
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    metrics: Arc<Metrics>,
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
                let bytes: [u8; 16] = rand::random();
                bytes.iter().map(|b| format!("{b:02x}")).collect()
            },
            str::to_owned,
        )
}

/// The gRPC status name of a numeric code (`0` → `OK`).
pub fn code_name(code: &str) -> String {
    code.parse::<i32>().map_or_else(
        |_| "Unknown".to_owned(),
        |n| format!("{:?}", tonic::Code::from_i32(n)),
    )
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
        let method = request.uri().path().to_owned();
        let peer = request
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .and_then(TlsConnectInfo::peer_certs)
            .and_then(|certs| crate::Principal::from_peer_certificates(&certs).ok());
        if let Some(principal) = &peer {
            // Parsed once here, read again by `serve::caller` (issue 8: the
            // certificate was parsed twice per request).
            request
                .extensions_mut()
                .insert(crate::serve::VerifiedPeer(principal.clone()));
        }
        let span = tracing::info_span!(
            "grpc",
            request_id = %id,
            method = %method,
            peer_forest = peer.as_ref().map(|p| p.forest.to_string()),
            caller_sid = peer.as_ref().map(|p| p.sid.to_string()),
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
                            .map_or_else(|| "Ok".to_owned(), code_name);
                        if let Some(value) = header {
                            response.headers_mut().insert(REQUEST_ID, value);
                        }
                        metrics.request(&method, &code, elapsed);
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

    #[test]
    fn codes_are_named() {
        assert_eq!(code_name("0"), "Ok");
        assert_eq!(code_name("7"), "PermissionDenied");
        assert_eq!(code_name("x"), "Unknown");
    }
}
