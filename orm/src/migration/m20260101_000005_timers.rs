use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Timers {
    Table,
    CaseId,
    TimerId,
    ElementId,
    DueAt,
    ClaimedBy,
    ClaimedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Timers as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(string(T::CaseId))
                    .col(big_integer(T::TimerId))
                    .col(string(T::ElementId))
                    .col(timestamp_with_time_zone(T::DueAt))
                    .col(string_null(T::ClaimedBy))
                    .col(timestamp_with_time_zone_null(T::ClaimedUntil))
                    .primary_key(Index::create().col(T::CaseId).col(T::TimerId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_timers_due_at")
                    .table(T::Table)
                    .col(T::DueAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Timers::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
