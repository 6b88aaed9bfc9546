//! Writes for the working side of a case: candidates of open tasks (queues, agendas),
//! assignments, partner ownership of tasks, notes, debtors, the case row's desk columns.
//! Part of the same transaction as the journal entry.

use orm::entities::{case_notes, cases, debtors, task_candidates, tasks};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, UpdateMany};

use super::{Commit, StoreError};
use crate::case::projection::{CaseDesk, TaskRow};

pub(super) fn case_columns(
    q: UpdateMany<cases::Entity>,
    d: &CaseDesk,
) -> UpdateMany<cases::Entity> {
    q.col_expr(cases::Column::DebtorId, Expr::value(d.debtor_id.clone()))
        .col_expr(cases::Column::Owner, Expr::value(d.owner.clone()))
        .col_expr(cases::Column::Partner, Expr::value(d.partner.clone()))
        .col_expr(
            cases::Column::PlacementStatus,
            Expr::value(d.placement_status.map(str::to_string)),
        )
        .col_expr(
            cases::Column::AmountDueMinor,
            Expr::value(d.amount_due_minor),
        )
        .col_expr(cases::Column::Currency, Expr::value(d.currency.clone()))
        .col_expr(
            cases::Column::DelinquentSince,
            Expr::value(d.delinquent_since),
        )
}

/// A task's candidates: its groups and `user:<id>` for each candidate user.
pub fn candidates(groups: &[String], users: &[String]) -> Vec<String> {
    groups
        .iter()
        .cloned()
        .chain(users.iter().map(|u| format!("user:{u}")))
        .collect()
}

/// A new task's candidates, each once (a user may be listed twice, a group too).
pub(super) fn distinct_candidates(t: &TaskRow) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    candidates(&t.candidate_groups, &t.candidate_users)
        .into_iter()
        .filter(|cand| seen.insert(cand.clone()))
        .collect()
}

pub(super) async fn insert_candidates<C: ConnectionTrait>(
    db: &C,
    batch: &[Commit],
) -> Result<(), StoreError> {
    let rows: Vec<task_candidates::ActiveModel> = batch
        .iter()
        .flat_map(|c| {
            c.changes.tasks_created.iter().flat_map(move |t| {
                distinct_candidates(t)
                    .into_iter()
                    .map(move |cand| task_candidates::ActiveModel {
                        case_id: Set(c.entry.case_id.clone()),
                        task_id: Set(t.task_id),
                        candidate: Set(cand),
                        tenant: Set(c.tenant.clone()),
                        assignee: Set(t.assignee.clone()),
                        rank: Set(t.rank),
                    })
            })
        })
        .collect();
    if !rows.is_empty() {
        task_candidates::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(())
}

pub(super) async fn write<C: ConnectionTrait>(db: &C, c: &Commit) -> Result<(), StoreError> {
    let (case_id, ch) = (c.entry.case_id.as_str(), &c.changes);
    for (task, assignee) in &ch.tasks_assigned {
        tasks::Entity::update_many()
            .col_expr(tasks::Column::Assignee, Expr::value(assignee.clone()))
            .filter(tasks::Column::CaseId.eq(case_id))
            .filter(tasks::Column::TaskId.eq(*task))
            .exec(db)
            .await?;
        task_candidates::Entity::update_many()
            .col_expr(
                task_candidates::Column::Assignee,
                Expr::value(assignee.clone()),
            )
            .filter(task_candidates::Column::CaseId.eq(case_id))
            .filter(task_candidates::Column::TaskId.eq(*task))
            .exec(db)
            .await?;
    }
    for (task, partner) in &ch.tasks_partner {
        tasks::Entity::update_many()
            .col_expr(tasks::Column::Partner, Expr::value(partner.clone()))
            .filter(tasks::Column::CaseId.eq(case_id))
            .filter(tasks::Column::TaskId.eq(*task))
            .exec(db)
            .await?;
    }
    if let Some(note) = &ch.note {
        case_notes::Entity::insert(case_notes::ActiveModel {
            case_id: Set(case_id.to_string()),
            seq: Set(c.entry.seq),
            tenant: Set(c.tenant.clone()),
            task_id: Set(note.task_id),
            kind: Set(note.kind.clone()),
            author: Set(c.entry.actor.clone()),
            text: Set(note.text.clone()),
            created_at: Set(c.entry.recorded_at),
        })
        .exec(db)
        .await?;
    }
    if let Some((debtor_id, name)) = &ch.debtor {
        debtors::Entity::insert(debtors::ActiveModel {
            tenant: Set(c.tenant.clone()),
            debtor_id: Set(debtor_id.clone()),
            name: Set(name.clone()),
            created_at: Set(c.entry.recorded_at),
            ..Default::default()
        })
        .on_conflict(
            // A registered debtor's name changes through its file only.
            OnConflict::columns([debtors::Column::Tenant, debtors::Column::DebtorId])
                .update_column(debtors::Column::Name)
                .action_and_where(Expr::col((debtors::Entity, debtors::Column::Profile)).is_null())
                .to_owned(),
        )
        // Nothing written is no error: the debtor's file keeps its name.
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}
