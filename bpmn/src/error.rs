//! Diagnostics a modeller can act on: where (line:column, element id), what (a stable
//! code) and why (a sentence).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::Pos;

/// Stable machine-readable codes; the API exposes them, so never renumber or rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DiagnosticCode {
    /// Input larger than the accepted limit.
    TooLarge,
    /// DOCTYPE or entity declaration (refused: XXE / entity expansion).
    Doctype,
    /// Not well-formed XML, or an unsupported/undecodable encoding.
    MalformedXml,
    /// Root element is not BPMN 2.0 `definitions`.
    NotBpmn,
    /// A required attribute is missing (e.g. `id`, `attachedToRef`).
    MissingAttribute,
    /// Two elements share one id.
    DuplicateId,
    /// A reference (`sourceRef`, `targetRef`, `attachedToRef`, `default`, `messageRef`,
    /// `processRef`, ...) names no element of the right kind.
    DanglingReference,
    /// The flow graph is malformed (gateway without outgoing flow, flow crossing a
    /// sub-process boundary, start event with incoming flow, ...).
    InvalidStructure,
    /// An element or attribute that Recobro does not execute, in an executable process.
    Unsupported,
    /// An expression that does not parse, or uses a language Recobro refuses.
    InvalidExpression,
    /// A timer value that is not ISO 8601 (or a valid FEEL timer expression).
    InvalidTimer,
}

impl DiagnosticCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "TOO_LARGE",
            Self::Doctype => "DOCTYPE",
            Self::MalformedXml => "MALFORMED_XML",
            Self::NotBpmn => "NOT_BPMN",
            Self::MissingAttribute => "MISSING_ATTRIBUTE",
            Self::DuplicateId => "DUPLICATE_ID",
            Self::DanglingReference => "DANGLING_REFERENCE",
            Self::InvalidStructure => "INVALID_STRUCTURE",
            Self::Unsupported => "UNSUPPORTED",
            Self::InvalidExpression => "INVALID_EXPRESSION",
            Self::InvalidTimer => "INVALID_TIMER",
        }
    }
}

/// One problem in a BPMN document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub code: DiagnosticCode,
    pub pos: Pos,
    /// The id of the offending element, when it has one.
    pub element_id: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(code: DiagnosticCode, pos: Pos, message: impl Into<String>) -> Self {
        Self {
            code,
            pos,
            element_id: None,
            message: message.into(),
        }
    }

    pub fn at(mut self, element_id: impl Into<String>) -> Self {
        self.element_id = Some(element_id.into());
        self
    }
}

/// `LINE:COL: [ELEMENT-ID] message` — the CLI prefixes the file name.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.pos.line, self.pos.col)?;
        if let Some(id) = &self.element_id {
            write!(f, "element '{id}': ")?;
        }
        f.write_str(&self.message)
    }
}

/// All problems found in one document, in source order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Self(vec![d])
    }
}

impl Diagnostics {
    /// The first problem in source order (what a one-line report shows).
    pub fn first(&self) -> Option<&Diagnostic> {
        self.0.iter().min_by_key(|d| d.pos)
    }
}
