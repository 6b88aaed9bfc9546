use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Alg,
    PrivateKeyPem,
    PublicJwk,
    CreatedAt,
    RetiredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use SigningKeys as K;
        manager
            .create_table(
                Table::create()
                    .table(K::Table)
                    .col(string(K::Kid).primary_key())
                    .col(string(K::Alg))
                    .col(text(K::PrivateKeyPem))
                    .col(text(K::PublicJwk))
                    .col(timestamp_with_time_zone(K::CreatedAt))
                    .col(timestamp_with_time_zone_null(K::RetiredAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SigningKeys::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
