//! Operating a lab from the command line (issue 18 item 7): what `up` says
//! and refuses, plain node logs, exporting a running node, `pki` output
//! and hints, and how errors print.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{up, EXE};

fn run(args: &[&str]) -> Output {
    Command::new(EXE).args(args).output().unwrap()
}

/// `crossforest shell --lab <lab> --as contoso\Administrator -c <line>`.
fn as_administrator(lab: &str, line: &str) -> Output {
    run(&[
        "shell",
        "--lab",
        lab,
        "--as",
        "contoso\\Administrator",
        "-c",
        line,
    ])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn export(config: &Path) -> serde_json::Value {
    let out = run(&[
        "resource-forest",
        "export",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_running_lab_is_observable_exportable_and_not_started_twice() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    let lab_arg = lab.to_str().unwrap();
    let running = up(&lab, &["--log-format", "json"], &[]);

    // `up` says what it waits for, and where each node serves metrics.
    let said = running.stderr.join("\n");
    let contoso = lab.join("contoso.com");
    let listen = crossforest_cli::lab::Lab::open(&lab)
        .unwrap()
        .resource_config()
        .unwrap()
        .listen;
    assert!(
        said.contains(&format!(
            "waiting for contoso.com (resource forest) on {listen}"
        )),
        "{said}"
    );
    assert!(
        said.contains("waiting for fabrikam.com (account forest)"),
        "{said}"
    );
    assert_eq!(said.matches("; metrics on http://").count(), 3, "{said}");

    // Node logs: the format `up` was given, and no terminal escapes.
    for forest in ["contoso.com", "fabrikam.com", "tailspin.com"] {
        let log = std::fs::read(lab.join(forest).join("node.log")).unwrap();
        assert!(!log.contains(&0x1b), "{forest}/node.log holds an ESC byte");
        let first = text(&log).lines().next().unwrap().to_owned();
        let event: serde_json::Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("{forest}/node.log is not JSON lines ({e}): {first}"));
        assert!(event["level"].is_string(), "{first}");
    }

    // A second `up` says the lab runs, names the pids, and starts nothing.
    let second = run(&["up", "--dir", lab_arg]);
    assert!(!second.status.success());
    let stderr = text(&second.stderr);
    let pid = std::fs::read_to_string(contoso.join("node.pid")).unwrap();
    assert!(stderr.contains("is already running (pids: "), "{stderr}");
    assert!(
        stderr.contains(&format!("contoso.com {}", pid.trim())),
        "{stderr}"
    );
    assert!(!stderr.contains("Cannot acquire lock"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // Export of the running node: one snapshot over the management API,
    // audited.
    let config = contoso.join("node.toml");
    let live = export(&config);
    assert_eq!(live["format"], "crossforest.rbac/1");
    assert!(live["role_groups"]
        .as_object()
        .unwrap()
        .values()
        .any(|g| g["name"] == "Organization Management"));
    let audit = std::fs::read_to_string(contoso.join("data/audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"CmdletName\":\"Export-RbacConfiguration\""),
        "{audit}"
    );

    // Stopped: the offline export is the same document, and the one taken
    // while running imports.
    drop(running);
    assert!(!contoso.join("node.pid").exists());
    assert_eq!(export(&config), live);
    let file = dir.path().join("rbac.json");
    std::fs::write(&file, serde_json::to_vec(&live).unwrap()).unwrap();
    let import = run(&[
        "resource-forest",
        "import",
        "--config",
        config.to_str().unwrap(),
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(import.status.success(), "{}", text(&import.stderr));

    // A stopped lab: the error says how to start it.
    let shell = as_administrator(lab_arg, "Get-RoleGroup");
    let stderr = text(&shell.stderr);
    assert!(
        stderr.contains("cannot reach contoso.com")
            && stderr.contains(&format!(
                "is the lab running? start it with `crossforest up --dir {lab_arg}`"
            )),
        "{stderr}"
    );
}

#[test]
fn pki_list_fits_100_columns_and_its_hints_run_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    let lab_arg = lab.to_str().unwrap();
    crossforest_cli::demo::generate(&lab, false).unwrap();

    let list = run(&["pki", "list", "--lab", lab_arg]);
    assert!(list.status.success(), "{}", text(&list.stderr));
    let listed = text(&list.stdout);
    for line in listed.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.len()
        );
    }
    assert!(listed.contains("SerialNumber : "), "{listed}");
    let json = run(&["pki", "list", "--lab", lab_arg, "--output", "json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows.len(), listed.matches("\nFile ").count());
    assert!(rows
        .iter()
        .any(|r| r["File"] == "contoso.com/pki/server.pem"
            && r["SANs"]
                .as_array()
                .unwrap()
                .contains(&"DNS:localhost".into())));

    // `pki rotate --what ca`: each next step is a command naming the lab;
    // running the last one as printed ends the rotation.
    let begin = run(&[
        "pki",
        "rotate",
        "--lab",
        lab_arg,
        "--forest",
        "fabrikam.com",
        "--what",
        "ca",
    ]);
    assert!(begin.status.success(), "{}", text(&begin.stderr));
    let said = text(&begin.stdout);
    let commands: Vec<&str> = said
        .lines()
        .filter_map(|l| l.split_once("crossforest pki ").map(|(_, c)| c))
        .collect();
    assert!(commands.iter().any(|c| c.starts_with("reissue ")), "{said}");
    for command in &commands {
        assert!(command.ends_with(&format!("--lab {lab_arg}")), "{said}");
    }
    let finish: Vec<&str> = std::iter::once("pki")
        .chain(commands.last().unwrap().split_whitespace())
        .collect();
    assert!(finish.contains(&"--finish"), "{said}");
    let finished = run(&finish);
    assert!(finished.status.success(), "{}", text(&finished.stderr));
    assert!(text(&finished.stdout).contains("finished the rotation of the CA of fabrikam.com"));
}

#[test]
fn an_error_prints_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    crossforest_cli::demo::generate(&lab, false).unwrap();
    std::fs::remove_file(lab.join("fabrikam.com/pki/ca.key")).unwrap();
    let out = run(&[
        "pki",
        "issue-server",
        "--lab",
        lab.to_str().unwrap(),
        "--forest",
        "fabrikam.com",
    ]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("ca.key"), "{stderr}");
    assert_eq!(stderr.matches("(os error 2)").count(), 1, "{stderr}");
}

#[test]
fn a_port_taken_since_the_lab_was_created_is_given_up_for_a_free_one() {
    use crossforest_cli::lab::Lab;
    let dir = tempfile::tempdir().unwrap();
    let lab_dir = dir.path().join("lab");
    let lab_arg = lab_dir.to_str().unwrap();
    let lab = crossforest_cli::demo::generate(&lab_dir, false).unwrap();
    let fabrikam: crossforest_shared::ForestName = "fabrikam.com".parse().unwrap();
    let taken_listen = lab.account_config(&fabrikam).unwrap().listen;
    let taken_metrics = lab
        .resource_config()
        .unwrap()
        .operations
        .metrics_listen
        .unwrap();
    // Another program holds fabrikam's port and contoso's metrics port.
    let _holders = [
        std::net::TcpListener::bind(&taken_listen).unwrap(),
        std::net::TcpListener::bind(&taken_metrics).unwrap(),
    ];

    let running = up(&lab_dir, &[], &[]);
    let said = running.stderr.join("\n");
    for forest in ["fabrikam.com", "contoso.com"] {
        assert!(
            said.contains(&format!(
                "an address of {forest} is in use by another program; moved it to"
            )),
            "{said}"
        );
    }
    let lab = Lab::open(&lab_dir).unwrap();
    let moved = lab.account_config(&fabrikam).unwrap().listen;
    assert_ne!(moved, taken_listen);
    let resource = lab.resource_config().unwrap();
    assert_ne!(resource.operations.metrics_listen.unwrap(), taken_metrics);
    let trust = resource
        .trusts
        .iter()
        .find(|t| t.forest == fabrikam)
        .unwrap();
    assert_eq!(trust.endpoint, moved, "the trust follows the moved forest");

    // The resource forest reaches fabrikam through the trust's new endpoint,
    // and fabrikam's directory answers (a fresh lab has no such group yet).
    let line = format!(
        "New-RoleGroup -Name \"fabrikam Admins\" -LinkedForeignGroup \"fabrikam\\Exchange Admins\" -LinkedDomainController dc01.fabrikam.com -LinkedCredential fabrikam\\{} -Roles \"Mail Recipients\"",
        crossforest_cli::lab::service_account(&lab.file().resource)
    );
    let out = as_administrator(lab_arg, &line);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "the directory server `{moved}` of `fabrikam.com` could not be used: no user or group named `fabrikam\\Exchange Admins` exists in this forest"
        )),
        "{stderr}"
    );
}
