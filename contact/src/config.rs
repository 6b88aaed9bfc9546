//! The channels file `serve --channels FILE` reads: which connector each channel uses.
//! A channel with no connector configured uses the file channel, so the embedded
//! default runs a whole strategy with no outside service.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use collections::contact::Channel;
use serde::Deserialize;

use crate::file::FileChannel;
use crate::job::ContactJobs;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelsConfig {
    /// Where the file channel writes (`<data dir>/outbox` by default).
    #[serde(default)]
    pub outbox: Option<PathBuf>,
    /// Job types left to external workers (`activateJobs`) instead of a built-in
    /// handler, e.g. `["contact.sms"]` when the creditor's own SMS gateway works them.
    #[serde(default)]
    pub external: Vec<String>,
}

impl ChannelsConfig {
    pub fn read(path: &Path) -> Result<ChannelsConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the channels file {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("the channels file {} is invalid: {e}", path.display()))
    }

    pub fn outbox_dir(&self, data_dir: &Path) -> PathBuf {
        self.outbox
            .clone()
            .unwrap_or_else(|| data_dir.join("outbox"))
    }

    /// The job types the built-in channels handle, with this configuration.
    pub fn job_types(&self) -> Vec<&'static str> {
        [
            "contact.sms",
            "contact.whatsapp",
            "contact.email",
            "contact.letter",
            "contact.call",
        ]
        .into_iter()
        .filter(|t| !self.external.iter().any(|e| e == t))
        .collect()
    }

    /// Connectors for every channel: the configured ones, the file channel for the rest.
    pub fn connect(&self, jobs: ContactJobs, data_dir: &Path) -> ContactJobs {
        let file = Arc::new(FileChannel::new(self.outbox_dir(data_dir)));
        let mut jobs = jobs;
        for channel in [
            Channel::Sms,
            Channel::WhatsApp,
            Channel::Email,
            Channel::Letter,
            Channel::Call,
        ] {
            jobs = jobs.with_sender(channel, file.clone());
        }
        jobs
    }
}
