//! The legal proceedings on a case, as the law firm reports them: claim filed, hearing
//! scheduled, judgment, seizure. Each is a journalled fact and, where the process waits
//! for it, a message in the same entry (`legal-claim-filed`, `legal-hearing`,
//! `legal-judgment`, `legal-seizure`).

use bpmn::engine::Event;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::CaseState;

/// A step of the legal proceedings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalMilestone {
    ClaimFiled,
    HearingScheduled,
    Judgment,
    Seizure,
}

impl LegalMilestone {
    pub fn as_str(self) -> &'static str {
        match self {
            LegalMilestone::ClaimFiled => "claim_filed",
            LegalMilestone::HearingScheduled => "hearing_scheduled",
            LegalMilestone::Judgment => "judgment",
            LegalMilestone::Seizure => "seizure",
        }
    }

    /// The message a waiting process receives.
    pub fn message_name(self) -> &'static str {
        match self {
            LegalMilestone::ClaimFiled => "legal-claim-filed",
            LegalMilestone::HearingScheduled => "legal-hearing",
            LegalMilestone::Judgment => "legal-judgment",
            LegalMilestone::Seizure => "legal-seizure",
        }
    }

    /// A hearing is reported when it is set, for a later day; the others once they
    /// happened.
    pub fn may_be_future(self) -> bool {
        self == LegalMilestone::HearingScheduled
    }
}

/// The milestone's message, if the process waits for it.
pub(super) fn message(
    next: &CaseState,
    milestone: LegalMilestone,
    on: NaiveDate,
    reference: &str,
) -> Option<Event> {
    let name = milestone.message_name();
    if !next.waits_for(name) {
        return None;
    }
    let mut variables = bpmn::expr::Vars::new();
    variables.insert("milestone".into(), json!(milestone.as_str()));
    variables.insert("milestoneDate".into(), json!(on.to_string()));
    variables.insert("milestoneReference".into(), json!(reference));
    Some(Event::Message {
        name: name.to_string(),
        correlation_key: None,
        variables,
    })
}
