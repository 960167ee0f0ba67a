//! Permission models as code (issue 19): the example models pass their
//! tests, a broken assertion fails with the chain or nearest miss that
//! explains it, export → model → configuration is the identity, and the
//! committed JSON Schema is the generated one.

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use resource_forest::model::tests_file::TestsFile;
use resource_forest::model::{assertions, export, format, report, Model};
use resource_forest::rbac_document::RbacDocument;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repository().join(path)).expect(path)
}

fn run(model: &str, tests: &str) -> Vec<assertions::Outcome> {
    let model = Model::parse(model).expect("model");
    let tests: TestsFile = toml::from_str(tests).expect("tests");
    assertions::run(&model, &tests).expect("run")
}

#[test]
fn split_permission_and_seattle_example_models_pass_their_tests() {
    for name in ["shared", "rbac-split", "ad-split", "seattle"] {
        let outcomes = run(
            &read(&format!("examples/models/{name}.toml")),
            &read(&format!("examples/models/{name}.tests.toml")),
        );
        assert!(outcomes.len() >= 4, "{name}: {outcomes:?}");
        let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed).collect();
        assert!(
            failed.is_empty(),
            "{name}: {}",
            report::text(&outcomes, true)
        );
    }
}

const BROKEN: &str = r#"
[[Object]]
Name = "Tom"
Attributes = { City = "Portland" }

[[Assert]]
Name = "Ray changes Tom"
Can = "contoso\\Ray"
Cmdlet = "Set-Mailbox"
Parameters = ["Identity", "CustomAttribute1"]
Target = "Tom"

[[Assert]]
Name = "Ray can't read mailboxes"
Cannot = "contoso\\Ray"
Cmdlet = "Get-Mailbox"

[[Assert]]
Name = "only Ray creates mailboxes"
WhoCan = "New-Mailbox"
Parameters = ["Name"]
Equals = ["contoso\\Ray"]
"#;

#[test]
fn a_broken_assertion_fails_with_its_nearest_miss_or_chain_in_the_report_and_junit() {
    let outcomes = run(&read("examples/models/seattle.toml"), BROKEN);
    assert!(outcomes.iter().all(|o| !o.passed), "{outcomes:?}");
    let text = report::text(&outcomes, false);
    // R-ASG-3: the nearest miss names the scope that doesn't cover Tom.
    assert!(text.contains("✗ Ray changes Tom"), "{text}");
    assert!(
        text.contains("nearest miss: `Tom` isn't within the write scope"),
        "{text}"
    );
    assert!(
        text.contains("scope `Seattle Users` (filter City -eq 'Seattle')"),
        "{text}"
    );
    // The chain that allows what was asserted impossible.
    assert!(
        text.contains("allowed by: contoso\\Ray → role group Seattle Recipient Management → assignment Mail Recipients_Seattle Recipient Management → role Mail Recipients"),
        "{text}"
    );
    // Who-can names the one that can but wasn't expected, and the one missing.
    assert!(
        text.contains("can but not expected: contoso\\Administrator"),
        "{text}"
    );
    assert!(text.contains("expected but can't: contoso\\Ray"), "{text}");
    assert!(text.ends_with("0 passed, 3 failed\n"), "{text}");
    let junit = report::junit("seattle", &outcomes);
    assert!(
        junit.contains(r#"<testsuite name="seattle" tests="3" failures="3">"#),
        "{junit}"
    );
    assert_eq!(junit.matches("<failure message=").count(), 3, "{junit}");
    assert!(
        junit.contains("isn&apos;t within") || junit.contains("isn't within"),
        "{junit}"
    );
}

#[test]
fn a_test_naming_an_unknown_principal_or_parameter_fails_with_the_reason() {
    let tests = r#"
[[Assert]]
Name = "typo in the principal"
Cannot = "contoso\\Rya"
Cmdlet = "New-Mailbox"

[[Assert]]
Name = "typo in the parameter"
Can = "contoso\\Ray"
Cmdlet = "Set-Mailbox"
Parameters = ["CustomAtribute1"]
"#;
    let outcomes = run(&read("examples/models/seattle.toml"), tests);
    assert!(!outcomes[0].passed);
    assert!(
        outcomes[0].lines[0].contains("`contoso\\Rya` is neither named by the model"),
        "{outcomes:?}"
    );
    assert!(!outcomes[1].passed);
    assert!(
        outcomes[1].lines[0].contains("CustomAtribute1"),
        "{outcomes:?}"
    );
}

#[test]
fn a_custom_role_may_not_add_what_its_parent_lacks() {
    let model = r#"
[Model]
Organization = "contoso.com"
Base = "exchange-2013"

[[ManagementRole]]
Name = "Seattle Recipients"
Parent = "Mail Recipients"
Entries = ["Set-Mailbox -Identity -NoSuchParameter"]
"#;
    let error = Model::parse(model).expect_err("R-ROLE-2");
    assert!(
        error
            .to_string()
            .contains("only removes entries and parameters (R-ROLE-2)"),
        "{error}"
    );
}

/// A model through the organization, the RBAC document and the export back
/// to a file, parsed again: the same configuration ("plan shows no change").
fn round_trip(text: &str) {
    let model = Model::parse(text).expect("model");
    let document = RbacDocument::export(&model.org, 1, &[]);
    let exported = export::to_toml(&export::export(&document).expect("export")).expect("toml");
    let again = Model::parse(&exported).unwrap_or_else(|e| panic!("{e}\n{exported}"));
    assert_eq!(*again.org.rbac, *model.org.rbac, "{exported}");
    assert_eq!(
        again.org.active_directory_split_permissions,
        model.org.active_directory_split_permissions
    );
    // Exported again, the file is the same: nothing to change.
    let twice = export::to_toml(
        &export::export(&RbacDocument::export(&again.org, 1, &[])).expect("export"),
    )
    .expect("toml");
    assert_eq!(twice, exported);
}

#[test]
fn export_then_parse_gives_the_same_configuration() {
    for name in ["shared", "rbac-split", "ad-split", "seattle"] {
        round_trip(&read(&format!("examples/models/{name}.toml")));
    }
    round_trip(
        r#"
[Model]
Organization = "contoso.com"
Base = "exchange-2013"

[[ManagementRole]]
Name = "Seattle Recipients"
Parent = "Mail Recipients"
Entries = ["Set-Mailbox -Identity -CustomAttribute1", "Get-Mailbox -Identity"]

[[ManagementRole]]
Name = "A Seattle Readers"
Parent = "Seattle Recipients"
Entries = ["Get-Mailbox -Identity"]

[[ManagementScope]]
Name = "VIPs"
RecipientRoot = "contoso.com/VIP"
Exclusive = true

[[RoleGroup]]
Name = "VIP Admins"
Members = ["contoso\\Vera", "Help Desk", "fabrikam\\bob"]
ManagedBy = ["contoso\\Brian"]

[[ManagementRoleAssignment]]
Role = "A Seattle Readers"
SecurityGroup = "VIP Admins"
ExclusiveRecipientWriteScope = "VIPs"

[[ManagementRoleAssignment]]
Name = "Vera's own"
Role = "Mail Recipients"
User = "contoso\\Vera"
RecipientOrganizationalUnitScope = "contoso.com/Sales"
Enabled = false

[[RoleAssignmentPolicy]]
Name = "Seattle Policy"
Description = "for Seattle"
"#,
    );
}

#[test]
fn the_committed_json_schema_is_the_generated_one() {
    // Compared as JSON: key order follows serde_json's features, which
    // differ between this test and the crossforest binary.
    let committed: serde_json::Value =
        serde_json::from_str(&read("docs/model.schema.json")).expect("committed schema");
    let generated: serde_json::Value =
        serde_json::from_str(&format::schema()).expect("generated schema");
    assert_eq!(
        committed, generated,
        "regenerate with `crossforest model schema > docs/model.schema.json`"
    );
}
