//! Placing and recalling many cases at once, chosen by the case filter the case list
//! uses: each case is its own command (its own journal entry and process message), so
//! one refused case never holds back the others, and a repeated call with the same
//! idempotency key repeats nothing.

use chrono::Duration;
use services::access::{Operation, Principal};
use services::desk::{CaseFilter, DeskError, require};

use crate::Partners;

/// What a bulk operation did: the cases it changed and those it could not, with why.
#[derive(Debug, Default)]
pub struct BulkOutcome {
    pub done: Vec<String>,
    pub refused: Vec<(String, DeskError)>,
}

/// Most cases one bulk call touches.
pub const MAX_BULK: usize = 10_000;

const PAGE: i64 = 100;

/// Each case's own key under the call's.
fn case_key(key: &Option<String>, case_id: &str) -> Option<String> {
    key.as_ref().map(|k| format!("{k}:{case_id}"))
}

impl Partners {
    /// The ids of up to `limit` cases the filter selects, in the case list's order.
    async fn selected(
        &self,
        p: &Principal,
        filter: &CaseFilter,
        limit: usize,
    ) -> Result<Vec<String>, DeskError> {
        if !(1..=MAX_BULK).contains(&limit) {
            return Err(DeskError::Invalid(format!(
                "a bulk operation takes 1 to {MAX_BULK} cases"
            )));
        }
        let mut ids = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .desk
                .list_cases(p, filter, Some(PAGE), after.clone())
                .await?;
            after = page.cases.last().map(|c| (c.created_at, c.case_id.clone()));
            ids.extend(page.cases.into_iter().map(|c| c.case_id));
            if !page.has_next || ids.len() >= limit {
                break;
            }
        }
        ids.truncate(limit);
        Ok(ids)
    }

    /// Offers every selected case to `partner_id`, or (none) to the agency the
    /// allocation rules choose for each.
    pub async fn place_cases(
        &self,
        p: &Principal,
        filter: &CaseFilter,
        partner_id: Option<&str>,
        accept_within: Option<Duration>,
        limit: usize,
        idempotency_key: Option<String>,
    ) -> Result<BulkOutcome, DeskError> {
        require(p, Operation::PlaceCase, "place cases with partners")?;
        let mut out = BulkOutcome::default();
        for case_id in self.selected(p, filter, limit).await? {
            let placed = self
                .place_case(
                    p,
                    &case_id,
                    partner_id,
                    None,
                    accept_within,
                    case_key(&idempotency_key, &case_id),
                )
                .await;
            match placed {
                Ok(_) => out.done.push(case_id),
                Err(e) => out.refused.push((case_id, e)),
            }
        }
        Ok(out)
    }

    /// Recalls every selected case that is placed.
    pub async fn recall_cases(
        &self,
        p: &Principal,
        filter: &CaseFilter,
        reason: &str,
        limit: usize,
        idempotency_key: Option<String>,
    ) -> Result<BulkOutcome, DeskError> {
        require(p, Operation::PlaceCase, "recall placements")?;
        if reason.trim().is_empty() {
            return Err(DeskError::Invalid("say why the cases are recalled".into()));
        }
        let mut out = BulkOutcome::default();
        for case_id in self.selected(p, filter, limit).await? {
            match self
                .recall_case(p, &case_id, reason, case_key(&idempotency_key, &case_id))
                .await
            {
                Ok(_) => out.done.push(case_id),
                Err(e) => out.refused.push((case_id, e)),
            }
        }
        Ok(out)
    }
}
