//! The Exchange Management Shell's command syntax: cmdlet lines
//! (`Cmdlet -Param value -List "a","b" -Flag -Bool:$false "positional"`),
//! pipelines of them with `Where-Object`, `Select-Object`, `Format-Table` and
//! `Format-List`, the `-ErrorAction` common parameter, and
//! `$ErrorActionPreference = 'Continue'`.
//!
//! Errors carry the column (1-based) of the offending character.

use std::fmt;

/// A parameter value as the shell binds it.
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

/// One parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// The cmdlet name as typed.
    pub cmdlet: String,
    /// Parameters in order; positional values have an empty name.
    /// `-ErrorAction` is not among them: the shell handles it.
    pub parameters: Vec<(String, Value)>,
    /// Column of the cmdlet name.
    pub column: usize,
    /// Column of each parameter's token, in the order of `parameters`.
    pub columns: Vec<usize>,
    /// `-ErrorAction`, when given.
    pub error_action: Option<ErrorAction>,
}

impl CommandLine {
    /// The column of the parameter named `name` (case-insensitive), if given.
    pub fn column_of(&self, name: &str) -> Option<usize> {
        self.parameters
            .iter()
            .zip(&self.columns)
            .find(|((n, _), _)| n.eq_ignore_ascii_case(name))
            .map(|(_, c)| *c)
    }

    /// Whether a positional value or `-Identity` was given.
    pub fn has_identity(&self) -> bool {
        self.parameters
            .iter()
            .any(|(n, _)| n.is_empty() || n.eq_ignore_ascii_case("Identity"))
    }
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
    /// Parses a value (case-insensitive).
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

    /// Whether a script goes on after a line failed.
    pub fn goes_on(self) -> bool {
        self != Self::Stop
    }

    /// Whether the error is shown.
    pub fn reports(self) -> bool {
        matches!(self, Self::Stop | Self::Continue)
    }
}

const ERROR_ACTIONS: &str = "Stop, Continue, SilentlyContinue or Ignore";

/// Which properties `Select-Object`, `Format-Table` or `Format-List` keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    /// Property names or wildcards; empty keeps every property.
    pub properties: Vec<String>,
    /// `Select-Object -First n`.
    pub first: Option<usize>,
}

/// One element of a pipeline.
#[derive(Debug, Clone)]
pub enum Stage {
    /// A cmdlet the resource forest runs.
    Command(CommandLine),
    /// `Where-Object`: keeps the records the condition holds for.
    Where(crate::where_object::Condition),
    /// `Select-Object`: keeps some properties (and records).
    Select(Projection),
    /// `Format-Table` (`list == false`) or `Format-List`.
    Format {
        /// Whether the output is a list.
        list: bool,
        /// The properties shown.
        projection: Projection,
    },
}

/// A pipeline: the first stage is a cmdlet; each later one takes its records.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The stages with the column each starts at.
    pub stages: Vec<(usize, Stage)>,
}

/// A cmdlet the shell runs itself, on the records piped to it.
#[derive(Debug, Clone, Copy)]
pub struct ShellCmdlet {
    /// Name.
    pub name: &'static str,
    /// Aliases, as PowerShell's.
    pub aliases: &'static [&'static str],
    /// Parameters.
    pub parameters: &'static [&'static str],
    /// What it does.
    pub synopsis: &'static str,
    /// How it is called.
    pub syntax: &'static str,
}

/// `Where-Object`, `Select-Object`, `Format-Table`, `Format-List`.
pub const SHELL_CMDLETS: &[ShellCmdlet] = &[
    ShellCmdlet {
        name: "Where-Object",
        aliases: &["where", "?"],
        parameters: &[],
        synopsis: "Keeps the piped objects a condition holds for.",
        syntax: "Where-Object { $_.<Property> -eq <value> [-and|-or ...] } | Where-Object <Property> <-eq|-ne|-gt|-lt|-ge|-le|-like|-notlike|-match|-notmatch> <value>",
    },
    ShellCmdlet {
        name: "Select-Object",
        aliases: &["select"],
        parameters: &["Property", "First"],
        synopsis: "Keeps some properties of the piped objects, or the first objects.",
        syntax: "Select-Object [[-Property] <String[]>] [-First <Int32>]",
    },
    ShellCmdlet {
        name: "Format-Table",
        aliases: &["ft"],
        parameters: &["Property"],
        synopsis: "Shows the piped objects as one table.",
        syntax: "Format-Table [[-Property] <String[]>]",
    },
    ShellCmdlet {
        name: "Format-List",
        aliases: &["fl"],
        parameters: &["Property"],
        synopsis: "Shows each piped object as a list of properties.",
        syntax: "Format-List [[-Property] <String[]>]",
    },
];

/// The shell cmdlet `name` or one of its aliases names (case-insensitive).
pub fn shell_cmdlet(name: &str) -> Option<&'static ShellCmdlet> {
    SHELL_CMDLETS.iter().find(|c| {
        c.name.eq_ignore_ascii_case(name) || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

/// One line of a script.
#[derive(Debug, Clone)]
pub enum Statement {
    /// A pipeline (one cmdlet is a pipeline of one).
    Pipeline(Pipeline),
    /// `$ErrorActionPreference = '…'`.
    Preference(ErrorAction),
}

/// A syntax error, with the column it was found at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    /// The line with a caret under the column, for terminals.
    pub fn pointer(&self, line: &str) -> String {
        format!(
            "{line}\n{}^ {}",
            " ".repeat(self.column.saturating_sub(1)),
            self.message
        )
    }
}

/// Longest line accepted.
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// A bare or quoted word; `quoted` words are never `$true` or parameter names.
    Word {
        text: String,
        quoted: bool,
    },
    /// `-Name`, with an attached `:value` if any.
    Param {
        name: String,
        attached: Option<String>,
    },
    Comma,
    /// `|`.
    Pipe,
}

pub(crate) fn err(column: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        column,
        message: message.into(),
    }
}

pub(crate) fn lex(line: &str) -> Result<Vec<(usize, Token)>, ParseError> {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == ',' {
            out.push((column, Token::Comma));
            i += 1;
        } else if c == '|' {
            out.push((column, Token::Pipe));
            i += 1;
        } else if c == '"' || c == '\'' {
            let (text, next) = quoted(&chars, i)?;
            out.push((column, Token::Word { text, quoted: true }));
            i = next;
        } else if c == '{' {
            let (text, next) = script_block(&chars, i)?;
            out.push((column, Token::Word { text, quoted: true }));
            i = next;
        } else if c == '-'
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic())
            && !out.is_empty()
        {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            let name: String = chars[start..j].iter().collect();
            let attached = if chars.get(j) == Some(&':') {
                j += 1;
                let (value, next) = if matches!(chars.get(j), Some('"' | '\'')) {
                    quoted(&chars, j)?
                } else {
                    bare(&chars, j)
                };
                if value.is_empty() {
                    return Err(err(
                        j + 1,
                        format!("`-{name}:` needs a value after the colon"),
                    ));
                }
                j = next;
                Some(value)
            } else {
                None
            };
            if j < chars.len() && !chars[j].is_whitespace() && chars[j] != ',' && chars[j] != '|' {
                return Err(err(
                    j + 1,
                    format!("unexpected `{}` in parameter name `-{name}`", chars[j]),
                ));
            }
            out.push((column, Token::Param { name, attached }));
            i = j;
        } else {
            let (text, next) = bare(&chars, i);
            out.push((
                column,
                Token::Word {
                    text,
                    quoted: false,
                },
            ));
            i = next;
        }
    }
    Ok(out)
}

/// A script block `{ … }` starting at `start`, as admins write OPATH filters
/// (`-RecipientRestrictionFilter {City -eq "Seattle"}`): its inner text,
/// verbatim. Quotes inside are respected; braces nest.
fn script_block(chars: &[char], start: usize) -> Result<(String, usize), ParseError> {
    let mut depth = 0usize;
    let mut j = start;
    let mut quote: Option<char> = None;
    while let Some(&c) = chars.get(j) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{') => depth += 1,
            (None, '}') => {
                depth -= 1;
                if depth == 0 {
                    let text: String = chars[start + 1..j].iter().collect();
                    return Ok((text.trim().to_owned(), j + 1));
                }
            }
            _ => {}
        }
        j += 1;
    }
    Err(err(
        start + 1,
        "the script block starting here has no closing }",
    ))
}

fn bare(chars: &[char], start: usize) -> (String, usize) {
    let mut j = start;
    while j < chars.len()
        && !chars[j].is_whitespace()
        && chars[j] != ','
        && chars[j] != '|'
        && chars[j] != '"'
        && chars[j] != '\''
    {
        j += 1;
    }
    (chars[start..j].iter().collect(), j)
}

/// A quoted string starting at `start`; a doubled quote is a literal quote, and in
/// double quotes a backtick escapes the next character, as in PowerShell.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), ParseError> {
    let quote = chars[start];
    let mut text = String::new();
    let mut j = start + 1;
    loop {
        match chars.get(j) {
            None => {
                return Err(err(
                    start + 1,
                    format!("the string starting here has no closing {quote}"),
                ))
            }
            Some('`') if quote == '"' => {
                match chars.get(j + 1) {
                    Some(n) => text.push(*n),
                    None => {
                        return Err(err(
                            j + 1,
                            "a backtick at the end of the line escapes nothing",
                        ))
                    }
                }
                j += 2;
            }
            Some(c) if *c == quote => {
                if chars.get(j + 1) == Some(&quote) {
                    text.push(quote);
                    j += 2;
                } else {
                    return Ok((text, j + 1));
                }
            }
            Some(c) => {
                text.push(*c);
                j += 1;
            }
        }
    }
}

fn scalar(text: String, quoted: bool) -> Value {
    if !quoted {
        if text.eq_ignore_ascii_case("$true") {
            return Value::Bool(true);
        }
        if text.eq_ignore_ascii_case("$false") {
            return Value::Bool(false);
        }
    }
    Value::Text(text)
}

fn check_length(line: &str) -> Result<(), ParseError> {
    if line.len() > MAX_LINE {
        return Err(err(
            MAX_LINE,
            format!("the line is longer than {MAX_LINE} bytes"),
        ));
    }
    Ok(())
}

/// Parses one command line: a single cmdlet, no pipeline.
pub fn parse(line: &str) -> Result<CommandLine, ParseError> {
    let pipeline = parse_pipeline(line)?;
    let mut stages = pipeline.stages.into_iter();
    match (stages.next(), stages.next()) {
        (Some((_, Stage::Command(command))), None) => Ok(command),
        (_, Some((column, _))) => Err(err(
            column,
            "one cmdlet is expected here; pipelines run in the shell",
        )),
        (Some((column, _)), None) => {
            Err(err(column, "expected a cmdlet name such as `Get-Mailbox`"))
        }
        (None, None) => Err(err(1, "the line is empty")),
    }
}

/// Parses a statement: `$ErrorActionPreference = '…'` or a pipeline.
pub fn parse_statement(line: &str) -> Result<Statement, ParseError> {
    check_length(line)?;
    let start = line.len() - line.trim_start().len();
    let trimmed = line.trim();
    if !trimmed.starts_with('$') {
        return parse_pipeline(line).map(Statement::Pipeline);
    }
    let column = line[..start].chars().count() + 1;
    let name = "$ErrorActionPreference";
    let rest = trimmed
        .get(..name.len())
        .filter(|p| p.eq_ignore_ascii_case(name))
        .map(|_| trimmed[name.len()..].trim_start());
    let Some(rest) = rest else {
        return Err(err(
            column,
            "the only variable the shell sets is $ErrorActionPreference",
        ));
    };
    let Some(value) = rest.strip_prefix('=') else {
        return Err(err(
            column + name.len(),
            "expected `=` after $ErrorActionPreference",
        ));
    };
    let value = value.trim();
    let unquoted = ['\'', '"']
        .iter()
        .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
        .unwrap_or(value);
    ErrorAction::from_name(unquoted)
        .map(Statement::Preference)
        .ok_or_else(|| {
            err(
                line.chars().count() - value.chars().count() + 1,
                format!("$ErrorActionPreference is {ERROR_ACTIONS}; got `{value}`"),
            )
        })
}

/// Parses a pipeline: `Get-Mailbox -OrganizationalUnit Sales | Set-Mailbox
/// -CustomAttribute1 X`, `Get-Mailbox | Where-Object { $_.Office -like 'B*' }
/// | Format-List`.
pub fn parse_pipeline(line: &str) -> Result<Pipeline, ParseError> {
    check_length(line)?;
    let tokens = lex(line)?;
    if tokens.is_empty() {
        return Err(err(1, "the line is empty"));
    }
    let mut segments: Vec<(usize, Vec<(usize, Token)>)> = vec![(1, Vec::new())];
    for (column, token) in tokens {
        if token == Token::Pipe {
            if segments.last().is_some_and(|(_, s)| s.is_empty()) {
                return Err(err(column, "an empty pipe element is not allowed"));
            }
            segments.push((column, Vec::new()));
        } else if let Some((_, segment)) = segments.last_mut() {
            segment.push((column, token));
        }
    }
    if let Some((column, segment)) = segments.last() {
        if segment.is_empty() {
            return Err(err(*column, "an empty pipe element is not allowed"));
        }
    }
    let mut stages = Vec::new();
    for (index, (_, segment)) in segments.into_iter().enumerate() {
        let mut tokens = segment.into_iter();
        let (column, name) = match tokens.next() {
            Some((
                column,
                Token::Word {
                    text,
                    quoted: false,
                },
            )) => (column, text),
            Some((column, _)) => {
                return Err(err(column, "expected a cmdlet name such as `Get-Mailbox`"))
            }
            None => return Err(err(1, "the line is empty")),
        };
        let rest: Vec<(usize, Token)> = tokens.collect();
        let shell = shell_cmdlet(&name).map(|c| c.name);
        if index == 0 && shell.is_some() {
            return Err(err(
                column,
                format!(
                    "`{name}` needs input: put a cmdlet before it, as in `Get-Mailbox | {name} …`"
                ),
            ));
        }
        let stage = match shell {
            Some("Where-Object") => {
                Stage::Where(crate::where_object::parse(&name, column, &rest, line)?)
            }
            Some("Select-Object") => Stage::Select(projection(&name, rest, true)?),
            Some(format) => Stage::Format {
                list: format == "Format-List",
                projection: projection(&name, rest, false)?,
            },
            None => Stage::Command(command(name, column, rest)?),
        };
        stages.push((column, stage));
    }
    Ok(Pipeline { stages })
}

fn is_cmdlet_name(text: &str) -> bool {
    text.contains('-')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !text.starts_with('-')
}

/// Parameters and their columns, of any segment.
fn parameters(tokens: Vec<(usize, Token)>) -> Result<Vec<(usize, String, Value)>, ParseError> {
    let mut tokens = tokens.into_iter().peekable();
    let mut out = Vec::new();
    while let Some((column, token)) = tokens.next() {
        match token {
            Token::Param {
                name,
                attached: Some(value),
            } => {
                let v = if value.starts_with('$') {
                    scalar(value, false)
                } else {
                    Value::Text(value)
                };
                out.push((column, name, v));
            }
            Token::Param {
                name,
                attached: None,
            } => {
                let value = match tokens.peek() {
                    None | Some((_, Token::Param { .. })) => Value::Switch,
                    Some((c, Token::Comma)) => {
                        return Err(err(*c, format!("`-{name}` needs a value before the comma")))
                    }
                    Some(_) => value(&mut tokens)?,
                };
                out.push((column, name, value));
            }
            Token::Word { text, quoted } => {
                let first = scalar(text, quoted);
                let v = list_rest(column, first, &mut tokens)?;
                out.push((column, String::new(), v));
            }
            Token::Comma => return Err(err(column, "unexpected comma")),
            Token::Pipe => return Err(err(column, "unexpected `|`")),
        }
    }
    Ok(out)
}

fn command(
    cmdlet: String,
    column: usize,
    rest: Vec<(usize, Token)>,
) -> Result<CommandLine, ParseError> {
    if !is_cmdlet_name(&cmdlet) {
        return Err(err(column, "expected a cmdlet name such as `Get-Mailbox`"));
    }
    let mut line = CommandLine {
        cmdlet,
        parameters: Vec::new(),
        column,
        columns: Vec::new(),
        error_action: None,
    };
    for (c, name, value) in parameters(rest)? {
        if name.eq_ignore_ascii_case("ErrorAction") || name.eq_ignore_ascii_case("EA") {
            let action = match &value {
                Value::Text(t) => ErrorAction::from_name(t),
                _ => None,
            };
            let Some(action) = action else {
                return Err(err(c, format!("`-{name}` takes {ERROR_ACTIONS}")));
            };
            if line.error_action.replace(action).is_some() {
                return Err(err(c, format!("`-{name}` was given more than once")));
            }
        } else {
            line.columns.push(c);
            line.parameters.push((name, value));
        }
    }
    Ok(line)
}

/// `-Property a,b` (or positional `a,b`), and for `Select-Object`, `-First n`.
fn projection(
    cmdlet: &str,
    rest: Vec<(usize, Token)>,
    select: bool,
) -> Result<Projection, ParseError> {
    let mut projection = Projection {
        properties: Vec::new(),
        first: None,
    };
    for (c, name, value) in parameters(rest)? {
        if name.is_empty() || name.eq_ignore_ascii_case("Property") {
            if !projection.properties.is_empty() {
                return Err(err(c, "the properties were given more than once"));
            }
            projection.properties = match value {
                Value::Text(t) => vec![t],
                Value::List(l) => l,
                _ => return Err(err(c, "`-Property` needs property names")),
            };
        } else if select && name.eq_ignore_ascii_case("First") {
            projection.first = match value {
                Value::Text(t) => t.parse().ok(),
                _ => None,
            };
            if projection.first.is_none() {
                return Err(err(c, "`-First` needs a number"));
            }
        } else {
            let valid = if select {
                "-Property and -First"
            } else {
                "-Property"
            };
            return Err(err(c, format!("`{cmdlet}` takes {valid}; got `-{name}`")));
        }
    }
    Ok(projection)
}

/// Whether `text` needs another line: an unclosed quote or script block, or a
/// trailing backtick or `|` (the REPL then prompts `>> `; scripts read on).
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
            (None, '{') => depth += 1,
            (None, '}') => depth -= 1,
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

type Tokens = std::iter::Peekable<std::vec::IntoIter<(usize, Token)>>;

fn value(tokens: &mut Tokens) -> Result<Value, ParseError> {
    match tokens.next() {
        Some((column, Token::Word { text, quoted })) => {
            list_rest(column, scalar(text, quoted), tokens)
        }
        Some((column, _)) => Err(err(column, "expected a value")),
        None => Err(err(1, "expected a value")),
    }
}

fn list_rest(column: usize, first: Value, tokens: &mut Tokens) -> Result<Value, ParseError> {
    if !matches!(tokens.peek(), Some((_, Token::Comma))) {
        return Ok(first);
    }
    let Value::Text(first) = first else {
        return Err(err(column, "$true and $false can't be list items"));
    };
    let mut items = vec![first];
    while let Some((column, Token::Comma)) = tokens.peek().cloned() {
        tokens.next();
        match tokens.next() {
            Some((_, Token::Word { text, .. })) => items.push(text),
            Some((c, _)) => return Err(err(c, "expected a list item after the comma")),
            None => return Err(err(column, "the list ends with a comma")),
        }
    }
    Ok(Value::List(items))
}

/// Asserts that each `(line, column, text)` fails at `column` with a
/// message containing `text`.
#[cfg(test)]
pub(crate) fn expect_errors<T: fmt::Debug>(
    parse: impl Fn(&str) -> Result<T, ParseError>,
    cases: &[(&str, usize, &str)],
) {
    for (line, column, text) in cases {
        let e = parse(line).expect_err(line);
        assert_eq!(e.column, *column, "{line}: {e}");
        assert!(e.message.contains(text), "{line}: {e}");
    }
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
    fn negative_looking_values_after_the_cmdlet_are_parameters_only_when_alphabetic() {
        let parsed = parse("Get-Mailbox -ResultSize 5 -Anr -x1").unwrap();
        assert_eq!(parsed.parameters[0], ("ResultSize".into(), t("5")));
        assert_eq!(parsed.parameters[1], ("Anr".into(), Value::Switch));
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
        ];
        expect_errors(parse, &cases);
    }

    #[test]
    fn pipelines_split_into_stages_with_columns() {
        let line = "Get-Mailbox -OrganizationalUnit Sales | Set-Mailbox -CustomAttribute1 Y";
        let pipeline = parse_pipeline(line).unwrap();
        assert_eq!(pipeline.stages.len(), 2);
        assert_eq!(pipeline.stages[1].0, 41);
        let Stage::Command(set) = &pipeline.stages[1].1 else {
            panic!("{pipeline:?}")
        };
        assert_eq!(set.cmdlet, "Set-Mailbox");
        assert_eq!(set.column, 41);
        assert_eq!(set.column_of("customattribute1"), Some(53));
        assert!(!set.has_identity());
        let fl = parse_pipeline("Get-RoleGroup|Get-RoleGroupMember|fl Name,Sid").unwrap();
        let Stage::Format { list, projection } = &fl.stages[2].1 else {
            panic!("{fl:?}")
        };
        assert!(*list);
        assert_eq!(projection.properties, ["Name", "Sid"]);
        let select = parse_pipeline("Get-Mailbox | Select-Object -Property Name -First 2").unwrap();
        let Stage::Select(p) = &select.stages[1].1 else {
            panic!("{select:?}")
        };
        assert_eq!(
            (p.properties.clone(), p.first),
            (vec!["Name".to_owned()], Some(2))
        );
        // One cmdlet through `parse`; a pipeline there is refused.
        let e = parse("Get-Mailbox | Format-List").unwrap_err();
        assert_eq!(e.column, 15);
    }

    #[test]
    fn error_action_is_taken_by_the_shell() {
        let line = parse("Set-Mailbox x -Office y -ErrorAction Continue").unwrap();
        assert_eq!(line.error_action, Some(ErrorAction::Continue));
        assert_eq!(line.parameters.len(), 2);
        assert_eq!(line.columns, vec![13, 15]);
        let line = parse("Set-Mailbox x -EA:silentlycontinue").unwrap();
        assert_eq!(line.error_action, Some(ErrorAction::SilentlyContinue));
        let e = parse("Set-Mailbox x -ErrorAction Maybe").unwrap_err();
        assert_eq!(e.column, 15);
        assert!(e.message.contains("Stop, Continue"), "{e}");
    }

    #[test]
    fn pipeline_errors_name_the_column() {
        let cases = [
            ("Get-Mailbox |", 13, "empty pipe element"),
            ("| Get-Mailbox", 1, "empty pipe element"),
            ("Get-Mailbox || Format-List", 14, "empty pipe element"),
            ("Where-Object Name -eq a", 1, "needs input"),
            (
                "Get-Mailbox | Select-Object -Bogus",
                29,
                "takes -Property and -First",
            ),
            ("Get-Mailbox | Format-List -First 2", 27, "takes -Property"),
            ("Get-Mailbox | 'Set-Mailbox'", 15, "cmdlet name"),
            ("Get-Mailbox | Select-Object -First x", 29, "needs a number"),
        ];
        expect_errors(parse_pipeline, &cases);
    }

    #[test]
    fn error_action_preference_is_a_statement() {
        for line in [
            "$ErrorActionPreference = 'Continue'",
            "  $erroractionpreference=\"continue\"",
            "$ErrorActionPreference = Continue",
        ] {
            assert!(
                matches!(
                    parse_statement(line),
                    Ok(Statement::Preference(ErrorAction::Continue))
                ),
                "{line}"
            );
        }
        let e = parse_statement("$x = 1").unwrap_err();
        assert_eq!(e.column, 1);
        let e = parse_statement("$ErrorActionPreference = 'Maybe'").unwrap_err();
        assert_eq!(e.column, 26);
        let e = parse_statement("$ErrorActionPreference Stop").unwrap_err();
        assert!(e.message.contains("expected `=`"), "{e}");
    }

    #[test]
    fn continuation_lines() {
        for text in [
            "Get-Mailbox |",
            "Get-Mailbox | Where-Object {",
            "Set-Mailbox dana -Office \"Floor",
            "Set-Mailbox dana `",
            "Set-Mailbox dana -Office 'it''s",
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
        assert!(parse_pipeline(&joined).is_ok());
    }

    proptest! {
        #[test]
        fn never_panics(line in "\\PC{0,80}") {
            let _ = parse(&line);
            let _ = parse_statement(&line);
            let _ = incomplete(&line);
        }

        #[test]
        fn pipelines_never_panic(segments in proptest::collection::vec("[-a-zA-Z$_.'\"{}, ?*|]{0,20}", 1..5)) {
            let line = segments.join(" | ");
            let _ = parse_pipeline(&line);
            let _ = parse_statement(&line);
        }

        #[test]
        fn joining_lines_keeps_columns(text in "[a-z `|\n]{0,40}") {
            prop_assert_eq!(join_lines(&text).chars().count(), text.chars().count());
        }

        #[test]
        fn quoted_values_round_trip(value in "[^\"`\\p{Cc}]{0,30}") {
            let line = format!("Set-Mailbox -Office \"{value}\"");
            let parsed = parse(&line).unwrap();
            prop_assert_eq!(&parsed.parameters[0].1, &Value::Text(value));
        }
    }
}
