//! A portfolio under an aggressive strategy, simulated on the pure gate: every debtor is
//! wanted every hour for 90 days, on alternating channels, and contacted at the gate's
//! next lawful slot whenever it blocks — what the runtime does with a deferred job.
//! Afterwards: no contact made breaks a rule in force at its instant, given the contacts
//! before it (a replay); and no debtor was left alone while the law allowed a contact
//! (each contact came at the first lawful minute after it was wanted).
//!
//! Pure: the runtime's deferral is tested in `contact/tests/gate.rs`; this checks the
//! gate's own answers over long horizons (clock changes, holiday runs, rolling limits).

use chrono::{Datelike, Timelike, Weekday};

use super::*;

/// (country, zones, channels used in turn): the five laws, US debtors in several zones
/// and one whose zone is unknown.
fn portfolio() -> Vec<(&'static str, Vec<Tz>, [Channel; 2])> {
    use chrono_tz::America::{Bogota, Chicago, Los_Angeles, Mexico_City, New_York, Santiago};
    use chrono_tz::Europe::Madrid;
    let mut p = Vec::new();
    for i in 0..8 {
        p.push(("CO", vec![Bogota], [Channel::Sms, Channel::Call]));
        p.push(("MX", vec![Mexico_City], [Channel::Call, Channel::WhatsApp]));
        p.push(("CL", vec![Santiago], [Channel::Call, Channel::Email]));
        p.push(("ES", vec![Madrid], [Channel::Letter, Channel::Sms]));
        let us = match i % 4 {
            0 => vec![New_York],
            1 => vec![Chicago],
            2 => vec![Los_Angeles],
            _ => vec![New_York, Los_Angeles],
        };
        p.push(("US", us, [Channel::Call, Channel::Call]));
    }
    p
}

#[test]
fn ninety_days_of_hourly_wishes_break_no_rule_and_miss_no_lawful_slot() {
    let gate = gate();
    let start = utc(2026, 2, 20, 0, 0);
    let end = start + Duration::days(90);
    for (n, (country, zones, channels)) in portfolio().into_iter().enumerate() {
        let mut d = Debtor::of(country, &zones).consenting(&Channel::ALL);
        let mut wanted = start + Duration::minutes(17 * n as i64);
        let mut made: Vec<(DateTime<Utc>, Channel)> = Vec::new();
        while wanted < end {
            let channel = channels[made.len() % 2];
            let req = by(channel);
            let at = match gate.next_slot(&d.facts(), &req, wanted) {
                Some(at) => at,
                // No slot while the facts hold: the wish is dropped, the next one comes.
                None => {
                    wanted += Duration::hours(1);
                    continue;
                }
            };
            assert!(at >= wanted);
            // The first lawful instant: the minute before it was not lawful.
            if at > wanted {
                assert!(
                    !gate.allows(&d.facts(), &req, at - Duration::minutes(1)),
                    "{country} {zones:?}: {at} is not the first lawful minute"
                );
            }
            if at >= end {
                break;
            }
            made.push((at, channel));
            d = d.contacted(at, channel, false);
            wanted = at + Duration::hours(1);
        }
        assert!(!made.is_empty(), "{country} {zones:?}: never contacted");

        // Replay: each contact under the rules of its instant, with what came before.
        let all = d.history.clone();
        for (i, (at, channel)) in made.iter().enumerate() {
            d.history = all[..i].to_vec();
            let decision = gate.decide(&d.facts(), &by(*channel), *at);
            assert!(
                decision.allowed(),
                "{country} {zones:?}: contact {i} at {at}: {decision:?}"
            );
        }

        // The law written out once more, for the two calendars that count days.
        if country == "CO" {
            let tz = zones[0];
            let mut days: Vec<NaiveDate> = made
                .iter()
                .map(|(at, _)| at.with_timezone(&tz).date_naive())
                .collect();
            let contacts = days.len();
            days.dedup();
            assert_eq!(days.len(), contacts, "one contact a day at most");
            // Every lawful day wholly inside the period had its contact.
            let co = Country::from_code("CO").unwrap();
            let mut day = (start + Duration::minutes(17 * n as i64))
                .with_timezone(&tz)
                .date_naive()
                .succ_opt()
                .unwrap();
            let last = end.with_timezone(&tz).date_naive();
            while day < last {
                let lawful = day.weekday() != Weekday::Sun
                    && crate::holidays::holiday(co, day).unwrap().is_none();
                assert_eq!(days.contains(&day), lawful, "CO {day}");
                day = day.succ_opt().unwrap();
            }
            for (at, _) in &made {
                let local = at.with_timezone(&tz);
                let hour = local.hour();
                match local.weekday() {
                    Weekday::Sat => assert!((8..15).contains(&hour), "{local}"),
                    _ => assert!((7..19).contains(&hour), "{local}"),
                }
            }
        }
        if country == "US" {
            // Seven calls a week, never eight: the wishes ask for far more.
            for (i, (at, _)) in made.iter().enumerate() {
                let week = made[..=i]
                    .iter()
                    .filter(|(t, _)| *t > *at - Duration::days(7))
                    .count();
                assert!(week <= 7, "{zones:?}: {week} calls in the week to {at}");
            }
            let full_weeks = made.len() / 7;
            assert!(
                full_weeks >= 12,
                "{zones:?}: {} calls in 90 days",
                made.len()
            );
        }
    }
}
