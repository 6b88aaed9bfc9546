//! Moving a running instance to another process version with an explicit element
//! mapping. Every live element, token and subscription must find its counterpart —
//! nothing is dropped silently: an unmapped timer is an error unless the mapping says
//! `""` (remove it), and a timer whose definition changed is recomputed (and said so in
//! the effects) instead of keeping a due date the new model never asked for.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::run::{Run, trigger_kind};
use super::{Effect, EngineError, Instance};
use crate::compile::{Deployment, ExecProcess};
use crate::model::NodeKind;

/// Why a migration was refused; the instance is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MigrationError {
    #[error("process '{0}' is not in the target deployment")]
    UnknownProcess(String),
    #[error("element '{from}' maps to '{to}', which the target process does not have")]
    MissingTarget { from: String, to: String },
    #[error("element '{from}' ({from_kind}) cannot become '{to}' ({to_kind})")]
    KindMismatch {
        from: String,
        from_kind: String,
        to: String,
        to_kind: String,
    },
    #[error("element '{element}' would leave its scope: map it into the counterpart of '{scope}'")]
    ScopeMismatch { element: String, scope: String },
    #[error("sequence flow '{0}' holds a token at a join but does not exist in the target")]
    MissingFlow(String),
    #[error("{0}")]
    Engine(#[from] EngineError),
}

/// `mapping`: old element id -> new element id; ids not listed keep their id; `""`
/// removes a subscription (a boundary or event sub-process the new version dropped).
pub fn migrate(
    from: &Deployment,
    to: &Deployment,
    state: &mut Instance,
    target_process: &str,
    mapping: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, MigrationError> {
    let mut next = state.clone();
    let proc_map = |old: u32, is_root_process: bool| -> Result<u32, MigrationError> {
        let p = from
            .processes
            .get(old as usize)
            .ok_or_else(|| corrupt("process index"))?;
        let id = if is_root_process {
            target_process
        } else {
            p.key.process_id.as_str()
        };
        to.index_of(id)
            .map(|i| i as u32)
            .ok_or_else(|| MigrationError::UnknownProcess(id.into()))
    };
    let root_proc = next
        .elements
        .get(&next.root)
        .map(|e| e.proc)
        .ok_or_else(|| corrupt("root"))?;
    let map_node =
        |old_proc: u32, new_proc: u32, node: u32| -> Result<Option<u32>, MigrationError> {
            let (op, np) = (
                &from.processes[old_proc as usize],
                &to.processes[new_proc as usize],
            );
            let old = op
                .model
                .nodes
                .get(node as usize)
                .ok_or_else(|| corrupt("node index"))?;
            let target = mapping.get(&old.id).map_or(old.id.as_str(), String::as_str);
            if target.is_empty() {
                return Ok(None);
            }
            let new = np
                .model
                .node_index(target)
                .ok_or_else(|| MigrationError::MissingTarget {
                    from: old.id.clone(),
                    to: target.to_string(),
                })?;
            let (ok, nk) = (kind_name(&old.kind), kind_name(&np.model.nodes[new].kind));
            if ok != nk {
                return Err(MigrationError::KindMismatch {
                    from: old.id.clone(),
                    from_kind: ok,
                    to: target.to_string(),
                    to_kind: nk,
                });
            }
            Ok(Some(new as u32))
        };

    // Elements: process and node indices, checked against their scopes.
    let ids: Vec<u64> = next.elements.keys().copied().collect();
    let mut new_nodes = BTreeMap::new();
    for &id in &ids {
        let el = &next.elements[&id];
        let is_root_process = el.proc == root_proc && is_in_root_process(&next, id);
        let np = proc_map(el.proc, is_root_process)?;
        let nn = match el.node {
            Some(n) => Some(map_node(el.proc, np, n)?.ok_or_else(|| {
                MigrationError::MissingTarget {
                    from: from.processes[el.proc as usize].model.nodes[n as usize]
                        .id
                        .clone(),
                    to: String::new(),
                }
            })?),
            None => None,
        };
        new_nodes.insert(id, (np, nn));
    }
    for &id in &ids {
        let el = &next.elements[&id];
        let (np, Some(nn)) = new_nodes[&id] else {
            continue;
        };
        let Some(parent) = el.parent else { continue };
        let (pp, pn) = new_nodes[&parent];
        let model_parent = to.processes[np as usize].model.nodes[nn as usize]
            .parent
            .map(|p| p as u32);
        // A multi-instance inner instance sits in a body of its own node.
        let expected = if pn == Some(nn) { model_parent } else { pn };
        if pp != np || model_parent != expected {
            return Err(MigrationError::ScopeMismatch {
                element: to.processes[np as usize].ids[nn as usize].to_string(),
                scope: pn.map_or(String::from("the process"), |p| {
                    to.processes[pp as usize].ids[p as usize].to_string()
                }),
            });
        }
    }
    for &id in &ids {
        let (np, nn) = new_nodes[&id];
        let old_proc = next.elements[&id].proc;
        let joins = std::mem::take(
            &mut next
                .elements
                .get_mut(&id)
                .ok_or_else(|| corrupt("el"))?
                .joins,
        );
        let mut remapped = BTreeMap::new();
        for (gw, counts) in joins {
            let ngw = map_node(old_proc, np, gw)?.ok_or_else(|| corrupt("join gateway removed"))?;
            let mut c2 = BTreeMap::new();
            for (flow, n) in counts {
                c2.insert(
                    map_flow(
                        &from.processes[old_proc as usize],
                        &to.processes[np as usize],
                        flow,
                    )?,
                    n,
                );
            }
            remapped.insert(ngw, c2);
        }
        let el = next.elements.get_mut(&id).ok_or_else(|| corrupt("el"))?;
        el.proc = np;
        el.node = nn;
        el.joins = remapped;
    }
    for inc in next.incidents.values_mut() {
        if let Some(el) = next.elements.get(&inc.element)
            && let Some(n) = el.node
        {
            inc.element_id = to.processes[el.proc as usize].model.nodes[n as usize]
                .id
                .clone();
        }
    }
    next.process_id = target_process.to_string();

    // Subscriptions: kept when the definition is unchanged, recomputed when it changed,
    // removed only when the mapping says so; new boundary events are armed.
    let mut run = Run::new(to, &mut next, now);
    let subs: Vec<(u64, super::Subscription)> = run
        .st
        .subscriptions
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    for (sub_id, sub) in subs {
        let owner_proc = run
            .st
            .elements
            .get(&sub.owner)
            .map(|e| e.proc)
            .ok_or_else(|| corrupt("owner"))?;
        let old_proc = sub.proc;
        let Some(nn) = map_node(old_proc, owner_proc, sub.node)? else {
            run.close_subscription(sub_id);
            continue;
        };
        let same = same_trigger(
            &from.processes[old_proc as usize],
            sub.node,
            &to.processes[owner_proc as usize],
            nn,
        );
        if same {
            if let Some(s) = run.st.subscriptions.get_mut(&sub_id) {
                s.proc = owner_proc;
                s.node = nn;
            }
        } else {
            run.close_subscription(sub_id);
            run.subscribe(sub.owner, sub.owner, owner_proc, nn)
                .map_err(|m| corrupt(&m))?;
        }
    }
    arm_new_boundaries(&mut run, &new_nodes)?;
    let fx = run.fx;
    *state = next;
    Ok(fx)
}

/// Boundary events the old version did not have on a live activity get armed now.
fn arm_new_boundaries(
    run: &mut Run<'_>,
    new_nodes: &BTreeMap<u64, (u32, Option<u32>)>,
) -> Result<(), MigrationError> {
    let to = run.dep;
    for (&id, &(np, nn)) in new_nodes {
        let Some(nn) = nn else { continue };
        let Some(el) = run.st.elements.get(&id) else {
            continue;
        };
        if run.is_inner(id)
            || !matches!(
                el.wait,
                super::Wait::Task | super::Wait::Job { .. } | super::Wait::Scope
            )
        {
            continue;
        }
        let node = &to.processes[np as usize].model.nodes[nn as usize];
        if el.mi.is_none() && node.multi_instance.is_some() {
            continue;
        }
        for &b in &node.boundaries {
            let armed = run
                .st
                .subscriptions
                .values()
                .any(|s| s.owner == id && s.node == b as u32);
            let NodeKind::BoundaryEvent { trigger, .. } =
                &to.processes[np as usize].model.nodes[b].kind
            else {
                continue;
            };
            if !armed && trigger_kind(trigger).is_some() {
                run.subscribe(id, id, np, b as u32)
                    .map_err(|m| corrupt(&m))?;
            }
        }
    }
    Ok(())
}

fn is_in_root_process(st: &Instance, id: u64) -> bool {
    // Walk up to the first process root; the instance root means the main process.
    let mut cur = Some(id);
    while let Some(c) = cur {
        let Some(el) = st.elements.get(&c) else {
            return false;
        };
        if el.node.is_none() {
            return c == st.root;
        }
        cur = el.parent;
    }
    false
}

fn map_flow(from: &ExecProcess, to: &ExecProcess, flow: u32) -> Result<u32, MigrationError> {
    if flow >= u32::MAX - 1 {
        return Ok(flow); // a token that arrived without a flow
    }
    let id = &from
        .model
        .flows
        .get(flow as usize)
        .ok_or_else(|| corrupt("flow index"))?
        .id;
    to.model
        .flows
        .iter()
        .position(|f| &f.id == id)
        .map(|i| i as u32)
        .ok_or_else(|| MigrationError::MissingFlow(id.clone()))
}

fn same_trigger(a: &ExecProcess, an: u32, b: &ExecProcess, bn: u32) -> bool {
    let (x, y) = (&a.nodes[an as usize], &b.nodes[bn as usize]);
    let timer =
        |n: &crate::compile::ExecNode| n.timer.as_ref().map(|(k, e)| (*k, e.source().to_string()));
    let message = |n: &crate::compile::ExecNode| {
        n.message.as_ref().map(|m| {
            (
                m.name.source().to_string(),
                m.correlation_key.as_ref().map(|k| k.source().to_string()),
            )
        })
    };
    timer(x) == timer(y) && message(x) == message(y)
}

fn kind_name(k: &NodeKind) -> String {
    super::element_type(k).to_string()
}

fn corrupt(what: &str) -> MigrationError {
    MigrationError::Engine(EngineError::CorruptState(what.to_string()))
}
