//! The pure token interpreter: `(instance state, event, now) -> (new state, effects)`.
//!
//! State is a tree of element instances (process root, sub-processes, multi-instance
//! bodies, waiting activities) plus the subscriptions (timers, messages) they own.
//! Handling an event runs a bounded work queue of steps until every token waits; the
//! effects (tasks to create, timers to schedule, services to invoke, ...) are returned as
//! data for the caller to carry out after it has durably recorded the new state.
//!
//! Ids of element instances, tasks, jobs, timers and incidents come from one counter in
//! the state, so replaying the same events yields the same ids.

mod events;
mod leave;
mod mi;
pub mod migrate;
mod run;
mod subs;
mod tasks;
mod vars;

pub use migrate::{MigrationError, migrate};
pub use run::element_type;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::compile::Deployment;
use crate::expr::Vars;
use crate::timer::TimerSpec;

/// Id of an element instance (also the id of its task, job or incident).
pub type ElemId = u64;

/// Work done for one event before the engine gives up on a model that loops without
/// ever waiting; the remaining tokens become incidents instead of spinning forever.
pub const MAX_STEPS_PER_EVENT: u32 = 10_000;

/// The complete, serialisable state of one process instance (one case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Id of the process the instance was started from.
    pub process_id: String,
    pub status: Status,
    /// The collection stage last entered.
    pub stage: Option<String>,
    pub root: ElemId,
    pub elements: BTreeMap<ElemId, Element>,
    pub subscriptions: BTreeMap<u64, Subscription>,
    pub incidents: BTreeMap<u64, Incident>,
    pub next_id: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Active,
    Completed,
    /// Cancelled from outside.
    Terminated,
}

/// One live element instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Element {
    /// Index of the process in the deployment.
    pub proc: u32,
    /// Index of the flow node; `None` for a process root.
    pub node: Option<u32>,
    /// The flow scope instance; `None` only for the instance root.
    pub parent: Option<ElemId>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub vars: Vars,
    pub wait: Wait,
    /// Scopes: tokens inside (live children, tokens held at joins, activations queued).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub active: u32,
    /// Scopes: tokens that reached a joining gateway, per gateway and incoming flow.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub joins: BTreeMap<u32, BTreeMap<u32, u32>>,
    /// Multi-instance body bookkeeping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mi: Option<Box<MiState>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What an element instance is waiting for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Wait {
    /// Sub-process, process root, call activity or multi-instance body: its children.
    Scope,
    /// A user task: `CompleteTask`.
    Task,
    /// A job for a worker: `CompleteJob`, `FailJob` or `ThrowError`.
    Job {
        job_type: String,
        retries: u32,
        /// Failed attempts so far (visible on the case; drives the retry back-off).
        #[serde(default, skip_serializing_if = "is_zero")]
        failures: u32,
    },
    /// Intermediate catch event or receive task: its subscription.
    Event,
    /// Event-based gateway: the first of its subscriptions.
    EventGateway,
    /// Stopped by an incident; resolving it repeats the phase.
    Incident { incident: u64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiState {
    pub items: Vec<serde_json::Value>,
    pub started: u32,
    pub completed: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<serde_json::Value>,
}

/// A timer or message the instance waits for, owned by an element instance: it goes away
/// when the owner does (boundary events with their activity, event sub-process starts
/// with their scope).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub owner: ElemId,
    pub proc: u32,
    /// The catching node: catch event, boundary event, event sub-process start, receive
    /// task or the event after an event-based gateway.
    pub node: u32,
    pub kind: SubscriptionKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SubscriptionKind {
    Timer {
        due: DateTime<Utc>,
        spec: TimerSpec,
        fired: u32,
    },
    Message {
        name: String,
        correlation_key: Option<String>,
    },
}

/// Why an element instance stopped; resolving it repeats what failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub element: ElemId,
    pub element_id: String,
    pub message: String,
    pub phase: Phase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Entering the element (input mappings, assignments, timers, ...).
    Activate,
    /// Leaving it (output mappings, outgoing conditions).
    Complete,
    /// Its job ran out of retries.
    Job,
    /// A thrown error found no catch.
    UnhandledError,
}

/// Something that happened to an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    CompleteTask {
        task: ElemId,
        variables: Vars,
    },
    CompleteJob {
        job: ElemId,
        variables: Vars,
    },
    /// A worker failed; with `retries == 0` the job becomes an incident, otherwise it
    /// is offered again after `retry_backoff_ms`.
    FailJob {
        job: ElemId,
        retries: u32,
        message: String,
        #[serde(default)]
        retry_backoff_ms: u64,
    },
    /// A worker threw a BPMN error (caught by error boundary / event sub-process).
    ThrowError {
        job: ElemId,
        code: String,
        message: String,
        variables: Vars,
    },
    TimerFired {
        timer: u64,
    },
    /// A message for this instance. Without a correlation key it matches by name only.
    Message {
        name: String,
        correlation_key: Option<String>,
        variables: Vars,
    },
    /// Sets variables on the instance root (e.g. to fix the data behind an incident).
    SetVariables {
        variables: Vars,
    },
    ResolveIncident {
        incident: u64,
    },
    Cancel,
}

/// Something for the caller to do after recording the new state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    CreateTask(Box<TaskSpec>),
    CancelTask {
        task: ElemId,
    },
    ScheduleTimer {
        timer: u64,
        element_id: Arc<str>,
        due: DateTime<Utc>,
    },
    CancelTimer {
        timer: u64,
    },
    InvokeService(Box<JobSpec>),
    CancelJob {
        job: ElemId,
    },
    SubscribeMessage {
        subscription: u64,
        name: String,
        correlation_key: Option<String>,
    },
    UnsubscribeMessage {
        subscription: u64,
    },
    PublishMessage {
        name: String,
        correlation_key: Option<String>,
        variables: Vars,
    },
    StageEntered {
        stage: String,
        element_id: Arc<str>,
    },
    ElementCompleted {
        element_id: Arc<str>,
        element_type: &'static str,
    },
    Incident {
        incident: u64,
        element_id: Arc<str>,
        message: String,
    },
    Completed {
        variables: Vars,
    },
    Terminated,
}

/// A human task for a queue (candidate groups), a named agent or a partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub task: ElemId,
    pub element_id: Arc<str>,
    pub name: Option<String>,
    pub assignee: Option<String>,
    pub candidate_groups: Vec<String>,
    pub candidate_users: Vec<String>,
    pub due_date: Option<String>,
    pub follow_up_date: Option<String>,
    /// 0..=100 as in Camunda 8; 50 when the model sets none.
    pub priority: i64,
    pub form_key: Option<String>,
    pub stage: Option<String>,
    /// The task's input variables (its local scope).
    pub variables: Vars,
}

/// Work for a service handler / job worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub job: ElemId,
    pub element_id: Arc<str>,
    pub job_type: String,
    pub retries: u32,
    /// Failed attempts so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// Not to be run before this time (a retry after a failure, with back-off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    pub headers: BTreeMap<String, String>,
    /// The job's inputs: its input-mapped variables. The worker reads the case's other
    /// variables through [`Instance::visible_variables`] when it runs the job, so creating
    /// a job does not copy the whole case.
    pub variables: Vars,
}

/// The event could not be applied; the state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("process '{0}' is not in the deployment")]
    UnknownProcess(String),
    #[error("start event '{0}' does not exist or cannot start the process")]
    UnknownStart(String),
    #[error("process '{0}' has no none start event; start it at a message or timer start")]
    NoNoneStart(String),
    #[error("the instance cannot start: {0}")]
    StartFailed(String),
    #[error("instance is {0:?}, not active")]
    NotActive(Status),
    #[error("no open user task {0}")]
    UnknownTask(ElemId),
    #[error("no open job {0}")]
    UnknownJob(ElemId),
    #[error("no pending timer {0}")]
    UnknownTimer(u64),
    #[error("no open incident {0}")]
    UnknownIncident(u64),
    #[error("no subscription for message '{name}' (correlation key {key:?})")]
    NoSubscription { name: String, key: Option<String> },
    #[error("instance state does not match the deployment: {0}")]
    CorruptState(String),
}

/// Where to start a new instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt<'a> {
    /// The none start event.
    None,
    /// A given start event (message or timer start), by element id.
    Node(&'a str),
}

/// Starts an instance of `process_id`.
pub fn start(
    dep: &Deployment,
    process_id: &str,
    at: StartAt<'_>,
    variables: Vars,
    now: DateTime<Utc>,
) -> Result<(Instance, Vec<Effect>), EngineError> {
    run::start(dep, process_id, at, variables, now)
}

/// Applies one event. On `Err` the state is untouched, except for
/// [`EngineError::CorruptState`], after which the state must be discarded and reloaded.
pub fn handle(
    dep: &Deployment,
    state: &mut Instance,
    event: Event,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, EngineError> {
    events::handle(dep, state, event, now)
}

/// Something the instance waits for, described for people (CLI, API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    pub element: ElemId,
    pub element_id: String,
    pub what: String,
}

impl Instance {
    /// What the instance is waiting for, in element-instance order.
    pub fn waiting(&self, dep: &Deployment) -> Vec<Waiting> {
        let mut out = Vec::new();
        for (&id, el) in &self.elements {
            let element_id = run::element_id(dep, el).unwrap_or_default();
            let what = match &el.wait {
                Wait::Scope => continue,
                Wait::Task => "user task".to_string(),
                Wait::Job { job_type, .. } => format!("job of type '{job_type}'"),
                Wait::Event | Wait::EventGateway => self.subscriptions_of(dep, id).join(" or "),
                Wait::Incident { incident } => {
                    let msg = self.incidents.get(incident).map(|i| i.message.as_str());
                    format!("incident {incident}: {}", msg.unwrap_or(""))
                }
            };
            out.push(Waiting {
                element: id,
                element_id,
                what,
            });
        }
        for (&gw, counts) in self.elements.values().flat_map(|e| &e.joins) {
            let held: u32 = counts.values().sum();
            if held > 0 {
                out.push(Waiting {
                    element: 0,
                    element_id: format!("join node #{gw}"),
                    what: format!("{held} token(s) waiting at a joining gateway"),
                });
            }
        }
        out
    }

    fn subscriptions_of(&self, dep: &Deployment, owner: ElemId) -> Vec<String> {
        self.subscriptions
            .values()
            .filter(|s| s.owner == owner)
            .map(|s| {
                let node = dep
                    .processes
                    .get(s.proc as usize)
                    .and_then(|p| p.model.nodes.get(s.node as usize))
                    .map_or("?", |n| n.id.as_str());
                match &s.kind {
                    SubscriptionKind::Timer { due, .. } => format!("timer '{node}' due {due}"),
                    SubscriptionKind::Message {
                        name,
                        correlation_key,
                    } => match correlation_key {
                        Some(k) => format!("message '{name}' (key '{k}') at '{node}'"),
                        None => format!("message '{name}' at '{node}'"),
                    },
                }
            })
            .collect()
    }

    /// The earliest pending timer, if any.
    pub fn next_timer(&self) -> Option<(u64, DateTime<Utc>)> {
        self.subscriptions
            .iter()
            .filter_map(|(&id, s)| match s.kind {
                SubscriptionKind::Timer { due, .. } => Some((id, due)),
                SubscriptionKind::Message { .. } => None,
            })
            .min_by_key(|&(id, due)| (due, id))
    }

    /// Variables visible at an element instance (a task, a job), inner scopes first.
    pub fn visible_variables(&self, element: ElemId) -> Vars {
        self.visible(element).into_owned()
    }

    /// The root's variables.
    pub fn variables(&self) -> Option<&Vars> {
        self.elements.get(&self.root).map(|e| &e.vars)
    }
}

#[cfg(test)]
mod tests;
