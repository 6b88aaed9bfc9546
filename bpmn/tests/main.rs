//! Integration tests of the bpmn crate (one test binary).
mod corpus;
