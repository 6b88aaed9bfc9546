//! Message templates per creditor, channel, name and language, versioned: each save adds
//! a version (1, 2, …) and versions never change, so the version an attempt records is
//! the text it was sent with. A creditor with no template of its own for a message gets
//! the built-in one (version 0).
//!
//! Which template a message uses ([`Templates::resolve`]): the languages to try are the
//! debtor's (each tag exactly, then its base language: `es-CO`, then `es`), then Spanish,
//! then English. The creditor's own newest version in the first of those languages it
//! has wins; only when it has none in any of them is a built-in template used, in the
//! same order. A creditor's own text in a fallback language beats a built-in one in the
//! debtor's: the creditor's wording has been through its own (often legal) review, the
//! built-ins are a placeholder. A language not in the list is never used, so no debtor
//! gets a message in a language nobody said they read.

use chrono::{DateTime, Utc};
use collections::contact::{Channel, TemplateUse};
use collections::debtor::LanguageTag;
use collections::template::{Rendered, TemplateText};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};
use serde::Serialize;
use services::access::{Operation, Principal};
use services::desk::{DeskError, require};

use crate::context::{opt_out_text, sample_context};
use crate::error::ContactError;
use orm::entities::contact_templates as row;

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
    /// When and by whom it was saved; `None` for a built-in template.
    pub created: Option<(DateTime<Utc>, String)>,
}

impl Template {
    pub fn usage(&self) -> TemplateUse {
        TemplateUse {
            name: self.name.clone(),
            language: self.language.clone(),
            version: self.version,
        }
    }

    pub fn text(&self) -> TemplateText<'_> {
        TemplateText {
            subject: self.subject.as_deref(),
            body: &self.body,
        }
    }
}

/// Renders a template for one message: strictly (a variable the context lacks names
/// itself in the error), and refusing a message of a channel that must carry the
/// opt-out text but does not.
pub fn render_message(
    template: &Template,
    context: &impl Serialize,
) -> Result<Rendered, collections::template::TemplateError> {
    let rendered = collections::template::render(&template.text(), context)?;
    collections::template::require_opt_out(
        template.channel,
        &rendered,
        opt_out_text(template.channel, &template.language),
    )?;
    Ok(rendered)
}

/// A new version of a template, as a supervisor writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTemplate {
    pub creditor: String,
    pub channel: Channel,
    pub name: String,
    /// BCP 47 (`es`, `es-CO`); normalised when saved.
    pub language: String,
    /// E-mail (required) and letters (optional); other channels have none.
    pub subject: Option<String>,
    pub body: String,
}

/// Which saved templates to list; each filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateFilter {
    pub creditor: Option<String>,
    pub channel: Option<Channel>,
    pub name: Option<String>,
}

/// Longest body accepted, in characters: a long letter fits many times over.
pub const MAX_BODY_CHARS: usize = 20_000;

/// Most versions [`Templates::list`] answers.
pub const MAX_LISTED: u64 = 500;

/// The templates a job picks from, and their store.
#[derive(Debug, Clone)]
pub struct Templates {
    db: DatabaseConnection,
}

impl Templates {
    pub fn new(db: DatabaseConnection) -> Self {
        Templates { db }
    }

    /// The newest version of `name` for the creditor and channel, in the first of
    /// `languages` (then Spanish, then English) the creditor has it in; else the
    /// built-in template, in the same order (see the module's documentation).
    pub async fn resolve(
        &self,
        tenant: &str,
        creditor: &str,
        channel: Channel,
        name: &str,
        languages: &[&str],
    ) -> Result<Template, ContactError> {
        let wanted = candidate_languages(languages);
        let rows = row::Entity::find()
            .filter(row::Column::Tenant.eq(tenant))
            .filter(row::Column::CreditorId.eq(creditor))
            .filter(row::Column::Channel.eq(channel_key(channel)))
            .filter(row::Column::Name.eq(name))
            .filter(row::Column::Language.is_in(wanted.iter().map(String::as_str)))
            .order_by_desc(row::Column::Version)
            .all(&self.db)
            .await?;
        let own = wanted
            .iter()
            .find_map(|l| rows.iter().find(|r| &r.language == l));
        if let Some(r) = own {
            return from_row(r.clone());
        }
        builtin(creditor, channel, name, &wanted).ok_or_else(|| not_found(name, channel))
    }

    /// The exact version an attempt recorded (0: the built-in one), to render the same
    /// text again after a crash.
    pub async fn version(
        &self,
        tenant: &str,
        creditor: &str,
        channel: Channel,
        used: &TemplateUse,
    ) -> Result<Template, ContactError> {
        if used.version == 0 {
            return builtin(
                creditor,
                channel,
                &used.name,
                std::slice::from_ref(&used.language),
            )
            .filter(|t| t.language == used.language)
            .ok_or_else(|| not_found(&used.name, channel));
        }
        let key = (
            tenant.to_string(),
            creditor.to_string(),
            channel_key(channel).to_string(),
            used.name.clone(),
            used.language.clone(),
            i32::try_from(used.version).unwrap_or(i32::MAX),
        );
        match row::Entity::find_by_id(key).one(&self.db).await? {
            Some(r) => from_row(r),
            None => Err(not_found(&used.name, channel)),
        }
    }

    /// Saves the next version of a template (supervisors, admins), after checking it:
    /// it parses, names only what a message has, and carries the opt-out text where its
    /// channel requires it.
    pub async fn save(
        &self,
        p: &Principal,
        new: NewTemplate,
        now: DateTime<Utc>,
    ) -> Result<Template, ContactError> {
        require(p, Operation::ManageTemplates, "save message templates")?;
        let new = checked(new)?;
        let by = p.acting_identity();
        let now = services::journal::normalise_time(now);
        // Two supervisors saving at once both read the same newest version; the key
        // refuses the second insert, which then takes the number after.
        for _ in 0..5 {
            let newest: Option<i32> = row::Entity::find()
                .select_only()
                .column_as(Expr::col(row::Column::Version).max(), "newest")
                .filter(row::Column::Tenant.eq(&p.tenant))
                .filter(row::Column::CreditorId.eq(&new.creditor))
                .filter(row::Column::Channel.eq(channel_key(new.channel)))
                .filter(row::Column::Name.eq(&new.name))
                .filter(row::Column::Language.eq(&new.language))
                .into_tuple::<Option<i32>>()
                .one(&self.db)
                .await?
                .flatten();
            let version = newest.unwrap_or(0) + 1;
            let model = row::ActiveModel {
                tenant: Set(p.tenant.clone()),
                creditor_id: Set(new.creditor.clone()),
                channel: Set(channel_key(new.channel).to_string()),
                name: Set(new.name.clone()),
                language: Set(new.language.clone()),
                version: Set(version),
                subject: Set(new.subject.clone()),
                body: Set(new.body.clone()),
                created_at: Set(now),
                created_by: Set(by.clone()),
            };
            match row::Entity::insert(model).exec(&self.db).await {
                Ok(_) => {
                    return Ok(Template {
                        creditor: new.creditor,
                        channel: new.channel,
                        name: new.name,
                        language: new.language,
                        version: u32::try_from(version).unwrap_or_default(),
                        subject: new.subject,
                        body: new.body,
                        created: Some((now, by)),
                    });
                }
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(DeskError::Conflict(format!(
            "template {} was saved by others at the same moment: save again",
            new.name
        ))
        .into())
    }

    /// Saved versions of the caller's tenant, by creditor, channel, name and language,
    /// newest version first (at most [`MAX_LISTED`]).
    pub async fn list(
        &self,
        p: &Principal,
        filter: TemplateFilter,
    ) -> Result<Vec<Template>, ContactError> {
        require(p, Operation::ReadTemplates, "read message templates")?;
        let mut q = row::Entity::find().filter(row::Column::Tenant.eq(&p.tenant));
        if let Some(c) = &filter.creditor {
            q = q.filter(row::Column::CreditorId.eq(c.trim()));
        }
        if let Some(c) = filter.channel {
            q = q.filter(row::Column::Channel.eq(channel_key(c)));
        }
        if let Some(n) = &filter.name {
            q = q.filter(row::Column::Name.eq(n.trim()));
        }
        q.order_by_asc(row::Column::CreditorId)
            .order_by_asc(row::Column::Channel)
            .order_by_asc(row::Column::Name)
            .order_by_asc(row::Column::Language)
            .order_by_desc(row::Column::Version)
            .limit(MAX_LISTED)
            .all(&self.db)
            .await?
            .into_iter()
            .map(from_row)
            .collect()
    }
}

/// A new template's fields normalised and checked, its text rendered against a sample.
fn checked(new: NewTemplate) -> Result<NewTemplate, ContactError> {
    let creditor = collections::creditor::creditor_id(&new.creditor).map_err(DeskError::from)?;
    let name = new.name.trim().to_string();
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(ContactError::Invalid(format!(
            "template name {:?}: use 1 to 64 letters, digits, '-', '_' or '.'",
            new.name
        )));
    }
    let language = LanguageTag::parse(&new.language)
        .map_err(DeskError::from)?
        .as_str()
        .to_string();
    let subject = new.subject.filter(|s| !s.trim().is_empty());
    match (new.channel, &subject) {
        (Channel::Email, None) => {
            return Err(ContactError::Invalid(
                "an e-mail template needs a subject".into(),
            ));
        }
        (Channel::Sms | Channel::WhatsApp | Channel::Call | Channel::Visit, Some(_)) => {
            return Err(ContactError::Invalid(format!(
                "{} templates have no subject: leave it out",
                channel_key(new.channel)
            )));
        }
        _ => {}
    }
    if new.body.trim().is_empty() {
        return Err(ContactError::Invalid("the template's body is empty".into()));
    }
    if new.body.chars().count() > MAX_BODY_CHARS {
        return Err(ContactError::Invalid(format!(
            "the template's body is longer than {MAX_BODY_CHARS} characters"
        )));
    }
    collections::template::check(
        new.channel,
        &TemplateText {
            subject: subject.as_deref(),
            body: &new.body,
        },
        &sample_context(new.channel, &language, &creditor),
        opt_out_text(new.channel, &language),
    )?;
    Ok(NewTemplate {
        creditor,
        channel: new.channel,
        name,
        language,
        subject,
        body: new.body,
    })
}

/// The languages to try, in order: each of `languages` exactly then its base language,
/// then Spanish, then English; normalised, without repeats. A tag that does not parse
/// is skipped.
fn candidate_languages(languages: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |l: &str| {
        if !out.iter().any(|o| o == l) {
            out.push(l.to_string());
        }
    };
    for l in languages {
        if let Ok(tag) = LanguageTag::parse(l) {
            push(tag.as_str());
            push(tag.language());
        }
    }
    push("es");
    push("en");
    out
}

/// The channel as the store writes it.
pub fn channel_key(channel: Channel) -> &'static str {
    match channel {
        Channel::Call => "call",
        Channel::Sms => "sms",
        Channel::WhatsApp => "whatsapp",
        Channel::Email => "email",
        Channel::Letter => "letter",
        Channel::Visit => "visit",
    }
}

fn channel_of_key(key: &str) -> Option<Channel> {
    Channel::ALL.into_iter().find(|c| channel_key(*c) == key)
}

fn not_found(name: &str, channel: Channel) -> ContactError {
    ContactError::TemplateNotFound {
        name: name.to_string(),
        channel: channel_key(channel).to_string(),
    }
}

fn from_row(r: row::Model) -> Result<Template, ContactError> {
    let corrupt = |what: &str| {
        ContactError::Desk(DeskError::Runtime(
            services::runtime::RuntimeError::Corrupt(format!(
                "template {} v{}: stored {what} is unreadable",
                r.name, r.version
            )),
        ))
    };
    let channel = channel_of_key(&r.channel).ok_or_else(|| corrupt("channel"))?;
    let version = u32::try_from(r.version).map_err(|_| corrupt("version"))?;
    Ok(Template {
        creditor: r.creditor_id,
        channel,
        name: r.name,
        language: r.language,
        version,
        subject: r.subject,
        body: r.body,
        created: Some((r.created_at, r.created_by)),
    })
}

/// The template name a job uses when its task names none (header `template`).
pub fn default_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Letter => "demand-letter",
        Channel::Call | Channel::Visit => "call-script",
        Channel::Sms | Channel::WhatsApp | Channel::Email => "reminder-1",
    }
}

/// The built-in template in the first of `languages` (normalised tags) it exists in.
fn builtin(creditor: &str, channel: Channel, name: &str, languages: &[String]) -> Option<Template> {
    languages.iter().find_map(|language| {
        let (subject, body) = builtin_text(channel, name, language)?;
        Some(Template {
            creditor: creditor.to_string(),
            channel,
            name: name.to_string(),
            language: language.clone(),
            version: 0,
            subject: subject.map(str::to_string),
            body: body.to_string(),
            created: None,
        })
    })
}

type Text = (Option<&'static str>, &'static str);

/// Built-in texts exist in `es` and `en` only (the call script in English), so a tag
/// with a region (`es-CO`) finds none and resolution goes on to its base language.
fn builtin_text(channel: Channel, name: &str, language: &str) -> Option<Text> {
    let es = match language {
        "es" => true,
        "en" => false,
        _ => return None,
    };
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
        (Channel::Call | Channel::Visit, "call-script") if !es => (
            None,
            "Call {{ recipient.name }} about {{ case.reference }}: overdue {{ balance }}.",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_tried_exactly_then_by_base_then_spanish_then_english() {
        assert_eq!(candidate_languages(&["es_co"]), ["es-CO", "es", "en"]);
        assert_eq!(
            candidate_languages(&["pt-BR", "not a tag!"]),
            ["pt-BR", "pt", "es", "en"]
        );
        assert_eq!(candidate_languages(&[]), ["es", "en"]);
    }

    #[test]
    fn every_built_in_template_passes_the_save_time_check() {
        for channel in Channel::ALL {
            for language in ["es", "en"] {
                let Some(t) = builtin("bank", channel, default_name(channel), &[language.into()])
                else {
                    continue;
                };
                let new = NewTemplate {
                    creditor: "bank".into(),
                    channel,
                    name: t.name.clone(),
                    language: t.language.clone(),
                    subject: t.subject.clone(),
                    body: t.body.clone(),
                };
                // Built-in letters have a subject; channels without one never get it.
                let new = NewTemplate {
                    subject: new
                        .subject
                        .filter(|_| matches!(channel, Channel::Email | Channel::Letter)),
                    ..new
                };
                checked(new).unwrap_or_else(|e| panic!("{channel:?} {language}: {e}"));
            }
        }
    }
}
