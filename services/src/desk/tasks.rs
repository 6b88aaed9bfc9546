//! Tasks: queues, "my tasks", the agenda, claim, complete, reassign, comment.

use bpmn::expr::Vars;
use std::collections::HashMap;

use orm::entities::{cases, task_candidates, tasks};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use super::{Desk, DeskError, MAX_PAGE, page_size, require};
use crate::access::{Operation, Principal, Role};
use crate::case::CaseFact;
use crate::case::projection::amount_of;
use crate::runtime::Outcome;
use collections::agenda::{self, RankInputs, RankParts};

/// `status = 'open'` as a literal, not a bound parameter: the task indexes hold open
/// tasks only (`WHERE status = 'open'`), and PostgreSQL cannot prove a partial index's
/// predicate from a parameter in a generic plan, the one a prepared statement is cached
/// with after a few runs.
fn is_open() -> Expr {
    Expr::cust("\"tasks\".\"status\" = 'open'")
}

/// Open tasks assigned to the caller (index `ix_tasks_open_assignee`).
fn assigned_to(p: &Principal) -> Select<tasks::Entity> {
    tasks::Entity::find()
        .filter(tasks::Column::Tenant.eq(p.tenant.as_str()))
        .filter(tasks::Column::Assignee.eq(p.subject.as_str()))
        .filter(is_open())
}

/// Unclaimed open tasks of the caller's partner organisation (`ix_tasks_open_partner`).
fn unclaimed_of_partner(p: &Principal) -> Select<tasks::Entity> {
    tasks::Entity::find()
        .filter(tasks::Column::Tenant.eq(p.tenant.as_str()))
        .filter(tasks::Column::Partner.eq(p.partner.clone()))
        .filter(is_open())
        .filter(tasks::Column::Assignee.is_null())
}

/// A task's identity: its case and its number within the case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskKey {
    pub case_id: String,
    pub task_id: i64,
}

impl TaskKey {
    /// `<case id>:<task number>`, the API's task id.
    pub fn parse(id: &str) -> Option<TaskKey> {
        let (case_id, task) = id.rsplit_once(':')?;
        Some(TaskKey {
            case_id: case_id.to_string(),
            task_id: task.parse().ok()?,
        })
    }
}

impl std::fmt::Display for TaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.case_id, self.task_id)
    }
}

pub fn key_of(t: &tasks::Model) -> TaskKey {
    TaskKey {
        case_id: t.case_id.clone(),
        task_id: t.task_id,
    }
}

/// A page of tasks in rank order.
#[derive(Debug, Clone)]
pub struct TaskPage {
    pub tasks: Vec<tasks::Model>,
    pub has_next: bool,
}

/// One agenda entry with why it ranks where it does.
#[derive(Debug, Clone)]
pub struct AgendaItem {
    pub task: tasks::Model,
    pub parts: RankParts,
    pub reasons: Vec<String>,
}

/// Keyset position in rank order: (rank, case id, task id) of the last item seen.
pub type RankCursor = (i64, String, i64);

fn after_rank<C: ColumnTrait>(rank: C, case: C, task: C, after: &RankCursor) -> Condition {
    let (r, c, t) = after.clone();
    Condition::any().add(rank.lt(r)).add(
        Condition::all().add(rank.eq(r)).add(
            Condition::any()
                .add(case.gt(c.clone()))
                .add(Condition::all().add(case.eq(c)).add(task.gt(t))),
        ),
    )
}

impl Desk {
    fn task_visible(p: &Principal, t: &tasks::Model) -> bool {
        t.tenant == p.tenant && (p.role != Role::Partner || t.partner == p.partner)
    }

    pub async fn task(&self, p: &Principal, key: &TaskKey) -> Result<tasks::Model, DeskError> {
        require(p, Operation::ReadTasks, "read tasks")?;
        let row = tasks::Entity::find_by_id((key.case_id.clone(), key.task_id))
            .one(&self.db)
            .await?;
        match row {
            Some(t) if Self::task_visible(p, &t) => Ok(t),
            _ => Err(DeskError::TaskNotFound(key.to_string())),
        }
    }

    /// Open tasks of many cases in one query (for a page of cases).
    pub async fn open_tasks_of(
        &self,
        p: &Principal,
        case_ids: &[String],
    ) -> Result<Vec<tasks::Model>, DeskError> {
        require(p, Operation::ReadTasks, "read tasks")?;
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = tasks::Entity::find()
            .filter(tasks::Column::Tenant.eq(p.tenant.as_str()))
            .filter(tasks::Column::CaseId.is_in(case_ids.to_vec()))
            .filter(is_open());
        if p.role == Role::Partner {
            q = q.filter(tasks::Column::Partner.eq(p.partner.clone()));
        }
        Ok(q.order_by_asc(tasks::Column::CaseId)
            .order_by_asc(tasks::Column::TaskId)
            .all(&self.db)
            .await?)
    }

    /// Unclaimed open tasks of a candidate group, most urgent first. Agents read the
    /// queues of their own groups; supervisors, admins and auditors any.
    pub async fn queue(
        &self,
        p: &Principal,
        group: &str,
        first: Option<i64>,
        after: Option<RankCursor>,
    ) -> Result<TaskPage, DeskError> {
        require(p, Operation::ReadTasks, "read tasks")?;
        match p.role {
            Role::Partner => {
                return Err(DeskError::Forbidden {
                    role: p.role,
                    what: "read internal queues",
                });
            }
            Role::Agent if !p.groups.iter().any(|g| g == group) => {
                return Err(DeskError::Forbidden {
                    role: p.role,
                    what: "read the queue of a group they are not in",
                });
            }
            _ => {}
        }
        let n = page_size(first)?;
        let mut q = task_candidates::Entity::find()
            .filter(task_candidates::Column::Tenant.eq(p.tenant.as_str()))
            .filter(task_candidates::Column::Candidate.eq(group))
            .filter(task_candidates::Column::Assignee.is_null());
        if let Some(a) = &after {
            q = q.filter(after_rank(
                task_candidates::Column::Rank,
                task_candidates::Column::CaseId,
                task_candidates::Column::TaskId,
                a,
            ));
        }
        let keys = q
            .order_by_desc(task_candidates::Column::Rank)
            .order_by_asc(task_candidates::Column::CaseId)
            .order_by_asc(task_candidates::Column::TaskId)
            .limit(n + 1)
            .all(&self.db)
            .await?;
        let has_next = keys.len() as u64 > n;
        let keys: Vec<_> = keys
            .into_iter()
            .take(n as usize)
            .map(|k| TaskKey {
                case_id: k.case_id,
                task_id: k.task_id,
            })
            .collect();
        Ok(TaskPage {
            tasks: self.tasks_in_order(&keys).await?,
            has_next,
        })
    }

    /// Rows for keys, in the keys' order, in one query.
    /// The currency of each task's case, in one query, for the agenda's explanation.
    async fn currencies_of(
        &self,
        rows: &[tasks::Model],
    ) -> Result<HashMap<String, Option<String>>, DeskError> {
        let ids: Vec<String> = rows.iter().map(|t| t.case_id.clone()).collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(cases::Entity::find()
            .select_only()
            .column(cases::Column::CaseId)
            .column(cases::Column::Currency)
            .filter(cases::Column::CaseId.is_in(ids))
            .into_tuple::<(String, Option<String>)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect())
    }

    async fn tasks_in_order(&self, keys: &[TaskKey]) -> Result<Vec<tasks::Model>, DeskError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut cond = Condition::any();
        for k in keys {
            cond = cond.add(
                Condition::all()
                    .add(tasks::Column::CaseId.eq(k.case_id.as_str()))
                    .add(tasks::Column::TaskId.eq(k.task_id)),
            );
        }
        let rows = tasks::Entity::find().filter(cond).all(&self.db).await?;
        let mut by_key: std::collections::HashMap<TaskKey, tasks::Model> =
            rows.into_iter().map(|t| (key_of(&t), t)).collect();
        Ok(keys.iter().filter_map(|k| by_key.remove(k)).collect())
    }

    /// Open tasks assigned to the caller, most urgent first.
    pub async fn my_tasks(
        &self,
        p: &Principal,
        first: Option<i64>,
        after: Option<RankCursor>,
    ) -> Result<TaskPage, DeskError> {
        require(p, Operation::ReadTasks, "read tasks")?;
        let n = page_size(first)?;
        let mut q = assigned_to(p);
        if p.role == Role::Partner {
            q = q.filter(tasks::Column::Partner.eq(p.partner.clone()));
        }
        if let Some(a) = &after {
            q = q.filter(after_rank(
                tasks::Column::Rank,
                tasks::Column::CaseId,
                tasks::Column::TaskId,
                a,
            ));
        }
        let mut rows = q
            .order_by_desc(tasks::Column::Rank)
            .order_by_asc(tasks::Column::CaseId)
            .order_by_asc(tasks::Column::TaskId)
            .limit(n + 1)
            .all(&self.db)
            .await?;
        let has_next = rows.len() as u64 > n;
        rows.truncate(n as usize);
        Ok(TaskPage {
            tasks: rows,
            has_next,
        })
    }

    /// The next `n` tasks the caller should work: their own claimed tasks and the
    /// unclaimed tasks they are a candidate for (a partner: its organisation's tasks),
    /// ranked by [`rank`], each with its explanation.
    pub async fn agenda(&self, p: &Principal, n: i64) -> Result<Vec<AgendaItem>, DeskError> {
        require(p, Operation::WorkTask, "work tasks")?;
        let n = page_size(Some(n))
            .map_err(|_| DeskError::Invalid(format!("an agenda holds 1 to {MAX_PAGE} tasks")))?;
        let mine = assigned_to(p);
        // One rank-ordered index range scan per source, each cut at n, merged here: an
        // IN list or OR over sources would make the database sort every open task.
        let mut rows = mine
            .order_by_desc(tasks::Column::Rank)
            .limit(n)
            .all(&self.db)
            .await?;
        if p.role == Role::Partner {
            // A partner's unclaimed work is whatever its organisation owns.
            rows.extend(
                unclaimed_of_partner(p)
                    .order_by_desc(tasks::Column::Rank)
                    .limit(n)
                    .all(&self.db)
                    .await?,
            );
        } else {
            let mut candidates: Vec<String> = p.groups.clone();
            candidates.push(format!("user:{}", p.subject));
            let mut keys = Vec::new();
            for candidate in candidates {
                let found = task_candidates::Entity::find()
                    .filter(task_candidates::Column::Tenant.eq(p.tenant.as_str()))
                    .filter(task_candidates::Column::Candidate.eq(candidate))
                    .filter(task_candidates::Column::Assignee.is_null())
                    .order_by_desc(task_candidates::Column::Rank)
                    .limit(n)
                    .all(&self.db)
                    .await?;
                keys.extend(found.into_iter().map(|k| (k.rank, k.case_id, k.task_id)));
            }
            keys.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| (&a.1, a.2).cmp(&(&b.1, b.2))));
            keys.dedup();
            keys.truncate(n as usize);
            let mut keys: Vec<TaskKey> = keys
                .into_iter()
                .map(|(_, case_id, task_id)| TaskKey { case_id, task_id })
                .collect();
            keys.sort();
            keys.dedup();
            rows.extend(self.tasks_in_order(&keys).await?);
        }
        rows.sort_by(|a, b| b.rank.cmp(&a.rank).then_with(|| key_of(a).cmp(&key_of(b))));
        rows.dedup_by(|a, b| key_of(a) == key_of(b));
        rows.truncate(n as usize);
        let now = self.clock.now();
        let currencies = self.currencies_of(&rows).await?;
        Ok(rows
            .into_iter()
            .map(|t| {
                let inputs = RankInputs {
                    priority: i64::from(t.priority),
                    due_at: t.due_at,
                    created_at: t.created_at,
                    amount_due: amount_of(
                        t.amount_due_minor,
                        currencies.get(&t.case_id).and_then(|c| c.as_deref()),
                    ),
                };
                AgendaItem {
                    parts: agenda::parts(&inputs),
                    reasons: agenda::explain(&inputs, now),
                    task: t,
                }
            })
            .collect())
    }

    /// Whether the caller may work this task: its assignee, a candidate of an unclaimed
    /// task, its partner organisation, or a supervisor/admin.
    fn may_work(p: &Principal, t: &tasks::Model) -> bool {
        if matches!(p.role, Role::Admin | Role::Supervisor) {
            return true;
        }
        if t.assignee.as_deref() == Some(p.subject.as_str()) {
            return true;
        }
        if t.assignee.is_some() {
            return false;
        }
        if p.role == Role::Partner {
            return t.partner.is_some() && t.partner == p.partner;
        }
        let groups: Vec<String> = serde_json::from_str(&t.candidate_groups).unwrap_or_default();
        let users: Vec<String> = serde_json::from_str(&t.candidate_users).unwrap_or_default();
        groups.iter().any(|g| p.groups.contains(g)) || users.contains(&p.subject)
    }

    async fn workable(&self, p: &Principal, key: &TaskKey) -> Result<tasks::Model, DeskError> {
        let t = self.task(p, key).await?;
        require(p, Operation::WorkTask, "work tasks")?;
        if t.status != "open" {
            return Err(DeskError::Conflict(format!("task {key} is {}", t.status)));
        }
        if !Self::may_work(p, &t) {
            return Err(match &t.assignee {
                Some(by) => DeskError::Conflict(format!("task {key} is claimed by {by}")),
                None => DeskError::Forbidden {
                    role: p.role,
                    what: "work a task they are not a candidate for",
                },
            });
        }
        Ok(t)
    }

    pub async fn claim_task(
        &self,
        p: &Principal,
        key: &TaskKey,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.workable(p, key).await?;
        let fact = CaseFact::TaskClaimed {
            task: key.task_id as u64,
            user: p.subject.clone(),
        };
        self.record(p, &key.case_id, fact, idempotency_key).await
    }

    pub async fn unclaim_task(
        &self,
        p: &Principal,
        key: &TaskKey,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        let t = self.workable(p, key).await?;
        if t.assignee.is_none() {
            return Err(DeskError::Conflict(format!("task {key} is not claimed")));
        }
        let fact = CaseFact::TaskUnclaimed {
            task: key.task_id as u64,
        };
        self.record(p, &key.case_id, fact, idempotency_key).await
    }

    pub async fn reassign_task(
        &self,
        p: &Principal,
        key: &TaskKey,
        user: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.task(p, key).await?;
        require(p, Operation::ReassignTask, "reassign tasks")?;
        let fact = CaseFact::TaskReassigned {
            task: key.task_id as u64,
            user,
        };
        self.record(p, &key.case_id, fact, idempotency_key).await
    }

    pub async fn complete_task(
        &self,
        p: &Principal,
        key: &TaskKey,
        variables: Vars,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.workable(p, key).await?;
        Ok(self
            .runtime
            .complete_task(
                &key.case_id,
                key.task_id as u64,
                variables,
                &p.acting_identity(),
                idempotency_key,
            )
            .await?)
    }

    /// A comment on a case, or on one of its tasks.
    pub async fn add_comment(
        &self,
        p: &Principal,
        case_id: &str,
        task: Option<i64>,
        text: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.case(p, case_id).await?;
        if let Some(t) = task {
            self.task(
                p,
                &TaskKey {
                    case_id: case_id.to_string(),
                    task_id: t,
                },
            )
            .await?;
        }
        require(p, Operation::Comment, "comment")?;
        let text = text.trim();
        if text.is_empty() || text.len() > 10_000 {
            return Err(DeskError::Invalid(
                "a comment holds 1 to 10000 characters".into(),
            ));
        }
        let fact = CaseFact::CommentAdded {
            task: task.map(|t| t as u64),
            text: text.to_string(),
        };
        self.record(p, case_id, fact, idempotency_key).await
    }

    /// Records a fact on the case as the caller, after the caller's checks.
    pub async fn record(
        &self,
        p: &Principal,
        case_id: &str,
        fact: CaseFact,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        Ok(self
            .runtime
            .record_fact(case_id, fact, &p.acting_identity(), idempotency_key)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orm::testing::TestDb;
    use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder};
    use sea_orm::{
        ConnectionTrait, DatabaseBackend, DatabaseConnection, QueryTrait, Statement,
        TransactionTrait,
    };

    /// The plan each database chooses for a desk query as SeaORM builds it. PostgreSQL
    /// is asked for its generic plan (the one a cached prepared statement ends up with,
    /// where parameters have no values), with sequential scans priced out so an empty
    /// table still shows which index the query can use; SQLite plans with the values bound.
    async fn plan(db: &DatabaseConnection, q: Select<tasks::Entity>) -> String {
        let backend = db.get_database_backend();
        let stmt = q
            .order_by_desc(tasks::Column::Rank)
            .limit(10)
            .build(backend);
        let values = stmt.values.map(|v| v.0).unwrap_or_default();
        let txn = db.begin().await.unwrap();
        let (explain, column) = if backend == DatabaseBackend::Postgres {
            for sql in [
                format!("PREPARE desk_query AS {}", stmt.sql),
                "SET LOCAL plan_cache_mode = force_generic_plan".into(),
                "SET LOCAL enable_seqscan = off".into(),
            ] {
                txn.execute_unprepared(&sql).await.unwrap();
            }
            let args: Vec<String> = values
                .iter()
                .map(|v| PostgresQueryBuilder.value_to_string(v))
                .collect();
            let sql = format!("EXPLAIN EXECUTE desk_query({})", args.join(", "));
            (Statement::from_string(backend, sql), "QUERY PLAN")
        } else {
            let sql = format!("EXPLAIN QUERY PLAN {}", stmt.sql);
            (
                Statement::from_sql_and_values(backend, sql, values),
                "detail",
            )
        };
        let rows = txn.query_all_raw(explain).await.unwrap();
        if backend == DatabaseBackend::Postgres {
            txn.execute_unprepared("DEALLOCATE desk_query")
                .await
                .unwrap();
        }
        txn.rollback().await.unwrap();
        rows.iter()
            .map(|r| r.try_get::<String>("", column).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    async fn desk_queries_use_the_open_task_indexes(db: &DatabaseConnection) {
        orm::migrate(db).await.unwrap();
        let agent = Principal::new("ana", "t1", Role::Agent, None, vec![]).unwrap();
        let partner =
            Principal::new("lf", "t1", Role::Partner, Some("firm".into()), vec![]).unwrap();
        let mine = plan(db, assigned_to(&agent)).await;
        assert!(mine.contains("ix_tasks_open_assignee"), "{mine}");
        let theirs = plan(db, unclaimed_of_partner(&partner)).await;
        assert!(theirs.contains("ix_tasks_open_partner"), "{theirs}");
    }

    #[tokio::test]
    async fn desk_queries_use_the_open_task_indexes_on_sqlite() {
        let t = TestDb::sqlite().await;
        desk_queries_use_the_open_task_indexes(&t.db).await;
    }

    #[tokio::test]
    async fn desk_queries_use_the_open_task_indexes_on_postgres() {
        let Some(t) = TestDb::postgres("desk_queries_use_the_open_task_indexes").await else {
            return;
        };
        desk_queries_use_the_open_task_indexes(&t.db).await;
    }
}
