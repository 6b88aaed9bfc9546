//! What a partner earns: a contract of commission rates — by the case's stage
//! (extrajudicial, legal) or by the debt's age band (days past due when the case was
//! placed) — and fixed fees per legal milestone, in one currency.
//!
//! A rate is an exact decimal percentage (`"12.5"`, at most four decimal places: a
//! hundredth of a basis point), never a float. A commission is the payment's amount
//! times the rate, rounded **per line** to the payment currency's minor unit, half away
//! from zero (12.5 % of 0.05 USD is 0.00625, which is 0.01 USD); a statement's totals
//! are sums of its rounded lines, so the lines always add up to the totals.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};

pub mod statement;

/// The legal milestones a fee may be fixed for (the names the legal proceedings use).
pub const FEE_MILESTONES: [&str; 4] = ["claim_filed", "hearing_scheduled", "judgment", "seizure"];

/// Most decimal places a rate's percentage has.
pub const RATE_PLACES: u32 = 4;

/// Why a contract was refused; each names what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::EnumCount)]
pub enum ContractError {
    #[error("rate {0:?} is not a percentage from 0 to 100 with at most 4 decimal places")]
    Rate(String),
    #[error("age bands are needed: at least one")]
    NoBands,
    #[error("age bands must start at 0 days past due, not {0}")]
    BandsStartLate(u32),
    #[error("age band {from}–{to} ends before it starts")]
    BandReversed { from: u32, to: u32 },
    #[error(
        "age band starting at {from} days must follow the previous band, which ends at {previous_to} (no gaps or overlaps)"
    )]
    BandsNotContiguous { previous_to: u32, from: u32 },
    #[error("only the last age band is open-ended; the band from {0} days needs its end")]
    OpenBandNotLast(u32),
    #[error("the last age band must be open-ended (no to_days), so every debt age is covered")]
    LastBandClosed,
    #[error(
        "unknown legal milestone {0:?}: use claim_filed, hearing_scheduled, judgment or seizure"
    )]
    UnknownMilestone(String),
    #[error("the fee for {0} is given twice")]
    DuplicateFee(String),
    #[error("a fee is zero or more, not {0}")]
    NegativeFee(String),
    #[error("every fee is in one currency ({0} and {1} given)")]
    FeeCurrencies(&'static str, &'static str),
}

/// A percentage of a payment, exact: `12.5` is 12.5 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rate(Decimal);

impl Rate {
    /// Reads a percentage from 0 to 100 with at most [`RATE_PLACES`] decimal places.
    pub fn parse(text: &str) -> Result<Rate, ContractError> {
        let bad = || ContractError::Rate(text.to_string());
        let t = text.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(bad());
        }
        let value = Decimal::from_str_exact(t).map_err(|_| bad())?.normalize();
        if value.scale() > RATE_PLACES || value > Decimal::ONE_HUNDRED {
            return Err(bad());
        }
        Ok(Rate(value))
    }

    pub fn percent(self) -> Decimal {
        self.0
    }

    /// The commission on `amount` (negative for a reversal), rounded to the currency's
    /// minor unit half away from zero.
    pub fn of(self, amount: Money) -> Money {
        // |minor| < 2^63 and the rate ≤ 100 with 4 places: the product fits a Decimal's
        // 96 bits exactly, and the division by 100 is exact in decimal.
        let exact = Decimal::from(amount.minor()) * self.0 / Decimal::ONE_HUNDRED;
        let minor = exact.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        // At most |amount| (rate ≤ 100 %), so it fits an i64.
        Money::from_minor(i64::try_from(minor).unwrap_or(0), amount.currency())
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Rate::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Where the case stood when a payment came in: legal once a claim was filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Extrajudicial,
    Legal,
}

/// A range of days past due (at placement), `to_days` included; none: and older.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgeBand {
    pub from_days: u32,
    #[serde(default)]
    pub to_days: Option<u32>,
    pub rate: Rate,
}

/// How the rate of a payment is chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rates {
    Stage {
        extrajudicial: Rate,
        legal: Rate,
    },
    /// Contiguous bands from 0 days, the last open-ended.
    AgeBand {
        bands: Vec<AgeBand>,
    },
}

/// A fixed fee earned when the partner reports a legal milestone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    /// One of [`FEE_MILESTONES`].
    pub milestone: String,
    pub amount: Money,
}

/// A partner's contract, as stored on its row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    pub rates: Rates,
    #[serde(default)]
    pub fees: Vec<Fee>,
}

impl Contract {
    /// Checks the contract as a whole: bands contiguous from 0 and open at the end,
    /// fees for known milestones, once each, zero or more, all in one currency. Rates
    /// are checked as they are read ([`Rate::parse`]).
    pub fn check(&self) -> Result<(), ContractError> {
        if let Rates::AgeBand { bands } = &self.rates {
            let first = bands.first().ok_or(ContractError::NoBands)?;
            if first.from_days != 0 {
                return Err(ContractError::BandsStartLate(first.from_days));
            }
            for (i, band) in bands.iter().enumerate() {
                let last = i + 1 == bands.len();
                match band.to_days {
                    Some(to) if to < band.from_days => {
                        return Err(ContractError::BandReversed {
                            from: band.from_days,
                            to,
                        });
                    }
                    Some(_) if last => return Err(ContractError::LastBandClosed),
                    None if !last => return Err(ContractError::OpenBandNotLast(band.from_days)),
                    _ => {}
                }
                if let Some(next) = bands.get(i + 1) {
                    let to = band.to_days.unwrap_or(u32::MAX);
                    if to.checked_add(1) != Some(next.from_days) {
                        return Err(ContractError::BandsNotContiguous {
                            previous_to: to,
                            from: next.from_days,
                        });
                    }
                }
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        let mut currency: Option<Currency> = None;
        for fee in &self.fees {
            if !FEE_MILESTONES.contains(&fee.milestone.as_str()) {
                return Err(ContractError::UnknownMilestone(fee.milestone.clone()));
            }
            if seen.contains(&fee.milestone.as_str()) {
                return Err(ContractError::DuplicateFee(fee.milestone.clone()));
            }
            seen.push(&fee.milestone);
            if fee.amount.is_negative() {
                return Err(ContractError::NegativeFee(fee.amount.to_string()));
            }
            match currency {
                Some(c) if c != fee.amount.currency() => {
                    return Err(ContractError::FeeCurrencies(
                        c.code(),
                        fee.amount.currency().code(),
                    ));
                }
                _ => currency = Some(fee.amount.currency()),
            }
        }
        Ok(())
    }

    /// The rate of a payment on a case at `stage`, placed `days_past_due` days past due.
    pub fn rate(&self, stage: Stage, days_past_due: u32) -> Rate {
        match &self.rates {
            Rates::Stage {
                extrajudicial,
                legal,
            } => match stage {
                Stage::Extrajudicial => *extrajudicial,
                Stage::Legal => *legal,
            },
            Rates::AgeBand { bands } => bands
                .iter()
                .rev()
                .find(|b| b.from_days <= days_past_due)
                .map_or(Rate(Decimal::ZERO), |b| b.rate),
        }
    }

    /// The fee a milestone earns, if the contract fixes one.
    pub fn fee(&self, milestone: &str) -> Option<Money> {
        self.fees
            .iter()
            .find(|f| f.milestone == milestone)
            .map(|f| f.amount)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn cop(minor: i64) -> Money {
        Money::from_minor(minor, Currency::from_code("COP").unwrap())
    }

    fn rate(s: &str) -> Rate {
        Rate::parse(s).unwrap()
    }

    fn bands(spec: &[(u32, Option<u32>, &str)]) -> Contract {
        Contract {
            rates: Rates::AgeBand {
                bands: spec
                    .iter()
                    .map(|(from, to, r)| AgeBand {
                        from_days: *from,
                        to_days: *to,
                        rate: rate(r),
                    })
                    .collect(),
            },
            fees: Vec::new(),
        }
    }

    #[test]
    fn rates_are_exact_percentages_up_to_100() {
        assert_eq!(rate("12.5").percent(), Decimal::new(125, 1));
        assert_eq!(rate("100").to_string(), "100");
        assert_eq!(rate("0.0001").to_string(), "0.0001");
        for bad in ["-1", "100.01", "0.00001", "abc", "", "1e2", "12,5"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn commission_rounds_half_away_from_zero_to_the_minor_unit() {
        // 12.5 % of 0.05 COP (5 minor) = 0.625 minor: 1 minor.
        assert_eq!(rate("12.5").of(cop(5)), cop(1));
        // 10 % of 0.05 = 0.5 minor: rounds away from zero, both signs.
        assert_eq!(rate("10").of(cop(5)), cop(1));
        assert_eq!(rate("10").of(cop(-5)), cop(-1));
        assert_eq!(rate("15").of(cop(15_000_050)), cop(2_250_008));
        let clp = Currency::from_code("CLP").unwrap();
        assert_eq!(
            rate("12.5").of(Money::from_minor(1_001, clp)),
            Money::from_minor(125, clp)
        );
    }

    #[test]
    fn bands_choose_by_days_past_due() {
        let c = bands(&[
            (0, Some(180), "10"),
            (181, Some(365), "15"),
            (366, None, "25"),
        ]);
        c.check().unwrap();
        assert_eq!(c.rate(Stage::Legal, 0), rate("10"));
        assert_eq!(c.rate(Stage::Legal, 180), rate("10"));
        assert_eq!(c.rate(Stage::Legal, 181), rate("15"));
        assert_eq!(c.rate(Stage::Legal, 5_000), rate("25"));
    }

    #[test]
    fn bands_must_cover_every_age_once() {
        let check = |spec: &[(u32, Option<u32>, &str)]| bands(spec).check();
        assert_eq!(check(&[]), Err(ContractError::NoBands));
        assert_eq!(
            check(&[(1, None, "5")]),
            Err(ContractError::BandsStartLate(1))
        );
        assert_eq!(
            check(&[(0, Some(180), "5"), (200, None, "5")]),
            Err(ContractError::BandsNotContiguous {
                previous_to: 180,
                from: 200
            })
        );
        assert_eq!(
            check(&[(0, Some(180), "5"), (100, None, "5")]),
            Err(ContractError::BandsNotContiguous {
                previous_to: 180,
                from: 100
            })
        );
        assert_eq!(
            check(&[(0, None, "5"), (181, None, "5")]),
            Err(ContractError::OpenBandNotLast(0))
        );
        assert_eq!(
            check(&[(0, Some(180), "5")]),
            Err(ContractError::LastBandClosed)
        );
        assert_eq!(
            check(&[(0, Some(10), "5"), (11, Some(3), "5"), (4, None, "1")]),
            Err(ContractError::BandReversed { from: 11, to: 3 })
        );
    }

    #[test]
    fn fees_are_known_once_and_in_one_currency() {
        let usd = Currency::from_code("USD").unwrap();
        let with = |fees: Vec<(&str, Money)>| Contract {
            rates: Rates::Stage {
                extrajudicial: rate("10"),
                legal: rate("20"),
            },
            fees: fees
                .into_iter()
                .map(|(m, amount)| Fee {
                    milestone: m.into(),
                    amount,
                })
                .collect(),
        };
        assert!(
            with(vec![("claim_filed", cop(100)), ("judgment", cop(0))])
                .check()
                .is_ok()
        );
        assert_eq!(
            with(vec![("appeal", cop(1))]).check(),
            Err(ContractError::UnknownMilestone("appeal".into()))
        );
        assert_eq!(
            with(vec![("seizure", cop(1)), ("seizure", cop(2))]).check(),
            Err(ContractError::DuplicateFee("seizure".into()))
        );
        assert!(matches!(
            with(vec![("seizure", cop(-1))]).check(),
            Err(ContractError::NegativeFee(_))
        ));
        assert_eq!(
            with(vec![
                ("seizure", cop(1)),
                ("judgment", Money::from_minor(1, usd))
            ])
            .check(),
            Err(ContractError::FeeCurrencies("COP", "USD"))
        );
    }

    #[test]
    fn contracts_read_back_as_written() {
        let json = r#"{"rates":{"by":"stage","extrajudicial":"12.5","legal":"20"},
            "fees":[{"milestone":"claim_filed","amount":"150000.00 COP"}]}"#;
        let c: Contract = serde_json::from_str(json).unwrap();
        assert_eq!(c.rate(Stage::Extrajudicial, 9), rate("12.5"));
        assert_eq!(c.fee("claim_filed"), Some(cop(15_000_000)));
        let again: Contract = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(again, c);
        assert!(
            serde_json::from_str::<Contract>(
                r#"{"rates":{"by":"stage","extrajudicial":"101","legal":"20"}}"#
            )
            .is_err()
        );
    }

    proptest! {
        /// A commission is never more than its payment nor of another sign, and is
        /// within half a minor unit of the exact product.
        #[test]
        fn commission_is_bounded_and_exact_to_half_a_unit(
            minor in -1_000_000_000_000i64..1_000_000_000_000,
            bp in 0u32..=1_000_000,
        ) {
            let r = Rate(Decimal::new(i64::from(bp), 4));
            let c = r.of(cop(minor));
            prop_assert!(c.minor().abs() <= minor.abs());
            prop_assert!(c.minor() == 0 || c.minor().signum() == minor.signum());
            let exact = Decimal::from(minor) * r.percent() / Decimal::ONE_HUNDRED;
            prop_assert!((Decimal::from(c.minor()) - exact).abs() <= Decimal::new(5, 1));
            // A reversal takes back exactly what the payment earned.
            prop_assert_eq!(r.of(cop(-minor)).minor(), -c.minor());
        }

        /// Any text either reads as a rate from 0 to 100 or is refused; never a panic.
        #[test]
        fn any_rate_text_reads_or_is_refused(text in "[0-9.]{0,12}|.{0,12}") {
            if let Ok(r) = Rate::parse(&text) {
                prop_assert!(r.percent() >= Decimal::ZERO && r.percent() <= Decimal::ONE_HUNDRED);
                prop_assert!(r.percent().scale() <= RATE_PLACES);
            }
        }
    }
}
