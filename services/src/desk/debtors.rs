//! Debtors at the desk: registering a debtor's file, changing it (contacts, consents,
//! flags, related parties), reading it. A debtor outlives its cases, so its file is its
//! own hash-chained list of changes (`debtor_changes`), not a case's journal; the
//! debtor's current state is kept beside its row, derived from the file in the same
//! transaction. Two changes racing for the same debtor: one wins, the other is refused
//! as `DebtorChanged` and changes nothing.
//!
//! Partners reach only debtors of cases placed with them, and may record what they
//! learn working the case (a new number, a consent, a dispute), never rename the debtor,
//! move its jurisdiction, add related parties or clear a flag.

use chrono::{DateTime, Utc};
use collections::debtor::{Debtor, DebtorChange, DebtorError, Made};
use orm::entities::{cases, debtor_changes, debtors};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, SqlErr, TransactionTrait,
};
use serde_json::Value;

use super::{Desk, DeskError, page_size, require};
use crate::access::{Operation, Principal, Role};
use crate::error_code::{ApiError, ErrorCode};
use crate::journal::{Entry, GENESIS, canonical_json, normalise_time, verify_chain};

/// A debtor row and, once registered, the debtor its file makes.
#[derive(Debug, Clone, PartialEq)]
pub struct DebtorRecord {
    pub row: debtors::Model,
    pub file: Option<Debtor>,
}

impl DebtorRecord {
    fn of(row: debtors::Model) -> Result<DebtorRecord, DeskError> {
        let file =
            match &row.profile {
                Some(json) => Some(serde_json::from_str(json).map_err(|e| {
                    corrupt(format!("debtor {}'s stored state: {e}", row.debtor_id))
                })?),
                None => None,
            };
        Ok(DebtorRecord { row, file })
    }
}

/// What a change request did: the debtor after it, and what each change made (the id of
/// a contact, consent or party).
#[derive(Debug, Clone)]
pub struct DebtorOutcome {
    pub debtor: DebtorRecord,
    pub made: Vec<Made>,
}

/// One page of debtors, by id.
#[derive(Debug, Clone)]
pub struct DebtorPage {
    pub debtors: Vec<DebtorRecord>,
    pub has_next: bool,
}

/// A debtor's file as recorded, and whether its chain verifies.
#[derive(Debug, Clone)]
pub struct DebtorFile {
    pub entries: Vec<Entry>,
    pub problem: Option<String>,
}

/// Whether a partner may record this change on a debtor of a case placed with it.
fn partner_may(change: &DebtorChange) -> bool {
    matches!(
        change,
        DebtorChange::ContactAdded { .. }
            | DebtorChange::ConsentGiven { .. }
            | DebtorChange::ConsentRevoked { .. }
            | DebtorChange::FlagSet { .. }
    )
}

fn kind_of(change: &DebtorChange) -> &'static str {
    match change {
        DebtorChange::Registered { .. } => "Registered",
        DebtorChange::Renamed { .. } => "Renamed",
        DebtorChange::LanguageSet { .. } => "LanguageSet",
        DebtorChange::TimeZoneSet { .. } => "TimeZoneSet",
        DebtorChange::JurisdictionSet { .. } => "JurisdictionSet",
        DebtorChange::ContactAdded { .. } => "ContactAdded",
        DebtorChange::ConsentGiven { .. } => "ConsentGiven",
        DebtorChange::ConsentRevoked { .. } => "ConsentRevoked",
        DebtorChange::FlagSet { .. } => "FlagSet",
        DebtorChange::FlagCleared { .. } => "FlagCleared",
        DebtorChange::PartyAdded { .. } => "PartyAdded",
    }
}

fn corrupt(what: String) -> DeskError {
    DeskError::Runtime(crate::runtime::RuntimeError::Corrupt(what))
}

/// A unique-key violation means another request wrote first.
fn raced(e: sea_orm::DbErr, debtor_id: &str) -> DeskError {
    if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        DeskError::DebtorChanged(debtor_id.to_string())
    } else {
        e.into()
    }
}

impl Desk {
    /// Registers a debtor's file: `changes` starts with `Registered`, then contacts,
    /// consents, flags, parties as the caller knows them. A debtor a case only named
    /// (no file yet) keeps its id and cases; one already registered is refused.
    pub async fn register_debtor(
        &self,
        p: &Principal,
        debtor_id: &str,
        changes: Vec<DebtorChange>,
        request_key: Option<String>,
    ) -> Result<DebtorOutcome, DeskError> {
        require(p, Operation::RegisterDebtor, "register debtors")?;
        if !matches!(changes.first(), Some(DebtorChange::Registered { .. })) {
            return Err(DebtorError::NotRegistered.into());
        }
        self.write_file(p, debtor_id, changes, request_key).await
    }

    /// Records changes to a registered debtor, all or none.
    pub async fn change_debtor(
        &self,
        p: &Principal,
        debtor_id: &str,
        changes: Vec<DebtorChange>,
        request_key: Option<String>,
    ) -> Result<DebtorOutcome, DeskError> {
        if p.role == Role::Partner {
            require(p, Operation::RecordDebtorContact, "record debtor contacts")?;
            self.visible_debtor(p, debtor_id).await?;
            if !changes.iter().all(partner_may) {
                return Err(DeskError::Forbidden {
                    role: p.role,
                    what: "rename debtors, change their jurisdiction, language or zone, add related parties or clear flags",
                });
            }
        } else {
            let only_contacts = changes.iter().all(partner_may);
            if only_contacts {
                require(p, Operation::RecordDebtorContact, "record debtor contacts")?;
            } else {
                require(p, Operation::RegisterDebtor, "change debtors")?;
            }
        }
        if changes.is_empty() {
            return Err(DeskError::Invalid("no change to record".into()));
        }
        if let Some(DebtorChange::Registered { .. }) = changes.first() {
            return Err(DebtorError::AlreadyRegistered.into());
        }
        self.write_file(p, debtor_id, changes, request_key).await
    }

    /// The debtor if the caller may see it; otherwise the same answer as a missing one.
    pub async fn debtor(&self, p: &Principal, debtor_id: &str) -> Result<DebtorRecord, DeskError> {
        require(p, Operation::ReadDebtor, "read debtors")?;
        self.visible_debtor(p, debtor_id).await
    }

    /// The debtor as the system sees it (the compliance gate), without a caller's rights.
    pub(super) async fn debtor_state(
        &self,
        tenant: &str,
        debtor_id: &str,
    ) -> Result<Option<Debtor>, DeskError> {
        let row = debtors::Entity::find_by_id((tenant.to_string(), debtor_id.to_string()))
            .one(&self.db)
            .await?;
        match row {
            Some(row) => Ok(DebtorRecord::of(row)?.file),
            None => Ok(None),
        }
    }

    async fn visible_debtor(
        &self,
        p: &Principal,
        debtor_id: &str,
    ) -> Result<DebtorRecord, DeskError> {
        let row = debtors::Entity::find_by_id((p.tenant.clone(), debtor_id.to_string()))
            .one(&self.db)
            .await?
            .ok_or_else(|| DeskError::DebtorNotFound(debtor_id.to_string()))?;
        if p.role == Role::Partner {
            let placed = cases::Entity::find()
                .filter(cases::Column::Tenant.eq(p.tenant.as_str()))
                .filter(cases::Column::DebtorId.eq(debtor_id))
                .filter(cases::Column::Partner.eq(p.partner.clone()))
                .one(&self.db)
                .await?;
            if placed.is_none() {
                return Err(DeskError::DebtorNotFound(debtor_id.to_string()));
            }
        }
        DebtorRecord::of(row)
    }

    /// Debtors by id, `after` the given id; partners see the debtors of their cases.
    pub async fn list_debtors(
        &self,
        p: &Principal,
        name_contains: Option<&str>,
        first: Option<i64>,
        after: Option<String>,
    ) -> Result<DebtorPage, DeskError> {
        require(p, Operation::ReadDebtor, "read debtors")?;
        let n = page_size(first)?;
        let mut q = debtors::Entity::find().filter(debtors::Column::Tenant.eq(p.tenant.as_str()));
        if p.role == Role::Partner {
            let ids = cases::Entity::find()
                .select_only()
                .column(cases::Column::DebtorId)
                .filter(cases::Column::Tenant.eq(p.tenant.as_str()))
                .filter(cases::Column::Partner.eq(p.partner.clone()))
                .filter(cases::Column::DebtorId.is_not_null())
                .into_tuple::<String>()
                .all(&self.db)
                .await?;
            q = q.filter(debtors::Column::DebtorId.is_in(ids));
        }
        if let Some(text) = name_contains.map(str::trim).filter(|t| !t.is_empty()) {
            q = q.filter(debtors::Column::Name.contains(text));
        }
        if let Some(after) = after {
            q = q.filter(Condition::all().add(debtors::Column::DebtorId.gt(after)));
        }
        let rows = q
            .order_by_asc(debtors::Column::DebtorId)
            .limit(n + 1)
            .all(&self.db)
            .await?;
        let has_next = rows.len() as u64 > n;
        let debtors = rows
            .into_iter()
            .take(n as usize)
            .map(DebtorRecord::of)
            .collect::<Result<_, _>>()?;
        Ok(DebtorPage { debtors, has_next })
    }

    /// Debtors by id within the caller's tenant, for a page of cases in one query.
    pub async fn debtors(
        &self,
        p: &Principal,
        ids: &[String],
    ) -> Result<Vec<DebtorRecord>, DeskError> {
        require(p, Operation::ReadCase, "read cases")?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        debtors::Entity::find()
            .filter(debtors::Column::Tenant.eq(p.tenant.as_str()))
            .filter(debtors::Column::DebtorId.is_in(ids.to_vec()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(DebtorRecord::of)
            .collect()
    }

    /// The debtor's file of changes, checked link by link.
    pub async fn debtor_file(
        &self,
        p: &Principal,
        debtor_id: &str,
    ) -> Result<DebtorFile, DeskError> {
        require(p, Operation::ReadDebtor, "read debtors")?;
        self.visible_debtor(p, debtor_id).await?;
        require(p, Operation::ReadHistory, "read debtor files")?;
        let rows = debtor_changes::Entity::find()
            .filter(debtor_changes::Column::Tenant.eq(p.tenant.as_str()))
            .filter(debtor_changes::Column::DebtorId.eq(debtor_id))
            .order_by_asc(debtor_changes::Column::Seq)
            .all(&self.db)
            .await?;
        let entries = rows
            .into_iter()
            .map(|r| {
                let payload: Value = serde_json::from_str(&r.change)
                    .map_err(|e| corrupt(format!("debtor {debtor_id}'s change {}: {e}", r.seq)))?;
                let change: DebtorChange = serde_json::from_value(payload.clone())
                    .map_err(|e| corrupt(format!("debtor {debtor_id}'s change {}: {e}", r.seq)))?;
                Ok(Entry {
                    case_id: r.debtor_id,
                    seq: r.seq,
                    event_type: kind_of(&change).to_string(),
                    payload,
                    actor: r.actor,
                    recorded_at: r.recorded_at,
                    prev_hash: r.prev_hash,
                    hash: r.hash,
                })
            })
            .collect::<Result<Vec<_>, DeskError>>()?;
        let problem = verify_chain(&entries).err().map(|e| e.to_string());
        Ok(DebtorFile { entries, problem })
    }

    async fn write_file(
        &self,
        p: &Principal,
        debtor_id: &str,
        changes: Vec<DebtorChange>,
        request_key: Option<String>,
    ) -> Result<DebtorOutcome, DeskError> {
        let debtor_id = debtor_id.trim();
        if debtor_id.is_empty() || debtor_id.len() > 100 {
            return Err(DeskError::Invalid(
                "a debtor id is 1 to 100 characters".into(),
            ));
        }
        if let Some(done) = self.retried(p, debtor_id, request_key.as_deref()).await? {
            return Ok(done);
        }
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        let row = debtors::Entity::find_by_id((p.tenant.clone(), debtor_id.to_string()))
            .one(&txn)
            .await?;
        let registering = matches!(changes.first(), Some(DebtorChange::Registered { .. }));
        let (mut debtor, version) = match (&row, registering) {
            (Some(r), true) if r.profile.is_some() => {
                return Err(DeskError::DebtorExists(debtor_id.to_string()));
            }
            (_, true) => (Debtor::register(debtor_id, &changes[0])?, 0),
            (None, false) => return Err(DeskError::DebtorNotFound(debtor_id.to_string())),
            (Some(r), false) => match DebtorRecord::of(r.clone())?.file {
                Some(d) => (d, r.version),
                None => return Err(DeskError::DebtorNotRegistered(debtor_id.to_string())),
            },
        };
        let mut made = Vec::with_capacity(changes.len());
        for change in changes.iter().skip(usize::from(registering)) {
            check_instants(change, now)?;
            made.push(debtor.apply(change)?);
        }
        let prev_hash = match version {
            0 => GENESIS.to_string(),
            v => last_hash(&txn, &p.tenant, debtor_id, v).await?,
        };
        let actor = p.acting_identity();
        let mut hash = prev_hash;
        for (i, change) in changes.iter().enumerate() {
            let seq = version + 1 + i as i64;
            let payload = serde_json::to_value(change).map_err(|e| corrupt(e.to_string()))?;
            let entry = Entry::next(debtor_id, seq, &hash, kind_of(change), payload, &actor, now);
            debtor_changes::ActiveModel {
                tenant: Set(p.tenant.clone()),
                debtor_id: Set(debtor_id.to_string()),
                seq: Set(seq),
                recorded_at: Set(entry.recorded_at),
                actor: Set(actor.clone()),
                change: Set(canonical_json(&entry.payload)),
                request_key: Set(if i == 0 { request_key.clone() } else { None }),
                prev_hash: Set(entry.prev_hash.clone()),
                hash: Set(entry.hash.clone()),
            }
            .insert(&txn)
            .await
            .map_err(|e| raced(e, debtor_id))?;
            hash = entry.hash;
        }
        let new_version = version + changes.len() as i64;
        let profile = serde_json::to_string(&debtor).map_err(|e| corrupt(e.to_string()))?;
        let kind = serde_json::to_value(debtor.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string));
        // The row as written: the debtor's record without reading it back.
        let written = debtors::Model {
            tenant: p.tenant.clone(),
            debtor_id: debtor_id.to_string(),
            name: debtor.name.clone(),
            created_at: row
                .as_ref()
                .map_or_else(|| normalise_time(now), |r| r.created_at),
            kind,
            profile: Some(profile),
            version: new_version,
        };
        if row.is_none() {
            debtors::ActiveModel::from(written.clone())
                .insert(&txn)
                .await
                .map_err(|e| raced(e, debtor_id))?;
        } else {
            let updated = debtors::Entity::update_many()
                .col_expr(debtors::Column::Name, Expr::value(written.name.clone()))
                .col_expr(debtors::Column::Kind, Expr::value(written.kind.clone()))
                .col_expr(
                    debtors::Column::Profile,
                    Expr::value(written.profile.clone()),
                )
                .col_expr(debtors::Column::Version, Expr::value(new_version))
                .filter(debtors::Column::Tenant.eq(p.tenant.as_str()))
                .filter(debtors::Column::DebtorId.eq(debtor_id))
                .filter(debtors::Column::Version.eq(version))
                .exec(&txn)
                .await?;
            if updated.rows_affected != 1 {
                return Err(DeskError::DebtorChanged(debtor_id.to_string()));
            }
        }
        txn.commit().await?;
        Ok(DebtorOutcome {
            debtor: DebtorRecord {
                row: written,
                file: Some(debtor),
            },
            made,
        })
    }

    /// The answer to a request already done under `key`: the debtor as it is now, and
    /// what the keyed change made (replayed from the file).
    async fn retried(
        &self,
        p: &Principal,
        debtor_id: &str,
        key: Option<&str>,
    ) -> Result<Option<DebtorOutcome>, DeskError> {
        let Some(key) = key else { return Ok(None) };
        let Some(done) = debtor_changes::Entity::find()
            .filter(debtor_changes::Column::Tenant.eq(p.tenant.as_str()))
            .filter(debtor_changes::Column::RequestKey.eq(key))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        if done.debtor_id != debtor_id {
            return Err(DeskError::Conflict(format!(
                "the idempotency key {key:?} was used for another debtor"
            )));
        }
        let changes: Vec<DebtorChange> = debtor_changes::Entity::find()
            .filter(debtor_changes::Column::Tenant.eq(p.tenant.as_str()))
            .filter(debtor_changes::Column::DebtorId.eq(debtor_id))
            .filter(debtor_changes::Column::Seq.lte(done.seq))
            .order_by_asc(debtor_changes::Column::Seq)
            .all(&self.db)
            .await?
            .iter()
            .map(|r| serde_json::from_str(&r.change))
            .collect::<Result<_, _>>()
            .map_err(|e| corrupt(format!("debtor {debtor_id}'s file: {e}")))?;
        let made = match changes.split_last() {
            Some((last, before)) if !before.is_empty() => {
                let mut d = Debtor::replay(debtor_id, before)
                    .map_err(|(i, e)| corrupt(format!("debtor {debtor_id}'s change {i}: {e}")))?;
                vec![d.apply(last)?]
            }
            _ => Vec::new(),
        };
        Ok(Some(DebtorOutcome {
            debtor: self.debtor(p, debtor_id).await?,
            made,
        }))
    }
}

async fn last_hash(
    txn: &DatabaseTransaction,
    tenant: &str,
    debtor_id: &str,
    seq: i64,
) -> Result<String, DeskError> {
    debtor_changes::Entity::find_by_id((tenant.to_string(), debtor_id.to_string(), seq))
        .one(txn)
        .await?
        .map(|r| r.hash)
        .ok_or_else(|| corrupt(format!("debtor {debtor_id}'s file lacks change {seq}")))
}

/// A consent or revocation may be recorded after the fact, never ahead of it; a flag
/// changes now.
fn check_instants(change: &DebtorChange, now: DateTime<Utc>) -> Result<(), DeskError> {
    let instants: Vec<DateTime<Utc>> = match change {
        DebtorChange::ConsentGiven { given_at, .. } => vec![*given_at],
        DebtorChange::ConsentRevoked { at, .. }
        | DebtorChange::FlagSet { at, .. }
        | DebtorChange::FlagCleared { at, .. } => vec![*at],
        DebtorChange::ContactAdded { consents, .. } => {
            consents.iter().map(|g| g.given_at).collect()
        }
        DebtorChange::PartyAdded { contacts, .. } => contacts
            .iter()
            .flat_map(|c| c.consents.iter().map(|g| g.given_at))
            .collect(),
        _ => Vec::new(),
    };
    match instants.into_iter().find(|at| *at > now) {
        Some(at) => Err(DeskError::Invalid(format!(
            "{at} is in the future: record what has happened (it is now {now})"
        ))),
        None => Ok(()),
    }
}

impl ApiError for DebtorError {
    fn code(&self) -> ErrorCode {
        match self {
            DebtorError::Blank { .. } => ErrorCode::BadInput,
            DebtorError::InvalidPhoneNumber { .. } | DebtorError::PhoneNeedsCountry(_) => {
                ErrorCode::InvalidPhoneNumber
            }
            DebtorError::UnknownCountry(_) | DebtorError::UnknownRegion { .. } => {
                ErrorCode::UnknownCountry
            }
            DebtorError::MalformedEmail { .. } => ErrorCode::InvalidEmail,
            DebtorError::InvalidLanguageTag(_) => ErrorCode::InvalidLanguage,
            DebtorError::UnknownTimeZone(_) => ErrorCode::UnknownTimeZone,
            DebtorError::ChannelNotForContact { .. } => ErrorCode::ChannelNotForContact,
            DebtorError::UnknownContact(_)
            | DebtorError::UnknownConsent(_)
            | DebtorError::UnknownParty(_) => ErrorCode::ContactNotFound,
            DebtorError::ConsentAlreadyRevoked { .. } => ErrorCode::ConsentAlreadyRevoked,
            DebtorError::RevokedBeforeGiven { .. } => ErrorCode::BadInput,
            DebtorError::FlagAlreadySet { .. }
            | DebtorError::FlagNotSet { .. }
            | DebtorError::FlagOutOfOrder { .. } => ErrorCode::FlagState,
            DebtorError::NotRegistered => ErrorCode::DebtorNotRegistered,
            DebtorError::AlreadyRegistered => ErrorCode::DebtorExists,
        }
    }
}
