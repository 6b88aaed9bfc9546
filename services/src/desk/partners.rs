//! Partner organisations and placements.

use orm::entities::partners;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::{Desk, DeskError, require};
use crate::access::{Operation, Principal, Role};
use crate::case::CaseFact;
use crate::runtime::Outcome;

#[derive(Debug, Clone)]
pub struct NewPartner {
    pub name: String,
    /// `agency` or `law_firm`.
    pub kind: String,
}

pub const PARTNER_KINDS: [&str; 2] = ["agency", "law_firm"];

impl Desk {
    pub async fn register_partner(
        &self,
        p: &Principal,
        new: NewPartner,
    ) -> Result<partners::Model, DeskError> {
        require(p, Operation::ManagePartners, "register partners")?;
        let name = new.name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(DeskError::Invalid(
                "a partner name holds 1 to 200 characters".into(),
            ));
        }
        if !PARTNER_KINDS.contains(&new.kind.as_str()) {
            return Err(DeskError::Invalid(format!(
                "unknown partner kind {:?}: use agency or law_firm",
                new.kind
            )));
        }
        let row = partners::ActiveModel {
            partner_id: Set(uuid::Uuid::new_v4().to_string()),
            tenant: Set(p.tenant.clone()),
            name: Set(name.to_string()),
            kind: Set(new.kind),
            active: Set(true),
            created_at: Set(self.clock.now()),
        };
        row.insert(&self.db).await.map_err(|e| {
            if orm::is_unique_violation(&e) {
                DeskError::Conflict(format!("a partner named {name:?} already exists"))
            } else {
                e.into()
            }
        })
    }

    /// Partners of the caller's tenant; a partner sees only its own organisation.
    pub async fn partners(&self, p: &Principal) -> Result<Vec<partners::Model>, DeskError> {
        let mut q = partners::Entity::find().filter(partners::Column::Tenant.eq(p.tenant.as_str()));
        if p.role == Role::Partner {
            q = q.filter(partners::Column::PartnerId.eq(p.partner.clone()));
        } else {
            require(p, Operation::ReadPartners, "read partners")?;
        }
        Ok(q.order_by_asc(partners::Column::Name).all(&self.db).await?)
    }

    pub async fn partner(
        &self,
        p: &Principal,
        partner_id: &str,
    ) -> Result<partners::Model, DeskError> {
        self.partners_by_id(p, &[partner_id.to_string()])
            .await?
            .pop()
            .ok_or_else(|| DeskError::not_found("partner", partner_id))
    }

    /// Partners by id, for a page of cases in one query.
    pub async fn partners_by_id(
        &self,
        p: &Principal,
        ids: &[String],
    ) -> Result<Vec<partners::Model>, DeskError> {
        let visible: Vec<String> = ids
            .iter()
            .filter(|id| p.role != Role::Partner || p.partner.as_ref() == Some(id))
            .cloned()
            .collect();
        if visible.is_empty() {
            return Ok(Vec::new());
        }
        if p.role != Role::Partner {
            require(p, Operation::ReadPartners, "read partners")?;
        }
        Ok(partners::Entity::find()
            .filter(partners::Column::Tenant.eq(p.tenant.as_str()))
            .filter(partners::Column::PartnerId.is_in(visible))
            .all(&self.db)
            .await?)
    }

    pub async fn place_case(
        &self,
        p: &Principal,
        case_id: &str,
        partner_id: &str,
        note: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.case(p, case_id).await?;
        require(p, Operation::PlaceCase, "place cases with partners")?;
        let partner = self.partner(p, partner_id).await?;
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
        self.record(p, case_id, fact, idempotency_key).await
    }

    pub async fn recall_case(
        &self,
        p: &Principal,
        case_id: &str,
        reason: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        let case = self.case(p, case_id).await?;
        require(p, Operation::PlaceCase, "recall placements")?;
        let partner = case
            .partner
            .ok_or_else(|| DeskError::Conflict(format!("case {case_id} is not placed")))?;
        let fact = CaseFact::PlacementRecalled {
            partner,
            reason: reason.to_string(),
        };
        self.record(p, case_id, fact, idempotency_key).await
    }

    pub async fn accept_placement(
        &self,
        p: &Principal,
        case_id: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.case(p, case_id).await?;
        require(p, Operation::RespondToPlacement, "accept placements")?;
        let fact = CaseFact::PlacementAccepted {
            partner: p.partner.clone().unwrap_or_default(),
        };
        self.record(p, case_id, fact, idempotency_key).await
    }

    pub async fn return_placement(
        &self,
        p: &Principal,
        case_id: &str,
        reason: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.case(p, case_id).await?;
        require(p, Operation::RespondToPlacement, "return placements")?;
        if reason.trim().is_empty() {
            return Err(DeskError::Invalid("say why the case is returned".into()));
        }
        let fact = CaseFact::PlacementReturned {
            partner: p.partner.clone().unwrap_or_default(),
            reason: reason.trim().to_string(),
        };
        self.record(p, case_id, fact, idempotency_key).await
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
        self.case(p, case_id).await?;
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
        self.record(p, case_id, fact, idempotency_key).await
    }
}
