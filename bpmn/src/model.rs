//! The typed BPMN model: what the parser produces and the compiler/engine consume.
//!
//! Flow nodes and sequence flows of a process live in flat arenas (`Vec`) addressed by
//! index, with `parent` pointing at the enclosing sub-process. Flat arenas keep the
//! engine's hot path free of tree walks and make instance state plain integers.
//! Expressions are kept as source text here ([`Expr`]); compiling them is a separate step
//! so that a purely descriptive model (Signavio, ARIS, ...) still parses.

use serde::{Deserialize, Serialize};

/// Index of a flow node in [`Process::nodes`].
pub type NodeIdx = usize;
/// Index of a sequence flow in [`Process::flows`].
pub type FlowIdx = usize;

/// 1-based line and column of an element's start tag in the source document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// An expression as written in the model, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expr {
    pub text: String,
    /// The `language` attribute of a `tFormalExpression` / `scriptFormat`, if any.
    pub language: Option<String>,
    pub pos: Pos,
}

/// `<definitions>`: one BPMN document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Definitions {
    pub id: Option<String>,
    pub name: Option<String>,
    pub target_namespace: Option<String>,
    pub exporter: Option<String>,
    pub exporter_version: Option<String>,
    pub processes: Vec<Process>,
    pub collaborations: Vec<Collaboration>,
    pub messages: Vec<MessageDef>,
    pub errors: Vec<ErrorDef>,
    pub escalations: Vec<EscalationDef>,
    pub signals: Vec<SignalDef>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Collaboration {
    pub id: String,
    pub participants: Vec<Participant>,
    pub message_flows: Vec<MessageFlow>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Participant {
    pub id: String,
    pub name: Option<String>,
    pub process_ref: Option<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MessageFlow {
    pub id: String,
    pub source_ref: String,
    pub target_ref: String,
    pub message_ref: Option<String>,
    pub pos: Pos,
}

/// `<message>`; in Zeebe models it carries the subscription's correlation key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MessageDef {
    pub id: String,
    /// May itself be a FEEL expression (`=...`) in Zeebe models.
    pub name: Option<String>,
    /// `zeebe:subscription correlationKey`.
    pub correlation_key: Option<Expr>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorDef {
    pub id: String,
    pub name: Option<String>,
    pub error_code: Option<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EscalationDef {
    pub id: String,
    pub name: Option<String>,
    pub escalation_code: Option<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SignalDef {
    pub id: String,
    pub name: Option<String>,
    pub pos: Pos,
}

/// `<process>`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Process {
    pub id: String,
    pub name: Option<String>,
    pub is_executable: bool,
    pub pos: Pos,
    /// `zeebe:properties` / `camunda:properties` on the process itself.
    pub properties: Vec<Property>,
    /// All lanes of all lane sets, nested lanes flattened (a node may be in several).
    pub lanes: Vec<Lane>,
    /// Every flow node of the process, including those nested in sub-processes.
    pub nodes: Vec<FlowNode>,
    /// Every sequence flow, including those nested in sub-processes.
    pub flows: Vec<SequenceFlow>,
    /// Elements that are accepted but never executed: data objects, stores, annotations,
    /// associations, groups. Kept only by id so duplicate-id checks see them.
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Artifact {
    pub id: String,
    pub element: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Lane {
    pub id: String,
    pub name: Option<String>,
    pub flow_node_refs: Vec<String>,
    pub properties: Vec<Property>,
    /// Id of the enclosing lane, for nested lane sets.
    pub parent: Option<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Property {
    pub name: String,
    pub value: String,
}

/// `<sequenceFlow>`. `source`/`target` are resolved indices; the parser reports a
/// dangling reference as an error instead of producing a flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SequenceFlow {
    pub id: String,
    pub name: Option<String>,
    pub source: NodeIdx,
    pub target: NodeIdx,
    pub condition: Option<Expr>,
    pub pos: Pos,
}

/// Any flow node: event, activity or gateway.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowNode {
    pub id: String,
    pub name: Option<String>,
    pub kind: NodeKind,
    /// The enclosing sub-process, `None` at process level.
    pub parent: Option<NodeIdx>,
    pub incoming: Vec<FlowIdx>,
    pub outgoing: Vec<FlowIdx>,
    /// Boundary events attached to this activity.
    pub boundaries: Vec<NodeIdx>,
    /// `default` attribute of gateways and activities.
    pub default_flow: Option<FlowIdx>,
    pub ext: Extensions,
    pub multi_instance: Option<MultiInstance>,
    /// `standardLoopCharacteristics` present (modelled, not executable).
    pub standard_loop: bool,
    pub pos: Pos,
    /// `messageRef` attribute of a receive or send task (events keep theirs in
    /// [`EventTrigger::Message`]).
    #[serde(default)]
    pub message_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NodeKind {
    StartEvent {
        trigger: EventTrigger,
        /// `isInterrupting`; only meaningful in event sub-processes.
        interrupting: bool,
    },
    EndEvent {
        trigger: EventTrigger,
    },
    IntermediateCatchEvent {
        trigger: EventTrigger,
    },
    IntermediateThrowEvent {
        trigger: EventTrigger,
    },
    BoundaryEvent {
        attached_to: NodeIdx,
        trigger: EventTrigger,
        cancel_activity: bool,
    },
    Task(TaskKind),
    SubProcess(SubProcessKind),
    CallActivity,
    Gateway(GatewayKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// Plain `<task>` (undefined task): passes straight through.
    Task,
    User,
    Service,
    Send,
    Receive,
    Manual,
    Script,
    BusinessRule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubProcessKind {
    Embedded,
    /// `triggeredByEvent="true"`.
    Event,
    Transaction,
    AdHoc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GatewayKind {
    Exclusive,
    Parallel,
    Inclusive,
    EventBased,
    Complex,
}

/// What an event reacts to or throws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventTrigger {
    None,
    /// `messageRef` of the event definition, or of a receive/send task.
    Message {
        message_ref: Option<String>,
    },
    Timer(TimerDef),
    Error {
        error_ref: Option<String>,
    },
    Escalation {
        escalation_ref: Option<String>,
    },
    Signal {
        signal_ref: Option<String>,
    },
    Conditional {
        condition: Option<Expr>,
    },
    /// Link catch/throw pair, matched by `name`.
    Link {
        name: Option<String>,
    },
    Terminate,
    Compensate,
    Cancel,
    /// More than one event definition on one event (BPMN "multiple"/"parallel multiple").
    Multiple {
        triggers: Vec<EventTrigger>,
        parallel: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerKind {
    /// `timeDuration`, e.g. `P7D`.
    Duration,
    /// `timeDate`, e.g. `2026-12-01T08:00:00Z`.
    Date,
    /// `timeCycle`, e.g. `R3/PT10M`.
    Cycle,
}

/// `<timerEventDefinition>`; `expr` is `None` when a modelling tool left it empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerDef {
    pub kind: Option<TimerKind>,
    pub expr: Option<Expr>,
}

/// One input or output mapping (`zeebe:input`/`zeebe:output`,
/// `camunda:inputParameter`/`camunda:outputParameter`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    /// The expression (Zeebe: `source`; Camunda 7: the parameter's text content).
    pub source: Expr,
    /// The variable written (Zeebe: `target`; Camunda 7: `name`).
    pub target: String,
}

/// Call activity target: `calledElement` attribute or `zeebe:calledElement`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalledElement {
    /// Process id, possibly a FEEL expression.
    pub process_id: String,
    /// Zeebe `propagateAllChildVariables` (default true).
    pub propagate_all_child_variables: bool,
    pub propagate_all_parent_variables: bool,
    pub pos: Pos,
}

/// Script of a script task: a FEEL expression (`zeebe:script`) or inline script text
/// (`<script>` with `scriptFormat`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Script {
    /// Lower-cased `scriptFormat`, or `feel` for `zeebe:script`.
    pub format: String,
    pub body: Expr,
    pub result_variable: Option<String>,
}

/// Engine extension data, normalised across the Camunda 7 (`camunda:`) and Camunda 8
/// (`zeebe:`) dialects. Values stay as written (literal or expression).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extensions {
    pub assignee: Option<Expr>,
    pub candidate_groups: Option<Expr>,
    pub candidate_users: Option<Expr>,
    pub due_date: Option<Expr>,
    pub follow_up_date: Option<Expr>,
    pub priority: Option<Expr>,
    pub form_key: Option<String>,
    /// Job/worker type: `zeebe:taskDefinition type`, `camunda:type`, `camunda:topic`,
    /// `camunda:class`, `camunda:delegateExpression` or `camunda:expression`.
    pub task_type: Option<Expr>,
    pub retries: Option<Expr>,
    /// `zeebe:taskHeaders`.
    pub headers: Vec<Property>,
    pub inputs: Vec<Mapping>,
    pub outputs: Vec<Mapping>,
    pub properties: Vec<Property>,
    pub called_element: Option<CalledElement>,
    pub script: Option<Script>,
    /// `zeebe:calledDecision decisionId` / `camunda:decisionRef`.
    pub called_decision: Option<String>,
    /// Result variable of script / business-rule / called-decision tasks.
    pub result_variable: Option<String>,
    /// Vendor extension elements that were seen but not understood, e.g.
    /// `camunda:executionListener`, so `--executable` can name them.
    pub unsupported: Vec<String>,
}

/// `<multiInstanceLoopCharacteristics>` with Zeebe or Camunda 7 details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiInstance {
    pub sequential: bool,
    pub input_collection: Option<Expr>,
    pub input_element: Option<String>,
    pub output_collection: Option<String>,
    pub output_element: Option<Expr>,
    pub loop_cardinality: Option<Expr>,
    pub completion_condition: Option<Expr>,
    pub pos: Pos,
}

impl Process {
    /// The node with this id, if any.
    pub fn node_index(&self, id: &str) -> Option<NodeIdx> {
        self.nodes.iter().position(|n| n.id == id)
    }

    /// Direct children of a scope (`None` = process level).
    pub fn children(&self, scope: Option<NodeIdx>) -> impl Iterator<Item = NodeIdx> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(move |(_, n)| n.parent == scope)
            .map(|(i, _)| i)
    }
}

impl FlowNode {
    /// The `stage` property (see `docs/process-modelling.md`), if declared on this node.
    pub fn stage(&self) -> Option<&str> {
        stage_of(&self.ext.properties)
    }
}

/// The `stage` property in a list of `zeebe:properties`/`camunda:properties`.
pub fn stage_of(props: &[Property]) -> Option<&str> {
    props
        .iter()
        .find(|p| p.name == "stage")
        .map(|p| p.value.as_str())
}
