//! Standard gRPC services on every node, behind the same mutual TLS: health
//! checking and server reflection, usable by clients no one here wrote.

use crossforest_shared::client::connect;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::ServerReflectionRequest;

#[tokio::test]
async fn every_node_answers_health_checks_and_lists_its_services() {
    let f = crossforest_tests::Federation::builder()
        .account("fabrikam.com")
        .start()
        .await
        .unwrap();
    let resource = f.endpoint("contoso.com").unwrap();
    let credential = f.lab().credential(f.resource(), "Administrator").unwrap();
    let channel = connect(&resource, &credential).await.unwrap();

    let mut health = HealthClient::new(channel.clone());
    for service in [
        "",
        "crossforest.management.v1.Management",
        "crossforest.management.v1.Authorization",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer: {response:?}")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "crossforest.management.v1.Management",
        "crossforest.management.v1.Authorization",
        "grpc.health.v1.Health",
    ] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }
    assert!(
        !names.iter().any(|n| n.starts_with("crossforest.directory")),
        "the resource forest advertises only its own services: {names:?}"
    );

    // The account forest serves them too, to its own principals.
    let fabrikam = f.endpoint("fabrikam.com").unwrap();
    let fabrikam_admin = f
        .lab()
        .credential(&"fabrikam.com".parse().unwrap(), "Administrator")
        .unwrap();
    let mut health = HealthClient::new(connect(&fabrikam, &fabrikam_admin).await.unwrap());
    let status = health
        .check(HealthCheckRequest {
            service: "crossforest.directory.v1.Directory".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
}
