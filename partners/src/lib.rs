//! Partner organisations — collection agencies and law firms — and the cases placed with
//! them: registering partners, placing a case, the partner's acceptance or return, the
//! creditor's recall, the partner's activities on the case.
//!
//! Every operation is authorised against the caller's [`Principal`] with the desk's
//! role table, and every change to a case is a journalled fact recorded through the
//! case runtime, so placements are part of the tamper-evident case history. Which cases
//! a partner may reach at all (only those placed with it) is the desk's rule, in
//! `services`, because every entry point needs it.
//!
//! Depends on `services` (the desk and the case runtime) and `orm` (its table).
//!
//! [`Principal`]: services::access::Principal

pub mod allocation;
pub mod bulk;
pub mod commissions;
pub mod csv_reports;
pub mod disclosure;
pub mod jobs;
mod organisations;
pub mod partner_api;
mod placements;
pub mod remittances;
pub mod statement_files;
pub mod webhooks;

pub use organisations::{NewPartner, PARTNER_KINDS, Partner};

use services::desk::Desk;

/// Partner organisations and placements; cheap to clone.
#[derive(Clone, Debug)]
pub struct Partners {
    desk: Desk,
}

impl Partners {
    pub fn new(desk: Desk) -> Self {
        Partners { desk }
    }
}
