//! The TLS accept loop in front of every tonic server.
//!
//! Handshakes run concurrently (one slow peer cannot stall the listener) and are
//! bounded in time; a refused handshake is logged with the peer address and the
//! reason, and never reaches a gRPC service.

use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

/// How long a TLS handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepted, verified TLS connections from `listener`, for
/// `tonic::transport::Server::serve_with_incoming_shutdown`. The loop stops when
/// the returned stream is dropped.
pub fn tls_incoming(
    listener: TcpListener,
    config: Arc<ServerConfig>,
) -> ReceiverStream<Result<TlsStream<TcpStream>, std::io::Error>> {
    let (tx, rx) = mpsc::channel(64);
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = tx.closed() => return,
            };
            let (tcp, peer) = match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // gRPC sends small frames: without TCP_NODELAY, Nagle's algorithm
            // and the peer's delayed ACK hold each response about 40 ms.
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::warn!(%peer, %error, "could not set TCP_NODELAY");
            }
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(error)) => {
                        tracing::info!(%peer, %error, "TLS handshake refused");
                    }
                    Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// The principal named by the verified client certificate of a request. The TLS
/// verifier has already checked the chain against the CA of the forest the
/// certificate names; this only reads the name.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<crate::Principal, tonic::Status> {
    let certs = request
        .peer_certs()
        .ok_or_else(|| tonic::Status::unauthenticated("no client certificate was presented"))?;
    crate::Principal::from_peer_certificates(&certs)
        .map_err(|e| tonic::Status::unauthenticated(e.to_string()))
}

/// Completes on Ctrl-C or SIGTERM: the shutdown signal of a node process.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// Binds a node's listen address and announces the bound address in
/// `<data_dir>/listening`, which launchers wait for instead of sleeping.
pub async fn bind_and_announce(
    listen: &str,
    data_dir: &std::path::Path,
) -> std::io::Result<(TcpListener, std::net::SocketAddr)> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on `{listen}`: {e}")))?;
    let address = listener.local_addr()?;
    crate::config::write_atomic(&data_dir.join("listening"), address.to_string().as_bytes())
        .map_err(std::io::Error::other)?;
    Ok((listener, address))
}

/// The reflection services every node serves: `grpc.reflection.v1` and
/// `grpc.reflection.v1alpha`, the version Python's `grpcio-reflection` client
/// speaks.
pub const REFLECTION_SERVICES: [&str; 2] = [
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Adds the standard gRPC services every node serves: health checking
/// (`grpc.health.v1.Health`, each of `services` reported SERVING) and server
/// reflection, both `v1` and `v1alpha`, listing `services` and the standard ones.
pub async fn with_standard_services(
    router: tonic::transport::server::Router,
    services: &[&str],
) -> Result<tonic::transport::server::Router, tonic_reflection::server::Error> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for service in services {
        reporter
            .set_service_status(*service, tonic_health::ServingStatus::Serving)
            .await;
    }
    // Both versions answer the same: this node's services and the standard
    // ones, not every contract of the workspace.
    let reflection = || {
        let builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
            .with_service_name("grpc.health.v1.Health");
        REFLECTION_SERVICES
            .iter()
            .chain(services)
            .fold(builder, |builder, service| {
                builder.with_service_name(*service)
            })
    };
    Ok(router
        .add_service(health)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?))
}
