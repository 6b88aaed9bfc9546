//! Per-batch statements for what differs per case: the guarded case-row updates, task
//! closures and deletions. One statement for the whole batch instead of one round trip per
//! case is what lets a group-committed batch cost little more than a single commit.
//!
//! Rows travel as a `VALUES` list, whose columns both SQLite and PostgreSQL name
//! `column1`, `column2`, …; `UPDATE … FROM` and row-value `IN` work on both.

use sea_orm::{ConnectionTrait, Statement, Value};

use super::{Commit, StoreError};

/// `(…), (…)` with numbered placeholders, and the values to bind in order.
pub(super) struct ValuesList {
    pub(super) sql: String,
    pub(super) values: Vec<Value>,
}

impl ValuesList {
    pub(super) fn new() -> Self {
        Self {
            sql: String::new(),
            values: Vec::new(),
        }
    }

    pub(super) fn row(&mut self, row: impl IntoIterator<Item = Value>) {
        if !self.values.is_empty() {
            self.sql.push_str(", ");
        }
        self.sql.push('(');
        for (i, v) in row.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.values.push(v);
            self.sql.push_str(&format!("${}", self.values.len()));
        }
        self.sql.push(')');
    }

    pub(super) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

pub(super) async fn exec<C: ConnectionTrait>(
    db: &C,
    sql: String,
    values: Vec<Value>,
) -> Result<u64, StoreError> {
    let stmt = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    Ok(db.execute_raw(stmt).await?.rows_affected())
}

/// Moves each case row to its new entry, guarded by `seq = prev` so a concurrent writer
/// makes the whole batch fail as a conflict (the committer then retries commit by
/// commit, so only the loser sees it). Only commits that neither open a case nor change
/// its definition belong here.
pub(super) async fn update_cases<C: ConnectionTrait>(
    db: &C,
    commits: &[&Commit],
) -> Result<(), StoreError> {
    let Some(first) = commits.first() else {
        return Ok(());
    };
    let mut rows = ValuesList::new();
    for c in commits {
        let (e, ch, d) = (&c.entry, &c.changes, &c.changes.desk);
        rows.row([
            Value::from(e.case_id.clone()),
            Value::from(e.seq - 1),
            Value::from(e.seq),
            Value::from(ch.stage.clone()),
            Value::from(ch.status.to_string()),
            Value::from(e.recorded_at),
            Value::from(c.snapshot.clone()),
            Value::from(d.debtor_id.clone()),
            Value::from(d.owner.clone()),
            Value::from(d.partner.clone()),
            Value::from(d.placement_status.map(str::to_string)),
            Value::from(d.amount_due_minor),
            Value::from(d.currency.clone()),
            Value::from(d.delinquent_since),
        ]);
    }
    let sql = format!(
        "UPDATE cases SET seq = v.column3, stage = v.column4, status = v.column5, \
         updated_at = v.column6, \
         snapshot = COALESCE(v.column7, cases.snapshot), \
         snapshot_seq = CASE WHEN v.column7 IS NULL THEN cases.snapshot_seq ELSE v.column3 END, \
         debtor_id = v.column8, owner = v.column9, partner = v.column10, \
         placement_status = v.column11, amount_due_minor = v.column12, currency = v.column13, \
         delinquent_since = v.column14 \
         FROM (VALUES {}) AS v \
         WHERE cases.case_id = v.column1 AND cases.seq = v.column2",
        rows.sql
    );
    let updated = exec(db, sql, rows.values).await?;
    if updated != commits.len() as u64 {
        return Err(StoreError::Conflict(first.entry.case_id.clone()));
    }
    Ok(())
}

/// Closes the tasks the batch's entries ended, and drops them from the queues.
pub(super) async fn close_tasks<C: ConnectionTrait>(
    db: &C,
    batch: &[Commit],
) -> Result<(), StoreError> {
    let mut rows = ValuesList::new();
    let mut keys = ValuesList::new();
    for c in batch {
        for (task, status) in &c.changes.tasks_closed {
            let by = super::closed_by(c, status).map(str::to_string);
            rows.row([
                Value::from(c.entry.case_id.clone()),
                Value::from(*task),
                Value::from(status.to_string()),
                Value::from(c.entry.recorded_at),
                Value::from(by),
            ]);
            keys.row([Value::from(c.entry.case_id.clone()), Value::from(*task)]);
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE tasks SET status = v.column3, completed_at = v.column4, \
         completed_by = COALESCE(v.column5, tasks.completed_by) \
         FROM (VALUES {}) AS v WHERE tasks.case_id = v.column1 AND tasks.task_id = v.column2",
        rows.sql
    );
    exec(db, sql, rows.values).await?;
    delete_keyed(db, "task_candidates", "task_id", keys).await
}

/// Deletes the timer and message-subscription rows the batch's entries removed.
pub(super) async fn delete_removed<C: ConnectionTrait>(
    db: &C,
    batch: &[Commit],
) -> Result<(), StoreError> {
    let mut timers = ValuesList::new();
    let mut subs = ValuesList::new();
    for c in batch {
        let id = &c.entry.case_id;
        for t in &c.changes.timers_removed {
            timers.row([Value::from(id.clone()), Value::from(*t)]);
        }
        for s in &c.changes.subscriptions_removed {
            subs.row([Value::from(id.clone()), Value::from(*s)]);
        }
    }
    delete_keyed(db, "timers", "timer_id", timers).await?;
    delete_keyed(db, "message_subscriptions", "subscription_id", subs).await
}

/// `DELETE FROM table WHERE (case_id, key) IN (VALUES …)`.
async fn delete_keyed<C: ConnectionTrait>(
    db: &C,
    table: &str,
    key: &str,
    keys: ValuesList,
) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "DELETE FROM {table} WHERE (case_id, {key}) IN (VALUES {})",
        keys.sql
    );
    exec(db, sql, keys.values).await?;
    Ok(())
}
