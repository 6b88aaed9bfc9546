use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProcessDefinitions {
    Table,
    Id,
    ProcessId,
    Version,
    ContentHash,
    BpmnXml,
    DeployedBy,
    DeployedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ProcessDefinitions as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(big_pk_auto(T::Id))
                    .col(string(T::ProcessId))
                    .col(integer(T::Version))
                    .col(string(T::ContentHash))
                    .col(text(T::BpmnXml))
                    .col(string(T::DeployedBy))
                    .col(timestamp_with_time_zone(T::DeployedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_process_definitions_process_id_version")
                    .table(T::Table)
                    .col(T::ProcessId)
                    .col(T::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_process_definitions_process_id_content_hash")
                    .table(T::Table)
                    .col(T::ProcessId)
                    .col(T::ContentHash)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProcessDefinitions::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
