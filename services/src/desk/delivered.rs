//! An answered job's outbox row is marked delivered after its answer commits. Alone,
//! each mark is a durable write of its own, and on SQLite's single connection they queue
//! one behind the other; here concurrent answers share one `UPDATE … WHERE id IN (…)`,
//! group-commit style. An answer still returns only once its own row is marked.

use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use orm::entities::outbox;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

#[derive(Debug, Default)]
pub(super) struct DeliveredMarks {
    queue: Mutex<Queue>,
    /// One write at a time; its holder writes every mark queued so far.
    writer: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Queue {
    ids: Vec<i64>,
    /// The number of the batch collecting ids now; batches are written in order.
    batch: u64,
    /// Batches `0..written` are written.
    written: u64,
}

impl DeliveredMarks {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks job `id` delivered, with whatever other marks are waiting.
    pub(super) async fn mark(
        &self,
        db: &DatabaseConnection,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let mine = {
            let mut q = self.queue();
            q.ids.push(id);
            q.batch
        };
        let _writer = self.writer.lock().await;
        let (ids, batch) = {
            let mut q = self.queue();
            if q.written > mine {
                // Written by the writer before us.
                return Ok(());
            }
            let batch = q.batch;
            q.batch += 1;
            (std::mem::take(&mut q.ids), batch)
        };
        let result = outbox::Entity::update_many()
            .col_expr(outbox::Column::DeliveredAt, Expr::value(Some(now)))
            .col_expr(
                outbox::Column::Attempts,
                Expr::col(outbox::Column::Attempts).add(1),
            )
            .filter(outbox::Column::Id.is_in(ids.iter().copied()))
            .exec(db)
            .await;
        let mut q = self.queue();
        match result {
            Ok(_) => {
                q.written = batch + 1;
                Ok(())
            }
            Err(e) => {
                // The others' marks go with the next batch; this caller hears the error.
                q.ids.extend(ids);
                Err(e)
            }
        }
    }

    /// Marks queued and not yet taken by a writer (tests).
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.queue().ids.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

    use super::*;

    async fn marks_waiting_together_share_one_write(db: &DatabaseConnection) {
        orm::migrate(db).await.unwrap();
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        let rows: Vec<outbox::ActiveModel> = (0..8)
            .map(|i| outbox::ActiveModel {
                case_id: Set(format!("C-{i}")),
                seq: Set(1),
                kind: Set("job".into()),
                payload: Set("{}".into()),
                created_at: Set(at),
                attempts: Set(0),
                next_attempt_at: Set(at),
                ..Default::default()
            })
            .collect();
        outbox::Entity::insert_many(rows).exec(db).await.unwrap();
        let ids: Vec<i64> = outbox::Entity::find()
            .all(db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        let updates = Arc::new(Mutex::new(0usize));
        let mut counted = db.clone();
        let sink = updates.clone();
        counted.set_metric_callback(move |info| {
            if info.statement.sql.starts_with("UPDATE") {
                *sink.lock().unwrap() += 1;
            }
        });

        let marks = Arc::new(DeliveredMarks::default());
        // A write in progress: the eight answers arriving meanwhile queue up behind it.
        let busy = marks.writer.lock().await;
        let waiting: Vec<_> = ids
            .iter()
            .map(|&id| {
                let (marks, db) = (marks.clone(), counted.clone());
                tokio::spawn(async move { marks.mark(&db, id, at).await })
            })
            .collect();
        while marks.queued() < ids.len() {
            tokio::task::yield_now().await;
        }
        drop(busy);
        for w in waiting {
            w.await.unwrap().unwrap();
        }
        assert_eq!(*updates.lock().unwrap(), 1, "one write for eight marks");
        let rows = outbox::Entity::find().all(db).await.unwrap();
        assert!(
            rows.iter()
                .all(|r| r.delivered_at == Some(at) && r.attempts == 1),
            "{rows:#?}"
        );

        // Alone, a mark writes at once.
        marks.mark(&counted, ids[0], at).await.unwrap();
        assert_eq!(*updates.lock().unwrap(), 2);
        let first = outbox::Entity::find_by_id(ids[0]).one(db).await.unwrap();
        assert_eq!(first.map(|r| r.attempts), Some(2));
    }

    orm::on_both!(delivered_marks, marks_waiting_together_share_one_write);
}
