//! PostgreSQL: a batch of ordinary transitions written as ONE statement in its own
//! implicit transaction — one round trip per batch instead of `BEGIN`, six statements
//! and `COMMIT`. Between two processes sharing two cores each round trip costs close to
//! a millisecond of scheduling, and that latency, not fsync or index work, is what bounded
//! group commit (decision 0009).
//!
//! The rows travel as arrays, one per column, unpacked by `unnest`, so the SQL text is the
//! same for every batch: it is parsed and planned once per connection, however the batch
//! is made up. The sub-statements are data-modifying CTEs; they all see the snapshot from
//! before the statement and run to completion, so a batch qualifies only when no commit
//! touches the same row twice (see [`fits`]); anything else takes the general path.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sqlx;
use sea_orm::sqlx::Arguments as _;
use sea_orm::sqlx::postgres::{PgArguments, PgConnection};
use sea_orm::{DbErr, RuntimeErr};

use super::{Commit, StoreError, closed_by, conflict_or, desk, json_list};
use crate::journal::canonical_json;

/// True when every commit is a plain transition this statement can write: no case opened
/// or migrated, no desk or document rows (those take their own statements), and no task,
/// timer or subscription both added and removed by one commit (a CTE cannot see the row
/// another CTE of the same statement inserts).
pub(super) fn fits(batch: &[Commit]) -> bool {
    batch.iter().all(|c| {
        let ch = &c.changes;
        c.opened.is_none()
            && c.definition.is_none()
            && ch.document.is_none()
            && ch.note.is_none()
            && ch.debtor.is_none()
            && ch.tasks_assigned.is_empty()
            && ch.tasks_partner.is_empty()
            && !ch
                .tasks_created
                .iter()
                .any(|t| ch.tasks_closed.iter().any(|(id, _)| *id == t.task_id))
            && !ch
                .timers_added
                .iter()
                .any(|(id, ..)| ch.timers_removed.contains(id))
            && !ch
                .subscriptions_added
                .iter()
                .any(|(id, ..)| ch.subscriptions_removed.contains(id))
    })
}

/// The statement's parameters: one array per column, unnested side by side, so the
/// rows travel in PostgreSQL's binary array format (a JSON document per batch cost the
/// server more to parse than the rows cost to write).
#[derive(Default)]
struct Columns<'a> {
    // case_journal
    j_case: Vec<&'a str>,
    j_seq: Vec<i64>,
    j_type: Vec<&'a str>,
    j_payload: Vec<String>,
    j_actor: Vec<&'a str>,
    j_at: Vec<DateTime<Utc>>,
    j_prev: Vec<&'a str>,
    j_hash: Vec<&'a str>,
    // cases
    c_case: Vec<&'a str>,
    c_prev: Vec<i64>,
    c_seq: Vec<i64>,
    c_stage: Vec<Option<&'a str>>,
    c_status: Vec<&'a str>,
    c_at: Vec<DateTime<Utc>>,
    c_snapshot: Vec<Option<&'a str>>,
    c_debtor: Vec<Option<&'a str>>,
    c_owner: Vec<Option<&'a str>>,
    c_partner: Vec<Option<&'a str>>,
    c_placement: Vec<Option<&'a str>>,
    c_amount: Vec<Option<i64>>,
    c_currency: Vec<Option<&'a str>>,
    c_delinquent: Vec<Option<NaiveDate>>,
    // tasks opened
    t_case: Vec<&'a str>,
    t_task: Vec<i64>,
    t_tenant: Vec<&'a str>,
    t_element: Vec<&'a str>,
    t_name: Vec<Option<&'a str>>,
    t_assignee: Vec<Option<&'a str>>,
    t_groups: Vec<String>,
    t_users: Vec<String>,
    t_priority: Vec<i32>,
    t_due: Vec<Option<DateTime<Utc>>>,
    t_stage: Vec<Option<&'a str>>,
    t_at: Vec<DateTime<Utc>>,
    t_partner: Vec<Option<&'a str>>,
    t_rank: Vec<i64>,
    t_amount: Vec<Option<i64>>,
    // task candidates
    q_case: Vec<&'a str>,
    q_task: Vec<i64>,
    q_candidate: Vec<String>,
    q_tenant: Vec<&'a str>,
    q_assignee: Vec<Option<&'a str>>,
    q_rank: Vec<i64>,
    // tasks closed (and dropped from the queues)
    x_case: Vec<&'a str>,
    x_task: Vec<i64>,
    x_status: Vec<&'a str>,
    x_at: Vec<DateTime<Utc>>,
    x_by: Vec<Option<&'a str>>,
    // timers and subscriptions removed
    tr_case: Vec<&'a str>,
    tr_id: Vec<i64>,
    sr_case: Vec<&'a str>,
    sr_id: Vec<i64>,
    // timers added
    ta_case: Vec<&'a str>,
    ta_id: Vec<i64>,
    ta_element: Vec<&'a str>,
    ta_due: Vec<DateTime<Utc>>,
    // subscriptions added
    sa_case: Vec<&'a str>,
    sa_id: Vec<i64>,
    sa_name: Vec<&'a str>,
    sa_key: Vec<Option<&'a str>>,
    // outbox
    o_case: Vec<&'a str>,
    o_seq: Vec<i64>,
    o_kind: Vec<&'a str>,
    o_payload: Vec<String>,
    o_at: Vec<DateTime<Utc>>,
    o_next: Vec<DateTime<Utc>>,
    o_job_type: Vec<Option<&'a str>>,
    o_partner: Vec<Option<&'a str>>,
    // idempotency keys
    k_tenant: Vec<&'a str>,
    k_key: Vec<&'a str>,
    k_case: Vec<&'a str>,
    k_seq: Vec<i64>,
    k_response: Vec<&'a str>,
    k_at: Vec<DateTime<Utc>>,
    // outbox rows delivered
    d_id: Vec<i64>,
    d_at: Vec<DateTime<Utc>>,
}

fn columns(batch: &[Commit]) -> Columns<'_> {
    let mut r = Columns::default();
    for c in batch {
        let (e, ch, d) = (&c.entry, &c.changes, &c.changes.desk);
        let case = e.case_id.as_str();
        let at = e.recorded_at;
        r.j_case.push(case);
        r.j_seq.push(e.seq);
        r.j_type.push(&e.event_type);
        r.j_payload.push(canonical_json(&e.payload));
        r.j_actor.push(&e.actor);
        r.j_at.push(at);
        r.j_prev.push(&e.prev_hash);
        r.j_hash.push(&e.hash);

        r.c_case.push(case);
        r.c_prev.push(e.seq - 1);
        r.c_seq.push(e.seq);
        r.c_stage.push(ch.stage.as_deref());
        r.c_status.push(ch.status);
        r.c_at.push(at);
        r.c_snapshot.push(c.snapshot.as_deref());
        r.c_debtor.push(d.debtor_id.as_deref());
        r.c_owner.push(d.owner.as_deref());
        r.c_partner.push(d.partner.as_deref());
        r.c_placement.push(d.placement_status);
        r.c_amount.push(d.amount_due_minor);
        r.c_currency.push(d.currency.as_deref());
        r.c_delinquent.push(d.delinquent_since);

        for t in &ch.tasks_created {
            r.t_case.push(case);
            r.t_task.push(t.task_id);
            r.t_tenant.push(&c.tenant);
            r.t_element.push(&t.element_id);
            r.t_name.push(t.name.as_deref());
            r.t_assignee.push(t.assignee.as_deref());
            r.t_groups.push(json_list(&t.candidate_groups));
            r.t_users.push(json_list(&t.candidate_users));
            r.t_priority.push(t.priority);
            r.t_due.push(t.due_at);
            r.t_stage.push(t.stage.as_deref());
            r.t_at.push(at);
            r.t_partner.push(t.partner.as_deref());
            r.t_rank.push(t.rank);
            r.t_amount.push(t.amount_due_minor);
            for candidate in desk::distinct_candidates(t) {
                r.q_case.push(case);
                r.q_task.push(t.task_id);
                r.q_candidate.push(candidate);
                r.q_tenant.push(&c.tenant);
                r.q_assignee.push(t.assignee.as_deref());
                r.q_rank.push(t.rank);
            }
        }
        for (task, status) in &ch.tasks_closed {
            r.x_case.push(case);
            r.x_task.push(*task);
            r.x_status.push(status);
            r.x_at.push(at);
            r.x_by.push(closed_by(c, status));
        }
        for id in &ch.timers_removed {
            r.tr_case.push(case);
            r.tr_id.push(*id);
        }
        for id in &ch.subscriptions_removed {
            r.sr_case.push(case);
            r.sr_id.push(*id);
        }
        for (id, element, due) in &ch.timers_added {
            r.ta_case.push(case);
            r.ta_id.push(*id);
            r.ta_element.push(element);
            r.ta_due.push(*due);
        }
        for (id, name, key) in &ch.subscriptions_added {
            r.sa_case.push(case);
            r.sa_id.push(*id);
            r.sa_name.push(name);
            r.sa_key.push(key.as_deref());
        }
        for row in &ch.outbox {
            r.o_case.push(case);
            r.o_seq.push(e.seq);
            r.o_kind.push(row.kind);
            r.o_payload.push(canonical_json(&row.payload));
            r.o_at.push(at);
            r.o_next.push(row.not_before.unwrap_or(at));
            r.o_job_type.push(row.job_type.as_deref());
            r.o_partner.push(row.partner.as_deref());
        }
        if let Some((key, response)) = &c.idempotency {
            r.k_tenant.push(&c.tenant);
            r.k_key.push(key);
            r.k_case.push(case);
            r.k_seq.push(e.seq);
            r.k_response.push(response);
            r.k_at.push(at);
        }
        if let Some(id) = c.delivers {
            r.d_id.push(id);
            r.d_at.push(at);
        }
    }
    r
}

// The data-modifying CTEs of a batch's statement. Parameters count from `$1` within each
// part and are renumbered when the statement is put together.
const JOURNAL: &str = "journal AS (INSERT INTO case_journal (case_id, seq, event_type, payload, actor, recorded_at, prev_hash, hash) \
 SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], \
 $7::text[], $8::text[]))";
const MOVED: &str = "moved AS (UPDATE cases SET seq = v.seq, stage = v.stage, status = v.status, updated_at = v.updated_at, \
 snapshot = COALESCE(v.snapshot, cases.snapshot), \
 snapshot_seq = CASE WHEN v.snapshot IS NULL THEN cases.snapshot_seq ELSE v.seq END, \
 debtor_id = v.debtor_id, owner = v.owner, partner = v.partner, placement_status = v.placement_status, \
 amount_due_minor = v.amount_due_minor, currency = v.currency, delinquent_since = v.delinquent_since \
 FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::timestamptz[], \
 $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int8[], $13::text[], $14::date[]) \
 AS v(case_id, prev, seq, stage, status, updated_at, snapshot, debtor_id, owner, partner, \
 placement_status, amount_due_minor, currency, delinquent_since) \
 WHERE cases.case_id = v.case_id AND cases.seq = v.prev RETURNING 1)";
const OPENED_TASKS: &str = "opened_tasks AS (INSERT INTO tasks (case_id, task_id, tenant, element_id, name, assignee, \
 candidate_groups, candidate_users, priority, due_at, stage, created_at, partner, rank, amount_due_minor, status) \
 SELECT *, 'open' FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], \
 $7::text[], $8::text[], $9::int4[], $10::timestamptz[], $11::text[], $12::timestamptz[], $13::text[], \
 $14::int8[], $15::int8[]))";
const QUEUED: &str = "queued AS (INSERT INTO task_candidates (case_id, task_id, candidate, tenant, assignee, rank) \
 SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int8[]))";
const CLOSED_TASKS: &str = "closed_tasks AS (UPDATE tasks SET status = v.status, completed_at = v.closed_at, \
 completed_by = COALESCE(v.closed_by, tasks.completed_by) \
 FROM unnest($1::text[], $2::int8[], $3::text[], $4::timestamptz[], $5::text[]) \
 AS v(case_id, task_id, status, closed_at, closed_by) \
 WHERE tasks.case_id = v.case_id AND tasks.task_id = v.task_id), \
dequeued AS (DELETE FROM task_candidates q USING unnest($1::text[], $2::int8[]) AS v(case_id, task_id) \
 WHERE q.case_id = v.case_id AND q.task_id = v.task_id)";
const TIMERS_GONE: &str = "timers_gone AS (DELETE FROM timers t USING unnest($1::text[], $2::int8[]) AS v(case_id, id) \
 WHERE t.case_id = v.case_id AND t.timer_id = v.id)";
const SUBSCRIPTIONS_GONE: &str = "subscriptions_gone AS (DELETE FROM message_subscriptions s USING unnest($1::text[], $2::int8[]) AS v(case_id, id) \
 WHERE s.case_id = v.case_id AND s.subscription_id = v.id)";
const TIMERS_SET: &str = "timers_set AS (INSERT INTO timers (case_id, timer_id, element_id, due_at) \
 SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::timestamptz[]))";
const SUBSCRIBED: &str = "subscribed AS (INSERT INTO message_subscriptions (case_id, subscription_id, name, correlation_key) \
 SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[]))";
const OUTBOXED: &str = "outboxed AS (INSERT INTO outbox (case_id, seq, kind, payload, created_at, next_attempt_at, job_type, partner_id, attempts) \
 SELECT *, 0 FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::timestamptz[], \
 $6::timestamptz[], $7::text[], $8::text[]))";
const KEYED: &str = "keyed AS (INSERT INTO idempotency_keys (tenant, \"key\", case_id, seq, response, created_at) \
 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::timestamptz[]))";
const DELIVERED: &str = "delivered AS (UPDATE outbox SET delivered_at = v.at, attempts = outbox.attempts + 1 \
 FROM unnest($1::int8[], $2::timestamptz[]) AS v(id, at) WHERE outbox.id = v.id)";
/// Fails the whole statement (division by zero, SQLSTATE 22012) unless every case row
/// moved from the sequence its entry follows: plain SQL has no `RAISE`, and a short
/// count must undo the journal rows as well.
const GUARD: &str = "SELECT 1 / ((SELECT count(*) FROM moved) = $1::int8)::integer";

/// A batch's statement being put together: each part's text and its columns side by
/// side, so a part cannot be bound in another part's place. A batch pays only for the
/// sub-statements it needs (a timer firing writes no task rows), and the handful of
/// shapes that occur are each planned once per connection.
struct Statement {
    sql: String,
    params: usize,
    args: PgArguments,
}

impl Statement {
    fn new() -> Self {
        Statement {
            sql: String::from("WITH "),
            params: 0,
            args: PgArguments::default(),
        }
    }

    /// Appends one sub-statement, its parameters numbered after those before it;
    /// returns how many it names.
    fn text(&mut self, part: &str) -> usize {
        if self.params > 0 {
            self.sql.push_str(", ");
        }
        let named = renumber(part, self.params, &mut self.sql);
        self.params += named;
        named
    }

    fn bind<'t, T>(&mut self, column: T) -> Result<(), StoreError>
    where
        T: sqlx::Encode<'t, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        self.args.add(column).map_err(|e| {
            StoreError::Db(DbErr::Custom(format!("cannot encode a batch column: {e}")))
        })
    }

    /// Ends the statement with the guard, for a batch of `commits`.
    fn guard(mut self, commits: usize) -> Result<Self, StoreError> {
        self.sql.push(' ');
        self.params += renumber(GUARD, self.params, &mut self.sql);
        self.bind(commits as i64)?;
        Ok(self)
    }
}

/// Appends `sql` with each `$n` shifted by `offset`; returns the highest `n`.
fn renumber(sql: &str, offset: usize, out: &mut String) -> usize {
    let mut highest = 0;
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: usize = rest[..digits].parse().expect("a numbered parameter");
        highest = highest.max(n);
        out.push_str(&(n + offset).to_string());
        rest = &rest[digits..];
    }
    out.push_str(rest);
    highest
}

/// Adds a sub-statement and binds its columns, in the order its text numbers them.
macro_rules! part {
    ($statement:ident, $text:expr, $($column:expr),+ $(,)?) => {{
        let named = $statement.text($text);
        let mut bound = 0;
        $(
            $statement.bind($column)?;
            bound += 1;
        )+
        debug_assert_eq!(named, bound, "parameters named and bound differ in {}", $text);
    }};
}

/// Writes the batch (which must [`fit`](fits)) in one statement; fails as a whole.
pub(super) async fn write(conn: &mut PgConnection, batch: &[Commit]) -> Result<(), StoreError> {
    let Some(first) = batch.first() else {
        return Ok(());
    };
    let r = columns(batch);
    let mut s = Statement::new();
    part!(
        s,
        JOURNAL,
        r.j_case,
        r.j_seq,
        r.j_type,
        r.j_payload,
        r.j_actor,
        r.j_at,
        r.j_prev,
        r.j_hash
    );
    part!(
        s,
        MOVED,
        r.c_case,
        r.c_prev,
        r.c_seq,
        r.c_stage,
        r.c_status,
        r.c_at,
        r.c_snapshot,
        r.c_debtor,
        r.c_owner,
        r.c_partner,
        r.c_placement,
        r.c_amount,
        r.c_currency,
        r.c_delinquent
    );
    if !r.t_case.is_empty() {
        part!(
            s,
            OPENED_TASKS,
            r.t_case,
            r.t_task,
            r.t_tenant,
            r.t_element,
            r.t_name,
            r.t_assignee,
            r.t_groups,
            r.t_users,
            r.t_priority,
            r.t_due,
            r.t_stage,
            r.t_at,
            r.t_partner,
            r.t_rank,
            r.t_amount
        );
    }
    if !r.q_case.is_empty() {
        part!(
            s,
            QUEUED,
            r.q_case,
            r.q_task,
            r.q_candidate,
            r.q_tenant,
            r.q_assignee,
            r.q_rank
        );
    }
    if !r.x_case.is_empty() {
        part!(
            s,
            CLOSED_TASKS,
            r.x_case,
            r.x_task,
            r.x_status,
            r.x_at,
            r.x_by
        );
    }
    if !r.tr_case.is_empty() {
        part!(s, TIMERS_GONE, r.tr_case, r.tr_id);
    }
    if !r.sr_case.is_empty() {
        part!(s, SUBSCRIPTIONS_GONE, r.sr_case, r.sr_id);
    }
    if !r.ta_case.is_empty() {
        part!(s, TIMERS_SET, r.ta_case, r.ta_id, r.ta_element, r.ta_due);
    }
    if !r.sa_case.is_empty() {
        part!(s, SUBSCRIBED, r.sa_case, r.sa_id, r.sa_name, r.sa_key);
    }
    if !r.o_case.is_empty() {
        part!(
            s,
            OUTBOXED,
            r.o_case,
            r.o_seq,
            r.o_kind,
            r.o_payload,
            r.o_at,
            r.o_next,
            r.o_job_type,
            r.o_partner
        );
    }
    if !r.k_case.is_empty() {
        part!(
            s,
            KEYED,
            r.k_tenant,
            r.k_key,
            r.k_case,
            r.k_seq,
            r.k_response,
            r.k_at
        );
    }
    if !r.d_id.is_empty() {
        part!(s, DELIVERED, r.d_id, r.d_at);
    }
    let s = s.guard(batch.len())?;
    // The text is assembled from the constant parts above only.
    sqlx::query_with(sqlx::AssertSqlSafe(s.sql), s.args)
        .execute(conn)
        .await
        .map_err(|err| {
            moved_or(
                DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err))),
                &first.entry.case_id,
            )
        })?;
    Ok(())
}

/// The guard's division by zero means a case row was not at the expected sequence: a
/// concurrent writer, as the journal's key would also say.
fn moved_or(err: DbErr, case_id: &str) -> StoreError {
    if orm::sqlstate(&err).as_deref() == Some("22012") {
        StoreError::Conflict(case_id.to_string())
    } else {
        conflict_or(err, case_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statement text for these parts (columns not bound).
    fn statement(parts: &[&str]) -> String {
        let mut s = Statement::new();
        for part in parts {
            s.text(part);
        }
        s.guard(1).unwrap().sql
    }

    /// The parameters a statement names, in order of first appearance.
    fn parameters(sql: &str) -> Vec<usize> {
        let mut seen = Vec::new();
        for piece in sql.split('$').skip(1) {
            let digits: String = piece.chars().take_while(char::is_ascii_digit).collect();
            let n = digits.parse().unwrap();
            if !seen.contains(&n) {
                seen.push(n);
            }
        }
        seen
    }

    #[test]
    fn parts_are_numbered_one_after_another() {
        let all = [
            JOURNAL,
            MOVED,
            OPENED_TASKS,
            QUEUED,
            CLOSED_TASKS,
            TIMERS_GONE,
            SUBSCRIPTIONS_GONE,
            TIMERS_SET,
            SUBSCRIBED,
            OUTBOXED,
            KEYED,
        ];
        assert_eq!(parameters(&statement(&all)), (1..=75).collect::<Vec<_>>());
        let timer_fired = statement(&[JOURNAL, MOVED, TIMERS_GONE]);
        assert_eq!(parameters(&timer_fired), (1..=25).collect::<Vec<_>>());
        assert!(
            timer_fired.ends_with("= $25::int8)::integer"),
            "{timer_fired}"
        );
        assert!(!timer_fired.contains("tasks"), "{timer_fired}");
    }
}
