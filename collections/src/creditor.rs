//! A creditor's collection settings: how its payments are allocated, how much grace its
//! promises and plans get, how far an agent may discount a settlement, in which time
//! zone its deadlines end, and whether partners may take payments for it.
//!
//! Pure: the runtime reads the settings in force when an operation is made and copies
//! what the operation needs into the fact it journals (the allocation order into a
//! payment, the grace and zone into a promise or plan), so replay never depends on
//! settings that changed later.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
/// IANA time zones, as the settings and journalled deadlines name them.
pub use chrono_tz::Tz;

use crate::allocation::{AllocationOrder, Component};
use crate::debtor::Country;
use crate::money::Money;

/// The creditor of accounts opened before accounts named one, and of accounts opened
/// without one: a deployment's single creditor, the tenant itself. Its settings are the
/// defaults until someone sets them.
pub const DEFAULT_CREDITOR: &str = "default";
/// The portfolio of accounts that name none.
pub const DEFAULT_PORTFOLIO: &str = "default";
pub const DEFAULT_PLAN_GRACE_DAYS: u32 = crate::promise::DEFAULT_GRACE_DAYS;
pub const DEFAULT_SETTLEMENT_LIMIT_PERCENT: u8 = 10;
/// More grace than a year is a typo, not a policy.
pub const MAX_GRACE_DAYS: u32 = 365;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::EnumCount)]
pub enum SettingsError {
    #[error("{0:?} is not an IANA time zone (e.g. America/Bogota)")]
    UnknownTimeZone(String),
    #[error("grace days are 0 to {MAX_GRACE_DAYS}, not {0}")]
    GraceDays(i64),
    #[error("a settlement limit is 0 to 100 percent, not {0}")]
    SettlementLimit(i64),
    #[error("an allocation order names each of costs, fees, interest and principal once")]
    AllocationOrder,
    #[error("{0:?} is not an ISO 3166-1 alpha-2 country code")]
    UnknownCountry(String),
    #[error(
        "partners may not take payments for a creditor under {0} law (agencies only report them)"
    )]
    PartnerPaymentsForbidden(Country),
    #[error("a creditor id is 1 to 100 characters")]
    BadCreditorId,
}

/// A creditor's settings; [`Default`] holds for a creditor nobody has set up.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreditorSettings {
    pub allocation_order: AllocationOrder,
    pub promise_grace_days: u32,
    pub plan_grace_days: u32,
    /// The largest settlement discount (percent of the balance) an agent or partner may
    /// offer without a supervisor's approval.
    pub settlement_limit_percent: u8,
    /// Deadlines (a promise's or instalment's due date plus grace) end at the end of
    /// that day in this zone, and "today" is counted in it.
    pub time_zone: Tz,
    /// Whose law governs the creditor's collections.
    pub jurisdiction: Option<Country>,
    pub partners_take_payments: bool,
}

impl Default for CreditorSettings {
    fn default() -> Self {
        CreditorSettings {
            allocation_order: AllocationOrder::default(),
            promise_grace_days: crate::promise::DEFAULT_GRACE_DAYS,
            plan_grace_days: DEFAULT_PLAN_GRACE_DAYS,
            settlement_limit_percent: DEFAULT_SETTLEMENT_LIMIT_PERCENT,
            time_zone: Tz::UTC,
            jurisdiction: None,
            partners_take_payments: true,
        }
    }
}

/// Whether a jurisdiction's law lets collection agencies take payments directly. Mexico
/// (CONDUSEF) does not: agencies may only report what the debtor paid the creditor.
pub fn partners_may_take_payments(jurisdiction: Option<Country>) -> bool {
    jurisdiction.is_none_or(|c| c.code() != "MX")
}

/// A change to a creditor's settings, as a caller asks for it: fields left `None` keep
/// their value. Raw values, checked by [`CreditorSettings::change`].
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    pub allocation_order: Option<Vec<Component>>,
    pub promise_grace_days: Option<i64>,
    pub plan_grace_days: Option<i64>,
    pub settlement_limit_percent: Option<i64>,
    pub time_zone: Option<String>,
    /// `Some("")` clears the jurisdiction.
    pub jurisdiction: Option<String>,
    pub partners_take_payments: Option<bool>,
}

fn grace(days: i64) -> Result<u32, SettingsError> {
    u32::try_from(days)
        .ok()
        .filter(|d| *d <= MAX_GRACE_DAYS)
        .ok_or(SettingsError::GraceDays(days))
}

impl CreditorSettings {
    /// Defaults under a jurisdiction's law.
    pub fn for_jurisdiction(jurisdiction: Option<Country>) -> CreditorSettings {
        CreditorSettings {
            jurisdiction,
            partners_take_payments: partners_may_take_payments(jurisdiction),
            ..CreditorSettings::default()
        }
    }

    /// These settings with `change` applied, every value checked. A new jurisdiction
    /// brings its own default for partner payments unless the change says otherwise;
    /// letting partners take payments where the law forbids it is refused.
    pub fn change(&self, change: SettingsChange) -> Result<CreditorSettings, SettingsError> {
        let mut next = self.clone();
        if let Some(order) = change.allocation_order {
            next.allocation_order =
                AllocationOrder::new(&order).map_err(|_| SettingsError::AllocationOrder)?;
        }
        if let Some(days) = change.promise_grace_days {
            next.promise_grace_days = grace(days)?;
        }
        if let Some(days) = change.plan_grace_days {
            next.plan_grace_days = grace(days)?;
        }
        if let Some(percent) = change.settlement_limit_percent {
            next.settlement_limit_percent = u8::try_from(percent)
                .ok()
                .filter(|p| *p <= 100)
                .ok_or(SettingsError::SettlementLimit(percent))?;
        }
        if let Some(zone) = change.time_zone {
            next.time_zone = zone
                .trim()
                .parse()
                .map_err(|_| SettingsError::UnknownTimeZone(zone))?;
        }
        if let Some(code) = change.jurisdiction {
            next.jurisdiction = match code.trim() {
                "" => None,
                c => Some(Country::from_code(c).map_err(|_| SettingsError::UnknownCountry(code))?),
            };
            if next.jurisdiction != self.jurisdiction {
                next.partners_take_payments = partners_may_take_payments(next.jurisdiction);
            }
        }
        if let Some(allowed) = change.partners_take_payments {
            next.partners_take_payments = allowed;
        }
        if next.partners_take_payments
            && let Some(country) = next.jurisdiction
            && !partners_may_take_payments(Some(country))
        {
            return Err(SettingsError::PartnerPaymentsForbidden(country));
        }
        Ok(next)
    }
}

/// A creditor id as accounts and settings name it: trimmed, 1 to 100 characters.
pub fn creditor_id(id: &str) -> Result<String, SettingsError> {
    let id = id.trim();
    if id.is_empty() || id.len() > 100 {
        return Err(SettingsError::BadCreditorId);
    }
    Ok(id.to_string())
}

/// The day it is at `at` in `zone`: the day payments are received and promises made.
pub fn local_day(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// The instant `day` ends in `zone`: the first instant of the next local day. Where that
/// day starts with a clock change (midnight skipped, as in America/Santiago some years)
/// it is the first local time that exists; where the whole next day was skipped (Samoa,
/// 30 December 2011), the start of the day after.
pub fn end_of_day(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let Some(next) = day.succ_opt() else {
        return DateTime::<Utc>::MAX_UTC;
    };
    let midnight = next.and_time(chrono::NaiveTime::MIN);
    if let Some(t) = zone.from_local_datetime(&midnight).earliest() {
        return t.with_timezone(&Utc);
    }
    // Midnight fell in a clock change's gap: the day starts when the clock jumped, found
    // to the second between bounds no offset (-12 h to +14 h) can cross. Local days only
    // move forward around a gap, so the search is over a monotone predicate.
    let at = |secs: i64| midnight.and_utc() + chrono::Duration::seconds(secs);
    let (mut before, mut after) = (-26 * 3600_i64, 26 * 3600_i64);
    while after - before > 1 {
        let mid = before + (after - before) / 2;
        if local_day(at(mid), zone) > day {
            after = mid;
        } else {
            before = mid;
        }
    }
    at(after)
}

/// Whether settling `balance` for `total` forgives more than `limit_percent` of it.
pub fn above_limit(balance: Money, total: Money, limit_percent: u8) -> bool {
    let discount = i128::from(balance.minor()) - i128::from(total.minor());
    discount * 100 > i128::from(balance.minor()) * i128::from(limit_percent)
}

#[cfg(test)]
mod tests {
    use chrono::Timelike;
    use proptest::prelude::*;

    use super::*;
    use crate::money::Currency;

    fn change() -> SettingsChange {
        SettingsChange::default()
    }

    #[test]
    fn every_bad_value_is_refused_with_its_error() {
        let s = CreditorSettings::default();
        let cases = [
            (
                SettingsChange {
                    time_zone: Some("Mars/Olympus".into()),
                    ..change()
                },
                SettingsError::UnknownTimeZone("Mars/Olympus".into()),
            ),
            (
                SettingsChange {
                    promise_grace_days: Some(-1),
                    ..change()
                },
                SettingsError::GraceDays(-1),
            ),
            (
                SettingsChange {
                    plan_grace_days: Some(366),
                    ..change()
                },
                SettingsError::GraceDays(366),
            ),
            (
                SettingsChange {
                    settlement_limit_percent: Some(101),
                    ..change()
                },
                SettingsError::SettlementLimit(101),
            ),
            (
                SettingsChange {
                    settlement_limit_percent: Some(-5),
                    ..change()
                },
                SettingsError::SettlementLimit(-5),
            ),
            (
                SettingsChange {
                    allocation_order: Some(vec![Component::Fees, Component::Fees]),
                    ..change()
                },
                SettingsError::AllocationOrder,
            ),
            (
                SettingsChange {
                    jurisdiction: Some("XX".into()),
                    ..change()
                },
                SettingsError::UnknownCountry("XX".into()),
            ),
            (
                SettingsChange {
                    jurisdiction: Some("mx".into()),
                    partners_take_payments: Some(true),
                    ..change()
                },
                SettingsError::PartnerPaymentsForbidden(Country::from_code("MX").unwrap()),
            ),
        ];
        for (c, expected) in cases {
            assert_eq!(s.change(c), Err(expected));
        }
        assert_eq!(creditor_id("  "), Err(SettingsError::BadCreditorId));
        assert_eq!(creditor_id(" bank ").as_deref(), Ok("bank"));
    }

    #[test]
    fn a_jurisdiction_brings_its_default_for_partner_payments() {
        let mx = CreditorSettings::default()
            .change(SettingsChange {
                jurisdiction: Some("MX".into()),
                time_zone: Some("America/Mexico_City".into()),
                allocation_order: Some(vec![
                    Component::Principal,
                    Component::Interest,
                    Component::Fees,
                    Component::Costs,
                ]),
                ..change()
            })
            .unwrap();
        assert!(!mx.partners_take_payments);
        assert_eq!(mx.time_zone, chrono_tz::America::Mexico_City);
        assert_eq!(mx.allocation_order.components()[0], Component::Principal);
        // Unrelated changes keep the jurisdiction's rule; leaving Mexico lifts it.
        let later = mx
            .change(SettingsChange {
                promise_grace_days: Some(0),
                ..change()
            })
            .unwrap();
        assert!(!later.partners_take_payments);
        let co = mx
            .change(SettingsChange {
                jurisdiction: Some("CO".into()),
                ..change()
            })
            .unwrap();
        assert!(co.partners_take_payments);
        assert!(
            !co.change(SettingsChange {
                jurisdiction: Some("".into()),
                partners_take_payments: Some(false),
                ..change()
            })
            .unwrap()
            .partners_take_payments
        );
        assert!(!CreditorSettings::for_jurisdiction(mx.jurisdiction).partners_take_payments);
    }

    #[test]
    fn deadlines_end_at_local_midnight() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let utc = |d, h| {
            NaiveDate::from_ymd_opt(2026, 3, d)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap()
                .and_utc()
        };
        assert_eq!(end_of_day(day, Tz::UTC), utc(11, 0));
        assert_eq!(end_of_day(day, chrono_tz::America::Bogota), utc(11, 5));
        assert_eq!(end_of_day(day, chrono_tz::Asia::Tokyo), utc(10, 15));
        // Santiago skipped midnight on 2022-09-11: that day began at 01:00 local.
        let santiago = chrono_tz::America::Santiago;
        let start = end_of_day(NaiveDate::from_ymd_opt(2022, 9, 10).unwrap(), santiago);
        assert_eq!(start.with_timezone(&santiago).hour(), 1);
        assert_eq!(
            local_day(start - chrono::Duration::seconds(1), santiago),
            NaiveDate::from_ymd_opt(2022, 9, 10).unwrap()
        );
        // Samoa skipped 30 December 2011 entirely.
        let apia = chrono_tz::Pacific::Apia;
        let end = end_of_day(NaiveDate::from_ymd_opt(2011, 12, 29).unwrap(), apia);
        assert_eq!(
            local_day(end, apia),
            NaiveDate::from_ymd_opt(2011, 12, 31).unwrap()
        );
    }

    #[test]
    fn the_settlement_limit_is_a_share_of_the_balance() {
        let cop = |minor| Money::from_minor(minor, Currency::from_code("COP").unwrap());
        assert!(!above_limit(cop(100_000), cop(90_000), 10));
        assert!(above_limit(cop(100_000), cop(89_999), 10));
        assert!(!above_limit(cop(100_000), cop(0), 100));
        assert!(above_limit(cop(100_000), cop(99_999), 0));
    }

    proptest! {
        /// The deadline instant is the first of the next local day, in every zone.
        #[test]
        fn end_of_day_is_the_first_instant_after_the_day(
            days in 0i64..(200 * 366),
            zone in 0usize..chrono_tz::TZ_VARIANTS.len(),
        ) {
            let zone = chrono_tz::TZ_VARIANTS[zone];
            let day = NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Duration::days(days);
            let end = end_of_day(day, zone);
            prop_assert!(local_day(end, zone) > day);
            prop_assert!(local_day(end - chrono::Duration::seconds(1), zone) <= day);
        }

        /// Against integer floor division: a whole discount is above `limit` % of the
        /// balance exactly when it is above the floor of that share.
        #[test]
        fn above_limit_compares_exactly(
            balance in 1i64..1_000_000_000_000,
            total in 0i64..1_000_000_000_000,
            limit in 0u8..=100,
        ) {
            let cop = |minor| Money::from_minor(minor, Currency::from_code("COP").unwrap());
            let total = total.min(balance);
            let expected = balance - total > balance * i64::from(limit) / 100;
            prop_assert_eq!(above_limit(cop(balance), cop(total), limit), expected);
        }
    }
}
