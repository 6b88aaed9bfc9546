//! Flags that protect a debtor or stop collection, with their history.
//!
//! A flag is set and cleared by recorded changes (when, by whom, why), never by editing
//! a state: the history answers which flags were active at any instant, which is what an
//! auditor asks about a contact made last month. Each flag's changes are in time order
//! and alternate: setting a flag already set, or clearing one not set, is refused, as it
//! means the caller's picture of the debtor is stale.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DebtorError, not_blank};

/// What a flag says about the debtor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// The debtor disputes the debt: collection pauses until verification is sent
    /// (Regulation F §1006.38); it may not be reported to a registry (Spain).
    Dispute,
    /// The debtor asked in writing that communication stop (§1006.6(c)).
    CeaseCommunication,
    Deceased,
    Bankruptcy,
    /// The debtor is vulnerable (illness, age, hardship): contact with care, or not at
    /// all, as the creditor's policy says.
    Vulnerable,
}

/// Whether a change set or cleared its flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagChange {
    Set,
    Cleared,
}

/// One recorded change of one flag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FlagEvent {
    pub flag: FlagKind,
    pub change: FlagChange,
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
}

/// A debtor's flag history. Serialised as its list of changes, which is replayed and
/// checked when read back.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<FlagEvent>", into = "Vec<FlagEvent>")]
pub struct Flags {
    events: Vec<FlagEvent>,
}

impl Flags {
    /// Every change, in the order recorded.
    pub fn history(&self) -> &[FlagEvent] {
        &self.events
    }

    /// Sets `flag` from `at` on. Refused when it is already set at its latest change, or
    /// when `at` is before that change.
    pub fn set(
        &mut self,
        flag: FlagKind,
        at: DateTime<Utc>,
        by: &str,
        reason: &str,
    ) -> Result<(), DebtorError> {
        self.record(flag, FlagChange::Set, at, by, reason)
    }

    /// Clears `flag` from `at` on. Refused when it is not set at its latest change, or
    /// when `at` is before that change.
    pub fn clear(
        &mut self,
        flag: FlagKind,
        at: DateTime<Utc>,
        by: &str,
        reason: &str,
    ) -> Result<(), DebtorError> {
        self.record(flag, FlagChange::Cleared, at, by, reason)
    }

    fn record(
        &mut self,
        flag: FlagKind,
        change: FlagChange,
        at: DateTime<Utc>,
        by: &str,
        reason: &str,
    ) -> Result<(), DebtorError> {
        let last = self.events.iter().rev().find(|e| e.flag == flag);
        if let Some(last) = last
            && at < last.at
        {
            return Err(DebtorError::FlagOutOfOrder {
                flag,
                at,
                last: last.at,
            });
        }
        match (last, change) {
            (Some(l), FlagChange::Set) if l.change == FlagChange::Set => {
                return Err(DebtorError::FlagAlreadySet { flag, since: l.at });
            }
            (None, FlagChange::Cleared) => return Err(DebtorError::FlagNotSet { flag, at }),
            (Some(l), FlagChange::Cleared) if l.change == FlagChange::Cleared => {
                return Err(DebtorError::FlagNotSet { flag, at });
            }
            _ => {}
        }
        let by = not_blank(by, "who changed the flag")?;
        let reason = not_blank(reason, "the reason for the flag change")?;
        self.events.push(FlagEvent {
            flag,
            change,
            at,
            by,
            reason,
        });
        Ok(())
    }

    /// Whether `flag` is active at `at`: its latest change at or before `at` set it.
    pub fn is_active(&self, flag: FlagKind, at: DateTime<Utc>) -> bool {
        self.events
            .iter()
            .rev()
            .find(|e| e.flag == flag && e.at <= at)
            .is_some_and(|e| e.change == FlagChange::Set)
    }

    /// The flags active at `at`.
    pub fn active_flags(&self, at: DateTime<Utc>) -> BTreeSet<FlagKind> {
        let mut flags: Vec<FlagKind> = self.events.iter().map(|e| e.flag).collect();
        flags.sort();
        flags.dedup();
        flags
            .into_iter()
            .filter(|f| self.is_active(*f, at))
            .collect()
    }
}

impl TryFrom<Vec<FlagEvent>> for Flags {
    type Error = DebtorError;
    fn try_from(events: Vec<FlagEvent>) -> Result<Self, Self::Error> {
        let mut flags = Flags::default();
        for e in events {
            flags.record(e.flag, e.change, e.at, &e.by, &e.reason)?;
        }
        Ok(flags)
    }
}

impl From<Flags> for Vec<FlagEvent> {
    fn from(flags: Flags) -> Vec<FlagEvent> {
        flags.events
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn flags_are_active_between_set_and_clear() {
        let mut f = Flags::default();
        f.set(
            FlagKind::Dispute,
            t(10),
            "agent 7",
            "written dispute received",
        )
        .unwrap();
        f.set(FlagKind::Vulnerable, t(15), "agent 7", "hospitalised")
            .unwrap();
        f.clear(FlagKind::Dispute, t(20), "agent 9", "verification sent")
            .unwrap();
        assert!(f.active_flags(t(9)).is_empty());
        assert_eq!(
            f.active_flags(t(15)),
            BTreeSet::from([FlagKind::Dispute, FlagKind::Vulnerable])
        );
        assert_eq!(
            f.active_flags(t(20)),
            BTreeSet::from([FlagKind::Vulnerable])
        );
        assert_eq!(f.history().len(), 3);
        // Set again after the clear: a new period.
        f.set(FlagKind::Dispute, t(30), "agent 9", "second dispute")
            .unwrap();
        assert!(f.is_active(FlagKind::Dispute, t(30)));
        assert!(!f.is_active(FlagKind::Dispute, t(25)));
    }

    #[test]
    fn a_double_set_or_a_clear_of_nothing_is_refused() {
        let mut f = Flags::default();
        assert_eq!(
            f.clear(FlagKind::Deceased, t(1), "agent", "x"),
            Err(DebtorError::FlagNotSet {
                flag: FlagKind::Deceased,
                at: t(1)
            })
        );
        f.set(FlagKind::Bankruptcy, t(5), "agent", "chapter 7 notice")
            .unwrap();
        assert_eq!(
            f.set(FlagKind::Bankruptcy, t(6), "agent", "again"),
            Err(DebtorError::FlagAlreadySet {
                flag: FlagKind::Bankruptcy,
                since: t(5)
            })
        );
        assert_eq!(
            f.clear(FlagKind::Bankruptcy, t(4), "agent", "dismissed"),
            Err(DebtorError::FlagOutOfOrder {
                flag: FlagKind::Bankruptcy,
                at: t(4),
                last: t(5)
            })
        );
        f.clear(FlagKind::Bankruptcy, t(7), "agent", "dismissed")
            .unwrap();
        assert_eq!(
            f.clear(FlagKind::Bankruptcy, t(8), "agent", "again"),
            Err(DebtorError::FlagNotSet {
                flag: FlagKind::Bankruptcy,
                at: t(8)
            })
        );
        assert_eq!(
            f.set(FlagKind::CeaseCommunication, t(8), " ", "letter"),
            Err(DebtorError::Blank {
                field: "who changed the flag"
            })
        );
        assert_eq!(
            f.set(FlagKind::CeaseCommunication, t(8), "agent", ""),
            Err(DebtorError::Blank {
                field: "the reason for the flag change"
            })
        );
    }

    #[test]
    fn a_stored_history_is_checked_when_read_back() {
        let mut f = Flags::default();
        f.set(FlagKind::Dispute, t(1), "a", "b").unwrap();
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<Flags>(&json).unwrap(), f);
        let mut twice = f.history().to_vec();
        twice.extend(f.history().iter().cloned());
        let doubled = serde_json::to_string(&twice).unwrap();
        assert!(
            serde_json::from_str::<Flags>(&doubled).is_err(),
            "{doubled}"
        );
    }

    proptest! {
        /// Every accepted change keeps each flag's history alternating and in time
        /// order, and `active_flags` equals a replay of each flag's accepted changes.
        #[test]
        fn active_flags_equal_a_replay(changes in prop::collection::vec((0usize..5, any::<bool>(), 0i64..40), 0..20)) {
            let kinds = [FlagKind::Dispute, FlagKind::CeaseCommunication, FlagKind::Deceased, FlagKind::Bankruptcy, FlagKind::Vulnerable];
            let mut f = Flags::default();
            let mut accepted: Vec<(FlagKind, bool, i64)> = Vec::new();
            for (k, set, at) in changes {
                let flag = kinds[k];
                let result = if set { f.set(flag, t(at), "a", "r") } else { f.clear(flag, t(at), "a", "r") };
                let last = accepted.iter().rev().find(|a| a.0 == flag);
                let expected_ok = match last {
                    None => set,
                    Some(&(_, was_set, when)) => at >= when && was_set != set,
                };
                prop_assert_eq!(result.is_ok(), expected_ok, "{:?}", result);
                if expected_ok { accepted.push((flag, set, at)); }
            }
            for instant in -1i64..42 {
                let mut on = BTreeSet::new();
                for (flag, set, at) in &accepted {
                    if *at <= instant {
                        if *set { on.insert(*flag); } else { on.remove(flag); }
                    }
                }
                prop_assert_eq!(f.active_flags(t(instant)), on);
            }
        }
    }
}
