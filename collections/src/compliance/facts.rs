//! What the gate is asked and what it knows: the contact wanted, and the debtor as the
//! rules see it — where they may be, what protects them, what consents they gave, and
//! every contact made before.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::debtor::{Channel, Contact, Country, Flags, Relationship};

/// Who is to be contacted about the debt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    Debtor,
    Party(Relationship),
}

/// The contact asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub channel: Channel,
    pub recipient: Recipient,
}

/// A contact made before, as the frequency and conversation rules count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastContact {
    pub at: DateTime<Utc>,
    pub channel: Channel,
    /// About the debt (case) the contact asked for is about, rather than another debt
    /// of the same debtor.
    pub same_debt: bool,
    /// The debtor was reached and talked (Regulation F's "conversation").
    pub conversation: bool,
}

/// The debtor as the rules see it at the moment of the question.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The country whose law governs the debtor.
    pub country: Country,
    pub creditor: &'a str,
    /// Every zone the debtor may be in (`debtor::candidate_zones`).
    pub zones: &'a [Tz],
    pub flags: &'a Flags,
    /// The contact point the contact would use, with its consents.
    pub contact: Option<&'a Contact>,
    /// Every contact of the debtor made up to the instant asked about, oldest first
    /// (one made at that very instant counts: it was made first).
    pub history: &'a [PastContact],
}
