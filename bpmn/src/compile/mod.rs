//! Model -> [`Deployment`]: the processes of one or more documents, checked for
//! executability, with every expression compiled and every reference resolved to an index.
//!
//! A deployment is immutable; each process carries its id, a version and the SHA-256 of
//! the document it came from, so a running case can always say which model it runs.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Diagnostic, DiagnosticCode as Code, Diagnostics};
use crate::expr::{Expression, Usage};
use crate::model::{Definitions, FlowIdx, NodeIdx, Process, TimerKind};
use crate::parse::parse;

mod node;
use node::Compiler;

/// Identity of a deployed process definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessKey {
    pub process_id: String,
    pub version: u32,
    /// Hex SHA-256 of the source document.
    pub content_hash: String,
}

/// One source document of a deployment.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// File or resource name, used only in messages.
    pub name: &'a str,
    pub xml: &'a [u8],
    /// Version the repository assigns to the processes of this document.
    pub version: u32,
}

/// A set of processes deployed together (call activities resolve within it).
#[derive(Debug, Clone)]
pub struct Deployment {
    pub processes: Vec<ExecProcess>,
    by_id: HashMap<String, usize>,
}

/// Diagnostics of one source document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {diagnostics}")]
pub struct SourceError {
    pub source_name: String,
    pub diagnostics: Diagnostics,
}

/// A process ready to run.
#[derive(Debug, Clone)]
pub struct ExecProcess {
    pub key: ProcessKey,
    pub model: Process,
    /// Element ids, shared by the effects that name them (no allocation per transition).
    pub ids: Vec<Arc<str>>,
    pub nodes: Vec<ExecNode>,
    /// Compiled condition per sequence flow (same index as `model.flows`).
    pub conditions: Vec<Option<Expression>>,
    /// Per scope (`None` = process level is stored under index `model.nodes.len()`):
    /// the none start event and the event sub-processes.
    pub scopes: HashMap<Option<NodeIdx>, ScopeInfo>,
    /// For inclusive joins: `reach[a]` lists the nodes reachable from `a` in its scope.
    pub reach: Vec<Vec<NodeIdx>>,
}

#[derive(Debug, Clone, Default)]
pub struct ScopeInfo {
    pub none_start: Option<NodeIdx>,
    /// Start events of event sub-processes directly in this scope.
    pub event_starts: Vec<NodeIdx>,
    /// Process-level message and timer start events (only for the process scope).
    pub other_starts: Vec<NodeIdx>,
}

/// Compiled, executable details of one flow node.
#[derive(Debug, Clone, Default)]
pub struct ExecNode {
    /// The collection stage this node belongs to (own, enclosing sub-process, lane or
    /// process `stage` property, nearest first).
    pub stage: Option<String>,
    pub assignee: Option<Expression>,
    pub candidate_groups: Option<Expression>,
    pub candidate_users: Option<Expression>,
    pub due_date: Option<Expression>,
    pub follow_up_date: Option<Expression>,
    pub priority: Option<Expression>,
    pub task_type: Option<Expression>,
    pub retries: Option<Expression>,
    pub inputs: Vec<(Expression, String)>,
    pub outputs: Vec<(Expression, String)>,
    pub timer: Option<(TimerKind, Expression)>,
    pub message: Option<MessageRef>,
    /// Error code thrown (end event) or caught (`None` on a catch = catch all).
    pub error_code: Option<String>,
    pub escalation_code: Option<String>,
    pub script: Option<Expression>,
    pub result_variable: Option<String>,
    pub called_process: Option<Expression>,
    pub propagate_child_variables: bool,
    pub mi: Option<ExecMultiInstance>,
    /// Link throw: the matching catch.
    pub link_target: Option<NodeIdx>,
}

#[derive(Debug, Clone)]
pub struct MessageRef {
    pub name: Expression,
    pub correlation_key: Option<Expression>,
}

#[derive(Debug, Clone)]
pub struct ExecMultiInstance {
    pub sequential: bool,
    pub input_collection: Option<Expression>,
    pub input_element: Option<String>,
    pub output_collection: Option<String>,
    pub output_element: Option<Expression>,
    pub loop_cardinality: Option<Expression>,
    pub completion_condition: Option<Expression>,
}

/// Hex SHA-256 of a document.
pub fn content_hash(xml: &[u8]) -> String {
    let digest = Sha256::digest(xml);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses, validates and compiles documents deployed together. Every problem of every
/// document is reported, each with its source name.
pub fn deploy(sources: &[Source<'_>]) -> Result<Deployment, Vec<SourceError>> {
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for src in sources {
        match parse(src.xml) {
            Ok(defs) => parsed.push((src, defs)),
            Err(diagnostics) => errors.push(SourceError {
                source_name: src.name.to_string(),
                diagnostics,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut dep = Deployment {
        processes: Vec::new(),
        by_id: HashMap::new(),
    };
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (src, defs) in &parsed {
        let hash = content_hash(src.xml);
        let mut diags = Vec::new();
        for process in defs.processes.iter().filter(|p| p.is_executable) {
            if let Some(first) = seen.insert(process.id.clone(), src.name) {
                diags.push(
                    Diagnostic::new(
                        Code::DuplicateId,
                        process.pos,
                        format!("process '{}' is also defined in {first}", process.id),
                    )
                    .at(&process.id),
                );
                continue;
            }
            let key = ProcessKey {
                process_id: process.id.clone(),
                version: src.version,
                content_hash: hash.clone(),
            };
            match compile_process(defs, process, key) {
                Ok(p) => {
                    dep.by_id
                        .insert(p.key.process_id.clone(), dep.processes.len());
                    dep.processes.push(p);
                }
                Err(mut d) => diags.append(&mut d),
            }
        }
        if !diags.is_empty() {
            diags.sort_by_key(|d| d.pos);
            errors.push(SourceError {
                source_name: src.name.to_string(),
                diagnostics: Diagnostics(diags),
            });
        }
    }
    check_called_elements(&dep, &mut errors, sources);
    if errors.is_empty() {
        Ok(dep)
    } else {
        Err(errors)
    }
}

/// Static `calledElement`s must name a process of the deployment.
fn check_called_elements(dep: &Deployment, errors: &mut Vec<SourceError>, sources: &[Source<'_>]) {
    for p in &dep.processes {
        for (i, n) in p.nodes.iter().enumerate() {
            let Some(called) = n.called_process.as_ref().and_then(|e| e.static_value()) else {
                continue;
            };
            let name = called.as_str().unwrap_or_default();
            if dep.by_id.contains_key(name) {
                continue;
            }
            let node = &p.model.nodes[i];
            let source = sources
                .iter()
                .find(|s| content_hash(s.xml) == p.key.content_hash)
                .map_or("deployment", |s| s.name);
            errors.push(SourceError {
                source_name: source.to_string(),
                diagnostics: Diagnostic::new(
                    Code::DanglingReference,
                    node.pos,
                    format!(
                        "call activity calls process '{name}', which is not deployed with it: \
                         deploy the called process in the same deployment"
                    ),
                )
                .at(&node.id)
                .into(),
            });
        }
    }
}

impl Deployment {
    pub fn process(&self, id: &str) -> Option<&ExecProcess> {
        self.by_id.get(id).map(|&i| &self.processes[i])
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }
}

fn compile_process(
    defs: &Definitions,
    process: &Process,
    key: ProcessKey,
) -> Result<ExecProcess, Vec<Diagnostic>> {
    let mut c = Compiler {
        defs,
        process,
        diags: Vec::new(),
    };
    let nodes: Vec<ExecNode> = (0..process.nodes.len()).map(|i| c.node(i)).collect();
    let conditions = process
        .flows
        .iter()
        .map(|f| {
            f.condition
                .as_ref()
                .and_then(|e| c.expr(e, Usage::Condition, &f.id))
        })
        .collect();
    let scopes = c.scopes();
    let mut nodes = nodes;
    c.links(&mut nodes);
    if !c.diags.is_empty() {
        return Err(c.diags);
    }
    let reach = reachability(process);
    let ids = process
        .nodes
        .iter()
        .map(|n| Arc::from(n.id.as_str()))
        .collect();
    Ok(ExecProcess {
        key,
        model: process.clone(),
        ids,
        nodes,
        conditions,
        scopes,
        reach,
    })
}

/// Nodes reachable from each node over sequence flows, within the same scope; an
/// activity also reaches what its boundary events lead to.
fn reachability(p: &Process) -> Vec<Vec<NodeIdx>> {
    let succ = |i: NodeIdx| -> Vec<NodeIdx> {
        let n = &p.nodes[i];
        let mut s: Vec<NodeIdx> = n
            .outgoing
            .iter()
            .map(|&f: &FlowIdx| p.flows[f].target)
            .collect();
        s.extend(n.boundaries.iter().copied());
        s
    };
    (0..p.nodes.len())
        .map(|start| {
            let mut seen = vec![false; p.nodes.len()];
            let mut stack = succ(start);
            let mut out = Vec::new();
            while let Some(x) = stack.pop() {
                if x >= seen.len() || seen[x] {
                    continue;
                }
                seen[x] = true;
                out.push(x);
                stack.extend(succ(x));
            }
            out.sort_unstable();
            out
        })
        .collect()
}
