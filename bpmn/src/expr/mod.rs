//! Expressions: FEEL (Camunda 8, `=` prefix) through dsntk, the simple JUEL forms of
//! Camunda 7 (`${amount > 1000}`), static values; JavaScript refused.
//!
//! JUEL is translated to FEEL text, so both dialects share one evaluator. dsntk's
//! evaluator is a `Box<dyn Fn + Send + Sync>`, shared behind an `Arc`.

mod feel;
mod json;
mod juel;
mod names;

#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::error::{Diagnostic, DiagnosticCode};
use crate::model::Expr;

use feel::FeelExpr;

/// Process variables: a JSON object.
pub type Vars = serde_json::Map<String, Value>;

/// Where an expression reads its variables.
pub trait Lookup {
    fn get(&self, name: &str) -> Option<&Value>;
}

impl Lookup for Vars {
    fn get(&self, name: &str) -> Option<&Value> {
        serde_json::Map::get(self, name)
    }
}

/// `first` shadowing `then`.
pub struct Overlay<'a> {
    pub first: &'a Vars,
    pub then: &'a dyn Lookup,
}

impl Lookup for Overlay<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        serde_json::Map::get(self.first, name).or_else(|| self.then.get(name))
    }
}

/// How the model uses an expression; decides how text without a prefix is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// Sequence-flow conditions, completion conditions: must be an expression.
    Condition,
    /// Assignments, mappings, timer values, called element, ...: text without `=` or
    /// `${` is a static string.
    Value,
}

/// A compiled expression, cheap to clone and to evaluate.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Static(Value),
    Feel(FeelExpr),
}

/// Evaluation failed: becomes an incident on the instance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expression `{source_text}`: {message}")]
pub struct ExprError {
    pub source_text: String,
    pub message: String,
}

const FEEL_URI: &str = "https://www.omg.org/spec/dmn/20191111/feel/";

/// What the `language` attribute asks for.
enum Lang {
    /// Absent, or JUEL: decided by the text's prefix.
    ByPrefix,
    Feel,
    Refused(String),
}

fn language(expr: &Expr) -> Lang {
    let Some(lang) = expr
        .language
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    else {
        return Lang::ByPrefix;
    };
    let lower = lang.to_ascii_lowercase();
    if lower == "feel" || lower.trim_end_matches('/') == FEEL_URI.trim_end_matches('/') {
        Lang::Feel
    } else if lower == "juel" || lower.contains("juel") {
        Lang::ByPrefix
    } else {
        Lang::Refused(lang.to_string())
    }
}

/// Unprefixed text that is JavaScript (bpmn-engine / Camunda 7 script conditions).
fn looks_like_js(text: &str, usage: Usage) -> bool {
    const STRONG: [&str; 3] = ["next(", "this.environment", "environment.variables"];
    // `;` and `return ` are common in prose, so they only count where prose is impossible.
    STRONG.iter().any(|s| text.contains(s))
        || (usage == Usage::Condition && (text.contains(';') || text.contains("return ")))
}

/// The body of `${...}` / `#{...}` when the whole text is one such expression.
fn juel_body(text: &str) -> Option<&str> {
    let body = text
        .strip_prefix("${")
        .or_else(|| text.strip_prefix("#{"))?;
    body.strip_suffix('}')
}

impl Expression {
    pub fn compile(expr: &Expr, usage: Usage) -> Result<Expression, Diagnostic> {
        let text = expr.text.trim();
        let invalid =
            |msg: String| Diagnostic::new(DiagnosticCode::InvalidExpression, expr.pos, msg);
        let feel = |src: &str| {
            feel::compile(src)
                .map(|f| Expression {
                    source: expr.text.clone(),
                    kind: Kind::Feel(f),
                })
                .map_err(|e| invalid(format!("expression `{text}`: {e}")))
        };
        match language(expr) {
            Lang::Refused(lang) => return Err(invalid(js_message(&lang))),
            Lang::Feel if !text.starts_with('=') => return feel(text),
            _ => {}
        }
        if let Some(rest) = text.strip_prefix('=') {
            return feel(rest);
        }
        if text.starts_with("${") || text.starts_with("#{") {
            let body = juel_body(text).filter(|b| !b.contains("${") && !b.contains("#{")).ok_or_else(|| {
                invalid(format!(
                    "expression `{text}`: only a single whole `${{...}}` is supported, not text around or between expressions"
                ))
            })?;
            let translated =
                juel::translate(body).map_err(|e| invalid(format!("expression `{text}`: {e}")))?;
            return feel(&translated);
        }
        if looks_like_js(text, usage) {
            return Err(invalid(js_message("JavaScript")));
        }
        match usage {
            Usage::Condition if text.is_empty() => Err(invalid("empty condition".into())),
            Usage::Condition => Err(invalid(format!(
                "condition `{text}` is not an expression: write FEEL starting with `=` (Camunda 8) or `${{...}}` (Camunda 7)"
            ))),
            // Camunda 7 composite text (`Dear ${name}`) would silently stay literal.
            Usage::Value if text.contains("${") || text.contains("#{") => Err(invalid(format!(
                "`{text}` mixes text and JUEL; write one FEEL expression instead, e.g. `= \"Dear \" + name`"
            ))),
            Usage::Value => Ok(Expression {
                source: expr.text.clone(),
                kind: Kind::Static(Value::String(text.to_string())),
            }),
        }
    }

    /// Evaluates against the variables visible at the element.
    pub fn eval(&self, vars: &Vars) -> Result<Value, ExprError> {
        self.eval_in(vars)
    }

    /// Evaluates reading variables through `vars` — e.g. a chain of scopes, so nothing
    /// is merged or copied for an evaluation.
    pub fn eval_in(&self, vars: &dyn Lookup) -> Result<Value, ExprError> {
        match &self.kind {
            Kind::Static(v) => Ok(v.clone()),
            Kind::Feel(f) => f.eval(vars).map_err(|message| ExprError {
                source_text: self.source.clone(),
                message,
            }),
        }
    }

    /// Evaluates a condition; anything but a boolean is an error (as in Camunda 8).
    pub fn eval_bool(&self, vars: &Vars) -> Result<bool, ExprError> {
        self.eval_bool_in(vars)
    }

    pub fn eval_bool_in(&self, vars: &dyn Lookup) -> Result<bool, ExprError> {
        match self.eval_in(vars)? {
            Value::Bool(b) => Ok(b),
            other => Err(ExprError {
                source_text: self.source.clone(),
                message: format!("condition evaluated to {other}, expected a boolean"),
            }),
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Text without `=` / `${` in a value position: evaluation returns it unchanged.
    pub fn is_static(&self) -> bool {
        matches!(self.kind, Kind::Static(_))
    }

    pub fn static_value(&self) -> Option<&Value> {
        match &self.kind {
            Kind::Static(v) => Some(v),
            Kind::Feel(_) => None,
        }
    }
}

fn js_message(lang: &str) -> String {
    format!(
        "conditions in {lang} are not supported: Recobro evaluates FEEL (`= ...`) and simple JUEL (`${{...}}`) only"
    )
}
