//! BPMN model elements: what each one opens, and what closing it completes.

use super::reader::{
    Builder, Element, Frame, Kind, MiField, NodeExtra, Owner, RawFlow, RawProcess, attr_expr,
    expr_of,
};
use crate::model::{
    Artifact, CalledElement, Collaboration, ErrorDef, EscalationDef, EventTrigger, Extensions,
    FlowNode, GatewayKind, Lane, MessageDef, MessageFlow, MultiInstance, NodeKind, Participant,
    Process, Script, SignalDef, SubProcessKind, TaskKind, TimerDef, TimerKind,
};

/// The node kind a BPMN element name denotes, if it is a flow node.
fn node_kind(el: &Element<'_>) -> Option<NodeKind> {
    let a = &el.attrs;
    let none = EventTrigger::None;
    Some(match el.local {
        "startEvent" => NodeKind::StartEvent {
            trigger: none,
            interrupting: a.flag("isInterrupting", true),
        },
        "endEvent" => NodeKind::EndEvent { trigger: none },
        "intermediateCatchEvent" => NodeKind::IntermediateCatchEvent { trigger: none },
        "intermediateThrowEvent" => NodeKind::IntermediateThrowEvent { trigger: none },
        "boundaryEvent" => NodeKind::BoundaryEvent {
            attached_to: 0,
            trigger: none,
            cancel_activity: a.flag("cancelActivity", true),
        },
        "task" => NodeKind::Task(TaskKind::Task),
        "userTask" => NodeKind::Task(TaskKind::User),
        "serviceTask" => NodeKind::Task(TaskKind::Service),
        "sendTask" => NodeKind::Task(TaskKind::Send),
        "receiveTask" => NodeKind::Task(TaskKind::Receive),
        "manualTask" => NodeKind::Task(TaskKind::Manual),
        "scriptTask" => NodeKind::Task(TaskKind::Script),
        "businessRuleTask" => NodeKind::Task(TaskKind::BusinessRule),
        "subProcess" if a.flag("triggeredByEvent", false) => {
            NodeKind::SubProcess(SubProcessKind::Event)
        }
        "subProcess" => NodeKind::SubProcess(SubProcessKind::Embedded),
        "transaction" => NodeKind::SubProcess(SubProcessKind::Transaction),
        "adHocSubProcess" => NodeKind::SubProcess(SubProcessKind::AdHoc),
        "callActivity" => NodeKind::CallActivity,
        "exclusiveGateway" => NodeKind::Gateway(GatewayKind::Exclusive),
        "parallelGateway" => NodeKind::Gateway(GatewayKind::Parallel),
        "inclusiveGateway" => NodeKind::Gateway(GatewayKind::Inclusive),
        "eventBasedGateway" => NodeKind::Gateway(GatewayKind::EventBased),
        "complexGateway" => NodeKind::Gateway(GatewayKind::Complex),
        _ => return None,
    })
}

fn trigger(el: &Element<'_>) -> Option<EventTrigger> {
    let r = |name: &str| el.attrs.owned(name);
    Some(match el.local {
        "messageEventDefinition" => EventTrigger::Message {
            message_ref: r("messageRef"),
        },
        "timerEventDefinition" => EventTrigger::Timer(TimerDef {
            kind: None,
            expr: None,
        }),
        "errorEventDefinition" => EventTrigger::Error {
            error_ref: r("errorRef"),
        },
        "escalationEventDefinition" => EventTrigger::Escalation {
            escalation_ref: r("escalationRef"),
        },
        "signalEventDefinition" => EventTrigger::Signal {
            signal_ref: r("signalRef"),
        },
        "conditionalEventDefinition" => EventTrigger::Conditional { condition: None },
        "linkEventDefinition" => EventTrigger::Link { name: r("name") },
        "terminateEventDefinition" => EventTrigger::Terminate,
        "compensateEventDefinition" => EventTrigger::Compensate,
        "cancelEventDefinition" => EventTrigger::Cancel,
        _ => return None,
    })
}

fn is_event(kind: &NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::StartEvent { .. }
            | NodeKind::EndEvent { .. }
            | NodeKind::IntermediateCatchEvent { .. }
            | NodeKind::IntermediateThrowEvent { .. }
            | NodeKind::BoundaryEvent { .. }
    )
}

impl Builder {
    pub(super) fn open_bpmn(&mut self, parent: Kind, el: &Element<'_>) -> Option<Frame> {
        let pos = el.pos;
        match (parent, el.local) {
            (Kind::Definitions, name) => self.open_definitions_child(name, el),
            (Kind::Process(p), _) => self.open_scope_child(p, None, el),
            (Kind::Node(p, n), name) => self.open_node_child(p, n, name, el),
            (Kind::Flow(p, f), "conditionExpression") => Some(Frame::with_text(
                Kind::FlowCondition {
                    p,
                    f,
                    language: el.attrs.owned("language"),
                },
                pos,
            )),
            (Kind::EventDef(p, n), name) => {
                let kind = match name {
                    "timeDuration" => TimerKind::Duration,
                    "timeDate" => TimerKind::Date,
                    "timeCycle" => TimerKind::Cycle,
                    "condition" => {
                        let language = el.attrs.owned("language");
                        return Some(Frame::with_text(
                            Kind::EventCondition { p, n, language },
                            pos,
                        ));
                    }
                    _ => return None,
                };
                Some(Frame::with_text(Kind::TimerValue(p, n, kind), pos))
            }
            (Kind::LaneSet(p, parent_lane), "lane") => {
                let proc = &mut self.procs.get_mut(p)?.process;
                proc.lanes.push(Lane {
                    id: el.attrs.owned("id").unwrap_or_default(),
                    name: el.attrs.owned("name"),
                    flow_node_refs: Vec::new(),
                    properties: Vec::new(),
                    parent: parent_lane,
                    pos,
                });
                Some(Frame::new(Kind::Lane(p, proc.lanes.len() - 1), pos))
            }
            (Kind::Lane(p, l), "flowNodeRef") => {
                Some(Frame::with_text(Kind::FlowNodeRef(p, l), pos))
            }
            (Kind::Lane(p, l), "childLaneSet") => {
                let id = self.procs.get(p)?.process.lanes.get(l)?.id.clone();
                Some(Frame::new(Kind::LaneSet(p, Some(id)), pos))
            }
            (Kind::Lane(p, l), "extensionElements") => {
                Some(Frame::new(Kind::Ext(Owner::Lane(p, l)), pos))
            }
            (Kind::Collaboration(c), name) => {
                let collab = self.defs.collaborations.get_mut(c)?;
                let a = &el.attrs;
                match name {
                    "participant" => collab.participants.push(Participant {
                        id: a.owned("id").unwrap_or_default(),
                        name: a.owned("name"),
                        process_ref: a.owned("processRef"),
                        pos,
                    }),
                    "messageFlow" => collab.message_flows.push(MessageFlow {
                        id: a.owned("id").unwrap_or_default(),
                        source_ref: a.owned("sourceRef").unwrap_or_default(),
                        target_ref: a.owned("targetRef").unwrap_or_default(),
                        message_ref: a.owned("messageRef"),
                        pos,
                    }),
                    _ => {}
                }
                None
            }
            (Kind::Message(m), "extensionElements") => {
                Some(Frame::new(Kind::Ext(Owner::Message(m)), pos))
            }
            (Kind::MultiInstance(p, n), name) => {
                let field = match name {
                    "loopCardinality" => MiField::Cardinality,
                    "completionCondition" => MiField::Completion,
                    "extensionElements" => {
                        return Some(Frame::new(Kind::Ext(Owner::MultiInstance(p, n)), pos));
                    }
                    _ => return None,
                };
                let language = el.attrs.owned("language");
                Some(Frame::with_text(
                    Kind::MiExpr {
                        p,
                        n,
                        field,
                        language,
                    },
                    pos,
                ))
            }
            _ => None,
        }
    }

    fn open_definitions_child(&mut self, name: &str, el: &Element<'_>) -> Option<Frame> {
        let a = &el.attrs;
        let pos = el.pos;
        let id = a.owned("id").unwrap_or_default();
        match name {
            "process" => {
                let Some(id) = a.owned("id") else {
                    self.missing(
                        el,
                        "id",
                        "a process needs an id so it can be deployed and referenced",
                    );
                    return None;
                };
                self.procs.push(RawProcess {
                    process: Process {
                        id,
                        name: a.owned("name"),
                        is_executable: a.flag("isExecutable", false),
                        pos,
                        ..Process::default()
                    },
                    ..RawProcess::default()
                });
                Some(Frame::new(Kind::Process(self.procs.len() - 1), pos))
            }
            "collaboration" => {
                self.defs.collaborations.push(Collaboration {
                    id,
                    pos,
                    ..Collaboration::default()
                });
                Some(Frame::new(
                    Kind::Collaboration(self.defs.collaborations.len() - 1),
                    pos,
                ))
            }
            "message" => {
                self.defs.messages.push(MessageDef {
                    id,
                    name: a.owned("name"),
                    correlation_key: None,
                    pos,
                });
                Some(Frame::new(Kind::Message(self.defs.messages.len() - 1), pos))
            }
            "error" => {
                let error_code = a.owned("errorCode");
                self.defs.errors.push(ErrorDef {
                    id,
                    name: a.owned("name"),
                    error_code,
                    pos,
                });
                None
            }
            "escalation" => {
                let escalation_code = a.owned("escalationCode");
                self.defs.escalations.push(EscalationDef {
                    id,
                    name: a.owned("name"),
                    escalation_code,
                    pos,
                });
                None
            }
            "signal" => {
                self.defs.signals.push(SignalDef {
                    id,
                    name: a.owned("name"),
                    pos,
                });
                None
            }
            _ => None,
        }
    }

    /// A child of a process or sub-process: flow elements, lanes, artifacts.
    fn open_scope_child(
        &mut self,
        p: usize,
        scope: Option<usize>,
        el: &Element<'_>,
    ) -> Option<Frame> {
        let pos = el.pos;
        if let Some(kind) = node_kind(el) {
            return self.add_node(p, scope, kind, el);
        }
        match el.local {
            "sequenceFlow" => {
                let (Some(id), Some(source), Some(target)) = (
                    el.attrs.owned("id"),
                    el.attrs.owned("sourceRef"),
                    el.attrs.owned("targetRef"),
                ) else {
                    for attr in ["id", "sourceRef", "targetRef"] {
                        if el.attrs.get(attr).is_none() {
                            self.missing(
                                el,
                                attr,
                                "a sequence flow needs an id, a sourceRef and a targetRef",
                            );
                        }
                    }
                    return None;
                };
                let proc = self.procs.get_mut(p)?;
                proc.flows.push(RawFlow {
                    id,
                    name: el.attrs.owned("name"),
                    source,
                    target,
                    condition: None,
                    pos,
                });
                Some(Frame::new(Kind::Flow(p, proc.flows.len() - 1), pos))
            }
            "laneSet" => Some(Frame::new(Kind::LaneSet(p, None), pos)),
            "extensionElements" if scope.is_none() => {
                Some(Frame::new(Kind::Ext(Owner::Process(p)), pos))
            }
            _ => {
                self.artifact(p, el);
                None
            }
        }
    }

    fn artifact(&mut self, p: usize, el: &Element<'_>) {
        if let (Some(id), Some(proc)) = (el.attrs.owned("id"), self.procs.get_mut(p)) {
            proc.process.artifacts.push(Artifact {
                id,
                element: el.local.to_owned(),
                pos: el.pos,
            });
        }
    }

    fn add_node(
        &mut self,
        p: usize,
        scope: Option<usize>,
        kind: NodeKind,
        el: &Element<'_>,
    ) -> Option<Frame> {
        let Some(id) = el.attrs.owned("id") else {
            self.missing(el, "id", "every flow element needs a unique id; add one");
            return None;
        };
        let a = &el.attrs;
        let pos = el.pos;
        let mut ext = Extensions::default();
        if kind == NodeKind::CallActivity
            && let Some(called) = a.owned("calledElement")
        {
            ext.called_element = Some(CalledElement {
                process_id: called,
                propagate_all_child_variables: true,
                propagate_all_parent_variables: true,
                pos,
            });
        }
        super::ext::camunda_attributes(&mut ext, a, pos);
        let message_ref = match kind {
            NodeKind::Task(TaskKind::Send | TaskKind::Receive) => a.owned("messageRef"),
            _ => None,
        };
        let proc = self.procs.get_mut(p)?;
        proc.process.nodes.push(FlowNode {
            id,
            name: a.owned("name"),
            kind,
            parent: scope,
            incoming: Vec::new(),
            outgoing: Vec::new(),
            boundaries: Vec::new(),
            default_flow: None,
            ext,
            multi_instance: None,
            standard_loop: false,
            pos,
            message_ref,
        });
        proc.extra.push(NodeExtra {
            attached_to: a.owned("attachedToRef"),
            default_flow: a.owned("default"),
            triggers: Vec::new(),
            parallel_multiple: a.flag("parallelMultiple", false),
            script_format: a.get("scriptFormat").map(|f| f.trim().to_lowercase()),
        });
        Some(Frame::new(Kind::Node(p, proc.process.nodes.len() - 1), pos))
    }

    fn open_node_child(
        &mut self,
        p: usize,
        n: usize,
        name: &str,
        el: &Element<'_>,
    ) -> Option<Frame> {
        let pos = el.pos;
        let node = self.procs.get(p)?.process.nodes.get(n)?;
        let is_scope = matches!(node.kind, NodeKind::SubProcess(_));
        let event = is_event(&node.kind);
        let script_task = node.kind == NodeKind::Task(TaskKind::Script);
        if event && let Some(t) = trigger(el) {
            self.procs.get_mut(p)?.extra.get_mut(n)?.triggers.push(t);
            return Some(Frame::new(Kind::EventDef(p, n), pos));
        }
        match name {
            "extensionElements" => return Some(Frame::new(Kind::Ext(Owner::Node(p, n)), pos)),
            "incoming" | "outgoing" => return None,
            "standardLoopCharacteristics" => {
                self.procs
                    .get_mut(p)?
                    .process
                    .nodes
                    .get_mut(n)?
                    .standard_loop = true;
                return None;
            }
            "multiInstanceLoopCharacteristics" => {
                let a = &el.attrs;
                let mi = MultiInstance {
                    sequential: a.flag("isSequential", false),
                    input_collection: attr_expr(a.camunda("collection"), pos),
                    input_element: a.camunda("elementVariable").map(str::to_owned),
                    output_collection: None,
                    output_element: None,
                    loop_cardinality: None,
                    completion_condition: None,
                    pos,
                };
                self.procs
                    .get_mut(p)?
                    .process
                    .nodes
                    .get_mut(n)?
                    .multi_instance = Some(mi);
                return Some(Frame::new(Kind::MultiInstance(p, n), pos));
            }
            "script" if script_task => {
                let format = self
                    .procs
                    .get(p)?
                    .extra
                    .get(n)?
                    .script_format
                    .clone()
                    .unwrap_or_default();
                return Some(Frame::with_text(Kind::Script { p, n, format }, pos));
            }
            _ => {}
        }
        if is_scope {
            return self.open_scope_child(p, Some(n), el);
        }
        self.artifact(p, el);
        None
    }

    /// Completes an element when its end tag (or empty tag) is read.
    pub(super) fn close(&mut self, frame: Frame) {
        let pos = frame.pos;
        match frame.kind {
            Kind::Node(p, n) => self.finish_node(p, n),
            Kind::FlowCondition { p, f, language } => {
                if let Some(flow) = self.procs.get_mut(p).and_then(|pr| pr.flows.get_mut(f)) {
                    flow.condition = expr_of(frame.text, language, pos);
                }
            }
            Kind::TimerValue(p, n, kind) => {
                if let Some(EventTrigger::Timer(def)) = self.last_trigger(p, n) {
                    def.kind = Some(kind);
                    def.expr = expr_of(frame.text, None, pos);
                }
            }
            Kind::EventCondition { p, n, language } => {
                if let Some(EventTrigger::Conditional { condition }) = self.last_trigger(p, n) {
                    *condition = expr_of(frame.text, language, pos);
                }
            }
            Kind::Script { p, n, format } => {
                let Some(node) = self
                    .procs
                    .get_mut(p)
                    .and_then(|pr| pr.process.nodes.get_mut(n))
                else {
                    return;
                };
                if let Some(body) = expr_of(
                    frame.text,
                    Some(format.clone()).filter(|f| !f.is_empty()),
                    pos,
                ) {
                    let result_variable = node.ext.result_variable.clone();
                    node.ext.script = Some(Script {
                        format,
                        body,
                        result_variable,
                    });
                }
            }
            Kind::FlowNodeRef(p, l) => {
                let text = frame.text.unwrap_or_default();
                let id = text.trim();
                if let Some(lane) = self
                    .procs
                    .get_mut(p)
                    .and_then(|pr| pr.process.lanes.get_mut(l))
                    && !id.is_empty()
                {
                    lane.flow_node_refs.push(id.to_owned());
                }
            }
            Kind::MiExpr {
                p,
                n,
                field,
                language,
            } => {
                let mi = self
                    .procs
                    .get_mut(p)
                    .and_then(|pr| pr.process.nodes.get_mut(n))
                    .and_then(|node| node.multi_instance.as_mut());
                if let Some(mi) = mi {
                    let value = expr_of(frame.text, language, pos);
                    match field {
                        MiField::Cardinality => mi.loop_cardinality = value,
                        MiField::Completion => mi.completion_condition = value,
                    }
                }
            }
            Kind::CamundaParam {
                owner,
                name,
                output,
                nested,
            } => {
                self.finish_camunda_param(owner, name, output, nested, frame.text, pos);
            }
            _ => {}
        }
    }

    fn last_trigger(&mut self, p: usize, n: usize) -> Option<&mut EventTrigger> {
        self.procs.get_mut(p)?.extra.get_mut(n)?.triggers.last_mut()
    }

    fn finish_node(&mut self, p: usize, n: usize) {
        let Some(proc) = self.procs.get_mut(p) else {
            return;
        };
        let (Some(node), Some(extra)) = (proc.process.nodes.get_mut(n), proc.extra.get_mut(n))
        else {
            return;
        };
        let mut triggers = std::mem::take(&mut extra.triggers);
        let combined = match triggers.len() {
            0 => EventTrigger::None,
            1 => triggers.pop().unwrap_or(EventTrigger::None),
            _ => EventTrigger::Multiple {
                triggers,
                parallel: extra.parallel_multiple,
            },
        };
        match &mut node.kind {
            NodeKind::StartEvent { trigger, .. }
            | NodeKind::EndEvent { trigger }
            | NodeKind::IntermediateCatchEvent { trigger }
            | NodeKind::IntermediateThrowEvent { trigger }
            | NodeKind::BoundaryEvent { trigger, .. } => *trigger = combined,
            _ => {}
        }
    }
}
