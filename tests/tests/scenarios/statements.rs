//! Statements (R-SESSION-1): a statement — a pipeline, with every cmdlet in
//! it — is authorised against the permissions its caller held when it
//! started; the next statement sees the new ones. The cmdlets still run on,
//! and the lockout rules still check, the organization as it is.

use super::common::{audit, federation, ok, refused};
use super::freshness::{denied, until};
use crossforest_cli::output::Format;
use crossforest_cli::shell::{Ended, Shell};
use crossforest_tests::{Error, ErrorCode};

/// fabrikam's Exchange Admins lose Mail Recipients (through their linked
/// role group).
const REVOKE: &str =
    "Remove-ManagementRoleAssignment \"Mail Recipients_fabrikam Recipient Admins\"";

#[tokio::test]
async fn r_session_1_a_statement_keeps_the_permissions_it_started_with() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-Mailbox -Name dana").await;
    let mut alice = f.session("fabrikam\\alice").await.unwrap();

    alice.begin_statement().await.unwrap();
    ok(&mut alice, "Set-Mailbox dana -CustomAttribute1 before").await;
    ok(&mut admin, REVOKE).await;
    // The statement goes on with what it started with, on the current
    // organization: the change is made and audited as alice's.
    ok(&mut alice, "Set-Mailbox dana -CustomAttribute1 after").await;
    let dana = ok(&mut admin, "Get-Mailbox dana").await;
    assert_eq!(dana[0].get("CustomAttribute1"), Some("after"));
    let record = audit(&f)
        .into_iter()
        .rfind(|r| r.cmdlet_name == "Set-Mailbox")
        .unwrap();
    assert_eq!(record.caller, "fabrikam\\alice");
    assert!(record.succeeded, "{record:?}");
    assert_eq!(record.cmdlet_parameters["CustomAttribute1"], "after");
    alice.end_statement().await.unwrap();
}

#[tokio::test]
async fn r_session_1_the_next_statement_sees_the_new_permissions() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-Mailbox -Name dana").await;
    let mut alice = f.session("fabrikam\\alice").await.unwrap();

    alice.begin_statement().await.unwrap();
    ok(&mut admin, REVOKE).await;
    ok(&mut alice, "Set-Mailbox dana -CustomAttribute1 kept").await;
    alice.end_statement().await.unwrap();
    // Outside any statement, and in the next one, the change applies.
    let (denied, _) = refused(&mut alice, "Set-Mailbox dana -CustomAttribute1 x").await;
    assert!(denied);
    alice.begin_statement().await.unwrap();
    let (denied, _) = refused(&mut alice, "Set-Mailbox dana -CustomAttribute1 x").await;
    assert!(denied);
    alice.end_statement().await.unwrap();

    // The same in the shell: each line is a statement of its own.
    // Organization Management's delegating assignment may move to a group
    // the Administrator is not in (R-LOCK-1).
    ok(&mut admin, "New-RoleGroup -Name \"Recipient Creators\"").await;
    ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Mail Recipient Creation\" -SecurityGroup \"Recipient Creators\" -Delegating",
    )
    .await;
    let mut shell = Shell::new(admin.clone().into(), Format::Text);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let removal = "Get-ManagementRoleAssignment -Role \"Mail Recipient Creation\" | Where-Object { $_.RoleAssigneeName -eq \"Organization Management\" } | Remove-ManagementRoleAssignment -Confirm:$false";
    let ended = shell.statement(removal, &mut out, &mut err).await.unwrap();
    let said = String::from_utf8_lossy(&err);
    assert_eq!(ended, Ended::Succeeded, "{said}");
    // Organization Management held the only delegating assignment that
    // reached the Administrator; the next line no longer has it.
    let grant = "New-ManagementRoleAssignment -Role \"Mail Recipient Creation\" -SecurityGroup \"Organization Management\"";
    let ended = shell.statement(grant, &mut out, &mut err).await.unwrap();
    let said = String::from_utf8_lossy(&err);
    assert!(
        matches!(ended, Ended::Failed { code: 3, .. }),
        "{ended:?} {said}"
    );
    assert!(said.contains("R-ASG-1"), "{said}");
}

#[tokio::test]
async fn r_session_1_a_statement_id_is_bound_to_its_caller() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    admin.begin_statement().await.unwrap();
    let id = admin.cli().statement().unwrap().to_owned();

    // carol (View-Only Recipients) presents the Administrator's statement:
    // she is answered as for an id nobody opened, and keeps her own
    // permissions.
    let mut carol = f.session("tailspin\\carol").await.unwrap();
    let answer = |id: &str, error: Error| {
        let message = error.to_string().replace(id, "ID");
        assert!(error.is_denied(), "{message}");
        message
    };
    carol.cli().set_statement(Some(id.clone()));
    let stolen = carol.run("New-Mailbox -Name mallory").await.unwrap_err();
    let stolen = answer(&id, stolen);
    let unknown_id = format!("{:032x}", 7);
    carol.cli().set_statement(Some(unknown_id.clone()));
    let unknown = carol.run("New-Mailbox -Name mallory").await.unwrap_err();
    assert_eq!(stolen, answer(&unknown_id, unknown));
    assert!(
        stolen.contains("no statement `ID` is open for you"),
        "{stolen}"
    );
    // What she may do runs, with a warning that names the same.
    carol.cli().set_statement(Some(id.clone()));
    let read = ok(&mut carol, "Get-Mailbox").await;
    assert!(
        read.warnings()
            .iter()
            .any(|w| w.contains("authorised against your current permissions")),
        "{:?}",
        read.warnings()
    );
    // Nor can she end it: the same answer as an unknown id.
    carol.cli().set_statement(Some(id.clone()));
    let closing = carol.end_statement().await.unwrap_err();
    assert!(
        matches!(
            &closing,
            Error::NotFound { message } if message.contains("no statement")
        ),
        "{closing:?}"
    );
    // The Administrator's statement is still open, and his.
    ok(&mut admin, "New-Mailbox -Name kept").await;
    admin.end_statement().await.unwrap();
    assert!(f.resource_node().unwrap().statements().is_empty());
}

#[tokio::test]
async fn r_session_1_a_revoked_foreign_group_is_dropped_from_the_next_statement() {
    let f = federation().await;
    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    // The same sign-in, outside the statement, to see when the revocation
    // has arrived.
    let mut outside = alice.clone();
    alice.begin_statement().await.unwrap();
    ok(&mut alice, "Get-Mailbox").await;

    // alice is in Exchange Admins only through Tier 2 Admins.
    f.remove_member("fabrikam.com", "Exchange Admins", "Tier 2 Admins")
        .await
        .unwrap();
    let last = until(&mut outside, "Get-Mailbox", denied).await;
    assert!(denied(&last), "the feed never revoked the group: {last:?}");
    // The statement keeps the SIDs it started with…
    ok(&mut alice, "Get-Mailbox").await;
    alice.end_statement().await.unwrap();
    // …the next one does not.
    alice.begin_statement().await.unwrap();
    let (denied, _) = refused(&mut alice, "Get-Mailbox").await;
    assert!(denied);
    alice.end_statement().await.unwrap();
}

#[tokio::test]
async fn r_session_1_lockout_rules_are_checked_against_the_current_state() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-RoleGroup -Name \"Recipient Creators\"").await;
    ok(
        &mut admin,
        "New-ManagementRoleAssignment -Role \"Mail Recipient Creation\" -SecurityGroup \"Recipient Creators\" -Delegating",
    )
    .await;
    admin.begin_statement().await.unwrap();
    // Another session of the Administrator moves Organization
    // Management's delegating assignment away (R-LOCK-1: the new group
    // holds one).
    let mut other = f.administrator().await.unwrap();
    ok(
        &mut other,
        "Remove-ManagementRoleAssignment \"Mail Recipient Creation-Organization Management-Delegating\"",
    )
    .await;
    // The statement may still unassign the role (it started with
    // Organization Management's delegating assignment), but the one it
    // would remove is now the last: R-LOCK-3 on the current state.
    let last = admin
        .run("Remove-ManagementRoleAssignment \"Mail Recipient Creation-Recipient Creators-Delegating\"")
        .await
        .unwrap_err();
    assert!(
        matches!(
            &last,
            Error::Failed {
                code: ErrorCode::Lockout,
                ..
            }
        ),
        "{last:?}"
    );
    admin.end_statement().await.unwrap();
    let kept = ok(
        &mut admin,
        "Get-ManagementRoleAssignment -Role \"Mail Recipient Creation\" -Delegating $true",
    )
    .await;
    assert_eq!(kept.column("RoleAssigneeName"), ["Recipient Creators"]);
}

#[tokio::test]
async fn r_session_1_open_statements_are_bounded_per_caller() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    // The shell closes each statement it opens.
    let mut shell = Shell::new(admin.clone().into(), Format::Text);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    for i in 0..20 {
        let line = format!("Get-Mailbox | Where-Object {{ $_.Name -eq 'n{i}' }}");
        let ended = shell.statement(&line, &mut out, &mut err).await.unwrap();
        assert_eq!(ended, Ended::Succeeded);
    }
    let node = f.resource_node().unwrap();
    assert!(node.statements().is_empty());

    // A caller that leaves them open is stopped at the bound, with a
    // message that names it; other callers are not.
    let bound = node.statements().settings().max_per_caller;
    for _ in 0..bound {
        admin.cli().open_statement().await.unwrap();
    }
    let refused = admin.begin_statement().await.unwrap_err();
    match &refused {
        Error::Failed {
            code: ErrorCode::Exhausted,
            message,
        } => {
            assert!(
                message.contains(&format!(
                    "`contoso\\Administrator` already has {bound} statements open"
                )) && message.contains("statements.max_per_caller"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The shell says so rather than run the pipeline unpinned.
    admin.cli().set_statement(None);
    let mut shell = Shell::new(admin.clone().into(), Format::Text);
    let ended = shell
        .statement("Get-Mailbox | Select-Object Name", &mut out, &mut err)
        .await
        .unwrap();
    assert!(matches!(ended, Ended::Failed { code: 1, .. }));
    assert!(String::from_utf8_lossy(&err).contains("statements.max_per_caller"));
    let mut alice = f.session("fabrikam\\alice").await.unwrap();
    alice.begin_statement().await.unwrap();
}
