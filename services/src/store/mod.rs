//! Durable side of a case: one transaction writes the journal entry, the projections it
//! changes (a document's row included), the outbox rows and the idempotency key, or none
//! of it.

mod batch;
mod desk;
mod documents;
mod load;
mod one_statement;
mod writer;

pub use desk::candidates;
pub use documents::DocumentOrigin;
pub use writer::Writer;

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use orm::entities::{
    case_journal, cases, idempotency_keys, message_subscriptions, outbox, process_definitions,
    tasks, timers,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set, Statement, TransactionTrait,
};

use crate::case::CaseState;
use crate::case::projection::{Changes, DocumentRow};
use crate::journal::{Entry, canonical_json};
use crate::lookups::Lookups;

#[derive(Debug, thiserror::Error, strum::EnumCount)]
pub enum StoreError {
    /// Someone else appended to this case first: reload and retry.
    #[error("case {0} was changed concurrently")]
    Conflict(String),
    /// The tenant already has a case with this external reference (a permanent refusal:
    /// retrying cannot help).
    #[error("tenant {tenant} already has a case with external reference {external_ref}")]
    DuplicateExternalRef {
        tenant: String,
        external_ref: String,
    },
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The case row as first written by `CaseOpened`.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub external_ref: Option<String>,
    pub definition_id: i64,
    pub process_id: String,
    pub version: i32,
}

/// Everything one command writes.
#[derive(Debug, Clone)]
pub struct Commit {
    pub entry: Entry,
    pub tenant: String,
    pub opened: Option<NewCase>,
    /// New definition after a migration.
    pub definition: Option<(i64, String, i32)>,
    pub changes: Changes,
    /// Serialised [`CaseState`] when a snapshot is due.
    pub snapshot: Option<String>,
    /// (idempotency key, response to repeat)
    pub idempotency: Option<(String, String)>,
    /// An outbox job row answered by this entry: delivered as of the entry's time.
    pub delivers: Option<i64>,
}

/// A case as stored: its latest snapshot (if any) and the journal after it.
#[derive(Debug, Clone)]
pub struct StoredCase {
    pub snapshot: Option<CaseState>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// Idempotency keys asked for together, read together.
    keys: std::sync::Arc<Lookups<(String, String), idempotency_keys::Model>>,
}

impl Store {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            keys: Default::default(),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Writes several commits in one transaction (group commit). Fails as a whole.
    pub async fn commit_batch(&self, batch: &[Commit]) -> Result<(), StoreError> {
        Writer::new(self.clone()).commit_batch(batch).await
    }

    /// The general way to write a batch: statement by statement in an explicit
    /// transaction. [`Store::commit_batch`] takes it for what the single statement cannot
    /// write, and on SQLite; public so the two can be held to the same result.
    pub async fn commit_batch_in_steps(&self, batch: &[Commit]) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
        if let Err(e) = write_all(&txn, batch).await {
            txn.rollback().await?;
            return Err(e);
        }
        txn.commit().await?;
        Ok(())
    }

    /// Writes the row of a journalled `DocumentAdded` unless it exists, and ends its
    /// upload intent (the sweeper's repair; safe to repeat).
    pub async fn repair_document(
        &self,
        row: &DocumentRow,
        origin: DocumentOrigin,
    ) -> Result<(), StoreError> {
        documents::repair(&self.db, row, origin).await
    }

    /// The snapshot and the journal entries after it.
    pub async fn load(&self, case_id: &str) -> Result<Option<StoredCase>, StoreError> {
        Ok(self
            .load_many(&[case_id.to_string()])
            .await?
            .remove(case_id))
    }

    /// Journal entries of a case with `seq > after`, in order.
    pub async fn journal(&self, case_id: &str, after: i64) -> Result<Vec<Entry>, StoreError> {
        let rows = case_journal::Entity::find()
            .filter(case_journal::Column::CaseId.eq(case_id))
            .filter(case_journal::Column::Seq.gt(after))
            .order_by_asc(case_journal::Column::Seq)
            .all(&self.db)
            .await?;
        rows.into_iter().map(entry_of).collect()
    }

    /// The case and response recorded for an idempotency key.
    pub async fn idempotent(
        &self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<idempotency_keys::Model>, StoreError> {
        let db = &self.db;
        let fetch = |keys: HashSet<(String, String)>| async move {
            let mut by_tenant: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (tenant, key) in keys {
                by_tenant.entry(tenant).or_default().push(key);
            }
            let mut any = Condition::any();
            for (tenant, keys) in by_tenant {
                any = any.add(
                    Condition::all()
                        .add(idempotency_keys::Column::Tenant.eq(tenant))
                        .add(idempotency_keys::Column::Key.is_in(keys)),
                );
            }
            let rows = idempotency_keys::Entity::find().filter(any).all(db).await?;
            Ok(rows
                .into_iter()
                .map(|r| ((r.tenant.clone(), r.key.clone()), r))
                .collect())
        };
        Ok(self
            .keys
            .get((tenant.to_string(), key.to_string()), fetch)
            .await?)
    }

    /// Claims up to `limit` timers due by `due_by` for `node` until `lease_until`: rows
    /// claimed by another live node are skipped (`FOR UPDATE SKIP LOCKED` on PostgreSQL;
    /// SQLite has a single writer), and a dead node's claims are taken over once their
    /// lease has passed (at `now`). Earliest due first.
    pub async fn claim_due_timers(
        &self,
        node: &str,
        now: DateTime<Utc>,
        due_by: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<timers::Model>, StoreError> {
        let backend = self.db.get_database_backend();
        let lock = match backend {
            DbBackend::Postgres => " FOR UPDATE SKIP LOCKED",
            _ => "",
        };
        let sql = format!(
            "UPDATE timers SET claimed_by = $1, claimed_until = $2 \
             WHERE (case_id, timer_id) IN (SELECT case_id, timer_id FROM timers \
             WHERE due_at <= $3 AND (claimed_until IS NULL OR claimed_until < $4) \
             ORDER BY due_at LIMIT $5{lock}) \
             RETURNING case_id, timer_id, element_id, due_at, claimed_by, claimed_until"
        );
        let stmt = Statement::from_sql_and_values(
            backend,
            sql,
            [
                node.into(),
                lease_until.into(),
                due_by.into(),
                now.into(),
                (limit as i64).into(),
            ],
        );
        let mut rows = timers::Entity::find()
            .from_raw_sql(stmt)
            .all(&self.db)
            .await?;
        rows.sort_by_key(|t| t.due_at);
        Ok(rows)
    }

    /// Gives up every claim `node` holds, so its timers are due for anyone at once (a
    /// node that restarts under the same id, or stops cleanly).
    pub async fn release_timer_claims(&self, node: &str) -> Result<u64, StoreError> {
        let res = timers::Entity::update_many()
            .col_expr(
                timers::Column::ClaimedBy,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                timers::Column::ClaimedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(timers::Column::ClaimedBy.eq(node))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected)
    }

    /// Drops a timer row whose timer the case no longer has (defensive clean-up).
    pub async fn forget_timer(&self, case_id: &str, timer_id: i64) -> Result<(), StoreError> {
        timers::Entity::delete_many()
            .filter(timers::Column::CaseId.eq(case_id))
            .filter(timers::Column::TimerId.eq(timer_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The earliest pending timer.
    pub async fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(timers::Entity::find()
            .order_by_asc(timers::Column::DueAt)
            .one(&self.db)
            .await?
            .map(|t| t.due_at))
    }

    /// Cases with a message subscription of this name (and key, when given).
    pub async fn subscribers(
        &self,
        name: &str,
        correlation_key: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let mut q = message_subscriptions::Entity::find()
            .filter(message_subscriptions::Column::Name.eq(name));
        if let Some(k) = correlation_key {
            q = q.filter(message_subscriptions::Column::CorrelationKey.eq(k));
        }
        let rows = q
            .order_by_asc(message_subscriptions::Column::CaseId)
            .all(&self.db)
            .await?;
        let mut ids: Vec<String> = rows.into_iter().map(|r| r.case_id).collect();
        ids.dedup();
        Ok(ids)
    }

    pub async fn definition(
        &self,
        id: i64,
    ) -> Result<Option<process_definitions::Model>, StoreError> {
        Ok(process_definitions::Entity::find_by_id(id)
            .one(&self.db)
            .await?)
    }
}

pub fn entry_of(row: case_journal::Model) -> Result<Entry, StoreError> {
    Ok(Entry {
        payload: serde_json::from_str(&row.payload)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        case_id: row.case_id,
        seq: row.seq,
        event_type: row.event_type,
        actor: row.actor,
        recorded_at: row.recorded_at,
        prev_hash: row.prev_hash,
        hash: row.hash,
    })
}

fn conflict_or(e: DbErr, case_id: &str) -> StoreError {
    if orm::is_unique_violation(&e) {
        StoreError::Conflict(case_id.to_string())
    } else {
        StoreError::Db(e)
    }
}

/// Writes a batch: multi-row INSERTs for everything that only adds rows, one statement
/// per case only for what differs per case (the guarded case-row update, task closures,
/// deletions). A case appears at most once per batch (its actor awaits each commit).
async fn write_all<C: ConnectionTrait>(db: &C, batch: &[Commit]) -> Result<(), StoreError> {
    let Some(first) = batch.first() else {
        return Ok(());
    };
    let single = batch.len() == 1;
    let first_case = first.entry.case_id.as_str();
    case_journal::Entity::insert_many(batch.iter().map(journal_row))
        .exec(db)
        .await
        .map_err(|err| conflict_or(err, first_case))?;

    let opened: Vec<cases::ActiveModel> = batch.iter().filter_map(case_row).collect();
    if !opened.is_empty() {
        cases::Entity::insert_many(opened)
            .exec(db)
            .await
            .map_err(|err| {
                match first.opened.as_ref().and_then(|n| n.external_ref.clone()) {
                    // The journal append at seq 1 succeeded, so no row has this case id: the
                    // violated key is (tenant, external_ref).
                    Some(external_ref) if single && orm::is_unique_violation(&err) => {
                        StoreError::DuplicateExternalRef {
                            tenant: first.tenant.clone(),
                            external_ref,
                        }
                    }
                    _ => conflict_or(err, first_case),
                }
            })?;
    }
    let (plain, migrated): (Vec<&Commit>, Vec<&Commit>) = batch
        .iter()
        .filter(|c| c.opened.is_none())
        .partition(|c| c.definition.is_none());
    batch::update_cases(db, &plain).await?;
    for c in migrated {
        update_case(db, c).await?;
    }

    let tasks: Vec<tasks::ActiveModel> = batch
        .iter()
        .flat_map(|c| c.changes.tasks_created.iter().map(move |t| task_row(c, t)))
        .collect();
    if !tasks.is_empty() {
        tasks::Entity::insert_many(tasks).exec(db).await?;
        desk::insert_candidates(db, batch).await?;
    }
    batch::close_tasks(db, batch).await?;
    for c in batch {
        desk::write(db, c).await?;
    }
    documents::write(db, batch).await?;
    let timers_added: Vec<timers::ActiveModel> = batch
        .iter()
        .flat_map(|c| {
            c.changes
                .timers_added
                .iter()
                .map(move |(id, element, due)| timers::ActiveModel {
                    case_id: Set(c.entry.case_id.clone()),
                    timer_id: Set(*id),
                    element_id: Set(element.clone()),
                    due_at: Set(*due),
                    claimed_by: Set(None),
                    claimed_until: Set(None),
                })
        })
        .collect();
    if !timers_added.is_empty() {
        timers::Entity::insert_many(timers_added).exec(db).await?;
    }
    let subs: Vec<message_subscriptions::ActiveModel> = batch
        .iter()
        .flat_map(|c| {
            c.changes
                .subscriptions_added
                .iter()
                .map(move |(id, name, key)| message_subscriptions::ActiveModel {
                    case_id: Set(c.entry.case_id.clone()),
                    subscription_id: Set(*id),
                    name: Set(name.clone()),
                    correlation_key: Set(key.clone()),
                })
        })
        .collect();
    if !subs.is_empty() {
        message_subscriptions::Entity::insert_many(subs)
            .exec(db)
            .await?;
    }
    // After the inserts: a timer or subscription one command both adds and removes (a
    // boundary timer of a task that the same command ends) must not survive it.
    batch::delete_removed(db, batch).await?;
    let rows: Vec<outbox::ActiveModel> = batch
        .iter()
        .flat_map(|c| {
            c.changes.outbox.iter().map(move |row| outbox::ActiveModel {
                case_id: Set(c.entry.case_id.clone()),
                seq: Set(c.entry.seq),
                kind: Set(row.kind.to_string()),
                payload: Set(canonical_json(&row.payload)),
                created_at: Set(c.entry.recorded_at),
                attempts: Set(0),
                next_attempt_at: Set(row.not_before.unwrap_or(c.entry.recorded_at)),
                delivered_at: Set(None),
                job_type: Set(row.job_type.clone()),
                partner_id: Set(row.partner.clone()),
                ..Default::default()
            })
        })
        .collect();
    if !rows.is_empty() {
        outbox::Entity::insert_many(rows).exec(db).await?;
    }
    let keys: Vec<idempotency_keys::ActiveModel> = batch
        .iter()
        .filter_map(|c| {
            let (key, response) = c.idempotency.as_ref()?;
            Some(idempotency_keys::ActiveModel {
                tenant: Set(c.tenant.clone()),
                key: Set(key.clone()),
                case_id: Set(c.entry.case_id.clone()),
                seq: Set(c.entry.seq),
                response: Set(response.clone()),
                created_at: Set(c.entry.recorded_at),
            })
        })
        .collect();
    if !keys.is_empty() {
        idempotency_keys::Entity::insert_many(keys)
            .exec(db)
            .await
            .map_err(|err| conflict_or(err, first_case))?;
    }
    for c in batch {
        if let Some(id) = c.delivers {
            outbox::Entity::update_many()
                .col_expr(
                    outbox::Column::DeliveredAt,
                    Expr::value(Some(c.entry.recorded_at)),
                )
                .col_expr(
                    outbox::Column::Attempts,
                    Expr::col(outbox::Column::Attempts).add(1),
                )
                .filter(outbox::Column::Id.eq(id))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

fn journal_row(c: &Commit) -> case_journal::ActiveModel {
    let e = &c.entry;
    case_journal::ActiveModel {
        case_id: Set(e.case_id.clone()),
        seq: Set(e.seq),
        event_type: Set(e.event_type.clone()),
        payload: Set(canonical_json(&e.payload)),
        actor: Set(e.actor.clone()),
        recorded_at: Set(e.recorded_at),
        prev_hash: Set(e.prev_hash.clone()),
        hash: Set(e.hash.clone()),
    }
}

fn case_row(c: &Commit) -> Option<cases::ActiveModel> {
    let (e, new, ch) = (&c.entry, c.opened.as_ref()?, &c.changes);
    Some(cases::ActiveModel {
        case_id: Set(e.case_id.clone()),
        tenant: Set(c.tenant.clone()),
        external_ref: Set(new.external_ref.clone()),
        definition_id: Set(new.definition_id),
        process_id: Set(new.process_id.clone()),
        process_version: Set(new.version),
        stage: Set(ch.stage.clone()),
        status: Set(ch.status.to_string()),
        seq: Set(e.seq),
        snapshot: Set(c.snapshot.clone()),
        snapshot_seq: Set(if c.snapshot.is_some() { e.seq } else { 0 }),
        created_at: Set(e.recorded_at),
        updated_at: Set(e.recorded_at),
        debtor_id: Set(ch.desk.debtor_id.clone()),
        owner: Set(ch.desk.owner.clone()),
        partner: Set(ch.desk.partner.clone()),
        placement_status: Set(ch.desk.placement_status.map(str::to_string)),
        amount_due_minor: Set(ch.desk.amount_due_minor),
        currency: Set(ch.desk.currency.clone()),
        delinquent_since: Set(ch.desk.delinquent_since),
    })
}

/// The case row follows the journal; `seq = prev` guards against a concurrent writer.
async fn update_case<C: ConnectionTrait>(db: &C, c: &Commit) -> Result<(), StoreError> {
    let (e, ch) = (&c.entry, &c.changes);
    let mut q = cases::Entity::update_many()
        .col_expr(cases::Column::Seq, Expr::value(e.seq))
        .col_expr(cases::Column::Stage, Expr::value(ch.stage.clone()))
        .col_expr(cases::Column::Status, Expr::value(ch.status))
        .col_expr(cases::Column::UpdatedAt, Expr::value(e.recorded_at));
    q = desk::case_columns(q, &ch.desk);
    if let Some(s) = &c.snapshot {
        q = q
            .col_expr(cases::Column::Snapshot, Expr::value(s.clone()))
            .col_expr(cases::Column::SnapshotSeq, Expr::value(e.seq));
    }
    if let Some((def, process, version)) = &c.definition {
        q = q
            .col_expr(cases::Column::DefinitionId, Expr::value(*def))
            .col_expr(cases::Column::ProcessId, Expr::value(process.clone()))
            .col_expr(cases::Column::ProcessVersion, Expr::value(*version));
    }
    let res = q
        .filter(cases::Column::CaseId.eq(e.case_id.as_str()))
        .filter(cases::Column::Seq.eq(e.seq - 1))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Err(StoreError::Conflict(e.case_id.clone()));
    }
    Ok(())
}

fn task_row(c: &Commit, t: &crate::case::projection::TaskRow) -> tasks::ActiveModel {
    tasks::ActiveModel {
        case_id: Set(c.entry.case_id.clone()),
        task_id: Set(t.task_id),
        tenant: Set(c.tenant.clone()),
        element_id: Set(t.element_id.clone()),
        name: Set(t.name.clone()),
        status: Set("open".into()),
        assignee: Set(t.assignee.clone()),
        candidate_groups: Set(json_list(&t.candidate_groups)),
        candidate_users: Set(json_list(&t.candidate_users)),
        priority: Set(t.priority),
        due_at: Set(t.due_at),
        stage: Set(t.stage.clone()),
        created_at: Set(c.entry.recorded_at),
        completed_at: Set(None),
        completed_by: Set(None),
        partner: Set(t.partner.clone()),
        rank: Set(t.rank),
        amount_due_minor: Set(t.amount_due_minor),
    }
}

/// A task's candidate groups or users as its column holds them: a JSON array.
fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_default()
}

/// Who closed a task, for `completed_by`: only a completion names someone; a
/// cancellation keeps the column as it is.
fn closed_by<'a>(c: &'a Commit, status: &str) -> Option<&'a str> {
    (status == "completed").then_some(c.entry.actor.as_str())
}
