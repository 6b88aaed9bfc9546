//! Integrity: re-hash stored objects against the recorded SHA-256, and sweep what
//! crashes and abandoned uploads leave behind.

use std::collections::HashSet;

use chrono::Duration;
use futures_util::StreamExt;
use orm::entities::{case_journal, document_uploads, documents, partner_statements};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use sha2::{Digest, Sha256};

use super::{Document, DocumentError, DocumentFact, DocumentService, require};
use services::access::{Operation, Principal};
use services::case::{CaseEvent, CaseFact};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifyReport {
    pub checked: usize,
    /// Recorded, but no object in the store.
    pub missing: Vec<Document>,
    /// Stored bytes no longer hash (or measure) as recorded: (document, actual SHA-256).
    pub altered: Vec<(Document, String)>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty() && self.altered.is_empty()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Expired uploads whose object was removed.
    pub abandoned_uploads: usize,
    /// Uploads journalled before a crash but never projected: now recorded.
    pub recovered: usize,
    /// Objects no document or live upload refers to, removed.
    pub unreferenced_objects: usize,
}

impl DocumentService {
    /// Re-hashes the active documents of the caller's tenant (of one case if given).
    pub async fn verify(
        &self,
        p: &Principal,
        case_id: Option<&str>,
    ) -> Result<VerifyReport, DocumentError> {
        require(p, Operation::VerifyDocuments, "verify documents")?;
        if let Some(c) = case_id {
            self.visible_case(p, c).await?;
        }
        self.verify_all(Some(&p.tenant), case_id).await
    }

    /// For operators (`recobro documents verify`): every tenant unless one is named.
    pub async fn verify_all(
        &self,
        tenant: Option<&str>,
        case_id: Option<&str>,
    ) -> Result<VerifyReport, DocumentError> {
        let mut q = documents::Entity::find().filter(documents::Column::Status.eq("active"));
        if let Some(t) = tenant {
            q = q.filter(documents::Column::Tenant.eq(t));
        }
        if let Some(c) = case_id {
            q = q.filter(documents::Column::CaseId.eq(c));
        }
        let rows = q
            .order_by_asc(documents::Column::CaseId)
            .order_by_asc(documents::Column::CreatedAt)
            .all(self.db())
            .await?;
        let mut report = VerifyReport::default();
        for doc in rows {
            report.checked += 1;
            let Some(mut body) = self.store.get(&doc.object_key).await? else {
                report.missing.push(doc);
                continue;
            };
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| DocumentError::Interrupted(e.to_string()))?;
                size += chunk.len() as u64;
                hasher.update(&chunk);
            }
            let actual = hex::encode(hasher.finalize());
            if actual != doc.sha256 || size != doc.size as u64 {
                report.altered.push((doc, actual));
            }
        }
        Ok(report)
    }

    /// Cleans up after crashes and abandoned uploads:
    /// - an expired presigned upload whose `DocumentAdded` made it into the journal is
    ///   projected (an entry from before rows were written with entries, or a row lost
    ///   since; a row already there is left alone); any other is removed with its object;
    /// - an object older than the grace period that no document or live upload refers
    ///   to is projected the same way if journalled (a streamed upload), else deleted.
    pub async fn sweep(&self) -> Result<SweepReport, DocumentError> {
        let mut report = SweepReport::default();
        let now = self.now();
        let grace = Duration::from_std(self.config.upload_grace).unwrap_or_default();
        // A client may still confirm just after its link expired: leave it the grace.
        let expired = document_uploads::Entity::find()
            .filter(document_uploads::Column::ExpiresAt.lt(now - grace))
            .all(self.db())
            .await?;
        for intent in expired {
            match self.journalled(&intent.case_id, &intent.object_key).await? {
                Some((fact, at, _)) => {
                    self.project_added(&intent, &fact, at).await?;
                    report.recovered += 1;
                }
                None => {
                    self.store.delete(&intent.object_key).await?;
                    document_uploads::Entity::delete_by_id(intent.upload_id.clone())
                        .exec(self.db())
                        .await?;
                    report.abandoned_uploads += 1;
                }
            }
        }
        let mut known: HashSet<String> = documents::Entity::find()
            .filter(documents::Column::Status.is_in(["active", "deleted"]))
            .all(self.db())
            .await?
            .into_iter()
            .map(|d| d.object_key)
            .collect();
        known.extend(
            document_uploads::Entity::find()
                .all(self.db())
                .await?
                .into_iter()
                .map(|u| u.object_key),
        );
        // Partners' statements are no case documents, but their objects are kept.
        known.extend(
            partner_statements::Entity::find()
                .all(self.db())
                .await?
                .into_iter()
                .map(|s| s.object_key),
        );
        // Objects carry the store's time, not the (possibly virtual) clock's: an object is
        // old when it is old by either.
        let wall = chrono::Utc::now();
        for obj in self.store.list().await? {
            let old = obj
                .modified
                .is_none_or(|m| m + grace < wall || m + grace < now);
            if known.contains(&obj.key) || !old {
                continue;
            }
            // Journalled, but its row is missing (an entry in the old shape, or a row
            // lost since): record it, keep it.
            if let Some(intent) = self.recover(&obj.key).await? {
                tracing::info!(document = %intent.version_id, "recovered a journalled upload");
                report.recovered += 1;
                continue;
            }
            self.store.delete(&obj.key).await?;
            report.unreferenced_objects += 1;
        }
        Ok(report)
    }

    /// Projects the `DocumentAdded` journalled for an object no row refers to, if any.
    /// Keys are `<tenant>/<case>/<document>/v<version>-<upload>`.
    async fn recover(&self, key: &str) -> Result<Option<Document>, DocumentError> {
        let mut parts = key.rsplitn(3, '/');
        let (Some(last), Some(_document), Some(prefix)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        let (Some((tenant, case_id)), Some((_, upload_id))) =
            (prefix.rsplit_once('/'), last.split_once('-'))
        else {
            return Ok(None);
        };
        let Some((fact, at, actor)) = self.journalled(case_id, key).await? else {
            return Ok(None);
        };
        let DocumentFact::Added {
            document_id,
            version,
            kind,
            file_name,
            retention_class,
            ..
        } = &fact
        else {
            return Ok(None);
        };
        let intent = document_uploads::Model {
            upload_id: upload_id.to_string(),
            tenant: tenant.to_string(),
            case_id: case_id.to_string(),
            document_id: document_id.clone(),
            version: *version,
            kind: kind.clone(),
            file_name: file_name.clone(),
            retention_class: retention_class.clone(),
            mode: "streaming".into(),
            declared_size: None,
            declared_sha256: None,
            object_key: key.to_string(),
            requested_by: actor,
            created_at: at,
            expires_at: at,
        };
        Ok(Some(self.project_added(&intent, &fact, at).await?))
    }

    /// The `DocumentAdded` journalled for an object, with its time and actor, if any.
    async fn journalled(
        &self,
        case_id: &str,
        object_key: &str,
    ) -> Result<Option<(DocumentFact, chrono::DateTime<chrono::Utc>, String)>, DocumentError> {
        let entries = case_journal::Entity::find()
            .filter(case_journal::Column::CaseId.eq(case_id))
            .filter(case_journal::Column::EventType.eq("DocumentAdded"))
            .all(self.db())
            .await?;
        for e in entries {
            if !e.payload.contains(object_key) {
                continue;
            }
            if let Ok(CaseEvent::Fact {
                fact: CaseFact::Document(fact @ DocumentFact::Added { .. }),
            }) = serde_json::from_str::<CaseEvent>(&e.payload)
            {
                let at = chrono::DateTime::from_timestamp_micros(e.recorded_at.timestamp_micros())
                    .unwrap_or(e.recorded_at);
                return Ok(Some((fact, at, e.actor)));
            }
        }
        Ok(None)
    }
}
