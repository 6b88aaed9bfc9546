use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Debtors {
    Table,
    Tenant,
    DebtorId,
    Name,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Debtors as D;
        manager
            .create_table(
                Table::create()
                    .table(D::Table)
                    .col(string(D::Tenant))
                    .col(string(D::DebtorId))
                    .col(string(D::Name))
                    .col(timestamp_with_time_zone(D::CreatedAt))
                    .primary_key(Index::create().col(D::Tenant).col(D::DebtorId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Debtors::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
