//! Local time in a debtor's zone, as the rules need it: the start of a local day or week
//! and the next instant inside a window, exact across daylight-saving changes. A local
//! time that does not exist (skipped when clocks go forward) is taken at the first
//! instant after the gap; one that exists twice (clocks go back) at its first occurrence.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::pack::Window;

/// The first instant whose local time in `tz` is `local` or, in a gap, the first after it.
pub fn instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    if let Some(t) = tz.from_local_datetime(&local).earliest() {
        return t.with_timezone(&Utc);
    }
    // In a gap: gaps are whole minutes and at most a few hours long.
    (1..=24 * 60)
        .find_map(|m| {
            tz.from_local_datetime(&(local + Duration::minutes(m)))
                .earliest()
        })
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// The local date of `t` in `tz`.
pub fn date(tz: Tz, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// The instant the local day `day` starts in `tz`.
pub fn day_start(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    instant(tz, day.and_time(chrono::NaiveTime::MIN))
}

/// The instant the local week (from Monday) of `t` starts in `tz`.
pub fn week_start(tz: Tz, t: DateTime<Utc>) -> DateTime<Utc> {
    let day = date(tz, t);
    day_start(
        tz,
        day - Duration::days(day.weekday().num_days_from_monday().into()),
    )
}

/// Whether the local time of `t` in `tz` is inside one of `windows`.
pub fn inside(tz: Tz, windows: &[Window], t: DateTime<Utc>) -> bool {
    let local = t.with_timezone(&tz);
    let secs = local.num_seconds_from_midnight();
    let day = local.weekday();
    windows
        .iter()
        .any(|w| w.on(day) && w.from <= secs && secs < w.to)
}

/// The first instant at or after `t` whose local time in `tz` is inside one of
/// `windows`; `None` when no window opens within eight days (a window so short that a
/// clock change swallows it every time). A window opening inside the hour repeated when
/// clocks go back opens at that hour's first occurrence only; the packs' windows open
/// at 7 or 8 in the morning, far from any change.
pub fn next_inside(tz: Tz, windows: &[Window], t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if inside(tz, windows, t) {
        return Some(t);
    }
    let today = date(tz, t);
    let mut best: Option<DateTime<Utc>> = None;
    for offset in 0..=8 {
        let day = today + Duration::days(offset);
        for w in windows.iter().filter(|w| w.on(day.weekday())) {
            let opens = instant(
                tz,
                day.and_time(chrono::NaiveTime::MIN) + Duration::seconds(w.from.into()),
            );
            // Opened in a gap's shadow, it may land past its own end.
            if opens >= t && inside(tz, windows, opens) && best.is_none_or(|b| opens < b) {
                best = Some(opens);
            }
        }
        if best.is_some() {
            return best;
        }
    }
    best
}
