//! Documents Recobro makes itself (a demand letter rendered by the letter channel):
//! stored and journalled exactly like an upload — the same `DocumentAdded` fact, so the
//! SHA-256 is in the case's hash chain — but added by the system under an idempotency
//! key instead of by a user, so a job redelivered after a crash adds nothing twice.

use bytes::Bytes;
use orm::entities::{cases, document_uploads, documents};
use sea_orm::EntityTrait;
use sha2::{Digest, Sha256};

use super::upload::Digested;
use super::{Document, DocumentError, DocumentKind, DocumentService, sanitize_file_name};

/// A document to add on the system's behalf.
#[derive(Debug, Clone)]
pub struct GeneratedDocument {
    pub case_id: String,
    pub kind: DocumentKind,
    pub file_name: String,
    /// What the bytes are; checked against what they look like.
    pub content_type: String,
    pub bytes: Bytes,
    /// Who adds it, as the journal names it (`worker:contact.letter`).
    pub actor: String,
    /// Adds the document once: a second call with the key answers the first document.
    pub idempotency_key: String,
}

/// What [`DocumentService::add_generated`] did.
#[derive(Debug, Clone)]
pub struct Generated {
    pub document: Document,
    /// False when the key had already added it: `document` is that one, and the bytes
    /// given this time were not stored.
    pub added: bool,
}

impl DocumentService {
    /// Stores a generated document on a case as the first version of a new document.
    /// Its ids derive from the tenant and the key, so a repeat finds the document the
    /// first call added and stores nothing; two calls racing each write their own
    /// object, the journal keeps one, and the loser's object is removed.
    pub async fn add_generated(&self, g: GeneratedDocument) -> Result<Generated, DocumentError> {
        let tenant = cases::Entity::find_by_id(g.case_id.clone())
            .one(self.db())
            .await?
            .ok_or_else(|| DocumentError::CaseNotFound(g.case_id.clone()))?
            .tenant;
        let (document_id, version_id) = generated_ids(&tenant, &g.idempotency_key);
        if let Some(existing) = documents::Entity::find_by_id(version_id.clone())
            .one(self.db())
            .await?
        {
            return self.earlier(existing, &g);
        }
        let file_name = sanitize_file_name(&g.file_name)?;
        if g.bytes.len() as u64 > self.config.max_size {
            return Err(DocumentError::TooLarge {
                limit: self.config.max_size,
            });
        }
        let sniffed = self.sniff(&g.bytes[..g.bytes.len().min(8 * 1024)])?;
        if sniffed != g.content_type {
            return Err(DocumentError::Invalid(format!(
                "the generated {} is declared {} but its bytes are {sniffed}",
                g.kind.as_str(),
                g.content_type
            )));
        }
        let class = g.kind.default_retention().to_string();
        if !self.config.retention.contains_key(&class) {
            return Err(DocumentError::Invalid(format!(
                "unknown retention class {class:?}"
            )));
        }
        let now = self.now();
        let intent = document_uploads::Model {
            // A fresh object per call: a racing twin never overwrites the kept bytes.
            object_key: format!(
                "{tenant}/{}/{document_id}/v1-{}",
                g.case_id,
                uuid::Uuid::new_v4()
            ),
            upload_id: version_id,
            tenant,
            case_id: g.case_id.clone(),
            document_id,
            version: 1,
            kind: g.kind.as_str().to_string(),
            file_name,
            retention_class: class,
            mode: "generated".into(),
            declared_size: None,
            declared_sha256: None,
            requested_by: g.actor.clone(),
            created_at: now,
            expires_at: now,
        };
        let sha256: [u8; 32] = Sha256::digest(&g.bytes).into();
        let stored = async {
            let mut writer = self.store.writer(&intent.object_key).await?;
            if let Err(e) = writer.write(g.bytes.clone()).await {
                writer.abort().await;
                return Err(e);
            }
            writer.finish(&sha256).await
        }
        .await;
        if let Err(e) = stored {
            return Err(self.discard(&intent, e.into()).await);
        }
        let digested = Digested {
            size: g.bytes.len() as u64,
            sha256,
            content_type: sniffed,
        };
        let key = format!("document-generated:{}", g.idempotency_key);
        let document = self.commit(&intent, digested, Some(key)).await?;
        let added = document.object_key == intent.object_key;
        if !added {
            // The twin's entry won: this call's object is nobody's.
            let _ = self.store.delete(&intent.object_key).await;
        }
        Ok(Generated { document, added })
    }

    /// The document an earlier call added under the key, if it is this request's.
    fn earlier(
        &self,
        existing: Document,
        g: &GeneratedDocument,
    ) -> Result<Generated, DocumentError> {
        if existing.case_id != g.case_id || existing.kind != g.kind.as_str() {
            return Err(DocumentError::WrongState(format!(
                "the key {} already added a {} to case {}",
                g.idempotency_key, existing.kind, existing.case_id
            )));
        }
        Ok(Generated {
            document: existing,
            added: false,
        })
    }

    /// The bytes of a stored version, read whole (for documents small enough to hold,
    /// like a letter).
    pub async fn read_object(&self, document: &Document) -> Result<Vec<u8>, DocumentError> {
        use futures_util::StreamExt;
        let mut body = self
            .store
            .get(&document.object_key)
            .await?
            .ok_or_else(|| DocumentError::ObjectMissing(document.version_id.clone()))?;
        let mut out = Vec::with_capacity(usize::try_from(document.size).unwrap_or(0));
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.map_err(|e| DocumentError::Interrupted(e.to_string()))?);
        }
        Ok(out)
    }
}

/// The document id and version id a key gives, unique per tenant: UUIDs (version 8)
/// built from a SHA-256 of both, so they look like every other document's ids.
fn generated_ids(tenant: &str, key: &str) -> (String, String) {
    let h = Sha256::new()
        .chain_update(b"recobro-generated-document\0")
        .chain_update(tenant.as_bytes())
        .chain_update(b"\0")
        .chain_update(key.as_bytes())
        .finalize();
    let half = |b: &[u8]| {
        let bytes: [u8; 16] = b.try_into().unwrap_or_default();
        uuid::Builder::from_custom_bytes(bytes)
            .into_uuid()
            .to_string()
    };
    (half(&h[..16]), half(&h[16..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_on_tenant_and_key_only() {
        let (d, v) = generated_ids("acme", "job-7");
        assert_eq!(generated_ids("acme", "job-7"), (d.clone(), v.clone()));
        assert_ne!(d, v);
        assert_ne!(generated_ids("other", "job-7").0, d);
        assert_ne!(generated_ids("acme", "job-8").0, d);
        assert!(uuid::Uuid::parse_str(&d).is_ok());
    }
}
