//! The `Authorization` service over real mTLS: check and explain, bulk check on
//! one revision, who-can with foreign groups, what-can, and its own gate.

use super::common::federation;
use crossforest_shared::proto::management::v1::{CheckRequest, LinkKind, PrincipalKind};
use crossforest_tests::{DenialRule, Federation, Session};

fn check(cmdlet: &str, parameters: &[&str], target: &str) -> CheckRequest {
    CheckRequest {
        cmdlet: cmdlet.to_owned(),
        parameters: parameters.iter().map(|p| (*p).to_owned()).collect(),
        target: target.to_owned(),
        write: None,
        at_least_revision: 0,
    }
}

/// The federation with dana in contoso.com/Sales, and fabrikam\\bob's
/// session (keep the federation: dropping it stops the nodes).
async fn bob_and_dana_in_sales() -> (Federation, Session) {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    admin
        .run("New-Mailbox -Name dana -OrganizationalUnit contoso.com/Sales")
        .await
        .unwrap();
    let bob = f.session("fabrikam\\bob").await.unwrap();
    (f, bob)
}

#[tokio::test]
async fn check_explains_the_linked_chain_and_the_nearest_miss() {
    let (f, mut bob) = bob_and_dana_in_sales().await;
    let allowed = bob
        .check(check("Set-Mailbox", &["Identity", "Office"], "dana"))
        .await
        .unwrap()
        .decision
        .unwrap();
    assert!(allowed.allowed);
    let links: Vec<(LinkKind, String)> = allowed.chains[0]
        .links
        .iter()
        .map(|l| (l.kind(), l.value.clone()))
        .collect();
    assert_eq!(
        links[1],
        (LinkKind::ForeignGroup, "fabrikam\\Exchange Admins".into())
    );
    assert_eq!(
        links[2],
        (LinkKind::RoleGroup, "fabrikam Recipient Admins".into())
    );

    let carol_view = f
        .session("tailspin\\carol")
        .await
        .unwrap()
        .check(check("Set-Mailbox", &["Identity", "Office"], "dana"))
        .await
        .unwrap()
        .decision
        .unwrap();
    assert_eq!(carol_view.denial(), DenialRule::CmdletNotAvailable);
    assert!(
        carol_view.reason.contains("R-ROLE-1"),
        "{}",
        carol_view.reason
    );
    let denied = bob
        .check(check("New-RoleGroup", &["Name"], ""))
        .await
        .unwrap()
        .decision
        .unwrap();
    assert!(!denied.allowed);
    assert_eq!(denied.denial(), DenialRule::CmdletNotAvailable);
    assert!(denied.roles.contains(&"Role Management".to_owned()));

    // A bulk check answers in order, on one revision; a bad entry names itself.
    let bulk = bob
        .check_bulk(vec![
            check("Get-Mailbox", &["Identity"], "dana"),
            check("Remove-Mailbox", &["Identity"], "dana"),
            check("Remove-RoleGroup", &["Identity"], ""),
        ])
        .await
        .unwrap();
    let allowed: Vec<bool> = bulk.decisions.iter().map(|d| d.allowed).collect();
    assert_eq!(allowed, [true, true, false]);
    let error = bob
        .check_bulk(vec![
            check("Get-Mailbox", &[], ""),
            check("Get-Mailbox", &["Colour"], ""),
        ])
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("check 1") && error.to_string().contains("Colour"),
        "{error}"
    );
}

#[tokio::test]
async fn who_can_lists_foreign_groups_and_is_gated() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    admin.run("New-Mailbox -Name dana").await.unwrap();
    let who = admin
        .who_can(check("Set-Mailbox", &["Identity", "Office"], "dana"))
        .await
        .unwrap();
    let fabrikam = who
        .principals
        .iter()
        .find(|p| p.kind() == PrincipalKind::ForeignGroup)
        .expect("the linked foreign group");
    assert_eq!(fabrikam.name, "fabrikam\\Exchange Admins");
    assert_eq!(fabrikam.forest, "fabrikam.com");
    assert!(who
        .principals
        .iter()
        .any(|p| p.name == "contoso\\Administrator" && p.kind() == PrincipalKind::User));
    // tailspin's view-only group can't write.
    assert!(!who.principals.iter().any(|p| p.forest == "tailspin.com"));

    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    let refused = bob
        .who_can(check("Set-Mailbox", &["Identity"], "dana"))
        .await
        .unwrap_err();
    assert!(refused.is_denied(), "{refused}");

    let mine = bob.what_can().await.unwrap();
    let cmdlets: Vec<&str> = mine.permissions.iter().map(|p| p.cmdlet.as_str()).collect();
    assert!(cmdlets.contains(&"New-Mailbox") && cmdlets.contains(&"Set-Mailbox"));
    assert!(!cmdlets.contains(&"New-RoleGroup"));
}

#[tokio::test]
async fn a_bulk_check_without_chains_decides_as_the_explained_one() {
    let (_f, mut bob) = bob_and_dana_in_sales().await;
    let checks = vec![
        check("Get-Mailbox", &["Identity"], "dana"),
        check("Set-Mailbox", &["Identity", "Office"], "dana"),
        check("Remove-RoleGroup", &["Identity"], ""),
        check("New-RoleGroup", &["Name"], ""),
    ];
    let explained = bob.check_bulk(checks.clone()).await.unwrap();
    let brief = bob.check_bulk_without_chains(checks).await.unwrap();
    assert_eq!(brief.revision, explained.revision);
    let allowed: Vec<bool> = brief.decisions.iter().map(|d| d.allowed).collect();
    assert_eq!(allowed, [true, true, false, false]);
    for (b, e) in brief.decisions.iter().zip(&explained.decisions) {
        assert_eq!(b.allowed, e.allowed);
        if e.allowed {
            assert!(!e.chains.is_empty(), "{e:?}");
            assert!(b.chains.is_empty(), "{b:?}");
        } else {
            // A denial is the same, reason and all.
            assert_eq!(b, e);
        }
    }
    // The caller is still authenticated and limited as on every call.
    let error = bob
        .check_bulk_without_chains(vec![check("Get-Mailbox", &["Colour"], "")])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("check 0"), "{error}");
}
