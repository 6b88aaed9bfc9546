use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiClients {
    Table,
    ClientId,
    SecretHash,
    Tenant,
    Role,
    Partner,
    Groups,
    CreatedAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ApiClients as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(string(C::ClientId).primary_key())
                    .col(string(C::SecretHash))
                    .col(string(C::Tenant))
                    .col(string(C::Role))
                    .col(string_null(C::Partner))
                    .col(text(C::Groups))
                    .col(timestamp_with_time_zone(C::CreatedAt))
                    .col(timestamp_with_time_zone_null(C::RevokedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_api_clients_tenant")
                    .table(C::Table)
                    .col(C::Tenant)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApiClients::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
