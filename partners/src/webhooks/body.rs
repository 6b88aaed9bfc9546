//! The body a partner receives for an event: only what its disclosure policy lets it
//! read at the case's stage (decision 0023), in the specification's envelope
//! `{"type", "timestamp", "data"}`.

use collections::disclosure::{CaseData, DisclosurePolicy, needed_for_document};
use serde_json::{Map, Value, json};
use services::case::partner_events as ev;

/// The body of the event an outbox `payload` describes, for a partner reading under
/// `policy`; `None` when the policy withholds the whole event (a payment from a partner
/// that may not see payments, a document of a kind it may not read).
pub fn minimised(case_id: &str, payload: &Value, policy: &DisclosurePolicy) -> Option<Value> {
    let kind = payload["type"].as_str()?;
    let stage = payload["stage"].as_str();
    let allows = |d: CaseData| policy.allows(stage, d);
    let mut data = payload["data"].as_object().cloned().unwrap_or_default();
    let drop_unless = |data: &mut Map<String, Value>, field: &str, d: CaseData| {
        if !allows(d) {
            data.remove(field);
        }
    };
    match kind {
        ev::CASE_UPDATED => drop_unless(&mut data, "amountDue", CaseData::Balance),
        ev::PAYMENT_ALLOCATED => {
            if !allows(CaseData::PaymentHistory) {
                return None;
            }
            drop_unless(&mut data, "amountDue", CaseData::Balance);
        }
        ev::DOCUMENT_ADDED => {
            let doc_kind = data.get("kind").and_then(Value::as_str).unwrap_or_default();
            if needed_for_document(doc_kind).is_some_and(|d| !allows(d)) {
                return None;
            }
        }
        ev::PLACEMENT_OFFERED
        | ev::PLACEMENT_RECALLED
        | ev::PLACEMENT_CLOSED
        | ev::TASK_CREATED => {}
        // A type this build does not know is not sent: nothing unvetted leaves.
        _ => return None,
    }
    data.insert("caseId".into(), json!(case_id));
    data.insert("stage".into(), json!(stage));
    Some(json!({
        "type": kind,
        "timestamp": payload["occurredAt"],
        "data": data,
    }))
}

#[cfg(test)]
mod tests {
    use collections::disclosure::PartnerKind;

    use super::*;

    fn payload(kind: &str, data: Value) -> Value {
        json!({"partner": "p1", "type": kind, "stage": "extrajudicial",
               "occurredAt": "2026-12-08T10:00:00Z", "data": data})
    }

    #[test]
    fn an_agency_hears_balances_and_payments_but_not_contract_documents() {
        let agency = DisclosurePolicy::default_for(PartnerKind::Agency);
        let paid = payload(
            ev::PAYMENT_ALLOCATED,
            json!({"reference": "r1", "amount": {"amount": "10.00", "currency": "EUR"},
                   "amountDue": {"amount": "90.00", "currency": "EUR"}}),
        );
        let body = minimised("c1", &paid, &agency).unwrap();
        assert_eq!(body["data"]["amountDue"]["amount"], "90.00");
        assert_eq!(body["data"]["caseId"], "c1");
        assert_eq!(body["timestamp"], "2026-12-08T10:00:00Z");
        let contract = payload(ev::DOCUMENT_ADDED, json!({"kind": "contract"}));
        assert_eq!(minimised("c1", &contract, &agency), None);
        let letter = payload(ev::DOCUMENT_ADDED, json!({"kind": "demand_letter"}));
        assert!(minimised("c1", &letter, &agency).is_some());
    }

    #[test]
    fn a_partner_without_balance_or_payments_hears_neither() {
        let mut policy = DisclosurePolicy::default_for(PartnerKind::Agency);
        policy.default.remove(&CaseData::Balance);
        policy.default.remove(&CaseData::PaymentHistory);
        let updated = payload(
            ev::CASE_UPDATED,
            json!({"status": "active", "amountDue": {"amount": "90.00", "currency": "EUR"}}),
        );
        let body = minimised("c1", &updated, &policy).unwrap();
        assert_eq!(body["data"].get("amountDue"), None);
        assert_eq!(body["data"]["status"], "active");
        let paid = payload(ev::PAYMENT_ALLOCATED, json!({}));
        assert_eq!(minimised("c1", &paid, &policy), None);
        assert_eq!(
            minimised("c1", &payload("case.deleted", json!({})), &policy),
            None
        );
    }
}
