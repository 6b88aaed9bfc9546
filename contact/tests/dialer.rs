//! The dialer export: a row per call in the day's list, once per attempt key, even when
//! the job comes again after midnight.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use collections::contact::{Channel, DeliveryStatus};
use contact::dialer::DIALER_HEADER;
use contact::{DialerExport, OutgoingMessage, SendError, Sender};
use services::clock::VirtualClock;

fn call(key: &str, to: &str) -> OutgoingMessage {
    OutgoingMessage {
        key: key.into(),
        tenant: "acme".into(),
        case_id: "case-1".into(),
        attempt: 3,
        channel: Channel::Call,
        to: to.into(),
        envelope: Vec::new(),
        recipient_name: "Ana María Pérez".into(),
        subject: None,
        // Commas, quotes and a line break survive the CSV.
        body: "Llamar a \"Ana\", saldo $ 1.250.000.\nOfrecer plan.".into(),
        language: "es".into(),
    }
}

fn rows(path: &std::path::Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    assert_eq!(r.headers().unwrap(), DIALER_HEADER.as_slice());
    r.records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn calls_are_listed_once_per_key() {
    let clock = Arc::new(VirtualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 23, 50, 0).unwrap(),
    ));
    let outbox = tempfile::tempdir().unwrap();
    let dialer = DialerExport::new(clock.clone(), outbox.path());
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let next = day.succ_opt().unwrap();

    let m = call("job-7", "+573101234567");
    let sent = dialer.send(&m).await.unwrap();
    assert_eq!(
        (sent.provider.as_str(), sent.status),
        ("dialer", DeliveryStatus::Exported)
    );
    let want = vec![
        "job-7",
        "acme",
        "case-1",
        "+573101234567",
        "Ana María Pérez",
        "es",
        "Llamar a \"Ana\", saldo $ 1.250.000.\nOfrecer plan.",
    ];
    assert_eq!(rows(&dialer.list_path(day)), std::slice::from_ref(&want));

    // Redelivered after midnight: still in the first day's list, once.
    clock.advance(Duration::minutes(20));
    assert_eq!(dialer.send(&m).await.unwrap(), sent);
    assert_eq!(rows(&dialer.list_path(day)), [want]);
    assert!(!dialer.list_path(next).exists());

    // A new call goes to the new day's list.
    dialer.send(&call("job-8", "+573109876543")).await.unwrap();
    let listed = rows(&dialer.list_path(next));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0][0], "job-8");

    // Not a phone number: the dialer cannot call it.
    let bad = dialer.send(&call("job-9", "Calle 10, Bogotá")).await;
    assert!(matches!(bad, Err(SendError::InvalidContact(_))), "{bad:?}");
}

/// The call centre's day, from the channels file: 20:30 in Bogotá is 01:30 UTC the next
/// day, and the call goes in Bogotá's list of the day.
#[tokio::test]
async fn the_lists_follow_the_call_centres_calendar() {
    let config: contact::config::ChannelsConfig =
        serde_json::from_str(r#"{"calls": "dialer", "batchTimeZone": "America/Bogota"}"#).unwrap();
    let zone = config.batch_time_zone.expect("a zone");
    let bad = serde_json::from_str::<contact::config::ChannelsConfig>(
        r#"{"batchTimeZone": "Mars/Olympus_Mons"}"#,
    );
    assert!(bad.is_err());
    let clock = Arc::new(VirtualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 3, 1, 30, 0).unwrap(),
    ));
    let outbox = tempfile::tempdir().unwrap();
    let dialer = DialerExport::new(clock.clone(), outbox.path()).with_zone(zone);
    dialer.send(&call("job-1", "+573101234567")).await.unwrap();
    let bogota_day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    assert_eq!(rows(&dialer.list_path(bogota_day)).len(), 1);
    assert!(!dialer.list_path(bogota_day.succ_opt().unwrap()).exists());
}
