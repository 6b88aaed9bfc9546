//! One rule against one contact: the earliest instant at or after `t` the rule allows
//! it. Each answer is exact for its rule — no earlier instant is allowed by it — which is
//! what makes the gate's next lawful slot minimal.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::facts::{Facts, PastContact, Recipient, Request};
use super::local;
use super::pack::{Check, Period, Rule, Scope};
use crate::holidays;

/// When the rule next allows the contact: now (`Some(t)`), later, or not while the
/// facts stay as they are (`None`: a flag, a missing consent, a forbidden recipient,
/// an unknown local time).
pub fn next_allowed(
    rule: &Rule,
    facts: &Facts<'_>,
    req: &Request,
    t: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match &rule.check {
        Check::Hours(windows) => {
            every_zone(facts.zones, t, |tz, t| local::next_inside(tz, windows, t))
        }
        Check::Holidays(calendar) => every_zone(facts.zones, t, |tz, t| {
            let mut day = local::date(tz, t);
            for _ in 0..60 {
                match holidays::holiday(*calendar, day) {
                    Ok(None) if day == local::date(tz, t) => return Some(t),
                    Ok(None) => return Some(local::day_start(tz, day)),
                    Ok(Some(_)) => day = day.succ_opt()?,
                    // Outside the calendar's years: fail safe.
                    Err(_) => return None,
                }
            }
            None
        }),
        Check::Frequency {
            scope,
            max,
            period,
            min_gap,
        } => {
            let counted = |c: &&PastContact| c.at <= t && counts(rule, *scope, c);
            let after_gap = match min_gap {
                Some(gap) => facts
                    .history
                    .iter()
                    .rev()
                    .find(counted)
                    .map_or(t, |last| (last.at + *gap).max(t)),
                None => t,
            };
            let by_count = match period {
                Period::Rolling(span) => rolling(facts.history, rule, *scope, *max, *span, t),
                Period::LocalDay => every_zone(facts.zones, t, |tz, t| {
                    let start = local::day_start(tz, local::date(tz, t));
                    let n = count_since(facts.history, rule, *scope, start, t);
                    Some(if n < *max {
                        t
                    } else {
                        local::day_start(tz, local::date(tz, t).succ_opt()?)
                    })
                }),
                Period::LocalWeek => every_zone(facts.zones, t, |tz, t| {
                    let start = local::week_start(tz, t);
                    let n = count_since(facts.history, rule, *scope, start, t);
                    Some(if n < *max {
                        t
                    } else {
                        local::week_start(tz, start + Duration::days(8))
                    })
                }),
            }?;
            Some(after_gap.max(by_count))
        }
        Check::AfterConversation { scope, pause } => Some(
            facts
                .history
                .iter()
                .rev()
                .find(|c| c.at <= t && c.conversation && counts(rule, *scope, c))
                .map_or(t, |c| (c.at + *pause).max(t)),
        ),
        Check::Flag(flag) => (!facts.flags.is_active(*flag, t)).then_some(t),
        Check::ConsentRequired => facts
            .contact
            .is_some_and(|c| c.authorised(req.channel, t))
            .then_some(t),
        Check::OptOut => {
            let opted_out = facts.contact.is_some_and(|c| {
                !c.authorised(req.channel, t)
                    && c.consents().iter().any(|k| {
                        k.channel == req.channel && k.revoked.as_ref().is_some_and(|r| r.at <= t)
                    })
            });
            (!opted_out).then_some(t)
        }
        Check::Recipients(allowed) => match req.recipient {
            Recipient::Debtor => Some(t),
            Recipient::Party(r) => allowed.contains(&r).then_some(t),
        },
    }
}

/// Whether a past contact counts for a frequency or conversation rule.
fn counts(rule: &Rule, scope: Scope, c: &PastContact) -> bool {
    rule.channels.contains(c.channel) && (scope == Scope::Debtor || c.same_debt)
}

/// The earliest instant at or after `t` allowed in every zone: each zone's own answer is
/// exact, so moving to the latest of them until all agree skips no allowed instant.
/// Without a zone the local time is unknown, and a rule on local time cannot allow.
fn every_zone(
    zones: &[Tz],
    t: DateTime<Utc>,
    next: impl Fn(Tz, DateTime<Utc>) -> Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    if zones.is_empty() {
        return None;
    }
    let mut t = t;
    for _ in 0..64 {
        let mut latest = t;
        for tz in zones {
            latest = latest.max(next(*tz, t)?);
        }
        if latest == t {
            return Some(t);
        }
        t = latest;
    }
    None
}

fn count_since(
    history: &[PastContact],
    rule: &Rule,
    scope: Scope,
    since: DateTime<Utc>,
    t: DateTime<Utc>,
) -> u32 {
    let from = history.partition_point(|c| c.at < since);
    history[from..]
        .iter()
        .take_while(|c| c.at <= t)
        .filter(|c| counts(rule, scope, c))
        .count() as u32
}

/// A rolling span `(t - span, t]`: with `max` or more contacts in it, the contact is
/// allowed once enough of them have left it.
fn rolling(
    history: &[PastContact],
    rule: &Rule,
    scope: Scope,
    max: u32,
    span: Duration,
    t: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let from = history.partition_point(|c| c.at <= t - span);
    let inside = || {
        history[from..]
            .iter()
            .take_while(|c| c.at <= t)
            .filter(|c| counts(rule, scope, c))
    };
    let n = inside().count() as u32;
    if n < max {
        return Some(t);
    }
    // Allowed when only max - 1 remain: once the (n - max + 1)th oldest has left.
    inside().nth((n - max) as usize).map(|c| c.at + span)
}
