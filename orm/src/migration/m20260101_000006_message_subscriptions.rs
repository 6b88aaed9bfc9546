use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MessageSubscriptions {
    Table,
    CaseId,
    SubscriptionId,
    Name,
    CorrelationKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use MessageSubscriptions as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(string(T::CaseId))
                    .col(big_integer(T::SubscriptionId))
                    .col(string(T::Name))
                    .col(string_null(T::CorrelationKey))
                    .primary_key(Index::create().col(T::CaseId).col(T::SubscriptionId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_message_subscriptions_name_correlation_key")
                    .table(T::Table)
                    .col(T::Name)
                    .col(T::CorrelationKey)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MessageSubscriptions::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
