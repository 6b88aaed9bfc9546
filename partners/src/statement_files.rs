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

fn describe(l: &Line) -> String {
    match l.kind {
        LineKind::Fee => format!("fee {}", l.milestone.as_deref().unwrap_or_default()),
        LineKind::Commission | LineKind::Reversal => format!(
            "{}{} x {}%",
            if l.kind == LineKind::Reversal {
                "reversed "
            } else {
                ""
            },
            l.payment.map(plain).unwrap_or_default(),
            l.rate.map(|r| r.to_string()).unwrap_or_default()
        ),
    }
}

/// The statement as the PDF's body text: a table of lines, then the totals; rows fit
/// the letter's 70 columns.
pub fn text(s: &PartnerStatement) -> String {
    let mut out = format!(
        "Commission statement {} for {}\n\n",
        s.month, s.partner_name
    );
    out.push_str(&format!(
        "{:<10} {:<11} {:<11} {:<20} {:>14}\n",
        "Date", "Case", "Reference", "Detail", "Amount"
    ));
    for l in &s.statement.lines {
        let cut = |t: &str, n: usize| t.chars().take(n).collect::<String>();
        out.push_str(&format!(
            "{:<10} {:<11} {:<11} {:<20} {:>14}\n",
            l.on.format("%Y-%m-%d"),
            cut(&l.case_ref, 11),
            cut(&l.reference, 11),
            cut(&describe(l), 20),
            l.amount.to_string()
        ));
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
