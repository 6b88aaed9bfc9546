//! Message templates per creditor, channel, name and language, versioned: the built-in
//! ones below, until a creditor saves its own.

use collections::contact::{Channel, TemplateUse};
use sea_orm::DatabaseConnection;

use crate::error::ContactError;

/// One version of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub creditor: String,
    pub channel: Channel,
    pub name: String,
    pub language: String,
    /// 0 for a built-in template; a creditor's own start at 1.
    pub version: u32,
    pub subject: Option<String>,
    pub body: String,
}

impl Template {
    pub fn usage(&self) -> TemplateUse {
        TemplateUse {
            name: self.name.clone(),
            language: self.language.clone(),
            version: self.version,
        }
    }
}

/// The templates a job picks from.
#[derive(Debug, Clone)]
pub struct Templates {
    #[allow(dead_code)]
    db: DatabaseConnection,
}

impl Templates {
    pub fn new(db: DatabaseConnection) -> Self {
        Templates { db }
    }

    /// The newest version of `name` for the creditor and channel, in the first of
    /// `languages` it exists in (then Spanish, then English); the built-in template when
    /// the creditor has none of its own.
    pub async fn resolve(
        &self,
        _tenant: &str,
        creditor: &str,
        channel: Channel,
        name: &str,
        languages: &[&str],
    ) -> Result<Template, ContactError> {
        builtin(creditor, channel, name, languages).ok_or_else(|| ContactError::TemplateNotFound {
            name: name.to_string(),
            channel: format!("{channel:?}").to_lowercase(),
        })
    }

    /// A given version (the one an attempt recorded), to render it again after a crash.
    pub async fn version(
        &self,
        tenant: &str,
        creditor: &str,
        channel: Channel,
        used: &TemplateUse,
    ) -> Result<Template, ContactError> {
        self.resolve(
            tenant,
            creditor,
            channel,
            &used.name,
            &[used.language.as_str()],
        )
        .await
    }
}

/// The template name a job uses when its task names none (header `template`).
pub fn default_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Letter => "demand-letter",
        Channel::Call | Channel::Visit => "call-script",
        Channel::Sms | Channel::WhatsApp | Channel::Email => "reminder-1",
    }
}

fn builtin(creditor: &str, channel: Channel, name: &str, languages: &[&str]) -> Option<Template> {
    let base = |l: &str| l.split('-').next().unwrap_or(l).to_ascii_lowercase();
    let wanted = languages
        .iter()
        .map(|l| base(l))
        .chain(["es".to_string(), "en".to_string()]);
    for language in wanted {
        if let Some((subject, body)) = builtin_text(channel, name, &language) {
            return Some(Template {
                creditor: creditor.to_string(),
                channel,
                name: name.to_string(),
                language,
                version: 0,
                subject: subject.map(str::to_string),
                body: body.to_string(),
            });
        }
    }
    None
}

type Text = (Option<&'static str>, &'static str);

fn builtin_text(channel: Channel, name: &str, language: &str) -> Option<Text> {
    let es = language == "es";
    Some(match (channel, name) {
        (Channel::Sms | Channel::WhatsApp, "reminder-1") if es => (
            None,
            "{{ creditor.name }}: Hola {{ recipient.name }}, su cuenta {{ case.reference }} tiene un saldo vencido de {{ balance }}. Pague hoy o llámenos. {{ opt_out }}",
        ),
        (Channel::Sms | Channel::WhatsApp, "reminder-1") => (
            None,
            "{{ creditor.name }}: Hello {{ recipient.name }}, your account {{ case.reference }} has an overdue balance of {{ balance }}. Please pay today or call us. {{ opt_out }}",
        ),
        (Channel::Email, "reminder-1") if es => (
            Some("Saldo vencido en su cuenta {{ case.reference }}"),
            "Estimado/a {{ recipient.name }}:\n\nSu cuenta {{ case.reference }} con {{ creditor.name }} tiene un saldo vencido de {{ balance }}.\nPor favor pague o contáctenos para acordar un plan de pagos.\n\n{{ opt_out }}",
        ),
        (Channel::Email, "reminder-1") => (
            Some("Overdue balance on your account {{ case.reference }}"),
            "Dear {{ recipient.name }},\n\nYour account {{ case.reference }} with {{ creditor.name }} has an overdue balance of {{ balance }}.\nPlease pay, or contact us to agree a payment plan.\n\n{{ opt_out }}",
        ),
        (Channel::Letter, "demand-letter") if es => (
            Some("Requerimiento de pago"),
            "{{ recipient.name }}\n{{ recipient.address }}\n\nRef.: {{ case.reference }}\n\nPor medio de la presente le requerimos el pago del saldo vencido de {{ balance }} adeudado a {{ creditor.name }}.\nSi ya realizó el pago, por favor ignore esta carta.",
        ),
        (Channel::Letter, "demand-letter") => (
            Some("Demand for payment"),
            "{{ recipient.name }}\n{{ recipient.address }}\n\nRef.: {{ case.reference }}\n\nWe hereby demand payment of the overdue balance of {{ balance }} owed to {{ creditor.name }}.\nIf you have already paid, please disregard this letter.",
        ),
        (Channel::Call | Channel::Visit, "call-script") => (
            None,
            "Call {{ recipient.name }} about {{ case.reference }}: overdue {{ balance }}.",
        ),
        _ => return None,
    })
}
