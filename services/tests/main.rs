//! Integration tests of the case runtime, on SQLite and (when
//! `RECOBRO_TEST_DATABASE_URL` is set, as in CI) PostgreSQL.

mod support;

mod creditors;
mod debtors;
mod ledger;
mod legacy;
mod residency;
mod runtime;
mod store;
mod timers;
