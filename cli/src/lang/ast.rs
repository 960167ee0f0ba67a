//! The syntax tree of a script. Every node that an error can be about
//! carries the 1-based column (a character offset into the script text) of
//! its first character. `Display` writes a node back as source that parses
//! to the same tree.

use std::fmt;
use std::rc::Rc;

use resource_forest::rbac::compare::Operator;

use super::parser::ParseError;

/// Statements in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    /// The statements.
    pub statements: Vec<Statement>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// A pipeline (one command or one expression is a pipeline of one).
    Pipeline(Pipeline),
    /// `$name = pipeline`.
    Assign {
        /// The variable, without `$`.
        name: String,
        /// Column of `$`.
        column: usize,
        /// The value.
        value: Pipeline,
    },
    /// `if (…) {…} elseif (…) {…} else {…}`.
    If {
        /// Conditions and their blocks.
        branches: Vec<(Pipeline, Script)>,
        /// The `else` block.
        otherwise: Option<Script>,
    },
    /// `foreach ($item in …) {…}`.
    Foreach {
        /// The loop variable, without `$`.
        variable: String,
        /// What is iterated.
        collection: Pipeline,
        /// The body.
        body: Script,
    },
    /// `exit [code]`.
    Exit(Option<Expr>),
}

impl Statement {
    /// Column of the statement's first character.
    pub fn column(&self) -> usize {
        match self {
            Statement::Pipeline(p) => p.column(),
            Statement::Assign { column, .. } => *column,
            Statement::If { branches, .. } => branches.first().map_or(1, |(p, _)| p.column()),
            Statement::Foreach { collection, .. } => collection.column(),
            Statement::Exit(e) => e.as_ref().map_or(1, |e| e.column),
        }
    }
}

/// Stages joined by `|`; never empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// The stages.
    pub stages: Vec<Stage>,
}

impl Pipeline {
    /// Column of the first stage.
    pub fn column(&self) -> usize {
        match self.stages.first() {
            Some(Stage::Command(c)) => c.column,
            Some(Stage::Expr(e)) => e.column,
            None => 1,
        }
    }
}

/// One stage of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// A command and its arguments.
    Command(Command),
    /// An expression (first stage only).
    Expr(Expr),
}

/// `Name -Param value positional …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The name as typed.
    pub name: String,
    /// Its column.
    pub column: usize,
    /// The arguments in order.
    pub args: Vec<Arg>,
}

impl Command {
    /// The column of the parameter named `name` (case-insensitive).
    pub fn column_of(&self, name: &str) -> Option<usize> {
        self.args.iter().find_map(|a| match a {
            Arg::Named {
                name: n, column, ..
            } if n.eq_ignore_ascii_case(name) => Some(*column),
            _ => None,
        })
    }
}

/// One argument of a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// `-Name`, `-Name value` or `-Name:value`.
    Named {
        /// The name, without `-`.
        name: String,
        /// Column of `-`.
        column: usize,
        /// The value; `None` for a switch.
        value: Option<Expr>,
    },
    /// A value without a name.
    Positional(Expr),
    /// `@name`: a hashtable's keys and values as named parameters.
    Splat {
        /// The variable.
        name: String,
        /// Column of `@`.
        column: usize,
    },
}

/// An expression and its column.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// Column of its first character.
    pub column: usize,
    /// What it is.
    pub kind: ExprKind,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A string without variables.
    Str(String),
    /// A bare word in argument position (`d*`, `contoso.com/Sales`).
    Bare(String),
    /// `"text $var $($x.Name)"`.
    Expandable(Vec<Part>),
    /// An integer.
    Int(i64),
    /// A number with a fraction.
    Num(f64),
    /// `$name` (`$true`, `$false`, `$null` and `$_` included).
    Var(String),
    /// `expr.Name`.
    Member(Box<Expr>, String),
    /// `expr[index]`.
    Index(Box<Expr>, Box<Expr>),
    /// `@( … )`.
    Array(Script),
    /// `$( … )`.
    Sub(Script),
    /// `( pipeline )`.
    Paren(Box<Pipeline>),
    /// `@{ Key = value; … }`.
    Hash(Vec<(String, Expr)>),
    /// `{ … }`.
    Block(Rc<Block>),
    /// `a, b, c`.
    List(Vec<Expr>),
    /// A binary operator.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `-not x` / `!x`.
    Not(Box<Expr>),
    /// `-x`.
    Neg(Box<Expr>),
}

/// A piece of an expandable string.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// A variable or `$( … )`.
    Expr(Expr),
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BinOp {
    /// A comparison, and whether it is case-sensitive.
    Compare(Operator, bool),
    /// `-and`.
    And,
    /// `-or`.
    Or,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
}

impl fmt::Display for BinOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BinOp::Compare(op, true) => write!(f, "-c{}", op.name()),
            BinOp::Compare(op, false) => write!(f, "{op}"),
            BinOp::And => f.write_str("-and"),
            BinOp::Or => f.write_str("-or"),
            BinOp::Add => f.write_str("+"),
            BinOp::Sub => f.write_str("-"),
            BinOp::Mul => f.write_str("*"),
            BinOp::Div => f.write_str("/"),
        }
    }
}

/// A script block: its text (what a cmdlet of the resource forest receives,
/// as an OPATH filter) and, when it parses, its statements.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The text between the braces, trimmed.
    pub text: String,
    /// The statements, or why the text is not a script.
    pub body: Result<Script, ParseError>,
    /// Column of `{`.
    pub column: usize,
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn join<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T], sep: &str) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        join(f, &self.statements, "; ")
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::Pipeline(p) => write!(f, "{p}"),
            Statement::Assign { name, value, .. } => write!(f, "${name} = {value}"),
            Statement::If {
                branches,
                otherwise,
            } => {
                for (i, (condition, body)) in branches.iter().enumerate() {
                    let keyword = if i == 0 { "if" } else { " elseif" };
                    write!(f, "{keyword} ({condition}) {{ {body} }}")?;
                }
                match otherwise {
                    Some(body) => write!(f, " else {{ {body} }}"),
                    None => Ok(()),
                }
            }
            Statement::Foreach {
                variable,
                collection,
                body,
            } => write!(f, "foreach (${variable} in {collection}) {{ {body} }}"),
            Statement::Exit(None) => f.write_str("exit"),
            Statement::Exit(Some(code)) => write!(f, "exit {code}"),
        }
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        join(f, &self.stages, " | ")
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Command(c) => write!(f, "{c}"),
            Stage::Expr(e) => write!(f, "{e}"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for arg in &self.args {
            match arg {
                Arg::Named {
                    name, value: None, ..
                } => write!(f, " -{name}")?,
                Arg::Named {
                    name,
                    value: Some(v),
                    ..
                } => write!(f, " -{name}:{v}")?,
                Arg::Positional(v) => write!(f, " {v}")?,
                Arg::Splat { name, .. } => write!(f, " @{name}")?,
            }
        }
        Ok(())
    }
}

/// An expression written as the operand of a unary operator or of `.` and
/// `[]`: a list in parentheses (the comma binds looser than they do).
struct Operand<'a>(&'a Expr);

impl fmt::Display for Operand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.kind {
            ExprKind::List(_) => write!(f, "({})", self.0),
            _ => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Str(s) => f.write_str(&quote(s)),
            ExprKind::Bare(s) => f.write_str(s),
            ExprKind::Expandable(parts) => {
                f.write_str("\"")?;
                for part in parts {
                    match part {
                        Part::Text(t) => {
                            for c in t.chars() {
                                if matches!(c, '"' | '`' | '$') {
                                    f.write_str("`")?;
                                }
                                write!(f, "{c}")?;
                            }
                        }
                        Part::Expr(Expr {
                            kind: ExprKind::Var(name),
                            ..
                        }) => write!(f, "${{{name}}}")?,
                        Part::Expr(e) => write!(f, "{e}")?,
                    }
                }
                f.write_str("\"")
            }
            ExprKind::Int(n) => write!(f, "{n}"),
            ExprKind::Num(n) => write!(f, "{n:?}"),
            ExprKind::Var(name) => write!(f, "${name}"),
            ExprKind::Member(e, name) => write!(f, "{}.{name}", Operand(e)),
            ExprKind::Index(e, i) => write!(f, "{}[{i}]", Operand(e)),
            ExprKind::Array(s) => write!(f, "@({s})"),
            ExprKind::Sub(s) => write!(f, "$({s})"),
            ExprKind::Paren(p) => write!(f, "({p})"),
            ExprKind::Hash(pairs) => {
                f.write_str("@{")?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{} = {v}", quote(k))?;
                }
                f.write_str("}")
            }
            ExprKind::Block(b) => write!(f, "{{ {} }}", b.text),
            ExprKind::List(items) => join(f, items, ", "),
            ExprKind::Binary(op, a, b) => write!(f, "({a} {op} {b})"),
            ExprKind::Not(e) => write!(f, "(-not {})", Operand(e)),
            ExprKind::Neg(e) => write!(f, "(-{})", Operand(e)),
        }
    }
}
