//! The agenda's ranking: one integer per task, fixed when the task is created, so "next
//! N tasks for me" is an index range scan however many tasks are open.
//!
//! The score adds three parts (higher is more urgent):
//! - priority: 10 points per priority step (0..=100, 50 when the model sets none);
//! - amount at stake: 100 points per tenfold amount (log10 of the major units, in the
//!   case's currency: a yen and a dinar count in their own places; amounts in different
//!   currencies are not converted);
//! - due date: 10 points per day earlier due; a task without a due date counts as due
//!   [`DEFAULT_SLA_DAYS`] after creation.
//!
//! Because the due part uses the absolute due date, ordering by the stored score stays
//! right as time passes; only the explanation mentions "overdue", computed at read time.
//! So a task due a day earlier outranks one 1 priority step higher, and 10x the amount
//! weighs like 10 days.

use chrono::{DateTime, Duration, Utc};

use crate::money::Money;

/// Days after creation a task without due date is treated as due.
pub const DEFAULT_SLA_DAYS: i64 = 30;
/// 2020-01-01T00:00:00Z: keeps scores small enough to read.
const EPOCH: i64 = 1_577_836_800;

#[derive(Debug, Clone, PartialEq)]
pub struct RankInputs {
    pub priority: i64,
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub amount_due: Option<Money>,
}

/// The parts of a task's score, for the agenda's explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct RankParts {
    pub priority_points: i64,
    pub amount_points: i64,
    pub due_points: i64,
    /// The due date the score used (the task's, or creation + the default SLA).
    pub effective_due: DateTime<Utc>,
}

impl RankParts {
    pub fn score(&self) -> i64 {
        self.priority_points + self.amount_points + self.due_points
    }
}

pub fn parts(i: &RankInputs) -> RankParts {
    let effective_due = i
        .due_at
        .unwrap_or(i.created_at + Duration::days(DEFAULT_SLA_DAYS));
    // A score, not money: the logarithm needs a float, and the stored amount stays exact.
    let amount_major = i.amount_due.map_or(0.0, |m| {
        m.minor().max(0) as f64 / 10f64.powi(m.currency().minor_units() as i32)
    });
    RankParts {
        priority_points: 10 * i.priority.clamp(0, 100),
        amount_points: (100.0 * (1.0 + amount_major).log10()).round() as i64,
        due_points: -(effective_due.timestamp() - EPOCH) / 8_640,
        effective_due,
    }
}

pub fn rank(i: &RankInputs) -> i64 {
    parts(i).score()
}

/// Why a task ranks where it does, in words, as of `now`.
pub fn explain(i: &RankInputs, now: DateTime<Utc>) -> Vec<String> {
    let p = parts(i);
    let mut out = vec![format!(
        "priority {} (+{} points)",
        i.priority.clamp(0, 100),
        p.priority_points
    )];
    if let Some(amount) = i.amount_due {
        out.push(format!(
            "{} {} at stake (+{} points)",
            amount.amount(),
            amount.currency().code(),
            p.amount_points
        ));
    }
    let days = (p.effective_due - now).num_hours().div_euclid(24);
    let when = match days {
        d if d < 0 => format!("{} days overdue", -d),
        0 => "due today".to_string(),
        d => format!("due in {d} days"),
    };
    let source = if i.due_at.is_some() {
        "due date"
    } else {
        "default SLA"
    };
    out.push(format!(
        "{when} by {source} {} ({} points)",
        p.effective_due.format("%Y-%m-%d"),
        p.due_points
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 9, 0, 0).unwrap()
    }

    fn inputs(priority: i64, due: Option<u32>, amount: Option<i64>) -> RankInputs {
        in_currency(priority, due, amount, "USD")
    }

    fn in_currency(priority: i64, due: Option<u32>, amount: Option<i64>, code: &str) -> RankInputs {
        let currency = crate::money::Currency::from_code(code).unwrap();
        RankInputs {
            priority,
            due_at: due.map(at),
            created_at: at(1),
            amount_due: amount.map(|m| Money::from_minor(m, currency)),
        }
    }

    #[test]
    fn an_amount_counts_in_its_own_currency_places() {
        // 1,000 USD, JPY and KWD are 100000, 1000 and 1000000 minor units: the same
        // thousand at stake each time.
        let usd = parts(&in_currency(50, Some(20), Some(100_000), "USD")).amount_points;
        let jpy = parts(&in_currency(50, Some(20), Some(1_000), "JPY")).amount_points;
        let kwd = parts(&in_currency(50, Some(20), Some(1_000_000), "KWD")).amount_points;
        assert_eq!((usd, jpy, kwd), (300, 300, 300));
        let why = explain(&in_currency(50, Some(20), Some(1_000_000), "KWD"), at(20));
        assert!(why[1].starts_with("1000.000 KWD at stake"), "{why:?}");
    }

    #[test]
    fn earlier_due_higher_priority_and_larger_amount_rank_first() {
        let base = rank(&inputs(50, Some(20), Some(100_000)));
        assert!(rank(&inputs(50, Some(19), Some(100_000))) > base);
        assert!(rank(&inputs(60, Some(20), Some(100_000))) > base);
        assert!(rank(&inputs(50, Some(20), Some(1_000_000))) > base);
    }

    #[test]
    fn no_due_date_means_the_default_sla() {
        let none = parts(&inputs(50, None, None));
        assert_eq!(none.effective_due, at(1) + Duration::days(DEFAULT_SLA_DAYS));
    }

    #[test]
    fn explanation_names_every_part() {
        let why = explain(&inputs(80, Some(20), Some(1_250_050)), at(23));
        assert_eq!(why[0], "priority 80 (+800 points)");
        assert!(why[1].starts_with("12500.50 USD at stake"), "{why:?}");
        assert!(
            why[2].starts_with("3 days overdue by due date 2026-11-20"),
            "{why:?}"
        );
    }
}
