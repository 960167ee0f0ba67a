//! New-, Get-, Remove-RemoteMailbox: a mail user whose mailbox lives
//! elsewhere. Two of the eight creation cmdlets of split permissions: only
//! the directory administrators' group runs them under RBAC split
//! (R-SPLIT-2), no one under Active Directory split (R-SPLIT-3).

use super::common::{audit, dora_and_rick, federation, ok, property, rbac_split, refused};
use crossforest_shared::proto::management::v1::CheckRequest;

#[tokio::test]
async fn r_split_2_only_the_directory_group_runs_new_remote_mailbox() {
    let (f, mut admin) = dora_and_rick().await;
    // Shared model (R-SPLIT-1): Recipient Management creates remote mailboxes.
    let mut rick = f.local_session("Rick").await.unwrap();
    let created = ok(
        &mut rick,
        "New-RemoteMailbox -Name Remo -RemoteRoutingAddress remo@contoso.mail.onmicrosoft.com",
    )
    .await;
    assert_eq!(
        property(&created, "RecipientType").as_deref(),
        Some("MailUser")
    );
    assert_eq!(
        property(&created, "RecipientTypeDetails").as_deref(),
        Some("RemoteUserMailbox")
    );
    assert_eq!(
        property(&created, "RemoteRoutingAddress").as_deref(),
        Some("remo@contoso.mail.onmicrosoft.com")
    );
    assert_eq!(
        property(&created, "UserPrincipalName").as_deref(),
        Some("Remo@contoso.com")
    );
    // A remote mailbox is listed by Get-RemoteMailbox and Get-Recipient, not
    // by Get-Mailbox or Get-MailUser.
    let listed = ok(&mut admin, "Get-RemoteMailbox").await;
    assert_eq!(listed.column("Name"), ["Remo"]);
    let remote = ok(
        &mut admin,
        "Get-Recipient -RecipientTypeDetails RemoteUserMailbox",
    )
    .await;
    assert_eq!(remote.column("Name"), ["Remo"]);
    let (_, why) = refused(&mut admin, "Get-Mailbox Remo").await;
    assert!(why.contains("couldn't be found"), "{why}");
    assert!(ok(&mut admin, "Get-MailUser").await.is_empty());
    // -RemoteRoutingAddress is required and must be an SMTP address.
    let (_, why) = refused(&mut admin, "New-RemoteMailbox -Name Rem2").await;
    assert!(why.contains("-RemoteRoutingAddress"), "{why}");
    let (_, why) = refused(
        &mut admin,
        "New-RemoteMailbox -Name Rem2 -RemoteRoutingAddress not-an-address",
    )
    .await;
    assert!(
        why.contains("-RemoteRoutingAddress") && why.contains("not an SMTP address"),
        "{why}"
    );

    // RBAC split: the seed's script; Dora joins the new group.
    rbac_split(&f, &mut admin, "Dora").await;
    for cmdlet in ["New-RemoteMailbox", "Remove-RemoteMailbox"] {
        let parameters = if cmdlet.starts_with("New") {
            vec!["Name".into(), "RemoteRoutingAddress".into()]
        } else {
            vec!["Identity".into()]
        };
        let who = admin
            .who_can(CheckRequest {
                cmdlet: cmdlet.into(),
                parameters,
                target: String::new(),
                write: None,
                at_least_revision: 0,
            })
            .await
            .unwrap();
        let names: Vec<&str> = who.principals.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["contoso\\Dora"], "{cmdlet}: {names:?}");
    }
    for session in [&mut admin, &mut rick] {
        let (denied, _) = refused(
            session,
            "New-RemoteMailbox -Name Remi -RemoteRoutingAddress remi@contoso.mail.onmicrosoft.com",
        )
        .await;
        assert!(denied);
        let (denied, _) = refused(session, "Remove-RemoteMailbox Remo").await;
        assert!(denied);
    }
    // Exchange administrators still read them.
    ok(&mut rick, "Get-RemoteMailbox Remo").await;
    let mut dora = f.local_session("Dora").await.unwrap();
    ok(
        &mut dora,
        "New-RemoteMailbox -Name Remi -RemoteRoutingAddress remi@contoso.mail.onmicrosoft.com",
    )
    .await;
    ok(&mut dora, "Remove-RemoteMailbox Remo").await;
    let names = ok(&mut admin, "Get-RemoteMailbox").await;
    assert_eq!(names.column("Name"), ["Remi"]);
}

#[tokio::test]
async fn r_split_3_remote_mailbox_cmdlets_are_unavailable_to_everyone_under_ad_split() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(
        &mut admin,
        "New-RemoteMailbox -Name Remo -RemoteRoutingAddress remo@contoso.mail.onmicrosoft.com",
    )
    .await;
    admin.prepare_ad(Some(true), false).await.unwrap();
    // Even a fresh regular assignment of Mail Recipient Creation doesn't help.
    ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Mail Recipient Creation\" -User Administrator",
    )
    .await;
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    for session in [&mut admin, &mut bob] {
        for line in [
            "New-RemoteMailbox -Name Remi -RemoteRoutingAddress remi@contoso.mail.onmicrosoft.com",
            "Remove-RemoteMailbox Remo",
        ] {
            let (denied, why) = refused(session, line).await;
            assert!(denied && why.contains("R-SPLIT-3"), "{line}: {why}");
        }
        let commands = ok(session, "Get-Command *RemoteMailbox").await;
        assert_eq!(commands.column("Name"), ["Get-RemoteMailbox"]);
    }
    ok(&mut admin, "Get-RemoteMailbox Remo").await;
    assert!(audit(&f)
        .iter()
        .any(|r| r.cmdlet_name == "Remove-RemoteMailbox"
            && r.decision == "Denied"
            && r.error.contains("R-SPLIT-3")));
}
