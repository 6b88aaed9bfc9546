//! BPMN 2.0 for Recobro: parse real models (Camunda 7/8, bpmn.io, Signavio, ...) into a
//! typed model, validate them, compile executable processes and run them in a pure,
//! deterministic token interpreter.
//!
//! The steps are separate and typed: [`parse`] (XML -> [`model::Definitions`], structural
//! validation) -> [`compile`] (executability, expressions) -> [`engine`] (state machine).
//! Nothing in this crate does IO, reads a clock or draws random numbers.

pub mod compile;
pub mod engine;
pub mod error;
pub mod expr;
pub mod model;
pub mod parse;
pub mod simulate;
pub mod timer;
pub mod validate;

pub use error::{Diagnostic, DiagnosticCode, Diagnostics};
pub use parse::{MAX_DOCUMENT_BYTES, parse};
