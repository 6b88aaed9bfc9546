//! FEEL through dsntk: parse once, walk the AST for what Recobro refuses and for the
//! variable names it reads, evaluate against a context built from those names only.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;
use std::sync::Arc;

use dsntk_feel::bif::Bif;
use dsntk_feel::context::FeelContext;
use dsntk_feel::values::Value as Feel;
use dsntk_feel::{Evaluator, FeelScope, Name};
use dsntk_feel_parser::AstNode;
use serde_json::Value as Json;

use super::json::{to_feel, to_json};

/// A compiled FEEL expression.
#[derive(Clone)]
pub(crate) struct FeelExpr {
    evaluator: Arc<Evaluator>,
    /// Names the expression may read, paired with their FEEL form, built once here so that
    /// evaluation converts only these variables.
    names: Arc<[(String, Name)]>,
}

impl std::fmt::Debug for FeelExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feel")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

/// Deepest AST accepted; real conditions are a handful of levels deep.
const MAX_DEPTH: u32 = 100;
/// Longest FEEL text accepted, bounding parser work and tree depth.
const MAX_LEN: usize = 10_000;

pub(crate) const WALL_CLOCK: &str = "now()/today() read the wall clock; Recobro expressions are \
     deterministic (replaying a case must give the same result) — pass the date in a \
     process variable, or use a timer event for waiting";

/// Parses FEEL text (without the leading `=`). The error is a sentence without the source.
pub(crate) fn compile(text: &str) -> Result<FeelExpr, String> {
    if text.trim().is_empty() {
        return Err("the expression is empty".into());
    }
    if text.len() > MAX_LEN {
        return Err(format!("the expression is longer than {MAX_LEN} bytes"));
    }
    // dsntk is a young crate; a panic on odd input must become a diagnostic, not a crash.
    let parsed = catch_unwind(|| {
        dsntk_feel_parser::parse_expression(&super::names::parsing_scope(text), text, false)
    })
    .map_err(|_| "the FEEL parser failed on this input".to_string())?;
    let ast = parsed.map_err(|e| format!("not valid FEEL: {e}"))?;
    let mut names = BTreeSet::new();
    check(&ast, &mut names, 0)?;
    let ast = null_safe_equality(ast);
    let evaluator = catch_unwind(AssertUnwindSafe(|| dsntk_feel_evaluator::prepare(&ast)))
        .map_err(|_| "the FEEL evaluator failed on this input".to_string())?;
    let names: Vec<(String, Name)> = names
        .into_iter()
        .map(|n: String| {
            let name = Name::from(n.as_str());
            (n, name)
        })
        .collect();
    Ok(FeelExpr {
        evaluator: Arc::new(evaluator),
        names: names.into(),
    })
}

/// dsntk 0.3 answers `null = x` (null on the left) with an error, but `x = null` with
/// false. FEEL (and Camunda 8) say null equals only null, so `paid = true` with `paid`
/// unset must be false: rewrite `a = b` to `if a = null then b = null else a = b` (and `!=`
/// likewise) wherever a comparison can decide a condition.
fn null_safe_equality(node: AstNode) -> AstNode {
    use AstNode as A;
    let b = |n: AstNode| Box::new(null_safe_equality(n));
    let is_null = |n: &AstNode| Box::new(A::Eq(Box::new(n.clone()), Box::new(A::Null)));
    match node {
        A::Eq(l, r) => {
            let (l, r) = (null_safe_equality(*l), null_safe_equality(*r));
            A::If(
                is_null(&l),
                is_null(&r),
                Box::new(A::Eq(Box::new(l), Box::new(r))),
            )
        }
        A::Nq(l, r) => {
            let (l, r) = (null_safe_equality(*l), null_safe_equality(*r));
            let r_not_null = Box::new(A::Nq(Box::new(r.clone()), Box::new(A::Null)));
            A::If(
                is_null(&l),
                r_not_null,
                Box::new(A::Nq(Box::new(l), Box::new(r))),
            )
        }
        A::And(l, r) => A::And(b(*l), b(*r)),
        A::Or(l, r) => A::Or(b(*l), b(*r)),
        A::If(c, t, e) => A::If(b(*c), b(*t), b(*e)),
        A::EvaluatedExpression(e) => A::EvaluatedExpression(b(*e)),
        A::FunctionInvocation(f, params) => A::FunctionInvocation(f, b(*params)),
        A::PositionalParameters(ps) => {
            A::PositionalParameters(ps.into_iter().map(null_safe_equality).collect())
        }
        A::List(items) => A::List(items.into_iter().map(null_safe_equality).collect()),
        other => other,
    }
}

/// Refuses what would break purity and collects every name the AST mentions. Collecting
/// too many is harmless (a path segment or a local just costs a lookup in `vars`).
fn check(node: &AstNode, names: &mut BTreeSet<String>, depth: u32) -> Result<(), String> {
    use AstNode as A;
    // dsntk builds and runs evaluators recursively: a very deep tree would overflow the
    // stack, which no panic guard can catch.
    if depth > MAX_DEPTH {
        return Err("the expression is nested too deeply".into());
    }
    if let A::Name(n) = node {
        names.insert(n.to_string());
        return Ok(());
    }
    let mut check = |n: &AstNode| check(n, names, depth + 1);
    match node {
        A::FunctionInvocation(callee, args) => {
            if let A::Name(n) = callee.as_ref()
                && matches!(n.as_str(), "now" | "today")
            {
                return Err(WALL_CLOCK.into());
            }
            check(callee)?;
            check(args)?;
        }
        // External (Java/PMML) functions call out over HTTP from inside dsntk.
        A::FunctionBody(_, true) => return Err("external functions are not supported".into()),
        A::Add(a, b)
        | A::And(a, b)
        | A::ContextEntry(a, b)
        | A::ContextTypeEntry(a, b)
        | A::Div(a, b)
        | A::Eq(a, b)
        | A::Every(a, b)
        | A::Exp(a, b)
        | A::Filter(a, b)
        | A::For(a, b)
        | A::FormalParameter(a, b)
        | A::FunctionDefinition(a, b)
        | A::FunctionType(a, b)
        | A::Ge(a, b)
        | A::Gt(a, b)
        | A::In(a, b)
        | A::InstanceOf(a, b)
        | A::IterationContextSingle(a, b)
        | A::Le(a, b)
        | A::Lt(a, b)
        | A::Mul(a, b)
        | A::NamedParameter(a, b)
        | A::Nq(a, b)
        | A::Or(a, b)
        | A::Out(a, b)
        | A::Path(a, b)
        | A::QuantifiedContext(a, b)
        | A::Range(a, b)
        | A::Some(a, b)
        | A::Sub(a, b) => {
            check(a)?;
            check(b)?;
        }
        A::Between(a, b, c) | A::If(a, b, c) | A::IterationContextInterval(a, b, c) => {
            check(a)?;
            check(b)?;
            check(c)?;
        }
        A::EvaluatedExpression(a)
        | A::FunctionBody(a, false)
        | A::IntervalEnd(a, _)
        | A::IntervalStart(a, _)
        | A::ListType(a)
        | A::Neg(a)
        | A::RangeType(a)
        | A::Satisfies(a)
        | A::UnaryGe(a)
        | A::UnaryGt(a)
        | A::UnaryLe(a)
        | A::UnaryLt(a)
        | A::UnaryEq(a)
        | A::UnaryNe(a) => check(a)?,
        A::CommaList(v)
        | A::Context(v)
        | A::ContextType(v)
        | A::ExpressionList(v)
        | A::FormalParameters(v)
        | A::IterationContexts(v)
        | A::List(v)
        | A::NamedParameters(v)
        | A::NegatedList(v)
        | A::ParameterTypes(v)
        | A::PositionalParameters(v)
        | A::QualifiedName(v)
        | A::QuantifiedContexts(v) => {
            for n in v {
                check(n)?;
            }
        }
        A::At(_)
        | A::Name(_)
        | A::Boolean(_)
        | A::ContextEntryKey(_)
        | A::ContextTypeEntryKey(_)
        | A::FeelType(_)
        | A::Irrelevant
        | A::Null
        | A::Numeric(..)
        | A::ParameterName(_)
        | A::QualifiedNameSegment(_)
        | A::String(_) => {}
    }
    Ok(())
}

impl FeelExpr {
    pub(crate) fn eval(&self, vars: &dyn super::Lookup) -> Result<Json, String> {
        let mut ctx = FeelContext::default();
        for (key, name) in self.names.iter() {
            match vars.get(key) {
                Some(v) => ctx.set_entry(name, to_feel(v)),
                // A missing variable is null as in Camunda 8 — unless the name is a
                // built-in function, which must stay callable.
                None if Bif::from_str(key).is_err() => ctx.set_entry(name, Feel::Null(None)),
                None => {}
            }
        }
        let scope = FeelScope::from(ctx);
        let result = catch_unwind(AssertUnwindSafe(|| {
            let value = (self.evaluator)(&scope);
            match value {
                Feel::Null(Some(msg)) => classify_null(msg),
                other => to_json(&other),
            }
        }));
        result.unwrap_or_else(|_| Err("the FEEL evaluator failed on these variables".into()))
    }
}

/// dsntk returns errors as a null carrying a message. A missing context entry is a plain
/// null in Camunda 8 (`= customer.middleName`); everything else is a failure.
fn classify_null(msg: String) -> Result<Json, String> {
    if msg.starts_with("build_path: no entry") || msg.starts_with("context has no value for key") {
        Ok(Json::Null)
    } else {
        Err(format!(
            "evaluation failed ({msg}); a variable may be missing or of the wrong type"
        ))
    }
}
