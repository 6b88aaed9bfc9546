//! A statement as files: CSV for the partner's and the creditor's books, and the plain
//! text table the PDF is set from (monospaced, so columns line up without a layout
//! engine; the PDF itself is rendered by the API layer with the letter writer).

use collections::commission::statement::{Line, LineKind};
use collections::money::Money;

use crate::commissions::PartnerStatement;

/// The CSV header; a line per statement line, then per currency its totals
/// (`total_collected`, `total_commission`, `total_fees`, `total_payable`, `net`).
pub const CSV_HEADER: [&str; 9] = [
    "kind",
    "case_ref",
    "date",
    "reference",
    "milestone",
    "currency",
    "payment",
    "rate_percent",
    "amount",
];

fn plain(m: Money) -> String {
    m.amount().to_string()
}

/// The statement as CSV (amounts in the currency's places, a point for decimals).
pub fn csv(s: &PartnerStatement) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(CSV_HEADER);
    for l in &s.statement.lines {
        let _ = w.write_record([
            l.kind.as_str().to_string(),
            l.case_ref.clone(),
            l.on.to_string(),
            l.reference.clone(),
            l.milestone.clone().unwrap_or_default(),
            l.amount.currency().code().to_string(),
            l.payment.map(plain).unwrap_or_default(),
            l.rate.map(|r| r.to_string()).unwrap_or_default(),
            plain(l.amount),
        ]);
    }
    for t in &s.statement.totals {
        for (kind, m) in [
            ("total_collected", t.collected),
            ("total_commission", t.commission),
            ("total_fees", t.fees),
            ("total_payable", t.payable),
            ("net", t.net),
        ] {
            let _ = w.write_record([kind, "", "", "", "", t.currency.code(), "", "", &plain(m)]);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A line's second row: what it is of (the rate and payment, or the milestone).
fn detail(l: &Line) -> String {
    match (l.kind, l.rate, l.payment) {
        (LineKind::Fee, ..) => l.milestone.clone().unwrap_or_default(),
        (_, Some(rate), Some(payment)) => format!("{rate}% of {payment}"),
        _ => String::new(),
    }
}

/// The statement as the PDF's body text: the partner's name, a table of lines, then
/// the totals; rows fit the letter's 70 columns.
pub fn text(s: &PartnerStatement) -> String {
    // The partner's name is the letter's address block; the title goes after it.
    let mut out = format!("{}\n\n", s.partner_name);
    out.push_str(&format!(
        "{:<10} {:<12} {:<12} {:<10} {:>20}\n",
        "Date", "Case", "Reference", "Line", "Amount"
    ));
    let cut = |t: &str, n: usize| t.chars().take(n).collect::<String>();
    for l in &s.statement.lines {
        out.push_str(&format!(
            "{:<10} {:<12} {:<12} {:<10} {:>20}\n",
            l.on.format("%Y-%m-%d"),
            cut(&l.case_ref, 12),
            cut(&l.reference, 12),
            l.kind.as_str(),
            l.amount.to_string()
        ));
        out.push_str(&format!("{:37}{}\n", "", cut(&detail(l), 33)));
    }
    if s.statement.lines.is_empty() {
        out.push_str("No commission or fee this month.\n");
    }
    for t in &s.statement.totals {
        out.push_str(&format!("\nTotals in {}\n", t.currency));
        for (what, m) in [
            ("Collected", t.collected),
            ("Commission", t.commission),
            ("Fees", t.fees),
            ("Payable to the partner", t.payable),
            ("Net to the creditor", t.net),
        ] {
            out.push_str(&format!("  {what:<26} {:>20}\n", m.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use collections::commission::statement::{Collected, statement};
    use collections::commission::{Contract, Rate, Rates, Stage};
    use collections::money::Currency;

    use super::*;

    #[test]
    fn the_text_fits_the_letter_and_the_csv_adds_up() {
        let cop = Currency::from_code("COP").unwrap();
        let contract = Contract {
            rates: Rates::Stage {
                extrajudicial: Rate::parse("12.5").unwrap(),
                legal: Rate::parse("20").unwrap(),
            },
            fees: Vec::new(),
        };
        let paid = Collected {
            case_ref: "A-VERY-LONG-CASE-REFERENCE".into(),
            on: NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
            reference: "P-1".into(),
            amount: Money::from_minor(99_999_999_999, cop),
            reversal: false,
            stage: Stage::Extrajudicial,
            days_past_due: 10,
        };
        let s = PartnerStatement {
            partner_id: "p".into(),
            partner_name: "Cobra Agency".into(),
            month: "2026-12".into(),
            statement: statement(&contract, &[paid], &[]).unwrap(),
        };
        let text = text(&s);
        assert!(text.lines().all(|l| l.chars().count() <= 70), "{text}");
        assert!(text.contains("A-VERY-LONG- P-1"), "{text}");
        assert!(text.contains("12.5% of 999999999.99 COP"), "{text}");
        assert!(text.contains("125000000.00 COP"), "{text}");
        let csv = csv(&s);
        assert!(csv.contains("commission,A-VERY-LONG-CASE-REFERENCE,2026-12-03,P-1,,COP,999999999.99,12.5,125000000.00\n"), "{csv}");
        assert!(csv.ends_with("net,,,,,COP,,,874999999.99\n"), "{csv}");
    }
}
