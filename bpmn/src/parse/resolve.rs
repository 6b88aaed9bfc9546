//! Second pass: turn id references into arena indices and report the dangling ones.

use std::collections::HashMap;

use super::reader::{Builder, IdInfo, RawProcess};
use crate::error::{Diagnostic, DiagnosticCode};
use crate::model::{Definitions, EventTrigger, FlowNode, NodeKind, Pos, Process, SequenceFlow};

pub(crate) fn resolve(b: Builder) -> (Definitions, Vec<Diagnostic>) {
    let Builder {
        mut defs,
        procs,
        ids,
        mut diags,
        ..
    } = b;
    for raw in procs {
        let process = resolve_process(raw, &ids, &mut diags);
        defs.processes.push(process);
    }
    let process_ids: Vec<&str> = defs.processes.iter().map(|p| p.id.as_str()).collect();
    for collab in &defs.collaborations {
        for participant in &collab.participants {
            if let Some(r) = &participant.process_ref
                && !process_ids.contains(&r.as_str())
            {
                diags.push(dangling(
                    participant.pos,
                    &participant.id,
                    format!(
                        "participant (pool) '{}' refers to process '{r}', which {}; fix its \
                         processRef or remove it",
                        participant.id,
                        describe(&ids, r, "is not a process in this document")
                    ),
                ));
            }
        }
        for flow in &collab.message_flows {
            let refs = [
                ("sourceRef", Some(&flow.source_ref)),
                ("targetRef", Some(&flow.target_ref)),
            ];
            for (attr, r) in refs
                .into_iter()
                .chain([("messageRef", flow.message_ref.as_ref())])
            {
                let Some(r) = r else { continue };
                if r.is_empty() {
                    diags.push(
                        Diagnostic::new(
                            DiagnosticCode::MissingAttribute,
                            flow.pos,
                            format!(
                                "message flow '{}' has no {attr}; connect both of its ends",
                                flow.id
                            ),
                        )
                        .at(&flow.id),
                    );
                } else if !ids.contains_key(r) {
                    diags.push(dangling(
                        flow.pos,
                        &flow.id,
                        format!(
                            "message flow '{}' has {attr} '{r}', but no element has that id",
                            flow.id
                        ),
                    ));
                }
            }
        }
    }
    (defs, diags)
}

fn dangling(pos: Pos, id: &str, message: String) -> Diagnostic {
    Diagnostic::new(DiagnosticCode::DanglingReference, pos, message).at(id)
}

/// "does not exist" or "is a <dataObject> ..." for a reference that matched no target.
fn describe(ids: &HashMap<String, IdInfo>, r: &str, wrong_kind: &str) -> String {
    match ids.get(r) {
        Some(info) => format!("is a <{}>: {wrong_kind}", info.element),
        None => "does not exist in the document".to_owned(),
    }
}

fn is_activity(kind: &NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::Task(_) | NodeKind::SubProcess(_) | NodeKind::CallActivity
    )
}

fn resolve_process(
    raw: RawProcess,
    ids: &HashMap<String, IdInfo>,
    diags: &mut Vec<Diagnostic>,
) -> Process {
    let RawProcess {
        mut process,
        extra,
        flows: raw_flows,
    } = raw;
    let pid = process.id.clone();
    let mut node_by_id: HashMap<String, usize> = HashMap::new();
    for (i, node) in process.nodes.iter().enumerate() {
        node_by_id.entry(node.id.clone()).or_insert(i);
    }
    let not_a_node = "flow nodes in this process are events, activities and gateways";
    // Signavio exports collapsed pools as a process holding only the pool's sequence
    // flows, with both ends missing. With no flow node there is nothing they could
    // connect, so they are export leftovers rather than a broken model.
    let raw_flows = if process.nodes.is_empty() {
        Vec::new()
    } else {
        raw_flows
    };

    for flow in raw_flows {
        let mut end = |attr: &str, r: &str| {
            let found = node_by_id.get(r).copied();
            if found.is_none() {
                diags.push(dangling(
                    flow.pos,
                    &flow.id,
                    format!(
                        "sequence flow '{}' has {attr} '{r}', which {}; connect the flow to an \
                         existing event, activity or gateway of process '{pid}'",
                        flow.id,
                        describe(ids, r, not_a_node)
                    ),
                ));
            }
            found
        };
        let (source, target) = (
            end("sourceRef", &flow.source),
            end("targetRef", &flow.target),
        );
        if let (Some(source), Some(target)) = (source, target) {
            process.flows.push(SequenceFlow {
                id: flow.id,
                name: flow.name,
                source,
                target,
                condition: flow.condition,
                pos: flow.pos,
            });
        }
    }
    let mut flow_by_id: HashMap<&str, usize> = HashMap::new();
    for (i, flow) in process.flows.iter().enumerate() {
        flow_by_id.entry(flow.id.as_str()).or_insert(i);
    }

    let mut boundaries: Vec<(usize, usize)> = Vec::new();
    for (i, (node, extra)) in process.nodes.iter_mut().zip(extra).enumerate() {
        if let Some(r) = &extra.default_flow {
            match flow_by_id.get(r.as_str()) {
                Some(f) => node.default_flow = Some(*f),
                None => diags.push(dangling(
                    node.pos,
                    &node.id,
                    format!(
                        "'{}' names '{r}' as its default flow, but {} has no sequence flow with \
                         that id; pick one of its outgoing flows",
                        node.id, pid
                    ),
                )),
            }
        }
        if let NodeKind::BoundaryEvent { attached_to, .. } = &mut node.kind {
            match extra.attached_to.as_deref().map(str::trim) {
                None | Some("") => diags.push(
                    Diagnostic::new(
                        DiagnosticCode::MissingAttribute,
                        node.pos,
                        format!(
                            "boundary event '{}' has no attachedToRef: it is attached to nothing; \
                             place it on the border of a task, sub-process or call activity",
                            node.id
                        ),
                    )
                    .at(&node.id),
                ),
                Some(r) => match node_by_id.get(r) {
                    Some(&target) => {
                        *attached_to = target;
                        boundaries.push((target, i));
                    }
                    None => diags.push(dangling(
                        node.pos,
                        &node.id,
                        format!(
                            "boundary event '{}' is attached to '{r}', which {}; attach it to an \
                             activity of process '{pid}'",
                            node.id,
                            describe(ids, r, "not a flow node of this process")
                        ),
                    )),
                },
            }
        }
        check_event_refs(node, ids, diags);
    }
    for (target, boundary) in boundaries {
        let is_act = process
            .nodes
            .get(target)
            .is_some_and(|n| is_activity(&n.kind));
        if is_act {
            if let Some(n) = process.nodes.get_mut(target) {
                n.boundaries.push(boundary);
            }
        } else if let Some(b) = process.nodes.get(boundary) {
            let target_id = process
                .nodes
                .get(target)
                .map(|n| n.id.as_str())
                .unwrap_or_default();
            diags.push(dangling(
                b.pos,
                &b.id,
                format!(
                    "boundary event '{}' is attached to '{target_id}', which is not an activity; \
                     boundary events can only sit on tasks, sub-processes and call activities",
                    b.id
                ),
            ));
        }
    }
    for (fi, flow) in process.flows.iter().enumerate() {
        if let Some(n) = process.nodes.get_mut(flow.source) {
            n.outgoing.push(fi);
        }
        if let Some(n) = process.nodes.get_mut(flow.target) {
            n.incoming.push(fi);
        }
    }
    process
}

/// `messageRef`/`errorRef`/... must name some element of the document.
fn check_event_refs(node: &FlowNode, ids: &HashMap<String, IdInfo>, diags: &mut Vec<Diagnostic>) {
    let trigger = match &node.kind {
        NodeKind::StartEvent { trigger, .. }
        | NodeKind::EndEvent { trigger }
        | NodeKind::IntermediateCatchEvent { trigger }
        | NodeKind::IntermediateThrowEvent { trigger }
        | NodeKind::BoundaryEvent { trigger, .. } => Some(trigger),
        _ => None,
    };
    let mut refs: Vec<(&str, &str)> = Vec::new();
    if let Some(r) = &node.message_ref {
        refs.push(("messageRef", r));
    }
    let nested = match trigger {
        Some(EventTrigger::Multiple { triggers, .. }) => triggers.iter().collect(),
        Some(t) => vec![t],
        None => Vec::new(),
    };
    for t in nested {
        match t {
            EventTrigger::Message {
                message_ref: Some(r),
            } => refs.push(("messageRef", r)),
            EventTrigger::Error { error_ref: Some(r) } => refs.push(("errorRef", r)),
            EventTrigger::Escalation {
                escalation_ref: Some(r),
            } => refs.push(("escalationRef", r)),
            EventTrigger::Signal {
                signal_ref: Some(r),
            } => refs.push(("signalRef", r)),
            _ => {}
        }
    }
    for (attr, r) in refs {
        if !r.is_empty() && !ids.contains_key(r) {
            let what = attr.trim_end_matches("Ref");
            diags.push(dangling(
                node.pos,
                &node.id,
                format!(
                    "'{}' has {attr} '{r}', but the document defines no {what} with that id; \
                     add a <{what} id=\"{r}\"> under <definitions> or fix the reference",
                    node.id
                ),
            ));
        }
    }
}
