//! The offline commands on a stopped node (issue 6): `resource-forest
//! export` and `import` of the RBAC configuration, and `check` refusing a
//! store whose schema is newer than the binary. The node keeps its
//! organization in the scenarios' store (`CROSSFOREST_TEST_STORE`).

// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use resource_forest::cli::{run, Command};
use resource_forest::config::NodeConfig;
use resource_forest::init::{init, InitOptions};
use resource_forest::rbac_document::{RbacDocument, FORMAT};

fn node(dir: &Path) -> PathBuf {
    init(&InitOptions {
        dir: dir.join("contoso"),
        forest: "contoso.com".parse().unwrap(),
        domain_sid: "S-1-5-21-10-20-30".parse().unwrap(),
        listen: "127.0.0.1:1".into(),
        organizational_units: Vec::new(),
        trusts: Vec::new(),
        active_directory_split_permissions: false,
        store: resource_forest::store::testing::scenario_store().unwrap(),
    })
    .unwrap();
    dir.join("contoso").join("node.toml")
}

async fn export(config: &Path, dir: &Path) -> RbacDocument {
    let output = dir.join("rbac.json");
    run(Command::Export {
        config: config.to_owned(),
        output: Some(output.clone()),
        format: "json".into(),
    })
    .await
    .unwrap();
    RbacDocument::parse(&std::fs::read_to_string(output).unwrap()).unwrap()
}

async fn import(config: &Path, dir: &Path, document: &RbacDocument) -> anyhow::Result<()> {
    let file = dir.join("import.json");
    std::fs::write(&file, serde_json::to_string_pretty(document).unwrap()).unwrap();
    run(Command::Import {
        config: config.to_owned(),
        file,
        what_if: false,
    })
    .await
}

async fn revision(config: &Path) -> u64 {
    let config = NodeConfig::load(config).unwrap();
    let store = resource_forest::store::open(&config.store, &config.data_dir)
        .await
        .unwrap();
    store.revision().await.unwrap()
}

#[tokio::test]
async fn export_then_import_round_trips_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let config = node(dir.path());
    let original = export(&config, dir.path()).await;
    assert_eq!(original.format, FORMAT);
    assert_eq!(original.revision, 1);
    assert!(original.role_groups.contains_key("organization management"));

    // A reviewed change: one more role group with one assignment.
    let mut changed = original.clone();
    let mut helpers = changed.role_groups["recipient management"].clone();
    helpers.name = "Helpers".into();
    helpers.builtin = false;
    helpers.sid = "S-1-5-21-10-20-30-5000".parse().unwrap();
    changed.role_groups.insert("helpers".into(), helpers);
    let mut assignment = changed.assignments["mail recipients-recipient management"].clone();
    assignment.name = "Mail Recipients-Helpers".into();
    assignment.assignee = resource_forest::rbac::model::Assignee::RoleGroup("Helpers".into());
    changed
        .assignments
        .insert("mail recipients-helpers".into(), assignment);
    // What if: validated and reported, nothing stored.
    let file = dir.path().join("what-if.json");
    std::fs::write(&file, serde_json::to_string(&changed).unwrap()).unwrap();
    run(Command::Import {
        config: config.clone(),
        file,
        what_if: true,
    })
    .await
    .unwrap();
    assert_eq!(revision(&config).await, 1);
    import(&config, dir.path(), &changed).await.unwrap();
    assert_eq!(revision(&config).await, 2);
    let now = export(&config, dir.path()).await;
    assert_eq!(now.role_groups, changed.role_groups);
    assert_eq!(now.assignments, changed.assignments);

    // The backup restores the original configuration.
    import(&config, dir.path(), &original).await.unwrap();
    let restored = export(&config, dir.path()).await;
    assert_eq!(restored.role_groups, original.role_groups);
    assert_eq!(restored.assignments, original.assignments);
    assert_eq!(restored.revision, 3);

    let audit = NodeConfig::load(&config).unwrap().audit_file();
    let audit = std::fs::read_to_string(audit).unwrap();
    // Two imports and the what-if, each audited.
    assert_eq!(audit.matches("Import-RbacConfiguration").count(), 3);
}

#[tokio::test]
async fn a_stopped_node_exports_a_permission_model_that_converts_back_to_its_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = node(dir.path());
    let output = dir.path().join("model.toml");
    run(Command::Export {
        config: config.clone(),
        output: Some(output.clone()),
        format: "model".into(),
    })
    .await
    .unwrap();
    let text = std::fs::read_to_string(&output).unwrap();
    assert!(
        text.contains("[Model]") && text.contains("Base = \"exchange-2013\""),
        "{text}"
    );
    let model = resource_forest::model::Model::parse(&text).unwrap();
    let document = export(&config, dir.path()).await;
    assert_eq!(model.org.rbac.role_groups, document.role_groups, "{text}");
    assert_eq!(model.org.rbac.assignments, document.assignments, "{text}");
    assert_eq!(model.org.rbac.roles, document.roles);
}

#[tokio::test]
async fn the_admin_audit_log_configuration_is_exported_and_imported_with_the_organization() {
    let dir = tempfile::tempdir().unwrap();
    let config = node(dir.path());
    let original = export(&config, dir.path()).await;
    let defaults = original.admin_audit_log_config.clone().unwrap();
    assert_eq!(defaults.admin_audit_log_cmdlets, ["*"]);
    assert_eq!(
        defaults.admin_audit_log_age_limit.to_string(),
        "90.00:00:00"
    );

    let mut changed = original.clone();
    let mut audit = defaults.clone();
    audit.admin_audit_log_excluded_cmdlets = vec!["Set-Mailbox".into()];
    audit.test_cmdlet_logging_enabled = true;
    changed.admin_audit_log_config = Some(audit.clone());
    import(&config, dir.path(), &changed).await.unwrap();
    assert_eq!(
        export(&config, dir.path()).await.admin_audit_log_config,
        Some(audit.clone())
    );
    // A document without it (an older export) leaves it as it is.
    let mut older = original.clone();
    older.admin_audit_log_config = None;
    import(&config, dir.path(), &older).await.unwrap();
    assert_eq!(
        export(&config, dir.path()).await.admin_audit_log_config,
        Some(audit)
    );
}

#[tokio::test]
async fn an_invalid_document_changes_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let config = node(dir.path());
    let original = export(&config, dir.path()).await;

    let mut dangling = original.clone();
    dangling.roles.remove("mail recipients");
    let e = import(&config, dir.path(), &dangling)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`Mail Recipients`") && e.contains("doesn't define"),
        "{e}"
    );

    let mut lockout = original.clone();
    lockout
        .assignments
        .remove("mailbox search-organization management-delegating")
        .unwrap();
    let e = import(&config, dir.path(), &lockout)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("R-LOCK-1"), "{e}");

    let mut other = original.clone();
    other.organization = "fabrikam.com".parse().unwrap();
    let e = import(&config, dir.path(), &other)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("fabrikam.com"), "{e}");

    let file = dir.path().join("future.json");
    std::fs::write(&file, r#"{"format": "crossforest.rbac/2"}"#).unwrap();
    let e = run(Command::Import {
        config: config.clone(),
        file,
        what_if: false,
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("crossforest.rbac/2") && e.contains(FORMAT),
        "{e}"
    );

    assert_eq!(revision(&config).await, 1, "nothing was changed");
}

#[tokio::test]
async fn a_node_refuses_to_start_on_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let config = node(dir.path());
    let node = NodeConfig::load(&config).unwrap();
    match &node.store {
        resource_forest::store::StoreConfig::Embedded => {
            resource_forest::store::embedded::EmbeddedStore::open(
                &resource_forest::store::embedded::EmbeddedStore::path(&node.data_dir),
            )
            .unwrap()
            .set_schema_version(99)
            .unwrap();
        }
        resource_forest::store::StoreConfig::Postgres { url, schema } => {
            resource_forest::store::postgres::PostgresStore::connect(url, schema)
                .await
                .unwrap()
                .set_schema_version(99)
                .await
                .unwrap();
        }
    }
    let e = run(Command::Check { config })
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("schema is version 99") && e.contains("upgrade the binary"),
        "{e}"
    );
}
