//! The journal's event types for a case.

use std::collections::BTreeMap;

use bpmn::engine::Event;
use bpmn::expr::Vars;
use serde::{Deserialize, Serialize};

use super::facts::CaseFact;

/// One journal entry's payload. The engine is deterministic, so recording the inputs
/// (and the time, in the entry) is enough to rebuild every state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CaseEvent {
    Opened {
        tenant: String,
        external_ref: Option<String>,
        definition_id: i64,
        process_id: String,
        version: i32,
        content_hash: String,
        variables: Vars,
        /// A message or timer start event, by element id.
        start_at: Option<String>,
        /// Debts opened with the case (before its process starts moving).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        accounts: Vec<collections::ledger::NewAccount>,
    },
    /// An event handled by the engine (task completed, message correlated, ...).
    Engine { event: Event },
    /// Moved to another process version.
    Migrated {
        definition_id: i64,
        process_id: String,
        version: i32,
        content_hash: String,
        mapping: BTreeMap<String, String>,
    },
    /// Who works it, where it is placed, notes, documents: see [`CaseFact`].
    Fact { fact: CaseFact },
}

impl CaseEvent {
    /// The journal's `event_type` column: what happened, in the domain's words.
    pub fn event_type(&self) -> &'static str {
        match self {
            CaseEvent::Opened { .. } => "CaseOpened",
            CaseEvent::Migrated { .. } => "CaseMigrated",
            CaseEvent::Fact { fact } => fact.event_type(),
            CaseEvent::Engine { event } => match event {
                Event::CompleteTask { .. } => "TaskCompleted",
                Event::CompleteJob { .. } => "JobCompleted",
                Event::FailJob { .. } => "JobFailed",
                Event::ThrowError { .. } => "ErrorThrown",
                Event::TimerFired { .. } => "TimerFired",
                Event::Message { .. } => "MessageCorrelated",
                Event::SetVariables { .. } => "VariablesSet",
                Event::ResolveIncident { .. } => "IncidentResolved",
                Event::Cancel => "CaseCancelled",
            },
        }
    }
}
