//! For random histories and instants: the gate agrees with the law written out
//! independently, and its next lawful slot is lawful and the first one.

use chrono::{Datelike, Timelike, Weekday};
use proptest::prelude::*;

use super::*;

const JURISDICTIONS: [(&str, &[Tz]); 6] = [
    ("US", &[chrono_tz::America::New_York]),
    (
        "US",
        &[
            chrono_tz::America::New_York,
            chrono_tz::America::Los_Angeles,
        ],
    ),
    ("CO", &[chrono_tz::America::Bogota]),
    ("MX", &[chrono_tz::America::Mexico_City]),
    ("CL", &[chrono_tz::America::Santiago]),
    ("ES", &[chrono_tz::Europe::Madrid]),
];

fn channel() -> impl Strategy<Value = Channel> {
    prop::sample::select(Channel::ALL.to_vec())
}

/// A minute of 2026 (from 2 April: 90 days of history fit inside the year).
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (91i64 * 1440..365 * 1440).prop_map(|m| utc(2026, 1, 1, 0, 0) + Duration::minutes(m))
}

/// Up to 40 contacts in the 90 days before `at`, some about other debts, some
/// conversations, some of them in the last day or week.
fn history(at: DateTime<Utc>) -> impl Strategy<Value = Vec<PastContact>> {
    prop::collection::vec(
        (
            prop_oneof![1i64..90 * 1440, 1i64..7 * 1440, 1i64..1440],
            channel(),
            any::<bool>(),
            prop::bool::weighted(0.1),
        ),
        0..40,
    )
    .prop_map(move |rows| {
        let mut h: Vec<PastContact> = rows
            .into_iter()
            .map(|(back, channel, other, conversation)| PastContact {
                at: at - Duration::minutes(back),
                channel,
                same_debt: !other,
                conversation,
            })
            .collect();
        h.sort_by_key(|c| c.at);
        h
    })
}

fn case() -> impl Strategy<
    Value = (
        usize,
        DateTime<Utc>,
        Vec<PastContact>,
        Channel,
        Vec<Channel>,
    ),
> {
    (0..JURISDICTIONS.len(), instant()).prop_flat_map(|(j, at)| {
        (
            Just(j),
            Just(at),
            history(at),
            channel(),
            prop::sample::subsequence(Channel::ALL.to_vec(), 0..=6),
        )
    })
}

fn debtor(j: usize, history: Vec<PastContact>, consents: &[Channel]) -> Debtor {
    let (country, zones) = JURISDICTIONS[j];
    let mut d = Debtor::of(country, zones).consenting(consents);
    d.history = history;
    d
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Blocked means a slot that is lawful, later, and preceded by no lawful minute.
    #[test]
    fn the_next_lawful_slot_is_lawful_and_the_first((j, at, history, channel, consents) in case()) {
        let gate = gate();
        let d = debtor(j, history, &consents);
        let req = by(channel);
        let decision = gate.decide(&d.facts(), &req, at);
        prop_assert_eq!(decision.allowed(), gate.allows(&d.facts(), &req, at));
        if decision.allowed() {
            prop_assert_eq!(decision.next_slot, None);
            return Ok(());
        }
        prop_assert!(!decision.blocks.is_empty());
        let Some(slot) = decision.next_slot else {
            return Ok(());
        };
        prop_assert!(slot > at);
        prop_assert!(gate.allows(&d.facts(), &req, slot), "slot {} not lawful", slot);
        // Every minute before it, up to eight days, is unlawful.
        let mut m = at;
        while m < slot && m < at + Duration::days(8) {
            prop_assert!(!gate.allows(&d.facts(), &req, m), "{} is lawful before the slot {}", m, slot);
            m += Duration::minutes(1);
        }
    }

    /// Colombia, Ley 2300, written out again: Monday to Friday 7–19, Saturday 8–15,
    /// never Sundays or holidays, one contact a day, only authorised channels.
    #[test]
    fn colombia_agrees_with_the_law_written_out((_, at, history, channel, consents) in case()) {
        let d = debtor(2, history, &consents);
        let req = by(channel);
        let local = at.with_timezone(&chrono_tz::America::Bogota);
        let minutes = local.hour() * 60 + local.minute();
        let hours = match local.weekday() {
            Weekday::Sun => false,
            Weekday::Sat => (8 * 60..15 * 60).contains(&minutes),
            _ => (7 * 60..19 * 60).contains(&minutes),
        };
        let holiday = crate::holidays::holiday(Country::from_code("CO").unwrap(), local.date_naive())
            .unwrap()
            .is_some();
        let today = d.history.iter().any(|c| {
            c.channel != Channel::Letter
                && c.at <= at
                && c.at.with_timezone(&chrono_tz::America::Bogota).date_naive() == local.date_naive()
        });
        let lawful = if channel == Channel::Letter {
            true
        } else {
            hours && !holiday && !today && consents.contains(&channel) && channel.uses() == ContactKind::Phone
        };
        prop_assert_eq!(gate().allows(&d.facts(), &req, at), lawful);
    }

    /// Regulation F, written out again, for one zone: 8 am to 9 pm; fewer than seven
    /// calls about this debt in the last seven days and no conversation in them.
    #[test]
    fn regulation_f_agrees_with_the_law_written_out((_, at, history, channel, _) in case()) {
        let d = debtor(0, history, &[]);
        let req = by(channel);
        let local = at.with_timezone(&chrono_tz::America::New_York);
        let hours = channel == Channel::Letter || (8..21).contains(&local.hour());
        let week: Vec<&PastContact> = d
            .history
            .iter()
            .filter(|c| c.at <= at && c.at > at - Duration::days(7) && c.same_debt && c.channel == Channel::Call)
            .collect();
        let calls_ok = channel != Channel::Call || (week.len() < 7 && !week.iter().any(|c| c.conversation));
        prop_assert_eq!(gate().allows(&d.facts(), &req, at), hours && calls_ok);
    }
}
