//! Who accessed which document version, when and how: the auditors' access log.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DocumentAccess {
    Table,
    Id,
    Tenant,
    CaseId,
    DocumentId,
    VersionId,
    Actor,
    Action,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use DocumentAccess as A;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(big_integer(A::Id).auto_increment().primary_key())
                    .col(string(A::Tenant))
                    .col(string(A::CaseId))
                    .col(string(A::DocumentId))
                    .col(string(A::VersionId))
                    .col(string(A::Actor))
                    .col(string(A::Action))
                    .col(timestamp_with_time_zone(A::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("document_access_document")
                    .table(A::Table)
                    .col(A::DocumentId)
                    .col(A::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DocumentAccess::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
