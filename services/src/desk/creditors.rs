//! Creditors' settings at the desk: read by internal users and auditors, changed by
//! supervisors and admins, one row per (tenant, creditor). A creditor nobody has set up
//! has the defaults. Ledger operations read the settings in force when they are made and
//! copy what they need into their facts, so a change affects only later operations.

use chrono::{DateTime, Utc};
use collections::allocation::{AllocationOrder, Component};
use collections::creditor::{CreditorSettings, DEFAULT_CREDITOR, SettingsChange, Tz, creditor_id};
use collections::debtor::Country;
use orm::entities::creditor_settings as row;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};

use super::{Desk, DeskError, require};
use crate::access::{Operation, Principal};
use crate::runtime::RuntimeError;

/// A creditor and its settings in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creditor {
    pub id: String,
    pub settings: CreditorSettings,
    /// When and by whom they were last set; `None` while they are the defaults.
    pub updated: Option<(DateTime<Utc>, String)>,
}

fn corrupt(what: &str, id: &str) -> DeskError {
    DeskError::Runtime(RuntimeError::Corrupt(format!(
        "creditor {id}'s stored {what} is unreadable"
    )))
}

fn order_text(order: &AllocationOrder) -> String {
    order.components().map(Component::as_str).join(",")
}

fn from_row(r: row::Model) -> Result<Creditor, DeskError> {
    let id = r.creditor_id.as_str();
    let components = r
        .allocation_order
        .split(',')
        .map(|c| Component::ALL.into_iter().find(|k| k.as_str() == c))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| corrupt("allocation order", id))?;
    let days = |d: i32| u32::try_from(d).map_err(|_| corrupt("grace days", id));
    let settings = CreditorSettings {
        allocation_order: AllocationOrder::new(&components)
            .map_err(|_| corrupt("allocation order", id))?,
        promise_grace_days: days(r.promise_grace_days)?,
        plan_grace_days: days(r.plan_grace_days)?,
        settlement_limit_percent: u8::try_from(r.settlement_limit_percent)
            .map_err(|_| corrupt("settlement limit", id))?,
        time_zone: r
            .time_zone
            .parse::<Tz>()
            .map_err(|_| corrupt("time zone", id))?,
        jurisdiction: r
            .jurisdiction
            .as_deref()
            .map(Country::from_code)
            .transpose()
            .map_err(|_| corrupt("jurisdiction", id))?,
        partners_take_payments: r.partners_take_payments,
    };
    Ok(Creditor {
        id: r.creditor_id,
        settings,
        updated: Some((r.updated_at, r.updated_by)),
    })
}

impl Desk {
    /// The settings in force for a creditor of `tenant`, without an authorisation check:
    /// for the desk's own operations.
    pub(super) async fn settings_of(
        &self,
        tenant: &str,
        creditor: &str,
    ) -> Result<CreditorSettings, DeskError> {
        let found = row::Entity::find_by_id((tenant.to_string(), creditor.to_string()))
            .one(&self.db)
            .await?;
        Ok(match found {
            Some(r) => from_row(r)?.settings,
            None => CreditorSettings::default(),
        })
    }

    /// The creditor of a case's accounts ([`DEFAULT_CREDITOR`] before any) and its
    /// settings in force; the caller has been checked to see the case.
    pub(super) async fn case_creditor(
        &self,
        p: &Principal,
        case_id: &str,
    ) -> Result<(String, CreditorSettings), DeskError> {
        let creditor = self.runtime.case(case_id).await?.map_or_else(
            || DEFAULT_CREDITOR.to_string(),
            |s| s.creditor().to_string(),
        );
        let settings = self.settings_of(&p.tenant, &creditor).await?;
        Ok((creditor, settings))
    }

    /// A creditor's settings in force (the defaults if nobody has set them).
    pub async fn creditor(&self, p: &Principal, id: &str) -> Result<Creditor, DeskError> {
        require(p, Operation::ReadCreditorSettings, "read creditor settings")?;
        let id = creditor_id(id)?;
        let found = row::Entity::find_by_id((p.tenant.clone(), id.clone()))
            .one(&self.db)
            .await?;
        match found {
            Some(r) => from_row(r),
            None => Ok(Creditor {
                id,
                settings: CreditorSettings::default(),
                updated: None,
            }),
        }
    }

    /// Every creditor of the caller's tenant whose settings were set, by id.
    pub async fn creditors(&self, p: &Principal) -> Result<Vec<Creditor>, DeskError> {
        require(p, Operation::ReadCreditorSettings, "read creditor settings")?;
        row::Entity::find()
            .filter(row::Column::Tenant.eq(&p.tenant))
            .order_by_asc(row::Column::CreditorId)
            .all(&self.db)
            .await?
            .into_iter()
            .map(from_row)
            .collect()
    }

    /// Changes a creditor's settings (fields not in `change` keep their value), every
    /// value checked. Operations already made keep the settings they were made under.
    pub async fn set_creditor_settings(
        &self,
        p: &Principal,
        id: &str,
        change: SettingsChange,
    ) -> Result<Creditor, DeskError> {
        require(
            p,
            Operation::ManageCreditorSettings,
            "change creditor settings",
        )?;
        let id = creditor_id(id)?;
        let txn = self.db.begin().await?;
        let mut current = row::Entity::find_by_id((p.tenant.clone(), id.clone()));
        // Two supervisors changing different fields at once must not undo each other.
        if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
            current = current.lock_exclusive();
        }
        let settings = match current.one(&txn).await? {
            Some(r) => from_row(r)?.settings,
            None => CreditorSettings::default(),
        }
        .change(change)?;
        let now = crate::journal::normalise_time(self.clock.now());
        let by = p.acting_identity();
        let model = row::ActiveModel {
            tenant: Set(p.tenant.clone()),
            creditor_id: Set(id.clone()),
            allocation_order: Set(order_text(&settings.allocation_order)),
            promise_grace_days: Set(i32::try_from(settings.promise_grace_days).unwrap_or(i32::MAX)),
            plan_grace_days: Set(i32::try_from(settings.plan_grace_days).unwrap_or(i32::MAX)),
            settlement_limit_percent: Set(i32::from(settings.settlement_limit_percent)),
            time_zone: Set(settings.time_zone.name().to_string()),
            jurisdiction: Set(settings.jurisdiction.map(|c| c.code().to_string())),
            partners_take_payments: Set(settings.partners_take_payments),
            updated_at: Set(now),
            updated_by: Set(by.clone()),
        };
        row::Entity::insert(model)
            .on_conflict(
                OnConflict::columns([row::Column::Tenant, row::Column::CreditorId])
                    .update_columns([
                        row::Column::AllocationOrder,
                        row::Column::PromiseGraceDays,
                        row::Column::PlanGraceDays,
                        row::Column::SettlementLimitPercent,
                        row::Column::TimeZone,
                        row::Column::Jurisdiction,
                        row::Column::PartnersTakePayments,
                        row::Column::UpdatedAt,
                        row::Column::UpdatedBy,
                    ])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(Creditor {
            id,
            settings,
            updated: Some((now, by)),
        })
    }
}
