//! The step machine: activating, entering and leaving flow nodes within scopes.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    Effect, ElemId, Element, EngineError, Instance, JobSpec, MAX_STEPS_PER_EVENT, MiState, Phase,
    StartAt, Status, Subscription, SubscriptionKind, TaskSpec, Wait,
};
use crate::compile::{Deployment, ExecNode, ExecProcess};
use crate::expr::{Expression, Vars};
use crate::model::{EventTrigger, FlowNode, GatewayKind, NodeKind, SubProcessKind, TaskKind};
use crate::timer::parse_timer;

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

    fn new_element(
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
            element_id,
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
                element_id: n.id.clone(),
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

    fn pass(&mut self, id: ElemId) {
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
        let mut locals = Vars::new();
        for (expr, target) in &x.inputs {
            let mut ctx = self.st.visible(id).into_owned();
            ctx.extend(locals.clone());
            let v = expr
                .eval(&ctx)
                .map_err(|e| format!("input mapping '{target}': {e}"))?;
            locals.insert(target.clone(), v);
        }
        if let Some(e) = self.st.elements.get_mut(&id) {
            e.vars.extend(locals)
        }
        Ok(())
    }

    pub(super) fn eval(&self, ctx: ElemId, e: &Expression) -> Result<Value, String> {
        e.eval(&self.st.visible(ctx)).map_err(|e| e.to_string())
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

    fn eval_list(&self, ctx: ElemId, e: &Option<Expression>) -> Result<Vec<String>, String> {
        let Some(e) = e else { return Ok(Vec::new()) };
        Ok(match self.eval(ctx, e)? {
            Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect(),
            Value::String(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            Value::Null => Vec::new(),
            other => {
                return Err(format!(
                    "`{}` evaluated to {other}, expected a list",
                    e.source()
                ));
            }
        })
    }

    fn eval_opt_string(
        &self,
        ctx: ElemId,
        e: &Option<Expression>,
    ) -> Result<Option<String>, String> {
        match e {
            None => Ok(None),
            Some(e) => match self.eval(ctx, e)? {
                Value::Null => Ok(None),
                Value::String(s) if s.is_empty() => Ok(None),
                Value::String(s) => Ok(Some(s)),
                other => Ok(Some(other.to_string())),
            },
        }
    }

    fn eval_int(&self, ctx: ElemId, e: &Option<Expression>, default: i64) -> Result<i64, String> {
        let Some(e) = e else { return Ok(default) };
        match self.eval(ctx, e)? {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .ok_or_else(|| format!("`{}` is not an integer", e.source())),
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| format!("`{}` evaluated to \"{s}\", expected an integer", e.source())),
            Value::Null => Ok(default),
            other => Err(format!(
                "`{}` evaluated to {other}, expected an integer",
                e.source()
            )),
        }
    }

    fn enter_task(
        &mut self,
        id: ElemId,
        n: &FlowNode,
        x: &ExecNode,
        kind: TaskKind,
    ) -> Result<(), String> {
        if let Some(job_type) = &x.task_type
            && kind != TaskKind::User
            && kind != TaskKind::Receive
        {
            return self.invoke_job(id, n, x, job_type);
        }
        match kind {
            TaskKind::User => {
                let spec = TaskSpec {
                    task: id,
                    element_id: n.id.clone(),
                    name: n.name.clone(),
                    assignee: self.eval_opt_string(id, &x.assignee)?,
                    candidate_groups: self.eval_list(id, &x.candidate_groups)?,
                    candidate_users: self.eval_list(id, &x.candidate_users)?,
                    due_date: self.eval_opt_string(id, &x.due_date)?,
                    follow_up_date: self.eval_opt_string(id, &x.follow_up_date)?,
                    priority: self.eval_int(id, &x.priority, 50)?,
                    form_key: n.ext.form_key.clone(),
                    stage: x.stage.clone().or_else(|| self.st.stage.clone()),
                    variables: self.el(id).map(|e| e.vars.clone()).unwrap_or_default(),
                };
                if let Some(e) = self.st.elements.get_mut(&id) {
                    e.wait = Wait::Task;
                }
                self.fx.push(Effect::CreateTask(spec));
                Ok(())
            }
            TaskKind::Receive => {
                let el = self.el(id).map_err(|e| e.to_string())?;
                let (proc, node) = (el.proc, el.node.unwrap_or_default());
                self.subscribe(id, id, proc, node)?;
                if let Some(e) = self.st.elements.get_mut(&id) {
                    e.wait = Wait::Event;
                }
                Ok(())
            }
            TaskKind::Script => {
                let Some(script) = &x.script else {
                    return Err("script task without script".into());
                };
                let value = self.eval(id, script)?;
                if let Some(var) = &x.result_variable {
                    let mut vars = Vars::new();
                    vars.insert(var.clone(), value);
                    self.accept_variables(id, vars).map_err(|e| e.to_string())?;
                }
                self.pass(id);
                Ok(())
            }
            TaskKind::Send => {
                if let Some(m) = &x.message {
                    self.publish(id, m)?;
                }
                self.pass(id);
                Ok(())
            }
            TaskKind::Task | TaskKind::Manual | TaskKind::Service | TaskKind::BusinessRule => {
                // Without a job type there is nothing to call: the task passes through, as
                // an undefined task does in Camunda 8.
                self.pass(id);
                Ok(())
            }
        }
    }

    pub(super) fn invoke_job(
        &mut self,
        id: ElemId,
        n: &FlowNode,
        x: &ExecNode,
        job_type: &Expression,
    ) -> Result<(), String> {
        let job_type = self.eval_string(id, job_type)?;
        let retries = self
            .eval_int(id, &x.retries, 3)?
            .clamp(0, i64::from(u32::MAX)) as u32;
        let headers = n
            .ext
            .headers
            .iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        let spec = JobSpec {
            job: id,
            element_id: n.id.clone(),
            job_type: job_type.clone(),
            retries,
            headers,
            variables: self.st.visible(id).into_owned(),
        };
        if let Some(e) = self.st.elements.get_mut(&id) {
            e.wait = Wait::Job { job_type, retries };
        }
        self.fx.push(Effect::InvokeService(spec));
        Ok(())
    }

    fn publish(&mut self, id: ElemId, m: &crate::compile::MessageRef) -> Result<(), String> {
        let name = self.eval_string(id, &m.name)?;
        let correlation_key = match &m.correlation_key {
            Some(k) => Some(self.eval_string(id, k)?),
            None => None,
        };
        let variables = self.el(id).map(|e| e.vars.clone()).unwrap_or_default();
        self.fx.push(Effect::PublishMessage {
            name,
            correlation_key,
            variables,
        });
        Ok(())
    }

    fn throw_event(
        &mut self,
        id: ElemId,
        _p: &ExecProcess,
        n: &FlowNode,
        x: &ExecNode,
        trigger: &EventTrigger,
    ) -> Result<(), String> {
        match trigger {
            EventTrigger::Message { .. } => {
                if let Some(job_type) = &x.task_type {
                    return self.invoke_job(id, n, x, job_type);
                }
                if let Some(m) = &x.message {
                    self.publish(id, m)?;
                }
                self.pass(id);
            }
            EventTrigger::Terminate => {
                let scope = self.el(id).ok().and_then(|e| e.parent);
                if let Some(scope) = scope {
                    self.terminate_children(scope, Some(id));
                }
                self.pass(id);
            }
            EventTrigger::Error { .. } => {
                let code = x.error_code.clone().unwrap_or_default();
                self.throw_error(id, &code, Vars::new(), None)
                    .map_err(|e| e.to_string())?;
            }
            EventTrigger::Escalation { .. } => {
                let code = x.escalation_code.clone().unwrap_or_default();
                self.throw_escalation(id, &code)
                    .map_err(|e| e.to_string())?;
                if self.st.elements.contains_key(&id) {
                    self.pass(id);
                }
            }
            _ => self.pass(id),
        }
        Ok(())
    }

    fn enter_call(&mut self, id: ElemId, x: &ExecNode) -> Result<(), String> {
        let Some(called) = &x.called_process else {
            return Err("no called element".into());
        };
        let process_id = self.eval_string(id, called)?;
        let dep = self.dep;
        let proc = dep.index_of(&process_id).ok_or_else(|| {
            format!("called process '{process_id}' is not deployed with this process")
        })?;
        let start = dep.processes[proc]
            .scopes
            .get(&None)
            .and_then(|s| s.none_start)
            .ok_or_else(|| format!("called process '{process_id}' has no none start event"))?;
        // The child sees a copy of the caller's variables (Camunda 8's default), never
        // the caller's scopes themselves.
        let vars = self.st.visible(id).into_owned();
        let child = self.new_element(proc as u32, None, Some(id), vars, Wait::Scope);
        if let Err(msg) = self.open_event_subprocesses(child, proc as u32, None) {
            self.st.elements.remove(&child);
            return Err(format!("called process '{process_id}': {msg}"));
        }
        if let Some(e) = self.st.elements.get_mut(&id) {
            e.active += 1;
        }
        self.activate_child(child, proc as u32, start as u32, None, Entry::Normal);
        Ok(())
    }

    fn enter_event_gateway(&mut self, id: ElemId, proc: u32, n: &FlowNode) -> Result<(), String> {
        let (p, _, _) = self.node(proc, 0).map_err(|e| e.to_string())?;
        for &f in &n.outgoing {
            let target = p.model.flows.get(f).map(|f| f.target).ok_or("flow index")?;
            self.subscribe(id, id, proc, target as u32)?;
        }
        if let Some(e) = self.st.elements.get_mut(&id) {
            e.wait = Wait::EventGateway;
        }
        Ok(())
    }

    /// Opens the timer/message subscriptions of the event sub-processes of a scope. On
    /// failure nothing stays open.
    pub(super) fn open_event_subprocesses(
        &mut self,
        scope: ElemId,
        proc: u32,
        node: Option<u32>,
    ) -> Result<(), String> {
        let dep: &'a Deployment = self.dep;
        let Some(p) = dep.processes.get(proc as usize) else {
            return Err("process index out of range".into());
        };
        let Some(info) = p.scopes.get(&node.map(|n| n as usize)) else {
            return Ok(());
        };
        for &start in &info.event_starts {
            let Some(NodeKind::StartEvent { trigger, .. }) =
                p.model.nodes.get(start).map(|n| &n.kind)
            else {
                continue;
            };
            if trigger_kind(trigger).is_some()
                && let Err(msg) = self.subscribe(scope, scope, proc, start as u32)
            {
                self.cancel_subscriptions(scope);
                return Err(msg);
            }
        }
        Ok(())
    }

    fn subscribe_boundaries(&mut self, id: ElemId, proc: u32, n: &FlowNode) -> Result<(), String> {
        for &b in &n.boundaries {
            let (_, bn, _) = self.node(proc, b as u32).map_err(|e| e.to_string())?;
            if let NodeKind::BoundaryEvent { trigger, .. } = &bn.kind
                && trigger_kind(trigger).is_some()
            {
                self.subscribe(id, id, proc, b as u32)?;
            }
        }
        Ok(())
    }

    /// Opens a timer or message subscription for `node`, owned by `owner`, with
    /// expressions evaluated at `ctx`.
    pub(super) fn subscribe(
        &mut self,
        owner: ElemId,
        ctx: ElemId,
        proc: u32,
        node: u32,
    ) -> Result<(), String> {
        let (_, n, x) = self.node(proc, node).map_err(|e| e.to_string())?;
        let kind = if let Some((kind, expr)) = &x.timer {
            let text = self.eval_string(ctx, expr)?;
            let spec =
                parse_timer(*kind, text.trim()).map_err(|m| format!("timer of '{}': {m}", n.id))?;
            let due = spec
                .first_due(self.now)
                .ok_or_else(|| format!("timer of '{}' ('{text}') never fires", n.id))?;
            SubscriptionKind::Timer {
                due,
                spec,
                fired: 0,
            }
        } else if let Some(m) = &x.message {
            let name = self.eval_string(ctx, &m.name)?;
            let correlation_key = match &m.correlation_key {
                Some(k) => Some(self.eval_string(ctx, k)?),
                None => None,
            };
            SubscriptionKind::Message {
                name,
                correlation_key,
            }
        } else {
            return Err(format!(
                "'{}' has neither a timer nor a message to wait for",
                n.id
            ));
        };
        self.open_subscription(
            Subscription {
                owner,
                proc,
                node,
                kind,
            },
            n.id.clone(),
        );
        Ok(())
    }

    pub(super) fn open_subscription(&mut self, sub: Subscription, element_id: String) {
        let id = self.next_id();
        match &sub.kind {
            SubscriptionKind::Timer { due, .. } => self.fx.push(Effect::ScheduleTimer {
                timer: id,
                element_id,
                due: *due,
            }),
            SubscriptionKind::Message {
                name,
                correlation_key,
            } => self.fx.push(Effect::SubscribeMessage {
                subscription: id,
                name: name.clone(),
                correlation_key: correlation_key.clone(),
            }),
        }
        self.st.subscriptions.insert(id, sub);
    }

    pub(super) fn cancel_subscriptions(&mut self, owner: ElemId) {
        let ids: Vec<u64> = self
            .st
            .subscriptions
            .iter()
            .filter(|(_, s)| s.owner == owner)
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            self.close_subscription(id);
        }
    }

    pub(super) fn close_subscription(&mut self, id: u64) {
        if let Some(sub) = self.st.subscriptions.remove(&id) {
            self.fx.push(match sub.kind {
                SubscriptionKind::Timer { .. } => Effect::CancelTimer { timer: id },
                SubscriptionKind::Message { .. } => Effect::UnsubscribeMessage { subscription: id },
            });
        }
    }

    fn enter_body(&mut self, body: ElemId) -> Result<(), EngineError> {
        let el = self.el(body)?;
        let (proc, node) = (el.proc, el.node.unwrap_or_default());
        let (_, n, x) = self.node(proc, node)?;
        let Some(mi) = &x.mi else {
            return Err(corrupt("multi-instance without loop"));
        };
        let items = match (&mi.input_collection, &mi.loop_cardinality) {
            (Some(c), _) => match self.eval(body, c) {
                Ok(Value::Array(items)) => Ok(items),
                Ok(other) => Err(format!(
                    "input collection `{}` evaluated to {other}, expected a list",
                    c.source()
                )),
                Err(e) => Err(e),
            },
            (None, Some(c)) => match self.eval(body, c) {
                Ok(Value::Number(k)) if k.as_u64().is_some_and(|k| k <= 10_000) => {
                    Ok(vec![Value::Null; k.as_u64().unwrap_or(0) as usize])
                }
                Ok(other) => Err(format!(
                    "loop cardinality `{}` evaluated to {other}, expected 0..=10000",
                    c.source()
                )),
                Err(e) => Err(e),
            },
            (None, None) => Err("multi-instance without input collection".to_string()),
        };
        let items = match items {
            Ok(items) => items,
            Err(msg) => return self.incident(body, Phase::Activate, msg),
        };
        if let Err(msg) = self.subscribe_boundaries(body, proc, n) {
            self.cancel_subscriptions(body);
            return self.incident(body, Phase::Activate, msg);
        }
        let count = items.len();
        let outputs = if mi.output_collection.is_some() {
            vec![Value::Null; count]
        } else {
            Vec::new()
        };
        self.el_mut(body)?.mi = Some(MiState {
            items,
            started: 0,
            completed: 0,
            outputs,
        });
        if count == 0 {
            self.queue.push_back(Step::Leave(body));
        } else if mi.sequential {
            self.spawn_inner(body)?;
        } else {
            for _ in 0..count {
                self.spawn_inner(body)?;
            }
        }
        Ok(())
    }

    pub(super) fn spawn_inner(&mut self, body: ElemId) -> Result<(), EngineError> {
        let el = self.el(body)?;
        let (proc, node) = (el.proc, el.node.unwrap_or_default());
        let (_, _, x) = self.node(proc, node)?;
        let input_element = x.mi.as_ref().and_then(|m| m.input_element.clone());
        let mi = self
            .el_mut(body)?
            .mi
            .as_mut()
            .ok_or_else(|| corrupt("body without state"))?;
        let index = mi.started as usize;
        let item = mi.items.get(index).cloned().unwrap_or(Value::Null);
        mi.started += 1;
        let mut locals = Vars::new();
        if let Some(name) = input_element {
            locals.insert(name, item);
        }
        locals.insert("loopCounter".into(), Value::from(index + 1));
        self.activate_child(body, proc, node, None, Entry::Inner(locals));
        Ok(())
    }
}

/// Timer and message triggers open subscriptions; error/escalation are matched on throw.
pub(super) fn trigger_kind(t: &EventTrigger) -> Option<()> {
    matches!(t, EventTrigger::Timer(_) | EventTrigger::Message { .. }).then_some(())
}
