//! One-off data maintenance the server runs at start (carrying legacy `amountDue` into
//! accounts), remembered once finished so later starts skip it.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MaintenanceRuns {
    Table,
    Name,
    FinishedAt,
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use MaintenanceRuns as M;
        manager
            .create_table(
                Table::create()
                    .table(M::Table)
                    .col(string(M::Name).primary_key())
                    .col(timestamp_with_time_zone(M::FinishedAt))
                    .col(text(M::Detail))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MaintenanceRuns::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
