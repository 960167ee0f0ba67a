//! `crossforest demo`: three forests as separate processes and a short
//! cross-forest administration transcript.

use std::path::Path;

use anyhow::{bail, Context as _};
use crossforest_shared::telemetry::LogFormat;
use crossforest_shared::ForestName;

use crate::lab::{Lab, LabSpec};
use crate::output::{render_view, Format, View};
use crate::processes::{free_loopback_address, Running};

/// The demo's forests.
pub const RESOURCE: &str = "contoso.com";
/// The trusted account forest whose admins manage recipients.
pub const FABRIKAM: &str = "fabrikam.com";
/// The trusted account forest whose admins only view.
pub const TAILSPIN: &str = "tailspin.com";

fn forest(name: &str) -> anyhow::Result<ForestName> {
    Ok(name.parse()?)
}

/// What a transcript step expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Denied,
    Refused,
}

async fn step(lab: &Lab, identity: &str, line: &str, expect: Expect) -> anyhow::Result<()> {
    println!("PS {identity}> {line}");
    let mut session = lab.session(identity).await?;
    match (session.run(line).await, expect) {
        (Ok(response), Expect::Allowed) => {
            for warning in &response.warnings {
                println!("WARNING: {warning}");
            }
            print!(
                "{}",
                render_view(&response.records, Format::Text, View::of(&response))
            );
            println!();
            Ok(())
        }
        (Err(e), Expect::Denied) if e.is_denied() => {
            println!("DENIED: {e}\n");
            Ok(())
        }
        (Err(e), Expect::Refused) if e.status().is_some() && !e.is_denied() => {
            println!("ERROR: {e}\n");
            Ok(())
        }
        (Ok(_), Expect::Denied | Expect::Refused) => {
            bail!("`{line}` as {identity} succeeded, but the demo expects it to fail")
        }
        (Err(e), _) => bail!("`{line}` as {identity} failed: {e}"),
    }
}

fn say(text: &str) {
    println!("\n### {text}\n");
}

/// Writes the demo's lab into `dir`: contoso.com trusting fabrikam.com and
/// tailspin.com, on free loopback ports, each node serving `/metrics`
/// (`crossforest up` creates the same lab when `--dir` holds none); with
/// `active_directory_split_permissions` the organization is installed with
/// Active Directory split permissions.
pub fn generate(dir: &Path, active_directory_split_permissions: bool) -> anyhow::Result<Lab> {
    let spec = LabSpec {
        resource: (forest(RESOURCE)?, free_loopback_address()?),
        accounts: vec![
            (forest(FABRIKAM)?, free_loopback_address()?),
            (forest(TAILSPIN)?, free_loopback_address()?),
        ],
        untrusted: Vec::new(),
        organizational_units: vec!["Sales".into(), "Seattle".into()],
        active_directory_split_permissions,
        store: Default::default(),
    };
    let lab = Lab::create(dir, &spec)?;
    lab.serve_metrics()?;
    Ok(lab)
}

/// Creates a fresh lab in `dir` (replacing a previous lab there), starts it, runs
/// the transcript, and stops the nodes. The lab stays on disk for `up` and
/// `shell`. With `active_directory_split_permissions` the organization is
/// installed with Active Directory split permissions and the transcript
/// creates the mailbox as that model requires: a directory user first, then
/// mail-enabled.
pub async fn run(
    dir: &Path,
    active_directory_split_permissions: bool,
    log_format: LogFormat,
) -> anyhow::Result<()> {
    if dir.join("lab.toml").exists() {
        // Not from under running nodes.
        crate::processes::refuse_running(&Lab::open(dir)?)?;
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot replace the previous lab in `{}`", dir.display()))?;
    } else if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!(
            "`{}` exists and is not a crossforest lab; choose another --dir",
            dir.display()
        );
    }
    say("Creating three forests, each with its own CA, and one-way trusts contoso.com -> fabrikam.com, tailspin.com");
    let lab = generate(dir, active_directory_split_permissions)?;
    println!(
        "lab written to {}{}",
        dir.display(),
        if active_directory_split_permissions {
            "; contoso.com installed with Active Directory split permissions"
        } else {
            ""
        }
    );
    let running = Running::start(&lab, log_format).await?;
    let result = transcript(&lab, active_directory_split_permissions).await;
    running.stop().await;
    result?;
    say("Done");
    println!(
        "The lab is kept in {0}. Start it again with `crossforest up --dir {0}`, then e.g.",
        dir.display()
    );
    println!(
        "  crossforest shell --lab {} --as 'fabrikam\\bob' -c 'Get-Mailbox'",
        dir.display()
    );
    Ok(())
}

async fn transcript(lab: &Lab, active_directory_split_permissions: bool) -> anyhow::Result<()> {
    let fabrikam = forest(FABRIKAM)?;
    let tailspin = forest(TAILSPIN)?;

    say("fabrikam.com's own directory tools: users and nested universal security groups");
    for user in ["alice", "bob"] {
        lab.add_user(&fabrikam, user).await?;
        println!("fabrikam\\Administrator> account-forest user add {user}");
    }
    let mut fab = lab.directory_admin(&fabrikam).await?;
    for (line, group, member) in [
        ("group add \"Exchange Admins\"", "Exchange Admins", None),
        ("group add \"Tier 2 Admins\"", "Tier 2 Admins", None),
        (
            "group add-member \"Tier 2 Admins\" alice",
            "Tier 2 Admins",
            Some("alice"),
        ),
        (
            "group add-member \"Exchange Admins\" \"Tier 2 Admins\"",
            "Exchange Admins",
            Some("Tier 2 Admins"),
        ),
        (
            "group add-member \"Exchange Admins\" bob",
            "Exchange Admins",
            Some("bob"),
        ),
    ] {
        println!("fabrikam\\Administrator> account-forest {line}");
        match member {
            None => {
                fab.add_group(group).await?;
            }
            Some(m) => {
                fab.add_member(group, m).await?;
            }
        }
    }
    lab.add_user(&tailspin, "carol").await?;
    let mut tail = lab.directory_admin(&tailspin).await?;
    tail.add_group("Exchange Admins").await?;
    tail.add_member("Exchange Admins", "carol").await?;
    println!("tailspin\\Administrator> account-forest user add carol; group add \"Exchange Admins\"; group add-member \"Exchange Admins\" carol");

    say("contoso\\Administrator links a role group to each foreign group (resolved over mTLS with the linked credential)");
    let fab_dc = lab.endpoint(&fabrikam)?.address;
    let tail_dc = lab.endpoint(&tailspin)?.address;
    step(
        lab,
        "contoso\\Administrator",
        &format!("New-RoleGroup -Name \"fabrikam Recipient Admins\" -LinkedForeignGroup \"fabrikam\\Exchange Admins\" -LinkedDomainController {fab_dc} -LinkedCredential fabrikam\\svc-contoso -Roles \"Mail Recipients\",\"Mail Recipient Creation\""),
        Expect::Allowed,
    )
    .await?;
    step(
        lab,
        "contoso\\Administrator",
        &format!("New-RoleGroup -Name \"tailspin View-Only Recipients\" -LinkedForeignGroup \"tailspin\\Exchange Admins\" -LinkedDomainController {tail_dc} -LinkedCredential tailspin\\svc-contoso -Roles \"View-Only Recipients\""),
        Expect::Allowed,
    )
    .await?;
    step(
        lab,
        "contoso\\Administrator",
        "Add-RoleGroupMember \"fabrikam Recipient Admins\" -Member Administrator",
        Expect::Refused,
    )
    .await?;

    if active_directory_split_permissions {
        create_under_ad_split(lab).await?;
    } else {
        say("alice (fabrikam, nested in Exchange Admins) creates and changes a mailbox in contoso.com");
        step(
            lab,
            "fabrikam\\alice",
            "New-Mailbox -Name \"Dana Smith\" -Alias dana -OrganizationalUnit contoso.com/Sales",
            Expect::Allowed,
        )
        .await?;
    }
    step(
        lab,
        "fabrikam\\alice",
        "Set-Mailbox dana -Office \"Building 4\" -CustomAttribute1 \"managed from fabrikam\"",
        Expect::Allowed,
    )
    .await?;
    step(lab, "fabrikam\\alice", "Get-Mailbox dana", Expect::Allowed).await?;

    say("carol (tailspin) may view recipients but not change them");
    step(lab, "tailspin\\carol", "Get-Mailbox", Expect::Allowed).await?;
    step(
        lab,
        "tailspin\\carol",
        "Set-Mailbox dana -Office \"Building 9\"",
        Expect::Denied,
    )
    .await?;

    say("fabrikam removes Tier 2 Admins from Exchange Admins; alice signs in again and is denied");
    fab.remove_member("Exchange Admins", "Tier 2 Admins")
        .await?;
    println!("fabrikam\\Administrator> account-forest group remove-member \"Exchange Admins\" \"Tier 2 Admins\"\n");
    step(
        lab,
        "fabrikam\\alice",
        "Set-Mailbox dana -Office \"Building 5\"",
        Expect::Denied,
    )
    .await?;
    step(
        lab,
        "fabrikam\\bob",
        "Set-Mailbox dana -Office \"Building 5\"",
        Expect::Allowed,
    )
    .await?;
    Ok(())
}

/// Under Active Directory split permissions New-Mailbox is unavailable to
/// everyone: the directory's tool creates the user, alice mail-enables it.
async fn create_under_ad_split(lab: &Lab) -> anyhow::Result<()> {
    say("Active Directory split permissions: New-Mailbox is unavailable to everyone, even with Mail Recipient Creation");
    step(
        lab,
        "fabrikam\\alice",
        "New-Mailbox -Name \"Dana Smith\" -Alias dana -OrganizationalUnit contoso.com/Sales",
        Expect::Denied,
    )
    .await?;
    say("contoso's directory administrator creates the user with the directory's tool; alice mail-enables and changes it");
    step(
        lab,
        "contoso\\Administrator",
        "New-ADUser -Name \"Dana Smith\" -SamAccountName dana -Path \"OU=Sales,DC=contoso,DC=com\"",
        Expect::Allowed,
    )
    .await?;
    step(
        lab,
        "fabrikam\\alice",
        "Enable-Mailbox dana",
        Expect::Allowed,
    )
    .await
}
