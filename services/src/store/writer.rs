//! A group-commit writer's hold on the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::sqlx::Postgres;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::{DbBackend, DbErr, RuntimeErr};

use super::{Commit, Store, StoreError, one_statement};

/// Writes group-committed batches: on PostgreSQL a batch that [fits](one_statement::fits)
/// as one statement, anything else statement by statement. Keeps its PostgreSQL
/// connection from one single-statement batch to the next. sqlx pings a connection given
/// back to its pool (one more round trip and a spawned task per batch), and between two
/// processes on two cores that round trip was a visible part of every batch's latency.
///
/// The store's pool must have a connection to spare beyond those held, for the batches
/// that go statement by statement.
pub struct Writer {
    store: Store,
    held: Option<Held>,
    checked_after: Duration,
}

struct Held {
    conn: PoolConnection<Postgres>,
    last_used: Instant,
}

/// How long a held connection may sit unused before it goes back through the pool's
/// check: a server's `idle_session_timeout`, a proxy or a firewall may have dropped it
/// meanwhile, and the first command after a quiet night must not fail for that. Busy
/// writers never wait this long; an idle one pays one ping.
pub const CHECKED_AFTER: Duration = Duration::from_secs(1);

impl Writer {
    pub fn new(store: Store) -> Self {
        Self::checked_after(store, CHECKED_AFTER)
    }

    /// A writer that has its connection checked after `idle` unused.
    pub fn checked_after(store: Store, idle: Duration) -> Self {
        Self {
            store,
            held: None,
            checked_after: idle,
        }
    }

    pub async fn commit_batch(&mut self, batch: &[Commit]) -> Result<(), StoreError> {
        let db = self.store.db();
        if db.get_database_backend() != DbBackend::Postgres || !one_statement::fits(batch) {
            return self.store.commit_batch_in_steps(batch).await;
        }
        if self
            .held
            .as_ref()
            .is_some_and(|h| h.last_used.elapsed() >= self.checked_after)
        {
            self.held = None;
        }
        let held = match &mut self.held {
            Some(held) => held,
            None => self.held.insert(Held {
                conn: db
                    .get_postgres_connection_pool()
                    .acquire()
                    .await
                    .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))?,
                last_used: Instant::now(),
            }),
        };
        let result = one_statement::write(&mut held.conn, batch).await;
        held.last_used = Instant::now();
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
