use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseNotes {
    Table,
    CaseId,
    Seq,
    Tenant,
    TaskId,
    Kind,
    Author,
    Text,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use CaseNotes as N;
        manager
            .create_table(
                Table::create()
                    .table(N::Table)
                    .col(string(N::CaseId))
                    .col(big_integer(N::Seq))
                    .col(string(N::Tenant))
                    .col(big_integer_null(N::TaskId))
                    .col(string(N::Kind))
                    .col(string(N::Author))
                    .col(text(N::Text))
                    .col(timestamp_with_time_zone(N::CreatedAt))
                    .primary_key(Index::create().col(N::CaseId).col(N::Seq))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CaseNotes::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
