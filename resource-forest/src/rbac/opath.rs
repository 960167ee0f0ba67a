//! Parser and evaluator for Exchange OPATH recipient filters.
//!
//! OPATH is the PowerShell-flavoured filter language Exchange uses for
//! management scopes (`New-ManagementScope -RecipientRestrictionFilter
//! "Department -eq 'Sales' -and City -like 'Sea*'"`) and for server and
//! database restriction filters. This module holds:
//!
//! * [`Filter`], the parsed filter tree, built with [`Filter::parse`],
//!   evaluated with [`Filter::matches`] and printed back in a canonical
//!   form through [`std::fmt::Display`];
//! * [`Properties`], the trait a recipient (or server, or database)
//!   implements so a filter can read its properties;
//! * [`OpathError`], the parse error, carrying the 1-based character column
//!   of the offending token.
//!
//! The grammar (keywords and operators are case-insensitive):
//!
//! ```text
//! filter     := ['{'] or_expr ['}']
//! or_expr    := and_expr ( '-or' and_expr )*
//! and_expr   := not_expr ( '-and' not_expr )*
//! not_expr   := ( '-not' | '!' ) not_expr | primary
//! primary    := '(' or_expr ')' | comparison
//! comparison := PROPERTY ( '-eq' | '-ne' | '-like' | '-notlike' ) VALUE
//! VALUE      := 'single quoted' | "double quoted" | $null | $true | $false | bare-word
//! PROPERTY   := [A-Za-z][A-Za-z0-9_-]*
//! ```
//!
//! In a single-quoted value a doubled `''` is a literal quote. In a
//! double-quoted value a doubled `""` or a backtick-escaped `` `" `` is a
//! literal quote and ``` `` ``` is a literal backtick; any other backtick is
//! kept as is. A bare word is a run of characters other than whitespace,
//! parentheses, braces and quotes.
//!
//! Filters are treated as hostile input: the parser never panics, rejects
//! input longer than 4096 characters, and limits nesting (parentheses and
//! `-not` chains together) to 32 levels so that neither parsing nor
//! evaluation can exhaust the stack. Wildcard matching uses the greedy
//! two-pointer algorithm, which is quadratic in the worst case rather than
//! exponential.

use std::fmt;

pub use super::compare::wildcard_match;
use super::compare::{same_text, Operator};

/// Longest filter accepted, in characters.
const MAX_LENGTH: usize = 4096;

/// Deepest nesting accepted, counting parentheses and `-not` together.
const MAX_DEPTH: usize = 32;

/// Longest token excerpt quoted in an error message, in characters.
const MAX_EXCERPT: usize = 32;

/// An error found while parsing an OPATH filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct OpathError {
    /// The 1-based column, counted in characters, where the problem was found.
    pub column: usize,
    /// What went wrong: lower case, no trailing period, the offending token
    /// in backticks.
    pub message: String,
}

/// Read access to the properties of the object a [`Filter`] is evaluated on.
pub trait Properties {
    /// Returns the value of the property with the given canonical name.
    ///
    /// `None` and `Some("")` both mean the property is not set.
    fn property(&self, name: &str) -> Option<&str>;
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    /// `$null`
    Null,
    /// `$true`
    True,
    /// `$false`
    False,
    /// A quoted string or a bare word.
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("$null"),
            Self::True => f.write_str("$true"),
            Self::False => f.write_str("$false"),
            Self::Text(text) => write!(f, "'{}'", text.replace('\'', "''")),
        }
    }
}

/// A node of the filter tree.
///
/// `And` and `Or` always hold at least two operands when built by the parser.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    /// `Property -op value`
    Compare {
        /// Canonical property name.
        property: &'static str,
        /// The comparison operator.
        operator: Operator,
        /// The value compared against.
        value: Value,
    },
    /// All operands hold.
    And(Vec<Node>),
    /// At least one operand holds.
    Or(Vec<Node>),
    /// The operand does not hold.
    Not(Box<Node>),
}

impl Node {
    /// Evaluates this node against `subject`.
    fn matches(&self, subject: &dyn Properties) -> bool {
        match self {
            Self::Compare {
                property,
                operator,
                value,
            } => compare(subject.property(property), *operator, value),
            Self::And(items) => items.iter().all(|item| item.matches(subject)),
            Self::Or(items) => items.iter().any(|item| item.matches(subject)),
            Self::Not(inner) => !inner.matches(subject),
        }
    }

    /// Appends the properties this node reads to `out`, without duplicates.
    fn collect_properties(&self, out: &mut Vec<&'static str>) {
        match self {
            Self::Compare { property, .. } => {
                if !out.contains(property) {
                    out.push(property);
                }
            }
            Self::And(items) | Self::Or(items) => {
                for item in items {
                    item.collect_properties(out);
                }
            }
            Self::Not(inner) => inner.collect_properties(out),
        }
    }

    fn collect_values(&self, out: &mut Vec<(&'static str, String)>) {
        match self {
            Self::Compare {
                property, value, ..
            } => {
                let text = match value {
                    Value::Null => String::new(),
                    Value::True => "True".to_owned(),
                    Value::False => "False".to_owned(),
                    Value::Text(t) => t.clone(),
                };
                if !out.iter().any(|(p, v)| p == property && *v == text) {
                    out.push((property, text));
                }
            }
            Self::And(items) | Self::Or(items) => {
                for item in items {
                    item.collect_values(out);
                }
            }
            Self::Not(inner) => inner.collect_values(out),
        }
    }

    /// How tightly the node's operator binds: `-or` 1, `-and` 2, `-not` and
    /// comparisons 3.
    fn precedence(&self) -> u8 {
        match self {
            Self::Or(_) => 1,
            Self::And(_) => 2,
            Self::Not(_) | Self::Compare { .. } => 3,
        }
    }

    /// Writes this node as an operand of an operator binding with `parent`
    /// (`-or` 1, `-and` and `-not` 2): in parentheses only where precedence
    /// needs them, so the canonical text is never nested deeper than the text
    /// it came from and always parses back (found by the opath_parser fuzz
    /// target: a chain of `!` came back as `-not (-not (…))`, past the depth
    /// limit).
    fn fmt_operand(&self, f: &mut fmt::Formatter<'_>, parent: u8) -> fmt::Result {
        if self.precedence() > parent {
            fmt::Display::fmt(self, f)
        } else {
            write!(f, "({self})")
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compare {
                property,
                operator,
                value,
            } => write!(f, "{property} {operator} {value}"),
            Self::And(items) | Self::Or(items) => {
                let joiner = if matches!(self, Self::And(_)) {
                    " -and "
                } else {
                    " -or "
                };
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(joiner)?;
                    }
                    item.fmt_operand(f, self.precedence())?;
                }
                Ok(())
            }
            Self::Not(inner) => {
                f.write_str("-not ")?;
                inner.fmt_operand(f, 2)
            }
        }
    }
}

/// Evaluates one comparison against the property's value.
fn compare(actual: Option<&str>, operator: Operator, value: &Value) -> bool {
    let actual = actual.filter(|text| !text.is_empty());
    let expected = match value {
        Value::Null => None,
        Value::True => Some("True"),
        Value::False => Some("False"),
        Value::Text(text) if text.is_empty() => None,
        Value::Text(text) => Some(text.as_str()),
    };
    let Some(expected) = expected else {
        // `$null` (or ''): "is not set" for -eq/-like, "is set" otherwise.
        return if operator.split().1 {
            actual.is_some()
        } else {
            actual.is_none()
        };
    };
    // -ne and -notlike are the negations of -eq and -like, so they hold
    // when the property is not set (LDAP `(!(attr=value))` semantics).
    let (positive, negated) = operator.split();
    let holds = actual.is_some_and(|actual| {
        if positive == Operator::Like {
            wildcard_match(expected, actual)
        } else {
            same_text(actual, expected)
        }
    });
    holds != negated
}

/// A parsed OPATH filter.
///
/// Build one with [`Filter::parse`], evaluate it with [`Filter::matches`].
/// Its [`Display`](fmt::Display) form is canonical and parses back to an
/// equal filter (given a property canonicalizer that accepts the canonical
/// names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Root of the filter tree.
    root: Node,
}

impl Filter {
    /// Parses an OPATH filter.
    ///
    /// `property` maps a property name as written to its canonical spelling,
    /// or returns `None` when the property cannot be filtered on, which is
    /// an error reported at the property's column. The canonical name is
    /// stored in the filter and passed to [`Properties::property`].
    ///
    /// # Errors
    ///
    /// Returns an [`OpathError`] locating the first problem: syntax errors,
    /// unknown properties, unterminated strings, empty input, input longer
    /// than 4096 characters or nested more than 32 levels deep.
    pub fn parse(
        text: &str,
        property: &dyn Fn(&str) -> Option<&'static str>,
    ) -> Result<Filter, OpathError> {
        if text.chars().count() > MAX_LENGTH {
            return Err(OpathError {
                column: MAX_LENGTH + 1,
                message: format!("filter is longer than {MAX_LENGTH} characters"),
            });
        }
        let mut parser = Parser {
            chars: text.chars().collect(),
            pos: 0,
            depth: 0,
            property,
        };
        let filter = Filter {
            root: parser.filter()?,
        };
        // The canonical text is what gets stored; it must parse back, so it
        // obeys the same limit (`!` becomes `-not `, values gain quotes).
        let canonical = filter.to_string().chars().count();
        if canonical > MAX_LENGTH {
            return Err(OpathError {
                column: 1,
                message: format!(
                    "filter is longer than {MAX_LENGTH} characters once written canonically ({canonical})"
                ),
            });
        }
        Ok(filter)
    }

    /// For a filter that is one `Property -eq 'value'` comparison with a
    /// non-empty text value: the property and the value. Evaluators use it to
    /// index such filters by value.
    pub fn as_equality(&self) -> Option<(&'static str, &str)> {
        match &self.root {
            Node::Compare {
                property,
                operator: Operator::Eq,
                value: Value::Text(text),
            } if !text.is_empty() => Some((property, text)),
            _ => None,
        }
    }

    /// Returns whether `subject` satisfies the filter.
    pub fn matches(&self, subject: &dyn Properties) -> bool {
        self.root.matches(subject)
    }

    /// Returns the canonical names of the properties the filter reads, in
    /// order of first appearance, without duplicates.
    pub fn properties(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        self.root.collect_properties(&mut out);
        out
    }

    /// Every comparison's property and value as written (`$true` as `True`,
    /// `$null` as empty), without duplicates: the values a search for an
    /// object the filter matches starts from.
    pub fn compared_values(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        self.root.collect_values(&mut out);
        out
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.root, f)
    }
}

/// A token outside value position.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// End of input.
    End,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `-not` or `!`
    Not,
    /// `-and`
    And,
    /// `-or`
    Or,
    /// A comparison operator.
    Operator(Operator),
    /// A property name as written.
    Identifier(String),
    /// Anything else; reported through [`Parser::describe`].
    Other,
}

/// A token with its extent in characters.
struct Lexed {
    /// The token.
    token: Token,
    /// Index of its first character.
    start: usize,
    /// Index one past its last character.
    end: usize,
}

/// Whether `c` delimits tokens on its own.
fn is_delimiter(c: char) -> bool {
    matches!(c, '(' | ')' | '{' | '}')
}

/// Whether `c` opens a quoted string.
fn is_quote(c: char) -> bool {
    matches!(c, '\'' | '"')
}

/// Recursive-descent parser over the characters of a filter.
struct Parser<'a> {
    /// The filter text.
    chars: Vec<char>,
    /// Index of the next unread character.
    pos: usize,
    /// Current nesting depth (parentheses plus `-not`).
    depth: usize,
    /// Property name canonicalizer.
    property: &'a dyn Fn(&str) -> Option<&'static str>,
}

impl Parser<'_> {
    /// Builds an error at character index `at`.
    fn error(&self, at: usize, message: String) -> OpathError {
        OpathError {
            column: at.min(self.chars.len()) + 1,
            message,
        }
    }

    /// The characters in `start..end` as a string.
    fn text(&self, start: usize, end: usize) -> String {
        self.chars
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .collect()
    }

    /// Index of the first non-whitespace character at or after `from`.
    fn skip_whitespace(&self, from: usize) -> usize {
        let mut at = from;
        while self.chars.get(at).is_some_and(|c| c.is_whitespace()) {
            at += 1;
        }
        at
    }

    /// Index one past the run of characters starting at `from` that satisfy
    /// `accept`.
    fn run_end(&self, from: usize, accept: impl Fn(char) -> bool) -> usize {
        let mut at = from;
        while self.chars.get(at).is_some_and(|&c| accept(c)) {
            at += 1;
        }
        at
    }

    /// Index one past the bare word starting at `from`.
    fn bare_word_end(&self, from: usize) -> usize {
        self.run_end(from, |c| {
            !c.is_whitespace() && !is_delimiter(c) && !is_quote(c)
        })
    }

    /// Describes the token at (or after whitespace from) `at` for an error
    /// message: in backticks, or `end of filter`.
    fn describe(&self, at: usize) -> String {
        let start = self.skip_whitespace(at);
        let end = match self.chars.get(start) {
            None => return "end of filter".to_owned(),
            Some(&quote) if is_quote(quote) => {
                let close = self.run_end(start + 1, |c| c != quote);
                (close + 1).min(self.chars.len())
            }
            Some(&c) if is_delimiter(c) => start + 1,
            Some(_) => self.bare_word_end(start).max(start + 1),
        };
        let mut excerpt = self.text(start, end.min(start + MAX_EXCERPT));
        if end > start + MAX_EXCERPT {
            excerpt.push('…');
        }
        format!("`{excerpt}`")
    }

    /// Reads the next token (outside value position) without consuming it.
    fn peek(&self) -> Lexed {
        let start = self.skip_whitespace(self.pos);
        let Some(&c) = self.chars.get(start) else {
            return Lexed {
                token: Token::End,
                start,
                end: start,
            };
        };
        let (token, end) = match c {
            '(' => (Token::LParen, start + 1),
            ')' => (Token::RParen, start + 1),
            '{' => (Token::LBrace, start + 1),
            '}' => (Token::RBrace, start + 1),
            '!' => (Token::Not, start + 1),
            '-' => {
                let end = self.run_end(start + 1, |c| c.is_ascii_alphanumeric());
                let word = self.text(start + 1, end).to_ascii_lowercase();
                let token = match word.as_str() {
                    "and" => Token::And,
                    "or" => Token::Or,
                    "not" => Token::Not,
                    "eq" => Token::Operator(Operator::Eq),
                    "ne" => Token::Operator(Operator::Ne),
                    "like" => Token::Operator(Operator::Like),
                    "notlike" => Token::Operator(Operator::NotLike),
                    _ => Token::Other,
                };
                (token, end)
            }
            c if c.is_ascii_alphabetic() => {
                let end = self.run_end(start + 1, |c| {
                    c.is_ascii_alphanumeric() || c == '_' || c == '-'
                });
                (Token::Identifier(self.text(start, end)), end)
            }
            _ => (Token::Other, start + 1),
        };
        Lexed { token, start, end }
    }

    /// Enters one nesting level for the token at `at`.
    fn enter(&mut self, at: usize) -> Result<(), OpathError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                at,
                format!("filter is nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    /// Leaves one nesting level.
    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// `filter := ['{'] or_expr ['}']`, then end of input.
    fn filter(&mut self) -> Result<Node, OpathError> {
        let first = self.peek();
        if first.token == Token::End {
            return Err(self.error(0, "empty filter".to_owned()));
        }
        let node = if first.token == Token::LBrace {
            self.pos = first.end;
            let inner = self.peek();
            if inner.token == Token::RBrace {
                return Err(self.error(inner.start, "empty filter".to_owned()));
            }
            let node = self.or_expr()?;
            let close = self.peek();
            if close.token != Token::RBrace {
                return Err(self.error(
                    close.start,
                    format!(
                        "expected `}}` to close the `{{` at column {}, found {}",
                        first.start + 1,
                        self.describe(close.start)
                    ),
                ));
            }
            self.pos = close.end;
            node
        } else {
            self.or_expr()?
        };
        let rest = self.peek();
        if rest.token != Token::End {
            return Err(self.error(
                rest.start,
                format!(
                    "unexpected {} after the end of the filter",
                    self.describe(rest.start)
                ),
            ));
        }
        Ok(node)
    }

    /// `or_expr := and_expr ( '-or' and_expr )*`
    fn or_expr(&mut self) -> Result<Node, OpathError> {
        let first = self.and_expr()?;
        let mut items = Vec::new();
        loop {
            let next = self.peek();
            if next.token != Token::Or {
                break;
            }
            self.pos = next.end;
            items.push(self.and_expr()?);
        }
        if items.is_empty() {
            Ok(first)
        } else {
            items.insert(0, first);
            Ok(Node::Or(items))
        }
    }

    /// `and_expr := not_expr ( '-and' not_expr )*`
    fn and_expr(&mut self) -> Result<Node, OpathError> {
        let first = self.not_expr()?;
        let mut items = Vec::new();
        loop {
            let next = self.peek();
            if next.token != Token::And {
                break;
            }
            self.pos = next.end;
            items.push(self.not_expr()?);
        }
        if items.is_empty() {
            Ok(first)
        } else {
            items.insert(0, first);
            Ok(Node::And(items))
        }
    }

    /// `not_expr := ( '-not' | '!' ) not_expr | primary`
    fn not_expr(&mut self) -> Result<Node, OpathError> {
        let next = self.peek();
        if next.token != Token::Not {
            return self.primary();
        }
        self.enter(next.start)?;
        self.pos = next.end;
        let inner = self.not_expr()?;
        self.leave();
        Ok(Node::Not(Box::new(inner)))
    }

    /// `primary := '(' or_expr ')' | comparison`
    fn primary(&mut self) -> Result<Node, OpathError> {
        let next = self.peek();
        match next.token {
            Token::LParen => {
                self.enter(next.start)?;
                self.pos = next.end;
                let node = self.or_expr()?;
                let close = self.peek();
                if close.token != Token::RParen {
                    return Err(self.error(
                        close.start,
                        format!(
                            "expected `)` to close the `(` at column {}, found {}",
                            next.start + 1,
                            self.describe(close.start)
                        ),
                    ));
                }
                self.pos = close.end;
                self.leave();
                Ok(node)
            }
            Token::Identifier(name) => self.comparison(&name, next.start, next.end),
            _ => Err(self.error(
                next.start,
                format!(
                    "expected a property name, `(` or `-not`, found {}",
                    self.describe(next.start)
                ),
            )),
        }
    }

    /// `comparison := PROPERTY OPERATOR VALUE`, the property name `name`
    /// spanning `start..end`.
    fn comparison(&mut self, name: &str, start: usize, end: usize) -> Result<Node, OpathError> {
        let Some(property) = (self.property)(name) else {
            return Err(self.error(start, format!("unknown property `{name}`")));
        };
        self.pos = end;
        let next = self.peek();
        let Token::Operator(operator) = next.token else {
            return Err(self.error(
                next.start,
                format!(
                    "expected -eq, -ne, -like or -notlike after `{name}`, found {}",
                    self.describe(next.start)
                ),
            ));
        };
        self.pos = next.end;
        let value = self.value(operator)?;
        Ok(Node::Compare {
            property,
            operator,
            value,
        })
    }

    /// Reads the value after `operator`.
    fn value(&mut self, operator: Operator) -> Result<Value, OpathError> {
        let start = self.skip_whitespace(self.pos);
        match self.chars.get(start) {
            None => Err(self.error(
                start,
                format!("expected a value after `{operator}`, found end of filter"),
            )),
            Some('\'') => self.single_quoted(start),
            Some('"') => self.double_quoted(start),
            Some('$') => {
                let end = self.run_end(start + 1, |c| c.is_ascii_alphanumeric() || c == '_');
                let value = match self.text(start + 1, end).to_ascii_lowercase().as_str() {
                    "null" => Value::Null,
                    "true" => Value::True,
                    "false" => Value::False,
                    _ => {
                        return Err(self.error(
                            start,
                            format!(
                                "unknown variable {}, expected $null, $true or $false",
                                self.describe(start)
                            ),
                        ));
                    }
                };
                self.pos = end;
                Ok(value)
            }
            Some(&c) if is_delimiter(c) => Err(self.error(
                start,
                format!("expected a value after `{operator}`, found `{c}`"),
            )),
            Some(_) => {
                let end = self.bare_word_end(start);
                self.pos = end;
                Ok(Value::Text(self.text(start, end)))
            }
        }
    }

    /// Reads a single-quoted string whose opening quote is at `start`.
    fn single_quoted(&mut self, start: usize) -> Result<Value, OpathError> {
        let mut out = String::new();
        let mut at = start + 1;
        loop {
            match self.chars.get(at) {
                None => {
                    return Err(self.error(start, "unterminated string starting here".to_owned()));
                }
                Some('\'') if self.chars.get(at + 1) == Some(&'\'') => {
                    out.push('\'');
                    at += 2;
                }
                Some('\'') => {
                    self.pos = at + 1;
                    return Ok(Value::Text(out));
                }
                Some(&c) => {
                    out.push(c);
                    at += 1;
                }
            }
        }
    }

    /// Reads a double-quoted string whose opening quote is at `start`.
    fn double_quoted(&mut self, start: usize) -> Result<Value, OpathError> {
        let mut out = String::new();
        let mut at = start + 1;
        loop {
            match self.chars.get(at) {
                None => {
                    return Err(self.error(start, "unterminated string starting here".to_owned()));
                }
                Some('"') if self.chars.get(at + 1) == Some(&'"') => {
                    out.push('"');
                    at += 2;
                }
                Some('"') => {
                    self.pos = at + 1;
                    return Ok(Value::Text(out));
                }
                Some('`') => match self.chars.get(at + 1) {
                    Some(&escaped @ ('"' | '`')) => {
                        out.push(escaped);
                        at += 2;
                    }
                    _ => {
                        out.push('`');
                        at += 1;
                    }
                },
                Some(&c) => {
                    out.push(c);
                    at += 1;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    const PROPERTIES: &[&str] = &[
        "Department",
        "City",
        "Company",
        "CustomAttribute1",
        "Name",
        "RecipientType",
        "HiddenFromAddressListsEnabled",
    ];

    fn canonical(name: &str) -> Option<&'static str> {
        PROPERTIES
            .iter()
            .copied()
            .find(|known| known.eq_ignore_ascii_case(name))
    }

    fn parse(text: &str) -> Result<Filter, OpathError> {
        Filter::parse(text, &canonical)
    }

    struct Subject(HashMap<&'static str, String>);

    impl Properties for Subject {
        fn property(&self, name: &str) -> Option<&str> {
            self.0.get(name).map(String::as_str)
        }
    }

    fn sample() -> Subject {
        Subject(HashMap::from([
            ("Department", "Sales".to_owned()),
            ("City", "Seattle".to_owned()),
            ("Company", String::new()),
            ("Name", "Zoë O'Brien".to_owned()),
            ("RecipientType", "UserMailbox".to_owned()),
            ("HiddenFromAddressListsEnabled", "False".to_owned()),
        ]))
    }

    fn cmp(property: &'static str, operator: Operator, value: &str) -> Node {
        Node::Compare {
            property,
            operator,
            value: Value::Text(value.to_owned()),
        }
    }

    #[test]
    fn valid_filters_match_as_expected() {
        let cases: &[(&str, bool)] = &[
            ("Department -eq 'Sales'", true),
            ("department -EQ 'sales'", true),
            ("{Department -eq 'Sales'}", true),
            ("  { Department -eq 'Sales' }  ", true),
            ("Department -eq Sales", true),
            ("Department -eq \"Sales\"", true),
            ("Department -ne 'Sales'", false),
            ("Department -eq 'Marketing'", false),
            ("Department -ne 'Marketing'", true),
            ("CustomAttribute1 -ne 'x'", true),
            ("CustomAttribute1 -eq 'x'", false),
            ("CustomAttribute1 -eq $null", true),
            ("CustomAttribute1 -ne $NULL", false),
            ("Company -eq $null", true),
            ("Company -ne $null", false),
            ("Company -eq ''", true),
            ("Department -eq $null", false),
            ("Department -ne $null", true),
            ("City -like 'Sea*'", true),
            ("City -like '*ttl*'", true),
            ("City -like 's*e*a*t*t*l*e'", true),
            ("City -like 'sea'", false),
            ("City -like 'Seattle*x'", false),
            ("City -like '*'", true),
            ("City -like '**'", true),
            ("CustomAttribute1 -like '*'", false),
            ("CustomAttribute1 -notlike '*'", true),
            ("City -notlike 'Port*'", true),
            ("City -notlike 'Sea*'", false),
            ("HiddenFromAddressListsEnabled -eq $false", true),
            ("HiddenFromAddressListsEnabled -eq $true", false),
            ("HiddenFromAddressListsEnabled -ne $True", true),
            ("Name -eq 'Zoë O''Brien'", true),
            ("Name -eq \"ZOË O'BRIEN\"", true),
            ("Name -like \"*o'b*\"", true),
            ("Name -eq \"Zoë O`\"Brien\"", false),
            ("Department -eq 'Sales' -and City -like 'Sea*'", true),
            ("Department -eq 'Marketing' -or City -like 'Sea*'", true),
            ("Department -eq 'Marketing' -OR City -like 'Port*'", false),
            ("-not (Department -eq 'Sales')", false),
            ("!(Department -eq 'Sales')", false),
            ("! Department -eq 'Marketing'", true),
            ("-not Department -eq 'Marketing'", true),
            ("-not -not Department -eq 'Sales'", true),
            (
                "(Department -eq 'Sales' -or Department -eq 'HR') -and -not (RecipientType -eq 'SharedMailbox')",
                true,
            ),
            (
                "Department -eq 'HR' -and City -eq 'Portland' -or City -eq 'Seattle'",
                true,
            ),
            (
                "Department -eq 'HR' -and (City -eq 'Portland' -or City -eq 'Seattle')",
                false,
            ),
            (
                "((((Department -eq 'Sales'))))-and(City -eq 'Seattle')",
                true,
            ),
        ];
        let subject = sample();
        for (text, expected) in cases {
            let filter = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(filter.matches(&subject), *expected, "{text}");
            let reparsed = parse(&filter.to_string()).unwrap();
            assert_eq!(reparsed, filter, "{text}");
        }
    }

    #[test]
    fn or_binds_looser_than_and() {
        let filter = parse("Department -eq 1 -or City -eq 2 -and Company -eq 3").unwrap();
        assert_eq!(
            filter.root,
            Node::Or(vec![
                cmp("Department", Operator::Eq, "1"),
                Node::And(vec![
                    cmp("City", Operator::Eq, "2"),
                    cmp("Company", Operator::Eq, "3"),
                ]),
            ])
        );
        assert_eq!(
            filter.to_string(),
            "Department -eq '1' -or City -eq '2' -and Company -eq '3'"
        );
    }

    #[test]
    fn not_binds_tighter_than_and() {
        let filter = parse("-not Department -eq 1 -and City -eq 2").unwrap();
        assert_eq!(
            filter.root,
            Node::And(vec![
                Node::Not(Box::new(cmp("Department", Operator::Eq, "1"))),
                cmp("City", Operator::Eq, "2"),
            ])
        );
        assert_eq!(
            filter.to_string(),
            "-not Department -eq '1' -and City -eq '2'"
        );
    }

    #[test]
    fn filters_whose_canonical_text_is_too_long_are_refused() {
        let source = format!("{}Name -eq x", "!".repeat(30)) + &" -or !Name -eq x".repeat(250);
        assert!(source.chars().count() <= MAX_LENGTH);
        let err = parse(&source).unwrap_err();
        assert!(err.message.contains("once written canonically"), "{err}");
    }

    #[test]
    fn canonical_text_is_never_nested_deeper_than_the_source() {
        let source = format!("{}Name -like 'x'", "!".repeat(MAX_DEPTH));
        let filter = parse(&source).unwrap();
        let canonical = filter.to_string();
        assert_eq!(parse(&canonical).unwrap().to_string(), canonical);
        let source = format!(
            "{}A -eq 1 -or B -eq 2 -and C -eq 3{}",
            "(".repeat(MAX_DEPTH),
            ")".repeat(MAX_DEPTH)
        );
        let filter = Filter::parse(&source, &|p| {
            ["A", "B", "C"]
                .into_iter()
                .find(|k| k.eq_ignore_ascii_case(p))
        })
        .unwrap();
        assert!(Filter::parse(&filter.to_string(), &|p| ["A", "B", "C"]
            .into_iter()
            .find(|k| k.eq_ignore_ascii_case(p)))
        .is_ok());
    }

    #[test]
    fn display_is_canonical() {
        let filter =
            parse("{ department -LIKE \"O\"\"B*\" -AND !(city -ne $NULL -or NAME -notlike x) }")
                .unwrap();
        assert_eq!(
            filter.to_string(),
            "Department -like 'O\"B*' -and -not (City -ne $null -or Name -notlike 'x')"
        );
        assert_eq!(filter.properties(), vec!["Department", "City", "Name"]);
    }

    #[test]
    fn string_escapes() {
        let filter = parse(r#"Name -eq "a""b`"c``d`e""#).unwrap();
        assert_eq!(filter.root, cmp("Name", Operator::Eq, "a\"b\"c`d`e"));
        let filter = parse("Name -eq 'it''s'").unwrap();
        assert_eq!(filter.root, cmp("Name", Operator::Eq, "it's"));
        assert_eq!(filter.to_string(), "Name -eq 'it''s'");
    }

    #[test]
    fn errors_are_located() {
        let deep_parens = format!("{}Department -eq 'x'", "(".repeat(33));
        let deep_nots = format!("{}Department -eq 'x'", "-not ".repeat(33));
        let mixed = format!("{}Department -eq 'x'", "-not (".repeat(17));
        let ok_parens = format!("{}Department -eq 'x'{}", "(".repeat(32), ")".repeat(32));
        assert!(parse(&ok_parens).is_ok());
        let too_long = format!("Department -eq '{}'", "x".repeat(4096));
        let cases: &[(&str, usize, &str)] = &[
            (
                "Department = 'Sales'",
                12,
                "expected -eq, -ne, -like or -notlike after `Department`, found `=`",
            ),
            (
                "Department -eqq 'Sales'",
                12,
                "expected -eq, -ne, -like or -notlike after `Department`, found `-eqq`",
            ),
            (
                "Department",
                11,
                "expected -eq, -ne, -like or -notlike after `Department`, found end of filter",
            ),
            ("Departmnt -eq 'Sales'", 1, "unknown property `Departmnt`"),
            (
                "City -eq 'x' -and Departmnt -eq 'Sales'",
                19,
                "unknown property `Departmnt`",
            ),
            (
                "Department -eq 'Sales",
                16,
                "unterminated string starting here",
            ),
            (
                "Department -eq \"Sales`\"",
                16,
                "unterminated string starting here",
            ),
            (
                "((Department -eq 'x') -or City -eq 'y'",
                39,
                "expected `)` to close the `(` at column 1, found end of filter",
            ),
            (
                "  (Department -eq 'x' City -eq 'y')",
                23,
                "expected `)` to close the `(` at column 3, found `City`",
            ),
            (
                "{Department -eq 'x'",
                20,
                "expected `}` to close the `{` at column 1",
            ),
            (
                "{Department -eq 'Sales'} -or City -eq 'x'",
                26,
                "unexpected `-or` after the end of the filter",
            ),
            (
                "Department -eq 'Sales')",
                23,
                "unexpected `)` after the end of the filter",
            ),
            (
                "Department -eq 'Sales' City -eq 'x'",
                24,
                "unexpected `City` after the end of the filter",
            ),
            (
                "Department -eq 'Sales' -or",
                27,
                "expected a property name, `(` or `-not`, found end of filter",
            ),
            (
                "Department -eq",
                15,
                "expected a value after `-eq`, found end of filter",
            ),
            (
                "(Department -eq)",
                16,
                "expected a value after `-eq`, found `)`",
            ),
            (
                "Department -eq $nul",
                16,
                "unknown variable `$nul`, expected $null, $true or $false",
            ),
            ("", 1, "empty filter"),
            ("   \t\n", 1, "empty filter"),
            ("{ }", 3, "empty filter"),
            (
                &deep_parens,
                33,
                "filter is nested more than 32 levels deep",
            ),
            (&deep_nots, 161, "filter is nested more than 32 levels deep"),
            (&mixed, 97, "filter is nested more than 32 levels deep"),
            (&too_long, 4097, "filter is longer than 4096 characters"),
        ];
        for (text, column, message) in cases {
            let error = parse(text).expect_err(text);
            assert_eq!(error.column, *column, "{text}: {error}");
            assert!(error.message.contains(message), "{text}: {error}");
            assert!(!error.message.ends_with('.'), "{text}: {error}");
        }
    }

    #[test]
    fn error_display() {
        let error = parse("Departmnt -eq 'x'").unwrap_err();
        assert_eq!(error.to_string(), "column 1: unknown property `Departmnt`");
    }

    #[test]
    fn huge_nesting_is_rejected_without_overflow() {
        for text in [
            "(".repeat(4096),
            "-not ".repeat(819),
            "!".repeat(4096),
            "{".repeat(4096),
            "(".repeat(100_000),
        ] {
            assert!(parse(&text).is_err());
        }
    }

    #[test]
    fn pathological_like_pattern() {
        let filter = parse("Name -like 'a*a*a*a*a*a*a*b'").unwrap();
        let subject = Subject(HashMap::from([("Name", "a".repeat(4000))]));
        assert!(!filter.matches(&subject));
        let subject = Subject(HashMap::from([("Name", format!("{}b", "a".repeat(4000)))]));
        assert!(filter.matches(&subject));
    }

    fn value_strategy() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            Just(Value::True),
            Just(Value::False),
            "[a-zA-Z0-9 '\"*`$(){}!éßÅ中-]{0,12}".prop_map(Value::Text),
        ]
    }

    fn operator_strategy() -> impl Strategy<Value = Operator> {
        prop_oneof![
            Just(Operator::Eq),
            Just(Operator::Ne),
            Just(Operator::Like),
            Just(Operator::NotLike),
        ]
    }

    fn node_strategy() -> impl Strategy<Value = Node> {
        let leaf = (
            proptest::sample::select(PROPERTIES),
            operator_strategy(),
            value_strategy(),
        )
            .prop_map(|(property, operator, value)| Node::Compare {
                property,
                operator,
                value,
            });
        leaf.prop_recursive(5, 48, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 2..4).prop_map(Node::And),
                proptest::collection::vec(inner.clone(), 2..4).prop_map(Node::Or),
                inner.prop_map(|node| Node::Not(Box::new(node))),
            ]
        })
    }

    fn tokenish() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            proptest::sample::select(vec![
                "(",
                ")",
                "{",
                "}",
                "-not ",
                "!",
                " -and ",
                " -or ",
                "Department",
                " -eq ",
                " -like ",
                "'x*'",
                "\"",
                "'",
                "`",
                "$null",
                "$",
                " ",
                "-",
                "é",
                "Name -eq 'a'",
            ]),
            0..400,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn display_round_trips(root in node_strategy()) {
            let filter = Filter { root };
            let text = filter.to_string();
            let reparsed = parse(&text);
            prop_assert_eq!(reparsed, Ok(filter), "{}", text);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_tokens_never_panic(text in tokenish()) {
            if let Ok(filter) = parse(&text) {
                let _ = filter.matches(&sample());
                // Display may add parentheses (`-not -not x` prints as
                // `-not (-not x)`), so very deep filters may not re-parse.
                if let Ok(reparsed) = parse(&filter.to_string()) {
                    prop_assert_eq!(reparsed, filter);
                }
            }
        }

        #[test]
        fn deep_runs_never_panic(count in 0usize..5000, unit in proptest::sample::select(vec!["(", "-not ", "!", "-not(", "{"])) {
            let text = format!("{}Name -eq 'a'", unit.repeat(count));
            let _ = parse(&text);
        }

        #[test]
        fn pathological_like_is_prompt(stars in 1usize..12, length in 1000usize..4000) {
            let pattern = format!("{}b", "a*".repeat(stars));
            let filter = parse(&format!("Name -like '{pattern}'")).unwrap();
            let subject = Subject(HashMap::from([("Name", "a".repeat(length))]));
            prop_assert!(!filter.matches(&subject));
        }
    }
}
