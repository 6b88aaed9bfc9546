//! A job's type as a column of its outbox row. Both the in-process dispatcher and the
//! worker API read waiting jobs by type; with the type only inside the JSON payload they
//! read the oldest rows of every type and filtered afterwards, so a hundred jobs waiting
//! for an external worker nobody runs hid the built-in channels' jobs behind them (and
//! five hundred hid one worker type's jobs from its workers). The partial index holds
//! waiting rows only, ordered by id within a type, so a delivered job leaves it.
//! Queries must say `delivered_at IS NULL` as a literal (decision 0010).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Outbox {
    Table,
    JobType,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(string_null(Outbox::JobType))
                    .to_owned(),
            )
            .await?;
        let backfill = match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                "UPDATE outbox SET job_type = payload::jsonb ->> 'job_type' WHERE kind = 'job'"
            }
            _ => {
                "UPDATE outbox SET job_type = json_extract(payload, '$.job_type') \
                  WHERE kind = 'job'"
            }
        };
        let db = manager.get_connection();
        db.execute_unprepared(backfill).await?;
        db.execute_unprepared(
            "CREATE INDEX ix_outbox_waiting_jobs ON outbox (job_type, id) \
             WHERE delivered_at IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX ix_outbox_waiting_jobs")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .drop_column(Outbox::JobType)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
