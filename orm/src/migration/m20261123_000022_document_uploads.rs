//! Uploads in flight: written before any byte reaches the object store, removed when the
//! document is recorded. What is left behind (a crash, an abandoned presigned upload) is
//! what the sweeper cleans up, so no object is ever stored without a row pointing at it.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DocumentUploads {
    Table,
    UploadId,
    Tenant,
    CaseId,
    DocumentId,
    Version,
    Kind,
    FileName,
    RetentionClass,
    /// `streaming` (through Recobro) or `presigned` (straight to the store).
    Mode,
    DeclaredSize,
    DeclaredSha256,
    ObjectKey,
    RequestedBy,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use DocumentUploads as U;
        manager
            .create_table(
                Table::create()
                    .table(U::Table)
                    .col(string(U::UploadId).primary_key())
                    .col(string(U::Tenant))
                    .col(string(U::CaseId))
                    .col(string(U::DocumentId))
                    .col(integer(U::Version))
                    .col(string(U::Kind))
                    .col(string(U::FileName))
                    .col(string(U::RetentionClass))
                    .col(string(U::Mode))
                    .col(big_integer_null(U::DeclaredSize))
                    .col(string_null(U::DeclaredSha256))
                    .col(string(U::ObjectKey))
                    .col(string(U::RequestedBy))
                    .col(timestamp_with_time_zone(U::CreatedAt))
                    .col(timestamp_with_time_zone(U::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("document_uploads_expiry")
                    .table(U::Table)
                    .col(U::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DocumentUploads::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
