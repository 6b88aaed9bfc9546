//! Deterministic simulation of one instance on a virtual clock: every task and job is
//! completed with scripted outputs, listed messages arrive, and timers fire in due order
//! when nothing else can move. Drives `recobro process trace` and the golden traces.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::compile::Deployment;
use crate::engine::{
    self, Effect, EngineError, Event, Instance, StartAt, Status, SubscriptionKind,
};
use crate::expr::Vars;
use crate::model::{EventTrigger, NodeKind};

/// Scripted outputs: element id -> variables (an object), or a list of objects used one
/// per visit (the last repeats). The key `*` is the default for tasks and jobs.
pub type Outputs = serde_json::Map<String, Value>;

/// Upper bound on events per simulation; a model that cycles through timers forever is
/// reported as stuck instead of running without end.
pub const MAX_EVENTS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceStep {
    pub element: String,
    #[serde(rename = "type")]
    pub element_type: &'static str,
    pub time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum End {
    Completed {
        time: DateTime<Utc>,
        variables: Vars,
    },
    Stuck {
        time: DateTime<Utc>,
        waiting: Vec<String>,
    },
    Incident {
        time: DateTime<Utc>,
        element: String,
        error: String,
    },
    /// The instance was still moving after [`MAX_EVENTS`] events.
    Runaway { time: DateTime<Utc>, events: usize },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    pub steps: Vec<TraceStep>,
    pub stages: Vec<String>,
    pub end: End,
}

/// Where a simulation starts, chosen like `recobro process trace` does: the none start
/// event, else the first message or timer start event.
pub fn default_start(
    dep: &Deployment,
    process_id: &str,
) -> Option<(Option<String>, Option<String>)> {
    let p = dep.process(process_id)?;
    let scope = p.scopes.get(&None)?;
    if scope.none_start.is_some() {
        return Some((None, None));
    }
    let first = *scope.other_starts.first()?;
    let node = &p.model.nodes[first];
    let timer = match &node.kind {
        NodeKind::StartEvent {
            trigger: EventTrigger::Timer(_),
            ..
        } => Some(node.id.clone()),
        _ => None,
    };
    Some((Some(node.id.clone()), timer))
}

struct Sim<'d> {
    dep: &'d Deployment,
    outputs: &'d Outputs,
    visits: BTreeMap<String, usize>,
    now: DateTime<Utc>,
    steps: Vec<TraceStep>,
    stages: Vec<String>,
    work: VecDeque<(u64, String, bool)>,
    incident: Option<(String, String)>,
}

/// Runs `process_id` from its default start with `vars`, starting at `epoch`.
pub fn run(
    dep: &Deployment,
    process_id: &str,
    vars: Vars,
    outputs: &Outputs,
    epoch: DateTime<Utc>,
) -> Result<Trace, EngineError> {
    let (start_node, timer_start) = default_start(dep, process_id)
        .ok_or_else(|| EngineError::UnknownProcess(process_id.to_string()))?;
    let mut sim = Sim {
        dep,
        outputs,
        visits: BTreeMap::new(),
        now: epoch,
        steps: Vec::new(),
        stages: Vec::new(),
        work: VecDeque::new(),
        incident: None,
    };
    if let Some(id) = &timer_start {
        sim.now = start_timer_due(dep, process_id, id, epoch).unwrap_or(epoch);
    }
    let at = match &start_node {
        Some(id) => StartAt::Node(id),
        None => StartAt::None,
    };
    let (mut st, fx) = engine::start(dep, process_id, at, vars, sim.now)?;
    sim.absorb(fx);
    let mut events = 0;
    while st.status == Status::Active && sim.incident.is_none() {
        if events >= MAX_EVENTS {
            let time = sim.now;
            return Ok(sim.finish(End::Runaway { time, events }));
        }
        events += 1;
        let Some(event) = sim.next_event(&mut st) else {
            let waiting = st
                .waiting(dep)
                .into_iter()
                .map(|w| format!("{}: {}", w.element_id, w.what))
                .collect();
            let time = sim.now;
            return Ok(sim.finish(End::Stuck { time, waiting }));
        };
        let fx = engine::handle(dep, &mut st, event, sim.now)?;
        sim.absorb(fx);
    }
    let end = match (sim.incident.take(), st.status) {
        (Some((element, error)), _) => End::Incident {
            time: sim.now,
            element,
            error,
        },
        (None, _) => End::Completed {
            time: sim.now,
            variables: st.variables().cloned().unwrap_or_default(),
        },
    };
    Ok(sim.finish(end))
}

/// When a process-level timer start event first fires after `now`.
pub fn start_timer_due(
    dep: &Deployment,
    process_id: &str,
    node_id: &str,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let p = dep.process(process_id)?;
    let i = p.model.node_index(node_id)?;
    let (kind, expr) = p.nodes[i].timer.as_ref()?;
    let text = expr.eval(&Vars::new()).ok()?;
    let spec = crate::timer::parse_timer(*kind, text.as_str()?.trim()).ok()?;
    spec.first_due(now)
}

impl Sim<'_> {
    fn finish(self, end: End) -> Trace {
        Trace {
            steps: self.steps,
            stages: self.stages,
            end,
        }
    }

    fn absorb(&mut self, fx: Vec<Effect>) {
        for e in fx {
            match e {
                Effect::ElementCompleted {
                    element_id,
                    element_type,
                } => self.steps.push(TraceStep {
                    element: element_id.to_string(),
                    element_type,
                    time: self.now,
                }),
                Effect::CreateTask(t) => {
                    self.work
                        .push_back((t.task, t.element_id.to_string(), true))
                }
                Effect::InvokeService(j) => {
                    self.work
                        .push_back((j.job, j.element_id.to_string(), false))
                }
                Effect::CancelTask { task } => self.work.retain(|w| w.0 != task),
                Effect::CancelJob { job } => self.work.retain(|w| w.0 != job),
                Effect::StageEntered { stage, .. } => self.stages.push(stage),
                Effect::Incident {
                    element_id,
                    message,
                    ..
                } => {
                    self.incident = Some((element_id.to_string(), message));
                }
                _ => {}
            }
        }
    }

    /// Variables for the next visit of `element`; explicit entries only when `explicit`.
    fn output_for(&mut self, element: &str, explicit: bool) -> Option<Vars> {
        let value = match self.outputs.get(element) {
            Some(v) => v,
            None if explicit => return None,
            None => self.outputs.get("*")?,
        };
        let visit = self.visits.entry(element.to_string()).or_default();
        let chosen = match value {
            Value::Array(list) => list.get(*visit).or(list.last()),
            other => Some(other),
        };
        *visit += 1;
        chosen.and_then(Value::as_object).cloned()
    }

    fn next_event(&mut self, st: &mut Instance) -> Option<Event> {
        if let Some((id, element, is_task)) = self.work.pop_front() {
            let variables = self.output_for(&element, false).unwrap_or_default();
            return Some(if is_task {
                Event::CompleteTask {
                    task: id,
                    variables,
                }
            } else {
                Event::CompleteJob { job: id, variables }
            });
        }
        // Messages arrive for catch events the outputs name explicitly.
        let subs: Vec<(String, String, Option<String>)> = st
            .subscriptions
            .values()
            .filter_map(|s| match &s.kind {
                SubscriptionKind::Message {
                    name,
                    correlation_key,
                } => {
                    let node = self
                        .dep
                        .processes
                        .get(s.proc as usize)?
                        .model
                        .nodes
                        .get(s.node as usize)?;
                    Some((node.id.clone(), name.clone(), correlation_key.clone()))
                }
                SubscriptionKind::Timer { .. } => None,
            })
            .collect();
        for (element, name, correlation_key) in subs {
            if let Some(variables) = self.output_for(&element, true) {
                return Some(Event::Message {
                    name,
                    correlation_key,
                    variables,
                });
            }
        }
        let (timer, due) = st.next_timer()?;
        if due > self.now {
            self.now = due;
        }
        Some(Event::TimerFired { timer })
    }
}
