use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CreditorSettings {
    Table,
    Tenant,
    CreditorId,
    AllocationOrder,
    PromiseGraceDays,
    PlanGraceDays,
    SettlementLimitPercent,
    TimeZone,
    Jurisdiction,
    PartnersTakePayments,
    UpdatedAt,
    UpdatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use CreditorSettings as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(string(C::Tenant))
                    .col(string(C::CreditorId))
                    .col(string(C::AllocationOrder))
                    .col(integer(C::PromiseGraceDays))
                    .col(integer(C::PlanGraceDays))
                    .col(integer(C::SettlementLimitPercent))
                    .col(string(C::TimeZone))
                    .col(string_null(C::Jurisdiction))
                    .col(boolean(C::PartnersTakePayments))
                    .col(timestamp_with_time_zone(C::UpdatedAt))
                    .col(string(C::UpdatedBy))
                    .primary_key(Index::create().col(C::Tenant).col(C::CreditorId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CreditorSettings::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
