//! A case's placement with a partner: offered (until an acceptance deadline), accepted
//! (active), then returned, recalled or closed; or declined, by the partner or by the
//! deadline lapsing. Each change is a journalled fact and, where the process waits for
//! it, a BPMN message in the same entry — so a strategy can model "wait for acceptance,
//! else offer the next agency".

use bpmn::engine::Event;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApplyError, CaseFact, CaseState};

pub const PLACEMENT_ACCEPTED: &str = "placement-accepted";
/// Declined by the partner, or not accepted by the deadline (`lapsed: true`).
pub const PLACEMENT_DECLINED: &str = "placement-declined";
pub const PLACEMENT_RETURNED: &str = "placement-returned";
pub const PLACEMENT_RECALLED: &str = "placement-recalled";
pub const PLACEMENT_CLOSED: &str = "placement-closed";

/// Where a case is placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub partner: String,
    pub accepted: bool,
    /// The case's how-manieth placement (from 1); names its deadline's timer.
    #[serde(default)]
    pub number: u32,
    /// Declined unless accepted by then (placements journalled before deadlines: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_by: Option<DateTime<Utc>>,
}

impl Placement {
    /// `placed` while offered, `accepted` once active.
    pub fn status(&self) -> &'static str {
        if self.accepted { "accepted" } else { "placed" }
    }

    /// The acceptance deadline still to be waited for, with its timer's id.
    pub fn pending_deadline(&self) -> Option<(i64, DateTime<Utc>)> {
        if self.accepted {
            return None;
        }
        self.accept_by.map(|at| (deadline_timer(self.number), at))
    }
}

/// Placement deadlines carry this bit (ledger deadlines use bit 52 and below): negative
/// timer ids, so they never meet the engine's.
const PLACEMENT_BIT: i64 = 1 << 53;

/// The timer row id of placement `number`'s acceptance deadline.
pub fn deadline_timer(number: u32) -> i64 {
    -(PLACEMENT_BIT | i64::from(number))
}

/// The placement whose deadline a timer row is, if it is one.
pub fn deadline_of_timer(timer_id: i64) -> Option<u32> {
    let v = timer_id.checked_neg().filter(|v| *v > 0)?;
    (v & PLACEMENT_BIT != 0)
        .then(|| u32::try_from(v & !PLACEMENT_BIT).ok())
        .flatten()
}

/// Whether a timer row id is a placement deadline (not a ledger one).
pub fn is_deadline_timer(timer_id: i64) -> bool {
    deadline_of_timer(timer_id).is_some()
}

/// Applies a placement fact to the case.
pub(super) fn apply(state: &mut CaseState, fact: &CaseFact) -> Result<(), ApplyError> {
    let placed_with = |state: &CaseState, partner: &str| match &state.placement {
        Some(p) if p.partner == partner => Ok(()),
        _ => Err(ApplyError::Placement(format!(
            "the case is not placed with {partner}"
        ))),
    };
    match fact {
        CaseFact::Placed {
            partner, accept_by, ..
        } => {
            if state.is_closed() {
                return Err(ApplyError::Closed);
            }
            if let Some(p) = &state.placement {
                return Err(ApplyError::Placement(format!(
                    "the case is already placed with {}",
                    p.partner
                )));
            }
            state.placements_made += 1;
            state.placement = Some(Placement {
                partner: partner.clone(),
                accepted: false,
                number: state.placements_made,
                accept_by: *accept_by,
            });
        }
        CaseFact::PlacementAccepted { partner } => {
            placed_with(state, partner)?;
            if let Some(p) = &mut state.placement {
                if p.accepted {
                    return Err(ApplyError::Placement(
                        "the placement is already accepted".into(),
                    ));
                }
                p.accepted = true;
            }
        }
        CaseFact::PlacementDeclined { partner, .. } => {
            placed_with(state, partner)?;
            if state.placement.as_ref().is_some_and(|p| p.accepted) {
                return Err(ApplyError::Placement(
                    "the placement is accepted: return the case instead".into(),
                ));
            }
            state.placement = None;
        }
        CaseFact::PlacementLapsed { placement } => {
            match &state.placement {
                Some(p) if p.number == *placement && !p.accepted => {}
                _ => {
                    return Err(ApplyError::Placement(format!(
                        "placement {placement} is no longer waiting for acceptance"
                    )));
                }
            }
            state.placement = None;
        }
        CaseFact::PlacementReturned { partner, .. }
        | CaseFact::PlacementRecalled { partner, .. }
        | CaseFact::PlacementClosed { partner, .. } => {
            placed_with(state, partner)?;
            state.placement = None;
        }
        _ => {}
    }
    Ok(())
}

/// The message a placement fact sends the process, if it waits for it; `before` is the
/// case's placement before the fact (a lapsed one names its partner only there).
pub(super) fn message(
    next: &CaseState,
    fact: &CaseFact,
    before: Option<&Placement>,
) -> Option<Event> {
    let (name, partner, reason, lapsed) = match fact {
        CaseFact::PlacementAccepted { partner } => {
            (PLACEMENT_ACCEPTED, partner.as_str(), None, false)
        }
        CaseFact::PlacementDeclined { partner, reason } => (
            PLACEMENT_DECLINED,
            partner.as_str(),
            Some(reason.as_str()),
            false,
        ),
        CaseFact::PlacementLapsed { .. } => (
            PLACEMENT_DECLINED,
            before?.partner.as_str(),
            Some("not accepted by the deadline"),
            true,
        ),
        CaseFact::PlacementReturned { partner, reason } => (
            PLACEMENT_RETURNED,
            partner.as_str(),
            Some(reason.as_str()),
            false,
        ),
        CaseFact::PlacementRecalled { partner, reason } => (
            PLACEMENT_RECALLED,
            partner.as_str(),
            Some(reason.as_str()),
            false,
        ),
        CaseFact::PlacementClosed { partner, reason } => (
            PLACEMENT_CLOSED,
            partner.as_str(),
            Some(reason.as_str()),
            false,
        ),
        _ => return None,
    };
    if !next.waits_for(name) {
        return None;
    }
    let mut variables = bpmn::expr::Vars::new();
    variables.insert("partnerId".into(), json!(partner));
    variables.insert("placementReason".into(), json!(reason));
    if name == PLACEMENT_DECLINED {
        variables.insert("lapsed".into(), json!(lapsed));
    }
    Some(Event::Message {
        name: name.to_string(),
        correlation_key: None,
        variables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_timers_meet_neither_ledger_nor_engine_timers() {
        for n in [1, 2, 77, u32::MAX] {
            let id = deadline_timer(n);
            assert!(id < 0);
            assert_eq!(deadline_of_timer(id), Some(n));
            assert_eq!(super::super::LedgerTimer::of(id), None, "{n}");
        }
        let promise = super::super::LedgerTimer::Promise {
            promise: 3,
            part: 1,
        }
        .timer_id();
        let plan = super::super::LedgerTimer::Plan {
            plan: 9,
            instalment: 4,
        }
        .timer_id();
        for other in [promise, plan, 5, 0] {
            assert_eq!(deadline_of_timer(other), None, "{other}");
        }
    }
}
