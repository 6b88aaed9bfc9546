//! Audit of the case journal: re-verifies every case's hash chain from the stored rows.
//!
//! The journal is read in pages of [`PAGE_SIZE`] rows ordered by (case id, sequence),
//! with keyset pagination (`(case_id, seq) > (last case, last seq)`), which both back-ends
//! answer from the primary-key index: memory stays bounded by one page plus the history
//! of the case being checked, however many rows the journal holds.

use orm::entities::case_journal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::journal::{ChainError, Entry, verify_chain};

/// Rows read per query.
pub const PAGE_SIZE: u64 = 1000;

/// Outcome of an audit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Cases whose chain was checked (broken ones included).
    pub cases: u64,
    /// Journal rows read.
    pub entries: u64,
    /// The cases whose chain does not verify, in case-id order, with the first fault.
    pub broken: Vec<BrokenChain>,
}

impl VerifyReport {
    /// True when every checked chain verifies.
    pub fn is_ok(&self) -> bool {
        self.broken.is_empty()
    }
}

/// A case whose chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenChain {
    pub case_id: String,
    /// The first fault found in the chain.
    pub error: ChainError,
}

/// Why an audit could not be carried out (a broken chain is a finding, not an error).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// `verify_cases` was asked for one case and the journal has no entry for it.
    #[error("no journal entries for case {0}")]
    UnknownCase(String),
    /// Reading the journal failed.
    #[error("reading the case journal failed: {0}")]
    Db(#[from] DbErr),
}

/// Verifies the hash chain of every case in the journal, or of `case` only.
///
/// A row whose payload is not JSON cannot have been written by Recobro (the journal
/// stores canonical JSON): it is reported as [`ChainError::Altered`].
pub async fn verify_cases(
    db: &DatabaseConnection,
    case: Option<&str>,
) -> Result<VerifyReport, AuditError> {
    let mut report = VerifyReport::default();
    let mut current = CaseChain::default();
    let mut after: Option<(String, i64)> = None;
    loop {
        let page = read_page(db, case, after.as_ref()).await?;
        let Some(last) = page.last() else { break };
        after = Some((last.case_id.clone(), last.seq));
        let full = page.len() as u64 == PAGE_SIZE;
        for row in page {
            report.entries += 1;
            if current.case_id.as_deref() != Some(row.case_id.as_str()) {
                current.finish(&mut report);
                current.case_id = Some(row.case_id.clone());
            }
            current.push(row);
        }
        if !full {
            break;
        }
    }
    current.finish(&mut report);
    match case {
        Some(id) if report.cases == 0 => Err(AuditError::UnknownCase(id.to_owned())),
        _ => Ok(report),
    }
}

async fn read_page(
    db: &DatabaseConnection,
    case: Option<&str>,
    after: Option<&(String, i64)>,
) -> Result<Vec<case_journal::Model>, DbErr> {
    use case_journal::Column;
    let mut query = case_journal::Entity::find();
    if let Some(case) = case {
        query = query.filter(Column::CaseId.eq(case));
    }
    if let Some((case_id, seq)) = after {
        // A row-value comparison: an index range scan on both back-ends (an OR of two
        // conditions is not, on PostgreSQL).
        query = query.filter(
            Expr::tuple([Expr::col(Column::CaseId), Expr::col(Column::Seq)])
                .gt(Expr::tuple([Expr::val(case_id.as_str()), Expr::val(*seq)])),
        );
    }
    query
        .order_by_asc(Column::CaseId)
        .order_by_asc(Column::Seq)
        .limit(PAGE_SIZE)
        .all(db)
        .await
}

/// The rows of the case being read; once a fault is found, later rows are only counted.
#[derive(Default)]
struct CaseChain {
    case_id: Option<String>,
    entries: Vec<Entry>,
    fault: Option<ChainError>,
}

impl CaseChain {
    fn push(&mut self, row: case_journal::Model) {
        if self.fault.is_some() {
            return;
        }
        match serde_json::from_str(&row.payload) {
            Ok(payload) => self.entries.push(Entry {
                case_id: row.case_id,
                seq: row.seq,
                event_type: row.event_type,
                payload,
                actor: row.actor,
                recorded_at: row.recorded_at,
                prev_hash: row.prev_hash,
                hash: row.hash,
            }),
            Err(_) => {
                // The entries before this one may already be broken: that fault comes first.
                self.fault = Some(verify_chain(&self.entries).err().unwrap_or(
                    ChainError::Altered {
                        case_id: row.case_id,
                        seq: row.seq,
                    },
                ));
                self.entries = Vec::new();
            }
        }
    }

    fn finish(&mut self, report: &mut VerifyReport) {
        let Some(case_id) = self.case_id.take() else {
            return;
        };
        report.cases += 1;
        let entries = std::mem::take(&mut self.entries);
        if let Some(error) = self.fault.take().or_else(|| verify_chain(&entries).err()) {
            report.broken.push(BrokenChain { case_id, error });
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use sea_orm::{ActiveValue::Set, ConnectionTrait};
    use serde_json::json;

    use super::*;
    use crate::journal::{GENESIS, canonical_json};

    /// Writes `cases` chains of `len` entries each.
    async fn write_chains(db: &DatabaseConnection, cases: &[&str], len: i64) {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        let mut rows = Vec::new();
        for case in cases {
            let mut prev = GENESIS.to_owned();
            for seq in 1..=len {
                let e = Entry::next(
                    case,
                    seq,
                    &prev,
                    "TaskCompleted",
                    json!({"seq": seq, "amount": {"value": "12.50", "currency": "EUR"}}),
                    "agent:ana",
                    t + chrono::Duration::microseconds(seq * 1_234_567),
                );
                prev = e.hash.clone();
                rows.push(case_journal::ActiveModel {
                    case_id: Set(e.case_id),
                    seq: Set(e.seq),
                    event_type: Set(e.event_type),
                    payload: Set(canonical_json(&e.payload)),
                    actor: Set(e.actor),
                    recorded_at: Set(e.recorded_at),
                    prev_hash: Set(e.prev_hash),
                    hash: Set(e.hash),
                });
            }
        }
        for chunk in rows.chunks(200) {
            case_journal::Entity::insert_many(chunk.to_vec())
                .exec(db)
                .await
                .expect("insert journal rows");
        }
    }

    async fn set_payload(db: &DatabaseConnection, case: &str, seq: i64, payload: &str) {
        use case_journal::Column;
        case_journal::Entity::update_many()
            .col_expr(Column::Payload, Expr::val(payload))
            .filter(Column::CaseId.eq(case))
            .filter(Column::Seq.eq(seq))
            .exec(db)
            .await
            .expect("tamper");
    }

    async fn empty_journal_verifies(db: &DatabaseConnection) {
        let report = verify_cases(db, None).await.unwrap();
        assert_eq!(report, VerifyReport::default());
        assert!(matches!(
            verify_cases(db, Some("nope")).await,
            Err(AuditError::UnknownCase(id)) if id == "nope"
        ));
    }

    async fn intact_chains_verify_across_pages(db: &DatabaseConnection) {
        // 3 cases x 700 entries: pages end in the middle of a case.
        write_chains(db, &["case-a", "case-b", "case-c"], 700).await;
        let report = verify_cases(db, None).await.unwrap();
        assert_eq!(report.cases, 3);
        assert_eq!(report.entries, 2100);
        assert!(report.is_ok(), "{:?}", report.broken);

        let one = verify_cases(db, Some("case-b")).await.unwrap();
        assert_eq!((one.cases, one.entries), (1, 700));
        assert!(one.is_ok());
    }

    async fn tampering_is_reported_per_case(db: &DatabaseConnection) {
        write_chains(db, &["case-a", "case-b", "case-c"], 5).await;
        set_payload(
            db,
            "case-b",
            3,
            r#"{"amount":{"currency":"EUR","value":"1.00"},"seq":3}"#,
        )
        .await;
        set_payload(db, "case-c", 4, "not json").await;

        let report = verify_cases(db, None).await.unwrap();
        assert_eq!((report.cases, report.entries), (3, 15));
        assert_eq!(
            report.broken,
            vec![
                BrokenChain {
                    case_id: "case-b".into(),
                    error: ChainError::Altered {
                        case_id: "case-b".into(),
                        seq: 3
                    },
                },
                BrokenChain {
                    case_id: "case-c".into(),
                    error: ChainError::Altered {
                        case_id: "case-c".into(),
                        seq: 4
                    },
                },
            ]
        );

        let only_a = verify_cases(db, Some("case-a")).await.unwrap();
        assert!(only_a.is_ok());
        let only_b = verify_cases(db, Some("case-b")).await.unwrap();
        assert_eq!(only_b.broken.len(), 1);

        // A deleted entry is a gap.
        db.execute_unprepared("DELETE FROM case_journal WHERE case_id = 'case-a' AND seq = 2")
            .await
            .unwrap();
        let only_a = verify_cases(db, Some("case-a")).await.unwrap();
        assert_eq!(
            only_a.broken[0].error,
            ChainError::Gap {
                case_id: "case-a".into(),
                seq: 3,
                prev_seq: 1
            }
        );
    }

    /// Runs a scenario on a fresh, migrated SQLite database and, when configured, on
    /// PostgreSQL ([`orm::testing`]).
    macro_rules! on_both {
        ($name:ident) => {
            mod $name {
                use orm::testing::TestDb;

                #[tokio::test]
                async fn sqlite() {
                    let t = TestDb::sqlite().await;
                    orm::migrate(&t.db).await.unwrap();
                    super::$name(&t.db).await;
                }

                #[tokio::test]
                async fn postgres() {
                    let Some(t) = TestDb::postgres(stringify!($name)).await else {
                        return;
                    };
                    orm::migrate(&t.db).await.unwrap();
                    super::$name(&t.db).await;
                }
            }
        };
    }

    on_both!(empty_journal_verifies);
    on_both!(intact_chains_verify_across_pages);
    on_both!(tampering_is_reported_per_case);
}
