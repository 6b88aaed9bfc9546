//! Case documents: uploads (multipart through the API, or presigned straight to the
//! store), downloads by short-lived link, versions, legal holds, retention, erasure, the
//! access log. Every rule lives in `documents`.

use std::io;

use actix_web::web::Bytes;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use documents::{
    AccessEntry, Document as Row, DocumentService, ErasureScope, NewDocument, Presigned,
};
use futures_util::Stream;
use tokio::io::AsyncReadExt;

use super::principal;
use crate::errors::{self, ErrorCode, coded};

/// Bytes read from a spooled multipart file per chunk handed to the store.
const CHUNK: usize = 256 * 1024;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "documents::DocumentKind")]
pub enum DocumentKind {
    DemandLetter,
    PaymentAgreement,
    IdentityDocument,
    CallRecording,
    CourtFiling,
    Judgment,
    /// The credit contract the debt arises from (law firms read it by default).
    Contract,
    /// A statement of the debtor's account (law firms read it by default).
    AccountStatement,
    Other,
}

/// One version of a logical document.
pub struct Document(pub Row);

#[Object]
impl Document {
    /// The logical document; all its versions share it.
    async fn id(&self) -> ID {
        ID(self.0.document_id.clone())
    }
    async fn version_id(&self) -> ID {
        ID(self.0.version_id.clone())
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn case_id(&self) -> ID {
        ID(self.0.case_id.clone())
    }
    /// `demand_letter`, `payment_agreement`, `identity_document`, `call_recording`,
    /// `court_filing`, `judgment` or `other`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// Sniffed from the bytes, not taken from the uploader.
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn size(&self) -> i64 {
        self.0.size
    }
    /// Lower-case hex SHA-256 of the bytes, also in the case history.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    async fn retention_class(&self) -> &str {
        &self.0.retention_class
    }
    async fn retain_until(&self) -> DateTime<Utc> {
        self.0.retain_until
    }
    async fn legal_hold(&self) -> bool {
        self.0.legal_hold
    }
    /// `active`, `deleted`, `purged` or `erased`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn uploaded_by(&self) -> &str {
        &self.0.uploaded_by
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}

#[derive(SimpleObject)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// A short-lived HTTP request to make exactly as given (method, URL, headers).
#[derive(SimpleObject)]
pub struct SignedRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<Header>,
    pub expires_at: DateTime<Utc>,
}

impl From<Presigned> for SignedRequest {
    fn from(p: Presigned) -> Self {
        SignedRequest {
            method: p.method,
            url: p.url,
            headers: p
                .headers
                .into_iter()
                .map(|(name, value)| Header { name, value })
                .collect(),
            expires_at: p.expires_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct UploadTicket {
    /// Give it to `confirmDocumentUpload` once the PUT succeeded.
    pub upload_id: ID,
    pub document_id: ID,
    pub version: i32,
    pub request: SignedRequest,
}

#[derive(SimpleObject)]
pub struct DownloadLink {
    pub document: Document,
    pub request: SignedRequest,
}

pub struct AccessRecord(pub AccessEntry);

#[Object]
impl AccessRecord {
    async fn case_id(&self) -> ID {
        ID(self.0.case_id.clone())
    }
    async fn document_id(&self) -> ID {
        ID(self.0.document_id.clone())
    }
    async fn version_id(&self) -> ID {
        ID(self.0.version_id.clone())
    }
    /// Who: `role:subject[@partner]`.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

#[derive(SimpleObject)]
pub struct AlteredDocument {
    pub document: Document,
    /// What the stored bytes hash to now.
    pub actual_sha256: String,
}

#[derive(SimpleObject)]
pub struct IntegrityReport {
    pub checked: i64,
    pub ok: bool,
    /// Recorded, but the store has no object.
    pub missing: Vec<Document>,
    pub altered: Vec<AlteredDocument>,
}

#[derive(SimpleObject)]
pub struct KeptDocument {
    pub version_id: ID,
    /// `LEGAL_HOLD` or `RETENTION_DUTY`.
    pub reason: String,
}

#[derive(SimpleObject)]
pub struct ErasureResult {
    pub erased: Vec<ID>,
    pub kept: Vec<KeptDocument>,
}

pub fn service<'a>(ctx: &Context<'a>) -> Result<&'a DocumentService> {
    ctx.data::<DocumentService>()
}

pub async fn of_case(ctx: &Context<'_>, case_id: &str) -> Result<Vec<Document>> {
    let rows = service(ctx)?
        .documents(principal(ctx)?, case_id)
        .await
        .map_err(errors::api)?;
    Ok(rows.into_iter().map(Document).collect())
}

fn new_document(
    case_id: ID,
    kind: DocumentKind,
    file_name: String,
    retention_class: Option<String>,
    replaces: Option<ID>,
) -> NewDocument {
    NewDocument {
        case_id: case_id.0,
        kind: kind.into(),
        file_name,
        retention_class,
        replaces: replaces.map(|r| r.0),
    }
}

/// The spooled multipart file as a stream of chunks, never all of it in memory.
fn chunks(file: std::fs::File) -> impl Stream<Item = io::Result<Bytes>> + Send {
    let file = tokio::fs::File::from_std(file);
    futures_util::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

pub struct DocumentQuery;

impl DocumentQuery {
    pub async fn document(ctx: &Context<'_>, id: ID, version: Option<i32>) -> Result<Document> {
        service(ctx)?
            .document(principal(ctx)?, &id, version)
            .await
            .map(Document)
            .map_err(errors::api)
    }

    pub async fn versions(ctx: &Context<'_>, id: ID) -> Result<Vec<Document>> {
        let rows = service(ctx)?
            .versions(principal(ctx)?, &id)
            .await
            .map_err(errors::api)?;
        Ok(rows.into_iter().map(Document).collect())
    }

    pub async fn access_log(
        ctx: &Context<'_>,
        case_id: Option<ID>,
        document_id: Option<ID>,
        first: i32,
    ) -> Result<Vec<AccessRecord>> {
        let limit = u64::try_from(first)
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| coded(ErrorCode::BadInput, "ask for 1 to 1000 access records"))?;
        let rows = service(ctx)?
            .access_log(
                principal(ctx)?,
                case_id.as_ref().map(|c| c.as_str()),
                document_id.as_ref().map(|d| d.as_str()),
                limit,
            )
            .await
            .map_err(errors::api)?;
        Ok(rows.into_iter().map(AccessRecord).collect())
    }

    pub async fn verify(ctx: &Context<'_>, case_id: Option<ID>) -> Result<IntegrityReport> {
        let r = service(ctx)?
            .verify(principal(ctx)?, case_id.as_ref().map(|c| c.as_str()))
            .await
            .map_err(errors::api)?;
        Ok(IntegrityReport {
            checked: r.checked as i64,
            ok: r.is_ok(),
            missing: r.missing.into_iter().map(Document).collect(),
            altered: r
                .altered
                .into_iter()
                .map(|(d, actual)| AlteredDocument {
                    document: Document(d),
                    actual_sha256: actual,
                })
                .collect(),
        })
    }
}

/// Document mutations, merged into the root `Mutation`.
#[derive(Default)]
pub struct DocumentMutation;

#[Object]
impl DocumentMutation {
    /// Uploads a file through Recobro (GraphQL multipart request): hashed while it
    /// streams to the store; the case history records it. `replaces` adds a new version.
    async fn upload_document(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        kind: DocumentKind,
        file: Upload,
        retention_class: Option<String>,
        replaces: Option<ID>,
    ) -> Result<Document> {
        let value = file
            .value(ctx)
            .map_err(|e| coded(ErrorCode::BadInput, e.to_string()))?;
        let new = new_document(
            case_id,
            kind,
            value.filename.clone(),
            retention_class,
            replaces,
        );
        let body = chunks(value.content);
        service(ctx)?
            .upload(principal(ctx)?, new, Box::pin(body))
            .await
            .map(Document)
            .map_err(errors::api)
    }

    /// Starts an upload straight to the object store: PUT the bytes with the returned
    /// request before it expires, then `confirmDocumentUpload`. The link is bound to
    /// this size and SHA-256 (hex).
    #[allow(clippy::too_many_arguments)]
    async fn request_document_upload(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        kind: DocumentKind,
        file_name: String,
        size: i64,
        sha256: String,
        retention_class: Option<String>,
        replaces: Option<ID>,
    ) -> Result<UploadTicket> {
        let size =
            u64::try_from(size).map_err(|_| coded(ErrorCode::BadInput, "size must be positive"))?;
        let new = new_document(case_id, kind, file_name, retention_class, replaces);
        let t = service(ctx)?
            .request_upload(principal(ctx)?, new, size, &sha256)
            .await
            .map_err(errors::api)?;
        Ok(UploadTicket {
            upload_id: ID(t.upload_id),
            document_id: ID(t.document_id),
            version: t.version,
            request: t.request.into(),
        })
    }

    /// Records a presigned upload after checking the stored object's size and SHA-256.
    async fn confirm_document_upload(&self, ctx: &Context<'_>, upload_id: ID) -> Result<Document> {
        service(ctx)?
            .confirm_upload(principal(ctx)?, &upload_id)
            .await
            .map(Document)
            .map_err(errors::api)
    }

    /// A short-lived download link (latest version unless `version`); the access is
    /// recorded for auditors.
    async fn download_document(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: Option<i32>,
    ) -> Result<DownloadLink> {
        let d = service(ctx)?
            .download(principal(ctx)?, &id, version)
            .await
            .map_err(errors::api)?;
        Ok(DownloadLink {
            document: Document(d.document),
            request: d.request.into(),
        })
    }

    async fn set_legal_hold(
        &self,
        ctx: &Context<'_>,
        document_id: ID,
        reason: String,
    ) -> Result<Document> {
        let s = service(ctx)?;
        let p = principal(ctx)?;
        s.set_legal_hold(p, &document_id, &reason)
            .await
            .map_err(errors::api)?;
        s.document(p, &document_id, None)
            .await
            .map(Document)
            .map_err(errors::api)
    }

    async fn clear_legal_hold(
        &self,
        ctx: &Context<'_>,
        document_id: ID,
        reason: String,
    ) -> Result<Document> {
        let s = service(ctx)?;
        let p = principal(ctx)?;
        s.clear_legal_hold(p, &document_id, &reason)
            .await
            .map_err(errors::api)?;
        s.document(p, &document_id, None)
            .await
            .map(Document)
            .map_err(errors::api)
    }

    /// Soft delete of one version, once its retention has passed and no hold applies.
    async fn delete_document(
        &self,
        ctx: &Context<'_>,
        document_id: ID,
        version: i32,
    ) -> Result<bool> {
        service(ctx)?
            .soft_delete(principal(ctx)?, &document_id, version)
            .await
            .map_err(errors::api)?;
        Ok(true)
    }

    /// Removes the bytes of a soft-deleted version; its record and hash stay.
    async fn purge_document(
        &self,
        ctx: &Context<'_>,
        document_id: ID,
        version: i32,
    ) -> Result<bool> {
        service(ctx)?
            .purge(principal(ctx)?, &document_id, version)
            .await
            .map_err(errors::api)?;
        Ok(true)
    }

    /// A lawful erasure request: erases the documents of a debtor (or one case) that no
    /// legal hold or retention duty keeps, and says which were kept and why.
    async fn erase_documents(
        &self,
        ctx: &Context<'_>,
        debtor_id: Option<String>,
        case_id: Option<ID>,
        reason: String,
    ) -> Result<ErasureResult> {
        let scope = match (debtor_id, case_id) {
            (Some(d), None) => ErasureScope::Debtor(d),
            (None, Some(c)) => ErasureScope::Case(c.0),
            _ => return Err(coded(ErrorCode::BadInput, "name either debtorId or caseId")),
        };
        let r = service(ctx)?
            .erase(principal(ctx)?, scope, &reason)
            .await
            .map_err(errors::api)?;
        Ok(ErasureResult {
            erased: r.erased.into_iter().map(ID).collect(),
            kept: r
                .kept
                .into_iter()
                .map(|(v, why)| KeptDocument {
                    version_id: ID(v),
                    reason: why.to_string(),
                })
                .collect(),
        })
    }
}
