//! `Get-Command` and `Get-Help`, as the Exchange Management Shell answers them:
//! only the cmdlets and parameters the caller's roles grant exist for the
//! caller. A cmdlet outside them is "not recognized", exactly as when it is run.
//! Every authenticated caller may ask (the cmdlets authorise themselves). A
//! role group's managers also see what ManagedBy lets them run (R-RG-5).

use super::parameters::{
    p, req, Kind,
    Kind::{Switch, Text},
    Param,
};
use super::registry::{self, example, Cmdlet, Example, Handler};
use super::{invalid, listed, record, Args, CmdletError, Context, Outcome, Record};
use crate::rbac::opath::wildcard_match;

/// `Get-Command` and `Get-Help`. Anyone may ask.
pub const CMDLETS: &[Cmdlet] = &[
    Cmdlet::new(
        "Get-Command",
        "Lists the cmdlets you may run.",
        Handler::Sync(get_command),
        &["CommandType", "Name", "Synopsis"],
    )
    .examples(GET_COMMAND_EXAMPLES)
    .with(&[p("Name", Text), p("Verb", Text), p("Noun", Text)])
    .at("Name")
    .for_anyone(&["Name", "Verb", "Noun"]),
    Cmdlet::new(
        "Get-Help",
        "Shows the synopsis, syntax and parameters of a cmdlet you may run.",
        Handler::Sync(get_help),
        &["Name", "Synopsis"],
    )
    .examples(GET_HELP_EXAMPLES)
    .with(&[
        req("Name", Text),
        p("Parameter", Text),
        p("Examples", Switch),
        p("Detailed", Switch),
        p("Full", Switch),
    ])
    .at("Name")
    .for_anyone(&["Name", "Parameter", "Examples", "Detailed", "Full"]),
];

const GET_COMMAND_EXAMPLES: &[Example] = &[
    example("Get-Command", "Lists every cmdlet you may run."),
    example(
        "Get-Command -Noun RoleGroup*",
        "Lists the cmdlets you may run on role groups and their members.",
    ),
];

const GET_HELP_EXAMPLES: &[Example] = &[
    example(
        "Get-Help Set-Mailbox",
        "Shows the synopsis and syntax of Set-Mailbox.",
    ),
    example(
        "Get-Help Set-Mailbox -Examples",
        "Shows examples of Set-Mailbox.",
    ),
    example(
        "Get-Help Set-Mailbox -Full",
        "Shows everything: syntax, each parameter, examples.",
    ),
];

/// A cmdlet available to the caller, with the parameters it may use.
struct Available {
    spec: &'static Cmdlet,
    parameters: Vec<Param>,
}

/// Every cmdlet the caller may run, with the parameters its roles grant (R-ROLE-1);
/// cmdlets the permission model makes unavailable are left out (R-SPLIT-3).
fn available(ctx: &Context<'_>) -> Vec<Available> {
    let permissions = ctx.permissions.permissions_of(&ctx.subject());
    let mine = super::role_group::manager_sids(ctx);
    let manager = ctx
        .org
        .rbac
        .role_groups
        .values()
        .any(|g| mine.iter().any(|s| g.managed_by.contains(s)));
    let own_of = |spec: &Cmdlet| {
        let managers: &[&str] = if manager { spec.managers } else { &[] };
        spec.anyone
            .iter()
            .chain(managers)
            .copied()
            .collect::<Vec<&str>>()
    };
    registry::all()
        .filter(|s| crate::org::permission_model::unavailable(ctx.org, s.name).is_none())
        .filter_map(|s| {
            let granted = permissions
                .iter()
                .find(|p| p.cmdlet.eq_ignore_ascii_case(s.name))
                .map(|p| p.parameters.as_slice());
            let own = own_of(s);
            if granted.is_none() && own.is_empty() {
                return None;
            }
            let allowed = |name: &str| {
                granted.is_some_and(|g| g.iter().any(|p| p.eq_ignore_ascii_case(name)))
                    || own.contains(&name)
            };
            Some(Available {
                spec: s,
                parameters: s
                    .parameters
                    .iter()
                    .filter(|p| allowed(p.name))
                    .copied()
                    .collect(),
            })
        })
        .collect()
}

fn verb_noun(name: &str) -> (&str, &str) {
    name.split_once('-').unwrap_or((name, ""))
}

/// `Get-Command [[-Name] <wildcard>] [-Verb <wildcard>] [-Noun <wildcard>]`.
pub fn get_command(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let name = args.text("Name").unwrap_or("*");
    let verb = args.text("Verb").unwrap_or("*");
    let noun = args.text("Noun").unwrap_or("*");
    let records: Vec<_> = available(ctx)
        .into_iter()
        .filter(|a| {
            let (v, n) = verb_noun(a.spec.name);
            wildcard_match(name, a.spec.name) && wildcard_match(verb, v) && wildcard_match(noun, n)
        })
        .map(|a| {
            record([
                ("CommandType", "Cmdlet".to_owned()),
                ("Name", a.spec.name.to_owned()),
                ("Synopsis", a.spec.synopsis.to_owned()),
                (
                    "Parameters",
                    a.parameters
                        .iter()
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ])
        })
        .collect();
    // A name without wildcards that matches nothing is an error, as in PowerShell.
    if records.is_empty() && !name.contains(['*', '?']) {
        return Err(CmdletError::NotRecognized(name.to_owned()));
    }
    Ok(listed(records))
}

fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "String",
        Kind::List => "String[]",
        Kind::Bool => "Boolean",
        Kind::Switch => "SwitchParameter",
    }
}

/// The type a parameter takes, as Exchange's help names it: an object's
/// identity parameter is named for the object (`MailboxIdParameter`).
fn parameter_type(spec: &Cmdlet, p: &Param) -> String {
    if p.name != "Identity" || p.kind != Kind::Text {
        return type_name(p.kind).to_owned();
    }
    let (_, noun) = verb_noun(spec.name);
    let object = match noun {
        "ManagementRoleAssignment" => "RoleAssignment",
        "ManagementRole" => "Role",
        "ManagementRoleEntry" => "RoleEntry",
        "RoleGroupMember" => "RoleGroup",
        "DistributionGroupMember" => "DistributionGroup",
        "" => return type_name(p.kind).to_owned(),
        noun => noun,
    };
    format!("{object}IdParameter")
}

/// One parameter in PowerShell's syntax notation.
fn syntax_of(spec: &Cmdlet, p: &Param) -> String {
    let positional = spec.positional == Some(p.name);
    let name = if positional {
        format!("[-{}]", p.name)
    } else {
        format!("-{}", p.name)
    };
    let text = match p.kind {
        Kind::Switch => name,
        _ => format!("{name} <{}>", parameter_type(spec, p)),
    };
    if p.required {
        text
    } else {
        format!("[{text}]")
    }
}

/// The syntax line of `spec` with the `parameters` the caller may use.
fn syntax(spec: &Cmdlet, parameters: &[Param]) -> String {
    let mut syntax: Vec<String> = std::iter::once(spec.name.to_owned())
        .chain(parameters.iter().map(|p| syntax_of(spec, p)))
        .collect();
    if spec.writes() {
        syntax.push("[-WhatIf]".to_owned());
    }
    syntax.push("[<CommonParameters>]".to_owned());
    syntax.join(" ")
}

/// `Get-Help <cmdlet> [-Parameter <wildcard>]`.
pub fn get_help(ctx: &Context<'_>, args: &Args) -> Result<Outcome, CmdletError> {
    let name = args.required("Name", ctx.cmdlet)?;
    let Some(cmdlet) = available(ctx)
        .into_iter()
        .find(|a| a.spec.name.eq_ignore_ascii_case(name))
    else {
        return Err(CmdletError::NotRecognized(name.to_owned()));
    };
    let spec = cmdlet.spec;
    if let Some(pattern) = args.text("Parameter") {
        let records: Vec<_> = cmdlet
            .parameters
            .iter()
            .filter(|p| wildcard_match(pattern, p.name))
            .map(|p| {
                record([
                    ("Name", p.name.to_owned()),
                    ("Type", parameter_type(spec, p)),
                    ("Required", super::ps_bool(p.required)),
                    (
                        "Position",
                        if spec.positional == Some(p.name) {
                            "0".to_owned()
                        } else {
                            "Named".to_owned()
                        },
                    ),
                ])
            })
            .collect();
        if records.is_empty() {
            return Err(invalid(
                "Parameter",
                format!(
                    "`{pattern}` matches no parameter of `{}` that you may use",
                    spec.name
                ),
            ));
        }
        return Ok(listed(records));
    }
    Ok(listed(vec![help_record(
        spec,
        &cmdlet.parameters,
        Depth::of(args),
    )]))
}

/// How much `Get-Help` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Depth {
    /// Synopsis, syntax, the parameters' names and where to read more.
    Default,
    /// `-Examples`: synopsis and examples.
    Examples,
    /// `-Detailed`: syntax, each parameter with its type, examples.
    Detailed,
    /// `-Full`: as detailed, and each parameter's binding facts and the
    /// cmdlet's confirm impact.
    Full,
}

impl Depth {
    fn of(args: &Args) -> Self {
        if args.switch("Full") {
            Self::Full
        } else if args.switch("Detailed") {
            Self::Detailed
        } else if args.switch("Examples") {
            Self::Examples
        } else {
            Self::Default
        }
    }
}

/// Continuation lines of a multi-line help property, indented.
const INDENT: &str = "    ";

/// The help of `spec` with the `parameters` the caller may use, at `depth`.
fn help_record(spec: &Cmdlet, parameters: &[Param], depth: Depth) -> Record {
    let mut properties = vec![
        ("Name", spec.name.to_owned()),
        ("Synopsis", spec.synopsis.to_owned()),
    ];
    if depth != Depth::Examples {
        properties.push(("Syntax", syntax(spec, parameters)));
    }
    match depth {
        Depth::Default => properties.push((
            "Parameters",
            parameters
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", "),
        )),
        Depth::Examples => {}
        Depth::Detailed | Depth::Full => properties.push((
            "Parameters",
            parameters
                .iter()
                .map(|p| parameter_help(spec, p, depth == Depth::Full))
                .collect::<Vec<_>>()
                .join("\n"),
        )),
    }
    if depth == Depth::Default {
        properties.push((
            "Remarks",
            format!(
                "To see the examples, type: Get-Help {0} -Examples; for more information: Get-Help {0} -Detailed; for technical information: Get-Help {0} -Full",
                spec.name
            ),
        ));
    } else {
        properties.push(("Examples", examples(spec)));
    }
    if depth == Depth::Full {
        properties.push(("ConfirmImpact", format!("{:?}", spec.confirm_impact())));
    }
    properties
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.into()))
        .collect()
}

/// `-Name <Type>`, and with `full` whether it is required and its position.
fn parameter_help(spec: &Cmdlet, p: &Param, full: bool) -> String {
    let head = match p.kind {
        Kind::Switch => format!("-{}", p.name),
        _ => format!("-{} <{}>", p.name, parameter_type(spec, p)),
    };
    if !full {
        return head;
    }
    let position = if spec.positional == Some(p.name) {
        "0"
    } else {
        "Named"
    };
    format!(
        "{head}\n{INDENT}Required? {}  Position? {position}",
        p.required
    )
}

/// The cmdlet's examples, numbered as PowerShell numbers them.
fn examples(spec: &Cmdlet) -> String {
    if spec.examples.is_empty() {
        return format!("(no examples; Get-Help {} shows its syntax)", spec.name);
    }
    spec.examples
        .iter()
        .enumerate()
        .map(|(i, e)| {
            format!(
                "-------------------------- Example {} --------------------------\n{INDENT}{}\n{INDENT}{}",
                i + 1,
                e.code,
                e.remarks
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cmdlet_has_help() {
        for cmdlet in registry::all() {
            let help = syntax(cmdlet, cmdlet.parameters);
            assert!(help.starts_with(cmdlet.name), "{help}");
            assert!(help.ends_with("[<CommonParameters>]"), "{help}");
            for p in cmdlet.parameters {
                assert!(help.contains(&format!("-{}", p.name)), "{help}");
            }
        }
    }

    #[test]
    fn syntax_marks_positional_required_and_switches() {
        let spec = registry::find("Set-Mailbox").unwrap();
        let identity = spec.parameter("Identity").unwrap();
        let office = spec.parameter("Office").unwrap();
        assert_eq!(
            syntax_of(spec, &identity),
            "[-Identity] <MailboxIdParameter>"
        );
        assert_eq!(syntax_of(spec, &office), "[-Office <String>]");
        let scope = registry::find("New-ManagementScope").unwrap();
        let exclusive = scope.parameter("Exclusive").unwrap();
        assert_eq!(syntax_of(scope, &exclusive), "[-Exclusive]");
        let assignment = registry::find("Get-ManagementRoleAssignment").unwrap();
        let identity = assignment.parameter("Identity").unwrap();
        assert_eq!(
            syntax_of(assignment, &identity),
            "[[-Identity] <RoleAssignmentIdParameter>]"
        );
    }

    #[test]
    fn help_depths_show_what_powershell_shows() {
        let spec = registry::find("Set-Mailbox").unwrap();
        let help = |depth| -> Vec<String> {
            help_record(spec, spec.parameters, depth)
                .into_iter()
                .map(|(name, _)| name)
                .collect()
        };
        assert_eq!(
            help(Depth::Default),
            ["Name", "Synopsis", "Syntax", "Parameters", "Remarks"]
        );
        assert_eq!(help(Depth::Examples), ["Name", "Synopsis", "Examples"]);
        assert_eq!(
            help(Depth::Full),
            [
                "Name",
                "Synopsis",
                "Syntax",
                "Parameters",
                "Examples",
                "ConfirmImpact"
            ]
        );
        let full = help_record(spec, spec.parameters, Depth::Full);
        let parameters = full[3].1.text();
        assert!(
            parameters.contains("-Identity <MailboxIdParameter>\n    Required? true  Position? 0"),
            "{parameters}"
        );
        assert!(
            full[4].1.text().contains("Example 1"),
            "{}",
            full[4].1.text()
        );
    }
}
