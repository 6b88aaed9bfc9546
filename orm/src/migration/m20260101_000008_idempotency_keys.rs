use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Tenant,
    Key,
    CaseId,
    Seq,
    Response,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use IdempotencyKeys as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(string(T::Tenant))
                    .col(string(T::Key))
                    .col(string(T::CaseId))
                    .col(big_integer(T::Seq))
                    .col(text(T::Response))
                    .col(timestamp_with_time_zone(T::CreatedAt))
                    .primary_key(Index::create().col(T::Tenant).col(T::Key))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
