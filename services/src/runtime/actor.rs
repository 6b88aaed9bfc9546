//! One actix actor per active case: it serialises all work on that case, runs the pure
//! engine, hands the journal entry to the group committer and answers only after commit.
//! Idle actors stop; the registry activates them again from snapshot + journal.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bpmn::compile::Deployment;
use bpmn::engine::Effect;

use super::{Command, Outcome, RuntimeError, Shared};
use crate::case::projection::changes;
use crate::case::{CaseEvent, CaseState, step};
use crate::journal::{Entry, GENESIS};
use crate::store::{Commit, NewCase, StoreError};

/// Attempts after losing an optimistic-concurrency race before giving up.
const MAX_ATTEMPTS: usize = 5;

pub struct CaseActor {
    pub(super) case_id: String,
    pub(super) state: Option<CaseState>,
    /// The serialised state it was woken with, read on its first message.
    pub(super) asleep: Option<Box<[u8]>>,
    pub(super) shared: Arc<Shared>,
    /// Set when it fell asleep: messages still in its mailbox go back to the registry.
    pub(super) moved: bool,
}

impl CaseActor {
    pub(super) fn new(shared: Arc<Shared>, case_id: &str) -> Self {
        CaseActor {
            case_id: case_id.to_string(),
            state: None,
            asleep: None,
            shared,
            moved: false,
        }
    }
}

impl Actor for CaseActor {
    type Context = Context<Self>;

    fn stopped(&mut self, ctx: &mut Self::Context) {
        self.shared.registry_remove(&self.case_id, &ctx.address());
    }
}

impl CaseActor {
    /// An actor for a case that does not exist (a typo, a probe) must not linger.
    fn stop_if_absent(&self, ctx: &mut Context<Self>) {
        if self.state.is_none() {
            ctx.stop();
        }
    }

    /// The state to work on: the live one, else the one it was woken with (a state that
    /// does not deserialise is simply loaded from the store again).
    fn take_state(&mut self) -> Option<CaseState> {
        match (self.state.take(), self.asleep.take()) {
            (Some(s), _) => Some(s),
            (None, Some(bytes)) => serde_json::from_slice(&bytes).ok(),
            (None, None) => None,
        }
    }
}

/// The answer of an actor that fell asleep after the message was addressed to it: ask the
/// registry again.
#[derive(Debug)]
pub struct Moved;

/// A command for the case, with who issues it and an optional idempotency key.
#[derive(Message)]
#[rtype(result = "Result<Result<Outcome, RuntimeError>, Moved>")]
pub struct Execute {
    pub command: Command,
    pub actor: String,
    pub idempotency_key: Option<String>,
    /// The outbox job row this command answers: marked delivered in the command's own
    /// commit, so an answer and its delivery cannot part in a crash.
    pub delivers: Option<i64>,
}

impl Handler<Execute> for CaseActor {
    type Result = AtomicResponse<Self, Result<Result<Outcome, RuntimeError>, Moved>>;

    fn handle(&mut self, msg: Execute, _: &mut Self::Context) -> Self::Result {
        if self.moved {
            return AtomicResponse::new(Box::pin(fut::ready(Err(Moved))));
        }
        let state = self.take_state();
        let shared = self.shared.clone();
        let case_id = self.case_id.clone();
        // The command's future is large (engine step, commit, notices); boxed on its own it
        // is written to the heap once instead of being copied through every wrapper below.
        let work = Box::pin(async move { execute(&shared, &case_id, state, msg).await });
        AtomicResponse::new(Box::pin(work.into_actor(self).map(
            |(state, result), act, ctx| {
                act.state = state;
                act.stop_if_absent(ctx);
                Ok(result)
            },
        )))
    }
}

/// Reads the actor's state for queries.
#[derive(Message)]
#[rtype(result = "Result<Result<Option<CaseState>, RuntimeError>, Moved>")]
pub struct Snapshot;

impl Handler<Snapshot> for CaseActor {
    type Result = AtomicResponse<Self, Result<Result<Option<CaseState>, RuntimeError>, Moved>>;

    fn handle(&mut self, _: Snapshot, _: &mut Self::Context) -> Self::Result {
        if self.moved {
            return AtomicResponse::new(Box::pin(fut::ready(Err(Moved))));
        }
        let state = self.take_state();
        let shared = self.shared.clone();
        let case_id = self.case_id.clone();
        AtomicResponse::new(Box::pin(
            async move {
                let state = match state {
                    Some(s) => Some(s),
                    None => match load(&shared, &case_id).await {
                        Ok(s) => s,
                        Err(e) => return (None, Err(e)),
                    },
                };
                (state.clone(), Ok(state))
            }
            .into_actor(self)
            .map(|(state, result), act, ctx| {
                act.state = state;
                act.stop_if_absent(ctx);
                Ok(result)
            }),
        ))
    }
}

/// Falls asleep if still unused for `idle_for`: the registry keeps the serialised state
/// and the actor stops. Answers whether it fell asleep.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct Hibernate {
    pub idle_for: Duration,
}

impl Handler<Hibernate> for CaseActor {
    type Result = bool;

    fn handle(&mut self, msg: Hibernate, ctx: &mut Self::Context) -> bool {
        if self.moved {
            return false;
        }
        let bytes = match (&self.state, &self.asleep) {
            (Some(s), _) => match serde_json::to_vec(s) {
                Ok(b) => b.into_boxed_slice(),
                Err(_) => return false,
            },
            (None, Some(b)) => b.clone(),
            (None, None) => {
                ctx.stop();
                return false;
            }
        };
        let asleep =
            self.shared
                .registry()
                .put_to_sleep(&self.case_id, &ctx.address(), msg.idle_for, bytes);
        if asleep {
            self.moved = true;
            self.state = None;
            self.asleep = None;
            ctx.stop();
        }
        asleep
    }
}

/// Activation: the latest snapshot plus the journal after it.
pub(super) async fn load(
    shared: &Shared,
    case_id: &str,
) -> Result<Option<CaseState>, RuntimeError> {
    let Some(stored) = shared.store.load(case_id).await? else {
        return Ok(None);
    };
    let mut state = stored.snapshot;
    for entry in stored.entries {
        state = Some(replay_entry(shared, case_id, state, &entry).await?);
    }
    Ok(state)
}

/// Applies one stored entry; the engine's determinism makes this reproduce the state
/// that was current when the entry was written.
pub(super) async fn replay_entry(
    shared: &Shared,
    case_id: &str,
    state: Option<CaseState>,
    entry: &Entry,
) -> Result<CaseState, RuntimeError> {
    let event: CaseEvent = serde_json::from_value(entry.payload.clone())
        .map_err(|e| RuntimeError::Corrupt(format!("case {case_id} entry {}: {e}", entry.seq)))?;
    let defs = definitions_for(shared, state.as_ref(), &event).await?;
    let (mut next, _) = step(&defs, case_id, state.as_ref(), &event, entry.recorded_at)?;
    next.seq = entry.seq;
    next.last_hash = entry.hash.clone();
    Ok(next)
}

async fn definitions_for(
    shared: &Shared,
    state: Option<&CaseState>,
    event: &CaseEvent,
) -> Result<BTreeMap<i64, Arc<Deployment>>, RuntimeError> {
    let mut ids: Vec<i64> = state.map(|s| s.definition_id).into_iter().collect();
    match event {
        CaseEvent::Opened { definition_id, .. } | CaseEvent::Migrated { definition_id, .. } => {
            ids.push(*definition_id)
        }
        CaseEvent::Engine { .. } | CaseEvent::Fact { .. } => {}
    }
    let mut out = BTreeMap::new();
    for id in ids {
        out.insert(id, shared.definitions.get(&shared.store, id).await?);
    }
    Ok(out)
}

async fn execute(
    shared: &Shared,
    case_id: &str,
    mut state: Option<CaseState>,
    msg: Execute,
) -> (Option<CaseState>, Result<Outcome, RuntimeError>) {
    for _ in 0..MAX_ATTEMPTS {
        if state.is_none() {
            match load(shared, case_id).await {
                Ok(s) => state = s,
                Err(e) => return (None, Err(e)),
            }
        }
        // Checked inside the actor, so a repeat racing its original sees its result.
        if let Some(key) = &msg.idempotency_key {
            let tenant = match (&msg.command, &state) {
                (Command::Open { tenant, .. }, _) => Some(tenant.as_str()),
                (_, Some(s)) => Some(s.tenant.as_str()),
                (_, None) => None,
            };
            if let Some(tenant) = tenant {
                match shared.store.idempotent(tenant, key).await {
                    Ok(Some(row)) => {
                        return (state, super::repeated(&row.response, row.created_at));
                    }
                    Ok(None) => {}
                    Err(e) => return (state, Err(e.into())),
                }
            }
        }
        match attempt(shared, case_id, state.as_ref(), &msg).await {
            Ok((next, outcome)) => return (Some(next), Ok(outcome)),
            Err(RuntimeError::Store(StoreError::Conflict(_))) => {
                // Another node (or a restarted one) wrote first: reload and try again.
                state = None;
            }
            Err(e) => return (state, Err(e)),
        }
    }
    (None, Err(RuntimeError::Contended(case_id.to_string())))
}

async fn attempt(
    shared: &Shared,
    case_id: &str,
    state: Option<&CaseState>,
    msg: &Execute,
) -> Result<(CaseState, Outcome), RuntimeError> {
    let tenant = match (&msg.command, state) {
        (Command::Open { tenant, .. }, _) => tenant.clone(),
        (_, Some(s)) => s.tenant.clone(),
        (_, None) => return Err(RuntimeError::UnknownCase(case_id.to_string())),
    };
    let event = msg.command.to_event();
    let now = shared.clock.now();
    let defs = definitions_for(shared, state, &event).await?;
    let (mut next, effects) = step(&defs, case_id, state, &event, now)?;
    let seq = next.seq;
    let prev = state.map_or(GENESIS, |s| s.last_hash.as_str());
    let payload = serde_json::to_value(&event).map_err(|e| RuntimeError::Corrupt(e.to_string()))?;
    let entry = Entry::next(
        case_id,
        seq,
        prev,
        event.event_type(),
        payload,
        &msg.actor,
        now,
    );
    next.last_hash = entry.hash.clone();
    let outcome = Outcome {
        case_id: case_id.to_string(),
        seq,
        status: crate::case::projection::status_of(&next.instance).to_string(),
        stage: next.instance.stage.clone(),
        effects: effects.clone(),
        repeated: false,
        recorded_at: entry.recorded_at,
    };
    let every = shared.config.snapshot_every.max(1);
    let snapshot = (seq == 1 || seq % every == 0)
        .then(|| serde_json::to_string(&next))
        .transpose()
        .map_err(|e| RuntimeError::Corrupt(e.to_string()))?;
    let commit = Commit {
        changes: changes(&event, &next, &effects, now),
        entry,
        tenant,
        opened: match &event {
            CaseEvent::Opened {
                external_ref,
                definition_id,
                process_id,
                version,
                ..
            } => Some(NewCase {
                external_ref: external_ref.clone(),
                definition_id: *definition_id,
                process_id: process_id.clone(),
                version: *version,
            }),
            _ => None,
        },
        definition: match &event {
            CaseEvent::Migrated {
                definition_id,
                process_id,
                version,
                ..
            } => Some((*definition_id, process_id.clone(), *version)),
            _ => None,
        },
        snapshot,
        idempotency: match &msg.idempotency_key {
            Some(k) => Some((k.clone(), outcome.response()?)),
            None => None,
        },
        delivers: msg.delivers,
    };
    let notice = super::CaseNotice {
        tenant: commit.tenant.clone(),
        case_id: case_id.to_string(),
        seq,
        event_type: commit.entry.event_type.clone(),
        partner: commit.changes.desk.partner.clone(),
        previous_partner: state
            .and_then(|s| s.placement.as_ref())
            .map(|p| p.partner.clone())
            .filter(|p| commit.changes.desk.partner.as_ref() != Some(p)),
        queues: commit
            .changes
            .tasks_created
            .iter()
            .flat_map(|t| crate::store::candidates(&t.candidate_groups, &t.candidate_users))
            .collect(),
        tasks_changed: !(commit.changes.tasks_created.is_empty()
            && commit.changes.tasks_closed.is_empty()
            && commit.changes.tasks_assigned.is_empty()
            && commit.changes.tasks_partner.is_empty()),
    };
    shared.committer.commit(commit).await?;
    shared.after_commit(&next, &effects, notice);
    Ok((next, outcome))
}

impl Outcome {
    /// What a repeated request with the same idempotency key gets back.
    pub(super) fn response(&self) -> Result<String, RuntimeError> {
        let summary = serde_json::json!({
            "case_id": self.case_id, "seq": self.seq, "status": self.status, "stage": self.stage,
            "effects": self.effects.iter().filter(|e| !matches!(e, Effect::ElementCompleted { .. })).collect::<Vec<_>>(),
        });
        serde_json::to_string(&summary).map_err(|e| RuntimeError::Corrupt(e.to_string()))
    }
}
