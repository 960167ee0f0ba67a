//! One cmdlet line as a client sends it to the resource forest
//! (`Cmdlet -Param value -List "a","b" -Flag -Bool:$false "positional"`),
//! read with the shell's parser ([`crate::lang`]); the parameter values the
//! resource forest binds; PowerShell's `-ErrorAction` values; and when a
//! line typed at the prompt needs another.

pub use crate::lang::cmdlets::{shell_cmdlet, ShellCmdlet, SHELL_CMDLETS};
pub use crate::lang::parser::{err, ParseError};

use crate::lang::ast::{Arg, ExprKind, Stage, Statement};

/// A parameter value as the resource forest binds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// One string.
    Text(String),
    /// A comma list.
    List(Vec<String>),
    /// `$true` / `$false`.
    Bool(bool),
    /// A switch without a value.
    Switch,
}

/// One parsed cmdlet line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// The cmdlet name as typed.
    pub cmdlet: String,
    /// Parameters in order; positional values have an empty name.
    /// `-ErrorAction` is not among them.
    pub parameters: Vec<(String, Value)>,
    /// `-ErrorAction`, when given.
    pub error_action: Option<ErrorAction>,
}

/// PowerShell's `-ErrorAction` (and `$ErrorActionPreference`) values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorAction {
    /// Stop at the first error.
    Stop,
    /// Report the error and go on.
    Continue,
    /// Go on without reporting.
    SilentlyContinue,
    /// Go on without reporting (as SilentlyContinue here).
    Ignore,
}

impl ErrorAction {
    /// The values, for messages.
    pub const NAMES: &'static str = "Stop, Continue, SilentlyContinue or Ignore (or 1, 2, 0, 4)";

    /// Parses a name (case-insensitive).
    pub fn from_name(text: &str) -> Option<Self> {
        [
            ("Stop", Self::Stop),
            ("Continue", Self::Continue),
            ("SilentlyContinue", Self::SilentlyContinue),
            ("Ignore", Self::Ignore),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(text))
        .map(|(_, a)| a)
    }

    /// Parses a name or PowerShell's number for it (`-ea 0`).
    ///
    /// # Errors
    ///
    /// `Inquire` and `Suspend` (not supported), anything else.
    pub fn from_value(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let by_number = match text {
            "0" => Some(Self::SilentlyContinue),
            "1" => Some(Self::Stop),
            "2" => Some(Self::Continue),
            "4" => Some(Self::Ignore),
            _ => None,
        };
        if let Some(action) = by_number.or_else(|| Self::from_name(text)) {
            return Ok(action);
        }
        if ["Inquire", "Suspend", "3", "5"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(text))
        {
            return Err(format!(
                "`{text}` is not supported by this shell; use {}",
                Self::NAMES
            ));
        }
        Err(format!("takes {}; got `{text}`", Self::NAMES))
    }

    /// Whether a script goes on after a line failed.
    pub fn goes_on(self) -> bool {
        self != Self::Stop
    }

    /// Whether the error is shown.
    pub fn reports(self) -> bool {
        matches!(self, Self::Stop | Self::Continue)
    }
}

/// A literal argument as a parameter value; `None` for an expression only
/// the shell evaluates.
fn literal(kind: &ExprKind) -> Option<Value> {
    match kind {
        ExprKind::Str(s) | ExprKind::Bare(s) => Some(Value::Text(s.clone())),
        ExprKind::Int(n) => Some(Value::Text(n.to_string())),
        ExprKind::Num(n) => Some(Value::Text(n.to_string())),
        ExprKind::Var(v) if v.eq_ignore_ascii_case("true") => Some(Value::Bool(true)),
        ExprKind::Var(v) if v.eq_ignore_ascii_case("false") => Some(Value::Bool(false)),
        ExprKind::Block(b) => Some(Value::Text(b.text.clone())),
        ExprKind::List(items) => items
            .iter()
            .map(|i| match literal(&i.kind)? {
                Value::Text(t) => Some(t),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(Value::List),
        _ => None,
    }
}

/// Longest cmdlet line accepted.
pub const MAX_LINE: usize = 64 * 1024;

/// Parses one cmdlet line with literal arguments.
///
/// # Errors
///
/// A line longer than [`MAX_LINE`], a syntax error, a pipeline, or an
/// argument only the shell evaluates.
pub fn parse(line: &str) -> Result<CommandLine, ParseError> {
    if line.len() > MAX_LINE {
        return Err(err(
            MAX_LINE,
            format!("the line is longer than {MAX_LINE} bytes"),
        ));
    }
    let script = crate::lang::parse_script(line)?;
    let command = match script.statements.as_slice() {
        [Statement::Pipeline(p)] => match p.stages.as_slice() {
            [Stage::Command(c)] => c,
            [Stage::Command(_), second, ..] => {
                let column = match second {
                    Stage::Command(c) => c.column,
                    Stage::Expr(e) => e.column,
                };
                return Err(err(
                    column,
                    "one cmdlet is expected here; pipelines run in the shell",
                ));
            }
            _ => {
                return Err(err(
                    p.column(),
                    "expected a cmdlet name such as `Get-Mailbox`",
                ))
            }
        },
        [] => return Err(err(1, "the line is empty")),
        [_, second, ..] => {
            return Err(err(
                second.column(),
                "one cmdlet is expected here; scripts run in the shell",
            ))
        }
        [other] => {
            return Err(err(
                other.column(),
                "expected a cmdlet name such as `Get-Mailbox`",
            ))
        }
    };
    let mut line = CommandLine {
        cmdlet: command.name.clone(),
        parameters: Vec::new(),
        error_action: None,
    };
    for arg in &command.args {
        let (name, column, value) = match arg {
            Arg::Named {
                name,
                column,
                value,
            } => (name.clone(), *column, value.as_ref()),
            Arg::Positional(e) => (String::new(), e.column, Some(e)),
            Arg::Splat { column, .. } => return Err(err(*column, "splatting needs the shell")),
        };
        let value = match value {
            None => Value::Switch,
            Some(e) => literal(&e.kind).ok_or_else(|| {
                err(
                    e.column,
                    "this value needs the shell (`crossforest shell`) to be evaluated",
                )
            })?,
        };
        if crate::lang::cmdlets::shell_common(&name) == Some("ErrorAction") {
            let Value::Text(text) = &value else {
                return Err(err(
                    column,
                    format!("`-{name}` takes {}", ErrorAction::NAMES),
                ));
            };
            line.error_action = Some(
                ErrorAction::from_value(text)
                    .map_err(|m| err(column, format!("`-{name}`: {m}")))?,
            );
            continue;
        }
        line.parameters.push((name, value));
    }
    Ok(line)
}

/// Whether `text` needs another line: an unclosed quote, script block or
/// parenthesis, or a trailing backtick or `|` (the REPL then prompts `>> `).
pub fn incomplete(text: &str) -> bool {
    let text = text.trim_end();
    let mut quote: Option<char> = None;
    let mut depth = 0i64;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some('"') | None, '`') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '(') => depth += 1,
            (None, '}' | ')') => depth -= 1,
            _ => {}
        }
    }
    quote.is_some() || depth > 0 || escaped || text.ends_with('|')
}

/// Joins continued lines into one, column for column: a backtick and the
/// line break after it become two spaces, other line breaks one space.
pub fn join_lines(text: &str) -> String {
    text.replace("`\r\n", "   ")
        .replace("`\n", "  ")
        .replace("\r\n", "  ")
        .replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn script_blocks_are_one_value() {
        let line = r#"New-ManagementScope -Name "Seattle Users" -RecipientRestrictionFilter {City -eq "Seattle" -and (Department -like 'S{x}*')} -Exclusive"#;
        let parsed = parse(line).unwrap();
        assert_eq!(
            parsed.parameters[1],
            (
                "RecipientRestrictionFilter".into(),
                t(r#"City -eq "Seattle" -and (Department -like 'S{x}*')"#)
            )
        );
        assert_eq!(parsed.parameters[2], ("Exclusive".into(), Value::Switch));
        let error = parse("New-ManagementScope -Name x -RecipientRestrictionFilter {City -eq 'a'")
            .unwrap_err();
        assert_eq!(error.column, 57);
        assert!(error.message.contains("no closing }"), "{}", error.message);
    }

    #[test]
    fn parses_the_linked_role_group_example() {
        let line = r#"New-RoleGroup -Name "fabrikam Recipient Admins" -LinkedForeignGroup "fabrikam\Exchange Admins" -LinkedDomainController dc1.fabrikam.com -LinkedCredential fabrikam\svc -Roles "Mail Recipients","Mail Recipient Creation""#;
        let parsed = parse(line).unwrap();
        assert_eq!(parsed.cmdlet, "New-RoleGroup");
        assert_eq!(
            parsed.parameters[0],
            ("Name".into(), t("fabrikam Recipient Admins"))
        );
        assert_eq!(
            parsed.parameters[1],
            ("LinkedForeignGroup".into(), t("fabrikam\\Exchange Admins"))
        );
        assert_eq!(
            parsed.parameters[3],
            ("LinkedCredential".into(), t("fabrikam\\svc"))
        );
        assert_eq!(
            parsed.parameters[4],
            (
                "Roles".into(),
                Value::List(vec![
                    "Mail Recipients".into(),
                    "Mail Recipient Creation".into()
                ])
            )
        );
    }

    #[test]
    fn switches_booleans_and_positionals() {
        let parsed = parse(
            "Set-Mailbox 'Dana Smith' -HiddenFromAddressListsEnabled $true -Confirm:$false -Force",
        )
        .unwrap();
        assert_eq!(
            parsed.parameters,
            vec![
                (String::new(), t("Dana Smith")),
                ("HiddenFromAddressListsEnabled".into(), Value::Bool(true)),
                ("Confirm".into(), Value::Bool(false)),
                ("Force".into(), Value::Switch),
            ]
        );
    }

    #[test]
    fn quotes_escape_as_in_powershell() {
        let parsed =
            parse(r#"Set-Mailbox x -DisplayName "say ""hi"" `"now`"" -Office 'O''Brien'"#).unwrap();
        assert_eq!(parsed.parameters[1].1, t("say \"hi\" \"now\""));
        assert_eq!(parsed.parameters[2].1, t("O'Brien"));
    }

    #[test]
    fn errors_name_the_column() {
        let cases = [
            ("", 1, "empty"),
            ("\"Get-Mailbox\"", 1, "cmdlet name"),
            ("Get-Mailbox -Identity \"open", 23, "no closing"),
            ("New-RoleGroup -Roles a,", 23, "ends with a comma"),
            ("New-RoleGroup -Roles ,a", 22, "before the comma"),
            ("Get-Mailbox -Id:", 17, "needs a value"),
            ("Get-Mailbox -Id$x y", 16, "unexpected `$`"),
            (
                "Get-Mailbox | Format-List",
                15,
                "pipelines run in the shell",
            ),
            ("Set-Mailbox x -ErrorAction Maybe", 15, "Stop, Continue"),
            ("Set-Mailbox $x", 13, "needs the shell"),
            (
                &format!("Get-Mailbox {}", "-a ".repeat(30_000)),
                MAX_LINE,
                "the line is longer than",
            ),
        ];
        crate::lang::parser::expect_errors(parse, &cases);
    }

    #[test]
    fn error_action_is_taken_by_the_shell_in_names_and_numbers() {
        let line = parse("Set-Mailbox x -Office y -ErrorAction Continue").unwrap();
        assert_eq!(line.error_action, Some(ErrorAction::Continue));
        assert_eq!(line.parameters.len(), 2);
        let line = parse("Set-Mailbox x -EA:silentlycontinue").unwrap();
        assert_eq!(line.error_action, Some(ErrorAction::SilentlyContinue));
        assert_eq!(
            parse("Set-Mailbox x -ea 0").unwrap().error_action,
            Some(ErrorAction::SilentlyContinue)
        );
        assert_eq!(ErrorAction::from_value("1"), Ok(ErrorAction::Stop));
        assert!(ErrorAction::from_value("Inquire")
            .unwrap_err()
            .contains("not supported"));
    }

    #[test]
    fn continuation_lines() {
        for text in [
            "Get-Mailbox |",
            "Get-Mailbox | Where-Object {",
            "Set-Mailbox dana -Office \"Floor",
            "Set-Mailbox dana `",
            "Set-Mailbox dana -Office 'it''s",
            "foreach ($m in (Get-Mailbox)",
        ] {
            assert!(incomplete(text), "{text}");
        }
        for text in [
            "Get-Mailbox",
            "Get-Mailbox | Where-Object { $_.Name -eq '{' }",
            "Set-Mailbox dana -Office \"a`\"b\"",
            "Set-Mailbox dana -Office 'it''s'",
            "Set-Mailbox dana -Office '|'",
        ] {
            assert!(!incomplete(text), "{text}");
        }
        let joined = join_lines("Get-Mailbox `\n -Identity dana |\n Format-List");
        assert_eq!(joined, "Get-Mailbox    -Identity dana |  Format-List");
    }

    proptest! {
        #[test]
        fn never_panics(line in "\\PC{0,80}") {
            let _ = parse(&line);
            let _ = incomplete(&line);
        }

        #[test]
        fn joining_lines_keeps_columns(text in "[a-z `|\n]{0,40}") {
            prop_assert_eq!(join_lines(&text).chars().count(), text.chars().count());
        }

        #[test]
        fn quoted_values_round_trip(value in "[^\"`$\\p{Cc}]{0,30}") {
            let line = format!("Set-Mailbox -Office \"{value}\"");
            let parsed = parse(&line).unwrap();
            prop_assert_eq!(&parsed.parameters[0].1, &Value::Text(value));
        }
    }
}
