//! The streaming pass: quick-xml events -> raw model with unresolved references.
//!
//! Nesting is tracked with an explicit stack of [`Frame`]s rather than recursion, so a
//! deeply nested hostile document cannot overflow the call stack; subtrees we ignore
//! (DI, vendor extensions, documentation) only bump a counter.

use std::collections::HashMap;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use super::xml::Positions;
use super::{BPMN_NS, CAMUNDA_NS, MAX_DEPTH, ZEEBE_NS};
use crate::error::{Diagnostic, DiagnosticCode};
use crate::model::{Definitions, EventTrigger, Expr, Pos, Process, TimerKind};

/// Which vocabulary an element or attribute belongs to; everything else is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    /// Unprefixed attributes, and elements/attributes in the BPMN model namespace.
    Bpmn,
    Camunda,
    Zeebe,
    Other,
}

/// The attributes of one start tag, unescaped.
#[derive(Debug, Default)]
pub(crate) struct Attrs(Vec<(Ns, String, String)>);

impl Attrs {
    fn lookup(&self, ns: Ns, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, k, _)| *n == ns && k == name)
            .map(|(_, _, v)| v.as_str())
    }
    /// A BPMN (unprefixed) attribute.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.lookup(Ns::Bpmn, name)
    }
    pub(crate) fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }
    pub(crate) fn camunda(&self, name: &str) -> Option<&str> {
        self.lookup(Ns::Camunda, name)
    }
    /// An `xsd:boolean` attribute; anything unreadable falls back to the default, as
    /// modelling tools do.
    pub(crate) fn flag(&self, name: &str, default: bool) -> bool {
        match self.get(name).map(str::trim) {
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            _ => default,
        }
    }
}

/// One element as the builder sees it.
pub(crate) struct Element<'e> {
    pub ns: Ns,
    pub local: &'e str,
    pub attrs: Attrs,
    pub pos: Pos,
}

/// Where the extension elements of an `extensionElements` block belong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    Process(usize),
    Node(usize, usize),
    Lane(usize, usize),
    Message(usize),
    MultiInstance(usize, usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MiField {
    Cardinality,
    Completion,
}

/// Extension containers whose children are list entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    ZeebeIoMapping,
    ZeebeTaskHeaders,
    ZeebeProperties,
    CamundaInputOutput,
    CamundaProperties,
}

/// What an open element means; indices point into the builder's arenas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Definitions,
    Process(usize),
    Node(usize, usize),
    Flow(usize, usize),
    FlowCondition {
        p: usize,
        f: usize,
        language: Option<String>,
    },
    EventDef(usize, usize),
    TimerValue(usize, usize, TimerKind),
    EventCondition {
        p: usize,
        n: usize,
        language: Option<String>,
    },
    Script {
        p: usize,
        n: usize,
        format: String,
    },
    LaneSet(usize, Option<String>),
    Lane(usize, usize),
    FlowNodeRef(usize, usize),
    Collaboration(usize),
    Message(usize),
    MultiInstance(usize, usize),
    MiExpr {
        p: usize,
        n: usize,
        field: MiField,
        language: Option<String>,
    },
    Ext(Owner),
    ExtContainer(Owner, Container),
    CamundaParam {
        owner: Owner,
        name: String,
        output: bool,
        nested: bool,
    },
}

/// An open element we care about, with its text when the meaning needs it.
#[derive(Debug)]
pub(crate) struct Frame {
    pub kind: Kind,
    pub pos: Pos,
    pub text: Option<String>,
}

impl Frame {
    pub(crate) fn new(kind: Kind, pos: Pos) -> Self {
        Self {
            kind,
            pos,
            text: None,
        }
    }
    pub(crate) fn with_text(kind: Kind, pos: Pos) -> Self {
        Self {
            kind,
            pos,
            text: Some(String::new()),
        }
    }
}

/// Per-node data that only matters until references are resolved.
#[derive(Debug, Default)]
pub(crate) struct NodeExtra {
    pub attached_to: Option<String>,
    pub default_flow: Option<String>,
    pub triggers: Vec<EventTrigger>,
    pub parallel_multiple: bool,
    /// `scriptFormat` of a script task, lower-cased, for its `<script>` child.
    pub script_format: Option<String>,
}

#[derive(Debug)]
pub(crate) struct RawFlow {
    pub id: String,
    pub name: Option<String>,
    pub source: String,
    pub target: String,
    pub condition: Option<Expr>,
    pub pos: Pos,
}

#[derive(Debug, Default)]
pub(crate) struct RawProcess {
    pub process: Process,
    /// Parallel to `process.nodes`.
    pub extra: Vec<NodeExtra>,
    pub flows: Vec<RawFlow>,
}

/// First occurrence of an id: where, and on what element (for duplicate reports).
#[derive(Debug)]
pub(crate) struct IdInfo {
    pub pos: Pos,
    pub element: String,
}

pub(crate) struct Builder {
    pub defs: Definitions,
    pub procs: Vec<RawProcess>,
    pub ids: HashMap<String, IdInfo>,
    pub diags: Vec<Diagnostic>,
    stack: Vec<Frame>,
}

/// Reads the whole document. `Err` is a fatal problem (not XML, not BPMN, refused);
/// otherwise the builder may still carry non-fatal diagnostics.
pub(crate) fn read(text: &str, positions: &Positions<'_>) -> Result<Builder, Diagnostic> {
    let mut reader = NsReader::from_str(text);
    let mut b = Builder {
        defs: Definitions::default(),
        procs: Vec::new(),
        ids: HashMap::new(),
        diags: Vec::new(),
        stack: Vec::new(),
    };
    let mut depth = 0usize;
    let mut skip = 0usize;
    let mut seen_root = false;
    let malformed = |reader: &NsReader<&[u8]>, e: &dyn std::fmt::Display| {
        let at = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
        Diagnostic::new(
            DiagnosticCode::MalformedXml,
            positions.pos(at),
            format!(
                "the document is not well-formed XML ({e}); fix the XML syntax at this position"
            ),
        )
    };
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let pos = positions.pos(before);
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ns, ev)) => (classify(&ns), ev),
            Err(e) => {
                if text
                    .get(before..)
                    .is_some_and(|rest| rest.trim_start().starts_with("<!ENTITY"))
                {
                    return Err(doctype(pos));
                }
                return Err(malformed(&reader, &e));
            }
        };
        match event {
            Event::DocType(_) => return Err(doctype(pos)),
            Event::Start(_) | Event::Empty(_) if depth >= MAX_DEPTH => {
                return Err(Diagnostic::new(
                    DiagnosticCode::TooLarge,
                    pos,
                    format!(
                        "elements are nested more than {MAX_DEPTH} levels deep; no BPMN model needs that"
                    ),
                ));
            }
            Event::Start(ref start) | Event::Empty(ref start) => {
                let is_empty = matches!(event, Event::Empty(_));
                let el = element(&reader, ns, start, pos).map_err(|e| malformed(&reader, &e))?;
                if !seen_root {
                    seen_root = true;
                    check_root(&el)?;
                    b.header(&el);
                    if !is_empty {
                        b.stack.push(Frame::new(Kind::Definitions, pos));
                        depth += 1;
                    }
                    continue;
                }
                if el.ns == Ns::Bpmn
                    && let Some(id) = el.attrs.get("id")
                {
                    b.register_id(id, el.local, pos);
                }
                if !is_empty {
                    depth += 1;
                }
                if skip > 0 {
                    if !is_empty {
                        skip += 1;
                    }
                    continue;
                }
                match b.open(&el) {
                    Some(frame) if is_empty => b.close(frame),
                    Some(frame) => b.stack.push(frame),
                    None if is_empty => {}
                    None => skip = 1,
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if skip > 0 {
                    skip -= 1;
                } else if let Some(frame) = b.stack.pop() {
                    b.close(frame);
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content().map_err(|e| malformed(&reader, &e))?;
                if skip == 0 {
                    b.push_text(&s);
                }
            }
            Event::CData(t) => {
                let s = t.xml10_content().map_err(|e| malformed(&reader, &e))?;
                if skip == 0 {
                    b.push_text(&s);
                }
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| malformed(&reader, &e))?;
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => s.to_owned(),
                        None => return Err(unknown_entity(pos, &name)),
                    },
                    Err(e) => return Err(malformed(&reader, &e)),
                };
                if skip == 0 {
                    b.push_text(&resolved);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if !seen_root {
        return Err(Diagnostic::new(
            DiagnosticCode::MalformedXml,
            Pos { line: 1, col: 1 },
            "the document contains no XML element; a BPMN file starts with <definitions>",
        ));
    }
    if depth > 0 {
        return Err(Diagnostic::new(
            DiagnosticCode::MalformedXml,
            positions.pos(text.len()),
            format!(
                "the document ends while {depth} element(s) are still open: the file is truncated"
            ),
        ));
    }
    Ok(b)
}

fn classify(ns: &ResolveResult<'_>) -> Ns {
    match ns {
        ResolveResult::Bound(n) if n.0 == BPMN_NS.as_bytes() => Ns::Bpmn,
        ResolveResult::Bound(n) if n.0 == CAMUNDA_NS.as_bytes() => Ns::Camunda,
        ResolveResult::Bound(n) if n.0 == ZEEBE_NS.as_bytes() => Ns::Zeebe,
        _ => Ns::Other,
    }
}

fn element<'e>(
    reader: &NsReader<&[u8]>,
    ns: Ns,
    start: &'e BytesStart<'_>,
    pos: Pos,
) -> Result<Element<'e>, quick_xml::Error> {
    let local = std::str::from_utf8(start.local_name().into_inner()).unwrap_or("");
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr?;
        let (resolved, name) = reader.resolve_attribute(attr.key);
        let attr_ns = match resolved {
            ResolveResult::Unbound => Ns::Bpmn,
            other => classify(&other),
        };
        if attr_ns == Ns::Other {
            continue;
        }
        let key = String::from_utf8_lossy(name.into_inner()).into_owned();
        let value = attr
            .decode_and_unescape_value(reader.decoder())?
            .into_owned();
        attrs.push((attr_ns, key, value));
    }
    Ok(Element {
        ns,
        local,
        attrs: Attrs(attrs),
        pos,
    })
}

fn check_root(el: &Element<'_>) -> Result<(), Diagnostic> {
    if el.ns == Ns::Bpmn && el.local == "definitions" {
        return Ok(());
    }
    let found = if el.ns == Ns::Other {
        format!("<{}> (not in the BPMN 2.0 model namespace)", el.local)
    } else {
        format!("<{}>", el.local)
    };
    Err(Diagnostic::new(
        DiagnosticCode::NotBpmn,
        el.pos,
        format!(
            "this is not a BPMN 2.0 document: the root element is {found}; it must be \
             <definitions> in the namespace {BPMN_NS} (declare it with xmlns=\"{BPMN_NS}\" \
             or a prefix bound to it)"
        ),
    ))
}

fn doctype(pos: Pos) -> Diagnostic {
    Diagnostic::new(
        DiagnosticCode::Doctype,
        pos,
        "DOCTYPE and entity declarations are refused (XXE / entity expansion); \
         remove the <!DOCTYPE ...> from the file",
    )
}

fn unknown_entity(pos: Pos, name: &str) -> Diagnostic {
    Diagnostic::new(
        DiagnosticCode::MalformedXml,
        pos,
        format!(
            "unknown entity reference &{name};: only &lt; &gt; &amp; &apos; &quot; and \
             character references (&#...;) are allowed"
        ),
    )
}

impl Builder {
    fn header(&mut self, el: &Element<'_>) {
        let a = &el.attrs;
        self.defs.id = a.owned("id");
        self.defs.name = a.owned("name");
        self.defs.target_namespace = a.owned("targetNamespace");
        self.defs.exporter = a.owned("exporter");
        self.defs.exporter_version = a.owned("exporterVersion");
        if let Some(id) = a.get("id") {
            self.register_id(id, el.local, el.pos);
        }
    }

    fn register_id(&mut self, id: &str, element: &str, pos: Pos) {
        if let Some(first) = self.ids.get(id) {
            self.diags.push(
                Diagnostic::new(
                    DiagnosticCode::DuplicateId,
                    pos,
                    format!(
                        "<{element}> uses the id '{id}', which the <{}> on line {} already \
                         uses; ids must be unique in the document, rename one of them",
                        first.element, first.pos.line
                    ),
                )
                .at(id),
            );
        } else {
            self.ids.insert(
                id.to_owned(),
                IdInfo {
                    pos,
                    element: element.to_owned(),
                },
            );
        }
    }

    fn push_text(&mut self, s: &str) {
        if let Some(text) = self.stack.last_mut().and_then(|f| f.text.as_mut()) {
            text.push_str(s);
        }
    }

    /// The frame for a child element, or `None` to ignore its subtree.
    fn open(&mut self, el: &Element<'_>) -> Option<Frame> {
        let parent = self.stack.last()?.kind.clone();
        match parent {
            Kind::Ext(owner) => self.open_extension(owner, el),
            Kind::ExtContainer(owner, c) => self.open_ext_entry(owner, c, el),
            Kind::CamundaParam { .. } => {
                // camunda:list / map / script inside a parameter: not a plain expression.
                if let Some(Frame {
                    kind: Kind::CamundaParam { nested, .. },
                    ..
                }) = self.stack.last_mut()
                {
                    *nested = true;
                }
                None
            }
            _ if el.ns != Ns::Bpmn => None,
            other => self.open_bpmn(other, el),
        }
    }

    pub(crate) fn missing(&mut self, el: &Element<'_>, attr: &str, what: &str) {
        let mut d = Diagnostic::new(
            DiagnosticCode::MissingAttribute,
            el.pos,
            format!("<{}> has no '{attr}' attribute; {what}", el.local),
        );
        if let Some(id) = el.attrs.get("id") {
            d = d.at(id);
        }
        self.diags.push(d);
    }
}

/// A trimmed expression, or `None` when a tool left it empty.
pub(crate) fn expr_of(text: Option<String>, language: Option<String>, pos: Pos) -> Option<Expr> {
    let text = text?;
    let text = text.trim();
    (!text.is_empty()).then(|| Expr {
        text: text.to_owned(),
        language,
        pos,
    })
}

/// An attribute value as an expression.
pub(crate) fn attr_expr(value: Option<&str>, pos: Pos) -> Option<Expr> {
    expr_of(value.map(str::to_owned), None, pos)
}
