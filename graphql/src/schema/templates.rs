//! Message templates over GraphQL: versions listed by internal users and auditors, saved
//! by supervisors and admins, and a case's message previewed with its real context.
//! Every rule (roles, validation, which template a message uses) is the contact crate's.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use contact::preview::{Draft, PreviewRequest, preview};
use contact::{NewTemplate, Template, TemplateFilter, Templates};

use super::debtors::ContactChannel;
use super::{desk, principal};
use crate::errors;

fn templates<'a>(ctx: &Context<'a>) -> Result<&'a Templates> {
    ctx.data::<Templates>()
}

pub struct ContactTemplate(Template);

/// One version of a creditor's message template.
#[Object]
impl ContactTemplate {
    async fn creditor(&self) -> &str {
        &self.0.creditor
    }
    async fn channel(&self) -> ContactChannel {
        self.0.channel.into()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// BCP 47, normalised (`es`, `es-CO`).
    async fn language(&self) -> &str {
        &self.0.language
    }
    /// 1, 2, … per creditor, channel, name and language; each save adds one and none
    /// ever changes. Contact attempts record the version they were sent with.
    async fn version(&self) -> u32 {
        self.0.version
    }
    /// E-mail and letters only.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// Jinja text: see docs/contact-templates.md for the variables a message has.
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn created_at(&self) -> Option<DateTime<Utc>> {
        self.0.created.as_ref().map(|(at, _)| *at)
    }
    async fn created_by(&self) -> Option<&str> {
        self.0.created.as_ref().map(|(_, by)| by.as_str())
    }
}

/// A new version of a template. It is refused (INVALID_TEMPLATE, naming the problem)
/// when it does not parse, names a variable no message has, or, for e-mail, SMS and
/// WhatsApp, does not print `{{ opt_out }}`.
#[derive(InputObject)]
pub struct ContactTemplateInput {
    pub creditor: String,
    pub channel: ContactChannel,
    /// 1 to 64 letters, digits, '-', '_' or '.'; the name a task's `template` header
    /// gives (`reminder-1`, `demand-letter`).
    pub name: String,
    /// BCP 47: `es`, `es-CO`, `en`.
    pub language: String,
    /// Required for e-mail, optional for letters, refused for other channels.
    pub subject: Option<String>,
    pub body: String,
}

/// Template text to preview before it is saved.
#[derive(InputObject)]
pub struct ContactTemplateDraft {
    pub subject: Option<String>,
    pub body: String,
}

/// Which template a preview was rendered from.
#[derive(SimpleObject)]
pub struct ContactTemplateRef {
    pub name: String,
    pub language: String,
    /// 0 for a built-in template; `null` for a draft.
    pub version: Option<u32>,
}

/// Who a previewed message would go to.
#[derive(SimpleObject)]
pub struct ContactRecipient {
    /// `debtor`.
    pub role: String,
    pub name: String,
    /// The e-mail address, E.164 number or postal address the channel would use;
    /// `null` when the debtor has none the channel may use.
    pub destination: Option<String>,
}

/// A case's message as a contact job would send it now.
#[derive(SimpleObject)]
pub struct ContactPreview {
    pub subject: Option<String>,
    pub body: String,
    pub template: ContactTemplateRef,
    pub recipient: ContactRecipient,
}

#[derive(Default)]
pub struct TemplateQuery;

#[Object]
impl TemplateQuery {
    /// Saved template versions of the caller's tenant, each filter optional; ordered by
    /// creditor, channel, name and language, newest version first (at most 500).
    async fn contact_templates(
        &self,
        ctx: &Context<'_>,
        creditor: Option<String>,
        channel: Option<ContactChannel>,
        name: Option<String>,
    ) -> Result<Vec<ContactTemplate>> {
        let found = templates(ctx)?
            .list(
                principal(ctx)?,
                TemplateFilter {
                    creditor,
                    channel: channel.map(Into::into),
                    name,
                },
            )
            .await
            .map_err(errors::api)?;
        Ok(found.into_iter().map(ContactTemplate).collect())
    }

    /// The message a contact job on the case would send the debtor now: the template it
    /// would use (the channel's default name and the debtor's language unless given),
    /// or `draft`, rendered with the case's real context. A variable the case lacks is
    /// INVALID_TEMPLATE naming it; nothing is sent or recorded.
    async fn preview_contact_template(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        channel: ContactChannel,
        name: Option<String>,
        language: Option<String>,
        draft: Option<ContactTemplateDraft>,
    ) -> Result<ContactPreview> {
        let p = preview(
            desk(ctx)?,
            templates(ctx)?,
            principal(ctx)?,
            PreviewRequest {
                case_id: case_id.0,
                channel: channel.into(),
                name,
                language,
                draft: draft.map(|d| Draft {
                    subject: d.subject,
                    body: d.body,
                }),
            },
        )
        .await
        .map_err(errors::api)?;
        Ok(ContactPreview {
            subject: p.subject,
            body: p.body,
            template: ContactTemplateRef {
                name: p.name,
                language: p.language,
                version: p.version,
            },
            recipient: ContactRecipient {
                role: p.recipient_role,
                name: p.recipient_name,
                destination: p.destination,
            },
        })
    }
}

#[derive(Default)]
pub struct TemplateMutation;

#[Object]
impl TemplateMutation {
    /// Saves the next version of a template (supervisors, admins). Jobs use the newest
    /// version from then on; attempts already made keep the version they recorded.
    async fn save_contact_template(
        &self,
        ctx: &Context<'_>,
        input: ContactTemplateInput,
    ) -> Result<ContactTemplate> {
        let now = desk(ctx)?.clock().now();
        templates(ctx)?
            .save(
                principal(ctx)?,
                NewTemplate {
                    creditor: input.creditor,
                    channel: input.channel.into(),
                    name: input.name,
                    language: input.language,
                    subject: input.subject,
                    body: input.body,
                },
                now,
            )
            .await
            .map(ContactTemplate)
            .map_err(errors::api)
    }
}
