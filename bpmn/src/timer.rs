//! ISO 8601 timer values: durations (`P7D`), dates (`2026-12-01T08:00:00Z`) and cycles
//! (`R3/PT10M`, `R/2026-01-01T08:00:00Z/P1D`), plus Zeebe's cron cycles
//! (`0 0 8 * * MON-FRI`). Pure calendar arithmetic on a given `now`.
//!
//! Date-times without an offset are read as UTC: Camunda reads them in the server's zone,
//! but this crate has no zone to read.

use std::str::FromStr;

use chrono::{DateTime, Days, Months, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::model::TimerKind;

#[cfg(test)]
mod tests;

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
    ///
    /// Calendar parts first, then clock parts, as java.time does: 2026-01-31 + P1M is
    /// 2026-02-28 (chrono clamps to the month's end).
    pub fn after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let months = self.years.checked_mul(12)?.checked_add(self.months)?;
        let days = u64::from(self.weeks) * 7 + u64::from(self.days);
        let clock = TimeDelta::try_hours(i64::from(self.hours))?
            .checked_add(&TimeDelta::try_minutes(i64::from(self.minutes))?)?
            .checked_add(&TimeDelta::try_milliseconds(
                i64::try_from(self.millis).ok()?,
            )?)?;
        at.checked_add_months(Months::new(months))?
            .checked_add_days(Days::new(days))?
            .checked_add_signed(clock)
    }

    fn is_zero(&self) -> bool {
        *self == IsoDuration::default()
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
    /// A Spring/Zeebe cron cycle (seconds first, day-of-week by name), unbounded.
    Cron(String),
}

const DURATION_HINT: &str = "expected e.g. P7D, PT10M, P1Y2M";
const DATE_HINT: &str = "expected e.g. 2026-12-01T08:00:00Z or 2026-12-01T08:00:00+01:00";
const CYCLE_HINT: &str = "expected e.g. R5/PT10M, R/P1D, R3/2026-01-01T08:00:00Z/P1D or a cron expression like 0 0 8 * * MON-FRI";

/// Parses a timer value of the given kind; the error says what is wrong.
pub fn parse_timer(kind: TimerKind, text: &str) -> Result<TimerSpec, String> {
    let text = text.trim();
    match kind {
        TimerKind::Duration => parse_duration(text).map(TimerSpec::Duration),
        TimerKind::Date => parse_date_time(text).map(TimerSpec::Date),
        TimerKind::Cycle => parse_cycle(text),
    }
}

/// `PnYnMnWnDTnHnMnS`; only the seconds may have a fraction (kept to the millisecond).
pub fn parse_duration(text: &str) -> Result<IsoDuration, String> {
    let bad = |why: &str| format!("`{text}` is not an ISO 8601 duration ({why}{DURATION_HINT})");
    if text.starts_with('-') {
        return Err(bad("negative durations cannot schedule a timer; "));
    }
    let body = text.strip_prefix('P').ok_or_else(|| bad(""))?;
    let (date, time) = match body.split_once('T') {
        Some((d, "")) => return Err(bad(&format!("nothing after T in `{d}T`; "))),
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    // Units must come in order, each at most once: `P1D1Y` is a typo, not a sum.
    if !in_order(date, "YMWD") || !time.is_none_or(|t| in_order(t, "HMS")) {
        return Err(bad("units out of order or repeated; "));
    }
    let mut d = IsoDuration::default();
    let mut seen = false;
    for (num, unit) in fields(date).ok_or_else(|| bad(""))? {
        let n = int(num).ok_or_else(|| bad(""))?;
        let slot = match unit {
            'Y' => &mut d.years,
            'M' => &mut d.months,
            'W' => &mut d.weeks,
            'D' => &mut d.days,
            _ => return Err(bad("")),
        };
        *slot = n;
        seen = true;
    }
    if let Some(time) = time {
        for (num, unit) in fields(time).ok_or_else(|| bad(""))? {
            match unit {
                'H' => d.hours = int(num).ok_or_else(|| bad(""))?,
                'M' => d.minutes = int(num).ok_or_else(|| bad(""))?,
                'S' => d.millis = seconds_to_millis(num).ok_or_else(|| bad(""))?,
                _ => return Err(bad("")),
            }
            seen = true;
        }
    }
    if !seen {
        return Err(bad("no amount given; "));
    }
    Ok(d)
}

/// Splits `1Y2M` into (`1`, 'Y'), (`2`, 'M'); `None` if it does not have that shape.
fn fields(s: &str) -> Option<Vec<(&str, char)>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c.is_ascii_uppercase() {
            let num = s.get(start..i)?;
            if num.is_empty() {
                return None;
            }
            out.push((num, c));
            start = i + 1;
        } else if !(c.is_ascii_digit() || c == '.' || c == ',') {
            return None;
        }
    }
    (start == s.len()).then_some(out)
}

/// Unit letters of `s` appear in the order of `order`, each at most once.
fn in_order(s: &str, order: &str) -> bool {
    let ranks: Vec<Option<usize>> = s
        .chars()
        .filter(char::is_ascii_uppercase)
        .map(|c| order.find(c))
        .collect();
    ranks.windows(2).all(|w| w[0] < w[1])
}

fn int(s: &str) -> Option<u32> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// `12`, `0.5`, `1,25` seconds -> milliseconds; digits past the millisecond are dropped.
fn seconds_to_millis(s: &str) -> Option<u64> {
    let (whole, frac) = match s.split_once(['.', ',']) {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if s.contains(['.', ',']) && frac.is_empty() {
        return None;
    }
    let ms_digits: String = frac.chars().chain("000".chars()).take(3).collect();
    whole
        .parse::<u64>()
        .ok()?
        .checked_mul(1000)?
        .checked_add(ms_digits.parse::<u64>().ok()?)
}

/// RFC 3339 / ISO 8601 date-time with offset, or without (read as UTC), or a date
/// (midnight UTC).
pub fn parse_date_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(dt) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M%#z") {
        return Ok(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, fmt) {
            return Ok(naive.and_utc());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(format!(
        "`{text}` is not an ISO 8601 date-time ({DATE_HINT})"
    ))
}

fn parse_cycle(text: &str) -> Result<TimerSpec, String> {
    let bad = |why: String| format!("`{text}` is not a timer cycle ({why}{CYCLE_HINT})");
    if !text.starts_with('R') && !text.starts_with('P') {
        return parse_cron(text);
    }
    let mut parts = text.split('/');
    let first = parts.next().unwrap_or_default();
    let (repetitions, rest): (Option<u32>, Vec<&str>) = if let Some(n) = first.strip_prefix('R') {
        let reps = if n.is_empty() {
            None
        } else {
            match int(n) {
                Some(0) | None => return Err(bad(format!("`R{n}` is not a repetition count; "))),
                Some(n) => Some(n),
            }
        };
        (reps, parts.collect())
    } else {
        // A bare duration repeats forever, as Camunda 7 reads it.
        (None, std::iter::once(first).chain(parts).collect())
    };
    let (start, interval) = match rest.as_slice() {
        [dur] => (None, parse_duration(dur)?),
        [start, dur] if start.starts_with('P') => {
            return Err(bad(format!(
                "`{start}/{dur}` (duration/end) is not supported; "
            )));
        }
        [start, dur] => (Some(parse_date_time(start)?), parse_duration(dur)?),
        _ => return Err(bad(String::new())),
    };
    if interval.is_zero() {
        return Err(bad("a zero interval would fire without end; ".into()));
    }
    Ok(TimerSpec::Cycle {
        repetitions,
        start,
        interval,
    })
}

fn parse_cron(text: &str) -> Result<TimerSpec, String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() < 6 && !text.starts_with('@') {
        return Err(format!("`{text}` is not a timer cycle ({CYCLE_HINT})"));
    }
    // Spring counts Sunday as 0, the cron crate as 1: numbers would fire a day off.
    let numeric_day = |dow: &str| {
        let mut prev = ' ';
        dow.chars().any(|c| {
            // In `*/2` or `MON#2` the number is a step or an occurrence, not a day.
            let day = c.is_ascii_digit() && !matches!(prev, '#' | '/') && !prev.is_ascii_digit();
            prev = c;
            day
        })
    };
    if fields.get(5).is_some_and(|dow| numeric_day(dow)) {
        return Err(format!(
            "`{text}`: write the day of week by name (MON-FRI), numbers differ between cron dialects"
        ));
    }
    cron::Schedule::from_str(text)
        .map(|_| TimerSpec::Cron(text.to_string()))
        .map_err(|e| {
            format!("`{text}` is not a cron expression ({e}; expected e.g. 0 0 8 * * MON-FRI)")
        })
}

fn cron_after(expr: &str, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron::Schedule::from_str(expr).ok()?.after(&at).next()
}

impl TimerSpec {
    /// When the timer first fires if armed at `now`.
    ///
    /// A cycle whose start has passed runs its first interval from `now` (as Zeebe).
    pub fn first_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            TimerSpec::Duration(d) => d.after(now),
            TimerSpec::Date(at) => Some(*at),
            TimerSpec::Cycle {
                start: Some(start), ..
            } if *start >= now => Some(*start),
            TimerSpec::Cycle { interval, .. } => interval.after(now),
            TimerSpec::Cron(expr) => cron_after(expr, now),
        }
    }

    /// For cycles: when the next firing after `fired_at` is due, given how many firings
    /// have happened (including that one). `None` once repetitions are exhausted.
    pub fn next_due(&self, fired_at: DateTime<Utc>, fired: u32) -> Option<DateTime<Utc>> {
        match self {
            TimerSpec::Duration(_) | TimerSpec::Date(_) => None,
            TimerSpec::Cycle {
                repetitions: Some(n),
                ..
            } if fired >= *n => None,
            TimerSpec::Cycle { interval, .. } => interval.after(fired_at),
            TimerSpec::Cron(expr) => cron_after(expr, fired_at),
        }
    }
}
