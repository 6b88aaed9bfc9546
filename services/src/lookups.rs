//! Point reads that arrive together share one query, group-commit style: while one
//! query runs, the keys asked for meanwhile queue up, and the next query fetches them
//! all. Each caller still gets only its own row, and only once it has been read.
//!
//! Why: a completed job reads its outbox row and its idempotency key before its answer
//! is committed. Hundreds of workers' answers in flight each taking a pooled connection
//! for a one-row `SELECT` queued on the pool for longer than the answer's commit took.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;

use sea_orm::DbErr;
use tokio::sync::oneshot;

type Reply<V> = oneshot::Sender<Result<Option<V>, DbErr>>;

/// Reads rows by key, many at a time.
#[derive(Debug)]
pub struct Lookups<K, V> {
    queue: Mutex<Vec<(K, Reply<V>)>>,
    /// One query at a time; its holder reads every key queued so far.
    reader: tokio::sync::Mutex<()>,
}

impl<K, V> Default for Lookups<K, V> {
    fn default() -> Self {
        Lookups {
            queue: Mutex::new(Vec::new()),
            reader: tokio::sync::Mutex::new(()),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Lookups<K, V> {
    /// The row of `key`, read together with whatever other keys are waiting; `fetch`
    /// reads the rows of a set of keys (a missing key is no row).
    pub async fn get<F, Fut>(&self, key: K, fetch: F) -> Result<Option<V>, DbErr>
    where
        F: FnOnce(HashSet<K>) -> Fut,
        Fut: Future<Output = Result<HashMap<K, V>, DbErr>>,
    {
        let (tx, mut rx) = oneshot::channel();
        self.lock_queue().push((key, tx));
        let _reader = self.reader.lock().await;
        // Read by the reader before us.
        if let Ok(answer) = rx.try_recv() {
            return answer;
        }
        let waiting = std::mem::take(&mut *self.lock_queue());
        let keys: HashSet<K> = waiting.iter().map(|(k, _)| k.clone()).collect();
        match fetch(keys).await {
            Ok(rows) => {
                for (k, reply) in waiting {
                    let _ = reply.send(Ok(rows.get(&k).cloned()));
                }
            }
            Err(e) => {
                for (_, reply) in waiting {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
        rx.try_recv().unwrap_or_else(|_| {
            // Our own key was queued before we took the queue: it was just answered.
            Err(DbErr::Custom("a lookup lost its answer".into()))
        })
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<(K, Reply<V>)>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn keys_asked_while_a_query_runs_share_the_next_one() {
        let lookups: Arc<Lookups<u32, String>> = Arc::default();
        let queries = Arc::new(AtomicUsize::new(0));
        // A query in progress: the eight lookups arriving meanwhile queue up behind it.
        let busy = lookups.reader.lock().await;
        let waiting: Vec<_> = (0..8u32)
            .map(|k| {
                let (lookups, queries) = (lookups.clone(), queries.clone());
                tokio::spawn(async move {
                    lookups
                        .get(k, |keys| async move {
                            queries.fetch_add(1, Ordering::SeqCst);
                            Ok(keys
                                .into_iter()
                                .filter(|k| k % 2 == 0)
                                .map(|k| (k, format!("row {k}")))
                                .collect())
                        })
                        .await
                })
            })
            .collect();
        while lookups.lock_queue().len() < 8 {
            tokio::task::yield_now().await;
        }
        drop(busy);
        for (k, w) in waiting.into_iter().enumerate() {
            let row = w.await.unwrap().unwrap();
            let expected = (k % 2 == 0).then(|| format!("row {k}"));
            assert_eq!(row, expected, "key {k} got another key's row");
        }
        assert_eq!(
            queries.load(Ordering::SeqCst),
            1,
            "one query for eight keys"
        );

        // A failed query fails each of its callers, and the next lookup reads again.
        let failed = lookups
            .get(1, |_| async { Err(DbErr::Custom("down".into())) })
            .await;
        assert!(matches!(failed, Err(DbErr::Custom(m)) if m == "down"));
        let again = lookups
            .get(2, |keys| async move {
                Ok(keys.into_iter().map(|k| (k, k.to_string())).collect())
            })
            .await
            .unwrap();
        assert_eq!(again.as_deref(), Some("2"));
    }
}
