//! Gate decisions per second: one contact against a 90-day history, pure evaluation on
//! one core (target: 1,000,000 a second for an allowed contact).
//!
//! - `allowed`: a US debtor whose zone is ambiguous (New York or Los Angeles), 270 earlier
//!   contacts over 90 days (three a day, calls among them), a call inside the hours;
//! - `blocked, next slot`: a Colombian debtor asked on a Saturday afternoon: blocked,
//!   and the next lawful slot (Tuesday, past Sunday and a holiday Monday) is found;
//! - baseline, measured in the same run: converting the instant to the debtor's local
//!   time in both zones — the least any hours rule must do.
//!
//! `cargo bench -p collections --bench gate` measures; `cargo test -p collections --bench
//! gate` runs each once and checks its answer.

use std::hint::black_box;

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::America::{Bogota, Los_Angeles, New_York};
use chrono_tz::Tz;
use collections::compliance::{Facts, Gate, PastContact, Recipient, Request};
use collections::debtor::{
    Channel, ConsentMethod, Contact, ContactId, ContactPoint, Country, Flags, Phone,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn history(end: DateTime<Utc>) -> Vec<PastContact> {
    let channels = [Channel::Sms, Channel::Email, Channel::Call];
    (0..270)
        .map(|i| PastContact {
            at: end - Duration::days(90) + Duration::hours(8 * i),
            channel: channels[i as usize % 3],
            // Calls alternate between this debt and another, so this debt has fewer
            // than seven in any week.
            same_debt: i % 2 == 0,
            conversation: false,
        })
        .collect()
}

fn contact() -> Contact {
    let mut c = Contact::new(
        ContactId(0),
        ContactPoint::Phone(Phone::parse("+573101234567", None).unwrap()),
    );
    let long_ago = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    c.give(Channel::Call, long_ago, ConsentMethod::Written, "debtor")
        .unwrap();
    c
}

fn gate(c: &mut Criterion) {
    let gate = Gate::bundled().unwrap();
    let flags = Flags::default();
    let contact = contact();
    let call = Request {
        channel: Channel::Call,
        recipient: Recipient::Debtor,
    };
    // Wednesday 3 June 2026, 16:00 in New York (13:00 in Los Angeles).
    let us_at = Utc.with_ymd_and_hms(2026, 6, 3, 20, 0, 0).unwrap();
    let us_zones: [Tz; 2] = [New_York, Los_Angeles];
    let us_history = history(us_at);
    let us = Facts {
        country: Country::from_code("US").unwrap(),
        creditor: "acme",
        zones: &us_zones,
        flags: &flags,
        contact: Some(&contact),
        history: &us_history,
    };
    assert!(gate.decide(&us, &call, us_at).allowed());

    // Saturday 6 June 2026, 16:00 in Bogotá; Monday 8 June is a holiday.
    let co_at = Utc.with_ymd_and_hms(2026, 6, 6, 21, 0, 0).unwrap();
    let co_zones = [Bogota];
    let co_history = history(co_at);
    let co = Facts {
        country: Country::from_code("CO").unwrap(),
        zones: &co_zones,
        history: &co_history,
        ..us
    };
    let blocked = gate.decide(&co, &call, co_at);
    assert_eq!(
        blocked.next_slot,
        Some(Utc.with_ymd_and_hms(2026, 6, 9, 12, 0, 0).unwrap()),
        "{blocked:?}"
    );

    let mut g = c.benchmark_group("gate");
    g.throughput(Throughput::Elements(1));
    g.bench_function("baseline: local time in two zones", |b| {
        b.iter(|| {
            let at = black_box(us_at);
            (
                at.with_timezone(&black_box(New_York)),
                at.with_timezone(&black_box(Los_Angeles)),
            )
        })
    });
    g.bench_function("allowed", |b| {
        b.iter(|| gate.allows(black_box(&us), black_box(&call), black_box(us_at)))
    });
    g.bench_function("allowed, as decided and journalled", |b| {
        b.iter(|| gate.decide(black_box(&us), black_box(&call), black_box(us_at)))
    });
    g.bench_function("blocked, next slot", |b| {
        b.iter(|| gate.decide(black_box(&co), black_box(&call), black_box(co_at)))
    });
    g.finish();
}

criterion_group!(benches, gate);
criterion_main!(benches);
