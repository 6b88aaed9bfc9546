//! What a message template can name: the recipient, the debtor, the creditor, the case,
//! its balance and accounts, and the process variables. Built here once for the jobs
//! that send messages and for previews, so a preview shows exactly what would be sent.
//! Every field is documented in `docs/contact-templates.md`.
//!
//! A field the case does not have (no ledger yet, no stage) is left out, not null: a
//! template naming it then fails (an incident when sending, INVALID_TEMPLATE in a
//! preview) instead of printing "none" to a debtor.

use bpmn::expr::Vars;
use chrono::{DateTime, NaiveDate, Utc};
use collections::contact::Channel;
use collections::debtor::{ContactPoint, Debtor, Relationship};
use collections::template::format_money;
use serde::Serialize;
use serde_json::Value;
use services::case::CaseState;

/// Who a message goes to: the debtor, or a related party who may hear of the debt.
#[derive(Debug, Clone, PartialEq)]
pub struct Addressee {
    /// `debtor`, `guarantor`, `co_debtor`.
    pub role: String,
    pub name: String,
    /// E-mail address, E.164 number or one-line postal address.
    pub destination: String,
    /// For letters: the address as lines.
    pub address: Option<String>,
}

pub use services::desk::compliance::recipient_role;

/// The contact point of `role` that `channel` may use at `at`, or why there is none.
pub fn addressee(
    debtor: Option<&Debtor>,
    role: &str,
    channel: Channel,
    at: DateTime<Utc>,
) -> Result<Addressee, String> {
    let debtor = debtor.ok_or("the case has no registered debtor to contact")?;
    let (name, contacts) = if role == "debtor" {
        (debtor.name.clone(), debtor.contacts())
    } else {
        let wanted = match role {
            "guarantor" => Relationship::Guarantor,
            "co_debtor" | "co-debtor" | "codebtor" => Relationship::CoDebtor,
            other => return Err(format!("{other} may not be told about the debt")),
        };
        let party = debtor
            .related
            .iter()
            .find(|p| p.relationship == wanted)
            .ok_or_else(|| format!("the debtor has no {role} on file"))?;
        (party.name.clone(), party.contacts.as_slice())
    };
    // A contact whose consent for the channel was given and later revoked is closed to
    // it; among the rest, one with consent in force comes first.
    let usable = contacts.iter().filter(|c| {
        c.point.kind() == channel.uses()
            && (c.authorised(channel, at) || !c.consents().iter().any(|k| k.channel == channel))
            && match &c.point {
                ContactPoint::Phone(p) if matches!(channel, Channel::Sms | Channel::WhatsApp) => {
                    p.is_mobile() != Some(false)
                }
                _ => true,
            }
    });
    let chosen = usable
        .clone()
        .find(|c| c.authorised(channel, at))
        .or_else(|| usable.clone().next())
        .ok_or_else(|| format!("no {channel:?} contact for the {role} on file"))?;
    let (destination, address) = match &chosen.point {
        ContactPoint::Phone(p) => (p.e164().to_string(), None),
        ContactPoint::Email(e) => (e.as_str().to_string(), None),
        ContactPoint::Postal(a) => (
            a.envelope_lines().join(", "),
            Some(a.envelope_lines().join("\n")),
        ),
    };
    Ok(Addressee {
        role: role.to_string(),
        name,
        destination,
        address,
    })
}

/// The opt-out line a channel's messages carry (required for e-mail, SMS and WhatsApp);
/// empty for channels that have none.
pub fn opt_out_text(channel: Channel, language: &str) -> &'static str {
    let es = language.starts_with("es");
    match channel {
        Channel::Sms | Channel::WhatsApp if es => "Responda STOP para no recibir más mensajes.",
        Channel::Sms | Channel::WhatsApp => "Reply STOP to opt out.",
        Channel::Email if es => {
            "Para dejar de recibir estos correos, responda con la palabra BAJA."
        }
        Channel::Email => "To stop receiving these e-mails, reply with the word UNSUBSCRIBE.",
        _ => "",
    }
}

/// Everything a template can name. Field names are the template's variable names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageContext {
    pub recipient: Recipient,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debtor: Option<DebtorFields>,
    pub creditor: CreditorFields,
    pub case: CaseFields,
    /// The case's whole balance, written for the reader (`$ 1.250.000`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<String>,
    /// The same, exact, as text (`1250000.00`): for `{{ balance_amount | money }}` or
    /// arithmetic-free comparisons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance_amount: Option<String>,
    /// ISO 4217 code of the case's accounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Days since the oldest delinquency among accounts still owing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_past_due: Option<i64>,
    pub accounts: Vec<AccountFields>,
    /// The BCP 47 locale amounts are written in: the debtor's language, else the
    /// template's.
    pub locale: String,
    /// The template's language.
    pub language: String,
    /// The channel's opt-out line in the template's language; absent for letters and
    /// calls, which have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_out: Option<String>,
    /// The process variables visible at the task.
    pub vars: Vars,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recipient {
    pub name: String,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DebtorFields {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreditorFields {
    pub id: String,
    /// The creditor's id until creditors have display names.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFields {
    pub id: String,
    /// The case's external reference (`externalRef`), else its id.
    pub reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountFields {
    /// The creditor's reference for the account (its id on the ledger).
    pub id: String,
    pub product: String,
    pub creditor: String,
    pub portfolio: String,
    pub balance: String,
    pub balance_amount: String,
    pub delinquent_since: NaiveDate,
}

/// What one case's message can say. `today` counts days past due (the UTC date).
pub struct Inputs<'a> {
    pub state: &'a CaseState,
    pub debtor: Option<&'a Debtor>,
    pub to: &'a Addressee,
    pub creditor: &'a str,
    pub channel: Channel,
    /// The template's language.
    pub language: &'a str,
    pub variables: &'a Vars,
    pub today: NaiveDate,
}

pub fn message_context(i: Inputs<'_>) -> MessageContext {
    let locale = i
        .debtor
        .and_then(|d| d.language.as_ref())
        .map_or(i.language, |l| l.as_str())
        .to_string();
    let ledger = i.state.ledger.as_ref();
    let balance = ledger.map(|l| l.balance());
    let reference = i
        .variables
        .get("externalRef")
        .and_then(Value::as_str)
        .unwrap_or(&i.state.case_id)
        .to_string();
    let accounts = ledger
        .map(|l| {
            l.accounts()
                .iter()
                .map(|a| AccountFields {
                    id: a.id.clone(),
                    product: a.product.clone(),
                    creditor: a.creditor.clone(),
                    portfolio: a.portfolio.clone(),
                    balance: format_money(a.balance(), &locale),
                    balance_amount: a.balance().amount().to_string(),
                    delinquent_since: a.delinquent_since,
                })
                .collect()
        })
        .unwrap_or_default();
    MessageContext {
        recipient: Recipient {
            name: i.to.name.clone(),
            role: i.to.role.clone(),
            address: i.to.address.clone(),
        },
        debtor: i.debtor.map(|d| DebtorFields {
            id: d.id.clone(),
            name: d.name.clone(),
            language: d.language.as_ref().map(|l| l.as_str().to_string()),
        }),
        creditor: CreditorFields {
            id: i.creditor.to_string(),
            name: i.creditor.to_string(),
        },
        case: CaseFields {
            id: i.state.case_id.clone(),
            reference,
            stage: i.state.instance.stage.clone(),
        },
        balance: balance.map(|b| format_money(b, &locale)),
        balance_amount: balance.map(|b| b.amount().to_string()),
        currency: balance.map(|b| b.currency().code().to_string()),
        days_past_due: ledger.map(|l| l.days_past_due(i.today)),
        accounts,
        opt_out: opt_out(i.channel, i.language),
        locale,
        language: i.language.to_string(),
        vars: i.variables.clone(),
    }
}

fn opt_out(channel: Channel, language: &str) -> Option<String> {
    Some(opt_out_text(channel, language))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// A context with every field filled, for checking a template before it is saved: a
/// template that renders against it names nothing a real message lacks, except process
/// variables (which [`collections::template::check`] accepts by any name) and fields a
/// particular case may not have yet (a balance before any account).
pub fn sample_context(channel: Channel, language: &str, creditor: &str) -> MessageContext {
    let locale = if language.contains('-') {
        language.to_string()
    } else {
        format!("{language}-CO")
    };
    let money = |amount: &str| {
        let cop = collections::money::Currency::from_code("COP").expect("COP is ISO 4217");
        let m = collections::money::Money::parse(amount, cop).expect("a sample amount");
        (format_money(m, &locale), m.amount().to_string())
    };
    let (balance, balance_amount) = money("1250000");
    let since = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap_or_default();
    MessageContext {
        recipient: Recipient {
            name: "Ana Pérez".into(),
            role: "debtor".into(),
            address: Some("Calle 10 # 5-20\nBogotá\nColombia".into()),
        },
        debtor: Some(DebtorFields {
            id: "D-1".into(),
            name: "Ana Pérez".into(),
            language: Some(language.to_string()),
        }),
        creditor: CreditorFields {
            id: creditor.to_string(),
            name: creditor.to_string(),
        },
        case: CaseFields {
            id: "case-1".into(),
            reference: "LOAN-1".into(),
            stage: Some("early".into()),
        },
        balance: Some(balance.clone()),
        balance_amount: Some(balance_amount.clone()),
        currency: Some("COP".into()),
        days_past_due: Some(45),
        accounts: vec![AccountFields {
            id: "L-1".into(),
            product: "loan".into(),
            creditor: creditor.to_string(),
            portfolio: "default".into(),
            balance,
            balance_amount,
            delinquent_since: since,
        }],
        opt_out: opt_out(channel, language),
        locale,
        language: language.to_string(),
        vars: Vars::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_recipient_is_the_debtor_unless_the_task_names_another() {
        let mut vars = Vars::new();
        assert_eq!(recipient_role(&vars), "debtor");
        vars.insert("recipient".into(), json!("Guarantor"));
        assert_eq!(recipient_role(&vars), "guarantor");
        vars.insert("recipient".into(), json!({"role": "co_debtor"}));
        assert_eq!(recipient_role(&vars), "co_debtor");
    }

    #[test]
    fn the_sample_has_every_field_and_the_channels_opt_out() {
        let sample = serde_json::to_value(sample_context(Channel::Sms, "es", "bank")).unwrap();
        for field in [
            "recipient",
            "debtor",
            "creditor",
            "case",
            "balance",
            "balance_amount",
            "currency",
            "days_past_due",
            "accounts",
            "locale",
            "language",
            "opt_out",
            "vars",
        ] {
            assert!(sample.get(field).is_some(), "{field}");
        }
        assert_eq!(sample["balance"], "$ 1.250.000");
        assert_eq!(
            sample["opt_out"],
            "Responda STOP para no recibir más mensajes."
        );
        let letter = serde_json::to_value(sample_context(Channel::Letter, "en", "bank")).unwrap();
        assert!(letter.get("opt_out").is_none(), "letters have none");
    }
}
