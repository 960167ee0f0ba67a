//! Evaluating statements and expressions: variables, operators, `if`,
//! `foreach`, script blocks with `$_`. Pipelines run in [`crate::pipeline`].
//! Failures are reported where they happen ([`Frame::report`]) and decide
//! whether the script goes on, as `-ErrorAction` and
//! `$ErrorActionPreference` say.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::rc::Rc;

use resource_forest::cmdlets::ConfirmImpact;
use resource_forest::rbac::compare::Operator;

use super::ast::{BinOp, Block, Expr, ExprKind, Part, Script, Statement};
use super::cmdlets::select::Key;
use super::parser::pointer;
use super::values::Val;
use crate::host::Host;
use crate::output::View;
use crate::parse::ErrorAction;
use crate::session::Session;
use crate::shell::{Ended, EXIT_DENIED, EXIT_ERROR};

/// A boxed future: evaluation recurses (blocks hold pipelines hold blocks).
pub type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Why evaluation stopped early.
#[derive(Debug)]
pub enum Halt {
    /// A reported failure stops the script, with this exit code.
    Stop(u8),
    /// `exit`.
    Exit(u8),
    /// A terminating error (reported) ended the pipeline running.
    Pipeline,
    /// Ctrl-C stopped the statement at a record boundary: how many records
    /// of how many the outermost loop had processed, when it was one.
    Interrupted(Option<(usize, usize)>),
    /// Writing output failed.
    Io(std::io::Error),
}

impl From<std::io::Error> for Halt {
    fn from(e: std::io::Error) -> Self {
        Halt::Io(e)
    }
}

/// What evaluation returns.
pub type R<T> = Result<T, Halt>;

/// The shell's state across statements: variables,
/// `$ErrorActionPreference`, `$ConfirmPreference` and the terminal.
#[derive(Debug, Default)]
pub struct Runtime {
    variables: HashMap<String, Val>,
    /// `$ErrorActionPreference`, when set.
    pub preference: Option<ErrorAction>,
    /// `$ConfirmPreference`, when set (High otherwise).
    pub confirm_preference: Option<ConfirmImpact>,
    /// The terminal: confirmation prompts, Ctrl-C, progress.
    pub host: Host,
}

/// A confirm impact by its PowerShell name (`$ConfirmPreference`).
fn impact_named(name: &str) -> Result<ConfirmImpact, String> {
    [
        ConfirmImpact::None,
        ConfirmImpact::Low,
        ConfirmImpact::Medium,
        ConfirmImpact::High,
    ]
    .into_iter()
    .find(|i| format!("{i:?}").eq_ignore_ascii_case(name.trim()))
    .ok_or_else(|| format!("`$ConfirmPreference` is None, Low, Medium or High; got `{name}`"))
}

impl Runtime {
    /// The value of `$name` (`$null` when unset).
    pub fn get(&self, name: &str) -> Val {
        match name.to_ascii_lowercase().as_str() {
            "true" => Val::Bool(true),
            "false" => Val::Bool(false),
            "null" => Val::Null,
            "psitem" => self.get("_"),
            "erroractionpreference" => Val::Str(format!(
                "{:?}",
                self.preference.unwrap_or(ErrorAction::Stop)
            )),
            "confirmpreference" => Val::Str(format!("{:?}", self.confirms_from())),
            lower => self.variables.get(lower).cloned().unwrap_or(Val::Null),
        }
    }

    /// `$ConfirmPreference`: cmdlets of at least this impact ask before
    /// they change anything (`None`: none ask).
    pub fn confirms_from(&self) -> ConfirmImpact {
        self.confirm_preference.unwrap_or(ConfirmImpact::High)
    }

    /// Sets `$name`; `$ErrorActionPreference` takes an action's name,
    /// `$ConfirmPreference` an impact's.
    ///
    /// # Errors
    ///
    /// A read-only variable, or a value `$ErrorActionPreference` does not take.
    pub fn set(&mut self, name: &str, value: Val) -> Result<(), String> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            // `$null = …` discards, as in PowerShell.
            "null" => Ok(()),
            "true" | "false" => Err(format!("`${name}` can't be changed")),
            "erroractionpreference" => {
                self.preference = Some(ErrorAction::from_value(&value.to_string())?);
                Ok(())
            }
            "confirmpreference" => {
                self.confirm_preference = Some(impact_named(&value.to_string())?);
                Ok(())
            }
            "psitem" => {
                self.variables.insert("_".into(), value);
                Ok(())
            }
            _ => {
                self.variables.insert(lower, value);
                Ok(())
            }
        }
    }
}

/// A failure to report.
#[derive(Debug)]
pub struct Failure {
    /// Column the caret goes under (1: none).
    pub column: usize,
    /// The piped item the failed call ran for.
    pub item: Option<String>,
    /// What went wrong.
    pub message: String,
    /// Whether RBAC denied it (exit code 3).
    pub denied: bool,
}

/// Evaluation of one top-level statement: the runtime, the script text
/// (for carets) and where messages go.
pub struct Frame<'a> {
    /// The shell's state.
    pub rt: &'a mut Runtime,
    /// The session cmdlets of the resource forest run in (`None`: the
    /// shell's own cmdlets only).
    pub session: Option<&'a mut Session>,
    /// The script text columns refer to.
    pub text: &'a str,
    /// Where `Write-Host` writes.
    pub out: &'a mut dyn Write,
    /// Where warnings and errors go.
    pub err: &'a mut dyn Write,
    /// How the statement has gone so far.
    pub ended: Ended,
    /// How the output is laid out (`Format-List` …).
    pub view: View,
    /// Whether this top-level statement has opened its statement on the
    /// resource forest (R-SESSION-1), at its first cmdlet there.
    pub opened_statement: bool,
}

fn text(v: &Val) -> String {
    v.to_string()
}

/// `left -op right` for the comparison operators, as PowerShell: a
/// collection on the left filters (`-eq`) or is searched (`-contains`).
///
/// # Errors
///
/// An invalid regular expression for `-match`.
pub fn compare(op: Operator, case_sensitive: bool, left: &Val, right: &Val) -> Result<Val, String> {
    let (positive, negated) = op.split();
    let equal = |a: &Val, b: &Val| Operator::Eq.holds(&text(a), &text(b), case_sensitive);
    match positive {
        Operator::Contains => {
            let items = left.clone().into_items();
            let mut found = false;
            for item in &items {
                found |= equal(item, right)?;
            }
            Ok(Val::Bool(found != negated))
        }
        Operator::In => compare(
            if negated {
                Operator::NotContains
            } else {
                Operator::Contains
            },
            case_sensitive,
            right,
            left,
        ),
        _ => match left {
            Val::Array(items) => {
                let mut kept = Vec::new();
                for item in items {
                    if op.holds(&text(item), &text(right), case_sensitive)? {
                        kept.push(item.clone());
                    }
                }
                Ok(Val::Array(kept))
            }
            left => Ok(Val::Bool(op.holds(
                &text(left),
                &text(right),
                case_sensitive,
            )?)),
        },
    }
}

fn arithmetic(op: BinOp, left: Val, right: Val) -> Result<Val, String> {
    match (op, left, right) {
        (BinOp::Add, Val::Null, r) => Ok(r),
        (BinOp::Add, Val::Str(l), r) => Ok(Val::Str(format!("{l}{r}"))),
        (BinOp::Add, Val::Array(mut l), r) => {
            l.extend(r.into_items());
            Ok(Val::Array(l))
        }
        (BinOp::Add, Val::Hash(mut l), Val::Hash(r)) => {
            l.extend(r);
            Ok(Val::Hash(l))
        }
        (op, l, r) => {
            let (Some(a), Some(b)) = (l.as_number(), r.as_number()) else {
                return Err(format!("`{op}` needs numbers; got `{l}` and `{r}`"));
            };
            let n = match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                _ if b == 0.0 => return Err("division by zero".to_owned()),
                _ => a / b,
            };
            Ok(Val::number(n))
        }
    }
}

/// `result` of processing record `done` of `total`: stopped by Ctrl-C
/// inside it, the statement reports this loop's count (the outermost loop's,
/// once every loop has said its own).
pub fn outermost<T>(result: R<T>, done: usize, total: usize) -> R<T> {
    match result {
        Err(Halt::Interrupted(_)) => Err(Halt::Interrupted(Some((done, total)))),
        other => other,
    }
}

impl Frame<'_> {
    /// Reports a failure under `action` (else `$ErrorActionPreference`):
    /// shown unless silenced; the statement has then failed, and the script
    /// stops after it unless the action goes on.
    pub fn report(&mut self, failure: &Failure, action: Option<ErrorAction>) -> R<()> {
        let action = action.or(self.rt.preference);
        if !action.is_none_or(ErrorAction::reports) {
            return Ok(());
        }
        self.rt.host.clear_progress(self.err)?;
        let kind = if failure.denied { "DENIED" } else { "ERROR" };
        let message = match &failure.item {
            Some(item) => format!("{kind} ({item}): {}", failure.message),
            None => format!("{kind}: {}", failure.message),
        };
        if failure.column > 1 {
            writeln!(self.err, "{}", pointer(self.text, failure.column, &message))?;
        } else {
            writeln!(self.err, "{message}")?;
        }
        let code = if failure.denied {
            EXIT_DENIED
        } else {
            EXIT_ERROR
        };
        let goes_on = action.is_some_and(ErrorAction::goes_on)
            && !matches!(self.ended, Ended::Failed { goes_on: false, .. });
        self.ended = Ended::Failed { code, goes_on };
        Ok(())
    }

    /// Reports a failure of the shell itself (a bad value, a missing file)
    /// and ends the pipeline.
    pub fn fail<T>(
        &mut self,
        column: usize,
        message: impl Into<String>,
        action: Option<ErrorAction>,
    ) -> R<T> {
        let failure = Failure {
            column,
            item: None,
            message: message.into(),
            denied: false,
        };
        self.report(&failure, action)?;
        Err(Halt::Pipeline)
    }

    /// A record boundary: `done` of `total` records are processed; Ctrl-C
    /// stops the statement here.
    pub fn boundary(&self, done: usize, total: usize) -> R<()> {
        if self.rt.host.interrupted() {
            return Err(Halt::Interrupted(Some((done, total))));
        }
        Ok(())
    }

    fn check(&self) -> R<()> {
        match self.ended {
            Ended::Failed {
                code,
                goes_on: false,
            } => Err(Halt::Stop(code)),
            _ => Ok(()),
        }
    }

    /// Runs the statements of `script`; returns their output.
    pub fn script<'s>(&'s mut self, script: &'s Script) -> Fut<'s, R<Vec<Val>>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for statement in &script.statements {
                out.extend(self.statement(statement).await?);
            }
            Ok(out)
        })
    }

    /// Runs one statement; a failure that stops the script halts here.
    pub async fn statement(&mut self, statement: &Statement) -> R<Vec<Val>> {
        let out = match statement {
            Statement::Pipeline(p) => self.pipeline(p).await?,
            Statement::Assign {
                name,
                column,
                value,
            } => {
                let value = Val::from_items(self.pipeline(value).await?);
                if let Err(message) = self.rt.set(name, value) {
                    let failure = Failure {
                        column: *column,
                        item: None,
                        message,
                        denied: false,
                    };
                    self.report(&failure, None)?;
                }
                Vec::new()
            }
            Statement::If {
                branches,
                otherwise,
            } => {
                let mut chosen = otherwise.as_ref();
                for (condition, body) in branches {
                    if Val::from_items(self.pipeline(condition).await?).truthy() {
                        chosen = Some(body);
                        break;
                    }
                }
                match chosen {
                    Some(body) => self.script(body).await?,
                    None => Vec::new(),
                }
            }
            Statement::Foreach {
                variable,
                collection,
                body,
            } => {
                let items = self.pipeline(collection).await?;
                let total = items.len();
                let mut out = Vec::new();
                for (done, item) in items.into_iter().enumerate() {
                    self.boundary(done, total)?;
                    self.rt.set(variable, item).ok();
                    out.extend(outermost(self.script(body).await, done, total)?);
                }
                out
            }
            Statement::Exit(code) => {
                let code = match code {
                    Some(e) => self.expr(e).await?.as_number().unwrap_or(1.0) as u8,
                    None => 0,
                };
                return Err(Halt::Exit(code));
            }
        };
        self.check()?;
        Ok(out)
    }

    /// Runs `pipeline`; a terminating error in it ends it with no output.
    pub fn pipeline<'s>(&'s mut self, pipeline: &'s super::ast::Pipeline) -> Fut<'s, R<Vec<Val>>> {
        Box::pin(async move {
            match crate::pipeline::pipeline(self, pipeline).await {
                Err(Halt::Pipeline) => Ok(Vec::new()),
                other => other,
            }
        })
    }

    /// Runs a script block with `$_` set to `item`.
    pub async fn invoke(&mut self, block: &Rc<Block>, item: Option<Val>) -> R<Vec<Val>> {
        let body = match &block.body {
            Ok(body) => body,
            Err(e) => return self.fail(e.column, e.message.clone(), None),
        };
        let saved = self.rt.get("_");
        if let Some(item) = item {
            self.rt.set("_", item).ok();
        }
        let out = self.script(body).await;
        self.rt.set("_", saved).ok();
        out
    }

    /// A property or calculated value of `item`.
    pub async fn key(&mut self, item: &Val, key: &Key) -> R<Val> {
        match key {
            Key::Name(name) => Ok(item.member(name)),
            Key::Block(block) => Ok(Val::from_items(
                self.invoke(block, Some(item.clone())).await?,
            )),
        }
    }

    /// Evaluates an expression.
    pub fn expr<'s>(&'s mut self, e: &'s Expr) -> Fut<'s, R<Val>> {
        Box::pin(async move {
            Ok(match &e.kind {
                ExprKind::Str(s) | ExprKind::Bare(s) => Val::Str(s.clone()),
                ExprKind::Int(n) => Val::Int(*n),
                ExprKind::Num(n) => Val::Num(*n),
                ExprKind::Var(name) => self.rt.get(name),
                ExprKind::Expandable(parts) => {
                    let mut s = String::new();
                    for part in parts {
                        match part {
                            Part::Text(t) => s.push_str(t),
                            Part::Expr(e) => s.push_str(&self.expr(e).await?.to_string()),
                        }
                    }
                    Val::Str(s)
                }
                ExprKind::Member(target, name) => self.expr(target).await?.member(name),
                ExprKind::Index(target, index) => {
                    let target = self.expr(target).await?;
                    target.index(&self.expr(index).await?)
                }
                ExprKind::Array(script) => Val::Array(self.script(script).await?),
                ExprKind::Sub(script) => Val::from_items(self.script(script).await?),
                ExprKind::Paren(pipeline) => Val::from_items(self.pipeline(pipeline).await?),
                ExprKind::Hash(pairs) => {
                    let mut out = Vec::new();
                    for (k, v) in pairs {
                        out.push((k.clone(), self.expr(v).await?));
                    }
                    Val::Hash(out)
                }
                ExprKind::Block(b) => Val::Block(b.clone()),
                ExprKind::List(items) => {
                    let mut out = Vec::new();
                    for item in items {
                        out.push(self.expr(item).await?);
                    }
                    Val::Array(out)
                }
                ExprKind::Not(inner) => Val::Bool(!self.expr(inner).await?.truthy()),
                ExprKind::Neg(inner) => {
                    let v = self.expr(inner).await?;
                    match v.as_number() {
                        Some(n) => Val::number(-n),
                        None => {
                            return self.fail(
                                e.column,
                                format!("`-` needs a number; got `{v}`"),
                                None,
                            )
                        }
                    }
                }
                ExprKind::Binary(op, left, right) => {
                    self.binary(e.column, *op, left, right).await?
                }
            })
        })
    }

    async fn binary(&mut self, column: usize, op: BinOp, left: &Expr, right: &Expr) -> R<Val> {
        let l = self.expr(left).await?;
        let result = match op {
            BinOp::And if !l.truthy() => return Ok(Val::Bool(false)),
            BinOp::Or if l.truthy() => return Ok(Val::Bool(true)),
            BinOp::And | BinOp::Or => return Ok(Val::Bool(self.expr(right).await?.truthy())),
            BinOp::Compare(operator, case_sensitive) => {
                let r = self.expr(right).await?;
                compare(operator, case_sensitive, &l, &r)
            }
            op => {
                let r = self.expr(right).await?;
                arithmetic(op, l, r)
            }
        };
        match result {
            Ok(v) => Ok(v),
            Err(message) => self.fail(column, message, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Val {
        Val::Str(t.into())
    }

    #[test]
    fn comparisons_filter_collections_and_search_them() {
        let list = Val::Array(vec![s("a"), s("B"), s("c")]);
        assert_eq!(
            compare(Operator::Contains, false, &list, &s("b")),
            Ok(Val::Bool(true))
        );
        assert_eq!(
            compare(Operator::Contains, true, &list, &s("b")),
            Ok(Val::Bool(false))
        );
        assert_eq!(
            compare(Operator::NotContains, false, &list, &s("x")),
            Ok(Val::Bool(true))
        );
        assert_eq!(
            compare(Operator::In, false, &s("C"), &list),
            Ok(Val::Bool(true))
        );
        assert_eq!(
            compare(Operator::NotIn, false, &s("C"), &list),
            Ok(Val::Bool(false))
        );
        assert_eq!(
            compare(Operator::Ne, false, &list, &s("b")),
            Ok(Val::Array(vec![s("a"), s("c")]))
        );
        assert_eq!(
            compare(Operator::Gt, false, &Val::Int(10), &s("9")),
            Ok(Val::Bool(true))
        );
        assert_eq!(
            compare(Operator::Eq, false, &Val::Null, &s("")),
            Ok(Val::Bool(true))
        );
        assert!(compare(Operator::Match, false, &s("a"), &s("(")).is_err());
    }

    #[test]
    fn arithmetic_adds_numbers_strings_and_arrays() {
        assert_eq!(arithmetic(BinOp::Add, Val::Int(1), s("2")), Ok(Val::Int(3)));
        assert_eq!(arithmetic(BinOp::Add, s("a"), Val::Int(1)), Ok(s("a1")));
        assert_eq!(
            arithmetic(BinOp::Add, Val::Array(vec![Val::Int(1)]), Val::Int(2)),
            Ok(Val::Array(vec![Val::Int(1), Val::Int(2)]))
        );
        assert_eq!(
            arithmetic(BinOp::Add, Val::Null, Val::Int(2)),
            Ok(Val::Int(2))
        );
        assert_eq!(
            arithmetic(BinOp::Div, Val::Int(7), Val::Int(2)),
            Ok(Val::Num(3.5))
        );
        assert!(arithmetic(BinOp::Div, Val::Int(1), Val::Int(0)).is_err());
        assert!(arithmetic(BinOp::Mul, s("x"), Val::Int(2)).is_err());
    }
}
