//! `crossforest model plan|apply`: a permission model against a running lab,
//! over mutual TLS as the caller. The resource forest reads the model
//! against its own names, authorises each change as the cmdlet that makes
//! it, checks the lockout rules, and applies it as one audited change or
//! refuses it whole.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;

use anyhow::Context as _;
use crossforest_shared::proto::management::v1 as pb;

/// `plan`'s exit code when the model matches the organization.
pub const NO_CHANGES: u8 = 0;
/// `plan`'s exit code when applying the model would change something.
pub const CHANGES_PENDING: u8 = 2;

/// What [`request`] asks of the resource forest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Plan: change nothing.
    Plan,
    /// Apply whatever the model changes now.
    Apply,
    /// Apply only the change a plan showed: its cmdlet lines, in order.
    AsPlanned(Vec<String>),
}

/// The cmdlet lines of a plan, as [`Mode::AsPlanned`] takes them.
pub fn planned_lines(plan: &pb::ApplyPermissionModelResponse) -> Vec<String> {
    plan.changes
        .iter()
        .flat_map(|c| c.cmdlets.iter().cloned())
        .collect()
}

/// Plans or applies (as `mode` says) the model at `model` on the lab at
/// `lab` as `identity` (default the resource forest's Administrator).
pub async fn request(
    lab: &Path,
    identity: Option<String>,
    model: &Path,
    mode: Mode,
) -> anyhow::Result<pb::ApplyPermissionModelResponse> {
    let text = std::fs::read_to_string(model)
        .with_context(|| format!("cannot read `{}`", model.display()))?;
    let lab = crate::lab::Lab::open(lab)?;
    let identity =
        identity.unwrap_or_else(|| format!("{}\\Administrator", lab.file().resource.netbios()));
    let mut session = lab.session(&identity).await?;
    let name = model.file_name().map_or_else(
        || model.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let response = session
        .apply_permission_model(pb::ApplyPermissionModelRequest {
            model: text,
            name,
            what_if: mode == Mode::Plan,
            expected: match mode {
                Mode::AsPlanned(lines) => Some(pb::ModelChangeLines { lines }),
                Mode::Plan | Mode::Apply => None,
            },
        })
        .await
        .with_context(|| format!("model `{}`", model.display()))?;
    Ok(response)
}

/// The plan as text: the objects, the cmdlets that make each change, who
/// gains and loses which cmdlets.
pub fn render(response: &pb::ApplyPermissionModelResponse) -> String {
    let mut out = String::new();
    if response.changes.is_empty() {
        out.push_str(&format!(
            "No changes: the organization matches the model (revision {}).\n",
            response.revision
        ));
        return out;
    }
    out.push_str(&format!(
        "{} object(s) {}:\n",
        response.changes.len(),
        if response.applied {
            format!("changed at revision {}", response.revision)
        } else {
            format!("would change (revision {})", response.revision)
        }
    ));
    for change in &response.changes {
        out.push_str(&format!("  {}\n", change.line));
        for cmdlet in &change.cmdlets {
            out.push_str(&format!("      {cmdlet}\n"));
        }
    }
    if !response.principals.is_empty() {
        out.push_str("\nWho gains or loses which cmdlets:\n");
        for p in &response.principals {
            out.push_str(&format!("  {}\n", p.principal));
            if !p.gains.is_empty() {
                out.push_str(&format!("    + {}\n", p.gains.join(", ")));
            }
            if !p.loses.is_empty() {
                out.push_str(&format!("    - {}\n", p.loses.join(", ")));
            }
        }
    }
    out
}

/// `crossforest model plan`: prints the plan; 0 when nothing would change,
/// 2 when something would.
pub async fn plan(lab: &Path, identity: Option<String>, model: &Path) -> anyhow::Result<u8> {
    let response = request(lab, identity, model, Mode::Plan).await?;
    print!("{}", render(&response));
    Ok(if response.changes.is_empty() {
        NO_CHANGES
    } else {
        CHANGES_PENDING
    })
}

/// Asks on the terminal whether to apply; `false` unless the answer is yes.
fn confirmed(model: &Path, changes: usize) -> anyhow::Result<bool> {
    let mut stderr = std::io::stderr();
    write!(
        stderr,
        "Confirm\nAre you sure you want to perform this action?\nApplying the permission model \"{}\": {changes} object(s) change.\n[Y] Yes  [N] No  (default is \"N\"): ",
        model.display()
    )?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// `crossforest model apply`: shows the plan, asks on a terminal unless
/// `yes`, then applies it as one change; refuses to run unattended without
/// `yes`.
pub async fn apply(
    lab: &Path,
    identity: Option<String>,
    model: &Path,
    yes: bool,
) -> anyhow::Result<u8> {
    let mode = if yes {
        Mode::Apply
    } else {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "`crossforest model apply` asks before it changes anything; without a terminal, give --yes"
            );
        }
        let planned = request(lab, identity.clone(), model, Mode::Plan).await?;
        print!("{}", render(&planned));
        if planned.changes.is_empty() {
            return Ok(0);
        }
        if !confirmed(model, planned.changes.len())? {
            println!("Nothing was changed.");
            return Ok(1);
        }
        // What was shown, and nothing else, is applied.
        Mode::AsPlanned(planned_lines(&planned))
    };
    let applied = request(lab, identity, model, mode).await?;
    print!("{}", render(&applied));
    Ok(0)
}
