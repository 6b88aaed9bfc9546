//! The events a partner's webhook hears about a case placed with it (decision 0025):
//! outbox rows of kind [`KIND`], written in the case's own transaction, so an event is
//! sent if and only if its change committed. A row names the partner and carries what
//! the event is about; what of it the partner may read is decided when it is sent, by
//! the partner's disclosure policy at the stage in the row (`partners::webhooks`).

use bpmn::engine::Effect;
use chrono::{DateTime, Utc};
use collections::money::Money;
use serde_json::{Value, json};

use super::facts::DocumentFact;
use super::projection::{Changes, OutboxRow};
use super::{CaseEvent, CaseFact, CaseState, LedgerFact, PARTNER_LANE};

pub const KIND: &str = "partner_event";

/// Event types, as the webhook's `type` field names them.
pub const PLACEMENT_OFFERED: &str = "placement.offered";
pub const PLACEMENT_RECALLED: &str = "placement.recalled";
pub const PLACEMENT_CLOSED: &str = "placement.closed";
pub const CASE_UPDATED: &str = "case.updated";
pub const DOCUMENT_ADDED: &str = "document.added";
pub const PAYMENT_ALLOCATED: &str = "payment.allocated";
pub const TASK_CREATED: &str = "task.created";

pub const EVENT_TYPES: [&str; 7] = [
    PLACEMENT_OFFERED,
    PLACEMENT_RECALLED,
    PLACEMENT_CLOSED,
    CASE_UPDATED,
    DOCUMENT_ADDED,
    PAYMENT_ALLOCATED,
    TASK_CREATED,
];

/// `{"amount": "12.50", "currency": "EUR"}`: exact, and easy for a receiver to read.
pub fn money_json(m: Money) -> Value {
    json!({"amount": m.amount().to_string(), "currency": m.currency().code()})
}

/// Adds the partner events of one committed event to its outbox rows.
pub(super) fn add(
    c: &mut Changes,
    event: &CaseEvent,
    state: &CaseState,
    effects: &[Effect],
    at: DateTime<Utc>,
) {
    let stage = state.instance.stage.clone();
    // The projection's own reading of the case's columns, not a second one.
    let amount_due = c.desk.amount_due().map_or(Value::Null, money_json);
    let status = c.status;
    let case_updated = || json!({"status": status, "amountDue": amount_due});
    let mut push = |partner: &str, kind: &str, data: Value| {
        c.outbox.push(OutboxRow {
            kind: KIND,
            payload: json!({
                "partner": partner,
                "type": kind,
                "stage": stage,
                "occurredAt": at,
                "data": data,
            }),
            not_before: None,
            job_type: None,
            partner: Some(partner.to_string()),
        })
    };
    if let CaseEvent::Fact { fact } = event {
        match fact {
            CaseFact::Placed {
                partner, accept_by, ..
            } => push(partner, PLACEMENT_OFFERED, json!({"acceptBy": accept_by})),
            CaseFact::PlacementRecalled { partner, reason } => {
                push(partner, PLACEMENT_RECALLED, json!({"reason": reason}))
            }
            CaseFact::PlacementClosed { partner, reason } => {
                push(partner, PLACEMENT_CLOSED, json!({"reason": reason}))
            }
            _ => {}
        }
    }
    // The rest concerns the partner holding the case after the event.
    let Some(placement) = &state.placement else {
        return;
    };
    let partner = placement.partner.as_str();
    if let CaseEvent::Fact { fact } = event {
        match fact {
            CaseFact::Document(DocumentFact::Added {
                document_id,
                version,
                kind,
                file_name,
                content_type,
                size,
                ..
            }) => push(
                partner,
                DOCUMENT_ADDED,
                json!({
                    "documentId": document_id,
                    "version": version,
                    "kind": kind,
                    "fileName": file_name,
                    "contentType": content_type,
                    "size": size,
                }),
            ),
            CaseFact::Ledger(LedgerFact::PaymentRecorded {
                reference,
                amount,
                received_on,
                ..
            }) => push(
                partner,
                PAYMENT_ALLOCATED,
                json!({
                    "reference": reference,
                    "amount": money_json(*amount),
                    "receivedOn": received_on,
                    "amountDue": amount_due,
                }),
            ),
            CaseFact::Ledger(LedgerFact::ReportedPaymentConfirmed { reference, .. }) => {
                if let Some(r) = state.ledger.as_ref().and_then(|l| l.report(reference)) {
                    push(
                        partner,
                        PAYMENT_ALLOCATED,
                        json!({
                            "reference": reference,
                            "amount": money_json(r.amount),
                            "receivedOn": r.received_on,
                            "amountDue": amount_due,
                        }),
                    )
                }
            }
            CaseFact::Ledger(
                LedgerFact::AccountOpened { .. }
                | LedgerFact::Charged { .. }
                | LedgerFact::PaymentReversed { .. },
            ) => push(partner, CASE_UPDATED, case_updated()),
            _ => {}
        }
    }
    let mut updated = false;
    for fx in effects {
        match fx {
            Effect::CreateTask(t) if t.candidate_groups.iter().any(|g| g == PARTNER_LANE) => push(
                partner,
                TASK_CREATED,
                json!({
                    "taskId": t.task.to_string(),
                    "elementId": t.element_id.to_string(),
                    "name": t.name,
                    "dueDate": t.due_date,
                }),
            ),
            Effect::StageEntered { .. } | Effect::Completed { .. } | Effect::Terminated
                if !updated =>
            {
                updated = true;
                push(partner, CASE_UPDATED, case_updated());
            }
            _ => {}
        }
    }
}
