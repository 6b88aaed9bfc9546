//! The collections domain, as pure functions and values: what a collections operation
//! knows and decides, apart from the process (`bpmn`) and apart from any IO.
//!
//! Boundaries, the same as `bpmn`'s:
//! - no IO, no database, no network, no threads, no randomness;
//! - no clock: the time ("now", a debtor's local time) comes in as an argument, so the
//!   same inputs always give the same answer — in a case actor, in replay and in a
//!   simulation on a virtual clock;
//! - no workspace crate below it: `services` persists and drives what is decided here,
//!   the API layer only translates.
//!
//! It owns today:
//! - [`money`]: exact amounts in whole minor units of an ISO 4217 currency;
//! - [`allocation`]: which parts of which debts a payment pays, and its reversal;
//! - [`ledger`]: a case's accounts, payments and credit, with days past due, and
//!   payments partners reported for the creditor to confirm;
//! - [`creditor`]: a creditor's settings (allocation order, grace, settlement limit,
//!   the zone its deadlines end in, whether partners take payments) and deadline days;
//! - [`schedule`]: the exact schedule of an installment plan;
//! - [`promise`]: whether a promise to pay is open, kept or broken;
//! - [`agenda`]: how urgent a collector's task is (the rank the agenda sorts by) and why;
//! - [`debtor`]: debtors, their contact points with per-channel consent histories, their
//!   candidate time zones, flags with history and related parties;
//! - [`contact`]: contact attempts (channel, template version, destination, delivery
//!   status, outcome) and how destinations are masked in logs;
//! - [`template`]: message templates rendered strictly (a missing variable is an error);
//! - [`holidays`]: public holidays of CO, MX, CL, ES and the US in 2020–2040, generated
//!   from the `holidays` package; outside those an error, never a working day.
//!
//! - [`commission`]: partners' contracts (rates by stage or debt-age band, fees per
//!   legal milestone) and the priced lines and totals of their statements;
//! - [`compliance`]: the contact compliance gate: versioned rule packs per jurisdiction
//!   (and creditors' stricter policies), each decision with its reasons and the next
//!   lawful slot.

pub mod agenda;
pub mod allocation;
pub mod commission;
pub mod compliance;
pub mod contact;
pub mod creditor;
pub mod debtor;
pub mod disclosure;
pub mod holidays;
pub mod ledger;
pub mod money;
pub mod promise;
pub mod schedule;
pub mod template;
