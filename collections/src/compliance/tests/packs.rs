//! Each law at its boundaries: (when, expected rules blocking, expected next slot).

use chrono_tz::America::{Bogota, Chicago, Los_Angeles, Mexico_City, New_York, Santiago};
use chrono_tz::Europe::Madrid;

use super::*;

/// One row: when, the rules expected to block, the next slot expected.
type Row<'a> = (DateTime<Utc>, &'a [&'a str], Option<DateTime<Utc>>);

/// Runs a table of rows for one debtor and request.
fn table(debtor: &Debtor, req: Request, rows: &[Row<'_>]) {
    let gate = gate();
    for (at, blocking, next) in rows {
        let d = gate.decide(&debtor.facts(), &req, *at);
        assert_eq!(blocked_by(&d), *blocking, "at {at}: {d:?}");
        assert_eq!(d.allowed(), blocking.is_empty(), "at {at}");
        assert_eq!(
            gate.allows(&debtor.facts(), &req, *at),
            d.allowed(),
            "at {at}"
        );
        let expected = if blocking.is_empty() { None } else { *next };
        assert_eq!(d.next_slot, expected, "next slot at {at}: {d:?}");
    }
}

#[test]
fn colombia_hours_sundays_and_a_holiday_on_monday() {
    let z = Bogota;
    let co = Debtor::of("CO", &[z]).consenting(&Channel::ALL);
    let l = |d, h, m| local(z, 2026, 6, d, h, m);
    // 2026-06-08 is Corpus Christi, moved to Monday (Ley 51 de 1983).
    table(
        &co,
        call(),
        &[
            (l(1, 6, 59), &["hours"], Some(l(1, 7, 0))),
            (l(1, 7, 0), &[], None),
            (l(5, 18, 59), &[], None),
            (l(5, 19, 0), &["hours"], Some(l(6, 8, 0))),
            (l(6, 7, 59), &["hours"], Some(l(6, 8, 0))),
            (l(6, 14, 59), &[], None),
            (l(6, 15, 0), &["hours"], Some(l(9, 7, 0))),
            (l(7, 10, 0), &["hours"], Some(l(9, 7, 0))),
            (l(8, 10, 0), &["holidays"], Some(l(9, 7, 0))),
            (l(9, 7, 0), &[], None),
        ],
    );
    // Letters are not bound to hours, holidays or the daily count: a letter is posted.
    table(&co, by(Channel::Letter), &[(l(7, 23, 0), &[], None)]);
}

#[test]
fn colombia_one_contact_a_day_and_only_authorised_channels() {
    let z = Bogota;
    let co = Debtor::of("CO", &[z])
        .consenting(&[Channel::Call, Channel::Sms])
        .contacted(local(z, 2026, 6, 2, 9, 0), Channel::Sms, false);
    let l = |d, h, m| local(z, 2026, 6, d, h, m);
    table(
        &co,
        call(),
        &[
            (l(2, 11, 0), &["once-a-day"], Some(l(3, 7, 0))),
            (l(3, 7, 0), &[], None),
        ],
    );
    table(
        &co,
        by(Channel::WhatsApp),
        &[
            (l(2, 11, 0), &["once-a-day", "authorised-channels"], None),
            (l(3, 11, 0), &["authorised-channels"], None),
        ],
    );
}

#[test]
fn regulation_f_hours_in_the_debtors_zone_across_daylight_saving() {
    let us = Debtor::of("US", &[New_York]);
    let l = |m, d, h, min| local(New_York, 2026, m, d, h, min);
    table(
        &us,
        call(),
        &[
            (l(6, 3, 7, 59), &["convenient-hours"], Some(l(6, 3, 8, 0))),
            (l(6, 3, 8, 0), &[], None),
            (l(6, 3, 20, 59), &[], None),
            (l(6, 3, 21, 0), &["convenient-hours"], Some(l(6, 4, 8, 0))),
            // Saturday before clocks go forward: 8:00 EST is 13:00 UTC …
            (
                utc(2026, 3, 7, 12, 30),
                &["convenient-hours"],
                Some(utc(2026, 3, 7, 13, 0)),
            ),
            // … on Sunday 8 March 8:00 EDT is 12:00 UTC.
            (
                utc(2026, 3, 8, 11, 59),
                &["convenient-hours"],
                Some(utc(2026, 3, 8, 12, 0)),
            ),
            (utc(2026, 3, 8, 12, 0), &[], None),
            // Clocks go back on 1 November: 8:00 EST is 13:00 UTC again.
            (
                utc(2026, 11, 1, 12, 30),
                &["convenient-hours"],
                Some(utc(2026, 11, 1, 13, 0)),
            ),
            (utc(2026, 11, 2, 1, 59), &[], None),
            (
                utc(2026, 11, 2, 2, 0),
                &["convenient-hours"],
                Some(utc(2026, 11, 2, 13, 0)),
            ),
        ],
    );
}

#[test]
fn regulation_f_an_ambiguous_zone_must_be_convenient_in_every_candidate() {
    let us = Debtor::of("US", &[New_York, Los_Angeles]);
    let l = |d, h, min| local(New_York, 2026, 6, d, h, min);
    table(
        &us,
        by(Channel::Sms),
        &[
            // 10:30 in New York is 7:30 in Los Angeles.
            (l(3, 10, 30), &["convenient-hours"], Some(l(3, 11, 0))),
            (l(3, 11, 0), &[], None),
            (l(3, 20, 59), &[], None),
            (l(3, 21, 0), &["convenient-hours"], Some(l(4, 11, 0))),
        ],
    );
    // One zone only: Chicago's own 8:00.
    let chicago = Debtor::of("US", &[Chicago]);
    table(
        &chicago,
        call(),
        &[(
            local(Chicago, 2026, 6, 3, 7, 0),
            &["convenient-hours"],
            Some(local(Chicago, 2026, 6, 3, 8, 0)),
        )],
    );
}

#[test]
fn regulation_f_the_seventh_call_in_seven_days_is_allowed_and_the_eighth_is_not() {
    let l = |d, h, min| local(New_York, 2026, 6, d, h, min);
    let mut six = Debtor::of("US", &[New_York]);
    for day in 1..=6 {
        six = six.contacted(l(day, 10, 0), Channel::Call, false);
    }
    table(&six, call(), &[(l(7, 15, 0), &[], None)]);
    let seven = six.contacted(l(7, 10, 0), Channel::Call, false);
    table(
        &seven,
        call(),
        &[
            // The oldest (1 June 10:00) leaves the 7 days at 8 June 10:00.
            (l(7, 15, 0), &["call-frequency"], Some(l(8, 10, 0))),
            (l(8, 9, 59), &["call-frequency"], Some(l(8, 10, 0))),
            (l(8, 10, 0), &[], None),
        ],
    );
    // Calls about another debt count for that debt, not this one.
    let mut other = Debtor::of("US", &[New_York]);
    for day in 1..=7 {
        other.history.push(PastContact {
            at: l(day, 10, 0),
            channel: Channel::Call,
            same_debt: false,
            conversation: false,
        });
    }
    table(&other, call(), &[(l(7, 15, 0), &[], None)]);
    // Messages are not call attempts.
    table(&seven, by(Channel::Email), &[(l(7, 15, 0), &[], None)]);
}

#[test]
fn regulation_f_no_call_for_seven_days_after_a_conversation_and_opt_out_of_messages() {
    let l = |d, h, min| local(New_York, 2026, 6, d, h, min);
    let mut us = Debtor::of("US", &[New_York])
        .contacted(l(1, 10, 0), Channel::Call, true)
        .consenting(&[Channel::Sms]);
    table(
        &us,
        call(),
        &[
            (l(5, 12, 0), &["after-conversation"], Some(l(8, 10, 0))),
            (l(8, 10, 0), &[], None),
        ],
    );
    table(&us, by(Channel::Sms), &[(l(5, 12, 0), &[], None)]);
    let consent = us.contact.consents()[0].id;
    us.contact
        .revoke(consent, l(4, 9, 0), "debtor: STOP")
        .unwrap();
    table(
        &us,
        by(Channel::Sms),
        &[
            (l(3, 12, 0), &[], None),
            (l(5, 12, 0), &["electronic-opt-out"], None),
        ],
    );
    // WhatsApp was never consented to nor refused: Regulation F does not ask for it.
    table(&us, by(Channel::WhatsApp), &[(l(5, 12, 0), &[], None)]);
}

#[test]
fn mexico_seven_to_ten_in_local_time() {
    let mx = Debtor::of("MX", &[Mexico_City]);
    let l = |d, h, min| local(Mexico_City, 2026, 6, d, h, min);
    table(
        &mx,
        call(),
        &[
            (l(7, 6, 59), &["hours"], Some(l(7, 7, 0))),
            (l(7, 7, 0), &[], None),
            (l(7, 21, 59), &[], None),
            (l(7, 22, 0), &["hours"], Some(l(8, 7, 0))),
        ],
    );
}

#[test]
fn chile_one_call_a_week_and_two_other_contacts_two_days_apart() {
    let l = |d, h, min| local(Santiago, 2026, 6, d, h, min);
    let called = Debtor::of("CL", &[Santiago]).contacted(l(1, 10, 0), Channel::Call, false);
    table(
        &called,
        call(),
        &[(l(3, 10, 0), &["calls-and-visits"], Some(l(8, 10, 0)))],
    );
    table(&called, by(Channel::Sms), &[(l(3, 10, 0), &[], None)]);
    let texted = Debtor::of("CL", &[Santiago]).contacted(l(1, 10, 0), Channel::Sms, false);
    table(
        &texted,
        by(Channel::Email),
        &[
            (l(2, 10, 0), &["other-contacts"], Some(l(3, 10, 0))),
            (l(3, 10, 0), &[], None),
        ],
    );
    let twice = texted.contacted(l(3, 10, 0), Channel::Email, false);
    table(
        &twice,
        by(Channel::Letter),
        &[(l(5, 10, 0), &["other-contacts"], Some(l(8, 10, 0)))],
    );
    // Never on Sundays: Saturday 20:00 waits until Monday 8:00.
    table(
        &Debtor::of("CL", &[Santiago]),
        call(),
        &[(l(6, 20, 0), &["hours"], Some(l(8, 8, 0)))],
    );
}

#[test]
fn spain_sets_no_hours_but_keeps_the_debt_from_relatives() {
    let es = Debtor::of("ES", &[Madrid]);
    table(&es, call(), &[(local(Madrid, 2026, 6, 7, 3, 0), &[], None)]);
    let relative = Request {
        channel: Channel::Letter,
        recipient: Recipient::Party(Relationship::Relative),
    };
    table(
        &es,
        relative,
        &[(local(Madrid, 2026, 6, 7, 12, 0), &["third-parties"], None)],
    );
}
