//! Queues and agendas read the unclaimed tasks of one candidate in rank order. The
//! index `(tenant, candidate, assignee, rank)` cannot give that order to PostgreSQL for
//! `assignee IS NULL` (only `=` conditions let the planner skip a sort), so with a
//! million open tasks it sorted them all. A partial index on the unclaimed rows is an
//! ordered range scan on both databases.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_task_candidates_unclaimed ON task_candidates \
                 (tenant, candidate, rank) WHERE assignee IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX ix_task_candidates_unclaimed")
            .await?;
        Ok(())
    }
}
