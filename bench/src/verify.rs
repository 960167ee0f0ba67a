//! `crossforest model verify` on the generated organization: the built-in
//! invariants and two tests-file invariants over its 100,000 recipients and
//! 10,000 assignments, timed (issue 19 item 4).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use resource_forest::model::tests_file::{CmdletSpec, InvariantSpec, TestsFile};
use resource_forest::model::{report, verify, ForeignPrincipal, Model};
use resource_forest::org::Organization;
use resource_forest::rbac::catalogue;
use resource_forest::rbac::model::RoleGroupKind;

use crate::model::{build_model, Rng, Shape, RESOURCE};

/// The generated organization of `shape` as a permission model: its RBAC
/// configuration, its recipients as the model's objects, the linked groups'
/// foreign groups as its foreign principals.
pub fn model(shape: Shape) -> Result<Model> {
    let generated = build_model(&mut Rng(Rng::SEED), shape)?;
    let catalogue = catalogue::builtin().context("built-in catalogue")?;
    let mut org = Organization::new("contoso.com".parse()?, RESOURCE, &catalogue, &[])?;
    let mut foreign = std::collections::BTreeMap::new();
    for g in generated.config.role_groups.values() {
        if let RoleGroupKind::Linked(link) = &g.kind {
            foreign.insert(
                link.sid,
                ForeignPrincipal {
                    name: link.name.clone(),
                    domain: link.forest.netbios().to_ascii_lowercase(),
                },
            );
        }
    }
    org.rbac = Arc::new(generated.config);
    for r in generated.recipients {
        org.recipients.insert(r.name.to_ascii_lowercase(), r);
    }
    Ok(Model { org, foreign })
}

fn invariant(
    name: &str,
    cmdlet: &str,
    parameters: &[&str],
    objects: Option<&str>,
) -> InvariantSpec {
    InvariantSpec {
        name: name.to_owned(),
        for_all: Some("principals of fabrikam.com".to_owned()),
        cannot: Some(CmdletSpec {
            cmdlet: cmdlet.to_owned(),
            parameters: parameters.iter().map(|p| (*p).to_owned()).collect(),
        }),
        objects: objects.map(str::to_owned),
        ..InvariantSpec::default()
    }
}

/// Builds the model of `shape`, verifies it and prints the report and the
/// time verification took (the model's generation excluded).
pub fn run(shape: Shape) -> Result<()> {
    let model = model(shape)?;
    let tests = TestsFile {
        invariants: vec![
            invariant(
                "fabrikam never manages role groups",
                "Add-RoleGroupMember",
                &[],
                None,
            ),
            invariant(
                "fabrikam never sets VIP0's custom attributes",
                "Set-Mailbox",
                &["Identity", "CustomAttribute1"],
                Some("VIP0"),
            ),
        ],
        ..TestsFile::default()
    };
    let start = Instant::now();
    let outcomes = verify::run(&model, &tests)?;
    let elapsed = start.elapsed();
    print!("{}", report::text(&outcomes, true));
    println!(
        "verified {} recipients, {} assignments, {} scopes in {:.2} s",
        model.org.recipients.len(),
        model.org.rbac.assignments.len(),
        model.org.rbac.scopes.len(),
        elapsed.as_secs_f64()
    );
    Ok(())
}
