//! Debtors' files: the changes that make each debtor (registered, contacts, consents,
//! flags, related parties) as a hash-chained list per debtor, and the debtor's current
//! state beside its row. Existing debtors keep their id and name and have no file until
//! one is registered for them (`profile` null, `version` 0).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Debtors {
    Table,
    Kind,
    Profile,
    Version,
}

#[derive(DeriveIden)]
enum DebtorChanges {
    Table,
    Tenant,
    DebtorId,
    Seq,
    RecordedAt,
    Actor,
    Change,
    RequestKey,
    PrevHash,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use DebtorChanges as C;
        // SQLite alters one column per statement.
        for mut col in [
            string_null(Debtors::Kind),
            text_null(Debtors::Profile),
            big_integer(Debtors::Version).default(0).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Debtors::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(string(C::Tenant))
                    .col(string(C::DebtorId))
                    .col(big_integer(C::Seq))
                    .col(timestamp_with_time_zone(C::RecordedAt))
                    .col(string(C::Actor))
                    .col(text(C::Change))
                    .col(string_null(C::RequestKey))
                    .col(string(C::PrevHash))
                    .col(string(C::Hash))
                    .primary_key(Index::create().col(C::Tenant).col(C::DebtorId).col(C::Seq))
                    .to_owned(),
            )
            .await?;
        // A retried request finds what it did; two racing retries cannot both apply.
        manager
            .create_index(
                Index::create()
                    .name("ux_debtor_changes_request_key")
                    .table(C::Table)
                    .col(C::Tenant)
                    .col(C::RequestKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DebtorChanges::Table).to_owned())
            .await?;
        for col in [Debtors::Kind, Debtors::Profile, Debtors::Version] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Debtors::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
