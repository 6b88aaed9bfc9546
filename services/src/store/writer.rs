//! A group-commit writer's hold on the store.

use std::sync::Arc;

use sea_orm::sqlx::Postgres;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::{DbBackend, DbErr, RuntimeErr};

use super::{Commit, Store, StoreError, one_statement};

/// Writes group-committed batches: on PostgreSQL a batch that [fits](one_statement::fits)
/// as one statement, anything else statement by statement. Keeps its PostgreSQL
/// connection from one single-statement batch to the next. sqlx pings a connection given back to its pool
/// (one more round trip and a spawned task per batch), and between two processes on two
/// cores that round trip was a visible part of every batch's latency.
///
/// The store's pool must have a connection to spare beyond those held, for the batches
/// that go statement by statement.
pub struct Writer {
    store: Store,
    held: Option<PoolConnection<Postgres>>,
}

impl Writer {
    pub fn new(store: Store) -> Self {
        Self { store, held: None }
    }

    pub async fn commit_batch(&mut self, batch: &[Commit]) -> Result<(), StoreError> {
        let db = self.store.db();
        if db.get_database_backend() != DbBackend::Postgres || !one_statement::fits(batch) {
            return self.store.commit_batch_in_steps(batch).await;
        }
        let conn = match &mut self.held {
            Some(conn) => conn,
            None => self.held.insert(
                db.get_postgres_connection_pool()
                    .acquire()
                    .await
                    .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))?,
            ),
        };
        let result = one_statement::write(conn, batch).await;
        // A lost race leaves the connection as good as it was; after anything else it goes
        // back to the pool, whose ping decides whether it is still usable.
        if matches!(result, Err(ref e) if !matches!(e, StoreError::Conflict(_))) {
            self.held = None;
        }
        result
    }

    pub async fn commit_batch_in_steps(&self, batch: &[Commit]) -> Result<(), StoreError> {
        self.store.commit_batch_in_steps(batch).await
    }
}
