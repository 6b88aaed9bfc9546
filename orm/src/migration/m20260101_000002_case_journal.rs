use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseJournal {
    Table,
    CaseId,
    Seq,
    EventType,
    Payload,
    Actor,
    RecordedAt,
    PrevHash,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use CaseJournal as T;
        // The primary key (case_id, seq) is the optimistic-concurrency guard.
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(string(T::CaseId))
                    .col(big_integer(T::Seq))
                    .col(string(T::EventType))
                    .col(text(T::Payload))
                    .col(string(T::Actor))
                    .col(timestamp_with_time_zone(T::RecordedAt))
                    .col(string(T::PrevHash))
                    .col(string(T::Hash))
                    .primary_key(Index::create().col(T::CaseId).col(T::Seq))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CaseJournal::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
