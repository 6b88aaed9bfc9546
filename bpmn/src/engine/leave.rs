//! Leaving elements: output mappings, choosing outgoing flows, joins, scope completion
//! and termination.

use serde_json::Value;

use super::run::{Entry, Run, Step, corrupt, element_type};
use super::{Effect, ElemId, EngineError, Phase, Status, Wait};
use crate::expr::Vars;
use crate::model::{EventTrigger, GatewayKind, NodeKind};

impl Run<'_> {
    pub(super) fn leave(&mut self, id: ElemId) -> Result<(), EngineError> {
        let el = self.el(id)?;
        let (proc, parent) = (el.proc, el.parent);
        let Some(node) = el.node else {
            return self.leave_process(id);
        };
        let (p, n, x) = self.node(proc, node)?;
        let is_body = el.mi.is_some();
        let inner = self.is_inner(id);
        let parent = parent.ok_or_else(|| corrupt("element without scope"))?;

        if !is_body && !x.outputs.is_empty() {
            let mut out = Vars::new();
            for (expr, target) in &x.outputs {
                match self.eval(id, expr) {
                    Ok(v) => {
                        out.insert(target.clone(), v);
                    }
                    Err(e) => {
                        return self.incident(
                            id,
                            Phase::Complete,
                            format!("output '{target}': {e}"),
                        );
                    }
                }
            }
            self.st.propagate(parent, out);
        }
        if is_body {
            self.collect_outputs(id, parent)?;
        }

        let mut targets: Vec<(u32, Option<u32>)> = Vec::new();
        if inner {
            self.inner_done(parent, id)?;
        } else if let Some(t) = x.link_target {
            targets.push((t as u32, None));
        } else {
            match self.select_flows(id, proc, node) {
                Ok(flows) => {
                    for f in flows {
                        let target = p
                            .model
                            .flows
                            .get(f as usize)
                            .ok_or_else(|| corrupt("flow"))?;
                        targets.push((target.target as u32, Some(f)));
                    }
                }
                Err(msg) => return self.incident(id, Phase::Complete, msg),
            }
        }

        self.cancel_subscriptions(id);
        self.fx.push(Effect::ElementCompleted {
            element_id: n.id.clone(),
            element_type: element_type(&n.kind),
        });
        for (target, via) in targets {
            self.activate_child(parent, proc, target, via, Entry::Normal);
        }
        self.remove(id)
    }

    /// Outgoing flows to take, in model order: every flow whose condition holds (the first
    /// only, for an exclusive gateway), else the default flow.
    fn select_flows(&self, id: ElemId, proc: u32, node: u32) -> Result<Vec<u32>, String> {
        let (p, n, _) = self.node(proc, node).map_err(|e| e.to_string())?;
        if n.outgoing.is_empty() {
            return Ok(Vec::new());
        }
        let exclusive = matches!(n.kind, NodeKind::Gateway(GatewayKind::Exclusive));
        if matches!(n.kind, NodeKind::Gateway(GatewayKind::Parallel)) {
            return Ok(n.outgoing.iter().map(|&f| f as u32).collect());
        }
        let mut chosen = Vec::new();
        for &f in &n.outgoing {
            if Some(f) == n.default_flow {
                continue;
            }
            let holds = match p.conditions.get(f).and_then(Option::as_ref) {
                None => true,
                Some(c) => {
                    let ctx = self.st.visible(id);
                    c.eval_bool(&ctx).map_err(|e| {
                        format!(
                            "condition of sequence flow '{}': {}",
                            p.model.flows[f].id, e.message
                        )
                    })?
                }
            };
            if holds {
                chosen.push(f as u32);
                if exclusive {
                    break;
                }
            }
        }
        if chosen.is_empty() {
            match n.default_flow {
                Some(d) => chosen.push(d as u32),
                None => {
                    return Err(format!(
                        "no condition of an outgoing flow of '{}' holds and it has no default flow",
                        n.id
                    ));
                }
            }
        }
        Ok(chosen)
    }

    /// A process root finished: the instance completes, or the call activity that
    /// started it does.
    fn leave_process(&mut self, id: ElemId) -> Result<(), EngineError> {
        self.cancel_subscriptions(id);
        let el = self.el(id)?;
        let (parent, vars) = (el.parent, el.vars.clone());
        let Some(call) = parent else {
            self.st.status = Status::Completed;
            let variables = vars;
            self.fx.push(Effect::Completed { variables });
            return Ok(());
        };
        let call_el = self.el(call)?;
        let (_, _, x) = self.node(call_el.proc, call_el.node.unwrap_or_default())?;
        if !x.outputs.is_empty() {
            self.el_mut(call)?.vars.extend(vars);
        } else if x.propagate_child_variables {
            // From the call activity itself, so its locals (a multi-instance input
            // element) take their values and vanish with it.
            self.st.propagate(call, vars);
        }
        self.remove(id)
    }

    /// Removes a finished element; its scope completes when no token is left in it.
    pub(super) fn remove(&mut self, id: ElemId) -> Result<(), EngineError> {
        let el = self
            .st
            .elements
            .remove(&id)
            .ok_or_else(|| corrupt("remove twice"))?;
        let Some(parent) = el.parent else {
            return Ok(());
        };
        let Some(scope) = self.st.elements.get_mut(&parent) else {
            return Ok(());
        };
        scope.active = scope.active.saturating_sub(1);
        if scope.active == 0 {
            if matches!(scope.wait, Wait::Scope) {
                self.queue.push_back(Step::Leave(parent));
            }
        } else if !scope.joins.is_empty() {
            self.queue.push_back(Step::CheckJoins(parent));
        }
        Ok(())
    }

    /// Records a token arriving at a joining gateway; true when the gateway fires.
    pub(super) fn join(
        &mut self,
        scope: ElemId,
        proc: u32,
        node: u32,
        via: Option<u32>,
        kind: GatewayKind,
    ) -> Result<bool, EngineError> {
        let (_, n, _) = self.node(proc, node)?;
        let incoming: Vec<u32> = n.incoming.iter().map(|&f| f as u32).collect();
        let s = self.el_mut(scope)?;
        let counts = s.joins.entry(node).or_default();
        *counts.entry(via.unwrap_or(u32::MAX)).or_default() += 1;
        let ready = match kind {
            GatewayKind::Parallel => incoming
                .iter()
                .all(|f| counts.get(f).is_some_and(|&c| c > 0)),
            _ => false,
        };
        if ready {
            self.consume_join(scope, node, Some(&incoming))?;
            return Ok(true);
        }
        if kind == GatewayKind::Inclusive && !self.more_may_arrive(scope, proc, node)? {
            self.consume_join(scope, node, None)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Takes the joined tokens: one per incoming flow for a parallel gateway, all for an
    /// inclusive one. The tokens merge into the one that continues.
    fn consume_join(
        &mut self,
        scope: ElemId,
        node: u32,
        per_flow: Option<&[u32]>,
    ) -> Result<(), EngineError> {
        let s = self.el_mut(scope)?;
        let Some(counts) = s.joins.get_mut(&node) else {
            return Ok(());
        };
        let consumed: u32 = match per_flow {
            Some(flows) => {
                for f in flows {
                    if let Some(c) = counts.get_mut(f) {
                        *c -= 1;
                    }
                }
                counts.retain(|_, c| *c > 0);
                flows.len() as u32
            }
            None => {
                let total = counts.values().sum();
                counts.clear();
                total
            }
        };
        if counts.is_empty() {
            s.joins.remove(&node);
        }
        s.active = s.active.saturating_sub(consumed.saturating_sub(1));
        Ok(())
    }

    /// Whether a token still live in `scope` (an element, or one queued to arrive) can
    /// reach the inclusive gateway `node`.
    fn more_may_arrive(&self, scope: ElemId, proc: u32, node: u32) -> Result<bool, EngineError> {
        let (p, _, _) = self.node(proc, node)?;
        let reaches = |from: u32| -> bool {
            p.reach
                .get(from as usize)
                .is_some_and(|r| r.binary_search(&(node as usize)).is_ok())
        };
        let from_elements = self
            .st
            .elements
            .values()
            .filter(|e| e.parent == Some(scope) && e.proc == proc)
            .filter_map(|e| e.node)
            .any(|n| n == node || reaches(n));
        let from_queue = self.queue.iter().any(|s| match s {
            Step::Activate {
                scope: sc, node: n, ..
            } => *sc == scope && (*n == node || reaches(*n)),
            _ => false,
        });
        let s = self.el(scope)?;
        let from_joins = s.joins.keys().any(|&g| g != node && reaches(g));
        Ok(from_elements || from_queue || from_joins)
    }

    /// After a token left `scope`, an inclusive join may no longer need to wait.
    pub(super) fn check_inclusive_joins(&mut self, scope: ElemId) -> Result<(), EngineError> {
        let Some(s) = self.st.elements.get(&scope) else {
            return Ok(());
        };
        let proc = s.proc;
        let gateways: Vec<u32> = s.joins.keys().copied().collect();
        for g in gateways {
            let (_, n, _) = self.node(proc, g)?;
            if n.kind != NodeKind::Gateway(GatewayKind::Inclusive) {
                continue;
            }
            if !self.more_may_arrive(scope, proc, g)? {
                self.consume_join(scope, g, None)?;
                self.queue.push_back(Step::Activate {
                    scope,
                    proc,
                    node: g,
                    via: None,
                    entry: Entry::Joined,
                });
            }
        }
        Ok(())
    }

    /// Removes `id` and everything inside it, cancelling its tasks, jobs and
    /// subscriptions. The parent's token count is the caller's business.
    pub(super) fn terminate_tree(&mut self, id: ElemId) {
        let children: Vec<ElemId> = self
            .st
            .elements
            .iter()
            .filter(|(_, e)| e.parent == Some(id))
            .map(|(&c, _)| c)
            .collect();
        for c in children {
            self.terminate_tree(c);
        }
        self.cancel_subscriptions(id);
        if let Some(el) = self.st.elements.remove(&id) {
            match el.wait {
                Wait::Task => self.fx.push(Effect::CancelTask { task: id }),
                Wait::Job { .. } => self.fx.push(Effect::CancelJob { job: id }),
                Wait::Incident { incident } => {
                    self.st.incidents.remove(&incident);
                }
                _ => {}
            }
        }
    }

    /// Terminates every token in `scope` except `keep`.
    pub(super) fn terminate_children(&mut self, scope: ElemId, keep: Option<ElemId>) {
        let children: Vec<ElemId> = self
            .st
            .elements
            .iter()
            .filter(|&(&c, e)| e.parent == Some(scope) && Some(c) != keep)
            .map(|(&c, _)| c)
            .collect();
        for c in children {
            self.terminate_tree(c);
        }
        self.queue
            .retain(|s| !matches!(s, Step::Activate { scope: sc, .. } if *sc == scope));
        if let Some(s) = self.st.elements.get_mut(&scope) {
            s.joins.clear();
            s.active = u32::from(keep.is_some());
        }
    }

    /// One instance of a multi-instance activity finished.
    fn inner_done(&mut self, body: ElemId, inner: ElemId) -> Result<(), EngineError> {
        let b = self.el(body)?;
        let (proc, node) = (b.proc, b.node.unwrap_or_default());
        let (_, _, x) = self.node(proc, node)?;
        let Some(mi) = &x.mi else {
            return Err(corrupt("body without loop"));
        };
        let index = self
            .el(inner)?
            .vars
            .get("loopCounter")
            .and_then(Value::as_u64)
            .unwrap_or(1)
            .saturating_sub(1) as usize;
        let output = match &mi.output_element {
            Some(e) => match self.eval(inner, e) {
                Ok(v) => Some(v),
                Err(msg) => return self.incident(inner, Phase::Complete, msg),
            },
            None => None,
        };
        let state = self
            .el(body)?
            .mi
            .clone()
            .ok_or_else(|| corrupt("body without state"))?;
        let done = match &mi.completion_condition {
            Some(c) => {
                let mut ctx = self.st.visible(inner).into_owned();
                let total = state.items.len() as u64;
                let completed = u64::from(state.completed) + 1;
                ctx.insert("numberOfInstances".into(), total.into());
                ctx.insert("numberOfCompletedInstances".into(), completed.into());
                ctx.insert(
                    "numberOfActiveInstances".into(),
                    (u64::from(state.started) - completed).into(),
                );
                match c.eval_bool(&ctx) {
                    Ok(b) => b,
                    Err(e) => return self.incident(inner, Phase::Complete, e.to_string()),
                }
            }
            None => false,
        };
        let b = self.el_mut(body)?;
        let st = b.mi.as_mut().ok_or_else(|| corrupt("body without state"))?;
        st.completed += 1;
        if let (Some(v), Some(slot)) = (output, st.outputs.get_mut(index)) {
            *slot = v;
        }
        let more = (st.started as usize) < st.items.len();
        if done {
            self.terminate_children(body, Some(inner));
        } else if mi.sequential && more {
            self.spawn_inner(body)?;
        }
        Ok(())
    }

    fn collect_outputs(&mut self, body: ElemId, parent: ElemId) -> Result<(), EngineError> {
        let b = self.el(body)?;
        let (_, _, x) = self.node(b.proc, b.node.unwrap_or_default())?;
        let name = x.mi.as_ref().and_then(|m| m.output_collection.clone());
        if let (Some(name), Some(state)) = (name, b.mi.as_ref()) {
            let value = Value::Array(state.outputs.clone());
            self.st.set_var(parent, &name, value);
        }
        Ok(())
    }

    /// Catches `code` from `from` outwards: boundary events of the activities it is in
    /// and error event sub-processes of its scopes. Uncaught errors become incidents.
    pub(super) fn throw_error(
        &mut self,
        from: ElemId,
        code: &str,
        vars: Vars,
        worker_message: Option<&str>,
    ) -> Result<(), EngineError> {
        if self.catch(from, code, vars, true)? {
            return Ok(());
        }
        let msg = match worker_message {
            Some(m) if !m.is_empty() => format!("unhandled error event '{code}': {m}"),
            _ => format!(
                "unhandled error event '{code}': no error boundary event or error event sub-process catches it"
            ),
        };
        self.incident(from, Phase::UnhandledError, msg)
    }

    /// Escalations that nothing catches are ignored, as in Camunda 8.
    pub(super) fn throw_escalation(&mut self, from: ElemId, code: &str) -> Result<(), EngineError> {
        self.catch(from, code, Vars::new(), false).map(|_| ())
    }

    fn catch(
        &mut self,
        from: ElemId,
        code: &str,
        vars: Vars,
        error: bool,
    ) -> Result<bool, EngineError> {
        let matches = |t: &EventTrigger, own: Option<&String>| -> bool {
            let kind_ok = if error {
                matches!(t, EventTrigger::Error { .. })
            } else {
                matches!(t, EventTrigger::Escalation { .. })
            };
            kind_ok && own.is_none_or(|c| c == code)
        };
        // The thrower's own boundary events count only when it is an activity (a job).
        let mut cur = Some(from);
        let mut first = true;
        while let Some(c) = cur {
            let el = self.el(c)?;
            let (proc, node, parent) = (el.proc, el.node, el.parent);
            let inner = self.is_inner(c);
            if !first || matches!(self.el(c)?.wait, Wait::Job { .. }) {
                // Event sub-processes of scope `c` (sub-process or process root).
                if !first {
                    let dep = self.dep;
                    let p = dep
                        .processes
                        .get(proc as usize)
                        .ok_or_else(|| corrupt("proc"))?;
                    if let Some(info) = p.scopes.get(&node.map(|n| n as usize)) {
                        for &s in &info.event_starts {
                            let (_, sn, sx) = self.node(proc, s as u32)?;
                            if let NodeKind::StartEvent {
                                trigger,
                                interrupting,
                            } = &sn.kind
                            {
                                let own = if error {
                                    &sx.error_code
                                } else {
                                    &sx.escalation_code
                                };
                                if matches(trigger, own.as_ref()) {
                                    self.start_event_subprocess(
                                        c,
                                        proc,
                                        s as u32,
                                        *interrupting,
                                        vars,
                                    )?;
                                    return Ok(true);
                                }
                            }
                        }
                    }
                }
                if let (Some(node), false) = (node, inner) {
                    let (_, n, _) = self.node(proc, node)?;
                    for &b in &n.boundaries {
                        let (_, bn, bx) = self.node(proc, b as u32)?;
                        if let NodeKind::BoundaryEvent {
                            trigger,
                            cancel_activity,
                            ..
                        } = &bn.kind
                        {
                            let own = if error {
                                &bx.error_code
                            } else {
                                &bx.escalation_code
                            };
                            if matches(trigger, own.as_ref()) {
                                self.fire_boundary(c, proc, b as u32, *cancel_activity, vars)?;
                                return Ok(true);
                            }
                        }
                    }
                }
            }
            first = false;
            cur = parent;
        }
        Ok(false)
    }

    /// Runs boundary event `node` of activity instance `activity`.
    pub(super) fn fire_boundary(
        &mut self,
        activity: ElemId,
        proc: u32,
        node: u32,
        interrupting: bool,
        vars: Vars,
    ) -> Result<(), EngineError> {
        let scope = self
            .el(activity)?
            .parent
            .ok_or_else(|| corrupt("activity without scope"))?;
        self.activate_child(scope, proc, node, None, Entry::Triggered(vars));
        if interrupting {
            self.terminate_tree(activity);
            if let Some(s) = self.st.elements.get_mut(&scope) {
                s.active = s.active.saturating_sub(1);
            }
        }
        Ok(())
    }

    /// Starts the event sub-process of start event `start` in `scope`.
    pub(super) fn start_event_subprocess(
        &mut self,
        scope: ElemId,
        proc: u32,
        start: u32,
        interrupting: bool,
        vars: Vars,
    ) -> Result<(), EngineError> {
        let (_, sn, _) = self.node(proc, start)?;
        let esp = sn
            .parent
            .ok_or_else(|| corrupt("event start outside sub-process"))? as u32;
        if interrupting {
            self.terminate_children(scope, None);
            self.cancel_subscriptions(scope);
        }
        self.activate_child(scope, proc, esp, None, Entry::StartAt(start, vars));
        Ok(())
    }
}
