use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    CaseId,
    Tenant,
    ExternalRef,
    DefinitionId,
    ProcessId,
    ProcessVersion,
    Stage,
    Status,
    Seq,
    Snapshot,
    SnapshotSeq,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProcessDefinitions {
    Table,
    Id,
}

fn index(name: &str, cols: [Cases; 2]) -> IndexCreateStatement {
    let [a, b] = cols;
    Index::create()
        .name(name)
        .table(Cases::Table)
        .col(a)
        .col(b)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Cases as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(string(T::CaseId).primary_key())
                    .col(string(T::Tenant))
                    .col(string_null(T::ExternalRef))
                    .col(big_integer(T::DefinitionId))
                    .col(string(T::ProcessId))
                    .col(integer(T::ProcessVersion))
                    .col(string_null(T::Stage))
                    .col(string(T::Status))
                    .col(big_integer(T::Seq))
                    .col(text_null(T::Snapshot))
                    .col(big_integer(T::SnapshotSeq))
                    .col(timestamp_with_time_zone(T::CreatedAt))
                    .col(timestamp_with_time_zone(T::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cases_definition_id")
                            .from(T::Table, T::DefinitionId)
                            .to(ProcessDefinitions::Table, ProcessDefinitions::Id)
                            // NO ACTION, not RESTRICT: SQLite reports a RESTRICT
                            // failure with a trigger error code, NO ACTION with the
                            // foreign-key code that `is_foreign_key_violation` knows.
                            .on_update(ForeignKeyAction::NoAction)
                            .on_delete(ForeignKeyAction::NoAction),
                    )
                    .to_owned(),
            )
            .await?;
        let unique = index("ux_cases_tenant_external_ref", [T::Tenant, T::ExternalRef])
            .unique()
            .to_owned();
        manager.create_index(unique).await?;
        manager
            .create_index(index("ix_cases_tenant_status", [T::Tenant, T::Status]))
            .await?;
        manager
            .create_index(index("ix_cases_tenant_stage", [T::Tenant, T::Stage]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Cases::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
