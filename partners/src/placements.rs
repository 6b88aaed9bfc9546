//! Cases placed with partners: each change is a journalled case fact (and, where the
//! process waits for it, a BPMN message: `services::case::placement`).

use chrono::Duration;

use services::access::{Operation, Principal};
use services::case::CaseFact;
use services::case::legal::LegalMilestone;
use services::desk::{DeskError, require};
use services::runtime::Outcome;

use crate::Partners;

/// How long a partner has to accept an offered case unless the placement says.
pub const DEFAULT_ACCEPT_WITHIN: Duration = Duration::hours(48);

impl Partners {
    /// Offers a case to `partner_id`, or (none) to the agency the allocation rules
    /// choose for it.
    pub async fn place_case(
        &self,
        p: &Principal,
        case_id: &str,
        partner_id: Option<&str>,
        note: Option<String>,
        accept_within: Option<Duration>,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        let case = self.desk.case(p, case_id).await?;
        require(p, Operation::PlaceCase, "place cases with partners")?;
        let accept_within = accept_within.unwrap_or(DEFAULT_ACCEPT_WITHIN);
        if accept_within < Duration::hours(1) || accept_within > Duration::days(90) {
            return Err(DeskError::Invalid(
                "a partner is given 1 hour to 90 days to accept a placement".into(),
            ));
        }
        let partner = match partner_id {
            Some(id) => self.get(p, id).await?,
            None => self.allocate_for(p, &case, "agency").await?,
        };
        if !partner.active {
            return Err(DeskError::Conflict(format!(
                "partner {} is inactive",
                partner.name
            )));
        }
        let fact = CaseFact::Placed {
            partner: partner.partner_id,
            note,
            accept_by: Some(self.desk.clock().now() + accept_within),
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
        let fact = |partner, reason: &str| CaseFact::PlacementRecalled {
            partner,
            reason: reason.to_string(),
        };
        self.creditor_ends(
            p,
            case_id,
            reason,
            "recall placements",
            fact,
            idempotency_key,
        )
        .await
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

    /// The partner turns an offered case down (an accepted one is returned instead).
    pub async fn decline_placement(
        &self,
        p: &Principal,
        case_id: &str,
        reason: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        let fact = |partner, reason| CaseFact::PlacementDeclined { partner, reason };
        self.partner_gives_back(p, case_id, reason, "declined", fact, idempotency_key)
            .await
    }

    /// The creditor ends a placement whose work is done (paid, settled, judged).
    pub async fn close_placement(
        &self,
        p: &Principal,
        case_id: &str,
        reason: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        let fact = |partner, reason: &str| CaseFact::PlacementClosed {
            partner,
            reason: reason.trim().to_string(),
        };
        self.creditor_ends(
            p,
            case_id,
            reason,
            "close placements",
            fact,
            idempotency_key,
        )
        .await
    }

    /// The creditor's end of the case's placement, whoever holds it.
    async fn creditor_ends(
        &self,
        p: &Principal,
        case_id: &str,
        reason: &str,
        what: &'static str,
        fact: impl FnOnce(String, &str) -> CaseFact,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        let case = self.desk.case(p, case_id).await?;
        require(p, Operation::PlaceCase, what)?;
        let partner = case
            .partner
            .ok_or_else(|| DeskError::Conflict(format!("case {case_id} is not placed")))?;
        self.desk
            .record(p, case_id, fact(partner, reason), idempotency_key)
            .await
    }

    pub async fn return_placement(
        &self,
        p: &Principal,
        case_id: &str,
        reason: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        let fact = |partner, reason| CaseFact::PlacementReturned { partner, reason };
        self.partner_gives_back(p, case_id, reason, "returned", fact, idempotency_key)
            .await
    }

    /// A partner's no to an offer or return of a case, which must say why.
    async fn partner_gives_back(
        &self,
        p: &Principal,
        case_id: &str,
        reason: &str,
        what: &'static str,
        fact: impl FnOnce(String, String) -> CaseFact,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.desk.case(p, case_id).await?;
        require(p, Operation::RespondToPlacement, "answer placements")?;
        if reason.trim().is_empty() {
            return Err(DeskError::Invalid(format!("say why the case is {what}")));
        }
        let fact = fact(
            p.partner.clone().unwrap_or_default(),
            reason.trim().to_string(),
        );
        self.desk.record(p, case_id, fact, idempotency_key).await
    }

    /// A step of the legal proceedings on the case, under the reporter's reference: a
    /// report repeated with the same reference records nothing new.
    pub async fn report_legal_milestone(
        &self,
        p: &Principal,
        case_id: &str,
        milestone: LegalMilestone,
        on: chrono::NaiveDate,
        reference: &str,
        note: &str,
    ) -> Result<Outcome, DeskError> {
        self.desk.case(p, case_id).await?;
        require(p, Operation::RecordActivity, "report legal milestones")?;
        let reference = reference.trim();
        if reference.is_empty() || reference.len() > 100 {
            return Err(DeskError::Invalid(
                "a legal milestone's reference (the docket or filing number) holds 1 to 100 characters".into(),
            ));
        }
        if note.len() > 2000 {
            return Err(DeskError::Invalid(
                "a note holds at most 2,000 characters".into(),
            ));
        }
        let today = self.desk.clock().now().date_naive();
        if on > today && !milestone.may_be_future() {
            return Err(DeskError::Invalid(format!(
                "a {} is reported once it happened, not for {on}",
                milestone.as_str()
            )));
        }
        let fact = CaseFact::LegalMilestoneReported {
            milestone,
            on,
            reference: reference.to_string(),
            note: note.trim().to_string(),
        };
        let key = Self::reported_key(p, "legal", reference);
        self.desk.record(p, case_id, fact, Some(key)).await
    }

    /// The idempotency key of a report under its reporter's own reference: the
    /// partner's (or the creditor's), so two partners' references never collide.
    pub fn reported_key(p: &Principal, what: &str, reference: &str) -> String {
        let reporter = p.partner.as_deref().unwrap_or("creditor");
        format!("{what}:{reporter}:{reference}")
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
