//! The Seattle role group example (R-RG-5, R-RG-6) as the script
//! `examples/seattle-role-group.ps1`, run by the shell as the Administrator,
//! then Ray, Brian and Katie signing in with credentials from `crossforest pki
//! issue-user` and doing what the script's comments say they may and may not.

use crossforest_cli::output::Format;
use crossforest_cli::pki::PkiCommand;
use crossforest_cli::shell::{Input, EXIT_DENIED};
use crossforest_tests::Federation;

use super::common::{ok, property, refused};

/// What the script documents for one line.
enum Outcome {
    Done,
    /// Denied, with a reason that mentions this.
    Denied(&'static str),
}

/// `crossforest shell --lab <dir> --as <who> -c <line>`; its exit code.
async fn shell(f: &Federation, who: &str, line: &str) -> u8 {
    crossforest_cli::shell::run(
        f.dir().to_owned(),
        who,
        Input::Command(line.to_owned()),
        Format::Text,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn seattle_example_script_runs_as_documented() {
    let f = Federation::builder().start().await.unwrap();
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/seattle-role-group.ps1");
    let script = std::fs::read_to_string(&path).unwrap();
    let code = crossforest_cli::shell::run(
        f.dir().to_owned(),
        "contoso\\Administrator",
        Input::File(path),
        Format::Text,
    )
    .await
    .unwrap();
    assert_eq!(code, 0, "the script ran to its end");

    // The group itself is checked property by property in
    // rbac_model::seattle_recipient_management_example_behaves_as_the_seed_says;
    // here, what its people may do.
    let mut admin = f.administrator().await.unwrap();

    // Each signs in with a credential from `pki issue-user`, as documented.
    for user in ["Ray", "Brian", "Katie"] {
        assert!(
            script.contains(&format!(
                "crossforest pki issue-user --lab crossforest-lab --forest contoso.com --user {user}\n"
            )),
            "the script says how {user} gets a credential"
        );
        crossforest_cli::pki::run(PkiCommand::IssueUser {
            lab: f.dir().to_owned(),
            forest: "contoso.com".parse().unwrap(),
            user: user.to_owned(),
        })
        .await
        .unwrap();
    }

    use Outcome::{Denied, Done};
    let afterwards = [
        (
            "contoso\\Ray",
            "Set-Mailbox Ana -CustomAttribute1 \"Seattle office\"",
            Done,
        ),
        (
            "contoso\\Ray",
            "Set-Mailbox Tom -CustomAttribute1 \"Seattle office\"",
            Denied("Seattle Users"),
        ),
        (
            "contoso\\Ray",
            "Add-RoleGroupMember \"Seattle Recipient Management\" -Member Nora",
            Denied("only the managers of `Seattle Recipient Management`"),
        ),
        (
            "contoso\\Brian",
            "Add-RoleGroupMember \"Seattle Recipient Management\" -Member Nora",
            Done,
        ),
        (
            "contoso\\Brian",
            "Set-Mailbox Ana -CustomAttribute1 \"Brian was here\"",
            Denied("no role assigned to you grants it"),
        ),
        (
            "contoso\\Katie",
            "Set-Mailbox Ana -CustomAttribute2 \"checked by Katie\"",
            Done,
        ),
        (
            "contoso\\Katie",
            "Remove-RoleGroupMember \"Seattle Recipient Management\" -Member Nora -Confirm:$false",
            Done,
        ),
        (
            "contoso\\Katie",
            "Set-Mailbox Tom -CustomAttribute2 \"checked by Katie\"",
            Denied("Seattle Users"),
        ),
    ];
    for (who, line, outcome) in afterwards {
        let documented =
            format!("crossforest shell --lab crossforest-lab --as '{who}' -c '{line}'\n");
        assert!(
            script.contains(&documented),
            "the script documents {documented}"
        );
        let code = shell(&f, who, line).await;
        match outcome {
            Done => assert_eq!(code, 0, "{who}: {line}"),
            Denied(reason) => {
                assert_eq!(code, EXIT_DENIED, "{who}: {line}");
                let mut session = f.session(who).await.unwrap();
                let (denied, why) = refused(&mut session, line).await;
                assert!(denied && why.contains(reason), "{who}: {line}: {why}");
            }
        }
        if matches!(outcome, Done) && line.contains("Nora") {
            let nora_is_member = ok(
                &mut admin,
                "Get-RoleGroupMember \"Seattle Recipient Management\"",
            )
            .await
            .iter()
            .any(|m| m.get("Name") == Some("Nora"));
            assert_eq!(nora_is_member, line.starts_with("Add"), "{who}: {line}");
        }
    }

    // What they changed, and only that.
    let ana = ok(&mut admin, "Get-Mailbox Ana").await;
    assert_eq!(
        property(&ana, "CustomAttribute1").as_deref(),
        Some("Seattle office")
    );
    assert_eq!(
        property(&ana, "CustomAttribute2").as_deref(),
        Some("checked by Katie")
    );
    let tom = ok(&mut admin, "Get-Mailbox Tom").await;
    for attribute in ["CustomAttribute1", "CustomAttribute2"] {
        assert!(
            property(&tom, attribute).unwrap_or_default().is_empty(),
            "Tom's {attribute} is unchanged"
        );
    }
}
