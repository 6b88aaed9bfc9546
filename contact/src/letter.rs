//! The `letter` channel: each letter is rendered to a PDF, filed on the case as a
//! demand letter (its SHA-256 in the case's hash chain), and added to the day's
//! print-shop batch, `<outbox>/print/<YYYY-MM-DD>/`: the PDF as `<key>.pdf` and a row in
//! `manifest.csv` (see [`MANIFEST_HEADER`]).
//!
//! Everything is keyed by the attempt's key, so a job redelivered after a crash adds no
//! second document and no second row: the document is found by the key and its stored
//! bytes reused (not rendered again, which could date it differently), and the batch day
//! is the day the document was filed, whatever day the redelivery comes.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use collections::contact::DeliveryStatus;
use collections::creditor::{Tz, local_day};
use documents::{DocumentError, DocumentKind, DocumentService, GeneratedDocument};
use services::clock::Clock;
use services::desk::DeskError;
use services::error_code::{ApiError, ErrorCode};

use crate::batch::{add_row, safe_name, write_atomically};
use crate::message::{OutgoingMessage, SendError, SendFuture, Sender, Sent};
use crate::pdf::{Letter, long_date, render};

/// The columns of a print batch's `manifest.csv`. `address` holds the envelope's lines
/// separated by line breaks (quoted, as CSV allows); `pages` lets the print shop check
/// each PDF and plan its envelopes.
pub const MANIFEST_HEADER: [&str; 9] = [
    "attempt_key",
    "tenant",
    "case_id",
    "recipient_name",
    "address",
    "document_id",
    "sha256",
    "pages",
    "file",
];

#[derive(Clone)]
pub struct LetterChannel {
    documents: DocumentService,
    clock: Arc<dyn Clock>,
    /// `<data dir>/outbox`.
    outbox: PathBuf,
    /// Whose midnight starts a new batch.
    zone: Tz,
    /// One manifest rewrite at a time (one channel per outbox directory).
    manifest: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for LetterChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LetterChannel")
            .field("outbox", &self.outbox)
            .field("zone", &self.zone)
            .finish_non_exhaustive()
    }
}

impl LetterChannel {
    /// Letters filed through `documents`, dated by `clock`, batched under
    /// `<outbox>/print/` by UTC day (see [`LetterChannel::with_zone`]).
    pub fn new(
        documents: DocumentService,
        clock: Arc<dyn Clock>,
        outbox: impl Into<PathBuf>,
    ) -> Self {
        LetterChannel {
            documents,
            clock,
            outbox: outbox.into(),
            zone: Tz::UTC,
            manifest: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Dates letters and cuts batches at midnight in `zone` (the print shop's).
    pub fn with_zone(mut self, zone: Tz) -> Self {
        self.zone = zone;
        self
    }

    /// The directory of a day's batch.
    pub fn batch_dir(&self, day: chrono::NaiveDate) -> PathBuf {
        self.outbox
            .join("print")
            .join(day.format("%Y-%m-%d").to_string())
    }

    async fn send_letter(&self, m: &OutgoingMessage) -> Result<Sent, SendError> {
        let today = local_day(self.clock.now(), self.zone);
        let date = long_date(today, &m.language);
        let (pdf, _) = render(&Letter {
            date: &date,
            subject: m.subject.as_deref(),
            body: &m.body,
            reference: &m.case_id,
            language: &m.language,
            preformatted: false,
        });
        let filed = self
            .documents
            .add_generated(GeneratedDocument {
                case_id: m.case_id.clone(),
                kind: DocumentKind::DemandLetter,
                file_name: format!("demand-letter-{}.pdf", m.attempt),
                content_type: "application/pdf".into(),
                bytes: Bytes::from(pdf.clone()),
                actor: "worker:contact.letter".into(),
                idempotency_key: m.key.clone(),
            })
            .await
            .map_err(refused)?;
        let document = filed.document;
        let pdf = if filed.added {
            pdf
        } else {
            self.documents
                .read_object(&document)
                .await
                .map_err(refused)?
        };
        let day = local_day(document.created_at, self.zone);
        let dir = self.batch_dir(day);
        let file = format!("{}.pdf", safe_name(&m.key));
        let _one_at_a_time = self.manifest.lock().await;
        // The PDF first: a manifest row never names a file that is not there.
        let path = dir.join(&file);
        if tokio::fs::metadata(&path).await.is_err() {
            write_atomically(&path, &pdf).await?;
        }
        let row = [
            m.key.clone(),
            m.tenant.clone(),
            m.case_id.clone(),
            m.recipient_name.clone(),
            m.envelope.join("\n"),
            document.document_id.clone(),
            document.sha256.clone(),
            page_count(&pdf).to_string(),
            file,
        ];
        add_row(&dir.join("manifest.csv"), &MANIFEST_HEADER, &row).await?;
        Ok(Sent {
            provider: "print".into(),
            provider_message_id: Some(document.document_id),
            status: DeliveryStatus::Exported,
        })
    }
}

impl Sender for LetterChannel {
    fn send<'a>(&'a self, m: &'a OutgoingMessage) -> SendFuture<'a> {
        Box::pin(self.send_letter(m))
    }
}

/// How a document failure answers the job: a store or database that may come back is
/// retried; a document the service will never take is refused for good.
fn refused(e: DocumentError) -> SendError {
    if e.code().retryable()
        || matches!(
            e.code(),
            ErrorCode::StoreUnavailable | ErrorCode::StoreError | ErrorCode::ObjectMissing
        )
        || matches!(e, DocumentError::Desk(DeskError::Runtime(_)))
    {
        SendError::Unavailable(e.to_string())
    } else {
        SendError::Rejected(e.to_string())
    }
}

/// Pages of a PDF this crate wrote: its page objects are the only `/Type /Page` entries
/// not followed by `s` (that is the page tree's `/Type /Pages`).
pub fn page_count(pdf: &[u8]) -> usize {
    const NEEDLE: &[u8] = b"/Type /Page";
    pdf.windows(NEEDLE.len() + 1)
        .filter(|w| w.starts_with(NEEDLE) && w[NEEDLE.len()] != b's')
        .count()
}
