//! What a partner may read of the cases placed with it (decision 0023): its policy, kept
//! on its row by the partners crate, read here where every read path can apply it.

use collections::disclosure::{DisclosurePolicy, PartnerKind, needed_for_document};
use orm::entities::{cases, partners};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::{Desk, DeskError};
use crate::access::{Principal, Role};
use crate::runtime::RuntimeError;

/// The policy a partner's row holds, or its kind's defaults.
pub fn policy_of(partner: &partners::Model) -> Result<DisclosurePolicy, DeskError> {
    match &partner.disclosure {
        Some(json) => serde_json::from_str(json).map_err(|e| {
            DeskError::Runtime(RuntimeError::Corrupt(format!(
                "partner {}'s disclosure policy: {e}",
                partner.partner_id
            )))
        }),
        None => Ok(DisclosurePolicy::default_for(
            if partner.kind == "law_firm" {
                PartnerKind::LawFirm
            } else {
                PartnerKind::Agency
            },
        )),
    }
}

/// Whether a document of `kind` that `uploaded_by` added may be read under `policy`
/// (none: not a partner) at `stage`: a partner always reads its own uploads.
pub fn document_disclosed(
    p: &Principal,
    policy: Option<&DisclosurePolicy>,
    stage: Option<&str>,
    kind: &str,
    uploaded_by: &str,
) -> bool {
    let Some(policy) = policy else {
        return true;
    };
    let own = p
        .partner
        .as_deref()
        .is_some_and(|id| uploaded_by.ends_with(&format!("@{id}")));
    own || needed_for_document(kind).is_none_or(|data| policy.allows(stage, data))
}

impl Desk {
    /// The caller's reading rights when it is a partner; `None` for everyone else.
    pub async fn partner_policy(
        &self,
        p: &Principal,
    ) -> Result<Option<DisclosurePolicy>, DeskError> {
        if p.role != Role::Partner {
            return Ok(None);
        }
        let id = p.partner.clone().unwrap_or_default();
        let row = partners::Entity::find_by_id(id.clone())
            .filter(partners::Column::Tenant.eq(p.tenant.as_str()))
            .one(&self.db)
            .await?
            .ok_or(DeskError::PartnerNotFound(id))?;
        policy_of(&row).map(Some)
    }

    /// The stages of a debtor's cases placed with the calling partner.
    pub async fn placed_case_stages(
        &self,
        p: &Principal,
        debtor_id: &str,
    ) -> Result<Vec<Option<String>>, DeskError> {
        Ok(cases::Entity::find()
            .select_only()
            .column(cases::Column::Stage)
            .filter(cases::Column::Tenant.eq(p.tenant.as_str()))
            .filter(cases::Column::DebtorId.eq(debtor_id))
            .filter(cases::Column::Partner.eq(p.partner.clone()))
            .into_tuple::<Option<String>>()
            .all(&self.db)
            .await?)
    }
}
