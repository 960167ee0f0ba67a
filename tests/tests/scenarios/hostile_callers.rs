//! Hostile trusted callers (issue 16): one ordinary trusted credential — even
//! a disabled user's, without a token — can neither grow a node's metrics
//! with invented method paths, nor take the node with a burst of requests,
//! nor fill its disk with oversized fields echoed into logs and audit
//! records.

use super::common::{audit, builder, federation, populate};
use crossforest_cli::parse::Value;
use crossforest_shared::client::connect;
use crossforest_shared::proto::directory::v1 as dir;
use crossforest_shared::proto::management::v1 as pb;
use crossforest_shared::rate_limit::RETRY_PUSHBACK_KEY;
use crossforest_shared::ForestName;
use crossforest_tests::{Error, ErrorCode, Federation};

fn fabrikam() -> ForestName {
    "fabrikam.com".parse().unwrap()
}

/// A raw gRPC client of the resource forest presenting `user`'s certificate
/// and no token.
async fn raw(f: &Federation, user: &str) -> tonic::client::Grpc<tonic::transport::Channel> {
    let credential = f.lab().credential(&fabrikam(), user).unwrap();
    let endpoint = f.endpoint("contoso.com").unwrap();
    tonic::client::Grpc::new(connect(&endpoint, &credential).await.unwrap())
}

/// `WhoAmI` sent to `path` (a real method or an invented one).
async fn who_am_i_at(
    grpc: &mut tonic::client::Grpc<tonic::transport::Channel>,
    path: &str,
) -> Result<pb::WhoAmIResponse, tonic::Status> {
    grpc.ready().await.unwrap();
    grpc.unary(
        tonic::Request::new(pb::WhoAmIRequest {}),
        path.parse().unwrap(),
        tonic_prost::ProstCodec::<pb::WhoAmIRequest, pb::WhoAmIResponse>::default(),
    )
    .await
    .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn a_thousand_unknown_method_paths_leave_one_unknown_metrics_series() {
    let f = federation().await;
    // Any trusted certificate will do: a disabled user's, with no token.
    f.disable_user("fabrikam.com", "bob").await.unwrap();
    let mut bob = raw(&f, "bob").await;
    for i in 0..1000 {
        let status = who_am_i_at(&mut bob, &format!("/attacker.v{i}.Service/Method{i}"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    }
    let text = f.resource_node().unwrap().metrics().encode();
    // One series per family, whatever the 1,000 paths were.
    let unknown: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("method=\"unknown\"") && !l.contains("_bucket{"))
        .collect();
    assert_eq!(unknown.len(), 3, "{unknown:#?}");
    for line in [
        "crossforest_grpc_requests_total{method=\"unknown\",code=\"Unimplemented\"} 1000",
        "crossforest_grpc_request_duration_seconds_count{method=\"unknown\"} 1000",
    ] {
        assert!(unknown.contains(&line), "{line} not in {unknown:#?}");
    }
    assert!(!text.contains("attacker"), "{text}");
}

#[tokio::test]
async fn a_shell_past_its_rate_limit_waits_as_the_node_asks_and_every_cmdlet_runs() {
    // One request a second, bursts of two: a bulk change of five mailboxes
    // is paced by the node, not refused (the session honours the pushback).
    let f = populate(builder().resource_rate_limit(1, 2).start().await.unwrap()).await;
    let mut admin = f.administrator().await.unwrap();
    for i in 0..5 {
        admin
            .run(&format!("New-Mailbox -Name paced{i}"))
            .await
            .unwrap();
    }
    let listed = admin
        .run("Get-Mailbox -ResultSize Unlimited")
        .await
        .unwrap();
    let paced = listed
        .column("Name")
        .into_iter()
        .filter(|n| n.starts_with("paced"))
        .count();
    assert_eq!(paced, 5);
}

#[tokio::test]
async fn a_burst_past_a_principals_bucket_is_resource_exhausted_counted_and_spares_others() {
    let f = populate(builder().resource_rate_limit(1, 3).start().await.unwrap()).await;
    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    let mut refusals = 0;
    for _ in 0..20 {
        match alice.who_am_i().await {
            Ok(_) => {}
            Err(Error::Failed {
                code: ErrorCode::Exhausted,
                message,
            }) => {
                assert!(message.contains("rate limit"), "{message}");
                refusals += 1;
                break;
            }
            Err(other) => panic!("not a rate-limit refusal: {other:?}"),
        }
    }
    assert_eq!(
        refusals, 1,
        "20 requests at once never exceeded a burst of 3"
    );
    // Charged by the certificate before any token is read: the same
    // principal without a token is refused the same way, with a retry hint.
    let mut bare = raw(&f, "alice").await;
    let mut hinted = None;
    for _ in 0..20 {
        match who_am_i_at(&mut bare, "/crossforest.management.v1.Management/WhoAmI").await {
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                refusals += 1;
                hinted = status
                    .metadata()
                    .get(RETRY_PUSHBACK_KEY)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                break;
            }
            Err(status) => assert_eq!(status.code(), tonic::Code::Unauthenticated),
            Ok(who) => panic!("a request without a token was answered: {who:?}"),
        }
    }
    assert!(hinted.is_some_and(|ms| ms >= 1), "{hinted:?}");
    // Another principal has a bucket of its own.
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    bob.who_am_i().await.unwrap();
    let text = f.resource_node().unwrap().metrics().encode();
    let line = format!("crossforest_rate_limited_total{{forest=\"fabrikam.com\"}} {refusals}");
    assert!(text.contains(&line), "{line} not in:\n{text}");
}

#[tokio::test]
async fn oversized_fields_are_refused_by_name_before_any_audit_record_and_echoes_are_cut() {
    let f = federation().await;
    // carol holds View-Only Recipients: the least privilege there is.
    let mut carol = f.session("tailspin\\carol").await.unwrap();
    let before = audit(&f).len();
    let text = |s: String| Value::Text(s);
    let field = |error: Error| match error {
        Error::InvalidArgument { parameter, .. } => parameter,
        other => panic!("not an invalid argument: {other:?}"),
    };
    let identity = || ("Identity".to_owned(), text("x".into()));
    for (cmdlet, parameters, expected) in [
        ("Get-Mailbox".repeat(8), vec![], "cmdlet"),
        (
            "Set-Mailbox".to_owned(),
            vec![identity(), ("Office".into(), text("o".repeat(5000)))],
            "Office",
        ),
        (
            "Get-Mailbox".to_owned(),
            vec![("Identity".into(), text("i".repeat(2000)))],
            "Identity",
        ),
        (
            "Get-Mailbox".to_owned(),
            vec![("P".repeat(100), text("v".into()))],
            "parameters[0].name",
        ),
        (
            "Get-Mailbox".to_owned(),
            (0..65)
                .map(|i| (format!("P{i}"), text("v".into())))
                .collect(),
            "parameters",
        ),
    ] {
        let error = carol.invoke(&cmdlet, parameters).await.unwrap_err();
        assert_eq!(field(error), expected);
    }
    let error = carol
        .check(pb::CheckRequest {
            cmdlet: "Set-Mailbox".into(),
            parameters: vec![],
            target: "t".repeat(2000),
            write: None,
            at_least_revision: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(field(error), "target");
    assert_eq!(audit(&f).len(), before, "an oversized request was audited");

    // Within the limits a denied request is audited, its echo cut and marked.
    let error = carol
        .invoke(
            "Set-Mailbox",
            vec![identity(), ("Office".into(), text("o".repeat(4000)))],
        )
        .await
        .unwrap_err();
    assert!(error.is_denied(), "{error:?}");
    let records = audit(&f);
    let record = records.last().unwrap();
    assert_eq!(record.cmdlet_name, "Set-Mailbox");
    let office = &record.cmdlet_parameters["Office"];
    let kept = crossforest_shared::limits::ECHO_VALUE;
    assert_eq!(
        office,
        &format!("{}…[cut: {} more bytes]", "o".repeat(kept), 4000 - kept)
    );

    // The account forest checks its names first too: a disabled user with
    // an oversized name is told the name is too long, nothing else.
    f.disable_user("fabrikam.com", "bob").await.unwrap();
    let bob = f.lab().credential(&fabrikam(), "bob").unwrap();
    let endpoint = f.endpoint("fabrikam.com").unwrap();
    let channel = connect(&endpoint, &bob).await.unwrap();
    let mut directory = dir::directory_client::DirectoryClient::new(channel.clone());
    let status = directory
        .lookup_principal(dir::LookupPrincipalRequest {
            name: "n".repeat(2000),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status
        .message()
        .contains("`name` is longer than 1024 bytes"));
    let mut admin = dir::directory_admin_client::DirectoryAdminClient::new(channel);
    let status = admin
        .add_group_member(dir::GroupMemberRequest {
            group: "Exchange Admins".into(),
            member: "m".repeat(2000),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("`member`"), "{status:?}");
}
