//! Previewing a case's message: the saved template (or a draft not yet saved) rendered
//! with the case's real context, exactly as a contact job would render it, without
//! sending anything or recording an attempt.

use collections::contact::Channel;
use collections::debtor::LanguageTag;
use services::access::{Operation, Principal};
use services::desk::{Desk, DeskError, require};

use crate::context::{Addressee, Inputs, addressee, message_context};
use crate::error::ContactError;
use crate::templates::{Template, Templates, default_name, render_message};

/// A template's text not yet saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub subject: Option<String>,
    pub body: String,
}

/// What to preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRequest {
    pub case_id: String,
    pub channel: Channel,
    /// The channel's default template when absent.
    pub name: Option<String>,
    /// The debtor's language when absent.
    pub language: Option<String>,
    pub draft: Option<Draft>,
}

/// A rendered message and what it was rendered from and for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub subject: Option<String>,
    pub body: String,
    pub name: String,
    pub language: String,
    /// `None` for a draft.
    pub version: Option<u32>,
    pub recipient_role: String,
    pub recipient_name: String,
    /// Where the message would go; `None` when the debtor has no usable contact point
    /// for the channel (a job would then end in INVALID_CONTACT).
    pub destination: Option<String>,
}

/// Renders the message a contact job on `case_id` would send to the debtor now.
pub async fn preview(
    desk: &Desk,
    templates: &Templates,
    p: &Principal,
    req: PreviewRequest,
) -> Result<Preview, ContactError> {
    require(p, Operation::ReadTemplates, "preview messages")?;
    let case = desk.case(p, &req.case_id).await?;
    let state = desk
        .runtime()
        .case(&req.case_id)
        .await
        .map_err(DeskError::from)?
        .ok_or_else(|| DeskError::CaseNotFound(req.case_id.clone()))?;
    let debtor_id = case
        .debtor_id
        .clone()
        .ok_or_else(|| no_debtor(&req.case_id))?;
    let debtor = match desk.debtor(p, &debtor_id).await {
        Ok(record) => record.file,
        Err(DeskError::DebtorNotFound(_)) => None,
        Err(e) => return Err(e.into()),
    }
    .ok_or_else(|| no_debtor(&req.case_id))?;
    let now = desk.clock().now();
    let (to, destination) = match addressee(Some(&debtor), "debtor", req.channel, now) {
        Ok(a) => {
            let d = a.destination.clone();
            (a, Some(d))
        }
        Err(_) => (
            Addressee {
                role: "debtor".into(),
                name: debtor.name.clone(),
                destination: String::new(),
                address: None,
            },
            None,
        ),
    };
    let creditor = state.creditor().to_string();
    let language = match &req.language {
        Some(l) => Some(
            LanguageTag::parse(l)
                .map_err(DeskError::from)?
                .as_str()
                .to_string(),
        ),
        None => debtor.language.as_ref().map(|l| l.as_str().to_string()),
    };
    let name = req
        .name
        .clone()
        .unwrap_or_else(|| default_name(req.channel).to_string());
    let (template, version) = match req.draft {
        Some(draft) => (
            Template {
                creditor: creditor.clone(),
                channel: req.channel,
                name,
                language: language.unwrap_or_else(|| "es".into()),
                version: 0,
                subject: draft.subject,
                body: draft.body,
                created: None,
            },
            None,
        ),
        None => {
            let langs: Vec<&str> = language.iter().map(String::as_str).collect();
            let t = templates
                .resolve(&p.tenant, &creditor, req.channel, &name, &langs)
                .await?;
            let v = t.version;
            (t, Some(v))
        }
    };
    let variables = state.instance.variables().cloned().unwrap_or_default();
    let context = message_context(Inputs {
        state: &state,
        debtor: Some(&debtor),
        to: &to,
        creditor: &creditor,
        channel: req.channel,
        language: &template.language,
        variables: &variables,
        today: now.date_naive(),
    });
    let rendered = render_message(&template, &context)?;
    Ok(Preview {
        subject: rendered.subject,
        body: rendered.body,
        name: template.name,
        language: template.language,
        version,
        recipient_role: to.role,
        recipient_name: to.name,
        destination,
    })
}

fn no_debtor(case_id: &str) -> ContactError {
    ContactError::Invalid(format!(
        "case {case_id} has no registered debtor: register the debtor to preview messages"
    ))
}
