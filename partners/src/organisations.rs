//! Partner organisations of a creditor (tenant).

use orm::entities::partners;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use services::access::{Operation, Principal, Role};
use services::desk::{DeskError, require};

use crate::Partners;

/// A partner organisation as stored.
pub type Partner = partners::Model;

#[derive(Debug, Clone)]
pub struct NewPartner {
    pub name: String,
    /// `agency` or `law_firm`.
    pub kind: String,
}

pub const PARTNER_KINDS: [&str; 2] = ["agency", "law_firm"];

impl Partners {
    pub async fn register(&self, p: &Principal, new: NewPartner) -> Result<Partner, DeskError> {
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
            created_at: Set(self.desk.clock().now()),
            disclosure: Set(None),
            allocation: Set(None),
            webhook: Set(None),
            api: Set(None),
            contract: Set(None),
        };
        row.insert(self.desk.db()).await.map_err(|e| {
            if orm::is_unique_violation(&e) {
                DeskError::Conflict(format!("a partner named {name:?} already exists"))
            } else {
                e.into()
            }
        })
    }

    /// Partners of the caller's tenant; a partner sees only its own organisation.
    pub async fn list(&self, p: &Principal) -> Result<Vec<Partner>, DeskError> {
        let mut q = partners::Entity::find().filter(partners::Column::Tenant.eq(p.tenant.as_str()));
        if p.role == Role::Partner {
            q = q.filter(partners::Column::PartnerId.eq(p.partner.clone()));
        } else {
            require(p, Operation::ReadPartners, "read partners")?;
        }
        Ok(q.order_by_asc(partners::Column::Name)
            .all(self.desk.db())
            .await?)
    }

    pub async fn get(&self, p: &Principal, partner_id: &str) -> Result<Partner, DeskError> {
        self.by_id(p, &[partner_id.to_string()])
            .await?
            .pop()
            .ok_or_else(|| DeskError::PartnerNotFound(partner_id.to_string()))
    }

    /// Partners by id, for a page of cases in one query.
    pub async fn by_id(&self, p: &Principal, ids: &[String]) -> Result<Vec<Partner>, DeskError> {
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
            .all(self.desk.db())
            .await?)
    }
}
