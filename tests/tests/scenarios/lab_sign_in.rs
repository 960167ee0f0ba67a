//! Signing in to a lab as any of its users: `crossforest pki issue-user` gives
//! the resource forest's own users a credential, and `--as` names an account
//! the way Windows does (any case, `DOMAIN\user` or `user@forest`).

use crossforest_cli::pki::PkiCommand;
use crossforest_shared::identity::ForestUri;
use crossforest_tests::Federation;

use super::common::{builder, federation, ok, property};

/// `crossforest pki issue-user --lab <dir> --forest <forest> --user <user>`.
async fn issue_user(f: &Federation, forest: &str, user: &str) -> anyhow::Result<()> {
    crossforest_cli::pki::run(PkiCommand::IssueUser {
        lab: f.dir().to_owned(),
        forest: forest.parse()?,
        user: user.to_owned(),
    })
    .await
}

#[tokio::test]
async fn pki_issue_user_lets_a_contoso_user_sign_in() {
    let f = builder().start().await.unwrap();
    let mut admin = f.administrator().await.unwrap();
    // A plain directory user (no mailbox), as the domain Administrator creates it.
    ok(&mut admin, "New-ADUser -Name Ray").await;
    let sid = property(&ok(&mut admin, "Get-User Ray").await, "SID").unwrap();

    // Without a credential, --as says how to get one.
    let error = f.session("contoso\\Ray").await.unwrap_err().to_string();
    assert!(
        error.contains("crossforest pki issue-user") && error.contains("--forest contoso.com"),
        "{error}"
    );

    // Any spelling of the name finds the user; the file takes its name.
    issue_user(&f, "contoso.com", "ray").await.unwrap();
    let path = f.dir().join("contoso.com/credentials/Ray.pem");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the credential holds a key: owner-only");
    let credential = crossforest_shared::pki::IssuedCertificate::read_combined(&path).unwrap();
    match ForestUri::of_certificate(&credential.certificate_der().unwrap()).unwrap() {
        ForestUri::Principal(p) => {
            assert_eq!(p.forest.as_str(), "contoso.com");
            assert_eq!(p.sid.to_string(), sid, "the certificate names Ray's SID");
        }
        other => panic!("not a principal: {other:?}"),
    }

    // Ray signs in as himself.
    let mut ray = f.session("contoso\\Ray").await.unwrap();
    let me = ray.who_am_i().await.unwrap();
    assert_eq!(me.user_name, "contoso\\Ray");
    assert_eq!(me.user_sid, sid);

    // A user the forest doesn't know gets no credential, and the error names it.
    let error = issue_user(&f, "contoso.com", "Nobody")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("no user `Nobody`") && error.contains("Get-User"),
        "{error}"
    );
    assert!(!f.dir().join("contoso.com/credentials/Nobody.pem").exists());

    // An account forest's users sign in there: issue-user points the way.
    let error = issue_user(&f, "fabrikam.com", "bob")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("account forest") && error.contains("crossforest account-forest user add"),
        "{error}"
    );
}

#[tokio::test]
async fn pki_issue_user_needs_the_running_resource_forest() {
    let mut f = builder().start().await.unwrap();
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-Mailbox -Name Katie").await;
    drop(admin);
    f.stop("contoso.com").await.unwrap();
    let error = format!(
        "{:#}",
        issue_user(&f, "contoso.com", "Katie").await.unwrap_err()
    );
    assert!(
        error.contains("looks `Katie` up in the running resource forest")
            && error.contains("crossforest up --dir"),
        "{error}"
    );
    assert!(!f.dir().join("contoso.com/credentials/Katie.pem").exists());
}

#[tokio::test]
async fn as_accepts_any_case_and_upn() {
    let f = federation().await;
    for identity in [
        "fabrikam\\bob",
        "FABRIKAM\\BOB",
        "Fabrikam.Com\\Bob",
        "bob@fabrikam.com",
        "BOB@FABRIKAM.COM",
    ] {
        let mut bob = f.session(identity).await.unwrap();
        let me = bob.who_am_i().await.unwrap();
        assert_eq!(me.user_name, "fabrikam\\bob", "{identity}");
    }
    for identity in [
        "CONTOSO\\administrator",
        "contoso.com\\ADMINISTRATOR",
        "administrator@contoso.com",
    ] {
        let mut admin = f.session(identity).await.unwrap();
        let me = admin.who_am_i().await.unwrap();
        assert_eq!(me.user_name, "contoso\\Administrator", "{identity}");
    }

    // An unknown account: one error, saying how its forest's users get a
    // credential.
    let error = f.session("FABRIKAM\\nobody").await.unwrap_err().to_string();
    assert!(
        error.contains("no credential for `FABRIKAM\\nobody`")
            && error.contains("crossforest account-forest user add"),
        "{error}"
    );
    let error = f
        .session("nobody@contoso.com")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("no credential for `nobody@contoso.com`")
            && error.contains("crossforest pki issue-user"),
        "{error}"
    );
    let error = f.session("bob").await.unwrap_err().to_string();
    assert!(
        error.contains("`DOMAIN\\user`") && error.contains("`user@forest`"),
        "{error}"
    );
}

#[tokio::test]
async fn an_account_forest_user_signs_in_as_the_error_says() {
    let f = builder().start().await.unwrap();
    // No credential yet: the error gives the command that creates one.
    let error = f
        .session("Erin@fabrikam.com")
        .await
        .unwrap_err()
        .to_string();
    let command = error
        .split('`')
        .find(|s| s.starts_with("crossforest account-forest user add"))
        .unwrap_or_else(|| panic!("no command in: {error}"));
    let words: Vec<&str> = command.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "--password-file").unwrap();
    // The password file, written as an editor writes it: with a line break.
    std::fs::write(words[at + 1], "correct horse battery staple\n").unwrap();

    #[derive(clap::Parser)]
    struct Crossforest {
        #[command(subcommand)]
        command: account_forest::cli::Command,
    }
    let parsed = <Crossforest as clap::Parser>::try_parse_from(&words[1..]).unwrap();
    account_forest::cli::run(parsed.command).await.unwrap();

    for identity in ["fabrikam\\Erin", "ERIN@FABRIKAM.COM"] {
        let mut erin = f.session(identity).await.unwrap();
        assert_eq!(
            erin.who_am_i().await.unwrap().user_name,
            "fabrikam\\Erin",
            "{identity}"
        );
    }
}
