//! Hostile input (issue 7): each gets a clear error and changes nothing.
//! Forged and certificate-mismatched tokens, untrusted CAs and SID filtering
//! are in `mtls` and `sid_filtering`; this adds tampered and replayed tokens,
//! oversized messages, malformed SIDs and DNs, deep and cyclic nesting, and
//! filters and lines built to hurt the parsers.

use base64::Engine as _;
use prost::Message as _;

use super::common::{federation, ok};
use super::mtls::{refused, token_for_audience};
use crossforest_cli::parse::Value;
use crossforest_shared::pki::IssuedCertificate;
use crossforest_shared::proto::directory::v1 as dir;
use crossforest_shared::proto::token::v1::{SignedToken, TokenClaims};
use crossforest_shared::ForestName;
use crossforest_tests::Federation;

/// The organization as committed (its revision and every object): unchanged
/// by anything refused.
fn organization(f: &Federation) -> String {
    let snapshot = f.resource_node().unwrap().store().snapshot();
    format!(
        "{} {}",
        snapshot.revision,
        serde_json::to_string(&snapshot.org).unwrap()
    )
}

fn fabrikam() -> ForestName {
    "fabrikam.com".parse().unwrap()
}

#[tokio::test]
async fn tampered_and_replayed_tokens_are_refused_and_change_nothing() {
    let f = federation().await;
    let before = organization(&f);
    let alice = f.lab().credential(&fabrikam(), "alice").unwrap();

    // A real token with one more group added to its signed claims.
    let token = token_for_audience(&f, "fabrikam.com", "alice", "contoso.com").await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut signed = SignedToken::decode(b64.decode(&token).unwrap().as_slice()).unwrap();
    let mut claims = TokenClaims::decode(signed.claims.as_slice()).unwrap();
    let admins = f.domain_sid("fabrikam.com").unwrap().with_rid(512);
    claims.group_sids.push(admins.to_string());
    signed.claims = claims.encode_to_vec();
    let tampered = b64.encode(signed.encode_to_vec());
    let error = refused(&f, &alice, Some(tampered)).await;
    assert!(error.contains("signature does not verify"), "{error}");

    // A token fabrikam issued for another resource forest, replayed here.
    let elsewhere = token_for_audience(&f, "fabrikam.com", "alice", "northwind.com").await;
    let error = refused(&f, &alice, Some(elsewhere)).await;
    assert!(
        error.contains("is for `northwind.com`, not for `contoso.com`"),
        "{error}"
    );
    assert_eq!(organization(&f), before);
}

#[tokio::test]
async fn oversized_messages_and_strings_are_refused_before_any_cmdlet_runs() {
    let f = federation().await;
    let before = organization(&f);
    let mut admin = f.administrator().await.unwrap();
    // Past the server's explicit message limit (the shell's own line limit
    // is bypassed by sending the request directly).
    let huge = Value::Text("x".repeat(crossforest_shared::serve::MAX_REQUEST_BYTES + 1));
    let error = admin
        .invoke("New-Mailbox", vec![("Name".into(), huge)])
        .await
        .unwrap_err();
    // Refused by tonic's own size limit, before any service: no stable code.
    assert!(
        matches!(
            error,
            crossforest_tests::Error::Transport {
                code: tonic::Code::OutOfRange,
                ..
            }
        ),
        "{error:?}"
    );
    // Within the message limit but too long for a value.
    let long = format!("New-Mailbox -Name \"{}\"", "y".repeat(10_000));
    let error = admin.run(&long).await.unwrap_err().to_string();
    assert!(
        error.contains("`-Name` is longer than 4096 characters"),
        "{error}"
    );
    // Too long for a shell line.
    let error = admin
        .run(&format!("Get-Mailbox {}", "-a ".repeat(30_000)))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("the line is longer than"), "{error}");

    // The account forest's directory has its own limits.
    let svc = f
        .lab()
        .dir()
        .join("contoso.com/trusts/fabrikam.com/svc-contoso.pem");
    let linked = IssuedCertificate::read_combined(&svc).unwrap();
    let endpoint = f.endpoint("fabrikam.com").unwrap();
    let channel = crossforest_shared::client::connect(&endpoint, &linked)
        .await
        .unwrap();
    let mut directory = dir::directory_client::DirectoryClient::new(channel);
    let status = directory
        .lookup_principal(dir::LookupPrincipalRequest {
            name: "n".repeat(crossforest_shared::serve::MAX_REQUEST_BYTES + 1),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    let status = directory
        .lookup_principal(dir::LookupPrincipalRequest {
            name: "n".repeat(5000),
        })
        .await
        .unwrap_err();
    assert!(status
        .message()
        .contains("`name` is longer than 1024 bytes"));
    assert_eq!(organization(&f), before);
}

#[tokio::test]
async fn malformed_sids_and_dns_get_errors_that_name_them() {
    let f = federation().await;
    let before = organization(&f);
    let svc = f
        .lab()
        .dir()
        .join("contoso.com/trusts/fabrikam.com/svc-contoso.pem");
    let linked = IssuedCertificate::read_combined(&svc).unwrap();
    let endpoint = f.endpoint("fabrikam.com").unwrap();
    let channel = crossforest_shared::client::connect(&endpoint, &linked)
        .await
        .unwrap();
    let mut directory = dir::directory_client::DirectoryClient::new(channel);
    for bad in [
        "S-1-5-21-1-2",
        "S-1-5-21-1-2-3-+4",
        "S-1-1-0",
        "",
        "S-1-5-21-1-2-3-99999999999",
    ] {
        let status = directory
            .expand_group(dir::ExpandGroupRequest {
                group_sid: bad.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{bad}: {status:?}"
        );
        assert!(
            status.message().starts_with("group_sid:"),
            "{bad}: {status:?}"
        );
        let status = directory
            .resolve_token_groups(dir::ResolveTokenGroupsRequest {
                user_sid: bad.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{bad}: {status:?}"
        );
    }

    let mut admin = f.administrator().await.unwrap();
    for (line, expected) in [
        (
            "New-Mailbox -Name Zed -OrganizationalUnit \"OU=Sales,,DC=contoso\"",
            "organizational unit `OU=Sales,,DC=contoso` doesn't exist",
        ),
        (
            "Get-Mailbox \"S-1-5-21-1-2-3-4-5-6\"",
            "object `S-1-5-21-1-2-3-4-5-6` couldn't be found",
        ),
        (
            "Get-User -Identity \"S-1-5-21-abc-1\"",
            "object `S-1-5-21-abc-1` couldn't be found",
        ),
    ] {
        let error = admin.run(line).await.unwrap_err().to_string();
        assert!(error.contains(expected), "{line}: {error}");
    }
    assert_eq!(organization(&f), before);
}

#[tokio::test]
async fn deeply_nested_and_cyclic_foreign_groups_resolve_and_revoke() {
    let f = federation().await;
    // alice ∈ Deep 0 ∈ Deep 1 ∈ … ∈ Deep 59 ∈ Exchange Admins ∈ Deep 0 (a cycle).
    const DEPTH: usize = 60;
    f.add_user("fabrikam.com", "dave").await.unwrap();
    for i in 0..DEPTH {
        f.add_group("fabrikam.com", &format!("Deep {i}"))
            .await
            .unwrap();
    }
    f.add_member("fabrikam.com", "Deep 0", "dave")
        .await
        .unwrap();
    for i in 1..DEPTH {
        f.add_member(
            "fabrikam.com",
            &format!("Deep {i}"),
            &format!("Deep {}", i - 1),
        )
        .await
        .unwrap();
    }
    f.add_member(
        "fabrikam.com",
        "Exchange Admins",
        &format!("Deep {}", DEPTH - 1),
    )
    .await
    .unwrap();
    f.add_member("fabrikam.com", "Deep 0", "Exchange Admins")
        .await
        .unwrap();
    let mut dave = f.session("fabrikam\\dave").await.unwrap();
    ok(&mut dave, "Get-Mailbox").await;
    let who = dave.who_am_i().await.unwrap();
    assert_eq!(who.group_sids.len(), DEPTH + 1, "{:?}", who.group_sids);

    // Cut the chain at the bottom: every group goes, cycle or not.
    f.remove_member("fabrikam.com", "Deep 0", "dave")
        .await
        .unwrap();
    let mut last = dave.run("Get-Mailbox").await;
    for _ in 0..300 {
        if last.as_ref().is_err_and(|e| e.is_denied()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        last = dave.run("Get-Mailbox").await;
    }
    assert!(last.is_err_and(|e| e.is_denied()));
    let who = dave.who_am_i().await.unwrap();
    assert!(who.group_sids.is_empty(), "{:?}", who.group_sids);
}

#[tokio::test]
async fn filters_and_lines_built_to_hurt_the_parsers_get_located_errors() {
    let f = federation().await;
    let before = organization(&f);
    let mut admin = f.administrator().await.unwrap();
    let deep = format!("{}City -eq 'x'{}", "(".repeat(1500), ")".repeat(1500));
    let error = admin
        .run(&format!(
            "New-ManagementScope -Name s1 -RecipientRestrictionFilter \"{deep}\""
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("nest"), "{error}");
    let unbalanced = format!("City -eq 'x'{}", ")".repeat(500));
    let error = admin
        .run(&format!(
            "New-ManagementScope -Name s2 -RecipientRestrictionFilter \"{unbalanced}\""
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("column") || error.contains("position"),
        "{error}"
    );
    let error = admin
        .run(&format!("Get-Mailbox \"{}", "`".repeat(1000)))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("column"), "{error}");
    assert_eq!(organization(&f), before);
    // A pathological -like pattern is accepted and evaluated, not a hang.
    let pattern = "*a".repeat(1000);
    ok(
        &mut admin,
        &format!(
            "New-ManagementScope -Name s3 -RecipientRestrictionFilter \"Name -like '{pattern}'\""
        ),
    )
    .await;
    ok(
        &mut admin,
        &format!("Get-Recipient -Filter \"Name -like '{pattern}b'\""),
    )
    .await;
}
