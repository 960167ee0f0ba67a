//! `Where-Object`, evaluated by the shell on the records a cmdlet returned:
//! `Where-Object { $_.Office -eq 'Floor 2' -and $_.Name -like 'd*' }` and the
//! simplified `Where-Object Office -eq 'Floor 2'`. Comparisons are
//! case-insensitive as in PowerShell; numbers compare as numbers; `-and` and
//! `-or` have equal precedence and apply left to right.

use std::cmp::Ordering;

use crossforest_shared::proto::management::v1 as pb;
use regex::{Regex, RegexBuilder};

use crate::parse::{err, lex, ParseError, Token};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `-eq`.
    Eq,
    /// `-ne`.
    Ne,
    /// `-gt`.
    Gt,
    /// `-lt`.
    Lt,
    /// `-ge`.
    Ge,
    /// `-le`.
    Le,
    /// `-like` (wildcards `*` and `?`).
    Like,
    /// `-notlike`.
    NotLike,
    /// `-match` (a regular expression).
    Match,
    /// `-notmatch`.
    NotMatch,
}

const OPERATORS: &[(&str, Operator)] = &[
    ("eq", Operator::Eq),
    ("ne", Operator::Ne),
    ("gt", Operator::Gt),
    ("lt", Operator::Lt),
    ("ge", Operator::Ge),
    ("le", Operator::Le),
    ("like", Operator::Like),
    ("notlike", Operator::NotLike),
    ("match", Operator::Match),
    ("notmatch", Operator::NotMatch),
];

/// `Property -op value`.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The property (case-insensitive).
    pub property: String,
    /// The operator.
    pub operator: Operator,
    /// The value compared with.
    pub value: String,
    /// For `-like` and `-match`: the compiled pattern.
    pattern: Option<Regex>,
}

/// How two comparisons combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// `-and`.
    And,
    /// `-or`.
    Or,
}

/// A `Where-Object` condition.
#[derive(Debug, Clone)]
pub struct Condition {
    first: Comparison,
    rest: Vec<(Join, Comparison)>,
}

impl Condition {
    /// Whether the condition holds for `record`.
    pub fn holds(&self, record: &pb::Record) -> bool {
        self.rest
            .iter()
            .fold(self.first.holds(record), |acc, (join, c)| match join {
                Join::And => acc && c.holds(record),
                Join::Or => acc || c.holds(record),
            })
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

fn order(actual: &str, expected: &str) -> Ordering {
    match (number(actual), number(expected)) {
        (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        _ => actual.to_lowercase().cmp(&expected.to_lowercase()),
    }
}

impl Comparison {
    fn holds(&self, record: &pb::Record) -> bool {
        let actual = record
            .properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(&self.property))
            .map_or("", |p| p.value.as_str());
        let matches = || self.pattern.as_ref().is_some_and(|p| p.is_match(actual));
        match self.operator {
            Operator::Eq => order(actual, &self.value) == Ordering::Equal,
            Operator::Ne => order(actual, &self.value) != Ordering::Equal,
            Operator::Gt => order(actual, &self.value) == Ordering::Greater,
            Operator::Lt => order(actual, &self.value) == Ordering::Less,
            Operator::Ge => order(actual, &self.value) != Ordering::Less,
            Operator::Le => order(actual, &self.value) != Ordering::Greater,
            Operator::Like | Operator::Match => matches(),
            Operator::NotLike | Operator::NotMatch => !matches(),
        }
    }
}

/// A PowerShell wildcard as an anchored regular expression.
fn wildcard_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    for c in pattern.chars() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

fn compile(operator: Operator, value: &str, column: usize) -> Result<Option<Regex>, ParseError> {
    let source = match operator {
        Operator::Like | Operator::NotLike => wildcard_regex(value),
        Operator::Match | Operator::NotMatch => value.to_owned(),
        _ => return Ok(None),
    };
    RegexBuilder::new(&source)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map(Some)
        .map_err(|e| err(column, format!("`{value}` is not a valid pattern: {e}")))
}

/// A value token as PowerShell reads it: `$true`, `$false`, `$null`, text.
fn literal(text: String, quoted: bool, column: usize) -> Result<String, ParseError> {
    if quoted || !text.starts_with('$') {
        return Ok(text);
    }
    match text.to_ascii_lowercase().as_str() {
        "$true" => Ok("True".to_owned()),
        "$false" => Ok("False".to_owned()),
        "$null" => Ok(String::new()),
        _ => Err(err(
            column,
            format!("`{text}`: the only variables here are $_, $true, $false and $null"),
        )),
    }
}

fn operator(name: &str, column: usize) -> Result<Operator, ParseError> {
    let lower = name.to_ascii_lowercase();
    let lower = lower
        .strip_prefix('i')
        .filter(|l| OPERATORS.iter().any(|(n, _)| n == l))
        .unwrap_or(&lower);
    OPERATORS
        .iter()
        .find(|(n, _)| *n == lower)
        .map(|(_, o)| *o)
        .ok_or_else(|| {
            err(
                column,
                format!(
                    "`-{name}` is not a comparison here; use -eq -ne -gt -lt -ge -le -like -notlike -match -notmatch"
                ),
            )
        })
}

/// Reads `property -op value` from `tokens`; `in_block` requires `$_.`.
fn comparison(
    tokens: &mut std::slice::Iter<'_, (usize, Token)>,
    in_block: bool,
    end: usize,
) -> Result<Comparison, ParseError> {
    let property = match tokens.next() {
        Some((
            column,
            Token::Word {
                text,
                quoted: false,
            },
        )) => {
            let property = if in_block {
                ["$_.", "$psitem."].iter().find_map(|prefix| {
                    text.get(..prefix.len())
                        .filter(|p| p.eq_ignore_ascii_case(prefix))
                        .map(|_| &text[prefix.len()..])
                })
            } else {
                Some(text.as_str()).filter(|t| !t.starts_with('$'))
            };
            match property {
                Some(p) if !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                    p.to_owned()
                }
                _ if in_block => {
                    return Err(err(
                        *column,
                        format!("expected `$_.Property`; got `{text}`"),
                    ))
                }
                _ => {
                    return Err(err(
                        *column,
                        format!("expected a property name; got `{text}`"),
                    ))
                }
            }
        }
        Some((column, _)) => {
            return Err(err(
                *column,
                if in_block {
                    "expected `$_.Property`"
                } else {
                    "expected a property name"
                },
            ))
        }
        None => return Err(err(end, "expected a comparison")),
    };
    let (op_column, op) = match tokens.next() {
        Some((
            column,
            Token::Param {
                name,
                attached: None,
            },
        )) => (*column, operator(name, *column)?),
        Some((column, _)) => return Err(err(*column, "expected an operator such as -eq")),
        None => {
            return Err(err(
                end,
                format!("`{property}` needs an operator such as -eq"),
            ))
        }
    };
    let (value_column, value) = match tokens.next() {
        Some((column, Token::Word { text, quoted })) => {
            (*column, literal(text.clone(), *quoted, *column)?)
        }
        Some((column, _)) => return Err(err(*column, "expected a value to compare with")),
        None => return Err(err(op_column, "the operator needs a value to compare with")),
    };
    let pattern = compile(op, &value, value_column)?;
    Ok(Comparison {
        property,
        operator: op,
        value,
        pattern,
    })
}

/// Reads a condition from `tokens` (columns already those of the line);
/// `end` is where a missing piece is reported.
fn condition(
    tokens: &[(usize, Token)],
    in_block: bool,
    end: usize,
) -> Result<Condition, ParseError> {
    let mut iter = tokens.iter();
    let first = comparison(&mut iter, in_block, end)?;
    let mut rest = Vec::new();
    while let Some((column, token)) = iter.next() {
        let join = match token {
            Token::Param { name, attached: None } if in_block && name.eq_ignore_ascii_case("and") => Join::And,
            Token::Param { name, attached: None } if in_block && name.eq_ignore_ascii_case("or") => Join::Or,
            _ if in_block => return Err(err(*column, "expected -and, -or or the end of the script block")),
            _ => {
                return Err(err(
                    *column,
                    "one comparison only; for more use a script block: `Where-Object { $_.A -eq 1 -and $_.B -eq 2 }`",
                ))
            }
        };
        rest.push((join, comparison(&mut iter, in_block, end)?));
    }
    Ok(Condition { first, rest })
}

/// Parses the arguments of `Where-Object` (`name` at `column` in `line`).
pub(crate) fn parse(
    name: &str,
    column: usize,
    rest: &[(usize, Token)],
    line: &str,
) -> Result<Condition, ParseError> {
    let chars: Vec<char> = line.chars().collect();
    let end = rest
        .last()
        .map_or(column + name.chars().count(), |(c, _)| *c);
    match rest {
        [] => Err(err(
            column,
            format!("`{name}` needs a condition, as in `{name} {{ $_.Office -eq 'Floor 2' }}` or `{name} Office -eq 'Floor 2'`"),
        )),
        [(block, Token::Word { text, quoted: true })] if chars.get(block - 1) == Some(&'{') => {
            // The block's text was trimmed: find where it starts in the line.
            let offset = chars[*block..]
                .iter()
                .take_while(|c| c.is_whitespace())
                .count()
                + block;
            let tokens: Vec<(usize, Token)> = lex(text)
                .map_err(|e| err(e.column + offset, e.message))?
                .into_iter()
                .map(|(c, t)| (c + offset, t))
                .collect();
            condition(&tokens, true, block + 1)
        }
        tokens => condition(tokens, false, end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::record;
    use crate::parse::{parse_pipeline, Stage};
    use proptest::prelude::*;

    fn condition_of(line: &str) -> Result<Condition, ParseError> {
        let pipeline = parse_pipeline(line)?;
        match pipeline.stages.into_iter().nth(1) {
            Some((_, Stage::Where(c))) => Ok(c),
            other => panic!("no Where-Object in {line}: {other:?}"),
        }
    }

    #[test]
    fn comparisons_are_case_insensitive_and_numeric_when_both_are_numbers() {
        let dana = record(&[("Name", "Dana"), ("Office", "Floor 2"), ("Quota", "10")]);
        let cases = [
            ("Where-Object Name -eq dana", true),
            ("Where-Object Name -ne 'DANA'", false),
            ("Where-Object { $_.Office -like 'floor*' }", true),
            ("Where-Object { $_.Office -notlike 'f?oor 2' }", false),
            ("Where-Object Office -match '^FLOOR \\d$'", true),
            ("Where-Object Office -notmatch 'floor'", false),
            ("Where-Object Quota -gt 9", true),
            ("Where-Object Quota -lt 9", false),
            ("Where-Object Quota -ge 10", true),
            ("Where-Object Quota -le 10.0", true),
            ("Where-Object Quota -eq 010", true),
            ("Where-Object Missing -eq $null", true),
            ("Where-Object { $PSItem.Name -ieq 'dana' }", true),
            ("? { $_.Name -eq 'x' -or $_.Quota -gt 5 }", true),
            ("where { $_.Name -eq 'dana' -and $_.Quota -gt 50 }", false),
            // Equal precedence, left to right, as PowerShell.
            (
                "Where-Object { $_.Name -eq 'dana' -or $_.Name -eq 'x' -and $_.Quota -eq 1 }",
                false,
            ),
        ];
        for (filter, expected) in cases {
            let c = condition_of(&format!("Get-Mailbox | {filter}")).unwrap();
            assert_eq!(c.holds(&dana), expected, "{filter}");
        }
    }

    #[test]
    fn errors_point_at_the_token() {
        let cases = [
            ("Get-Mailbox | Where-Object", 15, "needs a condition"),
            (
                "Get-Mailbox | Where-Object Name -xeq a",
                33,
                "not a comparison",
            ),
            ("Get-Mailbox | Where-Object Name -eq", 33, "needs a value"),
            (
                "Get-Mailbox | Where-Object {  Name -eq 'a' }",
                31,
                "$_.Property",
            ),
            (
                "Get-Mailbox | Where-Object { $_.Name -eq 'a' $_.x }",
                46,
                "-and, -or",
            ),
            (
                "Get-Mailbox | Where-Object Name -match '('",
                40,
                "not a valid pattern",
            ),
            (
                "Get-Mailbox | Where-Object Name -eq $x",
                37,
                "only variables",
            ),
            (
                "Get-Mailbox | Where-Object { $_.Name -eq 'a }",
                28,
                "no closing",
            ),
        ];
        crate::parse::expect_errors(condition_of, &cases);
    }

    proptest! {
        #[test]
        fn filters_never_panic(body in "\\PC{0,60}") {
            let _ = parse_pipeline(&format!("Get-Mailbox | Where-Object {{ {body} }}"));
            let _ = parse_pipeline(&format!("Get-Mailbox | Where-Object {body}"));
        }

        #[test]
        fn eq_matches_exactly_the_same_text_in_any_case(value in "[a-zA-Z0-9 ]{1,20}") {
            let c = condition_of(&format!("Get-Mailbox | Where-Object Office -eq '{value}'")).unwrap();
            let upper = value.to_uppercase();
            let r = record(&[("Office", upper.as_str())]);
            prop_assert!(c.holds(&r));
            let other = format!("{value}x");
            let r = record(&[("Office", other.as_str())]);
            prop_assert!(!c.holds(&r));
        }
    }
}
