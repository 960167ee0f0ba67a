//! Serving an account forest: `serve(listener, node, shutdown)`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crossforest_shared::observe::{KnownMethods, ObserveLayer};
use crossforest_shared::proto::directory::v1::directory_admin_server::DirectoryAdminServer;
use crossforest_shared::proto::directory::v1::directory_server::DirectoryServer;
use crossforest_shared::rate_limit::{Rate, RateLimitLayer};
use crossforest_shared::serve::{
    start_operations, tls_incoming, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES,
};
use tokio::net::TcpListener;
use tonic::server::NamedService;

use crate::node::{AccountForest, NodeError};
use crate::service::DirectoryService;

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The node could not be set up.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The gRPC transport failed.
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The metrics endpoint could not listen (the I/O error stays its
    /// source, so that an address in use is told apart).
    #[error("{0}")]
    Metrics(#[from] std::io::Error),
    /// Server reflection could not be built from the contracts.
    #[error("server reflection: {0}")]
    Reflection(String),
}

/// The services an account forest serves besides the standard ones.
pub const SERVICES: [&str; 2] = [
    <DirectoryServer<DirectoryService> as NamedService>::NAME,
    <DirectoryAdminServer<DirectoryService> as NamedService>::NAME,
];

/// Serves `node` on `listener` (already bound) until `shutdown` completes, with
/// request ids, metrics and certificate reloading; on shutdown in-flight
/// requests finish, for at most the drain timeout.
pub async fn serve(
    listener: TcpListener,
    node: Arc<AccountForest>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let operations = node.config().operations.clone();
    let streams = node.clone();
    // Open change feeds end when the node stops, or they would hold the
    // graceful shutdown open until the drain timeout.
    let shutdown = async move {
        shutdown.await;
        streams.stop_streams();
    };
    let (signal, stopping) = start_operations(&node, listener.local_addr()?, shutdown).await?;
    let incoming = tls_incoming(listener, node.tls_config());
    let layer = ObserveLayer::new(node.metrics().clone(), KnownMethods::serving(&SERVICES));
    let limit = RateLimitLayer::new(Rate::of(&operations), node.metrics().clone());
    let service = DirectoryService::new(node);
    let router = tonic::transport::Server::builder()
        .layer(layer)
        .layer(limit)
        .add_service(
            DirectoryServer::new(service.clone())
                .max_decoding_message_size(MAX_REQUEST_BYTES)
                .max_encoding_message_size(MAX_RESPONSE_BYTES),
        )
        .add_service(
            DirectoryAdminServer::new(service)
                .max_decoding_message_size(MAX_REQUEST_BYTES)
                .max_encoding_message_size(MAX_RESPONSE_BYTES),
        );
    let server = crossforest_shared::serve::with_standard_services(router, &SERVICES)
        .await
        .map_err(|e| ServeError::Reflection(e.to_string()))?
        .serve_with_incoming_shutdown(incoming, signal);
    if let Some(served) = stopping
        .until_drained(server, Duration::from_secs(operations.drain_timeout_secs))
        .await
    {
        served?;
    }
    Ok(())
}
