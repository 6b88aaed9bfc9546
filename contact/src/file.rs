//! The `file` channel: with no provider configured, each message is written under
//! `<data dir>/outbox/<channel>/` and recorded as not sent, so the embedded default
//! runs a whole strategy with no outside service.

use std::path::PathBuf;

use collections::contact::DeliveryStatus;
use serde_json::json;

use crate::message::{OutgoingMessage, SendError, SendFuture, Sender, Sent};

#[derive(Debug, Clone)]
pub struct FileChannel {
    /// `<data dir>/outbox`.
    root: PathBuf,
}

impl FileChannel {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FileChannel { root: root.into() }
    }

    /// Where a message with this key for this channel is written.
    pub fn path_of(&self, channel: &str, key: &str) -> PathBuf {
        let safe: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.root.join(channel).join(format!("{safe}.json"))
    }
}

impl Sender for FileChannel {
    fn send<'a>(&'a self, m: &'a OutgoingMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let channel = serde_json::to_value(m.channel)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "other".into());
            let path = self.path_of(&channel, &m.key);
            let dir = path.parent().unwrap_or(&self.root).to_path_buf();
            let body = json!({
                "key": m.key,
                "tenant": m.tenant,
                "caseId": m.case_id,
                "attempt": m.attempt,
                "channel": channel,
                "to": m.to,
                "recipientName": m.recipient_name,
                "language": m.language,
                "subject": m.subject,
                "body": m.body,
            });
            let text = serde_json::to_vec_pretty(&body)
                .map_err(|e| SendError::Unavailable(e.to_string()))?;
            // Written to a temporary name and renamed, so a reader never sees half a
            // message and a redelivery under the same key replaces it instead of adding.
            let tmp = path.with_extension("json.tmp");
            let io = |e: std::io::Error| SendError::Unavailable(format!("{}: {e}", dir.display()));
            tokio::fs::create_dir_all(&dir).await.map_err(io)?;
            tokio::fs::write(&tmp, &text).await.map_err(io)?;
            tokio::fs::rename(&tmp, &path).await.map_err(io)?;
            Ok(Sent {
                provider: "file".into(),
                provider_message_id: Some(path.display().to_string()),
                status: DeliveryStatus::Written,
            })
        })
    }
}
