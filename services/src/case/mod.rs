//! A case: what its journal records ([`CaseEvent`]) and how its state follows from the
//! journal ([`apply`]). Pure: the same journal always rebuilds the same state, which is
//! what replay, verification and crash recovery rely on.

mod events;
pub mod facts;
pub mod projection;

use std::collections::BTreeMap;
use std::sync::Arc;

use bpmn::compile::Deployment;
use bpmn::engine::{self, Effect, Instance, StartAt};
use chrono::{DateTime, Utc};
pub use events::CaseEvent;
use serde::{Deserialize, Serialize};

/// Everything a case actor holds in memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseState {
    pub case_id: String,
    pub tenant: String,
    pub definition_id: i64,
    pub instance: Instance,
    /// Sequence of the last journal entry applied.
    pub seq: i64,
    /// Hash of that entry (the next entry's `prev_hash`).
    pub last_hash: String,
}

/// Why an event could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("case {0} does not exist")]
    NoCase(String),
    #[error("case {0} is already open")]
    AlreadyOpen(String),
    #[error("process definition {0} is not deployed")]
    UnknownDefinition(i64),
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    #[error(transparent)]
    Migration(#[from] engine::MigrationError),
}

/// Looks up deployed definitions by id.
pub trait Definitions {
    fn deployment(&self, definition_id: i64) -> Option<Arc<Deployment>>;
}

impl Definitions for BTreeMap<i64, Arc<Deployment>> {
    fn deployment(&self, definition_id: i64) -> Option<Arc<Deployment>> {
        self.get(&definition_id).cloned()
    }
}

/// Applies one journal event to a case's instance. `None` before the case is opened.
pub fn apply(
    defs: &dyn Definitions,
    case_id: &str,
    definition_id: Option<i64>,
    instance: Option<&Instance>,
    event: &CaseEvent,
    at: DateTime<Utc>,
) -> Result<(i64, Instance, Vec<Effect>), ApplyError> {
    let dep = |id: i64| defs.deployment(id).ok_or(ApplyError::UnknownDefinition(id));
    match (event, instance, definition_id) {
        (CaseEvent::Opened { .. }, Some(_), _) => Err(ApplyError::AlreadyOpen(case_id.into())),
        (
            CaseEvent::Opened {
                definition_id,
                process_id,
                variables,
                start_at,
                ..
            },
            None,
            _,
        ) => {
            let d = dep(*definition_id)?;
            let at_node = match start_at {
                Some(id) => StartAt::Node(id),
                None => StartAt::None,
            };
            let (inst, fx) = engine::start(&d, process_id, at_node, variables.clone(), at)?;
            Ok((*definition_id, inst, fx))
        }
        (_, None, _) | (_, _, None) => Err(ApplyError::NoCase(case_id.into())),
        (CaseEvent::Engine { event }, Some(inst), Some(def)) => {
            let d = dep(def)?;
            let mut next = inst.clone();
            let fx = engine::handle(&d, &mut next, event.clone(), at)?;
            Ok((def, next, fx))
        }
        (
            CaseEvent::Migrated {
                definition_id,
                process_id,
                mapping,
                ..
            },
            Some(inst),
            Some(def),
        ) => {
            let (from, to) = (dep(def)?, dep(*definition_id)?);
            let mut next = inst.clone();
            let fx = engine::migrate(&from, &to, &mut next, process_id, mapping, at)?;
            Ok((*definition_id, next, fx))
        }
    }
}
