use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One row per open task and candidate (a group, or `user:<id>`), so queues and agendas
/// are index range scans in rank order.
#[derive(DeriveIden)]
enum TaskCandidates {
    Table,
    CaseId,
    TaskId,
    Candidate,
    Tenant,
    Assignee,
    Rank,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use TaskCandidates as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(string(C::CaseId))
                    .col(big_integer(C::TaskId))
                    .col(string(C::Candidate))
                    .col(string(C::Tenant))
                    .col(string_null(C::Assignee))
                    .col(big_integer(C::Rank))
                    .primary_key(
                        Index::create()
                            .col(C::CaseId)
                            .col(C::TaskId)
                            .col(C::Candidate),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_task_candidates_queue")
                    .table(C::Table)
                    .col(C::Tenant)
                    .col(C::Candidate)
                    .col(C::Assignee)
                    .col(C::Rank)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TaskCandidates::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
