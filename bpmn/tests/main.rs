//! Integration tests of the bpmn crate (one test binary).
mod corpus;
mod golden;
mod props;
