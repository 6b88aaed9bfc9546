//! Case documents: one row per version of a logical document. The object itself lives in
//! the object store under `object_key`; the row is written only after the object is
//! stored and the `DocumentAdded` journal entry committed.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Documents {
    Table,
    VersionId,
    DocumentId,
    Version,
    Tenant,
    CaseId,
    Kind,
    FileName,
    ContentType,
    Size,
    Sha256,
    ObjectKey,
    RetentionClass,
    RetainUntil,
    LegalHold,
    Status,
    UploadedBy,
    CreatedAt,
    DeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Documents as D;
        manager
            .create_table(
                Table::create()
                    .table(D::Table)
                    .col(string(D::VersionId).primary_key())
                    .col(string(D::DocumentId))
                    .col(integer(D::Version))
                    .col(string(D::Tenant))
                    .col(string(D::CaseId))
                    .col(string(D::Kind))
                    .col(string(D::FileName))
                    .col(string(D::ContentType))
                    .col(big_integer(D::Size))
                    .col(string(D::Sha256))
                    .col(string(D::ObjectKey))
                    .col(string(D::RetentionClass))
                    .col(timestamp_with_time_zone(D::RetainUntil))
                    .col(boolean(D::LegalHold))
                    .col(string(D::Status))
                    .col(string(D::UploadedBy))
                    .col(timestamp_with_time_zone(D::CreatedAt))
                    .col(timestamp_with_time_zone_null(D::DeletedAt))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("documents_logical", vec![D::DocumentId, D::Version]),
            ("documents_object", vec![D::ObjectKey]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(D::Table).unique();
            for c in cols {
                idx.col(c);
            }
            manager.create_index(idx.to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("documents_case")
                    .table(D::Table)
                    .col(D::CaseId)
                    .col(D::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Documents::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
