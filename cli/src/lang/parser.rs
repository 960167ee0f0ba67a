//! The grammar of the shell's PowerShell subset, read into [`ast`] by
//! recursive descent:
//!
//! ```text
//! script     := statement ( (';' | newline) statement )*
//! statement  := 'if' '(' pipeline ')' block ('elseif' '(' pipeline ')' block)* ['else' block]
//!             | 'foreach' '(' $var 'in' pipeline ')' block
//!             | 'exit' [expr] | $var ('=' | '+=') pipeline | pipeline
//! pipeline   := stage ( '|' stage )*
//! stage      := command | expr                 (an expression only first)
//! command    := name ( -Param[:value] | value | @splat )*
//! expr       := compare ( (-and | -or) compare )*          (left to right)
//! compare    := additive ( -eq | -like | -in | … additive )*
//! additive   := multiplicative ( ('+' | '-') multiplicative )*
//! multiplicative := list ( ('*' | '/') list )*
//! list       := unary ( ',' unary )*
//! unary      := ('-not' | '!' | '-') unary | postfix
//! postfix    := primary ( '.' name | '[' expr ']' )*
//! primary    := number | 'string' | "string $var $(…)" | $var | ( pipeline )
//!             | $( script ) | @( script ) | @{ key = value; … } | { script }
//! ```
//!
//! Whatever PowerShell has and this shell does not (`while`, `switch`,
//! `function`, `[int]`, `-replace`, method calls …) is an error naming it,
//! at its column, before anything runs.

use std::fmt;
use std::rc::Rc;

use resource_forest::rbac::compare::Operator;

use super::ast::{
    Arg, BinOp, Block, Command, Expr, ExprKind, Part, Pipeline, Script, Stage, Statement,
};
use super::lexer::{ends_word, Cursor, RawPart};

/// A syntax error, with the column it was found at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based column (character offset into the text).
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
    /// The line of `text` holding the column, with a caret under it.
    pub fn pointer(&self, text: &str) -> String {
        pointer(text, self.column, &self.message)
    }
}

/// The line of `text` holding `column` (a 1-based character offset), a caret
/// under it and `message` after the caret.
pub fn pointer(text: &str, column: usize, message: &str) -> String {
    let (line, at) = line_of(text, column);
    format!("{line}\n{}^ {message}", " ".repeat(at.saturating_sub(1)))
}

/// The line of `text` holding `column`, and the column within that line.
pub fn line_of(text: &str, column: usize) -> (&str, usize) {
    let mut start = 0;
    let mut seen = 0;
    for line in text.split_inclusive('\n') {
        let chars = line.chars().count();
        if column <= seen + chars || start + line.len() == text.len() {
            return (line.trim_end_matches(['\n', '\r']), column - seen);
        }
        seen += chars;
        start += line.len();
    }
    (text, column)
}

/// A [`ParseError`].
pub fn err(column: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        column,
        message: message.into(),
    }
}

/// Longest script accepted, in bytes.
pub const MAX_SCRIPT: usize = 1024 * 1024;

/// Deepest nesting accepted (parentheses, blocks, operators).
const MAX_DEPTH: usize = 64;

/// Parses a script.
pub fn parse_script(text: &str) -> Result<Script, ParseError> {
    if text.len() > MAX_SCRIPT {
        return Err(err(
            1,
            format!("the script is longer than {MAX_SCRIPT} bytes"),
        ));
    }
    let mut parser = Parser {
        c: Cursor::new(text),
        depth: 0,
    };
    let script = parser.script(None)?;
    if let Some(c) = parser.c.peek() {
        return Err(err(parser.c.column(), format!("unexpected `{c}`")));
    }
    Ok(script)
}

const UNSUPPORTED_KEYWORDS: &[&str] = &[
    "while", "do", "for", "switch", "function", "filter", "try", "trap", "throw", "return",
    "break", "continue", "param", "class", "begin", "process", "end", "using", "workflow",
];

const UNSUPPORTED_OPERATORS: &[&str] = &[
    "replace", "ireplace", "creplace", "split", "join", "f", "is", "isnot", "as", "xor", "band",
    "bor", "bxor", "bnot", "shl", "shr",
];

/// `statement` is not supported: the message every unsupported construct gets.
pub fn unsupported(what: &str) -> String {
    format!("`{what}` is not supported by this shell")
}

struct Parser {
    c: Cursor,
    depth: usize,
}

fn expr(column: usize, kind: ExprKind) -> Expr {
    Expr { column, kind }
}

/// Whether a value can start at `c` in argument position.
fn ends_arguments(c: Option<char>) -> bool {
    matches!(c, None | Some('|' | ';' | '\n' | ')' | '}'))
}

impl Parser {
    fn deeper(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(self.c.column(), "the script is nested too deeply"));
        }
        Ok(())
    }

    fn expect(&mut self, want: char, context: &str) -> Result<(), ParseError> {
        if self.c.peek() == Some(want) {
            self.c.pos += 1;
            return Ok(());
        }
        let found = self
            .c
            .peek()
            .map_or("the end".to_owned(), |c| format!("`{c}`"));
        Err(err(
            self.c.column(),
            format!("expected `{want}` {context}; found {found}"),
        ))
    }

    fn script(&mut self, close: Option<char>) -> Result<Script, ParseError> {
        self.deeper()?;
        let mut statements = Vec::new();
        loop {
            self.c.skip_separators();
            match self.c.peek() {
                None => break,
                Some(c) if Some(c) == close => break,
                Some(_) => {}
            }
            statements.push(self.statement()?);
            self.c.skip_space(false);
            match self.c.peek() {
                None | Some(';' | '\n') => {}
                Some(c) if Some(c) == close => {}
                Some(c) => return Err(err(self.c.column(), format!("unexpected `{c}`"))),
            }
        }
        self.depth -= 1;
        Ok(Script { statements })
    }

    fn statement(&mut self) -> Result<Statement, ParseError> {
        let column = self.c.column();
        if self.c.at_keyword("if") {
            return self.if_statement();
        }
        if self.c.at_keyword("foreach") && self.after_keyword_is("foreach", '(') {
            return self.foreach_statement();
        }
        if self.c.at_keyword("exit") {
            self.c.pos += 4;
            self.c.skip_space(false);
            if ends_arguments(self.c.peek()) {
                return Ok(Statement::Exit(None));
            }
            return Ok(Statement::Exit(Some(self.expression()?)));
        }
        for keyword in ["elseif", "else"] {
            if self.c.at_keyword(keyword) {
                return Err(err(column, format!("`{keyword}` without `if` before it")));
            }
        }
        if let Some(keyword) = UNSUPPORTED_KEYWORDS.iter().find(|k| self.c.at_keyword(k)) {
            return Err(err(column, unsupported(keyword)));
        }
        if self.c.peek() == Some('$') {
            if let Some(statement) = self.assignment()? {
                return Ok(statement);
            }
        }
        Ok(Statement::Pipeline(self.pipeline()?))
    }

    fn after_keyword_is(&self, keyword: &str, want: char) -> bool {
        let mut i = keyword.len();
        while self.c.peek_at(i).is_some_and(|c| c == ' ' || c == '\t') {
            i += 1;
        }
        self.c.peek_at(i) == Some(want)
    }

    /// `$x = …` or `$x += …`; `None` (cursor unmoved) when `$` starts an
    /// expression instead.
    fn assignment(&mut self) -> Result<Option<Statement>, ParseError> {
        let start = self.c.pos;
        let column = self.c.column();
        let name = self.c.variable()?;
        self.c.skip_space(false);
        let add = match (self.c.peek(), self.c.peek_at(1)) {
            (Some('='), next) if next != Some('=') => false,
            (Some('+'), Some('=')) => true,
            (Some('.' | '['), _) if self.assigns_to_member() => {
                return Err(err(
                    column,
                    unsupported("assigning to a property or an item"),
                ));
            }
            _ => {
                self.c.pos = start;
                return Ok(None);
            }
        };
        self.c.pos += if add { 2 } else { 1 };
        self.c.skip_space(true);
        if ends_arguments(self.c.peek()) {
            return Err(err(self.c.column(), format!("`${name} =` needs a value")));
        }
        let mut value = self.pipeline()?;
        if add {
            let right = match value.stages.as_slice() {
                [Stage::Expr(e)] => e.clone(),
                _ => expr(value.column(), ExprKind::Paren(Box::new(value))),
            };
            let left = expr(column, ExprKind::Var(name.clone()));
            value = Pipeline {
                stages: vec![Stage::Expr(expr(
                    column,
                    ExprKind::Binary(BinOp::Add, Box::new(left), Box::new(right)),
                ))],
            };
        }
        Ok(Some(Statement::Assign {
            name,
            column,
            value,
        }))
    }

    /// Whether `.Name = ` or `[i] = ` follows (an assignment to a member).
    fn assigns_to_member(&self) -> bool {
        let mut i = 0;
        while let Some(c) = self.c.peek_at(i) {
            match c {
                '=' => return self.c.peek_at(i + 1) != Some('='),
                '\n' | ';' | '|' | '-' | '(' | '{' => return false,
                _ => i += 1,
            }
        }
        false
    }

    fn condition(&mut self) -> Result<Pipeline, ParseError> {
        self.c.skip_space(true);
        self.expect('(', "before the condition")?;
        self.c.skip_space(true);
        let condition = self.pipeline()?;
        self.c.skip_space(true);
        self.expect(')', "after the condition")?;
        Ok(condition)
    }

    fn body(&mut self) -> Result<Script, ParseError> {
        self.c.skip_space(true);
        if self.c.peek() != Some('{') {
            return Err(err(self.c.column(), "expected `{` and a block"));
        }
        let block = self.block()?;
        block.body.clone()
    }

    fn if_statement(&mut self) -> Result<Statement, ParseError> {
        self.c.pos += 2;
        let mut branches = vec![(self.condition()?, self.body()?)];
        let mut otherwise = None;
        loop {
            let before = self.c.pos;
            self.c.skip_space(true);
            if self.c.at_keyword("elseif") {
                self.c.pos += 6;
                branches.push((self.condition()?, self.body()?));
            } else if self.c.at_keyword("else") {
                self.c.pos += 4;
                otherwise = Some(self.body()?);
                break;
            } else {
                self.c.pos = before;
                break;
            }
        }
        Ok(Statement::If {
            branches,
            otherwise,
        })
    }

    fn foreach_statement(&mut self) -> Result<Statement, ParseError> {
        self.c.pos += 7;
        self.c.skip_space(true);
        self.expect('(', "after `foreach`")?;
        self.c.skip_space(true);
        if self.c.peek() != Some('$') {
            return Err(err(
                self.c.column(),
                "expected the loop variable, as in `foreach ($m in $mailboxes)`",
            ));
        }
        let variable = self.c.variable()?;
        self.c.skip_space(true);
        if !self.c.at_keyword("in") {
            return Err(err(
                self.c.column(),
                "expected `in` after the loop variable",
            ));
        }
        self.c.pos += 2;
        self.c.skip_space(true);
        let collection = self.pipeline()?;
        self.c.skip_space(true);
        self.expect(')', "after the collection")?;
        let body = self.body()?;
        Ok(Statement::Foreach {
            variable,
            collection,
            body,
        })
    }

    fn pipeline(&mut self) -> Result<Pipeline, ParseError> {
        let mut stages = vec![self.stage()?];
        loop {
            self.c.skip_space(false);
            if self.c.peek() != Some('|') {
                break;
            }
            let bar = self.c.column();
            self.c.pos += 1;
            self.c.skip_space(true);
            if ends_arguments(self.c.peek()) {
                return Err(err(
                    if self.c.peek() == Some('|') {
                        self.c.column()
                    } else {
                        bar
                    },
                    "an empty pipe element is not allowed",
                ));
            }
            let stage = self.stage()?;
            if let Stage::Expr(e) = &stage {
                return Err(err(
                    e.column,
                    "expressions are only allowed as the first element of a pipeline",
                ));
            }
            stages.push(stage);
        }
        Ok(Pipeline { stages })
    }

    fn stage(&mut self) -> Result<Stage, ParseError> {
        self.c.skip_space(false);
        let column = self.c.column();
        match self.c.peek() {
            Some('|') => Err(err(column, "an empty pipe element is not allowed")),
            Some('&') => Err(err(column, unsupported("&"))),
            Some('.') if self.c.peek_at(1).is_some_and(char::is_whitespace) => {
                Err(err(column, unsupported(". (dot-sourcing)")))
            }
            Some(c)
                if c.is_alphabetic()
                    || ((c == '%' || c == '?') && self.c.peek_at(1).is_none_or(ends_word)) =>
            {
                self.command().map(Stage::Command)
            }
            _ => self.expression().map(Stage::Expr),
        }
    }

    fn command(&mut self) -> Result<Command, ParseError> {
        let column = self.c.column();
        let name = self.c.bare();
        let mut args = Vec::new();
        loop {
            self.c.skip_space(false);
            let at = self.c.column();
            match (self.c.peek(), self.c.peek_at(1)) {
                (c, _) if ends_arguments(c) => break,
                (Some('-'), Some(n)) if n.is_alphabetic() => {
                    let param = self.c.dash_word();
                    let value = match self.c.peek() {
                        Some(':') => {
                            self.c.pos += 1;
                            if self
                                .c
                                .peek()
                                .is_none_or(|c| c.is_whitespace() || ends_arguments(Some(c)))
                            {
                                return Err(err(
                                    self.c.column(),
                                    format!("`-{param}:` needs a value after the colon"),
                                ));
                            }
                            Some(self.arg_value()?)
                        }
                        Some(c) if !ends_word(c) => {
                            return Err(err(
                                self.c.column(),
                                format!("unexpected `{c}` in parameter name `-{param}`"),
                            ));
                        }
                        _ if super::cmdlets::is_switch(&name, &param) => None,
                        _ => {
                            self.c.skip_space(false);
                            match (self.c.peek(), self.c.peek_at(1)) {
                                (c, _) if ends_arguments(c) => None,
                                (Some('-'), Some(n)) if n.is_alphabetic() => None,
                                (Some(','), _) => {
                                    return Err(err(
                                        self.c.column(),
                                        format!("`-{param}` needs a value before the comma"),
                                    ));
                                }
                                _ => Some(self.arg_value()?),
                            }
                        }
                    };
                    args.push(Arg::Named {
                        name: param,
                        column: at,
                        value,
                    });
                }
                (Some('@'), Some(n)) if n.is_alphanumeric() || n == '_' => {
                    self.c.pos += 1;
                    args.push(Arg::Splat {
                        name: self.c.name(),
                        column: at,
                    });
                }
                (Some(','), _) => return Err(err(at, "unexpected comma")),
                _ => args.push(Arg::Positional(self.arg_value()?)),
            }
        }
        Ok(Command { name, column, args })
    }

    /// A value in argument position, or a comma list of them.
    fn arg_value(&mut self) -> Result<Expr, ParseError> {
        let first = self.arg_primary()?;
        self.list_rest(first, Self::arg_primary)
    }

    fn list_rest(
        &mut self,
        first: Expr,
        mut item: impl FnMut(&mut Self) -> Result<Expr, ParseError>,
    ) -> Result<Expr, ParseError> {
        let before = self.c.pos;
        self.c.skip_space(false);
        if self.c.peek() != Some(',') {
            self.c.pos = before;
            return Ok(first);
        }
        let column = first.column;
        let mut items = vec![first];
        while self.c.peek() == Some(',') {
            let comma = self.c.column();
            self.c.pos += 1;
            self.c.skip_space(true);
            if ends_arguments(self.c.peek()) || self.c.peek() == Some(',') {
                return Err(err(comma, "the list ends with a comma"));
            }
            items.push(item(self)?);
            let before = self.c.pos;
            self.c.skip_space(false);
            if self.c.peek() != Some(',') {
                self.c.pos = before;
            }
        }
        Ok(expr(column, ExprKind::List(items)))
    }

    fn arg_primary(&mut self) -> Result<Expr, ParseError> {
        let column = self.c.column();
        match (self.c.peek(), self.c.peek_at(1)) {
            (Some('\'' | '"' | '$' | '(' | '{'), _) | (Some('@'), Some('(' | '{')) => {
                let primary = self.primary()?;
                self.postfix(primary)
            }
            _ => {
                let word = self.c.bare();
                if word.is_empty() {
                    let c = self.c.peek().unwrap_or(' ');
                    return Err(err(column, format!("unexpected `{c}`")));
                }
                // A plain integer is a number, as PowerShell reads it.
                Ok(match word.parse::<i64>() {
                    Ok(n) if n.to_string() == word => expr(column, ExprKind::Int(n)),
                    _ => expr(column, ExprKind::Bare(word)),
                })
            }
        }
    }

    /// A dash word at the cursor (`-eq`), without moving.
    fn peek_dash_word(&self) -> Option<String> {
        if self.c.peek() != Some('-') || !self.c.peek_at(1).is_some_and(char::is_alphabetic) {
            return None;
        }
        let word: String = (1..)
            .map_while(|i| {
                self.c
                    .peek_at(i)
                    .filter(|c| c.is_alphanumeric() || *c == '_')
            })
            .collect();
        Some(word)
    }

    fn expression(&mut self) -> Result<Expr, ParseError> {
        self.deeper()?;
        let mut left = self.compare()?;
        loop {
            self.c.skip_space(false);
            let op = match self.peek_dash_word().map(|w| w.to_ascii_lowercase()) {
                Some(w) if w == "and" => BinOp::And,
                Some(w) if w == "or" => BinOp::Or,
                _ => break,
            };
            self.c.dash_word();
            self.c.skip_space(true);
            let right = self.compare()?;
            left = expr(
                left.column,
                ExprKind::Binary(op, Box::new(left), Box::new(right)),
            );
        }
        self.depth -= 1;
        Ok(left)
    }

    fn compare(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.additive()?;
        loop {
            self.c.skip_space(false);
            let column = self.c.column();
            let Some(word) = self.peek_dash_word() else {
                break;
            };
            let lower = word.to_ascii_lowercase();
            if lower == "and" || lower == "or" {
                break;
            }
            let Some((op, case_sensitive)) = Operator::parse(&word) else {
                if UNSUPPORTED_OPERATORS.contains(&lower.as_str()) {
                    return Err(err(column, unsupported(&format!("-{word}"))));
                }
                return Err(err(column, format!("`-{word}` is not an operator; use -eq -ne -gt -lt -ge -le -like -notlike -match -notmatch -contains -notcontains -in -notin -and -or -not")));
            };
            self.c.dash_word();
            self.c.skip_space(true);
            if ends_arguments(self.c.peek()) {
                return Err(err(column, "the operator needs a value to compare with"));
            }
            let right = self.additive()?;
            left = expr(
                left.column,
                ExprKind::Binary(
                    BinOp::Compare(op, case_sensitive),
                    Box::new(left),
                    Box::new(right),
                ),
            );
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.multiplicative()?;
        loop {
            let before = self.c.pos;
            self.c.skip_space(false);
            let op = match (self.c.peek(), self.c.peek_at(1)) {
                (Some('+'), Some(n)) if n != '=' => BinOp::Add,
                (Some('-'), Some(n))
                    if n.is_whitespace() || n.is_ascii_digit() || n == '$' || n == '(' =>
                {
                    BinOp::Sub
                }
                _ => {
                    self.c.pos = before;
                    break;
                }
            };
            self.c.pos += 1;
            self.c.skip_space(true);
            let right = self.multiplicative()?;
            left = expr(
                left.column,
                ExprKind::Binary(op, Box::new(left), Box::new(right)),
            );
        }
        Ok(left)
    }

    fn multiplicative(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.list()?;
        loop {
            let before = self.c.pos;
            self.c.skip_space(false);
            let op = match self.c.peek() {
                Some('*') => BinOp::Mul,
                Some('/') => BinOp::Div,
                _ => {
                    self.c.pos = before;
                    break;
                }
            };
            self.c.pos += 1;
            self.c.skip_space(true);
            let right = self.list()?;
            left = expr(
                left.column,
                ExprKind::Binary(op, Box::new(left), Box::new(right)),
            );
        }
        Ok(left)
    }

    fn list(&mut self) -> Result<Expr, ParseError> {
        let first = self.unary()?;
        self.list_rest(first, Self::unary)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.c.skip_space(false);
        let column = self.c.column();
        if self.c.peek() == Some('!') {
            self.c.pos += 1;
            self.deeper()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(expr(column, ExprKind::Not(Box::new(inner))));
        }
        match self.peek_dash_word().map(|w| w.to_ascii_lowercase()) {
            Some(w) if w == "not" => {
                self.c.dash_word();
                self.c.skip_space(true);
                self.deeper()?;
                let inner = self.unary()?;
                self.depth -= 1;
                return Ok(expr(column, ExprKind::Not(Box::new(inner))));
            }
            Some(w) => {
                let message = if UNSUPPORTED_OPERATORS.contains(&w.as_str()) {
                    unsupported(&format!("-{w}"))
                } else {
                    format!("expected a value; found `-{w}`")
                };
                return Err(err(column, message));
            }
            None => {}
        }
        if self.c.peek() == Some('-') {
            self.c.pos += 1;
            self.deeper()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(expr(column, ExprKind::Neg(Box::new(inner))));
        }
        let primary = self.primary()?;
        self.postfix(primary)
    }

    fn postfix(&mut self, mut e: Expr) -> Result<Expr, ParseError> {
        loop {
            match (self.c.peek(), self.c.peek_at(1)) {
                (Some('.'), Some(n)) if n.is_alphabetic() || n == '_' => {
                    self.c.pos += 1;
                    let name_column = self.c.column();
                    let name = self.c.name();
                    if self.c.peek() == Some('(') {
                        return Err(err(
                            name_column,
                            unsupported(&format!(".{name}() (calling a method)")),
                        ));
                    }
                    e = expr(e.column, ExprKind::Member(Box::new(e), name));
                }
                (Some('['), _) => {
                    self.c.pos += 1;
                    self.c.skip_space(true);
                    let index = self.expression()?;
                    self.c.skip_space(true);
                    self.expect(']', "after the index")?;
                    e = expr(e.column, ExprKind::Index(Box::new(e), Box::new(index)));
                }
                _ => return Ok(e),
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let column = self.c.column();
        let Some(c) = self.c.peek() else {
            return Err(err(column, "expected a value; found the end"));
        };
        match (c, self.c.peek_at(1)) {
            ('\'', _) => Ok(expr(column, ExprKind::Str(self.c.single_quoted()?))),
            ('"', _) => self.double_quoted(),
            ('$', Some('(')) => {
                self.c.pos += 2;
                let script = self.script(Some(')'))?;
                self.expect(')', "to close `$(`")?;
                Ok(expr(column, ExprKind::Sub(script)))
            }
            ('$', _) => Ok(expr(column, ExprKind::Var(self.c.variable()?))),
            ('@', Some('(')) => {
                self.c.pos += 2;
                let script = self.script(Some(')'))?;
                self.expect(')', "to close `@(`")?;
                Ok(expr(column, ExprKind::Array(script)))
            }
            ('@', Some('{')) => self.hashtable(),
            ('(', _) => {
                self.c.pos += 1;
                self.c.skip_space(true);
                if self.c.peek() == Some(')') {
                    return Err(err(column, "expected a value inside the parentheses"));
                }
                self.deeper()?;
                let pipeline = self.pipeline()?;
                self.depth -= 1;
                self.c.skip_space(true);
                self.expect(')', "to close `(`")?;
                Ok(match pipeline.stages.as_slice() {
                    [Stage::Expr(e)] => e.clone(),
                    _ => expr(column, ExprKind::Paren(Box::new(pipeline))),
                })
            }
            ('{', _) => Ok(expr(column, ExprKind::Block(Rc::new(self.block()?)))),
            ('[', _) => Err(err(column, unsupported("[type]"))),
            (c, _) if c.is_ascii_digit() => match self.c.number() {
                Some(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                    Ok(expr(column, ExprKind::Int(n as i64)))
                }
                Some(n) => Ok(expr(column, ExprKind::Num(n))),
                None => Err(err(column, format!("`{}` is not a number", self.c.bare()))),
            },
            _ => {
                let word = self.c.bare();
                let word = if word.is_empty() { c.to_string() } else { word };
                Err(err(
                    column,
                    format!("unexpected `{word}`; a command inside an expression needs parentheses, as in `(Get-Mailbox).Count`"),
                ))
            }
        }
    }

    fn double_quoted(&mut self) -> Result<Expr, ParseError> {
        let column = self.c.column();
        let raw = self.c.double_quoted()?;
        let mut parts = Vec::new();
        for part in raw {
            parts.push(match part {
                RawPart::Text(t) => Part::Text(t),
                RawPart::Var(name, at) => Part::Expr(expr(at, ExprKind::Var(name))),
                RawPart::Sub(open, close) => {
                    let (pos, limit) = (self.c.pos, self.c.limit);
                    self.c.pos = open + 1;
                    self.c.limit = close;
                    let script = self.script(None);
                    self.c.pos = pos;
                    self.c.limit = limit;
                    Part::Expr(expr(open, ExprKind::Sub(script?)))
                }
            });
        }
        if parts.iter().all(|p| matches!(p, Part::Text(_))) {
            let text = parts
                .into_iter()
                .map(|p| match p {
                    Part::Text(t) => t,
                    Part::Expr(_) => String::new(),
                })
                .collect();
            return Ok(expr(column, ExprKind::Str(text)));
        }
        Ok(expr(column, ExprKind::Expandable(parts)))
    }

    fn hashtable(&mut self) -> Result<Expr, ParseError> {
        let column = self.c.column();
        self.c.pos += 2;
        let mut pairs = Vec::new();
        loop {
            self.c.skip_separators();
            let at = self.c.column();
            let key = match self.c.peek() {
                None => return Err(err(column, "the hashtable starting here has no closing }")),
                Some('}') => {
                    self.c.pos += 1;
                    break;
                }
                Some('\'') => self.c.single_quoted()?,
                Some('"') => match self.double_quoted()?.kind {
                    ExprKind::Str(s) => s,
                    _ => return Err(err(at, "a hashtable key can't hold variables")),
                },
                Some(c) if c.is_alphanumeric() || c == '_' => self.c.name(),
                Some(c) => return Err(err(at, format!("expected a key; found `{c}`"))),
            };
            self.c.skip_space(false);
            self.expect('=', &format!("after the key `{key}`"))?;
            self.c.skip_space(true);
            let value = self.pipeline()?;
            let value = match value.stages.as_slice() {
                [Stage::Expr(e)] => e.clone(),
                _ => expr(value.column(), ExprKind::Paren(Box::new(value))),
            };
            pairs.push((key, value));
            self.c.skip_space(false);
            match self.c.peek() {
                Some(';' | '\n' | '}') => {}
                Some(c) => {
                    return Err(err(
                        self.c.column(),
                        format!("unexpected `{c}` in the hashtable"),
                    ))
                }
                None => return Err(err(column, "the hashtable starting here has no closing }")),
            }
        }
        Ok(expr(column, ExprKind::Hash(pairs)))
    }

    /// `{ … }` at the cursor: its text, and its statements when they parse.
    fn block(&mut self) -> Result<Block, ParseError> {
        let column = self.c.column();
        let close = self.c.closing_brace()?;
        let text = self.c.text(self.c.pos + 1, close).trim().to_owned();
        let (limit, depth) = (self.c.limit, self.depth);
        self.c.limit = close;
        self.c.pos += 1;
        let body = self.script(None);
        self.c.limit = limit;
        self.depth = depth;
        self.c.pos = close + 1;
        Ok(Block { text, body, column })
    }
}

/// Asserts that each `(text, column, message)` fails at `column` with a
/// message containing `message`.
#[cfg(test)]
pub(crate) fn expect_errors<T: fmt::Debug>(
    parse: impl Fn(&str) -> Result<T, ParseError>,
    cases: &[(&str, usize, &str)],
) {
    for (text, column, message) in cases {
        let e = parse(text).expect_err(text);
        assert_eq!(e.column, *column, "{text}: {e}");
        assert!(e.message.contains(message), "{text}: {e}");
    }
}
