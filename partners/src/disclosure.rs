//! What each partner may read of the cases placed with it, by stage, and the log of what
//! its people read of debtors' personal data (decision 0023).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use collections::disclosure::CaseData;
use orm::entities::partner_reads;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use services::access::{Operation, Principal, Role};
use services::desk::disclosure::policy_of;
use services::desk::{DeskError, require};

use crate::{Partner, Partners};

/// One kind of data a partner read, of a case or (looked up directly) of a debtor.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PartnerRead {
    pub case_id: Option<String>,
    pub debtor_id: Option<String>,
    pub data: CaseData,
}

pub type PartnerReadEntry = partner_reads::Model;

/// A stage as models name them: `early`, `late`, `extrajudicial`, `legal`, ...
fn valid_stage(stage: &str) -> bool {
    (1..=50).contains(&stage.len())
        && stage
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl Partners {
    /// Sets what `partner_id` may read of cases at `stage`, or at stages without a
    /// setting of their own (`None`).
    pub async fn set_disclosure(
        &self,
        p: &Principal,
        partner_id: &str,
        stage: Option<&str>,
        data: BTreeSet<CaseData>,
    ) -> Result<Partner, DeskError> {
        require(p, Operation::ManagePartners, "set what partners may read")?;
        if let Some(s) = stage
            && !valid_stage(s)
        {
            return Err(DeskError::Invalid(format!(
                "stage {s:?} must be 1 to 50 lowercase letters, digits, '_' or '-'"
            )));
        }
        let partner = self.get(p, partner_id).await?;
        let mut policy = policy_of(&partner)?;
        policy.set(stage, data);
        let json = serde_json::to_string(&policy)
            .map_err(|e| DeskError::Invalid(format!("the policy does not serialise: {e}")))?;
        let mut row = partner.into_active_model();
        row.disclosure = Set(Some(json));
        Ok(row.update(self.desk.db()).await?)
    }

    /// Records what a partner read in one request, all or nothing.
    pub async fn record_reads(
        &self,
        p: &Principal,
        reads: impl IntoIterator<Item = PartnerRead>,
        at: DateTime<Utc>,
    ) -> Result<(), DeskError> {
        let Some(partner) = p.partner.as_ref().filter(|_| p.role == Role::Partner) else {
            return Ok(());
        };
        let rows: Vec<partner_reads::ActiveModel> = reads
            .into_iter()
            .map(|r| partner_reads::ActiveModel {
                tenant: Set(p.tenant.clone()),
                partner_id: Set(partner.clone()),
                actor: Set(p.acting_identity()),
                case_id: Set(r.case_id),
                debtor_id: Set(r.debtor_id),
                data: Set(r.data.as_str().to_string()),
                at: Set(at),
                ..Default::default()
            })
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        partner_reads::Entity::insert_many(rows)
            .exec(self.desk.db())
            .await?;
        Ok(())
    }

    /// The newest reads first, of a case and/or by a partner: auditors and admins.
    pub async fn read_log(
        &self,
        p: &Principal,
        case_id: Option<&str>,
        partner_id: Option<&str>,
        first: u64,
    ) -> Result<Vec<PartnerReadEntry>, DeskError> {
        require(p, Operation::ReadAccessLog, "read the partner read log")?;
        let mut q =
            partner_reads::Entity::find().filter(partner_reads::Column::Tenant.eq(&p.tenant));
        if let Some(c) = case_id {
            q = q.filter(partner_reads::Column::CaseId.eq(c));
        }
        if let Some(id) = partner_id {
            q = q.filter(partner_reads::Column::PartnerId.eq(id));
        }
        Ok(q.order_by_desc(partner_reads::Column::Id)
            .limit(first.min(1000))
            .all(self.desk.db())
            .await?)
    }
}
