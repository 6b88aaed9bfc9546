//! Allocation rules per partner (`partners.allocation`, JSON: jurisdictions, capacity,
//! weight; none means any jurisdiction, no limit, weight 1): which partner a case goes
//! to when nobody names one.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Partners {
    Table,
    Allocation,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Partners::Table)
                    .add_column(text_null(Partners::Allocation))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Partners::Table)
                    .drop_column(Partners::Allocation)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
