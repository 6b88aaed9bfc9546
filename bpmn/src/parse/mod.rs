//! XML -> [`crate::model::Definitions`], streaming with quick-xml.
//!
//! Steps: size limit -> transcoding to UTF-8 ([`xml`]) -> one streaming pass that builds
//! the model with id references still as strings ([`reader`], [`elements`], [`ext`]) ->
//! reference resolution ([`resolve`]) -> [`crate::validate::structure`].

mod elements;
mod ext;
mod reader;
mod resolve;
mod xml;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ext;

use crate::error::{Diagnostic, DiagnosticCode, Diagnostics};
use crate::model::{Definitions, Pos};

/// Documents above this size are refused before parsing.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// Element nesting beyond this is refused: real models stay far below, and the limit
/// bounds the memory a hostile document can make the reader's stacks use.
pub(crate) const MAX_DEPTH: usize = 512;

pub(crate) const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
pub(crate) const CAMUNDA_NS: &str = "http://camunda.org/schema/1.0/bpmn";
pub(crate) const ZEEBE_NS: &str = "http://camunda.org/schema/zeebe/1.0";

/// Parses a BPMN 2.0 document and runs the structural validation of
/// [`crate::validate::structure`]. Never panics.
pub fn parse(xml: &[u8]) -> Result<Definitions, Diagnostics> {
    if xml.len() > MAX_DOCUMENT_BYTES {
        return Err(Diagnostic::new(
            DiagnosticCode::TooLarge,
            Pos { line: 1, col: 1 },
            format!(
                "the document is {} bytes, more than the limit of {MAX_DOCUMENT_BYTES} bytes \
                 ({} MiB); split the model into several files",
                xml.len(),
                MAX_DOCUMENT_BYTES / (1024 * 1024)
            ),
        )
        .into());
    }
    let text = xml::decode(xml)?;
    let positions = xml::Positions::new(&text);
    let builder = reader::read(&text, &positions)?;
    let (defs, mut diags) = resolve::resolve(builder);
    // Structural checks on a model with unresolved references would report follow-up
    // noise (a gateway "without outgoing flow" whose flow was dangling), so they run
    // only once the references are sound.
    if diags.is_empty() {
        diags = crate::validate::structure(&defs);
    }
    if diags.is_empty() {
        Ok(defs)
    } else {
        diags.sort_by_key(|d| d.pos);
        Err(Diagnostics(diags))
    }
}
