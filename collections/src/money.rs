//! Exact money: whole minor units of one ISO 4217 currency, never a float.
//!
//! An amount is held as an integer count of the currency's minor units (cents for USD,
//! whole pesos for CLP, which has none, fils for KWD, which has three), so sums,
//! allocations and schedules are exact and money is conserved by construction. Text in
//! (`"1250.50"`) and out (`"1250.50 USD"`) goes through `rust_decimal`, and an amount
//! more precise than its currency allows is refused, not rounded.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// Why an amount or a currency was refused. Each variant is one thing the caller can fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::EnumCount)]
pub enum MoneyError {
    #[error("unknown currency {0:?}: use an ISO 4217 code such as USD, EUR, COP, CLP")]
    UnknownCurrency(String),
    /// Gold, test codes, "no currency": not money a debt can be in.
    #[error("{0} has no minor unit defined by ISO 4217 and cannot hold a debt")]
    NotACurrencyOfAccount(String),
    #[error("{0:?} is not an amount: write digits with an optional point, e.g. 1250.50")]
    NotANumber(String),
    #[error("{amount} is too precise for {currency}, which has {minor_units} decimal places")]
    TooPrecise {
        amount: String,
        currency: &'static str,
        minor_units: u32,
    },
    #[error("{0} is out of the range Recobro keeps amounts in")]
    OutOfRange(String),
    #[error("cannot combine {left} with {right}: different currencies")]
    CurrencyMismatch {
        left: &'static str,
        right: &'static str,
    },
    #[error("the amount must be greater than zero, not {0}")]
    NotPositive(String),
}

/// A currency a debt can be in: an ISO 4217 code with a defined number of minor units.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// The currency of an ISO 4217 alphabetic code (upper case, as the standard writes
    /// it).
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        let iso = iso_currency::Currency::from_code(code)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))?;
        if iso.exponent().is_none() {
            return Err(MoneyError::NotACurrencyOfAccount(code.to_string()));
        }
        Ok(Currency(iso))
    }

    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Decimal places of the minor unit: 2 for USD, 0 for CLP and JPY, 3 for KWD.
    pub fn minor_units(self) -> u32 {
        // `from_code` admits only currencies with an exponent.
        u32::from(self.0.exponent().unwrap_or(0))
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Currency::from_code(code)
    }
}

/// An exact amount of one currency, in whole minor units; may be negative (a credit, a
/// reversal).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    pub fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Parses a decimal amount (`"1250.5"`, `"-3"`, `"0.125"`): digits with an optional
    /// sign and point, no exponent, no thousands separators. Trailing zeros beyond the
    /// currency's places are fine (`"10.100"` COP); a non-zero digit beyond them is
    /// refused (`"10.123"` COP), never rounded.
    pub fn parse(amount: &str, currency: Currency) -> Result<Money, MoneyError> {
        let text = amount.trim();
        let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
        let well_formed = match unsigned.split_once('.') {
            None => all_digits(unsigned),
            Some((whole, fraction)) => {
                all_digits(whole) && (fraction.is_empty() || all_digits(fraction))
            }
        };
        if !well_formed {
            return Err(MoneyError::NotANumber(amount.to_string()));
        }
        let value = Decimal::from_str_exact(text)
            .map_err(|_| MoneyError::OutOfRange(amount.to_string()))?;
        Money::from_decimal(value, currency).map_err(|e| match e {
            MoneyError::TooPrecise { .. } | MoneyError::OutOfRange(_) => e,
            _ => MoneyError::NotANumber(amount.to_string()),
        })
    }

    /// The same as [`Money::parse`], for a value already decimal.
    pub fn from_decimal(value: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let places = currency.minor_units();
        let value = value.normalize();
        if value.scale() > places {
            return Err(MoneyError::TooPrecise {
                amount: value.to_string(),
                currency: currency.code(),
                minor_units: places,
            });
        }
        let minor = value
            .checked_mul(Decimal::from(10_i64.pow(places)))
            .and_then(|m| i64::try_from(m).ok())
            .ok_or_else(|| MoneyError::OutOfRange(value.to_string()))?;
        Ok(Money { minor, currency })
    }

    /// A decimal amount rounded half away from zero to the currency's places — only for
    /// figures Recobro merely shows (a process variable such as a legacy `amountDue`);
    /// amounts entering the ledger go through [`Money::parse`], which refuses instead.
    pub fn rounded(amount: &str, currency: Currency) -> Result<Money, MoneyError> {
        let value = Decimal::from_str_exact(amount.trim())
            .map_err(|_| MoneyError::NotANumber(amount.to_string()))?
            .round_dp_with_strategy(
                currency.minor_units(),
                rust_decimal::RoundingStrategy::MidpointAwayFromZero,
            );
        Money::from_decimal(value, currency)
    }

    /// Refuses zero and negative amounts (a payment, a promise, a plan).
    pub fn positive(self) -> Result<Money, MoneyError> {
        if self.minor > 0 {
            Ok(self)
        } else {
            Err(MoneyError::NotPositive(self.to_string()))
        }
    }

    pub fn minor(self) -> i64 {
        self.minor
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    /// The amount as a decimal with exactly the currency's places (`12.50`, `1000`).
    pub fn amount(self) -> Decimal {
        Decimal::new(self.minor, self.currency.minor_units())
    }

    pub fn is_zero(self) -> bool {
        self.minor == 0
    }

    pub fn is_negative(self) -> bool {
        self.minor < 0
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money { minor, ..self })
            .ok_or_else(|| MoneyError::OutOfRange(format!("{self} + {other}")))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Money { minor, ..self })
            .ok_or_else(|| MoneyError::OutOfRange(format!("{self} - {other}")))
    }

    /// The smaller of two amounts of one currency.
    pub fn min(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Ok(if other.minor < self.minor {
            other
        } else {
            self
        })
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency.code(),
                right: other.currency.code(),
            })
        }
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// `12.50 USD`, `1000 CLP`, `-0.125 KWD`: always the currency's places.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount(), self.currency)
    }
}

/// Money travels as text, `"12.50 USD"`: exact, readable in a journal entry, and
/// parsed back with the same checks as any input.
impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let (amount, code) = text.rsplit_once(' ').ok_or_else(|| {
            serde::de::Error::custom(format!("{text:?} is not \"<amount> <currency>\""))
        })?;
        let currency = Currency::from_code(code).map_err(serde::de::Error::custom)?;
        Money::parse(amount, currency).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::from_code(code).unwrap()
    }

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(cur("USD").minor_units(), 2);
        assert_eq!(cur("CLP").minor_units(), 0);
        assert_eq!(cur("JPY").minor_units(), 0);
        assert_eq!(cur("KWD").minor_units(), 3);
        assert_eq!(cur("CLF").minor_units(), 4);
    }

    #[test]
    fn unknown_and_non_currencies_are_refused() {
        assert!(matches!(
            Currency::from_code("ABC"),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!(matches!(
            Currency::from_code("usd"),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!(matches!(
            Currency::from_code("XAU"),
            Err(MoneyError::NotACurrencyOfAccount(_))
        ));
    }

    #[test]
    fn amounts_parse_exactly_per_currency() {
        let usd = cur("USD");
        assert_eq!(Money::parse("1250.5", usd).unwrap().minor(), 125_050);
        assert_eq!(Money::parse("-3", usd).unwrap().minor(), -300);
        assert_eq!(Money::parse("+0.01", usd).unwrap().minor(), 1);
        assert_eq!(Money::parse("10.100", cur("COP")).unwrap().minor(), 1_010);
        assert_eq!(Money::parse("1000", cur("CLP")).unwrap().minor(), 1_000);
        assert_eq!(Money::parse("0.125", cur("KWD")).unwrap().minor(), 125);
        assert_eq!(Money::parse("7.", usd).unwrap().minor(), 700);
    }

    #[test]
    fn bad_amounts_say_what_is_wrong() {
        let cop = cur("COP");
        assert!(matches!(
            Money::parse("10.123", cop),
            Err(MoneyError::TooPrecise { minor_units: 2, .. })
        ));
        assert!(matches!(
            Money::parse("1.5", cur("CLP")),
            Err(MoneyError::TooPrecise { minor_units: 0, .. })
        ));
        for bad in [
            "", "NaN", "inf", "1e3", "1,000.00", "12.3.4", "--1", ".5", "1 000", "abc",
        ] {
            assert!(
                matches!(Money::parse(bad, cop), Err(MoneyError::NotANumber(_))),
                "{bad:?}: {:?}",
                Money::parse(bad, cop)
            );
        }
        assert!(matches!(
            Money::parse("99999999999999999999", cop),
            Err(MoneyError::OutOfRange(_))
        ));
        assert!(matches!(
            Money::parse("0", cop).unwrap().positive(),
            Err(MoneyError::NotPositive(_))
        ));
    }

    #[test]
    fn shown_figures_round_half_away_from_zero() {
        assert_eq!(
            Money::rounded("1250.505", cur("USD")).unwrap().minor(),
            125_051
        );
        assert_eq!(Money::rounded("-0.5", cur("CLP")).unwrap().minor(), -1);
        assert_eq!(
            Money::rounded("1000", cur("KWD")).unwrap().minor(),
            1_000_000
        );
        assert!(Money::rounded("1e3", cur("USD")).is_err());
    }

    #[test]
    fn display_keeps_the_currency_places() {
        assert_eq!(Money::from_minor(1250, cur("USD")).to_string(), "12.50 USD");
        assert_eq!(Money::from_minor(1000, cur("CLP")).to_string(), "1000 CLP");
        assert_eq!(
            Money::from_minor(-125, cur("KWD")).to_string(),
            "-0.125 KWD"
        );
    }

    #[test]
    fn currencies_never_mix() {
        let a = Money::from_minor(1, cur("USD"));
        let b = Money::from_minor(1, cur("EUR"));
        assert!(matches!(
            a.checked_add(b),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn money_travels_as_exact_text() {
        let m = Money::from_minor(-125, cur("KWD"));
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "\"-0.125 KWD\"");
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        assert!(serde_json::from_str::<Money>("\"10.123 COP\"").is_err());
        assert!(serde_json::from_str::<Money>("\"10 XYZ\"").is_err());
        assert!(serde_json::from_str::<Money>("12.5").is_err());
    }

    proptest! {
        /// What is printed parses back to the same money, in every currency.
        #[test]
        fn display_round_trips(minor in -1_000_000_000_000i64..1_000_000_000_000,
                               code in prop::sample::select(vec!["USD", "CLP", "KWD", "COP", "CLF", "JPY"])) {
            let m = Money::from_minor(minor, cur(code));
            let text = m.to_string();
            let (amount, currency) = text.split_once(' ').unwrap();
            prop_assert_eq!(Money::parse(amount, cur(currency)).unwrap(), m);
        }

        /// Anything more precise than the currency is refused, never rounded.
        #[test]
        fn extra_precision_is_refused(minor in 0i64..1_000_000_000, extra in 1u32..9) {
            let usd = cur("USD");
            let text = format!("{}{extra}", Money::from_minor(minor, usd).amount());
            prop_assert!(
                matches!(Money::parse(&text, usd), Err(MoneyError::TooPrecise { .. })),
                "{}", text
            );
        }
    }
}
