use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContactTemplates {
    Table,
    Tenant,
    CreditorId,
    Channel,
    Name,
    Language,
    Version,
    Subject,
    Body,
    CreatedAt,
    CreatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ContactTemplates as T;
        // Versions are immutable: each save inserts the next version, and the key makes
        // two saves racing for the same number fail instead of both winning.
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(string(T::Tenant))
                    .col(string(T::CreditorId))
                    .col(string(T::Channel))
                    .col(string(T::Name))
                    .col(string(T::Language))
                    .col(integer(T::Version))
                    .col(text_null(T::Subject))
                    .col(text(T::Body))
                    .col(timestamp_with_time_zone(T::CreatedAt))
                    .col(string(T::CreatedBy))
                    .primary_key(
                        Index::create()
                            .col(T::Tenant)
                            .col(T::CreditorId)
                            .col(T::Channel)
                            .col(T::Name)
                            .col(T::Language)
                            .col(T::Version),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ContactTemplates::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
