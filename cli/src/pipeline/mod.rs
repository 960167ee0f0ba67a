//! Running a pipeline: each stage begins (its arguments evaluated once), each
//! object the stage before it writes is pushed through the stages after it
//! one at a time, as PowerShell streams them, and each stage then ends (what
//! `Sort-Object` or `Measure-Object` write comes out then). A cmdlet of the
//! resource forest runs once without input, or once per piped object: a
//! record binds its identity to `-Identity`; an `Import-Csv` row binds its
//! columns to the parameters of the same names. Every call goes through the
//! resource forest's RBAC on its own, so one denied item is reported and the
//! others still run; all in one statement of the resource forest, authorised
//! against the permissions the caller held when it began (R-SESSION-1).

mod binding;
mod confirm;

use std::io::{IsTerminal as _, Write as _};

use resource_forest::cmdlets::registry;

use crate::host::{Progress, PROGRESS_FROM};
use crate::lang::ast::{Command, Pipeline, Stage as AstStage};
use crate::lang::cmdlets::select::{Column, Key};
use crate::lang::cmdlets::{self as shell, server_parameter};
use crate::lang::eval::{compare, outermost, Failure, Frame, Halt, R};
use crate::lang::values::{Object, Val};
use crate::output::View;
use crate::parse::{ErrorAction, Value};

use binding::{
    column_for, common, evaluate, identity_of, server, shell_help, shell_kind, to_value, Common,
    Kind, Server, Where,
};
use confirm::{asks, confirmed, unanswerable};

/// A running stage.
struct Stage<'p> {
    command: &'p Command,
    /// Whether it is the pipeline's first stage (a cmdlet of the resource
    /// forest then runs once, without input).
    first: bool,
    common: Common,
    kind: Kind,
    /// Objects held until the stage ends.
    held: Vec<(Val, Vec<Val>)>,
    /// `[A] Yes to All` (`true`) or `[L] No to All` (`false`), once
    /// answered: the rest of the stage's calls are not asked about.
    decided: Option<bool>,
    /// What it wrote, for `-OutVariable`.
    output: Vec<Val>,
    errors: Vec<Val>,
    warnings: Vec<Val>,
}

/// Runs `pipeline` in `frame`.
pub async fn pipeline(frame: &mut Frame<'_>, pipeline: &Pipeline) -> R<Vec<Val>> {
    let (source, commands): (Vec<Val>, &[AstStage]) = match pipeline.stages.split_first() {
        Some((AstStage::Expr(e), rest)) => (frame.expr(e).await?.into_items(), rest),
        _ => (Vec::new(), &pipeline.stages),
    };
    let mut stages = Vec::new();
    for (i, stage) in commands.iter().enumerate() {
        let AstStage::Command(command) = stage else {
            continue;
        };
        let first = i == 0 && commands.len() == pipeline.stages.len();
        stages.push(begin(frame, command, first).await?);
    }
    let result = stream(frame, &mut stages, source).await;
    for stage in &stages {
        store_variables(frame, stage);
    }
    result
}

async fn stream(frame: &mut Frame<'_>, stages: &mut [Stage<'_>], source: Vec<Val>) -> R<Vec<Val>> {
    let mut out = push(frame, stages, 0, source).await?;
    for i in 0..stages.len() {
        let items = end(frame, &mut stages[i]).await?;
        stages[i].output.extend(items.iter().cloned());
        out.extend(push(frame, stages, i + 1, items).await?);
    }
    Ok(out)
}

fn store_variables(frame: &mut Frame<'_>, stage: &Stage<'_>) {
    let targets = [
        (&stage.common.out_variable, &stage.output),
        (&stage.common.error_variable, &stage.errors),
        (&stage.common.warning_variable, &stage.warnings),
    ];
    for (target, values) in targets {
        if let Some((name, append)) = target {
            let mut all = if *append {
                frame.rt.get(name).into_items()
            } else {
                Vec::new()
            };
            all.extend(values.iter().cloned());
            frame.rt.set(name, Val::Array(all)).ok();
        }
    }
}

/// Pushes `items` one at a time through `stages[from..]`. Each item is a
/// record boundary: Ctrl-C stops the statement there, and a progress line
/// counts them on a terminal when there are many.
async fn push(
    frame: &mut Frame<'_>,
    stages: &mut [Stage<'_>],
    from: usize,
    items: Vec<Val>,
) -> R<Vec<Val>> {
    let total = items.len();
    let shows = total >= PROGRESS_FROM && frame.rt.host.progress && frame.rt.host.shown.is_none();
    if shows {
        frame.rt.host.shown = Some(Progress::new(&progress_label(stages, from), total));
    }
    let result = push_each(frame, stages, from, items, shows).await;
    if shows {
        if let Some(mut progress) = frame.rt.host.shown.take() {
            progress.clear(frame.err)?;
        }
    }
    result
}

/// What a progress line names: the first cmdlet of the resource forest the
/// records go through, else the first command.
fn progress_label(stages: &[Stage<'_>], from: usize) -> String {
    let rest = stages.get(from..).unwrap_or_default();
    let server = rest.iter().find_map(|s| match &s.kind {
        Kind::Server(server) => {
            Some(registry::find(&server.cmdlet).map_or(server.cmdlet.as_str(), |c| c.name))
        }
        _ => None,
    });
    server
        .or_else(|| rest.first().map(|s| s.command.name.as_str()))
        .unwrap_or_default()
        .to_owned()
}

async fn push_each(
    frame: &mut Frame<'_>,
    stages: &mut [Stage<'_>],
    from: usize,
    items: Vec<Val>,
    shows: bool,
) -> R<Vec<Val>> {
    let total = items.len();
    let mut out = Vec::new();
    for (done, item) in items.into_iter().enumerate() {
        frame.boundary(done, total)?;
        if shows {
            if let Some(progress) = &mut frame.rt.host.shown {
                progress.tick(done, frame.err)?;
            }
        }
        let mut batch = vec![item];
        for stage in stages.iter_mut().skip(from) {
            let mut next = Vec::new();
            for value in batch {
                let written = outermost(process(frame, stage, value).await, done, total)?;
                stage.output.extend(written.iter().cloned());
                next.extend(written);
            }
            batch = next;
            if batch.is_empty() {
                break;
            }
        }
        out.extend(batch);
    }
    Ok(out)
}

async fn begin<'p>(frame: &mut Frame<'_>, command: &'p Command, first: bool) -> R<Stage<'p>> {
    let args = evaluate(frame, command).await?;
    let spec = shell::shell_cmdlet(&command.name);
    let (common, args) = match common(args, spec.is_some()) {
        Ok(split) => split,
        Err((column, message)) => return frame.fail(column, message, None),
    };
    let kind = match (spec, shell_help(command, &args)) {
        (_, Some(help)) => Ok(Kind::Help(help)),
        (Some(spec), None) => shell_kind(spec, args),
        (None, None) => server(command, args),
    };
    let kind = match kind {
        Ok(kind) => kind,
        Err((column, message)) => {
            let column = if column == 1 { command.column } else { column };
            return frame.fail(column, message, common.error_action);
        }
    };
    // Nobody can answer a script: a cmdlet that would ask is refused
    // before anything in the pipeline runs.
    if let Kind::Server(server) = &kind {
        if asks(frame, server) && frame.rt.host.reader.is_none() {
            return frame.fail(command.column, unanswerable(server), None);
        }
    }
    // `ForEach-Object -Begin { … }` runs once, before the first object.
    let mut held = Vec::new();
    if let Kind::ForEach {
        begin: Some(block), ..
    } = &kind
    {
        let block = block.clone();
        held = frame
            .invoke(&block, None)
            .await?
            .into_iter()
            .map(|v| (v, Vec::new()))
            .collect();
    }
    Ok(Stage {
        command,
        first,
        common,
        kind,
        held,
        decided: None,
        output: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
    })
}

/// The parameters a piped object adds to a call, and the item it names.
fn bind(server: &Server, item: &Val) -> (Option<String>, Vec<(String, Value)>) {
    let label = identity_of(item);
    let given = |name: &str| {
        server
            .parameters
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    match item {
        Val::Object(o) if o.by_name => {
            let mut extra = Vec::new();
            for (name, value) in &o.properties {
                let Some(canonical) = server_parameter(&server.cmdlet, name) else {
                    continue;
                };
                let empty =
                    matches!(value, Val::Null) || matches!(value, Val::Str(s) if s.is_empty());
                if empty || given(canonical) || (canonical == "Identity" && server.has_identity) {
                    continue;
                }
                if let Ok(value) = to_value(value) {
                    extra.push((canonical.to_owned(), value));
                }
            }
            (label, extra)
        }
        _ if server.has_identity => (label, Vec::new()),
        _ => match &label {
            Some(identity) => (
                label.clone(),
                vec![("Identity".to_owned(), Value::Text(identity.clone()))],
            ),
            None => (None, Vec::new()),
        },
    }
}

async fn call(frame: &mut Frame<'_>, stage: &mut Stage<'_>, item: Option<&Val>) -> R<Vec<Val>> {
    let Kind::Server(server) = &stage.kind else {
        return Ok(Vec::new());
    };
    let mut parameters = server.parameters.clone();
    let mut label = None;
    if let Some(item) = item {
        let (item_label, extra) = bind(server, item);
        label = item_label;
        parameters.splice(0..0, extra);
    }
    let cmdlet = server.cmdlet.clone();
    if !confirmed(frame, stage, label.as_deref()).await? {
        return Ok(Vec::new());
    }
    if !frame.opened_statement {
        // R-SESSION-1: the statement's first call to the resource forest
        // opens it there; every later call of the statement keeps the
        // permissions the caller held then. `Shell::run_statement` closes it.
        let opened = match frame.session.as_deref_mut() {
            Some(session) => session.open_statement().await.map(|_| ()),
            None => Ok(()),
        };
        if let Err(error) = opened {
            return frame.fail(stage.command.column, error.to_string(), None);
        }
        frame.opened_statement = true;
    }
    let Some(session) = frame.session.as_deref_mut() else {
        return frame.fail(
            stage.command.column,
            format!("`{cmdlet}` needs a session with a resource forest"),
            None,
        );
    };
    match session.invoke(&cmdlet, parameters).await {
        Ok(response) => {
            let view = View::of(&response);
            for warning in response.warnings {
                stage.warnings.push(Val::Str(warning.clone()));
                match stage.common.warning_action {
                    Some(ErrorAction::SilentlyContinue | ErrorAction::Ignore) => {}
                    Some(ErrorAction::Stop) => {
                        return frame.fail(
                            stage.command.column,
                            format!("{warning} (-WarningAction Stop)"),
                            stage.common.error_action,
                        );
                    }
                    _ => {
                        frame.rt.host.clear_progress(frame.err)?;
                        // What -WhatIf would do is said plainly, as
                        // PowerShell says it.
                        if warning.starts_with("What if: ") {
                            writeln!(frame.err, "{warning}")?;
                        } else {
                            let colour = std::io::stderr().is_terminal();
                            write!(frame.err, "{}", crate::output::warning(&warning, colour))?;
                        }
                    }
                }
            }
            frame.view = view;
            Ok(response.records.into_iter().map(Val::from).collect())
        }
        Err(error) => {
            let message = error.to_string();
            let for_any = error.is_for_any_object();
            // A binding error, or a cmdlet or parameter the caller's roles
            // don't grant, would repeat for every item: it ends the
            // pipeline, as a terminating error does in PowerShell, and is
            // not blamed on the item. So does a lost connection: the items
            // after it are not run against a node that came back.
            let terminating = stage.common.error_action == Some(ErrorAction::Stop)
                || for_any
                || error.is_unavailable();
            let failure = Failure {
                column: column_for(stage.command, &message),
                item: if for_any { None } else { label },
                message: message.clone(),
                denied: error.is_denied(),
            };
            stage.errors.push(Val::Str(message));
            frame.report(&failure, stage.common.error_action)?;
            if terminating {
                Err(Halt::Pipeline)
            } else {
                Ok(Vec::new())
            }
        }
    }
}

async fn keys_of(frame: &mut Frame<'_>, item: &Val, keys: &[Key]) -> R<Vec<Val>> {
    if keys.is_empty() {
        return Ok(vec![item.clone()]);
    }
    let mut out = Vec::new();
    for key in keys {
        out.push(frame.key(item, key).await?);
    }
    Ok(out)
}

async fn project(frame: &mut Frame<'_>, item: &Val, columns: &[Column]) -> R<Val> {
    let mut properties: Vec<(String, Val)> = Vec::new();
    let own: Vec<(String, Val)> = match item {
        Val::Object(o) => o.properties.clone(),
        Val::Hash(pairs) => pairs.clone(),
        _ => Vec::new(),
    };
    for column in columns {
        match column {
            Column::Name(pattern) if resource_forest::rbac::compare::has_wildcard(pattern) => {
                for (name, value) in &own {
                    if resource_forest::rbac::compare::wildcard_match(pattern, name)
                        && !properties.iter().any(|(n, _)| n == name)
                    {
                        properties.push((name.clone(), value.clone()));
                    }
                }
            }
            Column::Name(name) => {
                let spelled = own
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map_or(name.clone(), |(n, _)| n.clone());
                properties.push((spelled, item.member(name)));
            }
            Column::Calculated(label, key) => {
                let value = frame.key(item, key).await?;
                properties.push((label.clone(), value));
            }
        }
    }
    let by_name = matches!(item, Val::Object(o) if o.by_name);
    Ok(Val::Object(Object {
        properties,
        by_name,
    }))
}

async fn process(frame: &mut Frame<'_>, stage: &mut Stage<'_>, item: Val) -> R<Vec<Val>> {
    match &stage.kind {
        Kind::Server(_) => call(frame, stage, Some(&item)).await,
        Kind::Where(condition) => {
            let keep = match condition {
                Where::Block(block) => {
                    let block = block.clone();
                    Val::from_items(frame.invoke(&block, Some(item.clone())).await?).truthy()
                }
                Where::Compare {
                    property,
                    operator,
                    case_sensitive,
                    value,
                } => match compare(*operator, *case_sensitive, &item.member(property), value) {
                    Ok(v) => v.truthy(),
                    Err(message) => {
                        return frame.fail(stage.command.column, message, stage.common.error_action)
                    }
                },
                Where::Truthy { property, not } => item.member(property).truthy() != *not,
            };
            Ok(if keep { vec![item] } else { Vec::new() })
        }
        Kind::ForEach {
            process, member, ..
        } => {
            let (process, member) = (process.clone(), member.clone());
            // What it writes is its own, not the objects of a cmdlet's view;
            // a cmdlet after it sets its own view again.
            frame.view = View::Auto;
            let mut out = held(stage);
            match (process, member) {
                (Some(block), _) => out.extend(frame.invoke(&block, Some(item)).await?),
                (None, Some(member)) => out.extend(item.member(&member).into_items()),
                (None, None) => {}
            }
            Ok(out)
        }
        Kind::Sort { keys, .. } | Kind::Group { keys, .. } => {
            let keys = keys.clone();
            let key = keys_of(frame, &item, &keys).await?;
            stage.held.push((item, key));
            Ok(Vec::new())
        }
        Kind::Measure(m) => {
            let value = match &m.property {
                Some(p) => item.member(p),
                None => item.clone(),
            };
            stage.held.push((value, Vec::new()));
            Ok(Vec::new())
        }
        Kind::OutNull => Ok(Vec::new()),
        Kind::WriteHost(_) => {
            frame.rt.host.clear_progress(frame.err)?;
            writeln!(frame.out, "{item}")?;
            Ok(Vec::new())
        }
        Kind::WriteOutput(_) => Ok(vec![item]),
        Kind::Tee { .. } => {
            stage.held.push((item.clone(), Vec::new()));
            Ok(vec![item])
        }
        _ => {
            stage.held.push((item, Vec::new()));
            Ok(Vec::new())
        }
    }
}

fn held(stage: &mut Stage<'_>) -> Vec<Val> {
    std::mem::take(&mut stage.held)
        .into_iter()
        .map(|(v, _)| v)
        .collect()
}

async fn end(frame: &mut Frame<'_>, stage: &mut Stage<'_>) -> R<Vec<Val>> {
    let action = stage.common.error_action;
    let column = stage.command.column;
    // Stages that write objects of their own (not the cmdlet's they were
    // given) show them as themselves, before a later cmdlet sets its view.
    if matches!(
        stage.kind,
        Kind::Group { .. }
            | Kind::Measure(_)
            | Kind::ImportCsv { .. }
            | Kind::FromJson(_)
            | Kind::ForEach { end: Some(_), .. }
    ) {
        frame.view = View::Auto;
    }
    let out = match &stage.kind {
        // Once, without input, when first in the pipeline.
        Kind::Server(_) if stage.first => return call(frame, stage, None).await,
        Kind::Server(_) => Vec::new(),
        Kind::Help(help) => vec![help.clone()],
        Kind::Where(_) => Vec::new(),
        Kind::ForEach { end, .. } => {
            let end = end.clone();
            let mut out = held(stage);
            if let Some(block) = end {
                out.extend(frame.invoke(&block, None).await?);
            }
            out
        }
        Kind::Select {
            columns,
            expand,
            range,
        } => {
            let (columns, expand, range) = (columns.clone(), expand.clone(), range.clone());
            let mut items = Vec::new();
            for item in held(stage) {
                match (&expand, &columns) {
                    (Some(p), _) => items.extend(item.member(p).into_items()),
                    (None, Some(columns)) => items.push(project(frame, &item, columns).await?),
                    (None, None) => items.push(item),
                }
            }
            frame.view = match (&columns, &expand) {
                (Some(c), None) if c.len() <= 4 => View::Table,
                // `-First`/`-Last`/`-Skip` alone keep the objects and their view.
                (None, None) => frame.view.clone(),
                _ => View::Auto,
            };
            range.apply(items)
        }
        Kind::Sort {
            descending, unique, ..
        } => {
            let (d, u) = (*descending, *unique);
            shell::sort::sort(std::mem::take(&mut stage.held), d, u)
        }
        Kind::Group { no_element, .. } => {
            let n = *no_element;
            shell::sort::group(std::mem::take(&mut stage.held), n)
        }
        Kind::Measure(m) => {
            let m = m.clone();
            match shell::measure::measure(&held(stage), &m) {
                Ok(v) => vec![v],
                Err(message) => return frame.fail(column, message, action),
            }
        }
        Kind::Format { view, columns } => {
            let (view, columns) = (view.clone(), columns.clone());
            let mut items = Vec::new();
            for item in held(stage) {
                items.push(match &columns {
                    Some(c) => project(frame, &item, c).await?,
                    None => item,
                });
            }
            frame.view = match (&view, &columns, &frame.view) {
                // `Format-Table` alone shows a cmdlet's default columns, as
                // PowerShell's table view does.
                (View::Table, None, View::Cmdlet(c)) if !c.columns.is_empty() => {
                    View::Cmdlet(crate::output::CmdletView {
                        columns: c.columns.clone(),
                        list: false,
                        group_by: c.group_by.clone(),
                    })
                }
                _ => view,
            };
            items
        }
        Kind::ExportCsv {
            path,
            append,
            delimiter,
        } => {
            let (path, append, delimiter) = (path.clone(), *append, *delimiter);
            let exists = std::fs::metadata(&path).is_ok_and(|m| m.len() > 0);
            let text = shell::csv::to_csv(&held(stage), delimiter, !(append && exists));
            if let Err(e) = write_file(&path, &text, append) {
                return frame.fail(column, format!("writing {path}: {e}"), action);
            }
            Vec::new()
        }
        Kind::ImportCsv { path, delimiter } => {
            let read = std::fs::read_to_string(path)
                .map_err(|e| format!("reading {path}: {e}"))
                .and_then(|text| {
                    shell::csv::from_csv(&text, *delimiter).map_err(|e| format!("{path}: {e}"))
                });
            match read {
                Ok(rows) => rows,
                Err(message) => return frame.fail(column, message, action),
            }
        }
        Kind::ToJson { depth, compress } => {
            let (depth, compress) = (*depth, *compress);
            vec![Val::Str(shell::json::to_json(held(stage), depth, compress))]
        }
        Kind::FromJson(input) => {
            let text = match input {
                Some(text) => text.clone(),
                None => held(stage)
                    .iter()
                    .map(Val::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            };
            match shell::json::from_json(&text) {
                Ok(items) => items,
                Err(message) => return frame.fail(column, message, action),
            }
        }
        Kind::OutFile { path, append } => {
            let (path, append) = (path.clone(), *append);
            let text = crate::lang::display::render(
                &held(stage),
                crate::output::Format::Text,
                frame.view.clone(),
            );
            if let Err(e) = write_file(&path, &text, append) {
                return frame.fail(column, format!("writing {path}: {e}"), action);
            }
            Vec::new()
        }
        Kind::Tee {
            path,
            variable,
            append,
        } => {
            let (path, variable, append) = (path.clone(), variable.clone(), *append);
            let items = held(stage);
            if let Some(name) = variable {
                if let Err(message) = frame.rt.set(&name, Val::from_items(items)) {
                    return frame.fail(column, message, action);
                }
            } else if let Some(path) = path {
                let text = crate::lang::display::render(
                    &items,
                    crate::output::Format::Text,
                    frame.view.clone(),
                );
                if let Err(e) = write_file(&path, &text, append) {
                    return frame.fail(column, format!("writing {path}: {e}"), action);
                }
            }
            Vec::new()
        }
        Kind::Member(names) => {
            let names = names.clone();
            match shell::member::members(&held(stage), names.as_deref()) {
                // A table of the members under each `   TypeName: …`;
                // TypeName stays a property of each row.
                Ok(rows) => {
                    frame.view = View::Cmdlet(crate::output::CmdletView {
                        columns: ["Name", "MemberType", "Definition"]
                            .map(String::from)
                            .to_vec(),
                        list: false,
                        group_by: Some("TypeName".to_owned()),
                    });
                    rows
                }
                Err(message) => return frame.fail(column, message, action),
            }
        }
        Kind::GetDate(format) => vec![Val::Str(shell::date::now(format.as_deref()))],
        Kind::OutNull => Vec::new(),
        Kind::WriteHost(object) => {
            if let Some(object) = object {
                writeln!(frame.out, "{object}")?;
            }
            Vec::new()
        }
        Kind::WriteOutput(object) => object.clone().map(Val::into_items).unwrap_or_default(),
    };
    Ok(out)
}

fn write_file(path: &str, text: &str, append: bool) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::parser::parse_script;

    fn command(line: &str) -> Command {
        let script = parse_script(line).unwrap();
        match &script.statements[0] {
            crate::lang::ast::Statement::Pipeline(p) => match &p.stages[0] {
                AstStage::Command(c) => c.clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    fn object(pairs: &[(&str, &str)], by_name: bool) -> Val {
        Val::Object(Object {
            properties: pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), Val::Str((*v).to_owned())))
                .collect(),
            by_name,
        })
    }

    #[test]
    fn piped_records_bind_identity_else_name_and_csv_rows_bind_by_name() {
        assert_eq!(
            identity_of(&object(&[("Name", "dana"), ("Identity", "x\\dana")], false)).as_deref(),
            Some("x\\dana")
        );
        assert_eq!(
            identity_of(&object(&[("Alias", "d"), ("name", "dana")], false)).as_deref(),
            Some("dana")
        );
        assert_eq!(identity_of(&object(&[("Alias", "d")], false)), None);
        let set = Server {
            cmdlet: "Set-Mailbox".into(),
            parameters: vec![("Office".into(), Value::Text("x".into()))],
            has_identity: false,
        };
        let (item, extra) = bind(&set, &object(&[("Name", "dana"), ("Office", "1")], false));
        assert_eq!(
            (item.as_deref(), extra),
            (
                Some("dana"),
                vec![("Identity".to_owned(), Value::Text("dana".into()))]
            )
        );
        let new = Server {
            cmdlet: "New-Mailbox".into(),
            parameters: Vec::new(),
            has_identity: false,
        };
        let row = object(
            &[
                ("name", "Dana Smith"),
                ("Alias", "dana"),
                ("Notes", "x"),
                ("Office", ""),
            ],
            true,
        );
        let (_, extra) = bind(&new, &row);
        assert_eq!(
            extra,
            vec![
                ("Name".to_owned(), Value::Text("Dana Smith".into())),
                ("Alias".to_owned(), Value::Text("dana".into()))
            ]
        );
    }

    #[test]
    fn errors_point_at_the_parameter_they_name() {
        let line = command("New-ManagementRole -Name Scripts -UnScopedTopLevel");
        let denial = "you can run `New-ManagementRole` but not with `-UnScopedTopLevel`: no role";
        assert_eq!(column_for(&line, denial), 34);
        let unknown = command("Set-Mailbox dana -Ofice x");
        let message =
            "a parameter cannot be found that matches parameter name `Ofice` of `Set-Mailbox`";
        assert_eq!(column_for(&unknown, message), 18);
        assert_eq!(
            column_for(&unknown, "the term `Set-Mailbox` is not recognized"),
            1
        );
    }

    #[test]
    fn values_pass_to_the_resource_forest_as_text_lists_and_identities() {
        assert_eq!(to_value(&Val::Int(5)), Ok(Value::Text("5".into())));
        assert_eq!(to_value(&Val::Bool(false)), Ok(Value::Bool(false)));
        assert_eq!(
            to_value(&Val::Array(vec![
                object(&[("Name", "dana")], false),
                Val::Str("erin".into())
            ])),
            Ok(Value::List(vec!["dana".into(), "erin".into()]))
        );
        assert!(to_value(&Val::Hash(Vec::new()))
            .unwrap_err()
            .contains("splats"));
    }
}
