//! One module per table: `Entity`, `Model`, `ActiveModel`, `Column` (and `Relation`).
//!
//! The entities describe the schema the migrations in [`crate::migration`] create; the
//! migrations are the source of truth (they are frozen, entities evolve with the code).
//! Timestamps are `DateTime<Utc>` (`timestamptz` on PostgreSQL, RFC 3339 text on SQLite,
//! which still compares in time order: see the `timers_due` test). PostgreSQL keeps
//! microseconds: truncate to microseconds before writing if a value must read back equal.
//! JSON columns are `text` holding canonical JSON, so both back-ends store the same bytes.

pub mod api_clients;
pub mod case_journal;
pub mod case_notes;
pub mod cases;
pub mod contact_templates;
pub mod creditor_settings;
pub mod debtor_changes;
pub mod debtors;
pub mod document_access;
pub mod document_uploads;
pub mod documents;
pub mod idempotency_keys;
pub mod maintenance_runs;
pub mod message_subscriptions;
pub mod outbox;
pub mod partner_reads;
pub mod partner_remittances;
pub mod partner_statements;
pub mod partners;
pub mod process_definitions;
pub mod signing_keys;
pub mod task_candidates;
pub mod tasks;
pub mod timers;
pub mod webhook_attempts;
