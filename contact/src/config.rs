//! The channels file `serve --channels FILE` reads: which connector each channel uses.
//! A channel with no connector configured uses the file channel, so the embedded
//! default runs a whole strategy with no outside service. See docs/contact-channels.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use collections::contact::Channel;
use documents::DocumentService;
use serde::Deserialize;
use services::clock::Clock;

use crate::dialer::DialerExport;
use crate::email::{SmtpChannel, SmtpConfig};
use crate::error::ChannelConfigError;
use crate::file::FileChannel;
use crate::job::ContactJobs;
use crate::letter::LetterChannel;
use crate::sms::{HttpMessagingChannel, MessagingConfig, ReceiptVerifier};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelsConfig {
    /// Where the file channel, the print batches and the dialer lists go
    /// (`<data dir>/outbox` by default).
    #[serde(default)]
    pub outbox: Option<PathBuf>,
    /// Job types left to external workers (`activateJobs`) instead of a built-in
    /// handler, e.g. `["contact.sms"]` when the creditor's own SMS gateway works them.
    #[serde(default)]
    pub external: Vec<String>,
    /// `contact.email` over SMTP.
    #[serde(default)]
    pub email: Option<SmtpConfig>,
    /// SMS and WhatsApp providers (Twilio's API or a signed JSON webhook); the first
    /// that can send a channel sends it.
    #[serde(default)]
    pub messaging: Vec<MessagingConfig>,
    /// `file` (default) or `print`: letters as PDF case documents (demand letters) in
    /// the day's print-shop batch.
    #[serde(default)]
    pub letters: LetterMode,
    /// `file` (default) or `dialer`: calls in the day's dialer list.
    #[serde(default)]
    pub calls: CallMode,
    /// The zone whose calendar day names the print batches and dialer lists — the print
    /// shop's and the call centre's (UTC by default): a letter made at 20:00 in Bogotá
    /// belongs to that day's batch, not the next UTC day's.
    #[serde(default)]
    pub batch_time_zone: Option<collections::creditor::Tz>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterMode {
    #[default]
    File,
    Print,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallMode {
    #[default]
    File,
    Dialer,
}

/// The connectors a node runs, and the receipt verifiers of its messaging providers.
pub struct Connected {
    pub jobs: ContactJobs,
    pub receipts: Vec<ReceiptVerifier>,
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

    /// Whether the file leaves `job_type` to external workers.
    pub fn is_external(&self, job_type: &str) -> bool {
        self.external.iter().any(|e| e == job_type)
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
        .filter(|t| !self.is_external(t))
        .collect()
    }

    /// Connectors for every channel: the configured ones, the file channel for the rest.
    pub fn connect(
        &self,
        jobs: ContactJobs,
        data_dir: &Path,
        documents: &DocumentService,
        clock: Arc<dyn Clock>,
    ) -> Result<Connected, ChannelConfigError> {
        let outbox = self.outbox_dir(data_dir);
        let file = Arc::new(FileChannel::new(&outbox));
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
        if let Some(smtp) = &self.email {
            jobs = jobs.with_sender(Channel::Email, Arc::new(SmtpChannel::new(smtp)?));
        }
        let mut receipts = Vec::new();
        let mut taken = Vec::new();
        for provider in &self.messaging {
            let channel = Arc::new(HttpMessagingChannel::new(provider)?);
            for c in channel.channels() {
                if !taken.contains(&c) {
                    taken.push(c);
                    jobs = jobs.with_sender(c, channel.clone());
                }
            }
            receipts.extend(channel.receipts());
        }
        if self.letters == LetterMode::Print {
            let mut letters = LetterChannel::new(documents.clone(), clock.clone(), &outbox);
            if let Some(zone) = self.batch_time_zone {
                letters = letters.with_zone(zone);
            }
            jobs = jobs.with_sender(Channel::Letter, Arc::new(letters));
        }
        if self.calls == CallMode::Dialer {
            let mut dialer = DialerExport::new(clock, &outbox);
            if let Some(zone) = self.batch_time_zone {
                dialer = dialer.with_zone(zone);
            }
            jobs = jobs.with_sender(Channel::Call, Arc::new(dialer));
        }
        Ok(Connected { jobs, receipts })
    }
}
