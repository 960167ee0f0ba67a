//! A client no one here wrote (issue 5): Python's grpcio, with stubs generated
//! at run time from `proto/`, drives the resource forest over mutual TLS as a
//! local administrator, a less privileged local caller and an account-forest
//! user with a forest token, lists services through reflection (`v1alpha`, the
//! version Python's client speaks) and checks health. See tests/python/client.py.

use std::path::{Path, PathBuf};

use crossforest_shared::client::ForestEndpoint;
use crossforest_shared::pki::{write_private, write_public, IssuedCertificate};
use crossforest_shared::{ForestName, Principal};
use serde_json::{json, Value};
use tokio::process::Command;

use super::common::{federation, ok};

const PYTHON: &str = "python3";

fn client_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/client.py")
}

/// Fails the test, saying what to do, when Python or its gRPC modules are missing.
async fn require_python_grpc() {
    let probe = Command::new(PYTHON)
        .args(["-c", "import grpc, grpc_tools, grpc_reflection"])
        .output()
        .await;
    match probe {
        Err(e) => panic!("cannot run `{PYTHON}` ({e}); run scripts/test.sh, which installs Python's grpcio for this test"),
        Ok(o) if !o.status.success() => panic!(
            "Python's gRPC modules are missing ({}); run scripts/test.sh, which installs grpcio, grpcio-tools and grpcio-reflection",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Ok(_) => {}
    }
}

/// Writes a node's CA; its entry in the lab description.
fn node(dir: &Path, endpoint: &ForestEndpoint) -> Value {
    let ca = format!("{}-ca.pem", endpoint.forest);
    write_public(&dir.join(&ca), &endpoint.ca_pem).unwrap();
    json!({ "forest": endpoint.forest.as_str(), "address": endpoint.address, "ca": ca })
}

/// The SID a principal certificate names.
fn sid(credential: &IssuedCertificate) -> String {
    let der = credential.certificate_der().unwrap();
    Principal::from_peer_certificates(&[der])
        .unwrap()
        .sid
        .to_string()
}

/// Writes a principal's certificate and key; its entry in the lab description.
fn principal(dir: &Path, name: &str, credential: &IssuedCertificate) -> Value {
    let (certificate, key) = (format!("{name}.crt"), format!("{name}.key"));
    write_public(&dir.join(&certificate), &credential.certificate_pem).unwrap();
    write_private(&dir.join(&key), &credential.private_key_pem).unwrap();
    json!({ "sid": sid(credential), "certificate": certificate, "key": key })
}

/// Runs the Python client on `lab` (written into `dir`): exit status, summary.
async fn run_client(dir: &Path, lab: &Value) -> (bool, Value, String) {
    let path = dir.join("lab.json");
    std::fs::write(&path, lab.to_string()).unwrap();
    let output = Command::new(PYTHON)
        .arg(client_script())
        .arg(&path)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("client.py printed no JSON summary ({e}):\n{stdout}\n{stderr}"));
    (output.status.success(), summary, stdout)
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[tokio::test]
async fn a_generated_python_client_manages_the_resource_forest_over_mtls() {
    require_python_grpc().await;
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-Mailbox -Name dana").await;
    // dana's own account: a local caller with the default role assignment policy.
    f.local_session("dana").await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lab = f.lab();
    let contoso = f.resource().clone();
    let fabrikam: ForestName = "fabrikam.com".parse().unwrap();
    let administrator = lab.credential(&contoso, "Administrator").unwrap();
    let alice = lab.credential(&fabrikam, "alice").unwrap();
    let password = lab.password(&fabrikam, "alice").unwrap();
    write_private(&d.join("alice.password"), &password).unwrap();
    let mut foreign = principal(d, "alice", &alice);
    let Value::Object(foreign_entry) = &mut foreign else {
        unreachable!()
    };
    let Value::Object(home) = node(d, &f.endpoint("fabrikam.com").unwrap()) else {
        unreachable!()
    };
    foreign_entry.extend(home);
    foreign_entry.insert("user".into(), "alice".into());
    foreign_entry.insert("password_file".into(), "alice.password".into());
    foreign_entry.insert("role_group".into(), "fabrikam Recipient Admins".into());
    let mut description = json!({
        "resource": node(d, &f.endpoint("contoso.com").unwrap()),
        "administrator": principal(d, "Administrator", &administrator),
        "limited": principal(d, "dana", &lab.credential(&contoso, "dana").unwrap()),
        "foreign": foreign,
    });

    let (success, summary, stdout) = run_client(d, &description).await;
    assert!(success, "client.py reported mismatches:\n{stdout}");
    assert_eq!(summary["failures"], json!([]), "{stdout}");

    // Reflection lists this node's services and the standard ones.
    let services = strings(&summary["services"]);
    for expected in [
        "crossforest.management.v1.Management",
        "crossforest.management.v1.Authorization",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(services.contains(&expected), "{expected}: {services:?}");
    }
    assert!(
        !services
            .iter()
            .any(|s| s.starts_with("crossforest.directory")),
        "{services:?}"
    );
    // Health, through message classes Python built from reflection.
    assert_eq!(summary["health"][""], "SERVING", "{stdout}");
    assert_eq!(
        summary["health"]["crossforest.management.v1.Management"],
        "SERVING"
    );

    // The administrator: certificate only; Organization Management.
    let admin_summary = &summary["administrator"];
    assert_eq!(admin_summary["who_am_i"]["user_sid"], sid(&administrator));
    assert!(strings(&admin_summary["role_groups"]).contains(&"Organization Management"));
    assert_eq!(admin_summary["check"]["allowed"], true);

    // dana: denied by RBAC, with the status code, the reason and the error code.
    let denied = &summary["limited"]["denied"];
    assert_eq!(denied["code"], "PERMISSION_DENIED", "{stdout}");
    assert_eq!(denied["error_code"], "ERROR_CODE_DENIED");
    assert_eq!(denied["denial_rule"], "DENIAL_RULE_CMDLET_NOT_AVAILABLE");
    let message = denied["message"].as_str().unwrap();
    assert!(message.contains("Get-RoleGroup"), "{message}");
    let check = &summary["limited"]["check"];
    assert_eq!(check["allowed"], false);
    assert_eq!(
        check["denial"], "DENIAL_RULE_CMDLET_NOT_AVAILABLE",
        "{stdout}"
    );

    // alice: authenticated at fabrikam from Python, token presented to contoso.
    let alice_summary = &summary["foreign"];
    assert_eq!(alice_summary["without_token"]["code"], "UNAUTHENTICATED");
    assert_eq!(alice_summary["who_am_i"]["user_sid"], sid(&alice));
    assert_eq!(alice_summary["who_am_i"]["forest"], "fabrikam.com");
    let linked = strings(&alice_summary["who_am_i"]["role_groups"]);
    assert!(
        linked
            .iter()
            .any(|g| g.starts_with("fabrikam Recipient Admins (via S-1-5-21-")),
        "{linked:?}"
    );
    assert!(strings(&alice_summary["mailboxes"]).contains(&"dana"));
    assert!(
        !stdout.contains(&password),
        "the summary must not reveal secrets"
    );

    // The client's own checks are real: expecting the wrong SID fails the run.
    description["administrator"]["sid"] = description["limited"]["sid"].clone();
    let (success, summary, stdout) = run_client(d, &description).await;
    assert!(!success, "{stdout}");
    let failures = strings(&summary["failures"]);
    assert!(
        failures.len() == 1 && failures[0].starts_with("WhoAmI of the administrator"),
        "{failures:?}"
    );
}
