//! Integration tests of the `orm` crate: every scenario runs on SQLite (a fresh temp file)
//! and on PostgreSQL (a fresh database) when `RECOBRO_TEST_DATABASE_URL` is set, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`. CI always sets it; without it the
//! PostgreSQL variants print a note and return early (they pass without checking).

mod support;

mod connections;
mod constraints;
mod migrations;
mod round_trip;
