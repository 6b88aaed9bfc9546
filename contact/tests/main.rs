//! The contact crate's one integration-test binary. Scenarios run on SQLite and, when
//! `RECOBRO_TEST_DATABASE_URL` is set, on PostgreSQL.

mod support;
mod template_jobs;
mod templates;
