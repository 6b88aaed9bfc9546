use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tasks {
    Table,
    CaseId,
    TaskId,
    Tenant,
    ElementId,
    Name,
    Status,
    Assignee,
    CandidateGroups,
    CandidateUsers,
    Priority,
    DueAt,
    Stage,
    CreatedAt,
    CompletedAt,
    CompletedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Tasks as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(string(T::CaseId))
                    .col(big_integer(T::TaskId))
                    .col(string(T::Tenant))
                    .col(string(T::ElementId))
                    .col(string_null(T::Name))
                    .col(string(T::Status))
                    .col(string_null(T::Assignee))
                    .col(text(T::CandidateGroups))
                    .col(text(T::CandidateUsers))
                    .col(integer(T::Priority))
                    .col(timestamp_with_time_zone_null(T::DueAt))
                    .col(string_null(T::Stage))
                    .col(timestamp_with_time_zone(T::CreatedAt))
                    .col(timestamp_with_time_zone_null(T::CompletedAt))
                    .col(string_null(T::CompletedBy))
                    .primary_key(Index::create().col(T::CaseId).col(T::TaskId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_tasks_tenant_status_priority")
                    .table(T::Table)
                    .col(T::Tenant)
                    .col(T::Status)
                    .col(T::Priority)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_tasks_assignee_status")
                    .table(T::Table)
                    .col(T::Assignee)
                    .col(T::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tasks::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
