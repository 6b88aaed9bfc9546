//! The step machine: activating, entering and leaving flow nodes within scopes.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    Effect, ElemId, Element, EngineError, Instance, MAX_STEPS_PER_EVENT, Phase, StartAt, Status,
    Wait,
};
use crate::compile::{Deployment, ExecNode, ExecProcess};
use crate::expr::{Expression, Overlay, Vars};
use crate::model::{EventTrigger, FlowNode, GatewayKind, NodeKind, SubProcessKind, TaskKind};

/// How a node is entered.
#[derive(Debug)]
pub(super) enum Entry {
    /// Along a sequence flow.
    Normal,
    /// Along a sequence flow into a gateway whose join has already fired.
    Joined,
    /// An event that has already happened (boundary, event after an event-based gateway,
    /// triggered start): it completes at once, carrying the event's variables.
    Triggered(Vars),
    /// An event sub-process started by this start event.
    StartAt(u32, Vars),
    /// One instance of a multi-instance activity, with its local variables.
    Inner(Vars),
}

#[derive(Debug)]
pub(super) enum Step {
    Activate {
        scope: ElemId,
        proc: u32,
        node: u32,
        via: Option<u32>,
        entry: Entry,
    },
    Enter(ElemId),
    Leave(ElemId),
    /// Re-check inclusive joins of a scope after a token disappeared.
    CheckJoins(ElemId),
}

pub(super) struct Run<'a> {
    pub dep: &'a Deployment,
    pub st: &'a mut Instance,
    pub now: DateTime<Utc>,
    pub fx: Vec<Effect>,
    pub queue: VecDeque<Step>,
}

type Node<'d> = (&'d ExecProcess, &'d FlowNode, &'d ExecNode);

pub(super) fn start(
    dep: &Deployment,
    process_id: &str,
    at: StartAt<'_>,
    variables: Vars,
    now: DateTime<Utc>,
) -> Result<(Instance, Vec<Effect>), EngineError> {
    let proc = dep
        .index_of(process_id)
        .ok_or_else(|| EngineError::UnknownProcess(process_id.to_string()))?;
    let p = &dep.processes[proc];
    let scope = p.scopes.get(&None).cloned().unwrap_or_default();
    let start = match at {
        StartAt::None => scope
            .none_start
            .ok_or_else(|| EngineError::NoNoneStart(process_id.to_string()))?,
        StartAt::Node(id) => p
            .model
            .node_index(id)
            .filter(|i| {
                *i == scope.none_start.unwrap_or(usize::MAX) || scope.other_starts.contains(i)
            })
            .ok_or_else(|| EngineError::UnknownStart(id.to_string()))?,
    };
    let mut st = Instance {
        process_id: process_id.to_string(),
        status: Status::Active,
        stage: None,
        root: 0,
        elements: BTreeMap::new(),
        subscriptions: BTreeMap::new(),
        incidents: BTreeMap::new(),
        next_id: 1,
    };
    let mut run = Run {
        dep,
        st: &mut st,
        now,
        fx: Vec::new(),
        queue: VecDeque::new(),
    };
    let root = run.new_element(proc as u32, None, None, variables, Wait::Scope);
    run.st.root = root;
    run.open_event_subprocesses(root, proc as u32, None)
        .map_err(EngineError::StartFailed)?;
    run.activate_child(
        root,
        proc as u32,
        start as u32,
        None,
        Entry::Triggered(Vars::new()),
    );
    run.drain()?;
    let fx = run.fx;
    Ok((st, fx))
}

/// The element id of an element instance (empty for a process root).
pub(super) fn element_id(dep: &Deployment, el: &Element) -> Option<String> {
    let p = dep.processes.get(el.proc as usize)?;
    match el.node {
        Some(n) => p.model.nodes.get(n as usize).map(|n| n.id.clone()),
        None => Some(p.key.process_id.clone()),
    }
}

pub(super) fn corrupt(what: impl Into<String>) -> EngineError {
    EngineError::CorruptState(what.into())
}

/// The BPMN XML element name, for traces and history.
pub fn element_type(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::StartEvent { .. } => "startEvent",
        NodeKind::EndEvent { .. } => "endEvent",
        NodeKind::IntermediateCatchEvent { .. } => "intermediateCatchEvent",
        NodeKind::IntermediateThrowEvent { .. } => "intermediateThrowEvent",
        NodeKind::BoundaryEvent { .. } => "boundaryEvent",
        NodeKind::Task(k) => match k {
            TaskKind::Task => "task",
            TaskKind::User => "userTask",
            TaskKind::Service => "serviceTask",
            TaskKind::Send => "sendTask",
            TaskKind::Receive => "receiveTask",
            TaskKind::Manual => "manualTask",
            TaskKind::Script => "scriptTask",
            TaskKind::BusinessRule => "businessRuleTask",
        },
        NodeKind::SubProcess(SubProcessKind::Event) => "eventSubProcess",
        NodeKind::SubProcess(SubProcessKind::Transaction) => "transaction",
        NodeKind::SubProcess(SubProcessKind::AdHoc) => "adHocSubProcess",
        NodeKind::SubProcess(SubProcessKind::Embedded) => "subProcess",
        NodeKind::CallActivity => "callActivity",
        NodeKind::Gateway(g) => match g {
            GatewayKind::Exclusive => "exclusiveGateway",
            GatewayKind::Parallel => "parallelGateway",
            GatewayKind::Inclusive => "inclusiveGateway",
            GatewayKind::EventBased => "eventBasedGateway",
            GatewayKind::Complex => "complexGateway",
        },
    }
}

impl<'a> Run<'a> {
    pub(super) fn new(dep: &'a Deployment, st: &'a mut Instance, now: DateTime<Utc>) -> Self {
        Run {
            dep,
            st,
            now,
            fx: Vec::new(),
            queue: VecDeque::new(),
        }
    }

    pub(super) fn node(&self, proc: u32, node: u32) -> Result<Node<'a>, EngineError> {
        let dep: &'a Deployment = self.dep;
        let p = dep
            .processes
            .get(proc as usize)
            .ok_or_else(|| corrupt("process index"))?;
        let n = p
            .model
            .nodes
            .get(node as usize)
            .ok_or_else(|| corrupt("node index"))?;
        let x = p
            .nodes
            .get(node as usize)
            .ok_or_else(|| corrupt("node index"))?;
        Ok((p, n, x))
    }

    /// The element id of a node, shared rather than copied.
    pub(super) fn arc_id(&self, proc: u32, node: u32) -> Arc<str> {
        self.dep
            .processes
            .get(proc as usize)
            .and_then(|p| p.ids.get(node as usize))
            .cloned()
            .unwrap_or_else(|| Arc::from(""))
    }

    pub(super) fn arc_id_of(&self, id: ElemId) -> Arc<str> {
        match self.st.elements.get(&id) {
            Some(e) => self.arc_id(e.proc, e.node.unwrap_or(u32::MAX)),
            None => Arc::from(""),
        }
    }

    pub(super) fn el(&self, id: ElemId) -> Result<&Element, EngineError> {
        self.st
            .elements
            .get(&id)
            .ok_or_else(|| corrupt(format!("element {id} missing")))
    }

    pub(super) fn el_mut(&mut self, id: ElemId) -> Result<&mut Element, EngineError> {
        self.st
            .elements
            .get_mut(&id)
            .ok_or_else(|| corrupt(format!("element {id} missing")))
    }

    pub(super) fn next_id(&mut self) -> u64 {
        let id = self.st.next_id;
        self.st.next_id += 1;
        id
    }

    pub(super) fn new_element(
        &mut self,
        proc: u32,
        node: Option<u32>,
        parent: Option<ElemId>,
        vars: Vars,
        wait: Wait,
    ) -> ElemId {
        let id = self.next_id();
        let el = Element {
            proc,
            node,
            parent,
            vars,
            wait,
            active: 0,
            joins: BTreeMap::new(),
            mi: None,
        };
        self.st.elements.insert(id, el);
        id
    }

    /// Puts a token into `scope`, heading for `node`.
    pub(super) fn activate_child(
        &mut self,
        scope: ElemId,
        proc: u32,
        node: u32,
        via: Option<u32>,
        entry: Entry,
    ) {
        if let Some(s) = self.st.elements.get_mut(&scope) {
            s.active += 1;
        }
        self.queue.push_back(Step::Activate {
            scope,
            proc,
            node,
            via,
            entry,
        });
    }

    /// Runs queued steps until every token waits. A model that never waits is stopped
    /// after [`MAX_STEPS_PER_EVENT`] steps: the tokens still moving become incidents.
    pub(super) fn drain(&mut self) -> Result<(), EngineError> {
        let mut steps = 0u32;
        while let Some(step) = self.queue.pop_front() {
            steps += 1;
            if steps > MAX_STEPS_PER_EVENT {
                self.queue.push_front(step);
                return self.freeze_runaway();
            }
            match step {
                Step::Activate {
                    scope,
                    proc,
                    node,
                    via,
                    entry,
                } => self.activate(scope, proc, node, via, entry)?,
                Step::Enter(id) => {
                    if self.st.elements.contains_key(&id) {
                        self.enter(id)?;
                    }
                }
                Step::Leave(id) => {
                    if self.st.elements.contains_key(&id) {
                        self.leave(id)?;
                    }
                }
                Step::CheckJoins(scope) => self.check_inclusive_joins(scope)?,
            }
        }
        Ok(())
    }

    fn freeze_runaway(&mut self) -> Result<(), EngineError> {
        let msg = format!(
            "more than {MAX_STEPS_PER_EVENT} steps without waiting: the model loops without a \
             wait state (add a timer, task or message to the loop)"
        );
        while let Some(step) = self.queue.pop_front() {
            let id = match step {
                Step::Activate {
                    scope,
                    proc,
                    node,
                    entry,
                    ..
                } => {
                    if !self.st.elements.contains_key(&scope) {
                        continue;
                    }
                    let vars = match entry {
                        Entry::Inner(v) | Entry::Triggered(v) | Entry::StartAt(_, v) => v,
                        Entry::Normal | Entry::Joined => Vars::new(),
                    };
                    self.new_element(proc, Some(node), Some(scope), vars, Wait::Scope)
                }
                Step::Enter(id) | Step::Leave(id) => id,
                Step::CheckJoins(_) => continue,
            };
            if self.st.elements.contains_key(&id) {
                self.incident(id, Phase::Activate, msg.clone())?;
            }
        }
        Ok(())
    }

    pub(super) fn incident(
        &mut self,
        id: ElemId,
        phase: Phase,
        message: String,
    ) -> Result<(), EngineError> {
        let element_id = element_id(self.dep, self.el(id)?).unwrap_or_default();
        let incident = self.next_id();
        self.el_mut(id)?.wait = Wait::Incident { incident };
        self.st.incidents.insert(
            incident,
            super::Incident {
                element: id,
                element_id: element_id.clone(),
                message: message.clone(),
                phase,
            },
        );
        self.fx.push(Effect::Incident {
            incident,
            element_id: Arc::from(element_id.as_str()),
            message,
        });
        Ok(())
    }

    fn activate(
        &mut self,
        scope: ElemId,
        proc: u32,
        node: u32,
        via: Option<u32>,
        entry: Entry,
    ) -> Result<(), EngineError> {
        if !self.st.elements.contains_key(&scope) {
            return Ok(()); // the scope was terminated while this token was queued
        }
        let (_, n, x) = self.node(proc, node)?;
        if let NodeKind::Gateway(g @ (GatewayKind::Parallel | GatewayKind::Inclusive)) = n.kind {
            let joining = n.incoming.len() > 1 && matches!(entry, Entry::Normal);
            if joining && !self.join(scope, proc, node, via, g)? {
                return Ok(());
            }
        }
        if let Some(stage) = &x.stage
            && self.st.stage.as_deref() != Some(stage)
        {
            self.st.stage = Some(stage.clone());
            self.fx.push(Effect::StageEntered {
                stage: stage.clone(),
                element_id: self.arc_id(proc, node),
            });
        }
        match entry {
            Entry::Normal if x.mi.is_some() => {
                let id = self.new_element(proc, Some(node), Some(scope), Vars::new(), Wait::Scope);
                self.enter_body(id)
            }
            Entry::Normal | Entry::Joined => {
                let id = self.new_element(proc, Some(node), Some(scope), Vars::new(), Wait::Scope);
                self.enter(id)
            }
            Entry::Inner(locals) => {
                let id = self.new_element(proc, Some(node), Some(scope), locals, Wait::Scope);
                self.enter(id)
            }
            Entry::Triggered(vars) => {
                let id = self.new_element(proc, Some(node), Some(scope), Vars::new(), Wait::Scope);
                self.accept_variables(id, vars)?;
                self.queue.push_back(Step::Leave(id));
                Ok(())
            }
            Entry::StartAt(start, vars) => {
                let id = self.new_element(proc, Some(node), Some(scope), Vars::new(), Wait::Scope);
                if let Err(msg) = self.open_event_subprocesses(id, proc, Some(node)) {
                    return self.incident(id, Phase::Activate, msg);
                }
                self.activate_child(id, proc, start, None, Entry::Triggered(vars));
                Ok(())
            }
        }
    }

    /// Variables an element receives from outside (task completion, message payload):
    /// kept local when output mappings decide what leaves, else propagated.
    pub(super) fn accept_variables(&mut self, id: ElemId, vars: Vars) -> Result<(), EngineError> {
        if vars.is_empty() {
            return Ok(());
        }
        let el = self.el(id)?;
        let (_, _, x) = match el.node {
            Some(n) => self.node(el.proc, n)?,
            None => return Err(corrupt("variables for a process root")),
        };
        if x.outputs.is_empty() {
            // From the element itself: a local of the same name (an input mapping, a
            // multi-instance input element) takes the value, as in Camunda 8.
            self.st.propagate(id, vars);
        } else {
            self.el_mut(id)?.vars.extend(vars);
        }
        Ok(())
    }

    /// Enters an element: its behaviour by kind. Repeated when an activation incident is
    /// resolved, so it first drops anything a failed attempt left.
    pub(super) fn enter(&mut self, id: ElemId) -> Result<(), EngineError> {
        let el = self.el(id)?;
        let (proc, node) = (
            el.proc,
            el.node.ok_or_else(|| corrupt("enter a process root"))?,
        );
        let inner = self.is_inner(id);
        let (p, n, x) = self.node(proc, node)?;
        if let Err(msg) = self.apply_inputs(id, x) {
            return self.incident(id, Phase::Activate, msg);
        }
        let is_activity = matches!(
            n.kind,
            NodeKind::Task(_) | NodeKind::SubProcess(_) | NodeKind::CallActivity
        );
        if is_activity
            && !inner
            && let Err(msg) = self.subscribe_boundaries(id, proc, n)
        {
            self.cancel_subscriptions(id);
            return self.incident(id, Phase::Activate, msg);
        }
        let result = match &n.kind {
            NodeKind::StartEvent { .. } | NodeKind::BoundaryEvent { .. } => {
                self.pass(id);
                Ok(())
            }
            NodeKind::EndEvent { trigger } | NodeKind::IntermediateThrowEvent { trigger } => {
                self.throw_event(id, p, n, x, trigger)
            }
            NodeKind::IntermediateCatchEvent { trigger } => match trigger {
                EventTrigger::Link { .. } => {
                    self.pass(id);
                    Ok(())
                }
                _ => self.subscribe(id, id, proc, node).map(|()| {
                    if let Some(e) = self.st.elements.get_mut(&id) {
                        e.wait = Wait::Event;
                    }
                }),
            },
            NodeKind::Task(kind) => self.enter_task(id, n, x, *kind),
            NodeKind::SubProcess(_) => {
                let start = p
                    .scopes
                    .get(&Some(node as usize))
                    .and_then(|s| s.none_start);
                self.open_event_subprocesses(id, proc, Some(node))
                    .map(|()| match start {
                        Some(s) => self.activate_child(id, proc, s as u32, None, Entry::Normal),
                        None => self.queue.push_back(Step::Leave(id)), // empty sub-process
                    })
            }
            NodeKind::CallActivity => self.enter_call(id, x),
            NodeKind::Gateway(GatewayKind::EventBased) => self.enter_event_gateway(id, proc, n),
            NodeKind::Gateway(_) => {
                self.pass(id);
                Ok(())
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(msg) => {
                self.cancel_subscriptions(id);
                self.incident(id, Phase::Activate, msg)
            }
        }
    }

    pub(super) fn pass(&mut self, id: ElemId) {
        self.queue.push_back(Step::Leave(id));
    }

    pub(super) fn is_inner(&self, id: ElemId) -> bool {
        self.st
            .elements
            .get(&id)
            .and_then(|e| e.parent)
            .and_then(|p| self.st.elements.get(&p))
            .is_some_and(|p| p.mi.is_some())
    }

    fn apply_inputs(&mut self, id: ElemId, x: &ExecNode) -> Result<(), String> {
        if x.inputs.is_empty() {
            return Ok(());
        }
        // Later inputs see earlier ones.
        let mut locals = Vars::new();
        for (expr, target) in &x.inputs {
            let view = self.st.view(id);
            let v = expr
                .eval_in(&Overlay {
                    first: &locals,
                    then: &view,
                })
                .map_err(|e| format!("input mapping '{target}': {e}"))?;
            locals.insert(target.clone(), v);
        }
        if let Some(e) = self.st.elements.get_mut(&id) {
            e.vars.extend(locals);
        }
        Ok(())
    }

    pub(super) fn eval(&self, ctx: ElemId, e: &Expression) -> Result<Value, String> {
        e.eval_in(&self.st.view(ctx)).map_err(|e| e.to_string())
    }

    pub(super) fn eval_string(&self, ctx: ElemId, e: &Expression) -> Result<String, String> {
        match self.eval(ctx, e)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(format!(
                "`{}` evaluated to {other}, expected a string",
                e.source()
            )),
        }
    }
}

/// Timer and message triggers open subscriptions; error/escalation are matched on throw.
pub(super) fn trigger_kind(t: &EventTrigger) -> Option<()> {
    matches!(t, EventTrigger::Timer(_) | EventTrigger::Message { .. }).then_some(())
}
