//! Outbound webhooks to partners (decision 0025). A partner event is an outbox row
//! (`kind = 'partner_event'`) written in its case's transaction, naming its partner
//! (`partner_id`, for the partner's delivery log); these columns say how
//! its delivery ended (`outcome`: `delivered`, `dead_lettered`, or why it was not sent)
//! and when it was last queued again by hand (`replayed_at`, which restarts its 24 hours
//! of retries). Each HTTP attempt is logged in `webhook_attempts`.
//!
//! The two partial indexes hold only events still to be delivered: the oldest first, and
//! per case (an event waits while an older one of its case is undelivered). Queries must
//! repeat their predicates literally (decision 0010).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Outbox {
    Table,
    PartnerId,
    Outcome,
    ReplayedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Partners {
    Table,
    Webhook,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookAttempts {
    Table,
    Id,
    OutboxId,
    PartnerId,
    Attempt,
    AttemptedAt,
    Url,
    StatusCode,
    Outcome,
    Error,
    DurationMs,
}

const PENDING: &str = "kind = 'partner_event' AND outcome IS NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(string_null(Outbox::PartnerId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(string_null(Outbox::Outcome))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(timestamp_with_time_zone_null(Outbox::ReplayedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Partners::Table)
                    .add_column(text_null(Partners::Webhook))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE INDEX ix_outbox_pending_partner_events ON outbox (id) WHERE {PENDING}"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX ix_outbox_pending_partner_events_by_case ON outbox (case_id, id) \
             WHERE {PENDING}"
        ))
        .await?;
        // The delivery log lists a partner's events, newest first.
        db.execute_unprepared(
            "CREATE INDEX ix_outbox_partner_events ON outbox (partner_id, id) \
             WHERE partner_id IS NOT NULL",
        )
        .await?;
        use WebhookAttempts as A;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(big_integer(A::Id).auto_increment().primary_key())
                    .col(big_integer(A::OutboxId))
                    .col(string(A::PartnerId))
                    .col(integer(A::Attempt))
                    .col(timestamp_with_time_zone(A::AttemptedAt))
                    .col(text(A::Url))
                    .col(integer_null(A::StatusCode))
                    .col(string(A::Outcome))
                    .col(text_null(A::Error))
                    .col(big_integer(A::DurationMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_attempts_event")
                    .table(A::Table)
                    .col(A::OutboxId)
                    .col(A::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookAttempts::Table).to_owned())
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX ix_outbox_partner_events")
            .await?;
        db.execute_unprepared("DROP INDEX ix_outbox_pending_partner_events_by_case")
            .await?;
        db.execute_unprepared("DROP INDEX ix_outbox_pending_partner_events")
            .await?;
        for col in [Outbox::PartnerId, Outbox::Outcome, Outbox::ReplayedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Outbox::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Partners::Table)
                    .drop_column(Partners::Webhook)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
