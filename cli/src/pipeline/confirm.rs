//! Asking before a change, as PowerShell does: `-Confirm`, `-WhatIf`,
//! `$ConfirmPreference` against the cmdlet's confirm impact, and the
//! `[Y] Yes  [A] Yes to All …` prompt; a script, which nobody can answer,
//! is refused before it runs.

use resource_forest::cmdlets::registry;
use resource_forest::cmdlets::should_process::action;
use resource_forest::cmdlets::ConfirmImpact;

use super::binding::{Kind, Server};
use super::Stage;
use crate::host::{self, Answer};
use crate::lang::cmdlets as shell;
use crate::lang::eval::{Frame, Halt, R};
use crate::parse::Value;

/// `-Confirm`, `-WhatIf` (or their aliases) as given: `Some(true)` for the
/// switch or `:$true`, `Some(false)` for `:$false`.
pub(super) fn risk_switch(server: &Server, name: &str) -> Option<bool> {
    server
        .parameters
        .iter()
        .rfind(|(n, _)| shell::common_switch(n) == Some(name))
        .map(|(_, value)| match value {
            Value::Switch => true,
            Value::Bool(b) => *b,
            Value::Text(t) => !["false", "0", "$false"].contains(&t.to_ascii_lowercase().as_str()),
            Value::List(_) => true,
        })
}

/// Whether a call of `server` asks before it changes anything, as
/// PowerShell decides: `-Confirm` asks for any cmdlet that changes the
/// organization, `-Confirm:$false` and `-WhatIf` never ask, else one whose
/// confirm impact is at least `$ConfirmPreference` asks.
pub(super) fn asks(frame: &Frame<'_>, server: &Server) -> bool {
    let impact = registry::find(&server.cmdlet).map_or(ConfirmImpact::None, |c| c.confirm_impact());
    if impact == ConfirmImpact::None || risk_switch(server, "WhatIf") == Some(true) {
        return false;
    }
    match risk_switch(server, "Confirm") {
        Some(given) => given,
        None => {
            let from = frame.rt.confirms_from();
            from != ConfirmImpact::None && impact >= from
        }
    }
}

/// Why a script may not run `server` as written.
pub(super) fn unanswerable(server: &Server) -> String {
    let name = registry::find(&server.cmdlet).map_or(server.cmdlet.as_str(), |c| c.name);
    if risk_switch(server, "Confirm") == Some(true) {
        return format!("`{name} -Confirm` asks for confirmation, and nobody can answer in a script: leave out `-Confirm`, or add `-WhatIf` to see what it would do");
    }
    format!("`{name}` asks for confirmation before it changes anything (its confirm impact is High, at least `$ConfirmPreference`), and nobody can answer in a script: add `-Confirm:$false` to run it without asking")
}

/// What a call acts on, for the confirmation prompt: the piped item, else
/// its `-Identity` (or positional value), else its `-Name`.
pub(super) fn target_of(server: &Server, label: Option<&str>) -> Option<String> {
    if let Some(label) = label {
        return Some(label.to_owned());
    }
    let named = |wanted: &str| {
        server.parameters.iter().find(|(n, _)| {
            if wanted == "Identity" {
                n.is_empty() || n.eq_ignore_ascii_case(wanted)
            } else {
                n.eq_ignore_ascii_case(wanted)
            }
        })
    };
    named("Identity")
        .or_else(|| named("Name"))
        .map(|(_, value)| match value {
            Value::Text(t) => t.clone(),
            Value::List(items) => items.join(", "),
            Value::Bool(b) => b.to_string(),
            Value::Switch => String::new(),
        })
}

/// Asks, if the call asks, whether to make it; `false` skips it.
pub(super) async fn confirmed(
    frame: &mut Frame<'_>,
    stage: &mut Stage<'_>,
    label: Option<&str>,
) -> R<bool> {
    let Kind::Server(server) = &stage.kind else {
        return Ok(true);
    };
    if !asks(frame, server) {
        return Ok(true);
    }
    if let Some(decided) = stage.decided {
        return Ok(decided);
    }
    let name = registry::find(&server.cmdlet).map_or(server.cmdlet.as_str(), |c| c.name);
    let action = action(name, target_of(server, label).as_deref());
    frame.rt.host.clear_progress(frame.err)?;
    let Some(reader) = frame.rt.host.reader.as_mut() else {
        return frame.fail(stage.command.column, unanswerable(server), None);
    };
    let answer = host::confirm(reader, &action, frame.err).await?;
    // Ctrl-C at the prompt stops the statement, the call unmade.
    if frame.rt.host.interrupted() {
        return Err(Halt::Interrupted(None));
    }
    Ok(match answer {
        Answer::Yes => true,
        Answer::No => false,
        Answer::YesToAll | Answer::NoToAll => {
            let all = answer == Answer::YesToAll;
            stage.decided = Some(all);
            all
        }
    })
}
