//! Shared set-up: contoso.com trusting fabrikam.com and tailspin.com, with
//! fabrikam's alice nested in Exchange Admins, which a linked role group links.

use crossforest_tests::Records;
use crossforest_tests::Session;
use crossforest_tests::{Federation, FederationBuilder};

/// Runs `line`, which must succeed.
pub async fn ok(s: &mut Session, line: &str) -> Records {
    match s.run(line).await {
        Ok(r) => r,
        Err(e) => panic!("`{line}` failed: {e}"),
    }
}

/// Runs `line`, which must be refused: whether RBAC denied it, and the message.
pub async fn refused(s: &mut Session, line: &str) -> (bool, String) {
    match s.run(line).await {
        Ok(r) => panic!("`{line}` was allowed: {r:?}"),
        Err(e) => (e.is_denied(), e.to_string()),
    }
}

/// contoso trusts fabrikam and tailspin; northwind exists but is not trusted.
/// fabrikam: alice ∈ Tier 2 Admins ∈ Exchange Admins; bob ∈ Exchange Admins.
/// tailspin: carol ∈ Exchange Admins. "fabrikam Recipient Admins" links
/// fabrikam\Exchange Admins with Mail Recipients and Mail Recipient Creation;
/// "tailspin View-Only" links tailspin\Exchange Admins with View-Only Recipients.
pub async fn federation() -> Federation {
    populate(builder().start().await.expect("federation starts")).await
}

/// The forests of [`federation`], not yet started.
pub fn builder() -> FederationBuilder {
    Federation::builder()
        .resource("contoso.com")
        .account("fabrikam.com")
        .account("tailspin.com")
        .untrusted_account("northwind.com")
}

/// The users, groups and linked role groups of [`federation`], in `f`.
pub async fn populate(f: Federation) -> Federation {
    for user in ["alice", "bob"] {
        f.add_user("fabrikam.com", user).await.unwrap();
    }
    f.add_group("fabrikam.com", "Exchange Admins")
        .await
        .unwrap();
    f.add_group("fabrikam.com", "Tier 2 Admins").await.unwrap();
    f.add_member("fabrikam.com", "Tier 2 Admins", "alice")
        .await
        .unwrap();
    f.add_member("fabrikam.com", "Exchange Admins", "Tier 2 Admins")
        .await
        .unwrap();
    f.add_member("fabrikam.com", "Exchange Admins", "bob")
        .await
        .unwrap();
    f.add_user("tailspin.com", "carol").await.unwrap();
    f.add_group("tailspin.com", "Exchange Admins")
        .await
        .unwrap();
    f.add_member("tailspin.com", "Exchange Admins", "carol")
        .await
        .unwrap();
    f.add_user("northwind.com", "nina").await.unwrap();
    f.link_role_group(
        "fabrikam.com",
        "fabrikam Recipient Admins",
        "Exchange Admins",
        &["Mail Recipients", "Mail Recipient Creation"],
    )
    .await
    .unwrap();
    f.link_role_group(
        "tailspin.com",
        "tailspin View-Only",
        "Exchange Admins",
        &["View-Only Recipients"],
    )
    .await
    .unwrap();
    f
}

/// The RBAC split stories' start: a resource forest alone, its
/// Administrator's session, and two mailboxes: Dora, the directory
/// administrator to be, and Rick, a member of Recipient Management.
pub async fn dora_and_rick() -> (Federation, Session) {
    let f = Federation::builder().start().await.unwrap();
    let mut admin = f.administrator().await.unwrap();
    for name in ["Dora", "Rick"] {
        ok(&mut admin, &format!("New-Mailbox -Name {name}")).await;
    }
    ok(
        &mut admin,
        "Add-RoleGroupMember \"Recipient Management\" -Member Rick",
    )
    .await;
    (f, admin)
}

/// RBAC split permissions (R-SPLIT-2): runs the documentation's procedure,
/// `examples/rbac-split.ps1`, as the Administrator through the shell, then
/// adds `member` to the new "Active Directory Administrators" group.
pub async fn rbac_split(f: &Federation, admin: &mut Session, member: &str) {
    let code = run_example(f, "rbac-split.ps1").await;
    assert_eq!(code, 0, "the script ran to its end");
    ok(
        admin,
        &format!("Add-RoleGroupMember \"Active Directory Administrators\" -Member {member}"),
    )
    .await;
}

/// The value of `property` in the first record.
pub fn property(response: &Records, property: &str) -> Option<String> {
    response.first()?.get(property).map(str::to_owned)
}

/// Every record of the resource forest's admin audit log, oldest first.
pub fn audit(f: &Federation) -> Vec<resource_forest::audit::AuditRecord> {
    let path = f
        .lab()
        .node_dir(f.resource())
        .join("data")
        .join("audit.jsonl");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs `examples/<name>` through the shell as the resource forest's
/// Administrator; returns the exit code.
pub async fn run_example(f: &Federation, name: &str) -> u8 {
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name);
    crossforest_cli::shell::run(
        f.dir().to_owned(),
        "contoso\\Administrator",
        crossforest_cli::shell::Input::File(script),
        crossforest_cli::output::Format::Text,
    )
    .await
    .unwrap()
}
