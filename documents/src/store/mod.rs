//! Where document bytes live: one trait, two back-ends. The embedded default keeps files
//! on local disk (so `recobro serve` needs nothing else); production uses any
//! S3-compatible store through `aws-sdk-s3`.

pub mod key_file;
mod local;
mod s3;

use std::fmt::Debug;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::Stream;

pub use self::key_file::{KeyFileError, SigningKey};
pub use self::local::{
    LOCAL_GET_PATH, LOCAL_PUT_PATH, LinkError, LocalGrant, LocalStore, UrlSigner,
};
pub use self::s3::S3Store;

/// A body of bytes, streamed.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, io::Error>> + Send>>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::EnumCount)]
pub enum ObjectStoreError {
    /// Unreachable, timed out, or failing: worth retrying later.
    #[error("the object store is unavailable: {0}")]
    Unavailable(String),
    /// The store answered and said no (access denied, bad request, ...).
    #[error("the object store refused the request: {0}")]
    Refused(String),
    #[error("object store I/O failed: {0}")]
    Io(String),
    /// The local store has no usable key to sign links with.
    #[error(transparent)]
    SigningKey(#[from] KeyFileError),
}

impl From<io::Error> for ObjectStoreError {
    fn from(e: io::Error) -> Self {
        ObjectStoreError::Io(e.to_string())
    }
}

/// A stored object, as listed by the sweeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub modified: Option<DateTime<Utc>>,
}

/// A request the client makes itself, straight to the store (or to Recobro's signed
/// local routes): method, URL and the headers it must send unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

/// What a presigned PUT is bound to.
#[derive(Debug, Clone, Copy)]
pub struct PutBinding<'a> {
    pub key: &'a str,
    pub size: u64,
    pub sha256: &'a [u8; 32],
}

#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync + Debug {
    /// `local` or `s3`, for reports.
    fn kind(&self) -> &'static str;
    /// Starts writing an object; nothing is visible under `key` before `finish`.
    async fn writer(&self, key: &str) -> Result<Box<dyn ObjectWriter>, ObjectStoreError>;
    /// The object's size, or `None` when there is no such object.
    async fn head(&self, key: &str) -> Result<Option<u64>, ObjectStoreError>;
    async fn get(&self, key: &str) -> Result<Option<ByteStream>, ObjectStoreError>;
    /// Deleting a missing object is not an error.
    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError>;
    async fn list(&self) -> Result<Vec<ObjectInfo>, ObjectStoreError>;
    /// A PUT bound to the size and SHA-256, valid from `now` for `ttl`.
    async fn presign_put(
        &self,
        put: PutBinding<'_>,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Presigned, ObjectStoreError>;
    /// A GET that downloads as `file_name`, valid from `now` for `ttl`.
    async fn presign_get(
        &self,
        key: &str,
        file_name: &str,
        content_type: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Presigned, ObjectStoreError>;
}

#[async_trait::async_trait]
pub trait ObjectWriter: Send {
    async fn write(&mut self, chunk: Bytes) -> Result<(), ObjectStoreError>;
    /// Makes the object visible under its key. `sha256` is the body's, computed by the
    /// caller while streaming: S3 checks it on a single PUT, at no second hashing cost.
    async fn finish(self: Box<Self>, sha256: &[u8; 32]) -> Result<(), ObjectStoreError>;
    /// Drops what was written (best effort: the sweeper catches what this misses).
    async fn abort(self: Box<Self>);
}

/// `attachment; filename="..."` with an RFC 5987 UTF-8 variant for non-ASCII names.
pub fn content_disposition(file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let utf8 = percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{utf8}")
}
