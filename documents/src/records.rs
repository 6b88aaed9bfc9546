//! Reading documents (every download in the access log) and records management: legal
//! hold, soft delete after retention, purge, erasure on a lawful request. Each change is
//! journalled on the document's case.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use orm::entities::{cases, document_access, document_uploads, documents};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use sha2::{Digest, Sha256};

use super::store::{ByteStream, LinkError, LocalGrant};
use super::{Document, DocumentError, DocumentFact, DocumentService, Presigned, require};
use services::access::{Operation, Principal};
use services::case::CaseFact;

/// Where to fetch a document: a short-lived URL (presigned S3 GET, or Recobro's signed
/// local route).
#[derive(Debug, Clone)]
pub struct Download {
    pub document: Document,
    pub request: Presigned,
}

/// A local-store download, streamed through Recobro.
pub struct LocalBody {
    pub body: ByteStream,
    pub size: u64,
    pub file_name: String,
    pub content_type: String,
}

pub type AccessEntry = document_access::Model;

/// Whose documents a lawful erasure request covers.
#[derive(Debug, Clone)]
pub enum ErasureScope {
    Debtor(String),
    Case(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErasureReport {
    /// Version ids erased.
    pub erased: Vec<String>,
    /// Version ids kept, with the code of the reason (`LEGAL_HOLD`, `RETENTION_DUTY`).
    pub kept: Vec<(String, &'static str)>,
}

impl DocumentService {
    /// Active documents of a case (every version), oldest first.
    pub async fn documents(
        &self,
        p: &Principal,
        case_id: &str,
    ) -> Result<Vec<Document>, DocumentError> {
        require(p, Operation::ReadDocument, "read documents")?;
        let case = self.case_seen(p, case_id).await?;
        let rows = documents::Entity::find()
            .filter(documents::Column::CaseId.eq(case_id))
            .filter(documents::Column::Tenant.eq(p.tenant.as_str()))
            .filter(documents::Column::Status.eq("active"))
            .order_by_asc(documents::Column::CreatedAt)
            .order_by_asc(documents::Column::Version)
            .all(self.db())
            .await?;
        self.disclosed(p, &case, rows).await
    }

    /// One version (the latest when `version` is `None`).
    pub async fn document(
        &self,
        p: &Principal,
        document_id: &str,
        version: Option<i32>,
    ) -> Result<Document, DocumentError> {
        require(p, Operation::ReadDocument, "read documents")?;
        self.visible_document(p, document_id, version).await
    }

    /// Every version of a logical document, in any state (the history of the record).
    pub async fn versions(
        &self,
        p: &Principal,
        document_id: &str,
    ) -> Result<Vec<Document>, DocumentError> {
        require(p, Operation::ReadDocument, "read documents")?;
        let rows = documents::Entity::find()
            .filter(documents::Column::DocumentId.eq(document_id))
            .filter(documents::Column::Tenant.eq(p.tenant.as_str()))
            .order_by_asc(documents::Column::Version)
            .all(self.db())
            .await?;
        let Some(first) = rows.first() else {
            return Err(DocumentError::NotFound(document_id.into()));
        };
        let case = match self.case_seen(p, &first.case_id).await {
            Err(DocumentError::CaseNotFound(_)) => {
                return Err(DocumentError::NotFound(document_id.into()));
            }
            r => r?,
        };
        let shown = self.disclosed(p, &case, rows).await?;
        if shown.is_empty() {
            return Err(DocumentError::NotFound(document_id.into()));
        }
        Ok(shown)
    }

    /// A short-lived download URL, after the access check; the access is logged.
    pub async fn download(
        &self,
        p: &Principal,
        document_id: &str,
        version: Option<i32>,
    ) -> Result<Download, DocumentError> {
        require(p, Operation::ReadDocument, "download documents")?;
        let doc = self.visible_document(p, document_id, version).await?;
        let request = self
            .store
            .presign_get(
                &doc.object_key,
                &doc.file_name,
                &doc.content_type,
                self.now(),
                self.config.url_ttl,
            )
            .await?;
        self.log_access(p, &doc, "download").await?;
        Ok(Download {
            document: doc,
            request,
        })
    }

    async fn log_access(
        &self,
        p: &Principal,
        doc: &Document,
        action: &str,
    ) -> Result<(), DocumentError> {
        document_access::ActiveModel {
            tenant: Set(doc.tenant.clone()),
            case_id: Set(doc.case_id.clone()),
            document_id: Set(doc.document_id.clone()),
            version_id: Set(doc.version_id.clone()),
            actor: Set(p.acting_identity()),
            action: Set(action.into()),
            at: Set(self.now()),
            ..Default::default()
        }
        .insert(self.db())
        .await?;
        Ok(())
    }

    /// Who accessed documents (of one case and/or one document), newest first.
    pub async fn access_log(
        &self,
        p: &Principal,
        case_id: Option<&str>,
        document_id: Option<&str>,
        limit: u64,
    ) -> Result<Vec<AccessEntry>, DocumentError> {
        require(p, Operation::ReadAccessLog, "read the access log")?;
        let mut q = document_access::Entity::find()
            .filter(document_access::Column::Tenant.eq(p.tenant.as_str()));
        if let Some(c) = case_id {
            q = q.filter(document_access::Column::CaseId.eq(c));
        }
        if let Some(d) = document_id {
            q = q.filter(document_access::Column::DocumentId.eq(d));
        }
        Ok(q.order_by_desc(document_access::Column::At)
            .order_by_desc(document_access::Column::Id)
            .limit(limit.clamp(1, 1000))
            .all(self.db())
            .await?)
    }

    async fn journal(
        &self,
        p: &Principal,
        case_id: &str,
        fact: DocumentFact,
        key: String,
    ) -> Result<(), DocumentError> {
        self.desk
            .runtime()
            .record_fact(
                case_id,
                CaseFact::Document(fact),
                &p.acting_identity(),
                Some(key),
            )
            .await
            .map_err(|e| DocumentError::Desk(e.into()))?;
        Ok(())
    }

    async fn set_hold_rows(&self, doc: &Document, hold: bool) -> Result<(), DocumentError> {
        documents::Entity::update_many()
            .col_expr(documents::Column::LegalHold, hold.into())
            .filter(documents::Column::DocumentId.eq(doc.document_id.as_str()))
            .exec(self.db())
            .await?;
        Ok(())
    }

    /// Puts every version of a logical document under legal hold: nothing deletes it.
    pub async fn set_legal_hold(
        &self,
        p: &Principal,
        document_id: &str,
        reason: &str,
    ) -> Result<(), DocumentError> {
        require(p, Operation::HoldDocument, "set legal holds")?;
        let doc = self.visible_document(p, document_id, None).await?;
        // The row first: a crash in between leaves the document held (the safe side).
        self.set_hold_rows(&doc, true).await?;
        let key = format!("hold-set:{document_id}:{}", uuid::Uuid::new_v4());
        let fact = DocumentFact::LegalHoldSet {
            document_id: document_id.into(),
            reason: reason.into(),
        };
        self.journal(p, &doc.case_id, fact, key).await
    }

    pub async fn clear_legal_hold(
        &self,
        p: &Principal,
        document_id: &str,
        reason: &str,
    ) -> Result<(), DocumentError> {
        require(p, Operation::HoldDocument, "clear legal holds")?;
        let doc = self.visible_document(p, document_id, None).await?;
        if !doc.legal_hold {
            return Err(DocumentError::WrongState(
                "the document is not on hold".into(),
            ));
        }
        // The journal first: a crash in between leaves the document held.
        let key = format!("hold-clear:{document_id}:{}", uuid::Uuid::new_v4());
        let fact = DocumentFact::LegalHoldCleared {
            document_id: document_id.into(),
            reason: reason.into(),
        };
        self.journal(p, &doc.case_id, fact, key).await?;
        self.set_hold_rows(&doc, false).await
    }

    /// Hides a version once its retention period has passed and no hold applies; the
    /// object stays until [`purge`](Self::purge).
    pub async fn soft_delete(
        &self,
        p: &Principal,
        document_id: &str,
        version: i32,
    ) -> Result<(), DocumentError> {
        require(p, Operation::DeleteDocument, "delete documents")?;
        let doc = self.visible_document(p, document_id, Some(version)).await?;
        if doc.legal_hold {
            return Err(DocumentError::LegalHold);
        }
        if self.now() < doc.retain_until {
            return Err(DocumentError::RetentionActive(doc.retain_until));
        }
        let fact = DocumentFact::SoftDeleted {
            document_id: document_id.into(),
            version,
        };
        let key = format!("doc-delete:{}", doc.version_id);
        self.journal(p, &doc.case_id, fact, key).await?;
        let mut row = doc.into_active_model();
        row.status = Set("deleted".into());
        row.deleted_at = Set(Some(self.now()));
        row.update(self.db()).await?;
        Ok(())
    }

    /// Removes the object of a soft-deleted version; its metadata and history stay.
    pub async fn purge(
        &self,
        p: &Principal,
        document_id: &str,
        version: i32,
    ) -> Result<(), DocumentError> {
        require(p, Operation::DeleteDocument, "purge documents")?;
        let doc = documents::Entity::find()
            .filter(documents::Column::DocumentId.eq(document_id))
            .filter(documents::Column::Version.eq(version))
            .filter(documents::Column::Tenant.eq(p.tenant.as_str()))
            .one(self.db())
            .await?
            .ok_or_else(|| DocumentError::NotFound(document_id.into()))?;
        if doc.status != "deleted" {
            return Err(DocumentError::WrongState(format!(
                "only a soft-deleted document can be purged (this one is {})",
                doc.status
            )));
        }
        if doc.legal_hold {
            return Err(DocumentError::LegalHold);
        }
        // Object first: deleting twice is harmless, so a retry after a crash completes.
        self.store.delete(&doc.object_key).await?;
        let fact = DocumentFact::Purged {
            document_id: document_id.into(),
            version,
        };
        self.journal(
            p,
            &doc.case_id,
            fact,
            format!("doc-purge:{}", doc.version_id),
        )
        .await?;
        let mut row = doc.into_active_model();
        row.status = Set("purged".into());
        row.update(self.db()).await?;
        Ok(())
    }

    /// Erases documents on a lawful request (a debtor's right to erasure): every version
    /// not under legal hold and not kept by a statutory retention duty loses its object
    /// and its file name; the rest is reported as kept, with the reason.
    pub async fn erase(
        &self,
        p: &Principal,
        scope: ErasureScope,
        reason: &str,
    ) -> Result<ErasureReport, DocumentError> {
        require(p, Operation::DeleteDocument, "erase documents")?;
        let case_ids: Vec<String> = match &scope {
            ErasureScope::Case(c) => {
                self.visible_case(p, c).await?;
                vec![c.clone()]
            }
            ErasureScope::Debtor(d) => cases::Entity::find()
                .filter(cases::Column::Tenant.eq(p.tenant.as_str()))
                .filter(cases::Column::DebtorId.eq(d.as_str()))
                .all(self.db())
                .await?
                .into_iter()
                .map(|c| c.case_id)
                .collect(),
        };
        let rows = documents::Entity::find()
            .filter(documents::Column::CaseId.is_in(case_ids))
            .filter(documents::Column::Tenant.eq(p.tenant.as_str()))
            .filter(documents::Column::Status.is_in(["active", "deleted"]))
            .all(self.db())
            .await?;
        let mut report = ErasureReport::default();
        let now = self.now();
        for doc in rows {
            let duty = self
                .config
                .retention
                .get(&doc.retention_class)
                .is_some_and(|r| r.statutory);
            if doc.legal_hold {
                report.kept.push((doc.version_id, "LEGAL_HOLD"));
                continue;
            }
            if duty && now < doc.retain_until {
                report.kept.push((doc.version_id, "RETENTION_DUTY"));
                continue;
            }
            self.store.delete(&doc.object_key).await?;
            let fact = DocumentFact::Erased {
                document_id: doc.document_id.clone(),
                version: doc.version,
                reason: reason.into(),
            };
            let key = format!("doc-erase:{}", doc.version_id);
            self.journal(p, &doc.case_id, fact, key).await?;
            let id = doc.version_id.clone();
            let mut row = doc.into_active_model();
            row.status = Set("erased".into());
            row.file_name = Set("[erased]".into());
            row.deleted_at = Set(Some(now));
            row.update(self.db()).await?;
            report.erased.push(id);
        }
        Ok(report)
    }

    fn local_grant(&self, method: &str, g: &LocalGrant) -> Result<(), DocumentError> {
        let local = self.local.as_ref().ok_or(DocumentError::LinkInvalid)?;
        local
            .signer()
            .check(method, g, self.now())
            .map_err(|e| match e {
                LinkError::Invalid => DocumentError::LinkInvalid,
                LinkError::Expired => DocumentError::LinkExpired,
                LinkError::Key(k) => DocumentError::SigningKey(k),
            })
    }

    /// The local store's signed PUT (the counterpart of a presigned S3 PUT): checks the
    /// link, then stores the body only if it has exactly the bound size and SHA-256.
    pub async fn local_upload<S>(&self, g: &LocalGrant, body: S) -> Result<(), DocumentError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>>,
    {
        self.local_grant("PUT", g)?;
        let (Some(size), Some(sha)) = (g.size, g.sha256.as_deref()) else {
            return Err(DocumentError::LinkInvalid);
        };
        let live = document_uploads::Entity::find()
            .filter(document_uploads::Column::ObjectKey.eq(g.key.as_str()))
            .one(self.db())
            .await?;
        if live.is_none() {
            return Err(DocumentError::UploadNotFound(g.key.clone()));
        }
        if self.store.head(&g.key).await?.is_some() {
            return Err(DocumentError::WrongState("already uploaded".into()));
        }
        let mut writer = self.store.writer(&g.key).await?;
        let mut body = std::pin::pin!(body);
        let mut hasher = Sha256::new();
        let mut n = 0u64;
        let result = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| DocumentError::Interrupted(e.to_string()))?;
                n += chunk.len() as u64;
                if n > size {
                    return Err(DocumentError::SizeMismatch {
                        declared: size,
                        actual: n,
                    });
                }
                hasher.update(&chunk);
                writer.write(chunk).await?;
            }
            if n != size {
                return Err(DocumentError::SizeMismatch {
                    declared: size,
                    actual: n,
                });
            }
            let digest: [u8; 32] = hasher.finalize().into();
            if hex::encode(digest) != sha {
                return Err(DocumentError::ChecksumMismatch);
            }
            Ok(digest)
        }
        .await;
        match result {
            Ok(digest) => Ok(writer.finish(&digest).await?),
            Err(e) => {
                writer.abort().await;
                Err(e)
            }
        }
    }

    /// The local store's signed GET: the object, streamed.
    pub async fn local_download(&self, g: &LocalGrant) -> Result<LocalBody, DocumentError> {
        self.local_grant("GET", g)?;
        let not_found = || DocumentError::NotFound(g.key.clone());
        let size = self.store.head(&g.key).await?.ok_or_else(not_found)?;
        let body = self.store.get(&g.key).await?.ok_or_else(not_found)?;
        Ok(LocalBody {
            body,
            size,
            file_name: g.name.clone().unwrap_or_else(|| "document".into()),
            content_type: g
                .ct
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
        })
    }
}
