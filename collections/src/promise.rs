//! Promises to pay: kept or broken, decided from the payments and the date alone.
//!
//! A promise is one or several dated amounts. It is kept when, for every part, the
//! payments made from the day of the promise up to that part's due date plus the grace
//! period reach everything promised up to that part; it is broken on the first day after
//! a part's deadline that finds it short. The dates are days in the creditor's calendar;
//! which day "today" is, is the caller's to say (the runtime's clock, a virtual one in a
//! simulation).

use chrono::{Days, NaiveDate};

use crate::money::{Money, MoneyError};

/// Grace days after a due date when the creditor sets none.
pub const DEFAULT_GRACE_DAYS: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::EnumCount)]
pub enum PromiseError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("a promise names at least one dated amount")]
    Empty,
    #[error("a promise cannot be due in the past ({due}, today is {today})")]
    DueInThePast { due: NaiveDate, today: NaiveDate },
    #[error("the promised dates must increase ({0} comes after a later one)")]
    DatesNotIncreasing(NaiveDate),
}

/// What the debtor promised, on which day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Promise {
    pub made_on: NaiveDate,
    /// (due date, amount), in date order.
    pub parts: Vec<(NaiveDate, Money)>,
}

/// Where a promise stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PromiseState {
    /// Not decided yet; `next_deadline` is the day after which it is decided.
    Open {
        next_deadline: NaiveDate,
    },
    Kept {
        on: NaiveDate,
    },
    Broken {
        deadline: NaiveDate,
    },
}

impl Promise {
    /// A new promise, checked: at least one part, amounts positive and of one currency,
    /// dates increasing and none before `today`.
    pub fn new(
        made_on: NaiveDate,
        parts: Vec<(NaiveDate, Money)>,
    ) -> Result<Promise, PromiseError> {
        let Some((_, first)) = parts.first() else {
            return Err(PromiseError::Empty);
        };
        let mut sum = Money::zero(first.currency());
        for (i, (due, amount)) in parts.iter().enumerate() {
            sum = sum.checked_add(amount.positive()?)?;
            if *due < made_on {
                return Err(PromiseError::DueInThePast {
                    due: *due,
                    today: made_on,
                });
            }
            if i > 0 && *due <= parts[i - 1].0 {
                return Err(PromiseError::DatesNotIncreasing(*due));
            }
        }
        Ok(Promise { made_on, parts })
    }

    pub fn total(&self) -> Money {
        let currency = self.parts[0].1.currency();
        Money::from_minor(self.parts.iter().map(|(_, m)| m.minor()).sum(), currency)
    }

    /// Where the promise stands on `today`, given the case's payments (date, amount;
    /// reversed payments left out by the caller). Payments in another currency do not
    /// count towards it.
    pub fn state(
        &self,
        grace_days: u32,
        payments: &[(NaiveDate, Money)],
        today: NaiveDate,
    ) -> PromiseState {
        let currency = self.parts[0].1.currency();
        let mut counted: Vec<(NaiveDate, i64)> = payments
            .iter()
            .filter(|(on, m)| *on >= self.made_on && m.currency() == currency)
            .map(|(on, m)| (*on, m.minor()))
            .collect();
        counted.sort();
        let paid_by = |day: NaiveDate| -> i64 {
            counted
                .iter()
                .take_while(|(on, _)| *on <= day)
                .map(|(_, m)| m)
                .sum()
        };
        let mut promised = 0i64;
        let mut last_deadline = self.made_on;
        for (due, amount) in &self.parts {
            promised += amount.minor();
            let deadline = due
                .checked_add_days(Days::new(u64::from(grace_days)))
                .unwrap_or(NaiveDate::MAX);
            if paid_by(deadline.min(today)) >= promised {
                last_deadline = deadline;
                continue;
            }
            return if today > deadline {
                PromiseState::Broken { deadline }
            } else {
                PromiseState::Open {
                    next_deadline: deadline,
                }
            };
        }
        // Kept on the day the payments first reached the whole amount.
        let mut running = 0i64;
        let on = counted
            .iter()
            .find(|(_, m)| {
                running += m;
                running >= promised
            })
            .map_or(last_deadline, |(on, _)| *on);
        PromiseState::Kept { on }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::money::Currency;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::from_code("USD").unwrap())
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn kept_when_paid_by_the_date_plus_grace() {
        let p = Promise::new(day(1), vec![(day(10), usd(5_000))]).unwrap();
        let paid = [(day(12), usd(3_000)), (day(13), usd(2_000))];
        assert_eq!(
            p.state(3, &paid, day(9)),
            PromiseState::Open {
                next_deadline: day(13)
            }
        );
        assert_eq!(
            p.state(3, &paid, day(13)),
            PromiseState::Kept { on: day(13) }
        );
        assert_eq!(
            p.state(2, &paid, day(13)),
            PromiseState::Broken { deadline: day(12) }
        );
        // A payment before the promise was made is not its payment.
        let early = [(day(1), usd(1_000)), (day(2), usd(4_000))];
        let later = Promise::new(day(2), vec![(day(10), usd(5_000))]).unwrap();
        assert_eq!(
            later.state(0, &early, day(11)),
            PromiseState::Broken { deadline: day(10) }
        );
    }

    #[test]
    fn every_part_must_be_met_in_time() {
        let p = Promise::new(day(1), vec![(day(5), usd(1_000)), (day(15), usd(1_000))]).unwrap();
        let late_first = [(day(7), usd(2_000))];
        assert_eq!(
            p.state(0, &late_first, day(6)),
            PromiseState::Broken { deadline: day(5) }
        );
        let on_time = [(day(5), usd(1_000)), (day(15), usd(1_000))];
        assert_eq!(
            p.state(0, &on_time, day(10)),
            PromiseState::Open {
                next_deadline: day(15)
            }
        );
        assert_eq!(
            p.state(0, &on_time, day(15)),
            PromiseState::Kept { on: day(15) }
        );
    }

    #[test]
    fn bad_promises_are_refused() {
        assert!(matches!(
            Promise::new(day(5), vec![]),
            Err(PromiseError::Empty)
        ));
        assert!(matches!(
            Promise::new(day(5), vec![(day(4), usd(1))]),
            Err(PromiseError::DueInThePast { .. })
        ));
        assert!(matches!(
            Promise::new(day(5), vec![(day(9), usd(1)), (day(9), usd(1))]),
            Err(PromiseError::DatesNotIncreasing(_))
        ));
        assert!(matches!(
            Promise::new(day(5), vec![(day(9), usd(0))]),
            Err(PromiseError::Money(MoneyError::NotPositive(_)))
        ));
    }

    proptest! {
        /// A single-date promise is kept iff the payments from its day to its deadline
        /// reach it; broken iff the deadline has passed without that; open otherwise.
        #[test]
        fn kept_iff_the_payments_by_the_deadline_reach_it(
            amount in 1i64..10_000, due in 1u32..20, grace in 0u32..5, today in 1u32..31,
            payments in prop::collection::vec((1u32..31, 1i64..5_000), 0..6),
        ) {
            let p = Promise::new(day(1), vec![(day(due), usd(amount))]).unwrap();
            let paid: Vec<(NaiveDate, Money)> = payments.iter().map(|(d, m)| (day(*d), usd(*m))).collect();
            let deadline = due + grace;
            let by = |last: u32| -> i64 { payments.iter().filter(|(d, _)| *d <= last).map(|(_, m)| m).sum() };
            let state = p.state(grace, &paid, day(today));
            if by(deadline.min(today)) >= amount {
                prop_assert!(matches!(state, PromiseState::Kept { .. }), "{state:?}");
            } else if today > deadline {
                prop_assert_eq!(state, PromiseState::Broken { deadline: day(deadline) });
            } else {
                prop_assert_eq!(state, PromiseState::Open { next_deadline: day(deadline) });
            }
        }
    }
}
