//! A stage's arguments: evaluated once, the common parameters the shell
//! applies taken out, and the rest bound to what the stage does — a shell
//! cmdlet's [`Kind`], or a cmdlet of the resource forest with its
//! parameters ([`Server`]).

use std::rc::Rc;

use resource_forest::rbac::compare::Operator;

use crate::lang::ast::{Arg, Block, Command};
use crate::lang::cmdlets::select::{self, Column, Key, Range};
use crate::lang::cmdlets::{self as shell, measure::Measure, ShellCmdlet};
use crate::lang::eval::{Frame, R};
use crate::lang::values::{Object, Val};
use crate::output::View;
use crate::parse::{ErrorAction, Value};

/// One evaluated argument: its name (`None` when positional), column and
/// value (`None` for a switch).
#[derive(Debug, Clone)]
pub(super) struct Evaluated {
    name: Option<String>,
    column: usize,
    value: Option<Val>,
}

/// The common parameters the shell applies itself.
#[derive(Debug, Default)]
pub(super) struct Common {
    pub(super) error_action: Option<ErrorAction>,
    pub(super) warning_action: Option<ErrorAction>,
    pub(super) error_variable: Option<(String, bool)>,
    pub(super) out_variable: Option<(String, bool)>,
    pub(super) warning_variable: Option<(String, bool)>,
}

/// `-OutVariable x` (or `+x`, appending).
fn variable_name(value: &Val) -> (String, bool) {
    let text = value.to_string();
    match text.strip_prefix('+') {
        Some(name) => (name.to_owned(), true),
        None => (text, false),
    }
}

/// The column an error points at: the parameter its message names, if the
/// command has it, else the command.
pub(super) fn column_for(command: &Command, message: &str) -> usize {
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

/// The value piped records bind to `-Identity`: `Identity`, else `Name`.
pub(super) fn identity_of(value: &Val) -> Option<String> {
    match value {
        Val::Object(o) => ["Identity", "Name"]
            .iter()
            .find_map(|n| o.get(n).filter(|v| **v != Val::Null))
            .map(Val::to_string),
        Val::Null | Val::Hash(_) | Val::Block(_) => None,
        other => Some(other.to_string()),
    }
}

/// A shell value as a parameter value of a resource forest cmdlet: an
/// object passes its identity, as Exchange's cmdlets take one.
pub(super) fn to_value(value: &Val) -> Result<Value, String> {
    let text = |v: &Val| identity_of(v).unwrap_or_default();
    match value {
        Val::Bool(b) => Ok(Value::Bool(*b)),
        Val::Array(items) => Ok(Value::List(items.iter().map(text).collect())),
        Val::Hash(_) => Err("a hashtable can't be passed to a cmdlet of the resource forest; use its keys as parameters (`@params` splats them)".to_owned()),
        Val::Block(b) => Ok(Value::Text(b.text.clone())),
        other => Ok(Value::Text(text(other))),
    }
}

/// A cmdlet of the resource forest, its parameters bound.
#[derive(Debug)]
pub(super) struct Server {
    pub(super) cmdlet: String,
    pub(super) parameters: Vec<(String, Value)>,
    pub(super) has_identity: bool,
}

#[derive(Debug)]
pub(super) enum Where {
    Block(Rc<Block>),
    Compare {
        property: String,
        operator: Operator,
        case_sensitive: bool,
        value: Val,
    },
    Truthy {
        property: String,
        not: bool,
    },
}

#[derive(Debug)]
pub(super) enum Kind {
    Server(Server),
    Help(Val),
    Where(Where),
    ForEach {
        begin: Option<Rc<Block>>,
        process: Option<Rc<Block>>,
        end: Option<Rc<Block>>,
        member: Option<String>,
    },
    Select {
        columns: Option<Vec<Column>>,
        expand: Option<String>,
        range: Range,
    },
    Sort {
        keys: Vec<Key>,
        descending: bool,
        unique: bool,
    },
    Measure(Measure),
    Group {
        keys: Vec<Key>,
        no_element: bool,
    },
    Format {
        view: View,
        columns: Option<Vec<Column>>,
    },
    ExportCsv {
        path: String,
        append: bool,
        delimiter: char,
    },
    ImportCsv {
        path: String,
        delimiter: char,
    },
    ToJson {
        depth: usize,
        compress: bool,
    },
    FromJson(Option<String>),
    OutFile {
        path: String,
        append: bool,
    },
    /// `Tee-Object`: to a file, or to a variable (its name).
    Tee {
        path: Option<String>,
        variable: Option<String>,
        append: bool,
    },
    /// `Get-Member`, with the names it keeps.
    Member(Option<Vec<String>>),
    GetDate(Option<String>),
    WriteHost(Option<Val>),
    OutNull,
    WriteOutput(Option<Val>),
}

pub(super) async fn evaluate(frame: &mut Frame<'_>, command: &Command) -> R<Vec<Evaluated>> {
    let mut out = Vec::new();
    for arg in &command.args {
        match arg {
            Arg::Named {
                name,
                column,
                value,
            } => {
                let value = match value {
                    Some(e) => Some(frame.expr(e).await?),
                    None => None,
                };
                out.push(Evaluated {
                    name: Some(name.clone()),
                    column: *column,
                    value,
                });
            }
            Arg::Positional(e) => out.push(Evaluated {
                name: None,
                column: e.column,
                value: Some(frame.expr(e).await?),
            }),
            Arg::Splat { name, column } => match frame.rt.get(name) {
                Val::Hash(pairs) => out.extend(pairs.into_iter().map(|(k, v)| Evaluated {
                    name: Some(k),
                    column: *column,
                    value: Some(v),
                })),
                other => {
                    return frame.fail(
                        *column,
                        format!("`@{name}` splats a hashtable; `${name}` is `{other}`"),
                        None,
                    )
                }
            },
        }
    }
    Ok(out)
}

/// Takes the common parameters the shell applies out of `args`.
pub(super) fn common(
    args: Vec<Evaluated>,
    own: bool,
) -> Result<(Common, Vec<Evaluated>), (usize, String)> {
    let mut common = Common::default();
    let mut rest = Vec::new();
    for arg in args {
        let Some(name) = arg.name.as_deref() else {
            rest.push(arg);
            continue;
        };
        let value = arg.value.clone().unwrap_or(Val::Bool(true));
        let action = || {
            ErrorAction::from_value(&value.to_string())
                .map_err(|m| (arg.column, format!("`-{name}`: {m}")))
        };
        match shell::shell_common(name) {
            Some("ErrorAction") => common.error_action = Some(action()?),
            Some("WarningAction") => common.warning_action = Some(action()?),
            Some("ErrorVariable") => common.error_variable = Some(variable_name(&value)),
            Some("OutVariable") => common.out_variable = Some(variable_name(&value)),
            Some("WarningVariable") => common.warning_variable = Some(variable_name(&value)),
            _ if own
                && shell::common_switch(name).is_some_and(|s| s == "Verbose" || s == "Debug") => {}
            _ => rest.push(arg),
        }
    }
    Ok((common, rest))
}

/// A shell cmdlet's arguments bound to its parameters.
struct Bound {
    values: Vec<(&'static str, Val, usize)>,
}

impl Bound {
    fn new(spec: &ShellCmdlet, args: Vec<Evaluated>) -> Result<Self, (usize, String)> {
        let mut values = Vec::new();
        let mut next_positional = 0;
        for arg in args {
            let name = match &arg.name {
                Some(name) => shell::parameter_of(spec, name).ok_or_else(|| {
                    (
                        arg.column,
                        format!(
                            "`{}` takes -{}; got `-{name}`",
                            spec.name,
                            spec.parameters.join(", -")
                        ),
                    )
                })?,
                None => {
                    let free = spec.parameters[..spec.positional]
                        .iter()
                        .filter(|p| !values.iter().any(|(n, _, _)| n == *p))
                        .nth(next_positional);
                    next_positional += 1;
                    *free.ok_or_else(|| {
                        (
                            arg.column,
                            format!("`{}` takes no more positional values", spec.name),
                        )
                    })?
                }
            };
            values.push((name, arg.value.unwrap_or(Val::Bool(true)), arg.column));
        }
        Ok(Self { values })
    }

    fn get(&self, name: &str) -> Option<&Val> {
        self.values
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, v, _)| v)
    }

    fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(Val::truthy)
    }

    fn count(&self, name: &str) -> Result<Option<usize>, (usize, String)> {
        match self.values.iter().find(|(n, _, _)| *n == name) {
            None => Ok(None),
            Some((_, v, column)) => shell::count_of(v)
                .map(Some)
                .ok_or_else(|| (*column, format!("`-{name}` needs a number; got `{v}`"))),
        }
    }

    fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(Val::to_string)
    }

    fn block(&self, name: &str) -> Result<Option<Rc<Block>>, (usize, String)> {
        match self.values.iter().find(|(n, _, _)| *n == name) {
            None => Ok(None),
            Some((_, Val::Block(b), _)) => Ok(Some(b.clone())),
            Some((_, v, column)) => Err((
                *column,
                format!("`-{name}` needs a script block {{ … }}; got `{v}`"),
            )),
        }
    }

    fn columns(&self, name: &str) -> Result<Option<Vec<Column>>, (usize, String)> {
        match self.values.iter().find(|(n, _, _)| *n == name) {
            None => Ok(None),
            Some((_, v, column)) => select::columns(v).map(Some).map_err(|m| (*column, m)),
        }
    }

    fn keys(&self, name: &str) -> Result<Vec<Key>, (usize, String)> {
        match self.values.iter().find(|(n, _, _)| *n == name) {
            None => Ok(Vec::new()),
            Some((_, v, column)) => select::keys(v).map_err(|m| (*column, m)),
        }
    }

    fn delimiter(&self) -> Result<char, (usize, String)> {
        match self.values.iter().find(|(n, _, _)| *n == "Delimiter") {
            None => Ok(','),
            Some((_, v, column)) => {
                let text = v.to_string();
                let mut chars = text.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Ok(c),
                    _ => Err((
                        *column,
                        format!("`-Delimiter` is one character; got `{text}`"),
                    )),
                }
            }
        }
    }
}

fn where_kind(args: Vec<Evaluated>, spec: &ShellCmdlet) -> Result<Where, (usize, String)> {
    let mut operator = None;
    let mut rest = Vec::new();
    for arg in args {
        match arg.name.as_deref().and_then(Operator::parse) {
            Some((op, cs)) => {
                let Some(value) = arg.value.clone() else {
                    return Err((
                        arg.column,
                        "the operator needs a value to compare with".to_owned(),
                    ));
                };
                operator = Some((op, cs, value));
            }
            None => rest.push(arg),
        }
    }
    let bound = Bound::new(spec, rest)?;
    if let Some(block) = bound.block("FilterScript")? {
        return Ok(Where::Block(block));
    }
    if let Some(Val::Block(block)) = bound.get("Property") {
        return Ok(Where::Block(block.clone()));
    }
    let Some(property) = bound.text("Property") else {
        return Err((1, "`Where-Object` needs a condition, as in `Where-Object { $_.Office -eq 'Floor 2' }` or `Where-Object Office -eq 'Floor 2'`".to_owned()));
    };
    Ok(match operator {
        Some((operator, case_sensitive, value)) => Where::Compare {
            property,
            operator,
            case_sensitive,
            value,
        },
        None => Where::Truthy {
            property,
            not: bound.flag("Not"),
        },
    })
}

pub(super) fn shell_kind(
    spec: &ShellCmdlet,
    args: Vec<Evaluated>,
) -> Result<Kind, (usize, String)> {
    if spec.name == "Where-Object" {
        return where_kind(args, spec).map(Kind::Where);
    }
    let b = Bound::new(spec, args)?;
    let required = |name: &str| {
        b.text(name)
            .ok_or_else(|| (1, format!("`{}` needs -{name}", spec.name)))
    };
    Ok(match spec.name {
        "ForEach-Object" => {
            let (process, member) = match b.get("Process") {
                Some(Val::Block(block)) => (Some(block.clone()), None),
                Some(other) => (None, Some(other.to_string())),
                None => (None, b.text("MemberName")),
            };
            if process.is_none() && member.is_none() && b.get("End").is_none() {
                return Err((
                    1,
                    "`ForEach-Object` needs a script block, as in `ForEach-Object { $_.Name }`"
                        .to_owned(),
                ));
            }
            Kind::ForEach {
                begin: b.block("Begin")?,
                process,
                end: b.block("End")?,
                member,
            }
        }
        "Select-Object" => Kind::Select {
            columns: b.columns("Property")?,
            expand: b.text("ExpandProperty"),
            range: Range {
                first: b.count("First")?,
                last: b.count("Last")?,
                skip: b.count("Skip")?.unwrap_or(0),
                unique: b.flag("Unique"),
            },
        },
        "Sort-Object" => Kind::Sort {
            keys: b.keys("Property")?,
            descending: b.flag("Descending"),
            unique: b.flag("Unique"),
        },
        "Measure-Object" => Kind::Measure(Measure {
            property: b.text("Property"),
            sum: b.flag("Sum"),
            average: b.flag("Average"),
            maximum: b.flag("Maximum"),
            minimum: b.flag("Minimum"),
        }),
        "Group-Object" => Kind::Group {
            keys: b.keys("Property")?,
            no_element: b.flag("NoElement"),
        },
        "Format-Table" | "Format-List" | "Format-Wide" => Kind::Format {
            view: if spec.name == "Format-List" {
                View::List
            } else {
                View::Table
            },
            columns: match (spec.name, b.columns("Property")?) {
                ("Format-Wide", None) => Some(vec![Column::Name("Name".into())]),
                (_, columns) => columns,
            },
        },
        "Export-Csv" => Kind::ExportCsv {
            path: required("Path")?,
            append: b.flag("Append"),
            delimiter: b.delimiter()?,
        },
        "Import-Csv" => Kind::ImportCsv {
            path: required("Path")?,
            delimiter: b.delimiter()?,
        },
        "ConvertTo-Json" => Kind::ToJson {
            depth: b.count("Depth")?.unwrap_or(2),
            compress: b.flag("Compress"),
        },
        "ConvertFrom-Json" => Kind::FromJson(b.text("InputObject")),
        "Out-File" => Kind::OutFile {
            path: required("FilePath")?,
            append: b.flag("Append"),
        },
        "Tee-Object" => {
            let (path, variable) = (b.text("FilePath"), b.text("Variable"));
            if path.is_some() == variable.is_some() {
                return Err((
                    1,
                    "`Tee-Object` needs one of -FilePath and -Variable, as in `Tee-Object -Variable mailboxes`"
                        .to_owned(),
                ));
            }
            Kind::Tee {
                path,
                variable,
                append: b.flag("Append"),
            }
        }
        "Get-Member" => Kind::Member(b.get("Name").map(|names| {
            names
                .clone()
                .into_items()
                .iter()
                .map(Val::to_string)
                .collect()
        })),
        "Get-Date" => Kind::GetDate(b.text("Format")),
        "Write-Host" => Kind::WriteHost(b.get("Object").cloned()),
        "Out-Null" => Kind::OutNull,
        _ => Kind::WriteOutput(b.get("InputObject").cloned()),
    })
}

/// `Get-Help` of a cmdlet the shell runs itself, answered here: the resource
/// forest knows only its own cmdlets.
pub(super) fn shell_help(command: &Command, args: &[Evaluated]) -> Option<Val> {
    if !command.name.eq_ignore_ascii_case("Get-Help") {
        return None;
    }
    let text = |s: &str| Val::Str(s.to_owned());
    let record = |pairs: Vec<(&str, Val)>| {
        Val::Object(Object {
            properties: pairs.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
            by_name: false,
        })
    };
    let spec = match args {
        [] => return Some(record(vec![
            ("Name", text("Get-Help")),
            ("Synopsis", text("Get-Command lists the cmdlets you may run (-Name, -Verb and -Noun take wildcards); Get-Help <cmdlet> shows one, Get-Help <cmdlet> -Parameter <name> its parameters. Pipe with |; filter with Where-Object; shape with Select-Object, Sort-Object, Group-Object, Measure-Object, Format-Table and Format-List; store results in $variables; loop with ForEach-Object or foreach.")),
        ])),
        [Evaluated { name, value: Some(value), .. }]
            if name.as_deref().is_none_or(|n| n.eq_ignore_ascii_case("Name")) =>
        {
            shell::shell_cmdlet(&value.to_string())?
        }
        _ => return None,
    };
    Some(record(vec![
        ("Name", text(spec.name)),
        ("Synopsis", text(spec.synopsis)),
        ("Syntax", text(spec.syntax)),
        ("Parameters", text(&spec.parameters.join(", "))),
    ]))
}

pub(super) fn server(command: &Command, args: Vec<Evaluated>) -> Result<Kind, (usize, String)> {
    let mut parameters = Vec::new();
    let mut has_identity = false;
    for arg in args {
        let name = arg.name.unwrap_or_default();
        has_identity |= name.is_empty() || name.eq_ignore_ascii_case("Identity");
        let value = match &arg.value {
            None => Value::Switch,
            Some(v) => to_value(v).map_err(|m| (arg.column, m))?,
        };
        parameters.push((name, value));
    }
    Ok(Kind::Server(Server {
        cmdlet: command.name.clone(),
        parameters,
        has_identity,
    }))
}
