//! The contact compliance gate: may this debtor be contacted on this channel now, under
//! the law of their country and their creditor's policy — and if not, by which rule and
//! from when?
//!
//! - [`pack`]: rule packs, versioned data in TOML (one law or one creditor's policy),
//!   checked whole at load;
//! - [`facts`]: the contact asked for and what the gate knows of the debtor;
//! - [`gate`]: the decision, its reasons and the next lawful slot;
//! - `rules` and `local`: one rule's answer, and local time across clock changes.
//!
//! Pure, like the rest of the crate: the instant and every fact come in as arguments, so
//! a decision replays to the same answer years later under the pack version of its day.
//! The bundled packs are in `packs/`; see `docs/decisions/0022-compliance-gate.md`.

pub mod facts;
pub mod gate;
mod local;
pub mod pack;
mod rules;
#[cfg(test)]
mod tests;

pub use facts::{Facts, PastContact, Recipient, Request};
pub use gate::{BUNDLED, Basis, Block, Decision, Gate, GateRefusal, HORIZON_DAYS, PackRef};
pub use pack::{Authority, PackError, Rule, RulePack};
