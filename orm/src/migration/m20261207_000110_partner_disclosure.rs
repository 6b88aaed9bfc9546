//! Data minimisation for partners: what each partner may read of a case, by stage
//! (`partners.disclosure`, JSON; empty means the defaults of its kind), and the log of
//! every read of a debtor's personal data by a partner, for auditors.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Partners {
    Table,
    Disclosure,
}

#[derive(DeriveIden, Clone, Copy)]
enum PartnerReads {
    Table,
    Id,
    Tenant,
    PartnerId,
    Actor,
    CaseId,
    DebtorId,
    Data,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Partners::Table)
                    .add_column(text_null(Partners::Disclosure))
                    .to_owned(),
            )
            .await?;
        use PartnerReads as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(big_integer(R::Id).auto_increment().primary_key())
                    .col(string(R::Tenant))
                    .col(string(R::PartnerId))
                    .col(string(R::Actor))
                    .col(string_null(R::CaseId))
                    .col(string_null(R::DebtorId))
                    .col(string(R::Data))
                    .col(timestamp_with_time_zone(R::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_partner_reads_case")
                    .table(R::Table)
                    .col(R::Tenant)
                    .col(R::CaseId)
                    .col(R::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_partner_reads_partner")
                    .table(R::Table)
                    .col(R::Tenant)
                    .col(R::PartnerId)
                    .col(R::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PartnerReads::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Partners::Table)
                    .drop_column(Partners::Disclosure)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
