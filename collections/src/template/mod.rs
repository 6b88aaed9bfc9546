//! Message templates: rendering a creditor's template for one debtor, deterministically.
//!
//! A variable the template names but the context lacks is an error, never an empty
//! string: a reminder that says "you owe " to a debtor is worse than no reminder. The
//! error names the variable, so whoever fixes the template or the case knows what to fix.
//!
//! Templates are Jinja (minijinja, strict undefined) with one filter of our own:
//! `{{ amount | money }}` writes an exact amount (text such as `"1250000.00"`) in the
//! context's `currency` and `locale`, or in the currency given as its argument.

mod money_format;

use std::collections::BTreeSet;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr};
use minijinja::{Environment, ErrorKind, State, UndefinedBehavior, Value};
use serde::Serialize;

pub use self::money_format::format_money;
use crate::contact::Channel;
use crate::money::{Currency, Money};

/// A template's text, as stored: a subject (e-mail and letters) and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateText<'a> {
    pub subject: Option<&'a str>,
    pub body: &'a str,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::EnumCount)]
pub enum TemplateError {
    /// The template does not parse.
    #[error("the template does not parse: {0}")]
    Syntax(String),
    /// It names something the message's context does not hold.
    #[error("the template uses {variable}, which this message does not have")]
    Undefined { variable: String },
    /// It fails while rendering (a filter given the wrong kind of value, …).
    #[error("the template cannot be rendered: {0}")]
    Render(String),
    /// An e-mail, SMS or WhatsApp template that does not print `{{ opt_out }}`.
    #[error("{channel} messages must carry the opt-out text: put {{{{ opt_out }}}} in the body")]
    OptOutMissing { channel: &'static str },
}

/// Whether a channel's messages must tell the recipient how to stop them (TCPA and
/// CAN-SPAM in the US, Colombia's Ley 2300 de 2023, Mexico's REPEP rules).
pub fn requires_opt_out(channel: Channel) -> bool {
    matches!(channel, Channel::Email | Channel::Sms | Channel::WhatsApp)
}

/// Renders `text` with `context` (strict: an undefined variable is an error).
pub fn render(
    text: &TemplateText<'_>,
    context: &impl Serialize,
) -> Result<Rendered, TemplateError> {
    render_value(text, Value::from_serialize(context))
}

/// Checks a template before it is saved: it must parse, render against `sample` (a
/// context with every field a message has) and, for `channel`s that require it, print
/// the sample's `opt_out` text. Process variables cannot be known before a case runs, so
/// any `vars.…` is accepted here (and checked when a message is sent).
pub fn check(
    channel: Channel,
    text: &TemplateText<'_>,
    sample: &impl Serialize,
    opt_out: &str,
) -> Result<Rendered, TemplateError> {
    let open_vars = std::collections::BTreeMap::from([(
        "vars".to_string(),
        Value::from_object(AnyVariable("vars".into())),
    )]);
    // The last map wins a lookup: the open `vars` hides the sample's own.
    let context =
        minijinja::value::merge_maps([Value::from_serialize(sample), Value::from(open_vars)]);
    let rendered = render_value(text, context)?;
    require_opt_out(channel, &rendered, opt_out)?;
    Ok(rendered)
}

/// Refuses a rendered message of a channel that requires the opt-out text but lacks it.
pub fn require_opt_out(
    channel: Channel,
    rendered: &Rendered,
    opt_out: &str,
) -> Result<(), TemplateError> {
    if requires_opt_out(channel) && (opt_out.is_empty() || !rendered.body.contains(opt_out)) {
        return Err(TemplateError::OptOutMissing {
            channel: channel_name(channel),
        });
    }
    Ok(())
}

fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Call => "call",
        Channel::Sms => "SMS",
        Channel::WhatsApp => "WhatsApp",
        Channel::Email => "e-mail",
        Channel::Letter => "letter",
        Channel::Visit => "visit",
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("money", money_filter);
    env
}

fn render_value(text: &TemplateText<'_>, ctx: Value) -> Result<Rendered, TemplateError> {
    let env = environment();
    let one = |source: &str| -> Result<String, TemplateError> {
        let tmpl = env
            .template_from_str(source)
            .map_err(|e| TemplateError::Syntax(describe(&e)))?;
        tmpl.render(&ctx).map_err(|e| match e.kind() {
            ErrorKind::UndefinedError => TemplateError::Undefined {
                variable: first_missing(&env, &tmpl, &ctx)
                    .or_else(|| e.detail().map(str::to_string))
                    .unwrap_or_else(|| format!("a variable at line {}", e.line().unwrap_or(1))),
            },
            _ => TemplateError::Render(describe(&e)),
        })
    };
    Ok(Rendered {
        subject: text.subject.map(one).transpose()?,
        body: one(text.body)?,
    })
}

/// minijinja's message, its detail and the line, without the template's source.
fn describe(e: &minijinja::Error) -> String {
    let mut out = e.kind().to_string();
    if let Some(detail) = e.detail() {
        out.push_str(": ");
        out.push_str(detail);
    }
    if let Some(line) = e.line() {
        out.push_str(&format!(" (line {line})"));
    }
    out
}

/// The first (in name order) variable path the template names that `ctx` lacks, e.g.
/// `debtor.nmae`. Variables bound inside the template (loops, `set`) are not listed by
/// the analysis, so a missing field of a loop variable is reported by line instead.
fn first_missing(
    env: &Environment<'_>,
    tmpl: &minijinja::Template<'_, '_>,
    ctx: &Value,
) -> Option<String> {
    let globals: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
    let names: BTreeSet<String> = tmpl.undeclared_variables(true).into_iter().collect();
    names.into_iter().find(|path| {
        let mut steps = path.split('.');
        let root = steps.next().unwrap_or_default();
        if globals.contains(root) {
            return false;
        }
        let mut at = ctx.clone();
        for step in std::iter::once(root).chain(steps) {
            match at.get_attr(step) {
                Ok(v) if !v.is_undefined() => at = v,
                _ => return true,
            }
        }
        false
    })
}

/// `{{ amount | money }}` / `{{ amount | money("USD") }}`: an exact amount (text, or a
/// whole number) in the context's `locale`, in the given currency or the context's.
fn money_filter(
    state: &State<'_, '_>,
    amount: Value,
    currency: Option<String>,
) -> Result<String, minijinja::Error> {
    let invalid = |m: String| minijinja::Error::new(ErrorKind::InvalidOperation, m);
    // A process variable while a template is checked: its value is not known yet.
    if amount.downcast_object_ref::<AnyVariable>().is_some() {
        return Ok(amount.to_string());
    }
    let code = match currency {
        Some(c) => c,
        None => state
            .lookup("currency")
            .and_then(|v| v.as_str().map(str::to_string))
            // Named like any other missing variable (the detail is the variable).
            .ok_or_else(|| minijinja::Error::new(ErrorKind::UndefinedError, "currency"))?,
    };
    let currency = Currency::from_code(&code).map_err(|e| invalid(format!("money: {e}")))?;
    // Floats are refused: an amount must reach a debtor exactly as the ledger holds it.
    let text = match (amount.as_str(), amount.as_i64()) {
        (Some(s), _) => s.to_string(),
        (None, Some(n)) if amount.kind() == minijinja::value::ValueKind::Number => n.to_string(),
        _ => {
            return Err(invalid(format!(
                "money: {amount} is not an exact amount (use the *_amount fields)"
            )));
        }
    };
    let money = Money::parse(&text, currency).map_err(|e| invalid(format!("money: {e}")))?;
    let locale = state
        .lookup("locale")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    Ok(format_money(money, &locale))
}

/// A process variable while a template is checked before any case runs: any name is
/// accepted and shows as `[vars.name]`.
#[derive(Debug)]
struct AnyVariable(String);

impl Object for AnyVariable {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(Value::from_object(AnyVariable(format!("{}.{key}", self.0))))
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}]", self.0)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(b: &str) -> TemplateText<'_> {
        TemplateText {
            subject: None,
            body: b,
        }
    }

    #[test]
    fn a_missing_variable_is_an_error_that_names_it() {
        let ctx = json!({"debtor": {"name": "Ana"}, "balance": "$ 1"});
        assert_eq!(
            render(&body("Hola {{ debtor.name }}"), &ctx).unwrap().body,
            "Hola Ana"
        );
        for (text, missing) in [
            ("Hola {{ debtor.nmae }}", "debtor.nmae"),
            ("{{ balanse }}", "balanse"),
            ("{{ case.reference }}", "case.reference"),
            ("{{ debtor.name }} {{ balance | money }}", "currency"),
        ] {
            let err = render(&body(text), &ctx).unwrap_err();
            assert_eq!(
                err,
                TemplateError::Undefined {
                    variable: missing.into()
                },
                "{text}"
            );
            assert!(err.to_string().contains(missing), "{err}");
        }
    }

    #[test]
    fn a_field_of_a_loop_variable_is_reported_by_line() {
        let ctx = json!({"accounts": [{"id": "L-1"}]});
        let err = render(
            &body("Cuentas:\n{% for a in accounts %}{{ a.balanse }}{% endfor %}"),
            &ctx,
        )
        .unwrap_err();
        assert!(
            matches!(&err, TemplateError::Undefined { variable } if variable.contains("line 2")),
            "{err:?}"
        );
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = render(&body("Hola\n{{ debtor.name "), &json!({})).unwrap_err();
        assert!(
            matches!(&err, TemplateError::Syntax(m) if m.contains("line 2")),
            "{err:?}"
        );
    }

    #[test]
    fn the_money_filter_formats_exact_amounts_in_the_messages_locale() {
        let ctx = json!({"locale": "es-CO", "currency": "COP", "amount": "1250000.00",
                         "usd": "1250", "float": 1.5});
        let out = render(
            &body("{{ amount | money }} / {{ usd | money('USD') }} / {{ 7 | money }}"),
            &ctx,
        )
        .unwrap()
        .body;
        assert_eq!(out, "$ 1.250.000 / US$ 1.250,00 / $ 7");
        for text in [
            "{{ float | money }}",
            "{{ '1.001' | money }}",
            "{{ amount | money('XYZ') }}",
        ] {
            assert!(
                matches!(render(&body(text), &ctx), Err(TemplateError::Render(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn checking_accepts_any_process_variable_and_requires_the_opt_out_text() {
        let sample = json!({"debtor": {"name": "Ana"}, "opt_out": "Reply STOP to opt out.",
                            "vars": {}});
        let ok = check(
            Channel::Sms,
            &body("{{ debtor.name }}: loan {{ vars.loan.id }}, {{ vars.due | money('USD') }}. {{ opt_out }}"),
            &sample,
            "Reply STOP to opt out.",
        )
        .unwrap();
        assert_eq!(
            ok.body,
            "Ana: loan [vars.loan.id], [vars.due]. Reply STOP to opt out."
        );
        for channel in [Channel::Sms, Channel::WhatsApp, Channel::Email] {
            assert_eq!(
                check(
                    channel,
                    &body("{{ debtor.name }}"),
                    &sample,
                    "Reply STOP to opt out."
                ),
                Err(TemplateError::OptOutMissing {
                    channel: channel_name(channel)
                })
            );
        }
        // Hidden behind a condition that is false is not carrying it.
        assert!(
            check(
                Channel::Email,
                &body("{% if false %}{{ opt_out }}{% endif %}"),
                &sample,
                "Reply STOP to opt out."
            )
            .is_err()
        );
        for channel in [Channel::Letter, Channel::Call] {
            assert!(check(channel, &body("{{ debtor.name }}"), &sample, "").is_ok());
        }
        assert_eq!(
            check(Channel::Letter, &body("{{ debtor.nombre }}"), &sample, ""),
            Err(TemplateError::Undefined {
                variable: "debtor.nombre".into()
            })
        );
    }
}
