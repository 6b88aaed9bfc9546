//! Commissions and remittances: a partner's contract (`partners.contract`, JSON of
//! `collections::commission::Contract`: rates by stage or debt-age band, fixed fees per
//! legal milestone; none: no commission), the remittances reconciled against its
//! reported payments (one row per remittance reference, so a repeat is recognised), and
//! the monthly statements rendered as PDF (the object in the document store).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Partners {
    Table,
    Contract,
}

#[derive(DeriveIden, Clone, Copy)]
enum PartnerRemittances {
    Table,
    Tenant,
    PartnerId,
    Reference,
    Lines,
    ReconciledAt,
    ReconciledBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum PartnerStatements {
    Table,
    StatementId,
    Tenant,
    PartnerId,
    Month,
    ObjectKey,
    Sha256,
    SizeBytes,
    CreatedAt,
    CreatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Partners::Table)
                    .add_column(text_null(Partners::Contract))
                    .to_owned(),
            )
            .await?;
        use PartnerRemittances as R;
        // The key is the guard: the same remittance twice finds its row.
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(string(R::Tenant))
                    .col(string(R::PartnerId))
                    .col(string(R::Reference))
                    .col(text(R::Lines))
                    .col(timestamp_with_time_zone(R::ReconciledAt))
                    .col(string(R::ReconciledBy))
                    .primary_key(
                        Index::create()
                            .col(R::Tenant)
                            .col(R::PartnerId)
                            .col(R::Reference),
                    )
                    .to_owned(),
            )
            .await?;
        use PartnerStatements as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(string(S::StatementId).primary_key())
                    .col(string(S::Tenant))
                    .col(string(S::PartnerId))
                    .col(string(S::Month))
                    .col(string(S::ObjectKey))
                    .col(string(S::Sha256))
                    .col(big_integer(S::SizeBytes))
                    .col(timestamp_with_time_zone(S::CreatedAt))
                    .col(string(S::CreatedBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("partner_statements_by_month")
                    .table(S::Table)
                    .col(S::Tenant)
                    .col(S::PartnerId)
                    .col(S::Month)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PartnerStatements::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PartnerRemittances::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Partners::Table)
                    .drop_column(Partners::Contract)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
