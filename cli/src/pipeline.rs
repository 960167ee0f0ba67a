//! Running a pipeline: the first cmdlet once, each later cmdlet once per record
//! it receives, with the record's identity bound to `-Identity` (as PowerShell
//! binds by property name); `Where-Object`, `Select-Object` and `Format-*` run
//! here, on the records. Every cmdlet call goes through the resource forest's
//! RBAC on its own, so one denied item is reported and the others still run;
//! all of them in one statement, authorised against the permissions the
//! caller held when the pipeline started (R-SESSION-1).

use crossforest_shared::proto::management::v1 as pb;

use crate::output::View;
use crate::parse::{CommandLine, ErrorAction, Pipeline, Projection, Stage, Value};
use crate::session::{Session, SessionError};

/// One failed cmdlet call of a pipeline.
#[derive(Debug)]
pub struct StageError {
    /// Column of the token the error is about: the parameter the message
    /// names, else the cmdlet.
    pub column: usize,
    /// The item the cmdlet ran for, when it ran on piped input.
    pub item: Option<String>,
    /// What failed.
    pub error: SessionError,
    /// The cmdlet's `-ErrorAction`, when given.
    pub action: Option<ErrorAction>,
}

/// What a pipeline produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The records of the last stage.
    pub records: Vec<pb::Record>,
    /// Warnings of every call.
    pub warnings: Vec<String>,
    /// Every failed call, in order.
    pub errors: Vec<StageError>,
    /// How to show the records.
    pub view: View,
}

impl Outcome {
    /// Whether any call was denied by RBAC.
    pub fn denied(&self) -> bool {
        self.errors.iter().any(|e| e.error.is_denied())
    }
}

/// The value piped records bind to `-Identity`: `Identity`, else `Name`.
pub fn identity_of(record: &pb::Record) -> Option<&str> {
    ["Identity", "Name"].iter().find_map(|n| {
        record
            .properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(n))
            .map(|p| p.value.as_str())
    })
}

/// The column an error points at: the parameter its message names, if the
/// command has it, else the cmdlet.
pub fn column_for(command: &CommandLine, message: &str) -> usize {
    let mut rest = message;
    while let Some(start) = rest.find('`') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('`') else { break };
        let quoted = &after[..end];
        let name = quoted.strip_prefix('-').unwrap_or(quoted);
        let name = name.split([' ', ':']).next().unwrap_or(name);
        if let Some(column) = command.column_of(name) {
            return column;
        }
        rest = &after[end + 1..];
    }
    command.column
}

fn project(records: Vec<pb::Record>, projection: &Projection) -> Vec<pb::Record> {
    let limit = projection.first.unwrap_or(usize::MAX);
    records
        .into_iter()
        .take(limit)
        .map(|record| {
            if projection.properties.is_empty() {
                return record;
            }
            // In the order asked for, wildcards expanded in record order.
            let mut properties: Vec<pb::Property> = Vec::new();
            for wanted in &projection.properties {
                for p in &record.properties {
                    if resource_forest::rbac::opath::wildcard_match(wanted, &p.name)
                        && !properties.iter().any(|q| q.name == p.name)
                    {
                        properties.push(p.clone());
                    }
                }
                if !wanted.contains('*')
                    && !record
                        .properties
                        .iter()
                        .any(|p| p.name.eq_ignore_ascii_case(wanted))
                {
                    properties.push(pb::Property {
                        name: wanted.clone(),
                        value: String::new(),
                        typed: None,
                    });
                }
            }
            pb::Record { properties }
        })
        .collect()
}

/// One call of a cmdlet: the piped item it runs for, and its parameters.
type Call = (Option<String>, Vec<(String, Value)>);

/// Runs one cmdlet stage: once without input, or once per input record.
/// Returns its records, and whether an error ended the pipeline.
async fn command(
    session: &mut Session,
    command: &CommandLine,
    input: Option<Vec<pb::Record>>,
    outcome: &mut Outcome,
) -> (Vec<pb::Record>, bool) {
    let calls: Vec<Call> = match input {
        None => vec![(None, command.parameters.clone())],
        Some(records) => records
            .iter()
            .map(|record| {
                let item = identity_of(record).map(str::to_owned);
                let mut parameters = command.parameters.clone();
                if !command.has_identity() {
                    if let Some(identity) = &item {
                        parameters
                            .insert(0, ("Identity".to_owned(), Value::Text(identity.clone())));
                    }
                }
                (item, parameters)
            })
            .collect(),
    };
    let mut records = Vec::new();
    for (item, parameters) in calls {
        match session.invoke(&command.cmdlet, parameters).await {
            Ok(response) => {
                outcome.view = View::of(&response);
                outcome.warnings.extend(response.warnings);
                records.extend(response.records);
            }
            Err(error) => {
                let column = column_for(command, &error.to_string());
                // A binding error (unknown parameter, bad value, unknown
                // cmdlet) or a cmdlet or parameter the caller's roles don't
                // grant would repeat for every item: it ends the pipeline, as
                // a terminating error does in PowerShell. So does a lost
                // connection (the resource forest crashed or is restarting),
                // as a broken remote session does: the items after it are
                // not run, rather than run against a node that came back.
                let terminating = command.error_action == Some(ErrorAction::Stop)
                    || error.is_for_any_object()
                    || error.is_unavailable();
                outcome.errors.push(StageError {
                    column,
                    item,
                    error,
                    action: command.error_action,
                });
                if terminating {
                    return (records, true);
                }
            }
        }
    }
    (records, false)
}

/// `Get-Help` of a cmdlet the shell runs itself, answered here: the resource
/// forest knows only its own cmdlets.
fn shell_help(command: &CommandLine) -> Option<pb::Record> {
    if !command.cmdlet.eq_ignore_ascii_case("Get-Help") {
        return None;
    }
    let property = |name: &str, value: &str| pb::Property {
        name: name.to_owned(),
        value: value.to_owned(),
        typed: None,
    };
    let cmdlet = match command.parameters.as_slice() {
        // `Get-Help` alone: how to find your way, as PowerShell's overview.
        [] => {
            return Some(pb::Record {
                properties: vec![
                    property("Name", "Get-Help"),
                    property("Synopsis", "Get-Command lists the cmdlets you may run (-Name, -Verb and -Noun take wildcards); Get-Help <cmdlet> shows one, Get-Help <cmdlet> -Parameter <name> its parameters. Pipe with |; filter with Where-Object; shape with Select-Object, Format-Table and Format-List."),
                ],
            })
        }
        [(name, Value::Text(value))] if name.is_empty() || name.eq_ignore_ascii_case("Name") => {
            crate::parse::shell_cmdlet(value)?
        }
        _ => return None,
    };
    Some(pb::Record {
        properties: vec![
            property("Name", cmdlet.name),
            property("Synopsis", cmdlet.synopsis),
            property("Syntax", cmdlet.syntax),
            property("Parameters", &cmdlet.parameters.join(", ")),
        ],
    })
}

/// The cmdlets of `pipeline` the resource forest runs (not the shell's own).
fn remote_commands(pipeline: &Pipeline) -> impl Iterator<Item = &CommandLine> {
    pipeline
        .stages
        .iter()
        .enumerate()
        .filter_map(|(i, (_, stage))| match stage {
            Stage::Command(c) if !(i == 0 && shell_help(c).is_some()) => Some(c),
            _ => None,
        })
}

/// Runs `pipeline` in `session` as one statement (R-SESSION-1): opened
/// before its first cmdlet and closed after its last, so every cmdlet is
/// authorised against the permissions the caller held when it started.
/// In a statement the session already has open, it runs in that one.
pub async fn run(session: &mut Session, pipeline: &Pipeline) -> Outcome {
    let first = remote_commands(pipeline).next();
    let opened = match first {
        Some(command) if session.statement().is_none() => match session.open_statement().await {
            Ok(_) => true,
            Err(error) => {
                let mut outcome = Outcome::default();
                // Not the cmdlet's error: its `-ErrorAction` does not hide it.
                outcome.errors.push(StageError {
                    column: command.column,
                    item: None,
                    error,
                    action: None,
                });
                return outcome;
            }
        },
        _ => false,
    };
    let outcome = stages(session, pipeline).await;
    if opened {
        // A statement that ended on its own (the node said so in a
        // warning) or a lost connection leaves nothing to close: the node
        // drops its statements when they are idle.
        let _ = session.close_statement().await;
    }
    outcome
}

/// Runs the stages of `pipeline`, in whatever statement `session` has open.
async fn stages(session: &mut Session, pipeline: &Pipeline) -> Outcome {
    let mut outcome = Outcome::default();
    let mut records: Option<Vec<pb::Record>> = None;
    for (_, stage) in &pipeline.stages {
        let input = records.take();
        let next = match stage {
            Stage::Command(c) if input.is_none() && shell_help(c).is_some() => {
                shell_help(c).into_iter().collect()
            }
            Stage::Command(c) => {
                let (out, terminated) = command(session, c, input, &mut outcome).await;
                if terminated {
                    // A terminating error ends the whole pipeline.
                    outcome.records = Vec::new();
                    return outcome;
                }
                out
            }
            Stage::Where(condition) => input
                .unwrap_or_default()
                .into_iter()
                .filter(|r| condition.holds(r))
                .collect(),
            Stage::Select(projection) => {
                outcome.view =
                    if projection.properties.is_empty() || projection.properties.len() > 4 {
                        View::Auto
                    } else {
                        View::Table
                    };
                project(input.unwrap_or_default(), projection)
            }
            Stage::Format { list, projection } => {
                outcome.view = if *list { View::List } else { View::Table };
                project(input.unwrap_or_default(), projection)
            }
        };
        records = Some(next);
    }
    outcome.records = records.unwrap_or_default();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::record;
    use crate::parse::parse;

    #[test]
    fn piped_records_bind_identity_else_name() {
        assert_eq!(
            identity_of(&record(&[("Name", "dana"), ("Identity", "x\\dana")])),
            Some("x\\dana")
        );
        assert_eq!(
            identity_of(&record(&[("Alias", "d"), ("name", "dana")])),
            Some("dana")
        );
        assert_eq!(identity_of(&record(&[("Alias", "d")])), None);
    }

    #[test]
    fn errors_point_at_the_parameter_they_name() {
        let line = parse("New-ManagementRole -Name Scripts -UnScopedTopLevel").unwrap();
        let denial = "you can run `New-ManagementRole` but not with `-UnScopedTopLevel`: no role";
        assert_eq!(column_for(&line, denial), 34);
        let unknown = parse("Set-Mailbox dana -Ofice x").unwrap();
        let message =
            "a parameter cannot be found that matches parameter name `Ofice` of `Set-Mailbox`";
        assert_eq!(column_for(&unknown, message), 18);
        assert_eq!(
            column_for(&unknown, "the term `Set-Mailbox` is not recognized"),
            1
        );
    }

    #[test]
    fn get_help_of_a_shell_cmdlet_is_answered_by_the_shell() {
        let help = shell_help(&parse("Get-Help where").unwrap()).unwrap();
        assert_eq!(help.properties[0].value, "Where-Object");
        assert!(help.properties[2].value.contains("-notmatch"));
        assert!(shell_help(&parse("Get-Help Set-Mailbox").unwrap()).is_none());
        assert!(shell_help(&parse("Get-Help ft -Parameter x").unwrap()).is_none());
        let overview = shell_help(&parse("get-help").unwrap()).unwrap();
        assert!(overview.properties[1].value.contains("Get-Command"));
    }

    #[test]
    fn projections_keep_the_properties_asked_for_in_order() {
        let records = vec![
            record(&[("Name", "a"), ("Office", "1"), ("CustomAttribute1", "x")]),
            record(&[("Name", "b"), ("Office", "2")]),
        ];
        let projection = Projection {
            properties: vec!["office".into(), "Custom*".into(), "Name".into()],
            first: Some(1),
        };
        let out = project(records, &projection);
        assert_eq!(out.len(), 1);
        let names: Vec<&str> = out[0].properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Office", "CustomAttribute1", "Name"]);
    }
}
