//! The embedded default: objects as files under one directory. Clients reach them through
//! Recobro's own routes with HMAC-signed, short-lived URLs (the local counterpart of S3
//! presigned URLs), so both back-ends offer the same upload and download flows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::key_file::{KEY_FILE, KeyFileError, SigningKey};
use super::{
    ByteStream, ObjectInfo, ObjectStore, ObjectStoreError, ObjectWriter, Presigned, PutBinding,
};

/// Partial files live here until renamed into place; the sweeper removes old ones.
const TMP: &str = ".tmp";

/// Signs and checks Recobro's local-store URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: Arc<SigningKey>,
    /// Where clients reach Recobro, e.g. `http://127.0.0.1:8080`.
    base_url: String,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("UrlSigner")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// The query string of a signed local URL, as the HTTP routes receive it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LocalGrant {
    pub key: String,
    /// Unix seconds.
    pub exp: i64,
    /// PUT: the bound size; GET: absent.
    pub size: Option<u64>,
    /// PUT: the bound SHA-256 (hex).
    pub sha256: Option<String>,
    /// GET: the download file name.
    pub name: Option<String>,
    /// GET: the content type.
    pub ct: Option<String>,
    pub sig: String,
}

/// Paths of the local routes, relative to the base URL.
pub const LOCAL_PUT_PATH: &str = "/documents/local/upload";
pub const LOCAL_GET_PATH: &str = "/documents/local/download";

/// Why a signed local URL is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    Invalid,
    Expired,
    /// No key to check it with.
    Key(KeyFileError),
}

impl UrlSigner {
    pub fn new(key: SigningKey, base_url: impl Into<String>) -> Self {
        UrlSigner {
            key: Arc::new(key),
            base_url: base_url.into().trim_end_matches('/').to_string(),
        }
    }

    fn mac(&self, method: &str, g: &LocalGrant) -> Result<Hmac<Sha256>, KeyFileError> {
        let mut m =
            Hmac::<Sha256>::new_from_slice(self.key.get()?).expect("HMAC takes any key length");
        // Length-prefixed fields: no two grants share an encoding.
        let size = g.size.map(|s| s.to_string()).unwrap_or_default();
        let exp = g.exp.to_string();
        for part in [
            method,
            &g.key,
            &exp,
            &size,
            g.sha256.as_deref().unwrap_or(""),
            g.name.as_deref().unwrap_or(""),
            g.ct.as_deref().unwrap_or(""),
        ] {
            m.update(&(part.len() as u64).to_be_bytes());
            m.update(part.as_bytes());
        }
        Ok(m)
    }

    fn sign(&self, method: &str, mut g: LocalGrant, path: &str) -> Result<String, KeyFileError> {
        g.sig = hex::encode(self.mac(method, &g)?.finalize().into_bytes());
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let mut q = format!("key={}&exp={}", enc(&g.key), g.exp);
        if let Some(s) = g.size {
            q.push_str(&format!("&size={s}"));
        }
        for (k, v) in [("sha256", &g.sha256), ("name", &g.name), ("ct", &g.ct)] {
            if let Some(v) = v {
                q.push_str(&format!("&{k}={}", enc(v)));
            }
        }
        Ok(format!("{}{path}?{q}&sig={}", self.base_url, g.sig))
    }

    /// Checks a grant's signature and expiry.
    pub fn check(&self, method: &str, g: &LocalGrant, now: DateTime<Utc>) -> Result<(), LinkError> {
        let sig = hex::decode(&g.sig).map_err(|_| LinkError::Invalid)?;
        self.mac(method, g)
            .map_err(LinkError::Key)?
            .verify_slice(&sig)
            .map_err(|_| LinkError::Invalid)?;
        if now.timestamp() > g.exp {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct LocalStore {
    dir: PathBuf,
    signer: UrlSigner,
}

impl LocalStore {
    pub fn new(dir: impl Into<PathBuf>, signer: UrlSigner) -> Self {
        LocalStore {
            dir: dir.into(),
            signer,
        }
    }

    pub fn signer(&self) -> &UrlSigner {
        &self.signer
    }

    fn path(&self, key: &str) -> Result<PathBuf, ObjectStoreError> {
        // Keys are made by Recobro, but a signed URL carries one: refuse anything that
        // could leave the directory.
        if key.is_empty()
            || key.starts_with('/')
            || key
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
            || key.contains('\\')
        {
            return Err(ObjectStoreError::Refused(format!("bad object key {key:?}")));
        }
        Ok(self.dir.join(key))
    }
}

fn file_stream(file: tokio::fs::File) -> ByteStream {
    Box::pin(futures_util::stream::unfold(Some(file), |f| async move {
        let mut f = f?;
        let mut buf = BytesMut::with_capacity(64 * 1024);
        match f.read_buf(&mut buf).await {
            Ok(0) => None,
            Ok(_) => Some((Ok(buf.freeze()), Some(f))),
            Err(e) => Some((Err(e), None)),
        }
    }))
}

struct LocalWriter {
    tmp: PathBuf,
    dest: PathBuf,
    file: tokio::fs::File,
}

#[async_trait::async_trait]
impl ObjectWriter for LocalWriter {
    async fn write(&mut self, chunk: Bytes) -> Result<(), ObjectStoreError> {
        Ok(self.file.write_all(&chunk).await?)
    }

    async fn finish(mut self: Box<Self>, _sha256: &[u8; 32]) -> Result<(), ObjectStoreError> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        if let Some(parent) = self.dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::rename(&self.tmp, &self.dest).await?;
        Ok(())
    }

    async fn abort(self: Box<Self>) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.tmp).await;
    }
}

fn list_dir(root: &Path, dir: &Path, out: &mut Vec<ObjectInfo>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        // The signing key is no object: a sweep would delete it as unreferenced.
        if dir == root && entry.file_name() == KEY_FILE {
            continue;
        }
        let meta = entry.metadata()?;
        if meta.is_dir() {
            list_dir(root, &entry.path(), out)?;
        } else if let Ok(rel) = entry.path().strip_prefix(root) {
            out.push(ObjectInfo {
                key: rel.to_string_lossy().replace('\\', "/"),
                size: meta.len(),
                modified: meta.modified().ok().map(DateTime::<Utc>::from),
            });
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl ObjectStore for LocalStore {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn writer(&self, key: &str) -> Result<Box<dyn ObjectWriter>, ObjectStoreError> {
        let dest = self.path(key)?;
        let tmp_dir = self.dir.join(TMP);
        tokio::fs::create_dir_all(&tmp_dir).await?;
        let tmp = tmp_dir.join(uuid::Uuid::new_v4().to_string());
        let file = tokio::fs::File::create(&tmp).await?;
        Ok(Box::new(LocalWriter { tmp, dest, file }))
    }

    async fn head(&self, key: &str) -> Result<Option<u64>, ObjectStoreError> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<ByteStream>, ObjectStoreError> {
        match tokio::fs::File::open(self.path(key)?).await {
            Ok(f) => Ok(Some(file_stream(f))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn list(&self) -> Result<Vec<ObjectInfo>, ObjectStoreError> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            if dir.is_dir() {
                list_dir(&dir, &dir, &mut out)?;
            }
            Ok(out)
        })
        .await
        .map_err(|e| ObjectStoreError::Io(e.to_string()))?
    }

    async fn presign_put(
        &self,
        put: PutBinding<'_>,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Presigned, ObjectStoreError> {
        let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or_default();
        let grant = LocalGrant {
            key: put.key.to_string(),
            exp: expires_at.timestamp(),
            size: Some(put.size),
            sha256: Some(hex::encode(put.sha256)),
            ..LocalGrant::default()
        };
        Ok(Presigned {
            method: "PUT".into(),
            url: self.signer.sign("PUT", grant, LOCAL_PUT_PATH)?,
            headers: vec![("content-length".into(), put.size.to_string())],
            expires_at,
        })
    }

    async fn presign_get(
        &self,
        key: &str,
        file_name: &str,
        content_type: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Presigned, ObjectStoreError> {
        let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or_default();
        let grant = LocalGrant {
            key: key.to_string(),
            exp: expires_at.timestamp(),
            name: Some(file_name.to_string()),
            ct: Some(content_type.to_string()),
            ..LocalGrant::default()
        };
        Ok(Presigned {
            method: "GET".into(),
            url: self.signer.sign("GET", grant, LOCAL_GET_PATH)?,
            headers: vec![],
            expires_at,
        })
    }
}
