//! Getting bytes in: streamed through Recobro, or straight to the store with a presigned
//! PUT and a confirmation. Either way the object is stored and checked first, then the
//! `DocumentAdded` fact is journalled with the row in one transaction: no metadata
//! without an object. A presigned upload has an intent row (`document_uploads`) until
//! confirmed; the sweeper removes whatever a crash or an abandoned upload leaves behind.

use std::io;
use std::pin::pin;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Duration, Utc};
use futures_util::{Stream, StreamExt};
use orm::entities::{document_uploads, documents};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use sha2::{Digest, Sha256};

use super::store::{ByteStream, ObjectWriter, Presigned, PutBinding};
use super::{
    Document, DocumentError, DocumentFact, DocumentKind, DocumentService, require,
    sanitize_file_name,
};
use services::access::{Operation, Principal};
use services::case::CaseFact;
use services::case::projection::DocumentRow;
use services::runtime::RuntimeError;
use services::store::DocumentOrigin;

/// Bytes looked at to tell the content type.
const SNIFF: usize = 8 * 1024;

#[derive(Debug, Clone)]
pub struct NewDocument {
    pub case_id: String,
    pub kind: DocumentKind,
    pub file_name: String,
    /// Defaults to the kind's class.
    pub retention_class: Option<String>,
    /// Adds a new version of this logical document instead of a new document.
    pub replaces: Option<String>,
}

/// A presigned upload: PUT the bytes (with exactly these headers) before `expires_at`,
/// then call `confirm_upload(upload_id)`.
#[derive(Debug, Clone)]
pub struct UploadTicket {
    pub upload_id: String,
    pub document_id: String,
    pub version: i32,
    pub request: Presigned,
}

/// What streaming a body produced.
pub(super) struct Digested {
    pub size: u64,
    pub sha256: [u8; 32],
    pub content_type: String,
}

fn looks_like_text(head: &[u8]) -> bool {
    !head.contains(&0)
        && match std::str::from_utf8(head) {
            Ok(_) => true,
            // Cut in the middle of a character at the end of the sniffed bytes.
            Err(e) => e.error_len().is_none(),
        }
}

impl DocumentService {
    /// The content type the bytes say they are, if it is accepted.
    pub(super) fn sniff(&self, head: &[u8]) -> Result<String, DocumentError> {
        if head.is_empty() {
            return Err(DocumentError::Invalid("the document is empty".into()));
        }
        let t = match infer::get(head) {
            Some(t) => t.mime_type().to_string(),
            None if looks_like_text(head) => "text/plain".to_string(),
            None => "application/octet-stream".to_string(),
        };
        if self.config.allowed_types.contains(&t) {
            Ok(t)
        } else {
            Err(DocumentError::TypeNotAllowed(t))
        }
    }

    /// Hashes, measures and sniffs a body, passing each chunk to `writer` if given.
    pub(super) async fn digest<S>(
        &self,
        body: S,
        limit: u64,
        mut writer: Option<&mut Box<dyn ObjectWriter>>,
    ) -> Result<Digested, DocumentError>
    where
        S: Stream<Item = Result<Bytes, io::Error>>,
    {
        let mut body = pin!(body);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut head = BytesMut::new();
        let mut content_type = None;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| DocumentError::Interrupted(e.to_string()))?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(DocumentError::TooLarge { limit });
            }
            hasher.update(&chunk);
            if content_type.is_none() {
                let take = (SNIFF - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
                if head.len() >= SNIFF {
                    // Refuse a wrong type before the rest is even read.
                    content_type = Some(self.sniff(&head)?);
                }
            }
            if let Some(w) = writer.as_mut() {
                w.write(chunk).await?;
            }
        }
        let content_type = match content_type {
            Some(t) => t,
            None => self.sniff(&head)?,
        };
        Ok(Digested {
            size,
            sha256: hasher.finalize().into(),
            content_type,
        })
    }

    /// Checks the case and the request, and picks the document id and version.
    async fn prepare(
        &self,
        p: &Principal,
        new: &NewDocument,
    ) -> Result<(String, i32, String, String), DocumentError> {
        require(p, Operation::UploadDocument, "upload documents")?;
        self.visible_case(p, &new.case_id).await?;
        let file_name = sanitize_file_name(&new.file_name)?;
        let class = new
            .retention_class
            .clone()
            .unwrap_or_else(|| new.kind.default_retention().to_string());
        if !self.config.retention.contains_key(&class) {
            return Err(DocumentError::Invalid(format!(
                "unknown retention class {class:?}"
            )));
        }
        let (document_id, version) = match &new.replaces {
            None => (uuid::Uuid::new_v4().to_string(), 1),
            Some(id) => {
                let latest = documents::Entity::find()
                    .filter(documents::Column::DocumentId.eq(id.as_str()))
                    .filter(documents::Column::CaseId.eq(new.case_id.as_str()))
                    .order_by_desc(documents::Column::Version)
                    .one(self.db())
                    .await?
                    .ok_or_else(|| DocumentError::NotFound(id.clone()))?;
                (id.clone(), latest.version + 1)
            }
        };
        Ok((document_id, version, file_name, class))
    }

    async fn intent(
        &self,
        p: &Principal,
        new: &NewDocument,
        mode: &str,
        declared: Option<(u64, &str)>,
        ttl: std::time::Duration,
        persist: bool,
    ) -> Result<document_uploads::Model, DocumentError> {
        let (document_id, version, file_name, class) = self.prepare(p, new).await?;
        let upload_id = uuid::Uuid::new_v4().to_string();
        let now = self.now();
        let row = document_uploads::Model {
            // A fresh key per upload: a retry never overwrites another upload's object.
            object_key: format!(
                "{}/{}/{document_id}/v{version}-{upload_id}",
                p.tenant, new.case_id
            ),
            upload_id,
            tenant: p.tenant.clone(),
            case_id: new.case_id.clone(),
            document_id,
            version,
            kind: new.kind.as_str().to_string(),
            file_name,
            retention_class: class,
            mode: mode.to_string(),
            declared_size: declared.map(|d| d.0 as i64),
            declared_sha256: declared.map(|d| d.1.to_string()),
            requested_by: p.acting_identity(),
            created_at: now,
            expires_at: now + Duration::from_std(ttl).unwrap_or_default(),
        };
        if persist {
            row.clone().into_active_model().insert(self.db()).await?;
        }
        Ok(row)
    }

    /// Uploads a document streamed through Recobro: never the whole body in memory,
    /// SHA-256 computed on the way, multipart upload to S3 above the threshold. On any
    /// failure (the client's stream, the store, the limits) nothing is recorded and the
    /// partial object is removed.
    ///
    /// The body may come from a GraphQL multipart upload or a plain HTTP request; wrap
    /// an `AsyncRead` with `tokio_util::io::ReaderStream`.
    pub async fn upload<S>(
        &self,
        p: &Principal,
        new: NewDocument,
        body: S,
    ) -> Result<Document, DocumentError>
    where
        S: Stream<Item = Result<Bytes, io::Error>>,
    {
        // No intent row for a streamed upload: it saves a durable commit per upload, and
        // the sweeper still finds what a crash leaves (an object no row refers to, older
        // than the grace period: deleted, or projected when the journal has it).
        let intent = self
            .intent(p, &new, "streaming", None, self.config.upload_grace, false)
            .await?;
        let mut writer = match self.store.writer(&intent.object_key).await {
            Ok(w) => w,
            Err(e) => return Err(self.discard(&intent, e.into()).await),
        };
        let digested = match self
            .digest(body, self.config.max_size, Some(&mut writer))
            .await
        {
            Ok(d) => d,
            Err(e) => {
                writer.abort().await;
                return Err(self.discard(&intent, e).await);
            }
        };
        if let Err(e) = writer.finish(&digested.sha256).await {
            return Err(self.discard(&intent, e.into()).await);
        }
        self.commit(&intent, digested, None).await
    }

    /// Starts a presigned upload bound to the declared size and SHA-256 (hex).
    pub async fn request_upload(
        &self,
        p: &Principal,
        new: NewDocument,
        size: u64,
        sha256_hex: &str,
    ) -> Result<UploadTicket, DocumentError> {
        if size == 0 {
            return Err(DocumentError::Invalid("the document is empty".into()));
        }
        if size > self.config.max_size {
            return Err(DocumentError::TooLarge {
                limit: self.config.max_size,
            });
        }
        let sha: [u8; 32] = hex::decode(sha256_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| DocumentError::Invalid("sha256 must be 64 hex digits".into()))?;
        let sha_hex = hex::encode(sha);
        let ttl = self.config.url_ttl;
        let intent = self
            .intent(p, &new, "presigned", Some((size, &sha_hex)), ttl, true)
            .await?;
        let put = PutBinding {
            key: &intent.object_key,
            size,
            sha256: &sha,
        };
        let request = match self.store.presign_put(put, intent.created_at, ttl).await {
            Ok(r) => r,
            Err(e) => return Err(self.discard(&intent, e.into()).await),
        };
        Ok(UploadTicket {
            upload_id: intent.upload_id,
            document_id: intent.document_id,
            version: intent.version,
            request,
        })
    }

    /// Records a presigned upload once the object is there with the declared size and
    /// SHA-256 (re-hashed from the store, whatever the store claims) and an accepted
    /// type. A mismatching object is deleted and the upload ended.
    pub async fn confirm_upload(
        &self,
        p: &Principal,
        upload_id: &str,
    ) -> Result<Document, DocumentError> {
        require(p, Operation::UploadDocument, "upload documents")?;
        let intent = document_uploads::Entity::find_by_id(upload_id.to_string())
            .filter(document_uploads::Column::Tenant.eq(p.tenant.as_str()))
            .filter(document_uploads::Column::Mode.eq("presigned"))
            .one(self.db())
            .await?
            .ok_or_else(|| DocumentError::UploadNotFound(upload_id.into()))?;
        match self.visible_case(p, &intent.case_id).await {
            Err(DocumentError::CaseNotFound(_)) => {
                return Err(DocumentError::UploadNotFound(upload_id.into()));
            }
            r => r?,
        }
        let declared = intent.declared_size.unwrap_or(0) as u64;
        let Some(actual) = self.store.head(&intent.object_key).await? else {
            if self.now() > intent.expires_at {
                return Err(self
                    .discard(&intent, DocumentError::UploadExpired(upload_id.into()))
                    .await);
            }
            return Err(DocumentError::ObjectMissing(upload_id.into()));
        };
        if actual != declared {
            return Err(self
                .discard(&intent, DocumentError::SizeMismatch { declared, actual })
                .await);
        }
        let body: ByteStream = match self.store.get(&intent.object_key).await? {
            Some(b) => b,
            None => return Err(DocumentError::ObjectMissing(upload_id.into())),
        };
        let digested = match self.digest(body, declared, None).await {
            Ok(d) => d,
            Err(e @ (DocumentError::Interrupted(_) | DocumentError::Store(_))) => return Err(e),
            Err(e) => return Err(self.discard(&intent, e).await),
        };
        if intent.declared_sha256.as_deref() != Some(hex::encode(digested.sha256).as_str()) {
            return Err(self.discard(&intent, DocumentError::ChecksumMismatch).await);
        }
        // A confirmation can be repeated (a client retrying, or two confirmations
        // racing): the upload's key makes the journal record it once.
        let key = format!("document-upload:{}", intent.upload_id);
        self.commit(&intent, digested, Some(key)).await
    }

    /// Removes a failed upload's object and intent; returns `err` for the caller.
    pub(super) async fn discard(
        &self,
        intent: &document_uploads::Model,
        err: DocumentError,
    ) -> DocumentError {
        // Best effort: what fails here stays in `document_uploads` for the sweeper.
        if self.store.delete(&intent.object_key).await.is_ok() {
            let _ = document_uploads::Entity::delete_by_id(intent.upload_id.clone())
                .exec(self.db())
                .await;
        }
        err
    }

    /// Journals `DocumentAdded`; its transaction also writes the row and ends a presigned
    /// upload's intent (see `store::documents`). Then correlates the kind's message.
    ///
    /// With `key`, a repeat records nothing and answers the first one's row. A streamed
    /// upload passes none: its id is new to the call, so a key would only cost a row and
    /// a lookup.
    pub(super) async fn commit(
        &self,
        intent: &document_uploads::Model,
        d: Digested,
        key: Option<String>,
    ) -> Result<Document, DocumentError> {
        let presigned = intent.mode == "presigned";
        let fact = DocumentFact::Added {
            document_id: intent.document_id.clone(),
            version: intent.version,
            kind: intent.kind.clone(),
            file_name: intent.file_name.clone(),
            content_type: d.content_type,
            size: d.size,
            sha256: hex::encode(d.sha256),
            retention_class: intent.retention_class.clone(),
            object_key: intent.object_key.clone(),
            upload_id: Some(intent.upload_id.clone()),
            retention_days: Some(self.retention_days(&intent.retention_class)),
            presigned,
        };
        let recorded = self
            .desk
            .runtime()
            .record_fact(
                &intent.case_id,
                CaseFact::Document(fact.clone()),
                &intent.requested_by,
                key,
            )
            .await;
        let outcome = match recorded {
            Ok(o) => o,
            Err(e) => {
                let taken = self.version_taken(intent).await;
                let e = taken.unwrap_or_else(|| DocumentError::Desk(e.into()));
                return Err(self.discard(intent, e).await);
            }
        };
        let row = match DocumentRow::of(&fact, outcome.recorded_at) {
            // A first version cannot inherit a hold, so the row is known as written.
            Some(r) if intent.version == 1 && !outcome.repeated => {
                document(r, origin(intent, outcome.recorded_at))
            }
            // A repeat's row is the original's; a later version's hold was decided by
            // the store.
            _ => match documents::Entity::find_by_id(intent.upload_id.clone())
                .one(self.db())
                .await?
            {
                Some(row) => row,
                None => {
                    self.project_added(intent, &fact, outcome.recorded_at)
                        .await?
                }
            },
        };
        if let Some(kind) = DocumentKind::parse(&intent.kind)
            && let Some(message) = self.config.messages.get(&kind)
        {
            let vars = serde_json::json!({
                "documentId": row.document_id,
                "documentKind": row.kind,
                "documentSha256": row.sha256,
            });
            // The document is recorded whatever the process does with the news: a case
            // not waiting for the message just ignores it.
            if let Err(e) = self
                .desk
                .runtime()
                .correlate_message(
                    Some(&row.case_id),
                    message,
                    None,
                    vars.as_object().cloned().unwrap_or_default(),
                    &intent.requested_by,
                    Some(&format!("document-message:{}", row.version_id)),
                )
                .await
            {
                tracing::debug!(case = %row.case_id, %message, "message not correlated: {e}");
            }
        }
        Ok(row)
    }

    /// Another upload added the same version first (both were prepared against the same
    /// latest version): the row's unique key refused this one, and with it its entry.
    async fn version_taken(&self, intent: &document_uploads::Model) -> Option<DocumentError> {
        let taken = documents::Entity::find()
            .filter(documents::Column::DocumentId.eq(intent.document_id.as_str()))
            .filter(documents::Column::Version.eq(intent.version))
            .one(self.db())
            .await
            .ok()??;
        (taken.version_id != intent.upload_id).then(|| {
            DocumentError::WrongState(format!(
                "version {} of document {} was added meanwhile: upload it again",
                intent.version, intent.document_id
            ))
        })
    }

    /// The retention class's period in days (0 for a class no longer configured).
    fn retention_days(&self, class: &str) -> i64 {
        self.config.retention.get(class).map_or(0, |r| r.days)
    }

    /// The sweeper's repair of a journalled `DocumentAdded` whose row is missing: writes
    /// the row unless it exists (so repeating it is harmless) and ends the intent, in one
    /// transaction. Entries from before rows were written with them lack the upload id
    /// and retention period: the intent and today's configuration supply them.
    pub(super) async fn project_added(
        &self,
        intent: &document_uploads::Model,
        fact: &DocumentFact,
        at: DateTime<Utc>,
    ) -> Result<Document, DocumentError> {
        let mut fact = fact.clone();
        let DocumentFact::Added {
            upload_id,
            retention_days,
            ..
        } = &mut fact
        else {
            return Err(DocumentError::Invalid("not a DocumentAdded fact".into()));
        };
        upload_id.get_or_insert_with(|| intent.upload_id.clone());
        retention_days.get_or_insert_with(|| self.retention_days(&intent.retention_class));
        let row = DocumentRow::of(&fact, at)
            .ok_or_else(|| DocumentError::Invalid("not a DocumentAdded fact".into()))?;
        self.desk
            .runtime()
            .store()
            .repair_document(&row, origin(intent, at))
            .await
            .map_err(|e| DocumentError::Desk(RuntimeError::from(e).into()))?;
        documents::Entity::find_by_id(row.version_id.clone())
            .one(self.db())
            .await?
            .ok_or_else(|| DocumentError::NotFound(row.document_id))
    }
}

fn origin(intent: &document_uploads::Model, at: DateTime<Utc>) -> DocumentOrigin {
    DocumentOrigin {
        tenant: intent.tenant.clone(),
        case_id: intent.case_id.clone(),
        uploaded_by: intent.requested_by.clone(),
        at,
    }
}

/// The row as the store writes it for a document's first version (held by no one yet).
fn document(r: DocumentRow, o: DocumentOrigin) -> Document {
    documents::Model {
        version_id: r.version_id,
        document_id: r.document_id,
        version: r.version,
        tenant: o.tenant,
        case_id: o.case_id,
        kind: r.kind,
        file_name: r.file_name,
        content_type: r.content_type,
        size: r.size,
        sha256: r.sha256,
        object_key: r.object_key,
        retention_class: r.retention_class,
        retain_until: r.retain_until,
        legal_hold: false,
        status: "active".into(),
        uploaded_by: o.uploaded_by,
        created_at: o.at,
        deleted_at: None,
    }
}
