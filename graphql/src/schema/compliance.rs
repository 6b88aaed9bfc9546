//! The compliance gate through GraphQL: whether a channel may be used on a case now
//! (`Case.contactPermission`), and every decision the gate journalled on the case
//! (`Case.complianceDecisions`, for auditors).

use async_graphql::{Context, Result, SimpleObject};
use chrono::{DateTime, Utc};
use collections::compliance::{Decision, Recipient};
use collections::debtor::Tz;
use services::desk::compliance::{GateRecord, recipient_of};

use super::debtors::ContactChannel;
use super::{desk, principal};
use crate::errors;

/// A rule pack and the version of it that decided.
#[derive(SimpleObject)]
pub struct RulePackUsed {
    pub id: String,
    pub version: i32,
}

/// One rule that refuses the contact.
#[derive(SimpleObject)]
pub struct ComplianceBlock {
    pub pack: String,
    pub version: i32,
    pub rule: String,
    /// The legal reference, e.g. "Reg F §1006.14(b)(2)(i)(A)".
    pub reference: String,
    pub reason: String,
}

/// An instant in one of the debtor's candidate zones.
#[derive(SimpleObject)]
pub struct LocalTime {
    pub zone: String,
    /// ISO 8601 with the zone's offset, e.g. `2026-03-02T07:00:00-05:00`.
    pub local: String,
}

/// The facts a decision rested on.
#[derive(SimpleObject)]
pub struct ComplianceBasis {
    pub country: String,
    pub zones: Vec<String>,
    /// The debtor's flags active then (`dispute`, `cease_communication`, …).
    pub flags: Vec<String>,
    pub consent_in_force: Option<bool>,
    pub earlier_contacts: i32,
}

/// The gate's answer on one contact.
#[derive(SimpleObject)]
pub struct ComplianceDecision {
    pub at: DateTime<Utc>,
    pub channel: ContactChannel,
    /// `debtor`, or the related party's role.
    pub recipient: String,
    pub allowed: bool,
    pub packs: Vec<RulePackUsed>,
    pub blocks: Vec<ComplianceBlock>,
    /// Why no rule could be applied: `UNKNOWN_JURISDICTION`, `NO_PACK_IN_FORCE`,
    /// `UNKNOWN_DEBTOR`.
    pub refusal: Option<String>,
    pub refusal_message: Option<String>,
    /// When blocked: the first instant every rule allows it; null when none will while
    /// the facts hold (cease, dispute, no consent, an unknown jurisdiction).
    pub next_lawful_slot: Option<DateTime<Utc>>,
    /// The same slot in each of the debtor's candidate zones.
    pub next_lawful_slot_local: Vec<LocalTime>,
    pub basis: ComplianceBasis,
    /// Who asked (journalled decisions only): the job's worker, an agent.
    pub actor: Option<String>,
}

fn recipient_name(r: Recipient) -> String {
    match r {
        Recipient::Debtor => "debtor".into(),
        Recipient::Party(p) => serde_json::to_value(p)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    }
}

fn decision(
    d: Decision,
    channel: collections::debtor::Channel,
    recipient: Recipient,
    actor: Option<String>,
) -> ComplianceDecision {
    let local = d
        .next_slot
        .map(|at| {
            d.basis
                .zones
                .iter()
                .filter_map(|z| z.parse::<Tz>().ok())
                .map(|tz| LocalTime {
                    zone: tz.name().to_owned(),
                    local: at.with_timezone(&tz).to_rfc3339(),
                })
                .collect()
        })
        .unwrap_or_default();
    let refusal = d.refusal.as_ref().map(|r| {
        serde_json::to_value(r)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default()
    });
    ComplianceDecision {
        at: d.at,
        channel: channel.into(),
        recipient: recipient_name(recipient),
        allowed: d.allowed(),
        packs: d
            .packs
            .iter()
            .map(|p| RulePackUsed {
                id: p.id.clone(),
                version: i32::try_from(p.version).unwrap_or(i32::MAX),
            })
            .collect(),
        blocks: d
            .blocks
            .iter()
            .map(|b| ComplianceBlock {
                pack: b.pack.id.clone(),
                version: i32::try_from(b.pack.version).unwrap_or(i32::MAX),
                rule: b.rule.clone(),
                reference: b.reference.clone(),
                reason: b.reason.clone(),
            })
            .collect(),
        refusal,
        refusal_message: d.refusal.as_ref().map(ToString::to_string),
        next_lawful_slot: d.next_slot,
        next_lawful_slot_local: local,
        basis: ComplianceBasis {
            country: d.basis.country.clone(),
            zones: d.basis.zones.clone(),
            flags: d
                .basis
                .flags
                .iter()
                .filter_map(|f| serde_json::to_value(f).ok()?.as_str().map(str::to_owned))
                .collect(),
            consent_in_force: d.basis.consent,
            earlier_contacts: i32::try_from(d.basis.earlier_contacts).unwrap_or(i32::MAX),
        },
        actor,
    }
}

pub(crate) async fn permission(
    ctx: &Context<'_>,
    case_id: &str,
    channel: ContactChannel,
    recipient: &str,
) -> Result<ComplianceDecision> {
    let channel: collections::debtor::Channel = channel.into();
    let recipient = recipient_of(recipient.trim());
    let d = desk(ctx)?
        .contact_permission(principal(ctx)?, case_id, channel, recipient)
        .await
        .map_err(errors::api)?;
    Ok(decision(d, channel, recipient, None))
}

pub(crate) async fn decisions(ctx: &Context<'_>, case_id: &str) -> Result<Vec<ComplianceDecision>> {
    Ok(desk(ctx)?
        .compliance_decisions(principal(ctx)?, case_id)
        .await
        .map_err(errors::api)?
        .into_iter()
        .map(|r: GateRecord| {
            decision(
                r.decision,
                r.request.channel,
                r.request.recipient,
                Some(r.actor),
            )
        })
        .collect())
}
