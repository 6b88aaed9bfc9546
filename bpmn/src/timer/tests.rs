use chrono::{DateTime, Utc};

use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn dur(s: &str) -> IsoDuration {
    parse_duration(s).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn durations_parse() {
    assert_eq!(
        dur("P7D"),
        IsoDuration {
            days: 7,
            ..Default::default()
        }
    );
    assert_eq!(
        dur("PT10M"),
        IsoDuration {
            minutes: 10,
            ..Default::default()
        }
    );
    assert_eq!(
        dur("P1Y2M"),
        IsoDuration {
            years: 1,
            months: 2,
            ..Default::default()
        }
    );
    assert_eq!(
        dur("P1W"),
        IsoDuration {
            weeks: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        dur("PT0.5S"),
        IsoDuration {
            millis: 500,
            ..Default::default()
        }
    );
    assert_eq!(
        dur("PT1,25S"),
        IsoDuration {
            millis: 1250,
            ..Default::default()
        }
    );
    assert_eq!(
        dur("PT90S"),
        IsoDuration {
            millis: 90_000,
            ..Default::default()
        }
    );
    assert_eq!(
        dur("P1Y2M3W4DT5H6M7.0089S"),
        IsoDuration {
            years: 1,
            months: 2,
            weeks: 3,
            days: 4,
            hours: 5,
            minutes: 6,
            millis: 7008
        }
    );
    assert_eq!(
        parse_timer(TimerKind::Duration, " P7D "),
        Ok(TimerSpec::Duration(dur("P7D")))
    );
}

#[test]
fn bad_durations_say_what_was_expected() {
    let e = parse_duration("P7X").unwrap_err();
    assert_eq!(
        e,
        "`P7X` is not an ISO 8601 duration (expected e.g. P7D, PT10M, P1Y2M)"
    );
    for bad in [
        "",
        "P",
        "PT",
        "-P1D",
        "P1DT",
        "7D",
        "P1.5D",
        "PT.5S",
        "PT5.S",
        "P1D1Y",
        "P1D1D",
        "PT1S1M",
        "p1d",
        "P99999999999D",
        "PTM",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
    assert!(parse_duration("-P1D").unwrap_err().contains("negative"));
}

#[test]
fn duration_arithmetic() {
    assert_eq!(
        dur("P7D").after(t("2026-03-01T10:00:00Z")),
        Some(t("2026-03-08T10:00:00Z"))
    );
    assert_eq!(
        dur("PT0.5S").after(t("2026-03-01T10:00:00Z")),
        Some(t("2026-03-01T10:00:00.5Z"))
    );
    // Month end clamps; leap years count.
    assert_eq!(
        dur("P1M").after(t("2026-01-31T08:00:00Z")),
        Some(t("2026-02-28T08:00:00Z"))
    );
    assert_eq!(
        dur("P1M").after(t("2028-01-31T08:00:00Z")),
        Some(t("2028-02-29T08:00:00Z"))
    );
    assert_eq!(
        dur("P1Y").after(t("2028-02-29T00:00:00Z")),
        Some(t("2029-02-28T00:00:00Z"))
    );
    assert_eq!(
        dur("P1M1D").after(t("2026-01-31T00:00:00Z")),
        Some(t("2026-03-01T00:00:00Z"))
    );
    assert_eq!(
        dur("PT25H").after(t("2026-01-01T00:00:00Z")),
        Some(t("2026-01-02T01:00:00Z"))
    );
    // Overflow is None, never a panic.
    let huge = IsoDuration {
        years: u32::MAX,
        ..Default::default()
    };
    assert_eq!(huge.after(t("2026-01-01T00:00:00Z")), None);
    let huge = IsoDuration {
        millis: u64::MAX,
        ..Default::default()
    };
    assert_eq!(huge.after(t("2026-01-01T00:00:00Z")), None);
    let big = IsoDuration {
        days: u32::MAX,
        hours: u32::MAX,
        ..Default::default()
    };
    assert_eq!(big.after(t("2026-01-01T00:00:00Z")), None);
}

#[test]
fn dates() {
    let d = |s| parse_timer(TimerKind::Date, s);
    assert_eq!(
        d("2026-12-01T08:00:00Z"),
        Ok(TimerSpec::Date(t("2026-12-01T08:00:00Z")))
    );
    assert_eq!(
        d("2026-12-01T08:00:00+01:00"),
        Ok(TimerSpec::Date(t("2026-12-01T07:00:00Z")))
    );
    assert_eq!(
        d("2026-12-01T08:00:00.250-02:30"),
        Ok(TimerSpec::Date(t("2026-12-01T10:30:00.25Z")))
    );
    // Without an offset: UTC (documented).
    assert_eq!(
        d("2026-12-01T08:00:00"),
        Ok(TimerSpec::Date(t("2026-12-01T08:00:00Z")))
    );
    assert_eq!(
        d("2026-12-01"),
        Ok(TimerSpec::Date(t("2026-12-01T00:00:00Z")))
    );
    for bad in ["2026-13-01T00:00:00Z", "tomorrow", "2026-02-30", ""] {
        assert!(d(bad).unwrap_err().contains("expected e.g."), "{bad}");
    }
    let spec = d("2026-12-01T08:00:00Z").unwrap();
    assert_eq!(
        spec.first_due(t("2027-01-01T00:00:00Z")),
        Some(t("2026-12-01T08:00:00Z"))
    );
    assert_eq!(spec.next_due(t("2026-12-01T08:00:00Z"), 1), None);
}

#[test]
fn cycles() {
    let c = |s| parse_timer(TimerKind::Cycle, s).unwrap_or_else(|e| panic!("{e}"));
    let now = t("2026-01-01T00:00:00Z");
    let r5 = c("R5/PT10M");
    assert_eq!(
        r5,
        TimerSpec::Cycle {
            repetitions: Some(5),
            start: None,
            interval: dur("PT10M")
        }
    );
    assert_eq!(r5.first_due(now), Some(t("2026-01-01T00:10:00Z")));
    assert_eq!(
        r5.next_due(t("2026-01-01T00:10:00Z"), 1),
        Some(t("2026-01-01T00:20:00Z"))
    );
    assert_eq!(r5.next_due(t("2026-01-01T00:50:00Z"), 5), None);

    let unbounded = c("R/P1D");
    assert_eq!(
        unbounded,
        TimerSpec::Cycle {
            repetitions: None,
            start: None,
            interval: dur("P1D")
        }
    );
    assert_eq!(
        unbounded.next_due(now, u32::MAX),
        Some(t("2026-01-02T00:00:00Z"))
    );
    assert_eq!(
        c("PT5M"),
        TimerSpec::Cycle {
            repetitions: None,
            start: None,
            interval: dur("PT5M")
        }
    );

    let started = c("R3/2026-01-05T08:00:00Z/P1D");
    assert_eq!(started.first_due(now), Some(t("2026-01-05T08:00:00Z")));
    assert_eq!(
        started.next_due(t("2026-01-05T08:00:00Z"), 1),
        Some(t("2026-01-06T08:00:00Z"))
    );
    assert_eq!(started.next_due(t("2026-01-07T08:00:00Z"), 3), None);
    // A start in the past runs the first interval from now.
    assert_eq!(
        started.first_due(t("2026-02-01T00:00:00Z")),
        Some(t("2026-02-02T00:00:00Z"))
    );

    for bad in [
        "R0/PT1M",
        "Rx/PT1M",
        "R/PT0S",
        "R3",
        "R3/P1D/2026-01-01T00:00:00Z",
        "R/a/b/c",
        "R5/P7X",
    ] {
        assert!(parse_timer(TimerKind::Cycle, bad).is_err(), "{bad}");
    }
}

#[test]
fn cron_cycles() {
    let spec = parse_timer(TimerKind::Cycle, "0 0 8 * * MON-FRI").unwrap();
    // 2026-01-02 is a Friday, 01-03 a Saturday.
    assert_eq!(
        spec.first_due(t("2026-01-02T09:00:00Z")),
        Some(t("2026-01-05T08:00:00Z"))
    );
    assert_eq!(
        spec.next_due(t("2026-01-05T08:00:00Z"), 1),
        Some(t("2026-01-06T08:00:00Z"))
    );
    assert!(
        parse_timer(TimerKind::Cycle, "0 0 8 * * 1-5")
            .unwrap_err()
            .contains("by name")
    );
    assert!(parse_timer(TimerKind::Cycle, "0 */15 * * * *").is_ok());
    assert!(
        parse_timer(TimerKind::Cycle, "0 0 61 * * *")
            .unwrap_err()
            .contains("cron")
    );
    assert!(
        parse_timer(TimerKind::Cycle, "every day")
            .unwrap_err()
            .contains("expected e.g.")
    );
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,30}", iso in "[PRT0-9YMWDHS./:Z+-]{0,20}", secs in 0i64..4_000_000_000) {
        let now = DateTime::from_timestamp(secs, 0).unwrap_or_default();
        for s in [&text, &iso] {
            for kind in [TimerKind::Duration, TimerKind::Date, TimerKind::Cycle] {
                if let Ok(spec) = parse_timer(kind, s) {
                    let _ = spec.first_due(now);
                    let _ = spec.next_due(now, 1);
                }
            }
        }
    }
}
