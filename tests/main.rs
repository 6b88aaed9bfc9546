//! End-to-end tests of the `recobro` binary (one test binary).

mod bench;
mod cli;
mod compliance;
mod contact_crash;
mod crash;
mod documents;
mod portal;
mod replay;
mod serve;
mod strategy;
mod token;
