//! Contact execution: the built-in channel connectors that `serve` registers as job
//! handlers for `contact.*` service tasks, the templates they render, and the contact
//! attempts they record on the case.
//!
//! One job makes one attempt: the handler picks the destination from the debtor's file,
//! renders the creditor's template, records the attempt (`sending`) on the case, hands
//! the message to the channel's [`Sender`] under the job's idempotency key, and records
//! what the provider answered. A crash between handing over and recording redelivers the
//! job under the same key; the attempt already on the case is handed over again with
//! that key, so a provider that honours it (and the file channel, which writes one file
//! per key) delivers it once.

mod batch;
pub mod config;
pub mod context;
pub mod dialer;
pub mod email;
pub mod error;
pub mod file;
pub mod job;
pub mod letter;
pub mod message;
pub mod pdf;
pub mod preview;
pub mod receipts;
pub mod sms;
pub mod templates;

pub use dialer::DialerExport;
pub use error::{ChannelConfigError, ContactError};
pub use job::{ContactJobs, channel_of_job_type};
pub use letter::LetterChannel;
pub use message::{OutgoingMessage, SendError, SendFuture, Sender, Sent};
pub use templates::{NewTemplate, Template, TemplateFilter, Templates};
