//! Any S3-compatible store (AWS S3, MinIO, Ceph, Garage) through `aws-sdk-s3`.
//!
//! Bodies up to the multipart threshold go in one `PutObject` (carrying their SHA-256,
//! so the store checks the bytes in transit); larger ones as a multipart upload of
//! fixed-size parts, aborted on failure. At most one part is ever held in memory. The
//! SDK's standard retry (with backoff) makes these requests safe to repeat.

use std::time::{Duration, SystemTime};

use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::SharedCredentialsProvider;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    retry::RetryConfig, timeout::TimeoutConfig,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream as SdkBody;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};

use super::{
    ByteStream, ObjectInfo, ObjectStore, ObjectStoreError, ObjectWriter, Presigned, PutBinding,
};
use crate::config::S3Config;

#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    threshold: usize,
    part_size: usize,
}

/// Unreachable or timed out: `Unavailable`; an answer from the store: `Refused`.
fn classify<E, R>(e: SdkError<E, R>) -> ObjectStoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if credentials_missing(&e) {
        return ObjectStoreError::Refused(
            "no S3 credentials: none are configured and the standard AWS chain \
             (environment, profile files, web identity, ECS, EC2 metadata) found none"
                .into(),
        );
    }
    match &e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            ObjectStoreError::Refused(format!(
                "{}: {}",
                err.code().unwrap_or("error"),
                err.message().unwrap_or("no message")
            ))
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            ObjectStoreError::Unavailable(format!("{e:?}").chars().take(300).collect())
        }
        _ => ObjectStoreError::Unavailable(format!("{e:?}").chars().take(300).collect()),
    }
}

/// Whether the request failed because the credential chain came up empty.
fn credentials_missing(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(CredentialsError::CredentialsNotLoaded(_)) = c.downcast_ref() {
            return true;
        }
        cause = c.source();
    }
    false
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The configured keys (both or neither), else the standard AWS credential chain:
/// environment variables, the shared config and credentials files (`AWS_PROFILE`), a web
/// identity token, the ECS container endpoint, EC2 instance metadata. The chain is asked
/// on first use and its credentials refreshed by the SDK, so a missing or wrong set shows
/// as the first request's error.
fn credentials(c: &S3Config) -> Result<SharedCredentialsProvider, ObjectStoreError> {
    match (&c.access_key_id, &c.secret_access_key) {
        (Some(id), Some(secret)) => Ok(SharedCredentialsProvider::new(Credentials::new(
            id, secret, None, None, "recobro",
        ))),
        (None, None) => Ok(SharedCredentialsProvider::new(
            CredentialsProviderChain::first_try(
                "Environment",
                EnvironmentVariableCredentialsProvider::new(),
            )
            .or_else("Profile", ProfileFileCredentialsProvider::builder().build())
            .or_else(
                "WebIdentityToken",
                WebIdentityTokenCredentialsProvider::builder().build(),
            )
            .or_else("EcsContainer", EcsCredentialsProvider::builder().build())
            .or_else(
                "Ec2InstanceMetadata",
                ImdsCredentialsProvider::builder().build(),
            ),
        )),
        _ => Err(ObjectStoreError::Refused(
            "S3 credentials need both an access key id and a secret access key (or \
             neither, for the standard AWS credential chain)"
                .into(),
        )),
    }
}

impl S3Store {
    /// A client for the configured endpoint; credentials from the config or else the
    /// standard AWS chain (see [`credentials`]).
    pub fn new(c: &S3Config, threshold: usize, part_size: usize) -> Result<Self, ObjectStoreError> {
        let creds = credentials(c)?;
        let mut b = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(c.region.clone()))
            .credentials_provider(creds)
            .force_path_style(c.path_style)
            // We check SHA-256 ourselves; CRC trailers would only cost time.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(200)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .read_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(ep) = &c.endpoint {
            b = b.endpoint_url(ep);
        }
        Ok(S3Store {
            client: Client::from_conf(b.build()),
            bucket: c.bucket.clone(),
            threshold: threshold.max(1),
            // S3 refuses parts under 5 MiB (except the last).
            part_size: part_size.max(5 * 1024 * 1024),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn presigning(now: DateTime<Utc>, ttl: Duration) -> Result<PresigningConfig, ObjectStoreError> {
        PresigningConfig::builder()
            .start_time(SystemTime::from(now))
            .expires_in(ttl)
            .build()
            .map_err(|e| ObjectStoreError::Refused(e.to_string()))
    }
}

struct S3Writer {
    store: S3Store,
    key: String,
    buf: BytesMut,
    /// Set once the body outgrew the threshold.
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
}

impl S3Writer {
    async fn upload_part(&mut self, body: Bytes) -> Result<(), ObjectStoreError> {
        let s = &self.store;
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let out = s
                    .client
                    .create_multipart_upload()
                    .bucket(&s.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .map_err(classify)?;
                let id = out.upload_id.ok_or_else(|| {
                    ObjectStoreError::Refused("no upload id in CreateMultipartUpload".into())
                })?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let n = self.parts.len() as i32 + 1;
        let out = s
            .client
            .upload_part()
            .bucket(&s.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(n)
            .body(SdkBody::from(body))
            .send()
            .await
            .map_err(classify)?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag)
                .build(),
        );
        Ok(())
    }
}

#[async_trait::async_trait]
impl ObjectWriter for S3Writer {
    async fn write(&mut self, chunk: Bytes) -> Result<(), ObjectStoreError> {
        self.buf.extend_from_slice(&chunk);
        let limit = if self.upload_id.is_some() {
            self.store.part_size
        } else {
            self.store.threshold.max(self.store.part_size)
        };
        while self.buf.len() >= limit {
            let part = self.buf.split_to(self.store.part_size).freeze();
            self.upload_part(part).await?;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>, sha256: &[u8; 32]) -> Result<(), ObjectStoreError> {
        let r = self.complete(sha256).await;
        if r.is_err() {
            // No half-finished multipart upload left behind (they cost storage).
            self.abort().await;
        }
        r
    }

    async fn abort(self: Box<Self>) {
        if let Some(id) = &self.upload_id {
            let s = &self.store;
            let _ = s
                .client
                .abort_multipart_upload()
                .bucket(&s.bucket)
                .key(&self.key)
                .upload_id(id)
                .send()
                .await;
        }
    }
}

impl S3Writer {
    async fn complete(&mut self, sha256: &[u8; 32]) -> Result<(), ObjectStoreError> {
        let body = std::mem::take(&mut self.buf).freeze();
        let s = self.store.clone();
        if self.upload_id.is_none() && body.len() <= s.threshold {
            s.client
                .put_object()
                .bucket(&s.bucket)
                .key(&self.key)
                .checksum_sha256(b64(sha256))
                .body(SdkBody::from(body))
                // The signed x-amz-checksum-sha256 header already binds the bytes: the
                // store refuses any others. Signing the payload too would hash it twice
                // more, once here and once in the store (decision 0007).
                .customize()
                .disable_payload_signing()
                .send()
                .await
                .map_err(classify)?;
            return Ok(());
        }
        if !body.is_empty() || self.parts.is_empty() {
            self.upload_part(body).await?;
        }
        s.client
            .complete_multipart_upload()
            .bucket(&s.bucket)
            .key(&self.key)
            .set_upload_id(self.upload_id.clone())
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(std::mem::take(&mut self.parts)))
                    .build(),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl ObjectStore for S3Store {
    fn kind(&self) -> &'static str {
        "s3"
    }

    async fn writer(&self, key: &str) -> Result<Box<dyn ObjectWriter>, ObjectStoreError> {
        Ok(Box::new(S3Writer {
            store: self.clone(),
            key: key.to_string(),
            buf: BytesMut::new(),
            upload_id: None,
            parts: Vec::new(),
        }))
    }

    async fn head(&self, key: &str) -> Result<Option<u64>, ObjectStoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => Ok(Some(o.content_length.unwrap_or(0).max(0) as u64)),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<ByteStream>, ObjectStoreError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
            Err(e) => return Err(classify(e)),
        };
        Ok(Some(Box::pin(futures_util::stream::unfold(
            out.body,
            |mut body| async move {
                match body.next().await? {
                    Ok(b) => Some((Ok(b), body)),
                    Err(e) => Some((Err(std::io::Error::other(e)), body)),
                }
            },
        ))))
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn list(&self) -> Result<Vec<ObjectInfo>, ObjectStoreError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(classify)?;
            for o in page.contents.unwrap_or_default() {
                out.push(ObjectInfo {
                    key: o.key.unwrap_or_default(),
                    size: o.size.unwrap_or(0).max(0) as u64,
                    modified: o
                        .last_modified
                        .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())),
                });
            }
            token = page.next_continuation_token;
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn presign_put(
        &self,
        put: PutBinding<'_>,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Presigned, ObjectStoreError> {
        // Content-Length and the checksum header become signed headers: the client must
        // send exactly these, and the store checks the bytes against the checksum.
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(put.key)
            .content_length(put.size as i64)
            .checksum_sha256(b64(put.sha256))
            .presigned(Self::presigning(now, ttl)?)
            .await
            .map_err(classify)?;
        Ok(presigned(&req, now, ttl))
    }

    async fn presign_get(
        &self,
        key: &str,
        file_name: &str,
        content_type: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Presigned, ObjectStoreError> {
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(super::content_disposition(file_name))
            .response_content_type(content_type)
            .presigned(Self::presigning(now, ttl)?)
            .await
            .map_err(classify)?;
        Ok(presigned(&req, now, ttl))
    }
}

fn presigned(
    req: &aws_sdk_s3::presigning::PresignedRequest,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Presigned {
    Presigned {
        method: req.method().to_string(),
        url: req.uri().to_string(),
        headers: req
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        expires_at: now + chrono::Duration::from_std(ttl).unwrap_or_default(),
    }
}
