//! Channels and consents: may this contact point be used on this channel at this
//! instant?
//!
//! Each contact point keeps its own consents, one record per channel given, with when,
//! how and by whom it was given and, once revoked, when and by whom. Records are never
//! deleted or edited: a revocation is added to its record, so the history answers for any
//! past instant too (an auditor's "was this SMS authorised when it was sent?"). Whether a
//! jurisdiction requires a consent for a channel at all is the rule packs' question; this
//! answers whether one was in force.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::contact::{ContactKind, ContactPoint};
use super::{DebtorError, not_blank};

/// A way of contacting someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Call,
    Sms,
    WhatsApp,
    Email,
    Letter,
    Visit,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::Call,
        Channel::Sms,
        Channel::WhatsApp,
        Channel::Email,
        Channel::Letter,
        Channel::Visit,
    ];

    /// The kind of contact point the channel uses: calls, SMS and WhatsApp a phone,
    /// e-mail an address, letters and visits a postal address.
    pub fn uses(self) -> ContactKind {
        match self {
            Channel::Call | Channel::Sms | Channel::WhatsApp => ContactKind::Phone,
            Channel::Email => ContactKind::Email,
            Channel::Letter | Channel::Visit => ContactKind::Postal,
        }
    }
}

/// How a consent was given: what the evidence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentMethod {
    /// A signed or written statement (letter, form on paper).
    Written,
    /// Said on a call that was recorded.
    RecordedCall,
    /// A web form or a self-service portal.
    WebForm,
    /// A clause of the credit contract.
    ContractClause,
    /// An e-mail or message from the debtor's own address or number.
    Message,
    /// In person, before an agent or at a branch.
    InPerson,
}

/// Which contact of a debtor: its position in the order contacts were added, never
/// reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContactId(pub u32);

/// Which consent of a contact: its position in the contact's record, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConsentId(pub u32);

/// Who withdrew a consent, and when.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Revocation {
    pub at: DateTime<Utc>,
    pub by: String,
}

/// One consent for one channel on one contact point.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Consent {
    pub id: ConsentId,
    pub channel: Channel,
    pub given_at: DateTime<Utc>,
    pub how: ConsentMethod,
    /// Who gave it: the debtor, or who acts for them (attorney, guardian).
    pub given_by: String,
    pub revoked: Option<Revocation>,
}

impl Consent {
    /// In force at `at`: given at or before it, and not revoked at or before it.
    pub fn in_force(&self, at: DateTime<Utc>) -> bool {
        self.given_at <= at && self.revoked.as_ref().is_none_or(|r| at < r.at)
    }
}

/// A contact point and its consents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub point: ContactPoint,
    consents: Vec<Consent>,
}

impl Contact {
    pub fn new(id: ContactId, point: ContactPoint) -> Contact {
        Contact {
            id,
            point,
            consents: Vec::new(),
        }
    }

    /// Every consent recorded, revoked ones included, in the order recorded.
    pub fn consents(&self) -> &[Consent] {
        &self.consents
    }

    /// Records a consent for `channel`, which must use this kind of contact point (no
    /// SMS to an e-mail address), given by someone named.
    pub fn give(
        &mut self,
        channel: Channel,
        given_at: DateTime<Utc>,
        how: ConsentMethod,
        given_by: &str,
    ) -> Result<ConsentId, DebtorError> {
        let kind = self.point.kind();
        if channel.uses() != kind {
            return Err(DebtorError::ChannelNotForContact { channel, kind });
        }
        let given_by = not_blank(given_by, "who gave the consent")?;
        let id = ConsentId(u32::try_from(self.consents.len()).unwrap_or(u32::MAX));
        self.consents.push(Consent {
            id,
            channel,
            given_at,
            how,
            given_by,
            revoked: None,
        });
        Ok(id)
    }

    /// Revokes a consent from `at` on. A consent is revoked once; it cannot be revoked
    /// before it was given (at the same instant is fine: it was then never in force).
    pub fn revoke(
        &mut self,
        consent: ConsentId,
        at: DateTime<Utc>,
        by: &str,
    ) -> Result<(), DebtorError> {
        let by = not_blank(by, "who revoked the consent")?;
        let record = self
            .consents
            .iter_mut()
            .find(|c| c.id == consent)
            .ok_or(DebtorError::UnknownConsent(consent))?;
        if let Some(done) = &record.revoked {
            return Err(DebtorError::ConsentAlreadyRevoked {
                consent,
                at: done.at,
            });
        }
        if at < record.given_at {
            return Err(DebtorError::RevokedBeforeGiven {
                consent,
                given_at: record.given_at,
                at,
            });
        }
        record.revoked = Some(Revocation { at, by });
        Ok(())
    }

    /// Whether `channel` is authorised on this contact point at `at`: some consent for
    /// it is in force then. A channel this kind of point cannot carry never is.
    pub fn authorised(&self, channel: Channel, at: DateTime<Utc>) -> bool {
        self.consents
            .iter()
            .any(|c| c.channel == channel && c.in_force(at))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::debtor::contact::Phone;
    use crate::debtor::email::Email;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn phone() -> Contact {
        Contact::new(
            ContactId(0),
            ContactPoint::Phone(Phone::parse("+573101234567", None).unwrap()),
        )
    }

    #[test]
    fn a_consent_authorises_its_channel_from_given_until_revoked() {
        let mut c = phone();
        let sms = c
            .give(Channel::Sms, t(10), ConsentMethod::WebForm, "the debtor")
            .unwrap();
        assert!(!c.authorised(Channel::Sms, t(9)));
        assert!(c.authorised(Channel::Sms, t(10)));
        assert!(!c.authorised(Channel::Call, t(10)), "only its own channel");
        c.revoke(sms, t(20), "the debtor").unwrap();
        assert!(c.authorised(Channel::Sms, t(19)));
        assert!(!c.authorised(Channel::Sms, t(20)));
        // A new consent after the revocation authorises again; the history stays.
        c.give(
            Channel::Sms,
            t(30),
            ConsentMethod::RecordedCall,
            "the debtor",
        )
        .unwrap();
        assert!(c.authorised(Channel::Sms, t(30)));
        assert!(!c.authorised(Channel::Sms, t(25)));
        assert_eq!(c.consents().len(), 2);
    }

    #[test]
    fn bad_consent_changes_are_refused() {
        let mut c = phone();
        assert_eq!(
            c.give(Channel::Email, t(0), ConsentMethod::Written, "the debtor"),
            Err(DebtorError::ChannelNotForContact {
                channel: Channel::Email,
                kind: ContactKind::Phone
            })
        );
        assert_eq!(
            c.give(Channel::Call, t(0), ConsentMethod::Written, " "),
            Err(DebtorError::Blank {
                field: "who gave the consent"
            })
        );
        assert_eq!(
            c.revoke(ConsentId(0), t(1), "the debtor"),
            Err(DebtorError::UnknownConsent(ConsentId(0)))
        );
        let call = c
            .give(
                Channel::Call,
                t(10),
                ConsentMethod::ContractClause,
                "the debtor",
            )
            .unwrap();
        assert_eq!(
            c.revoke(call, t(9), "the debtor"),
            Err(DebtorError::RevokedBeforeGiven {
                consent: call,
                given_at: t(10),
                at: t(9)
            })
        );
        assert_eq!(
            c.revoke(call, t(11), ""),
            Err(DebtorError::Blank {
                field: "who revoked the consent"
            })
        );
        c.revoke(call, t(11), "the debtor's attorney").unwrap();
        assert_eq!(
            c.revoke(call, t(12), "the debtor"),
            Err(DebtorError::ConsentAlreadyRevoked {
                consent: call,
                at: t(11)
            })
        );
        let mut e = Contact::new(
            ContactId(1),
            ContactPoint::Email(Email::parse("a@b.co").unwrap()),
        );
        assert!(
            e.give(Channel::Email, t(0), ConsentMethod::Message, "the debtor")
                .is_ok()
        );
        assert!(matches!(
            e.give(Channel::Letter, t(0), ConsentMethod::Message, "the debtor"),
            Err(DebtorError::ChannelNotForContact { .. })
        ));
    }

    /// A change to a contact's consents, as a test generates it.
    #[derive(Debug, Clone)]
    enum Change {
        Give(Channel, i64),
        Revoke(u32, i64),
    }

    fn change() -> impl Strategy<Value = Change> {
        let phone_channel =
            prop::sample::select(vec![Channel::Call, Channel::Sms, Channel::WhatsApp]);
        prop_oneof![
            (phone_channel, 0i64..50).prop_map(|(c, at)| Change::Give(c, at)),
            (0u32..6, 0i64..50).prop_map(|(id, at)| Change::Revoke(id, at)),
        ]
    }

    proptest! {
        /// The answer equals a brute-force replay: walk every instant from the start,
        /// switching each accepted consent on when given and off when revoked, and
        /// compare the channel's state at each instant.
        #[test]
        fn authorised_equals_a_replay_of_the_history(changes in prop::collection::vec(change(), 0..12)) {
            let mut c = phone();
            // (consent, channel, given, revoked) for the changes that were accepted.
            let mut accepted: Vec<(u32, Channel, i64, Option<i64>)> = Vec::new();
            for ch in &changes {
                match *ch {
                    Change::Give(channel, at) => {
                        let id = c.give(channel, t(at), ConsentMethod::Written, "the debtor").unwrap();
                        accepted.push((id.0, channel, at, None));
                    }
                    Change::Revoke(id, at) => {
                        let result = c.revoke(ConsentId(id), t(at), "the debtor");
                        match accepted.iter_mut().find(|a| a.0 == id) {
                            None => prop_assert_eq!(result, Err(DebtorError::UnknownConsent(ConsentId(id)))),
                            Some(a) if a.3.is_some() => { let ok = matches!(result, Err(DebtorError::ConsentAlreadyRevoked { .. })); prop_assert!(ok, "{:?}", result) },
                            Some(a) if at < a.2 => { let ok = matches!(result, Err(DebtorError::RevokedBeforeGiven { .. })); prop_assert!(ok, "{:?}", result) },
                            Some(a) => { prop_assert_eq!(result, Ok(())); a.3 = Some(at); }
                        }
                    }
                }
            }
            for channel in [Channel::Call, Channel::Sms, Channel::WhatsApp, Channel::Email] {
                let mut on: std::collections::BTreeSet<u32> = Default::default();
                for instant in -1i64..52 {
                    for (id, ch, given, revoked) in &accepted {
                        if *ch == channel && *given == instant { on.insert(*id); }
                        if *ch == channel && *revoked == Some(instant) { on.remove(id); }
                    }
                    prop_assert_eq!(c.authorised(channel, t(instant)), !on.is_empty(), "{:?} at {}", channel, instant);
                }
            }
        }
    }
}
