//! `recobro compliance replay`: every contact made, asked of the gate again under the
//! rule pack versions of its instant, with the debtor as the file stood then.

use chrono::{DateTime, Utc};
use collections::compliance::{Decision, PastContact, Request};
use collections::debtor::{Channel, Debtor, DebtorChange, candidate_zones};
use orm::entities::{cases, debtor_changes};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{GateInputs, past_contact, recipient_of};
use crate::desk::{Desk, DeskError};

/// A contact made that the gate, asked again now under the pack version of its day,
/// would have refused.
#[derive(Debug, Clone)]
pub struct Violation {
    pub tenant: String,
    pub case_id: String,
    pub attempt: u32,
    pub channel: Channel,
    pub made_at: DateTime<Utc>,
    pub decision: Decision,
}

/// What a compliance replay checked.
#[derive(Debug, Default)]
pub struct ReplayReport {
    pub cases: usize,
    pub contacts: usize,
    pub violations: Vec<Violation>,
}

impl Desk {
    /// Re-evaluates every contact made (on `case`, or on every case) under the rule pack
    /// versions in force when it was made, with the contacts made before it; lists those
    /// the gate would refuse. The debtor's law and time zone (and the candidate zones its
    /// contact points gave) are those its file held at that instant; flags and consents are read with their own dates from
    /// the file as it stands, so a cease or a revocation entered late still counts from
    /// when it was made.
    pub async fn replay_compliance(&self, case: Option<&str>) -> Result<ReplayReport, DeskError> {
        let mut rows = cases::Entity::find()
            .select_only()
            .column(cases::Column::CaseId)
            .column(cases::Column::Tenant)
            .column(cases::Column::DebtorId);
        if let Some(id) = case {
            let debtor = cases::Entity::find_by_id(id.to_string())
                .one(&self.db)
                .await?
                .ok_or_else(|| DeskError::CaseNotFound(id.to_string()))?;
            rows = match &debtor.debtor_id {
                // The debtor's other debts count for its limits.
                Some(d) => rows
                    .filter(cases::Column::Tenant.eq(debtor.tenant.as_str()))
                    .filter(cases::Column::DebtorId.eq(d.as_str())),
                None => rows.filter(cases::Column::CaseId.eq(id)),
            };
        }
        let rows: Vec<(String, String, Option<String>)> = rows.into_tuple().all(&self.db).await?;
        // One group per debtor (a case without one is a group of its own).
        type Group = (Option<String>, Vec<String>);
        let mut groups: std::collections::BTreeMap<(String, String), Group> = Default::default();
        for (case_id, tenant, debtor) in rows {
            let key = (
                tenant,
                debtor.clone().unwrap_or_else(|| format!("case {case_id}")),
            );
            let group = groups.entry(key).or_default();
            group.0 = debtor;
            group.1.push(case_id);
        }
        let mut report = ReplayReport::default();
        for ((tenant, _), (debtor_id, case_ids)) in groups {
            let debtor = match &debtor_id {
                Some(d) => self.debtor_state(&tenant, d).await?,
                None => None,
            };
            let mut file = match &debtor_id {
                Some(d) => DebtorFile::read(self, &tenant, d).await?,
                None => DebtorFile::default(),
            };
            // Every attempt of the debtor, with its case and creditor.
            let mut made = Vec::new();
            for id in &case_ids {
                let Some(state) = self.runtime.case(id).await? else {
                    continue;
                };
                let creditor = state.creditor().to_string();
                report.cases += usize::from(case.is_none_or(|c| c == id));
                for a in state.contacts {
                    made.push((id.clone(), creditor.clone(), a));
                }
            }
            made.sort_by_key(|(_, _, a)| a.made_at);
            for (i, (case_id, creditor, attempt)) in made.iter().enumerate() {
                if case.is_some_and(|c| c != case_id) {
                    continue;
                }
                report.contacts += 1;
                let history: Vec<PastContact> = made[..i]
                    .iter()
                    .filter_map(|(c, _, a)| past_contact(a, c == case_id))
                    .collect();
                let (debtor, zones) = file.as_of(debtor.as_ref(), attempt.made_at)?;
                let inputs = GateInputs {
                    debtor,
                    creditor: creditor.clone(),
                    zones,
                    history,
                };
                let req = Request {
                    channel: attempt.channel,
                    recipient: recipient_of(&attempt.recipient),
                };
                let decision = inputs.decide(&self.gate, &req, attempt.made_at);
                if !decision.allowed() {
                    report.violations.push(Violation {
                        tenant: tenant.clone(),
                        case_id: case_id.clone(),
                        attempt: attempt.id,
                        channel: attempt.channel,
                        made_at: attempt.made_at,
                        decision,
                    });
                }
            }
        }
        Ok(report)
    }
}

/// A debtor's file of changes, folded up to the instants replayed (in order).
#[derive(Default)]
struct DebtorFile {
    id: String,
    changes: Vec<(DateTime<Utc>, DebtorChange)>,
    folded: usize,
    then: Option<Debtor>,
}

impl DebtorFile {
    async fn read(desk: &Desk, tenant: &str, debtor_id: &str) -> Result<DebtorFile, DeskError> {
        let rows = debtor_changes::Entity::find()
            .filter(debtor_changes::Column::Tenant.eq(tenant))
            .filter(debtor_changes::Column::DebtorId.eq(debtor_id))
            .order_by_asc(debtor_changes::Column::Seq)
            .all(&desk.db)
            .await?;
        let changes = rows
            .into_iter()
            .map(|r| {
                serde_json::from_str(&r.change)
                    .map(|c| (r.recorded_at, c))
                    .map_err(|e| corrupt(debtor_id, r.seq, &e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok(DebtorFile {
            id: debtor_id.to_string(),
            changes,
            ..DebtorFile::default()
        })
    }

    /// The debtor the gate is told about at `at`: `now` (the file as it stands, whose
    /// flags and consents carry their own dates) with the law and zone of the file at
    /// `at`, and the candidate zones that file gave — or `now` whole when the file did
    /// not exist yet then. Called with `at` never decreasing.
    fn as_of(
        &mut self,
        now: Option<&Debtor>,
        at: DateTime<Utc>,
    ) -> Result<(Option<Debtor>, Vec<collections::debtor::Tz>), DeskError> {
        // In file order, up to the first change recorded after `at` (two writers may
        // commit in the other order than they read the clock).
        let known = self.folded
            + self.changes[self.folded..]
                .iter()
                .position(|(t, _)| *t > at)
                .unwrap_or(self.changes.len() - self.folded);
        // Folded on from where the last contact left it (`at` never goes back).
        for (k, (_, change)) in self.changes[self.folded..known].iter().enumerate() {
            let seq = (self.folded + k + 1) as i64;
            let bad = |e: collections::debtor::DebtorError| corrupt(&self.id, seq, &e.to_string());
            match &mut self.then {
                None => self.then = Some(Debtor::register(&self.id, change).map_err(bad)?),
                Some(debtor) => {
                    debtor.apply(change).map_err(bad)?;
                }
            }
        }
        self.folded = known;
        let Some(now) = now else {
            return Ok((None, Vec::new()));
        };
        let Some(then) = &self.then else {
            return Ok((Some(now.clone()), candidate_zones(now)));
        };
        let mut debtor = now.clone();
        debtor.jurisdiction = then.jurisdiction.clone();
        debtor.time_zone = then.time_zone;
        Ok((Some(debtor), candidate_zones(then)))
    }
}

fn corrupt(debtor_id: &str, seq: i64, e: &str) -> DeskError {
    DeskError::Runtime(crate::runtime::RuntimeError::Corrupt(format!(
        "debtor {debtor_id}'s change {seq}: {e}"
    )))
}
