//! The harness's typed edge: a failure is asserted by its kind and fields,
//! never by matching a message, so that these break if the stable codes do.

use super::common::federation;
use crossforest_tests::{DenialRule, Error, Refusal};

#[tokio::test]
async fn a_denial_is_typed_with_its_rule_and_reason() {
    let f = federation().await;
    let mut carol = f.session("tailspin\\carol").await.unwrap();
    carol.run("Get-Mailbox").await.unwrap();
    let error = carol
        .run("Set-Mailbox Administrator -Office x")
        .await
        .unwrap_err();
    let Error::Denied { rule, reason } = &error else {
        panic!("not a denial: {error:?}");
    };
    assert_eq!(*rule, DenialRule::CmdletNotAvailable, "{reason}");
    assert!(reason.contains("Set-Mailbox"), "{reason}");
    assert!(error.is_denied());
}

#[tokio::test]
async fn bad_input_names_its_parameter_and_a_missing_object_is_not_found() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    let long = format!("New-Mailbox -Name \"{}\"", "y".repeat(5_000));
    match admin.run(&long).await {
        Err(Error::InvalidArgument { parameter, .. }) => assert_eq!(parameter, "Name"),
        other => panic!("not an invalid argument: {other:?}"),
    }
    match admin.run("Get-Frobnicator").await {
        Err(Error::InvalidArgument { parameter, .. }) => assert_eq!(parameter, "cmdlet"),
        other => panic!("not an invalid argument: {other:?}"),
    }
    assert!(
        matches!(
            admin.run("Get-Mailbox nobody-at-all").await,
            Err(Error::NotFound { .. })
        ),
        "a missing mailbox is not found"
    );
    admin.run("New-Mailbox -Name dana").await.unwrap();
    let records = admin.run("Get-Mailbox dana").await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].get("Name"), Some("dana"));
    assert_eq!(records[0].iter().next().map(|(name, _)| name), Some("Name"));
}

#[tokio::test]
async fn a_forest_the_resource_forest_does_not_trust_is_refused_at_the_handshake() {
    let f = federation().await;
    // The refusal arrives when connecting or, with TLS 1.3, at the first call.
    let refused = match f.session("northwind\\nina").await {
        Ok(mut nina) => nina.run("Get-Mailbox").await.unwrap_err(),
        Err(error) => error,
    };
    let Error::HandshakeRefused(refusal) = &refused else {
        panic!("not a handshake refusal: {refused:?}");
    };
    assert_eq!(refusal.refusal, Refusal::UntrustedForest);
    assert_eq!(refusal.server.as_str(), "contoso.com");
    assert_eq!(
        refusal.client.as_ref().map(|f| f.as_str()),
        Some("northwind.com")
    );
    assert!(
        refused
            .to_string()
            .starts_with("contoso.com does not trust certificates of northwind.com"),
        "{refused}"
    );
    assert!(f.is_running("contoso.com"));
}
