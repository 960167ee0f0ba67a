//! Parameter binding: the values a caller sent, checked against a cmdlet's
//! declared parameters before anything else happens.

use super::parameters::Kind;
use super::registry::Cmdlet;
use super::CmdletError;

/// A parameter value as the shell binds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string.
    Text(String),
    /// A comma list.
    List(Vec<String>),
    /// `$true` / `$false`.
    Bool(bool),
    /// A switch given without a value.
    Switch,
}

impl Value {
    /// The value as the audit log and error messages show it.
    pub fn display(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::List(l) => l.join(","),
            Self::Bool(b) => format!("${b}"),
            Self::Switch => "$true".to_owned(),
        }
    }
}

/// Parameters bound to a cmdlet: canonical names, checked kinds.
#[derive(Debug, Clone, Default)]
pub struct Args {
    values: Vec<(&'static str, Value)>,
}

fn invalid(parameter: &str, reason: impl Into<String>) -> CmdletError {
    CmdletError::InvalidValue {
        parameter: parameter.to_owned(),
        reason: reason.into(),
    }
}

impl Args {
    /// Binds `given` (name, value; an empty name is positional) to `spec`.
    pub fn bind(spec: &Cmdlet, given: Vec<(String, Value)>) -> Result<Self, CmdletError> {
        let mut values: Vec<(&'static str, Value)> = Vec::new();
        for (name, value) in given {
            let param = if name.is_empty() {
                let Some(positional) = spec.positional else {
                    return Err(CmdletError::Positional {
                        cmdlet: spec.name.to_owned(),
                        value: value.display(),
                    });
                };
                spec.parameter(positional)
            } else {
                spec.parameter(&name)
            }
            .ok_or_else(|| CmdletError::UnknownParameter {
                cmdlet: spec.name.to_owned(),
                parameter: name.clone(),
                valid: spec
                    .parameters
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            if values.iter().any(|(n, _)| *n == param.name) {
                return Err(invalid(
                    param.name,
                    "the parameter was given more than once",
                ));
            }
            let value = match (param.kind, value) {
                (Kind::Switch, Value::Switch) => Value::Switch,
                (Kind::Switch, Value::Bool(b)) => Value::Bool(b),
                (Kind::Switch, other) => {
                    return Err(invalid(
                        param.name,
                        format!("is a switch; got `{}`", other.display()),
                    ))
                }
                (Kind::Bool, Value::Bool(b)) => Value::Bool(b),
                (Kind::Bool, Value::Text(t)) => {
                    Value::Bool(match t.to_ascii_lowercase().as_str() {
                        "true" | "$true" | "1" => true,
                        "false" | "$false" | "0" => false,
                        _ => {
                            return Err(invalid(
                                param.name,
                                format!("expects $true or $false; got `{t}`"),
                            ))
                        }
                    })
                }
                (Kind::Bool, other) => {
                    return Err(invalid(
                        param.name,
                        format!("expects $true or $false; got `{}`", other.display()),
                    ))
                }
                (Kind::Text, Value::Text(t)) => Value::Text(t),
                (Kind::Text, Value::List(l)) if l.len() == 1 => {
                    Value::Text(l.into_iter().next().unwrap_or_default())
                }
                (Kind::Text, other) => {
                    return Err(invalid(
                        param.name,
                        format!("expects one value; got `{}`", other.display()),
                    ))
                }
                (Kind::List, Value::Text(t)) => Value::List(vec![t]),
                (Kind::List, Value::List(l)) => Value::List(l),
                (Kind::List, other) => {
                    return Err(invalid(
                        param.name,
                        format!("expects a list; got `{}`", other.display()),
                    ))
                }
            };
            if let Value::Text(t) = &value {
                check_text(param.name, t)?;
            }
            if let Value::List(l) = &value {
                for t in l {
                    check_text(param.name, t)?;
                }
            }
            values.push((param.name, value));
        }
        for required in spec.parameters.iter().filter(|p| p.required) {
            if !values.iter().any(|(n, _)| *n == required.name) {
                return Err(CmdletError::MissingParameter {
                    cmdlet: spec.name.to_owned(),
                    parameter: required.name.to_owned(),
                });
            }
        }
        Ok(Self { values })
    }

    /// Names of the parameters given, canonical.
    pub fn names(&self) -> Vec<String> {
        self.values.iter().map(|(n, _)| (*n).to_owned()).collect()
    }

    /// Every (name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.values.iter().map(|(n, v)| (*n, v))
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.values
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// A text parameter.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// A required text parameter (bound as required, or checked here).
    pub fn required(&self, name: &str, cmdlet: &str) -> Result<&str, CmdletError> {
        self.text(name)
            .ok_or_else(|| CmdletError::MissingParameter {
                cmdlet: cmdlet.to_owned(),
                parameter: name.to_owned(),
            })
    }

    /// A list parameter.
    pub fn list(&self, name: &str) -> Option<&[String]> {
        match self.get(name) {
            Some(Value::List(l)) => Some(l),
            _ => None,
        }
    }

    /// Whether a switch is on.
    pub fn switch(&self, name: &str) -> bool {
        matches!(self.get(name), Some(Value::Switch | Value::Bool(true)))
    }

    /// A boolean parameter.
    pub fn boolean(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// Whether the parameter was given.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Longest string accepted in a parameter value (one home for the limit:
/// the server edge refuses the same before anything is logged).
pub const MAX_VALUE_LEN: usize = crossforest_shared::limits::MAX_VALUE;

fn check_text(parameter: &str, text: &str) -> Result<(), CmdletError> {
    if text.len() > MAX_VALUE_LEN {
        return Err(invalid(
            parameter,
            format!("is longer than {MAX_VALUE_LEN} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid(parameter, "contains control characters"));
    }
    // Bidi overrides and invisible characters make look-alike names in
    // every listing and log.
    if let Err(e) = crossforest_shared::text::check_name(parameter, text) {
        return Err(invalid(
            parameter,
            format!(
                "contains {} (U+{:04X}), which would disguise what it says",
                e.what, e.code
            ),
        ));
    }
    Ok(())
}
