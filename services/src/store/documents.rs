//! The `documents` rows of `DocumentAdded` entries, written in the entry's transaction:
//! one fsync per upload instead of two, and no moment where the journal has a document
//! the table lacks. The sweeper's repair of entries from before this (or of a lost row)
//! goes through the same statement, made idempotent.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait, Value};

use super::batch::{ValuesList, exec};
use super::{Commit, StoreError};
use crate::case::projection::DocumentRow;

/// Who added a document version, where and when: from its journal entry.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentOrigin {
    pub tenant: String,
    pub case_id: String,
    pub uploaded_by: String,
    pub at: DateTime<Utc>,
}

/// Writes the batch's document rows and ends the intents of its presigned uploads.
pub(super) async fn write<C: ConnectionTrait>(db: &C, batch: &[Commit]) -> Result<(), StoreError> {
    let rows: Vec<(&DocumentRow, DocumentOrigin)> = batch
        .iter()
        .filter_map(|c| {
            let row = c.changes.document.as_ref()?;
            let origin = DocumentOrigin {
                tenant: c.tenant.clone(),
                case_id: c.entry.case_id.clone(),
                uploaded_by: c.entry.actor.clone(),
                at: c.entry.recorded_at,
            };
            Some((row, origin))
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    // A row already there means a second entry for one upload: fail rather than
    // journal a document twice.
    insert(db, &rows, false).await?;
    let ended: Vec<&str> = rows
        .iter()
        .filter(|(r, _)| r.ends_intent)
        .map(|(r, _)| r.version_id.as_str())
        .collect();
    end_intents(db, &ended).await
}

/// The sweeper's repair: writes the row of a journalled `DocumentAdded` unless it is
/// there already, and ends the upload's intent, in one transaction.
pub(super) async fn repair(
    db: &DatabaseConnection,
    row: &DocumentRow,
    origin: DocumentOrigin,
) -> Result<(), StoreError> {
    let txn = db.begin().await?;
    insert(&txn, &[(row, origin)], true).await?;
    end_intents(&txn, &[row.version_id.as_str()]).await?;
    txn.commit().await?;
    Ok(())
}

/// One multi-row INSERT. A new version of a logical document under legal hold is held
/// as well: decided here, from the rows in this transaction, so a hold set while the
/// upload ran is not missed.
async fn insert<C: ConnectionTrait>(
    db: &C,
    rows: &[(&DocumentRow, DocumentOrigin)],
    keep_existing: bool,
) -> Result<(), StoreError> {
    let mut values = ValuesList::new();
    for (r, o) in rows {
        values.row([
            Value::from(r.version_id.clone()),
            Value::from(r.document_id.clone()),
            Value::from(r.version),
            Value::from(o.tenant.clone()),
            Value::from(o.case_id.clone()),
            Value::from(r.kind.clone()),
            Value::from(r.file_name.clone()),
            Value::from(r.content_type.clone()),
            Value::from(r.size),
            Value::from(r.sha256.clone()),
            Value::from(r.object_key.clone()),
            Value::from(r.retention_class.clone()),
            Value::from(r.retain_until),
            Value::from(o.uploaded_by.clone()),
            Value::from(o.at),
        ]);
    }
    let conflict = if keep_existing {
        " ON CONFLICT (version_id) DO NOTHING"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO documents (version_id, document_id, version, tenant, case_id, kind, \
         file_name, content_type, size, sha256, object_key, retention_class, retain_until, \
         legal_hold, status, uploaded_by, created_at) \
         SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, \
         v.column8, v.column9, v.column10, v.column11, v.column12, v.column13, \
         v.column3 > 1 AND EXISTS (SELECT 1 FROM documents d \
         WHERE d.document_id = v.column2 AND d.legal_hold), \
         'active', v.column14, v.column15 \
         FROM (VALUES {}) AS v WHERE TRUE{conflict}",
        values.sql
    );
    // (`WHERE TRUE`: SQLite needs a WHERE to tell the upsert's ON from a join's.)
    exec(db, sql, values.values).await?;
    Ok(())
}

async fn end_intents<C: ConnectionTrait>(db: &C, upload_ids: &[&str]) -> Result<(), StoreError> {
    if upload_ids.is_empty() {
        return Ok(());
    }
    let mut ids = ValuesList::new();
    for id in upload_ids {
        ids.row([Value::from(id.to_string())]);
    }
    let sql = format!(
        "DELETE FROM document_uploads WHERE upload_id IN (VALUES {})",
        ids.sql
    );
    exec(db, sql, ids.values).await?;
    Ok(())
}
