//! Cases placed with partners: each change is a journalled case fact.

use services::access::{Operation, Principal};
use services::case::CaseFact;
use services::desk::{DeskError, require};
use services::runtime::Outcome;

use crate::Partners;

impl Partners {
    pub async fn place_case(
        &self,
        p: &Principal,
        case_id: &str,
        partner_id: &str,
        note: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.desk.case(p, case_id).await?;
        require(p, Operation::PlaceCase, "place cases with partners")?;
        let partner = self.get(p, partner_id).await?;
        if !partner.active {
            return Err(DeskError::Conflict(format!(
                "partner {} is inactive",
                partner.name
            )));
        }
        let fact = CaseFact::Placed {
            partner: partner.partner_id,
            note,
        };
        self.desk.record(p, case_id, fact, idempotency_key).await
    }

    pub async fn recall_case(
        &self,
        p: &Principal,
        case_id: &str,
        reason: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        let case = self.desk.case(p, case_id).await?;
        require(p, Operation::PlaceCase, "recall placements")?;
        let partner = case
            .partner
            .ok_or_else(|| DeskError::Conflict(format!("case {case_id} is not placed")))?;
        let fact = CaseFact::PlacementRecalled {
            partner,
            reason: reason.to_string(),
        };
        self.desk.record(p, case_id, fact, idempotency_key).await
    }

    pub async fn accept_placement(
        &self,
        p: &Principal,
        case_id: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.desk.case(p, case_id).await?;
        require(p, Operation::RespondToPlacement, "accept placements")?;
        let fact = CaseFact::PlacementAccepted {
            partner: p.partner.clone().unwrap_or_default(),
        };
        self.desk.record(p, case_id, fact, idempotency_key).await
    }

    pub async fn return_placement(
        &self,
        p: &Principal,
        case_id: &str,
        reason: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.desk.case(p, case_id).await?;
        require(p, Operation::RespondToPlacement, "return placements")?;
        if reason.trim().is_empty() {
            return Err(DeskError::Invalid("say why the case is returned".into()));
        }
        let fact = CaseFact::PlacementReturned {
            partner: p.partner.clone().unwrap_or_default(),
            reason: reason.trim().to_string(),
        };
        self.desk.record(p, case_id, fact, idempotency_key).await
    }

    /// A call, letter, visit or filing done on the case.
    pub async fn record_activity(
        &self,
        p: &Principal,
        case_id: &str,
        kind: &str,
        note: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.desk.case(p, case_id).await?;
        require(p, Operation::RecordActivity, "record activities")?;
        let kind = kind.trim();
        if kind.is_empty()
            || kind.len() > 50
            || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(DeskError::Invalid(format!(
                "activity kind {kind:?} must be 1 to 50 letters, digits or underscores"
            )));
        }
        let fact = CaseFact::ActivityRecorded {
            kind: kind.to_string(),
            note: note.to_string(),
        };
        self.desk.record(p, case_id, fact, idempotency_key).await
    }
}
