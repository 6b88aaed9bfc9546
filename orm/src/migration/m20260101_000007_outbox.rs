use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    CaseId,
    Seq,
    Kind,
    Payload,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Outbox as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(big_pk_auto(T::Id))
                    .col(string(T::CaseId))
                    .col(big_integer(T::Seq))
                    .col(string(T::Kind))
                    .col(text(T::Payload))
                    .col(timestamp_with_time_zone(T::CreatedAt))
                    .col(integer(T::Attempts).default(0))
                    .col(timestamp_with_time_zone(T::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(T::DeliveredAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_delivered_at_next_attempt_at")
                    .table(T::Table)
                    .col(T::DeliveredAt)
                    .col(T::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
