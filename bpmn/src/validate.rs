//! Structural validation of a parsed document (independent of executability).
//!
//! Only things that are broken in any tool are reported: descriptive exports from
//! Signavio, ARIS, ADONIS, Trisotech, ... must pass. Executability is the compiler's job.

use std::collections::HashMap;

use crate::error::{Diagnostic, DiagnosticCode};
use crate::model::{Definitions, EventTrigger, FlowNode, NodeKind, Process, SubProcessKind};

/// Problems in the flow structure: dangling references, gateways without outgoing flows,
/// boundary events attached to nothing, ... Sorted by position.
pub fn structure(defs: &Definitions) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for process in &defs.processes {
        check_process(process, &mut out);
    }
    out.sort_by_key(|d| d.pos);
    out
}

fn invalid(node: &FlowNode, message: String) -> Diagnostic {
    Diagnostic::new(DiagnosticCode::InvalidStructure, node.pos, message).at(&node.id)
}

fn check_process(process: &Process, out: &mut Vec<Diagnostic>) {
    for node in &process.nodes {
        check_node(process, node, out);
    }
    for flow in &process.flows {
        let (Some(source), Some(target)) = (
            process.nodes.get(flow.source),
            process.nodes.get(flow.target),
        ) else {
            continue;
        };
        if source.parent != target.parent {
            out.push(
                Diagnostic::new(
                    DiagnosticCode::InvalidStructure,
                    flow.pos,
                    format!(
                        "sequence flow '{}' connects '{}' and '{}', which are in different \
                         sub-processes; a sequence flow cannot cross a sub-process boundary, use \
                         the sub-process's own start/end events or a boundary event instead",
                        flow.id, source.id, target.id
                    ),
                )
                .at(&flow.id),
            );
        }
    }
    check_links(process, out);
    let has_nodes = !process.nodes.is_empty();
    let has_start = process
        .nodes
        .iter()
        .any(|n| n.parent.is_none() && matches!(n.kind, NodeKind::StartEvent { .. }));
    if process.is_executable && has_nodes && !has_start {
        out.push(
            Diagnostic::new(
                DiagnosticCode::InvalidStructure,
                process.pos,
                format!(
                    "process '{}' is executable but has no start event, so it can never be \
                     started; add a start event (or set isExecutable=\"false\" for a \
                     descriptive model)",
                    process.id
                ),
            )
            .at(&process.id),
        );
    }
}

fn check_node(process: &Process, node: &FlowNode, out: &mut Vec<Diagnostic>) {
    let id = &node.id;
    if let Some(default) = node.default_flow
        && !node.outgoing.contains(&default)
    {
        let flow = process
            .flows
            .get(default)
            .map(|f| f.id.as_str())
            .unwrap_or_default();
        out.push(invalid(
            node,
            format!(
                "'{id}' names '{flow}' as its default flow, but that flow does not leave '{id}'; \
                 the default must be one of its outgoing sequence flows"
            ),
        ));
    }
    match &node.kind {
        // A gateway with no flows at all is an unconnected shape (bpmn-js's kitchen-sink
        // has a palette of them); only one that tokens can reach but not leave is broken.
        NodeKind::Gateway(kind) if node.outgoing.is_empty() && !node.incoming.is_empty() => out
            .push(invalid(
                node,
                format!(
                    "{kind:?} gateway '{id}' has no outgoing sequence flow, so a token reaching it \
                 could never continue; connect it to the next step"
                ),
            )),
        NodeKind::BoundaryEvent { .. } if !node.incoming.is_empty() => out.push(invalid(
            node,
            format!(
                "boundary event '{id}' has an incoming sequence flow; boundary events are \
                 triggered by their activity, remove the incoming flow"
            ),
        )),
        NodeKind::StartEvent { .. } if !node.incoming.is_empty() => out.push(invalid(
            node,
            format!(
                "start event '{id}' has an incoming sequence flow; a start event begins the \
                 flow, connect the flow to another element"
            ),
        )),
        NodeKind::EndEvent { .. } if !node.outgoing.is_empty() => out.push(invalid(
            node,
            format!(
                "end event '{id}' has an outgoing sequence flow; an end event finishes the \
                 flow, use an intermediate event instead"
            ),
        )),
        NodeKind::SubProcess(SubProcessKind::Event)
            if !node.incoming.is_empty() || !node.outgoing.is_empty() =>
        {
            out.push(invalid(
                node,
                format!(
                    "event sub-process '{id}' has sequence flows; it is started by its start \
                     event's trigger, remove its incoming and outgoing flows"
                ),
            ));
        }
        _ => {}
    }
}

fn link_name(node: &FlowNode) -> Option<(bool, Option<&str>)> {
    match &node.kind {
        NodeKind::IntermediateThrowEvent {
            trigger: EventTrigger::Link { name },
        } => Some((true, name.as_deref())),
        NodeKind::IntermediateCatchEvent {
            trigger: EventTrigger::Link { name },
        } => Some((false, name.as_deref())),
        _ => None,
    }
}

/// Link events pair by name within one scope: every throw needs exactly one catch.
fn check_links(process: &Process, out: &mut Vec<Diagnostic>) {
    let mut catches: HashMap<(Option<usize>, &str), Vec<&FlowNode>> = HashMap::new();
    for node in &process.nodes {
        if let Some((false, Some(name))) = link_name(node) {
            catches
                .entry((node.parent, name.trim()))
                .or_default()
                .push(node);
        }
    }
    for node in &process.nodes {
        let Some((true, name)) = link_name(node) else {
            continue;
        };
        let name = name.map(str::trim).unwrap_or_default();
        match catches
            .get(&(node.parent, name))
            .map(Vec::len)
            .unwrap_or_default()
        {
            0 => out.push(invalid(
                node,
                format!(
                    "link throw event '{}' jumps to link '{name}', but there is no link catch \
                     event with that name in the same (sub-)process; add one or fix the name",
                    node.id
                ),
            )),
            1 => {}
            n => out.push(invalid(
                node,
                format!(
                    "link throw event '{}' jumps to link '{name}', but {n} link catch events \
                     have that name in the same (sub-)process; the target is ambiguous, rename \
                     all but one",
                    node.id
                ),
            )),
        }
    }
}
