use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Partners {
    Table,
    PartnerId,
    Tenant,
    Name,
    Kind,
    Active,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Partners as P;
        manager
            .create_table(
                Table::create()
                    .table(P::Table)
                    .col(string(P::PartnerId).primary_key())
                    .col(string(P::Tenant))
                    .col(string(P::Name))
                    .col(string(P::Kind))
                    .col(boolean(P::Active))
                    .col(timestamp_with_time_zone(P::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_partners_tenant_name")
                    .table(P::Table)
                    .col(P::Tenant)
                    .col(P::Name)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Partners::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
