//! Schema migrations, one per table (or per change to existing tables), applied in order by [`Migrator`].
//!
//! Migrations are frozen once released: change the schema by adding a migration, never by
//! editing one. Each migration runs in a transaction on both back-ends (SQLite and
//! PostgreSQL both have transactional DDL), so a failed migration leaves no half-built
//! table behind. Every migration has a working `down`.

// `#[async_trait]` needs `&SchemaManager` with its lifetime elided (writing `<'_>` makes
// the impl's lifetimes late-bound and no longer match `MigrationTrait`).
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

mod m20260101_000001_process_definitions;
mod m20260101_000002_case_journal;
mod m20260101_000003_cases;
mod m20260101_000004_tasks;
mod m20260101_000005_timers;
mod m20260101_000006_message_subscriptions;
mod m20260101_000007_outbox;
mod m20260101_000008_idempotency_keys;
mod m20261123_000001_debtors;
mod m20261123_000002_partners;
mod m20261123_000003_case_notes;
mod m20261123_000004_task_candidates;
mod m20261123_000005_case_desk_columns;
mod m20261123_000010_signing_keys;
mod m20261123_000011_api_clients;
mod m20261123_000021_documents;
mod m20261123_000022_document_uploads;
mod m20261123_000023_document_access;
mod m20261123_000030_unclaimed_queue_index;
mod m20261205_000031_drop_unused_task_indexes;
mod m20261205_000032_open_task_indexes;
mod m20261207_000040_debtor_files;
mod m20261207_000050_creditor_settings;
mod m20261207_000060_maintenance_runs;
mod m20261207_000070_drop_case_amount_index;
mod m20261207_000080_job_locks;
mod m20261207_000090_contact_templates;
mod m20261207_000100_outbox_job_type;
mod m20261207_000110_partner_disclosure;
mod m20261207_000120_partner_allocation;
mod m20261208_000130_partner_webhooks;
mod m20261208_000140_partner_api;
mod m20261208_000150_partner_contract;

/// Names of the tables the migrations create, in creation order.
pub const TABLES: [&str; 25] = [
    "process_definitions",
    "case_journal",
    "cases",
    "tasks",
    "timers",
    "message_subscriptions",
    "outbox",
    "idempotency_keys",
    "debtors",
    "partners",
    "case_notes",
    "task_candidates",
    "signing_keys",
    "api_clients",
    "documents",
    "document_uploads",
    "document_access",
    "debtor_changes",
    "creditor_settings",
    "maintenance_runs",
    "contact_templates",
    "partner_reads",
    "webhook_attempts",
    "partner_remittances",
    "partner_statements",
];

/// All migrations of the Recobro schema.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_process_definitions::Migration),
            Box::new(m20260101_000002_case_journal::Migration),
            Box::new(m20260101_000003_cases::Migration),
            Box::new(m20260101_000004_tasks::Migration),
            Box::new(m20260101_000005_timers::Migration),
            Box::new(m20260101_000006_message_subscriptions::Migration),
            Box::new(m20260101_000007_outbox::Migration),
            Box::new(m20260101_000008_idempotency_keys::Migration),
            Box::new(m20261123_000001_debtors::Migration),
            Box::new(m20261123_000002_partners::Migration),
            Box::new(m20261123_000003_case_notes::Migration),
            Box::new(m20261123_000004_task_candidates::Migration),
            Box::new(m20261123_000005_case_desk_columns::Migration),
            Box::new(m20261123_000010_signing_keys::Migration),
            Box::new(m20261123_000011_api_clients::Migration),
            Box::new(m20261123_000021_documents::Migration),
            Box::new(m20261123_000022_document_uploads::Migration),
            Box::new(m20261123_000023_document_access::Migration),
            Box::new(m20261123_000030_unclaimed_queue_index::Migration),
            Box::new(m20261205_000031_drop_unused_task_indexes::Migration),
            Box::new(m20261205_000032_open_task_indexes::Migration),
            Box::new(m20261207_000040_debtor_files::Migration),
            Box::new(m20261207_000050_creditor_settings::Migration),
            Box::new(m20261207_000060_maintenance_runs::Migration),
            Box::new(m20261207_000070_drop_case_amount_index::Migration),
            Box::new(m20261207_000080_job_locks::Migration),
            Box::new(m20261207_000090_contact_templates::Migration),
            Box::new(m20261207_000100_outbox_job_type::Migration),
            Box::new(m20261207_000110_partner_disclosure::Migration),
            Box::new(m20261207_000120_partner_allocation::Migration),
            Box::new(m20261208_000130_partner_webhooks::Migration),
            Box::new(m20261208_000140_partner_api::Migration),
            Box::new(m20261208_000150_partner_contract::Migration),
        ]
    }
}
