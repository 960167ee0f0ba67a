//! Serving an account forest: `serve(listener, node, shutdown)`.

use std::future::Future;
use std::sync::Arc;

use crossforest_shared::proto::directory::v1::directory_admin_server::DirectoryAdminServer;
use crossforest_shared::proto::directory::v1::directory_server::DirectoryServer;
use crossforest_shared::serve::{tls_incoming, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};
use tokio::net::TcpListener;

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
    /// Server reflection could not be built from the contracts.
    #[error("server reflection: {0}")]
    Reflection(String),
}

/// Serves `node` on `listener` (already bound) until `shutdown` completes;
/// in-flight requests finish first.
pub async fn serve(
    listener: TcpListener,
    node: Arc<AccountForest>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let incoming = tls_incoming(listener, node.tls_config()?);
    let service = DirectoryService::new(node.clone());
    let router = tonic::transport::Server::builder()
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
    // Open change feeds end when the node stops, or they would hold the
    // graceful shutdown open forever.
    let shutdown = async move {
        shutdown.await;
        node.stop_streams();
    };
    crossforest_shared::serve::with_standard_services(
        router,
        &[
            "crossforest.directory.v1.Directory",
            "crossforest.directory.v1.DirectoryAdmin",
        ],
    )
    .await
    .map_err(|e| ServeError::Reflection(e.to_string()))?
    .serve_with_incoming_shutdown(incoming, shutdown)
    .await?;
    Ok(())
}
