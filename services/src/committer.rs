//! Group commit: appends from many case actors share one transaction, so throughput is
//! not capped at one fsync per transition. Requests that arrive while a transaction is in
//! flight form the next batch; `max_delay` may hold a batch open a little longer.
//!
//! On PostgreSQL several writers take turns gathering batches, so one batch is being
//! built and sent while another waits for its fsync. A case has at most one commit in
//! flight (its actor awaits each), so concurrent batches never touch the same case.
//! SQLite has one writer at a time whatever we do: there a second writer would only
//! queue on the database lock.

use std::time::Duration;

use std::sync::Arc;

use sea_orm::DbBackend;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::time::Instant;

use crate::store::{Commit, Store, StoreError, Writer};

#[derive(Debug, Clone, Copy)]
pub struct GroupCommit {
    pub max_batch: usize,
    pub max_delay: Duration,
    /// Concurrent writer transactions on PostgreSQL (always one on SQLite).
    pub writers: usize,
    /// On PostgreSQL, write a batch of plain transitions as one statement (the default);
    /// off, every batch goes statement by statement, as on SQLite. For comparison.
    pub one_statement: bool,
}

impl Default for GroupCommit {
    fn default() -> Self {
        Self {
            max_batch: 256,
            max_delay: Duration::ZERO,
            writers: 4,
            one_statement: true,
        }
    }
}

type Reply = oneshot::Sender<Result<(), StoreError>>;

#[derive(Debug, Clone)]
pub struct Committer {
    tx: mpsc::Sender<(Commit, Reply)>,
}

impl Committer {
    /// Starts the writer task on the current tokio runtime.
    pub fn spawn(store: Store, cfg: GroupCommit) -> Self {
        let (tx, rx) = mpsc::channel(cfg.max_batch.max(1) * 4);
        let writers = match store.db().get_database_backend() {
            DbBackend::Postgres => cfg.writers.max(1),
            _ => 1,
        };
        // Each writer holds a connection for single-statement batches; as many again serve
        // the batches written statement by statement.
        let store = match orm::writer_connections(store.db(), 2 * writers as u32) {
            Some(db) => Store::new(db),
            None => store,
        };
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..writers {
            tokio::spawn(run(store.clone(), cfg, rx.clone()));
        }
        Self { tx }
    }

    /// Resolves once the commit is durable (or failed as a whole).
    pub async fn commit(&self, c: Commit) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((c, reply))
            .await
            .map_err(|_| StoreError::Corrupt("the journal writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Corrupt("the journal writer has stopped".into()))?
    }
}

async fn run(store: Store, cfg: GroupCommit, rx: Arc<Mutex<mpsc::Receiver<(Commit, Reply)>>>) {
    let mut writer = Writer::new(store);
    while let Some(batch) = next_batch(&rx, cfg).await {
        write(&mut writer, cfg, batch).await;
    }
}

/// Waits for a first request, then takes what else is queued (within the batch limits).
/// The lock is held only while gathering, so another writer can gather the next batch
/// while this one is written.
async fn next_batch(
    rx: &Mutex<mpsc::Receiver<(Commit, Reply)>>,
    cfg: GroupCommit,
) -> Option<Vec<(Commit, Reply)>> {
    let mut rx = rx.lock().await;
    let first = rx.recv().await?;
    let mut batch = vec![first];
    let deadline = Instant::now() + cfg.max_delay;
    while batch.len() < cfg.max_batch {
        match rx.try_recv() {
            Ok(r) => batch.push(r),
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) if cfg.max_delay.is_zero() => break,
            Err(mpsc::error::TryRecvError::Empty) => {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(r)) => batch.push(r),
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
    Some(batch)
}

async fn commit(writer: &mut Writer, cfg: GroupCommit, batch: &[Commit]) -> Result<(), StoreError> {
    if cfg.one_statement {
        writer.commit_batch(batch).await
    } else {
        writer.commit_batch_in_steps(batch).await
    }
}

async fn write(writer: &mut Writer, cfg: GroupCommit, batch: Vec<(Commit, Reply)>) {
    let (commits, replies): (Vec<Commit>, Vec<Reply>) = batch.into_iter().unzip();
    match commit(writer, cfg, &commits).await {
        Ok(()) => {
            for r in replies {
                let _ = r.send(Ok(()));
            }
        }
        // One loser of a concurrency race must not fail its batch-mates: retry each
        // alone so only the conflicting ones see the error.
        Err(_) if commits.len() > 1 => {
            for (c, r) in commits.into_iter().zip(replies) {
                let res = commit(writer, cfg, std::slice::from_ref(&c)).await;
                let _ = r.send(res);
            }
        }
        Err(e) => {
            if let Some(r) = replies.into_iter().next() {
                let _ = r.send(Err(e));
            }
        }
    }
}
