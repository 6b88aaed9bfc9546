//! Per-node compilation: expressions, executability checks and the collection stage.

use std::collections::HashMap;

use super::{ExecMultiInstance, ExecNode, MessageRef, ScopeInfo};
use crate::error::{Diagnostic, DiagnosticCode as Code};
use crate::expr::{Expression, Usage};
use crate::model::{
    Definitions, EventTrigger, Expr, GatewayKind, NodeIdx, NodeKind, Pos, Process, SubProcessKind,
    TaskKind, stage_of,
};

pub(super) struct Compiler<'a> {
    pub(super) defs: &'a Definitions,
    pub(super) process: &'a Process,
    pub(super) diags: Vec<Diagnostic>,
}

impl Compiler<'_> {
    pub(super) fn unsupported(&mut self, pos: Pos, id: &str, what: impl Into<String>) {
        self.diags
            .push(Diagnostic::new(Code::Unsupported, pos, what).at(id));
    }

    pub(super) fn expr(&mut self, e: &Expr, usage: Usage, id: &str) -> Option<Expression> {
        match Expression::compile(e, usage) {
            Ok(x) => Some(x),
            Err(d) => {
                self.diags
                    .push(if d.element_id.is_some() { d } else { d.at(id) });
                None
            }
        }
    }

    pub(super) fn opt(&mut self, e: &Option<Expr>, id: &str) -> Option<Expression> {
        e.as_ref().and_then(|e| self.expr(e, Usage::Value, id))
    }

    pub(super) fn node(&mut self, i: NodeIdx) -> ExecNode {
        let n = &self.process.nodes[i];
        let id = n.id.as_str();
        let ext = &n.ext;
        let mut out = ExecNode {
            stage: self.stage(i),
            assignee: self.opt(&ext.assignee, id),
            candidate_groups: self.opt(&ext.candidate_groups, id),
            candidate_users: self.opt(&ext.candidate_users, id),
            due_date: self.opt(&ext.due_date, id),
            follow_up_date: self.opt(&ext.follow_up_date, id),
            priority: self.opt(&ext.priority, id),
            task_type: self.opt(&ext.task_type, id),
            retries: self.opt(&ext.retries, id),
            result_variable: ext.result_variable.clone(),
            propagate_child_variables: ext
                .called_element
                .as_ref()
                .is_none_or(|c| c.propagate_all_child_variables),
            ..ExecNode::default()
        };
        for m in &ext.inputs {
            if let Some(x) = self.expr(&m.source, Usage::Value, id) {
                out.inputs.push((x, m.target.clone()));
            }
        }
        for m in &ext.outputs {
            if let Some(x) = self.expr(&m.source, Usage::Value, id) {
                out.outputs.push((x, m.target.clone()));
            }
        }
        for what in &ext.unsupported {
            self.unsupported(
                n.pos,
                id,
                if [
                    "camunda:class",
                    "camunda:delegateExpression",
                    "camunda:expression",
                ]
                .contains(&what.as_str())
                {
                    format!(
                        "{what} (a Java delegate) is not supported: make it an external task \
                         (camunda:type=\"external\" camunda:topic=\"...\") or a Camunda 8 job \
                         (zeebe:taskDefinition type=\"...\") served by a worker"
                    )
                } else {
                    format!(
                        "{what} is not supported: Recobro runs no Java/script listeners or \
                         connectors; model the work as a service task"
                    )
                },
            );
        }
        if n.standard_loop {
            self.unsupported(
                n.pos,
                id,
                "standard loop is not supported (as in Camunda 8): use a multi-instance marker \
                 or a gateway loop",
            );
        }
        if let Some(mi) = &n.multi_instance {
            let input_collection = self.opt(&mi.input_collection, id);
            let loop_cardinality = self.opt(&mi.loop_cardinality, id);
            if input_collection.is_none() && loop_cardinality.is_none() {
                self.diags.push(
                    Diagnostic::new(
                        Code::MissingAttribute,
                        mi.pos,
                        "multi-instance activity needs an input collection \
                         (zeebe:loopCharacteristics inputCollection / camunda:collection) or a \
                         loop cardinality",
                    )
                    .at(id),
                );
            }
            out.mi = Some(ExecMultiInstance {
                sequential: mi.sequential,
                input_collection,
                input_element: mi.input_element.clone(),
                output_collection: mi.output_collection.clone(),
                output_element: self.opt(&mi.output_element, id),
                loop_cardinality,
                completion_condition: mi
                    .completion_condition
                    .as_ref()
                    .and_then(|e| self.expr(e, Usage::Condition, id)),
            });
        }
        self.kind(i, &mut out);
        out
    }

    pub(super) fn kind(&mut self, i: NodeIdx, out: &mut ExecNode) {
        let n = &self.process.nodes[i];
        let id = n.id.as_str();
        match &n.kind {
            NodeKind::StartEvent { trigger, .. } => {
                let in_event_sub = n.parent.is_some_and(|p| {
                    matches!(
                        self.process.nodes[p].kind,
                        NodeKind::SubProcess(SubProcessKind::Event)
                    )
                });
                match trigger {
                    EventTrigger::None => {}
                    EventTrigger::Error { .. } | EventTrigger::Escalation { .. }
                        if in_event_sub => {}
                    EventTrigger::Message { .. } | EventTrigger::Timer(_)
                        if in_event_sub || n.parent.is_none() => {}
                    _ if n.parent.is_some() && !in_event_sub => self.diags.push(
                        Diagnostic::new(
                            Code::InvalidStructure,
                            n.pos,
                            "start events in an embedded sub-process must be none start events",
                        )
                        .at(id),
                    ),
                    _ => {}
                }
                self.trigger(i, trigger, out);
            }
            NodeKind::EndEvent { trigger }
            | NodeKind::IntermediateThrowEvent { trigger }
            | NodeKind::IntermediateCatchEvent { trigger } => self.trigger(i, trigger, out),
            NodeKind::BoundaryEvent { trigger, .. } => {
                if matches!(trigger, EventTrigger::None) {
                    self.unsupported(n.pos, id, "a boundary event needs an event definition");
                }
                self.trigger(i, trigger, out);
            }
            NodeKind::Task(kind) => self.task(i, *kind, out),
            NodeKind::SubProcess(SubProcessKind::Transaction) => self.unsupported(
                n.pos,
                id,
                "transaction sub-processes are not supported (as in Camunda 8)",
            ),
            NodeKind::SubProcess(SubProcessKind::AdHoc) => {
                self.unsupported(n.pos, id, "ad-hoc sub-processes are not supported yet")
            }
            NodeKind::SubProcess(_) => {}
            NodeKind::CallActivity => match &n.ext.called_element {
                Some(c) if !c.process_id.trim().is_empty() => {
                    let e = Expr {
                        text: c.process_id.clone(),
                        language: None,
                        pos: c.pos,
                    };
                    out.called_process = self.expr(&e, Usage::Value, id);
                }
                _ => self.diags.push(
                    Diagnostic::new(
                        Code::MissingAttribute,
                        n.pos,
                        "call activity has no called element: set calledElement \
                         (zeebe:calledElement processId)",
                    )
                    .at(id),
                ),
            },
            NodeKind::Gateway(GatewayKind::Complex) => self.unsupported(
                n.pos,
                id,
                "complex gateways are not supported (as in Camunda 8): use an inclusive gateway",
            ),
            NodeKind::Gateway(_) => {}
        }
    }

    pub(super) fn task(&mut self, i: NodeIdx, kind: TaskKind, out: &mut ExecNode) {
        let n = &self.process.nodes[i];
        let id = n.id.as_str();
        match kind {
            TaskKind::Script => match &n.ext.script {
                Some(s) if s.format == "feel" => {
                    // `<script scriptFormat="feel">` text may omit the `=`.
                    let mut body = s.body.clone();
                    if !body.text.trim_start().starts_with('=') {
                        body.text = format!("={}", body.text);
                    }
                    out.script = self.expr(&body, Usage::Value, id);
                    out.result_variable = s.result_variable.clone().or(out.result_variable.take());
                }
                Some(s) if out.task_type.is_none() => self.unsupported(
                    n.pos,
                    id,
                    format!(
                        "script format '{}' is not supported: write the script as a FEEL \
                         expression (zeebe:script) or run it in a job worker",
                        s.format
                    ),
                ),
                None if out.task_type.is_none() => self.unsupported(
                    n.pos,
                    id,
                    "script task has neither a FEEL script nor a job type",
                ),
                _ => {}
            },
            TaskKind::BusinessRule if out.task_type.is_none() => self.unsupported(
                n.pos,
                id,
                "business-rule tasks calling DMN decisions are not supported yet: implement the \
                 rule in a job worker (zeebe:taskDefinition) or a FEEL script task",
            ),
            TaskKind::Service if out.task_type.is_none() && n.ext.unsupported.is_empty() => {
                self.diags.push(
                    Diagnostic::new(
                        Code::MissingAttribute,
                        n.pos,
                        "service task has no job type, so nothing would do its work: set \
                         zeebe:taskDefinition type=\"...\" (Camunda 8) or camunda:type=\"external\" \
                         camunda:topic=\"...\" (Camunda 7)",
                    )
                    .at(id),
                )
            }
            TaskKind::Receive | TaskKind::Send => {
                if let Some(r) = n.message_ref.clone() {
                    out.message = self.message(i, Some(&r));
                } else if kind == TaskKind::Receive {
                    self.diags.push(
                        Diagnostic::new(
                            Code::MissingAttribute,
                            n.pos,
                            "receive task has no messageRef: name the message it waits for",
                        )
                        .at(id),
                    );
                }
            }
            _ => {}
        }
    }

    pub(super) fn trigger(&mut self, i: NodeIdx, t: &EventTrigger, out: &mut ExecNode) {
        let n = &self.process.nodes[i];
        let id = n.id.clone();
        match t {
            EventTrigger::None | EventTrigger::Terminate | EventTrigger::Link { .. } => {}
            EventTrigger::Message { message_ref } => {
                out.message = self.message(i, message_ref.as_deref());
            }
            EventTrigger::Timer(def) => match (&def.kind, &def.expr) {
                (Some(kind), Some(e)) if !e.text.trim().is_empty() => {
                    if let Some(x) = self.expr(e, Usage::Value, &id) {
                        if let Some(v) = x.static_value().and_then(|v| v.as_str())
                            && let Err(msg) = crate::timer::parse_timer(*kind, v)
                        {
                            self.diags
                                .push(Diagnostic::new(Code::InvalidTimer, e.pos, msg).at(&id));
                        }
                        out.timer = Some((*kind, x));
                    }
                }
                _ => self.diags.push(
                    Diagnostic::new(
                        Code::InvalidTimer,
                        n.pos,
                        "timer event has no timer value: set timeDuration, timeDate or timeCycle",
                    )
                    .at(id),
                ),
            },
            EventTrigger::Error { error_ref } => {
                out.error_code = error_ref.as_ref().and_then(|r| {
                    let e = self.defs.errors.iter().find(|e| &e.id == r)?;
                    Some(e.error_code.clone().unwrap_or_else(|| e.id.clone()))
                });
                if out.error_code.is_none() && matches!(n.kind, NodeKind::EndEvent { .. }) {
                    self.diags.push(
                        Diagnostic::new(
                            Code::MissingAttribute,
                            n.pos,
                            "error end event throws no error: reference an error with an \
                             errorCode",
                        )
                        .at(id),
                    );
                }
            }
            EventTrigger::Escalation { escalation_ref } => {
                out.escalation_code = escalation_ref.as_ref().and_then(|r| {
                    let e = self.defs.escalations.iter().find(|e| &e.id == r)?;
                    Some(e.escalation_code.clone().unwrap_or_else(|| e.id.clone()))
                });
            }
            EventTrigger::Signal { .. } => {
                self.unsupported(n.pos, &id, "signal events are not supported yet")
            }
            EventTrigger::Conditional { .. } => {
                self.unsupported(n.pos, &id, "conditional events are not supported yet")
            }
            EventTrigger::Compensate => {
                self.unsupported(n.pos, &id, "compensation events are not supported yet")
            }
            EventTrigger::Cancel => self.unsupported(
                n.pos,
                &id,
                "cancel events are not supported (as in Camunda 8; they need transactions)",
            ),
            EventTrigger::Multiple { .. } => self.unsupported(
                n.pos,
                &id,
                "events with several event definitions (multiple / parallel multiple) are not \
                 supported (as in Camunda 8)",
            ),
        }
    }

    pub(super) fn message(&mut self, i: NodeIdx, message_ref: Option<&str>) -> Option<MessageRef> {
        let n = &self.process.nodes[i];
        let id = n.id.clone();
        let Some(def) = message_ref.and_then(|r| self.defs.messages.iter().find(|m| m.id == r))
        else {
            self.diags.push(
                Diagnostic::new(
                    Code::MissingAttribute,
                    n.pos,
                    "message event has no message: reference a message with a name",
                )
                .at(id),
            );
            return None;
        };
        let Some(name) = def.name.as_ref().filter(|s| !s.trim().is_empty()) else {
            self.diags.push(
                Diagnostic::new(Code::MissingAttribute, def.pos, "message has no name").at(&def.id),
            );
            return None;
        };
        let name_expr = Expr {
            text: name.clone(),
            language: None,
            pos: def.pos,
        };
        let name = self.expr(&name_expr, Usage::Value, &def.id)?;
        let correlation_key = def
            .correlation_key
            .as_ref()
            .and_then(|k| self.expr(k, Usage::Value, &def.id));
        Some(MessageRef {
            name,
            correlation_key,
        })
    }

    /// Own stage, then enclosing sub-processes, then lanes, then the process.
    pub(super) fn stage(&self, i: NodeIdx) -> Option<String> {
        let mut cur = Some(i);
        while let Some(c) = cur {
            let node = &self.process.nodes[c];
            if let Some(s) = node.stage() {
                return Some(s.to_string());
            }
            if node.parent.is_none() {
                // Lanes hold process-level nodes; the innermost lane wins.
                let lane = self
                    .process
                    .lanes
                    .iter()
                    .rev()
                    .filter(|l| l.flow_node_refs.contains(&node.id))
                    .find_map(|l| stage_of(&l.properties));
                if let Some(s) = lane {
                    return Some(s.to_string());
                }
            }
            cur = node.parent;
        }
        stage_of(&self.process.properties).map(str::to_string)
    }

    pub(super) fn scopes(&mut self) -> HashMap<Option<NodeIdx>, ScopeInfo> {
        let p = self.process;
        let mut scopes: HashMap<Option<NodeIdx>, ScopeInfo> = HashMap::new();
        scopes.insert(None, ScopeInfo::default());
        for (i, n) in p.nodes.iter().enumerate() {
            if matches!(n.kind, NodeKind::SubProcess(_)) {
                scopes.entry(Some(i)).or_default();
            }
        }
        for (i, n) in p.nodes.iter().enumerate() {
            let NodeKind::StartEvent { trigger, .. } = &n.kind else {
                continue;
            };
            let parent_is_event_sub = n.parent.is_some_and(|s| {
                matches!(p.nodes[s].kind, NodeKind::SubProcess(SubProcessKind::Event))
            });
            if parent_is_event_sub {
                // Registered with the scope that *contains* the event sub-process.
                let owner = n.parent.and_then(|s| p.nodes[s].parent);
                scopes.entry(owner).or_default().event_starts.push(i);
                continue;
            }
            let scope = scopes.entry(n.parent).or_default();
            if matches!(trigger, EventTrigger::None) {
                if scope.none_start.is_some() {
                    self.diags.push(
                        Diagnostic::new(
                            Code::InvalidStructure,
                            n.pos,
                            "more than one none start event in the same scope: keep one",
                        )
                        .at(&n.id),
                    );
                }
                scope.none_start = Some(i);
            } else {
                scope.other_starts.push(i);
            }
        }
        for (i, n) in p.nodes.iter().enumerate() {
            if matches!(n.kind, NodeKind::SubProcess(SubProcessKind::Embedded))
                && scopes.get(&Some(i)).is_some_and(|s| s.none_start.is_none())
                && p.children(Some(i)).next().is_some()
            {
                self.diags.push(
                    Diagnostic::new(
                        Code::InvalidStructure,
                        n.pos,
                        "embedded sub-process needs exactly one none start event",
                    )
                    .at(&n.id),
                );
            }
        }
        scopes
    }

    /// Each link throw must have exactly one catch of the same name in its scope.
    pub(super) fn links(&mut self, nodes: &mut [ExecNode]) {
        let p = self.process;
        for (i, n) in p.nodes.iter().enumerate() {
            let NodeKind::IntermediateThrowEvent {
                trigger: EventTrigger::Link { name },
            } = &n.kind
            else {
                continue;
            };
            let catches: Vec<NodeIdx> = p
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, c)| c.parent == n.parent)
                .filter(|(_, c)| {
                    matches!(&c.kind, NodeKind::IntermediateCatchEvent {
                        trigger: EventTrigger::Link { name: cn }
                    } if cn == name)
                })
                .map(|(j, _)| j)
                .collect();
            match catches.as_slice() {
                [one] => nodes[i].link_target = Some(*one),
                [] => self.diags.push(
                    Diagnostic::new(
                        Code::DanglingReference,
                        n.pos,
                        format!(
                            "link throw event '{}' has no link catch event of that name in its \
                             scope",
                            name.as_deref().unwrap_or("")
                        ),
                    )
                    .at(&n.id),
                ),
                _ => self.diags.push(
                    Diagnostic::new(
                        Code::InvalidStructure,
                        n.pos,
                        format!(
                            "link '{}' has {} catch events: there must not be multiple target \
                             links for a single source link",
                            name.as_deref().unwrap_or(""),
                            catches.len()
                        ),
                    )
                    .at(&n.id),
                ),
            }
        }
    }
}
