//! ISO 8601 timer values: durations (`P7D`), dates (`2026-12-01T08:00:00Z`) and cycles
//! (`R3/PT10M`, `R/2026-01-01T08:00:00Z/P1D`). Pure calendar arithmetic on a given `now`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::TimerKind;

/// An ISO 8601 duration with calendar parts kept apart (P1M is not 30 days).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsoDuration {
    pub years: u32,
    pub months: u32,
    pub weeks: u32,
    pub days: u32,
    pub hours: u32,
    pub minutes: u32,
    pub millis: u64,
}

impl IsoDuration {
    /// `at + self`, `None` on overflow.
    pub fn after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let _ = at;
        None
    }
}

/// A parsed timer definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerSpec {
    Duration(IsoDuration),
    Date(DateTime<Utc>),
    Cycle {
        /// `None` = unbounded (`R/...`).
        repetitions: Option<u32>,
        start: Option<DateTime<Utc>>,
        interval: IsoDuration,
    },
}

/// Parses a timer value of the given kind; the error says what is wrong.
pub fn parse_timer(kind: TimerKind, text: &str) -> Result<TimerSpec, String> {
    let _ = (kind, text);
    Err("not implemented".into())
}

impl TimerSpec {
    /// When the timer first fires if armed at `now`.
    pub fn first_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let _ = now;
        None
    }

    /// For cycles: when the next firing after `fired_at` is due, given how many firings
    /// have happened (including that one). `None` once repetitions are exhausted.
    pub fn next_due(&self, fired_at: DateTime<Utc>, fired: u32) -> Option<DateTime<Utc>> {
        let _ = (fired_at, fired);
        None
    }
}
