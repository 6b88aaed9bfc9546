//! Drops `ix_cases_tenant_amount` (tenant, amount due): every payment, reversal and
//! settlement changes a case's amount due, and an index on it makes each of those case-row
//! updates a non-HOT update in PostgreSQL — a new entry in every one of the table's nine
//! indexes, per payment. Without it the update is HOT (no indexed column changes), as a
//! process step's already is. Measured with `recobro bench payments`: over half of
//! PostgreSQL's CPU went to those index inserts. No query needs the index for its order:
//! the case list is ordered by (created_at, case_id) and served by
//! `ix_cases_tenant_created`; an amount range there is a filter on the rows that index
//! yields.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    Tenant,
    AmountDueMinor,
}

const NAME: &str = "ix_cases_tenant_amount";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table(Cases::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Cases::Table)
                    .col(Cases::Tenant)
                    .col(Cases::AmountDueMinor)
                    .to_owned(),
            )
            .await
    }
}
