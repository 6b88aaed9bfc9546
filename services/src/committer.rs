//! Group commit: appends from many case actors share one transaction, so throughput is
//! not capped at one fsync per transition. Requests that arrive while a transaction is in
//! flight form the next batch; `max_delay` may hold a batch open a little longer.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::store::{Commit, Store, StoreError};

#[derive(Debug, Clone, Copy)]
pub struct GroupCommit {
    pub max_batch: usize,
    pub max_delay: Duration,
}

impl Default for GroupCommit {
    fn default() -> Self {
        Self {
            max_batch: 256,
            max_delay: Duration::ZERO,
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
        tokio::spawn(run(store, cfg, rx));
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

async fn run(store: Store, cfg: GroupCommit, mut rx: mpsc::Receiver<(Commit, Reply)>) {
    while let Some(first) = rx.recv().await {
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
        let (commits, replies): (Vec<Commit>, Vec<Reply>) = batch.into_iter().unzip();
        match store.commit_batch(&commits).await {
            Ok(()) => {
                for r in replies {
                    let _ = r.send(Ok(()));
                }
            }
            // One loser of a concurrency race must not fail its batch-mates: retry each
            // alone so only the conflicting ones see the error.
            Err(_) if commits.len() > 1 => {
                for (c, r) in commits.into_iter().zip(replies) {
                    let res = store.commit_batch(std::slice::from_ref(&c)).await;
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
}
