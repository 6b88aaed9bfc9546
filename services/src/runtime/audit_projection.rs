//! Rebuilding a case from its journal and comparing the result with the projections:
//! `recobro replay` and the crash test use it to prove the read side matches the history.

use std::collections::BTreeSet;

use bpmn::engine::{SubscriptionKind, Wait};
use orm::entities::{cases, message_subscriptions, tasks, timers};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{Runtime, RuntimeError};
use crate::case::projection::status_of;
use crate::case::{CaseState, LedgerTimer};

/// The rebuilt state and every difference found.
#[derive(Debug, Clone)]
pub struct ProjectionCheck {
    pub rebuilt: CaseState,
    pub mismatches: Vec<String>,
}

impl Runtime {
    /// Replays the whole journal of a case (no snapshot) and compares it with the case,
    /// task, timer and subscription rows.
    pub async fn check_projection(&self, case_id: &str) -> Result<ProjectionCheck, RuntimeError> {
        let rebuilt = self
            .replay(case_id)
            .await?
            .ok_or_else(|| RuntimeError::UnknownCase(case_id.into()))?;
        let db = self.store().db();
        let mut mismatches = Vec::new();
        let mut differ = |what: &str, stored: String, replayed: String| {
            if stored != replayed {
                mismatches.push(format!(
                    "{what}: projection has {stored}, journal gives {replayed}"
                ));
            }
        };
        let row = cases::Entity::find_by_id(case_id.to_string())
            .one(db)
            .await?
            .ok_or_else(|| RuntimeError::UnknownCase(case_id.into()))?;
        differ("seq", row.seq.to_string(), rebuilt.seq.to_string());
        differ(
            "status",
            row.status.clone(),
            status_of(&rebuilt.instance).to_string(),
        );
        differ(
            "stage",
            format!("{:?}", row.stage),
            format!("{:?}", rebuilt.instance.stage),
        );
        differ(
            "definition",
            row.definition_id.to_string(),
            rebuilt.definition_id.to_string(),
        );

        let open: BTreeSet<i64> = tasks::Entity::find()
            .filter(tasks::Column::CaseId.eq(case_id))
            .filter(tasks::Column::Status.eq("open"))
            .all(db)
            .await?
            .into_iter()
            .map(|t| t.task_id)
            .collect();
        let waiting: BTreeSet<i64> = rebuilt
            .instance
            .elements
            .iter()
            .filter(|(_, e)| e.wait == Wait::Task)
            .map(|(&id, _)| id as i64)
            .collect();
        differ("open tasks", format!("{open:?}"), format!("{waiting:?}"));

        let stored_timers: BTreeSet<i64> = timers::Entity::find()
            .filter(timers::Column::CaseId.eq(case_id))
            .all(db)
            .await?
            .into_iter()
            .map(|t| t.timer_id)
            .collect();
        let stored_subs: BTreeSet<i64> = message_subscriptions::Entity::find()
            .filter(message_subscriptions::Column::CaseId.eq(case_id))
            .all(db)
            .await?
            .into_iter()
            .map(|s| s.subscription_id)
            .collect();
        let (mut pending_timers, mut pending_subs) = (BTreeSet::new(), BTreeSet::new());
        for (&id, sub) in &rebuilt.instance.subscriptions {
            match sub.kind {
                SubscriptionKind::Timer { .. } => pending_timers.insert(id as i64),
                SubscriptionKind::Message { .. } => pending_subs.insert(id as i64),
            };
        }
        // So does an offer's acceptance deadline, and promise and plan deadlines still to
        // be checked.
        if let Some((id, _)) = rebuilt
            .placement
            .as_ref()
            .and_then(|p| p.pending_deadline())
        {
            pending_timers.insert(id);
        }
        if let Some(ledger) = &rebuilt.ledger {
            if let Some(p) = ledger.open_promise() {
                for (part, _) in p.pending_deadlines() {
                    pending_timers.insert(
                        LedgerTimer::Promise {
                            promise: p.id,
                            part,
                        }
                        .timer_id(),
                    );
                }
            }
            for p in ledger.plans() {
                for (instalment, _) in p.pending_deadlines() {
                    pending_timers.insert(
                        LedgerTimer::Plan {
                            plan: p.id,
                            instalment,
                        }
                        .timer_id(),
                    );
                }
            }
        }
        differ(
            "timers",
            format!("{stored_timers:?}"),
            format!("{pending_timers:?}"),
        );
        differ(
            "message subscriptions",
            format!("{stored_subs:?}"),
            format!("{pending_subs:?}"),
        );
        Ok(ProjectionCheck {
            rebuilt,
            mismatches,
        })
    }
}
