//! The `call` channel as a dialer export: each call is a row of the day's list,
//! `<outbox>/dialer/<YYYY-MM-DD>.csv` (see [`DIALER_HEADER`]), which a predictive dialer
//! imports. Agents' own calls stay BPMN user tasks; this is for campaigns a dialer runs.
//!
//! Idempotent by the attempt's key across days: before the row is added, a marker
//! `<outbox>/dialer/exported/<key>` records the day it goes to, so a redelivery after a
//! crash (even past midnight) adds to that day's list, where the key is found.

use std::path::PathBuf;
use std::sync::Arc;

use collections::contact::DeliveryStatus;
use collections::creditor::{Tz, local_day};
use services::clock::Clock;

use crate::batch::{add_row, io_error, safe_name, write_atomically};
use crate::message::{OutgoingMessage, SendError, SendFuture, Sender, Sent};

/// The columns of a day's call list; `script` is the rendered call script.
pub const DIALER_HEADER: [&str; 7] = [
    "attempt_key",
    "tenant",
    "case_id",
    "phone",
    "recipient_name",
    "language",
    "script",
];

#[derive(Clone)]
pub struct DialerExport {
    clock: Arc<dyn Clock>,
    /// `<data dir>/outbox`.
    outbox: PathBuf,
    zone: Tz,
    /// One list rewrite at a time (one exporter per outbox directory).
    list: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for DialerExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DialerExport")
            .field("outbox", &self.outbox)
            .field("zone", &self.zone)
            .finish_non_exhaustive()
    }
}

impl DialerExport {
    /// Calls listed under `<outbox>/dialer/`, one file per UTC day of `clock` (see
    /// [`DialerExport::with_zone`]).
    pub fn new(clock: Arc<dyn Clock>, outbox: impl Into<PathBuf>) -> Self {
        DialerExport {
            clock,
            outbox: outbox.into(),
            zone: Tz::UTC,
            list: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Cuts the lists at midnight in `zone` (the call centre's).
    pub fn with_zone(mut self, zone: Tz) -> Self {
        self.zone = zone;
        self
    }

    /// A day's call list.
    pub fn list_path(&self, day: chrono::NaiveDate) -> PathBuf {
        self.outbox
            .join("dialer")
            .join(format!("{}.csv", day.format("%Y-%m-%d")))
    }

    async fn export(&self, m: &OutgoingMessage) -> Result<Sent, SendError> {
        if !m.to.starts_with('+') {
            return Err(SendError::InvalidContact(format!(
                "a dialer calls E.164 numbers, not {:?}",
                collections::contact::mask(&m.to)
            )));
        }
        let marker = self
            .outbox
            .join("dialer")
            .join("exported")
            .join(safe_name(&m.key));
        let _one_at_a_time = self.list.lock().await;
        let day = match tokio::fs::read_to_string(&marker).await {
            Ok(day) => chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
                .map_err(|e| SendError::Unavailable(format!("{}: {e}", marker.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let day = local_day(self.clock.now(), self.zone);
                write_atomically(&marker, day.format("%Y-%m-%d").to_string().as_bytes()).await?;
                day
            }
            Err(e) => return Err(io_error(&marker)(e)),
        };
        let path = self.list_path(day);
        let row = [
            m.key.clone(),
            m.tenant.clone(),
            m.case_id.clone(),
            m.to.clone(),
            m.recipient_name.clone(),
            m.language.clone(),
            m.body.clone(),
        ];
        add_row(&path, &DIALER_HEADER, &row).await?;
        Ok(Sent {
            provider: "dialer".into(),
            // Where the dialer will find it (relative to the outbox).
            provider_message_id: Some(format!("dialer/{}.csv", day.format("%Y-%m-%d"))),
            status: DeliveryStatus::Exported,
        })
    }
}

impl Sender for DialerExport {
    fn send<'a>(&'a self, m: &'a OutgoingMessage) -> SendFuture<'a> {
        Box::pin(self.export(m))
    }
}
