//! The Exchange Management Shell's command syntax, for one cmdlet line:
//! `Cmdlet -Param value -List "a","b" -Flag -Bool:$false "positional"`.
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
    pub parameters: Vec<(String, Value)>,
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
enum Token {
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
}

fn err(column: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        column,
        message: message.into(),
    }
}

fn lex(line: &str) -> Result<Vec<(usize, Token)>, ParseError> {
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
            if j < chars.len() && !chars[j].is_whitespace() && chars[j] != ',' {
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

/// Parses one command line.
pub fn parse(line: &str) -> Result<CommandLine, ParseError> {
    if line.len() > MAX_LINE {
        return Err(err(
            MAX_LINE,
            format!("the line is longer than {MAX_LINE} bytes"),
        ));
    }
    let tokens = lex(line)?;
    let mut tokens = tokens.into_iter().peekable();
    let cmdlet = match tokens.next() {
        Some((
            _,
            Token::Word {
                text,
                quoted: false,
            },
        )) if text.contains('-') && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
            text
        }
        Some((column, _)) => {
            return Err(err(column, "expected a cmdlet name such as `Get-Mailbox`"))
        }
        None => return Err(err(1, "the line is empty")),
    };
    let mut parameters = Vec::new();
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
                parameters.push((name, v));
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
                parameters.push((name, value));
            }
            Token::Word { text, quoted } => {
                let first = scalar(text, quoted);
                let v = list_rest(first, &mut tokens)?;
                parameters.push((String::new(), v));
            }
            Token::Comma => return Err(err(column, "unexpected comma")),
        }
    }
    Ok(CommandLine { cmdlet, parameters })
}

type Tokens = std::iter::Peekable<std::vec::IntoIter<(usize, Token)>>;

fn value(tokens: &mut Tokens) -> Result<Value, ParseError> {
    match tokens.next() {
        Some((_, Token::Word { text, quoted })) => list_rest(scalar(text, quoted), tokens),
        Some((column, _)) => Err(err(column, "expected a value")),
        None => Err(err(1, "expected a value")),
    }
}

fn list_rest(first: Value, tokens: &mut Tokens) -> Result<Value, ParseError> {
    if !matches!(tokens.peek(), Some((_, Token::Comma))) {
        return Ok(first);
    }
    let Value::Text(first) = first else {
        return Err(err(1, "$true and $false can't be list items"));
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
        for (line, column, text) in cases {
            let e = parse(line).unwrap_err();
            assert_eq!(e.column, column, "{line}: {e}");
            assert!(e.message.contains(text), "{line}: {e}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(line in "\\PC{0,80}") {
            let _ = parse(&line);
        }

        #[test]
        fn quoted_values_round_trip(value in "[^\"`\\p{Cc}]{0,30}") {
            let line = format!("Set-Mailbox -Office \"{value}\"");
            let parsed = parse(&line).unwrap();
            prop_assert_eq!(&parsed.parameters[0].1, &Value::Text(value));
        }
    }
}
