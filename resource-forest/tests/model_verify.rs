//! `crossforest model verify` (issue 19 item 4): each built-in invariant
//! fails on a model that breaks it, with a counterexample and its chain, and
//! holds on one that keeps it; the example models verify clean; the tests
//! file's invariants pass and fail.

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use resource_forest::model::assertions::Outcome;
use resource_forest::model::tests_file::TestsFile;
use resource_forest::model::{report, verify, Model};

fn read(path: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).expect(path)
}

fn example(name: &str) -> String {
    read(&format!("examples/models/{name}.toml"))
}

fn verify(model: &str, tests: &str) -> Vec<Outcome> {
    let model = Model::parse(model).expect("model");
    let tests: TestsFile = toml::from_str(tests).expect("tests");
    verify::run(&model, &tests).expect("verify")
}

fn outcome<'a>(outcomes: &'a [Outcome], name: &str) -> &'a Outcome {
    outcomes
        .iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no outcome `{name}`: {outcomes:?}"))
}

/// Asserts `name` failed and its report mentions every one of `words`.
fn fails_with(outcomes: &[Outcome], name: &str, words: &[&str]) {
    let o = outcome(outcomes, name);
    let text = o.lines.join("\n");
    assert!(!o.passed, "{name} held:\n{text}");
    assert!(text.contains("counterexample: "), "{text}");
    for w in words {
        assert!(text.contains(w), "`{w}` missing from:\n{text}");
    }
}

fn holds(outcomes: &[Outcome], name: &str) {
    let o = outcome(outcomes, name);
    assert!(o.passed, "{name}:\n{}", o.lines.join("\n"));
}

#[test]
fn example_models_verify_clean() {
    for name in ["shared", "rbac-split", "ad-split", "seattle"] {
        let outcomes = verify(
            &example(name),
            &read(&format!("examples/models/{name}.tests.toml")),
        );
        assert!(outcomes.len() >= 5, "{name}: {outcomes:?}");
        assert!(
            outcomes.iter().all(|o| o.passed),
            "{name}:\n{}",
            report::text(&outcomes, true)
        );
    }
}

#[test]
fn lockout_invariant_names_the_broken_rule() {
    // R-LOCK-1: a fixed delegating assignment gone from Organization Management.
    let model = example("shared").replace(
        "Base = \"exchange-2013\"",
        "Base = \"exchange-2013\"\nRemovedAssignments = [\"Mail Recipients-Organization Management-Delegating\"]",
    );
    fails_with(
        &verify(&model, ""),
        "lockout",
        &["Mail Recipients", "R-LOCK-1"],
    );
    holds(&verify(&example("shared"), ""), "lockout");
}

#[test]
fn permission_model_rbac_split_only_the_directory_group_creates() {
    // R-SPLIT-2: Recipient Management given Mail Recipient Creation back.
    let model = format!(
        "{}\n[[ManagementRoleAssignment]]\nRole = \"Mail Recipient Creation\"\nSecurityGroup = \"Recipient Management\"\n",
        example("rbac-split")
    );
    let tests = "PermissionModel = \"RbacSplit\"\n";
    fails_with(
        &verify(&model, tests),
        "permission-model",
        &[
            "contoso\\Erin",
            "New-Mailbox",
            "role group Recipient Management",
            "chain: ",
        ],
    );
    holds(&verify(&example("rbac-split"), tests), "permission-model");
    // A shared model declared RBAC split fails; AD split needs the setting.
    fails_with(
        &verify(&example("shared"), tests),
        "permission-model",
        &["Recipient Management", "New-Mailbox"],
    );
    fails_with(
        &verify(
            &example("shared"),
            "PermissionModel = \"ActiveDirectorySplit\"\n",
        ),
        "permission-model",
        &["ActiveDirectorySplitPermissions is false"],
    );
}

#[test]
fn no_account_forest_reaches_role_management() {
    let model = format!(
        "{}\n[[ManagementRoleAssignment]]\nRole = \"Role Management\"\nSecurityGroup = \"fabrikam Recipient Admins\"\n",
        example("shared")
    );
    fails_with(
        &verify(&model, ""),
        "no-account-forest-reaches-role-management",
        &[
            "fabrikam\\Exchange Admins",
            "holds Role Management",
            "linked foreign group",
            "chain: ",
        ],
    );
    holds(
        &verify(&example("shared"), ""),
        "no-account-forest-reaches-role-management",
    );
}

const SHADOWED: &str = r#"
[Model]
Organization = "contoso.com"
Base = "exchange-2013"

[[ManagementScope]]
Name = "Seattle Users"
RecipientRestrictionFilter = "City -eq 'Seattle'"

[[ManagementScope]]
Name = "Seattle Executives"
RecipientRestrictionFilter = "City -eq 'Seattle'"
Exclusive = true

[[RoleGroup]]
Name = "Seattle Recipient Management"
Members = ["contoso\\Ray"]

[[RoleGroup]]
Name = "Executive Assistants"
Members = ["contoso\\Ava"]

[[ManagementRoleAssignment]]
Name = "Mail Recipients_Seattle"
Role = "Mail Recipients"
SecurityGroup = "Seattle Recipient Management"
CustomRecipientWriteScope = "Seattle Users"

[[ManagementRoleAssignment]]
Name = "Mail Recipients_Executives"
Role = "Mail Recipients"
SecurityGroup = "Executive Assistants"
ExclusiveRecipientWriteScope = "Seattle Executives"
"#;

#[test]
fn no_dead_assignment_finds_shadowed_and_unreachable_assignments() {
    // Every Seattle recipient is an executive: the regular assignment writes
    // none of them (R-SCOPE-3). The synthetic object found from the filter
    // is the counterexample.
    let outcomes = verify(SHADOWED, "");
    fails_with(
        &outcomes,
        "no-dead-assignment",
        &[
            "Mail Recipients_Seattle",
            "exclusive scope `Seattle Executives`",
            "R-SCOPE-3",
        ],
    );
    let text = outcome(&outcomes, "no-dead-assignment").lines.join("\n");
    assert!(!text.contains("Mail Recipients_Executives"), "{text}");
    // A custom role group no one is in.
    let empty = format!(
        "{}\n[[RoleGroup]]\nName = \"Nobody Yet\"\n\n[[ManagementRoleAssignment]]\nRole = \"Mail Recipients\"\nSecurityGroup = \"Nobody Yet\"\n",
        example("shared")
    );
    fails_with(
        &verify(&empty, ""),
        "no-dead-assignment",
        &["no one reaches role group `Nobody Yet`"],
    );
    // Narrowing the exclusive scope revives the regular assignment.
    let revived = SHADOWED.replace(
        "RecipientRestrictionFilter = \"City -eq 'Seattle'\"\nExclusive = true",
        "RecipientRestrictionFilter = \"City -eq 'Seattle' -and Title -eq 'Executive'\"\nExclusive = true",
    );
    holds(&verify(&revived, ""), "no-dead-assignment");
}

#[test]
fn exclusive_scopes_are_written_only_through_exclusive_assignments() {
    let revived = SHADOWED.replace(
        "RecipientRestrictionFilter = \"City -eq 'Seattle'\"\nExclusive = true",
        "RecipientRestrictionFilter = \"Title -eq 'Executive'\"\nExclusive = true",
    );
    let outcomes = verify(&revived, "");
    holds(&outcomes, "exclusive-scopes-through-exclusive-assignments");
    let covered = outcome(&outcomes, "exclusive-scopes-through-exclusive-assignments")
        .lines
        .join("\n");
    assert!(!covered.contains("on 0 object classes"), "{covered}");
    // The exclusive scope used as a regular one.
    let misused = revived.replace(
        "ExclusiveRecipientWriteScope = \"Seattle Executives\"",
        "CustomRecipientWriteScope = \"Seattle Executives\"",
    );
    fails_with(
        &verify(&misused, ""),
        "exclusive-scopes-through-exclusive-assignments",
        &[
            "Mail Recipients_Executives",
            "exclusive scope `Seattle Executives` as a regular",
        ],
    );
}

const USER_INVARIANTS: &str = r#"
[[Invariant]]
Name = "fabrikam never manages role groups"
ForAll = "principals of fabrikam.com"
Cannot = { Cmdlet = "Add-RoleGroupMember" }

[[Invariant]]
Name = "fabrikam never sets custom attributes"
ForAll = "principals of fabrikam.com"
Cannot = { Cmdlet = "Set-Mailbox", Parameters = ["Identity", "CustomAttribute1"] }
Objects = "all"

[[Invariant]]
Name = "only the directory administrators create mailboxes"
Only = ["Active Directory Administrators"]
Cmdlets = ["New-Mailbox", "New-MailUser"]
"#;

#[test]
fn tests_file_invariants_pass_and_fail_with_counterexamples() {
    let outcomes = verify(&example("shared"), USER_INVARIANTS);
    holds(&outcomes, "fabrikam never manages role groups");
    fails_with(
        &outcomes,
        "fabrikam never sets custom attributes",
        &[
            "fabrikam\\Exchange Admins",
            "Set-Mailbox -Identity -CustomAttribute1",
            "fabrikam Recipient Admins",
            "chain: ",
        ],
    );
    fails_with(
        &outcomes,
        "only the directory administrators create mailboxes",
        &["New-Mailbox", "Organization Management"],
    );
    let split = verify(&example("rbac-split"), USER_INVARIANTS);
    holds(&split, "only the directory administrators create mailboxes");
    holds(&split, "fabrikam never sets custom attributes");
    // The report and JUnit carry the counterexample.
    let text = report::text(&outcomes, false);
    assert!(
        text.contains("✗ fabrikam never sets custom attributes"),
        "{text}"
    );
    let junit = report::junit("shared.toml", &outcomes);
    assert!(
        junit.contains("<failure message=\"counterexample: "),
        "{junit}"
    );
}

#[test]
fn a_malformed_invariant_fails_with_the_reason() {
    let outcomes = verify(
        &example("shared"),
        "[[Invariant]]\nName = \"bad\"\nForAll = \"everyone\"\nCannot = { Cmdlet = \"Set-Mailbox\" }\n",
    );
    let o = outcome(&outcomes, "bad");
    assert!(!o.passed);
    assert!(o.lines[0].contains("ForAll `everyone`"), "{:?}", o.lines);
}
