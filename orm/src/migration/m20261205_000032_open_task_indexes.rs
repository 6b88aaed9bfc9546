//! The desk's task indexes hold open tasks only (`WHERE status = 'open'`): every query
//! they serve asks for open tasks, and a task is open for a short part of its life.
//! With `status` as a key column, closing a task wrote a new entry into both indexes
//! (the update cannot be HOT) that no query would ever read; now a closed task's new row
//! version goes into the primary key only, and the indexes stay the size of the open
//! work instead of growing with history. Queries must state `status = 'open'` as a
//! literal: PostgreSQL's generic plans cannot prove a partial index's predicate from a
//! parameter (decision 0010).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "DROP INDEX ix_tasks_assignee_rank",
            "DROP INDEX ix_tasks_partner_rank",
            "CREATE INDEX ix_tasks_open_assignee ON tasks (tenant, assignee, rank) \
             WHERE status = 'open'",
            "CREATE INDEX ix_tasks_open_partner ON tasks (tenant, partner, rank) \
             WHERE status = 'open'",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "DROP INDEX ix_tasks_open_assignee",
            "DROP INDEX ix_tasks_open_partner",
            "CREATE INDEX ix_tasks_assignee_rank ON tasks (tenant, assignee, status, rank)",
            "CREATE INDEX ix_tasks_partner_rank ON tasks (tenant, partner, status, rank)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
