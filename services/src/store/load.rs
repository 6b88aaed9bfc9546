//! Activation reads: a case's latest snapshot and the journal after it in one query, for
//! one case or many, so waking a case costs one round trip and waking a batch of cases
//! (the timers falling due together) costs one round trip for the batch.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{FromQueryResult, Statement, Value};

use super::{Store, StoreError, StoredCase};
use crate::case::CaseState;
use crate::journal::Entry;

/// A case row joined with one of its later journal entries (none when the snapshot is
/// current).
#[derive(FromQueryResult)]
struct Row {
    case_id: String,
    snapshot: Option<String>,
    seq: Option<i64>,
    event_type: Option<String>,
    payload: Option<String>,
    actor: Option<String>,
    recorded_at: Option<DateTime<Utc>>,
    prev_hash: Option<String>,
    hash: Option<String>,
}

/// Most cases loaded by one statement (well below SQLite's bound-parameter limit).
const CHUNK: usize = 500;

impl Store {
    /// Loads the given cases (snapshot + later journal); absent ids are left out.
    pub async fn load_many(
        &self,
        case_ids: &[String],
    ) -> Result<HashMap<String, StoredCase>, StoreError> {
        let mut out = HashMap::with_capacity(case_ids.len());
        for chunk in case_ids.chunks(CHUNK) {
            self.load_chunk(chunk, &mut out).await?;
        }
        Ok(out)
    }

    async fn load_chunk(
        &self,
        case_ids: &[String],
        out: &mut HashMap<String, StoredCase>,
    ) -> Result<(), StoreError> {
        if case_ids.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> = (1..=case_ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT c.case_id, c.snapshot, j.seq, j.event_type, j.payload, j.actor, \
             j.recorded_at, j.prev_hash, j.hash \
             FROM cases c LEFT JOIN case_journal j \
             ON j.case_id = c.case_id AND j.seq > c.snapshot_seq \
             WHERE c.case_id IN ({}) ORDER BY c.case_id, j.seq",
            placeholders.join(", ")
        );
        let values: Vec<Value> = case_ids.iter().map(|id| id.clone().into()).collect();
        let stmt = Statement::from_sql_and_values(self.db.get_database_backend(), sql, values);
        let rows = Row::find_by_statement(stmt).all(&self.db).await?;
        for row in rows {
            let case = match out.get_mut(&row.case_id) {
                Some(c) => c,
                None => {
                    let snapshot: Option<CaseState> = match &row.snapshot {
                        Some(s) => Some(
                            serde_json::from_str(s)
                                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        ),
                        None => None,
                    };
                    out.entry(row.case_id.clone()).or_insert(StoredCase {
                        snapshot,
                        entries: Vec::new(),
                    })
                }
            };
            if let Some(entry) = entry_of_row(row)? {
                // Whatever the snapshot already holds is not replayed again.
                if case.snapshot.as_ref().is_none_or(|s| entry.seq > s.seq) {
                    case.entries.push(entry);
                }
            }
        }
        Ok(())
    }
}

fn entry_of_row(row: Row) -> Result<Option<Entry>, StoreError> {
    let (
        Some(seq),
        Some(event_type),
        Some(payload),
        Some(actor),
        Some(recorded_at),
        Some(prev_hash),
        Some(hash),
    ) = (
        row.seq,
        row.event_type,
        row.payload,
        row.actor,
        row.recorded_at,
        row.prev_hash,
        row.hash,
    )
    else {
        return Ok(None);
    };
    Ok(Some(Entry {
        payload: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        case_id: row.case_id,
        seq,
        event_type,
        actor,
        recorded_at,
        prev_hash,
        hash,
    }))
}
