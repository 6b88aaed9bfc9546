//! Changes to a debtor, as recorded: the debtor is what its changes make it.
//!
//! A debtor's file is kept as the list of its changes (registered, contact added, consent
//! given, flag set, …), each checked against the debtor as it stood, so the file answers
//! who changed what and when, and a stored file that no longer replays is noticed. Every
//! instant and every actor comes in with the change: nothing here reads a clock.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::consent::{Channel, ConsentId, ConsentMethod, Contact, ContactId};
use super::contact::ContactPoint;
use super::flags::FlagKind;
use super::parties::{RelatedParty, Relationship};
use super::place::Jurisdiction;
use super::{Debtor, DebtorError, DebtorKind, LanguageTag, not_blank};

/// Whose contact point a change is about: the debtor's own, or a related party's (by its
/// position on the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum ContactOwner {
    #[default]
    Debtor,
    Party(u32),
}

/// One change to a debtor's file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum DebtorChange {
    /// The first change of every file.
    Registered {
        kind: DebtorKind,
        name: String,
        jurisdiction: Jurisdiction,
    },
    Renamed {
        name: String,
    },
    LanguageSet {
        language: Option<LanguageTag>,
    },
    /// The debtor's own zone, or `None` when it turns out not to be known after all.
    TimeZoneSet {
        time_zone: Option<Tz>,
    },
    JurisdictionSet {
        jurisdiction: Jurisdiction,
    },
    /// A contact point, with the consents known when it is added.
    ContactAdded {
        #[serde(default)]
        owner: ContactOwner,
        point: ContactPoint,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        consents: Vec<ConsentGrant>,
    },
    ConsentGiven {
        #[serde(default)]
        owner: ContactOwner,
        contact: ContactId,
        channel: Channel,
        given_at: DateTime<Utc>,
        how: ConsentMethod,
        given_by: String,
    },
    ConsentRevoked {
        #[serde(default)]
        owner: ContactOwner,
        contact: ContactId,
        consent: ConsentId,
        at: DateTime<Utc>,
        by: String,
    },
    FlagSet {
        flag: FlagKind,
        at: DateTime<Utc>,
        by: String,
        reason: String,
    },
    FlagCleared {
        flag: FlagKind,
        at: DateTime<Utc>,
        by: String,
        reason: String,
    },
    PartyAdded {
        relationship: Relationship,
        kind: DebtorKind,
        name: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        contacts: Vec<NewContact>,
    },
}

/// A consent as it is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentGrant {
    pub channel: Channel,
    pub given_at: DateTime<Utc>,
    pub how: ConsentMethod,
    pub given_by: String,
}

/// A contact point and its consents, as a related party is added with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewContact {
    pub point: ContactPoint,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consents: Vec<ConsentGrant>,
}

impl NewContact {
    /// The contact with its consents, checked whole before it joins the file.
    fn build(&self, id: ContactId) -> Result<Contact, DebtorError> {
        let mut contact = Contact::new(id, self.point.clone());
        for g in &self.consents {
            contact.give(g.channel, g.given_at, g.how, &g.given_by)?;
        }
        Ok(contact)
    }
}

/// What a change made that the caller may want to refer to next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    Nothing,
    Contact(ContactId),
    Consent(ConsentId),
    Party(u32),
}

impl Debtor {
    /// The debtor a `Registered` change creates; any other change needs a debtor first.
    pub fn register(id: &str, change: &DebtorChange) -> Result<Debtor, DebtorError> {
        match change {
            DebtorChange::Registered {
                kind,
                name,
                jurisdiction,
            } => Debtor::new(id, *kind, name, jurisdiction.clone()),
            _ => Err(DebtorError::NotRegistered),
        }
    }

    /// Applies one change, checked against the debtor as it stands; on an error the
    /// debtor is unchanged.
    pub fn apply(&mut self, change: &DebtorChange) -> Result<Made, DebtorError> {
        match change {
            DebtorChange::Registered { .. } => return Err(DebtorError::AlreadyRegistered),
            DebtorChange::Renamed { name } => self.name = not_blank(name, "the debtor's name")?,
            DebtorChange::LanguageSet { language } => self.language = language.clone(),
            DebtorChange::TimeZoneSet { time_zone } => self.time_zone = *time_zone,
            DebtorChange::JurisdictionSet { jurisdiction } => {
                self.jurisdiction = jurisdiction.clone();
            }
            DebtorChange::ContactAdded {
                owner,
                point,
                consents,
            } => {
                let contacts = self.contacts_of(*owner)?;
                let id = ContactId(contacts.iter().map(|c| c.id.0 + 1).max().unwrap_or(0));
                let new = NewContact {
                    point: point.clone(),
                    consents: consents.clone(),
                };
                contacts.push(new.build(id)?);
                return Ok(Made::Contact(id));
            }
            DebtorChange::ConsentGiven {
                owner,
                contact,
                channel,
                given_at,
                how,
                given_by,
            } => {
                let consent = find(self.contacts_of(*owner)?, *contact)?
                    .give(*channel, *given_at, *how, given_by)?;
                return Ok(Made::Consent(consent));
            }
            DebtorChange::ConsentRevoked {
                owner,
                contact,
                consent,
                at,
                by,
            } => find(self.contacts_of(*owner)?, *contact)?.revoke(*consent, *at, by)?,
            DebtorChange::FlagSet {
                flag,
                at,
                by,
                reason,
            } => self.flags.set(*flag, *at, by, reason)?,
            DebtorChange::FlagCleared {
                flag,
                at,
                by,
                reason,
            } => self.flags.clear(*flag, *at, by, reason)?,
            DebtorChange::PartyAdded {
                relationship,
                kind,
                name,
                contacts,
            } => {
                let mut party = RelatedParty::new(*relationship, *kind, name)?;
                for (i, c) in contacts.iter().enumerate() {
                    party
                        .contacts
                        .push(c.build(ContactId(u32::try_from(i).unwrap_or(u32::MAX)))?);
                }
                self.related.push(party);
                return Ok(Made::Party(
                    u32::try_from(self.related.len() - 1).unwrap_or(u32::MAX),
                ));
            }
        }
        Ok(Made::Nothing)
    }

    /// Replays a file from its first change; the error names the change that does not
    /// apply (counted from 1).
    pub fn replay<'a>(
        id: &str,
        changes: impl IntoIterator<Item = &'a DebtorChange>,
    ) -> Result<Debtor, (usize, DebtorError)> {
        let mut changes = changes.into_iter();
        let first = changes.next().ok_or((1, DebtorError::NotRegistered))?;
        let mut debtor = Debtor::register(id, first).map_err(|e| (1, e))?;
        for (i, change) in changes.enumerate() {
            debtor.apply(change).map_err(|e| (i + 2, e))?;
        }
        Ok(debtor)
    }

    fn contacts_of(&mut self, owner: ContactOwner) -> Result<&mut Vec<Contact>, DebtorError> {
        match owner {
            ContactOwner::Debtor => Ok(&mut self.contacts),
            ContactOwner::Party(i) => self
                .related
                .get_mut(i as usize)
                .map(|p| &mut p.contacts)
                .ok_or(DebtorError::UnknownParty(i)),
        }
    }
}

fn find(contacts: &mut [Contact], id: ContactId) -> Result<&mut Contact, DebtorError> {
    contacts
        .iter_mut()
        .find(|c| c.id == id)
        .ok_or(DebtorError::UnknownContact(id))
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

    fn registered() -> DebtorChange {
        DebtorChange::Registered {
            kind: DebtorKind::Person,
            name: "Ana Pérez".into(),
            jurisdiction: Jurisdiction::new("CO", None).unwrap(),
        }
    }

    fn phone() -> DebtorChange {
        DebtorChange::ContactAdded {
            owner: ContactOwner::Debtor,
            point: ContactPoint::Phone(Phone::parse("+57 310 1234567", None).unwrap()),
            consents: Vec::new(),
        }
    }

    #[test]
    fn a_file_starts_with_registration_and_only_once() {
        assert_eq!(
            Debtor::register("D-1", &phone()),
            Err(DebtorError::NotRegistered)
        );
        let mut d = Debtor::register("D-1", &registered()).unwrap();
        assert_eq!(d.apply(&registered()), Err(DebtorError::AlreadyRegistered));
        assert_eq!(d.name, "Ana Pérez");
    }

    #[test]
    fn contacts_consents_and_parties_are_numbered_and_refer_back() {
        let mut d = Debtor::register("D-1", &registered()).unwrap();
        assert_eq!(d.apply(&phone()), Ok(Made::Contact(ContactId(0))));
        let give = DebtorChange::ConsentGiven {
            owner: ContactOwner::Debtor,
            contact: ContactId(0),
            channel: Channel::Sms,
            given_at: t(0),
            how: ConsentMethod::RecordedCall,
            given_by: "debtor".into(),
        };
        assert_eq!(d.apply(&give), Ok(Made::Consent(ConsentId(0))));
        assert!(d.authorised(ContactId(0), Channel::Sms, t(1)).unwrap());
        // A guarantor's contacts are the guarantor's, numbered on their own.
        let party = DebtorChange::PartyAdded {
            relationship: Relationship::Guarantor,
            kind: DebtorKind::Person,
            name: "Luis".into(),
            contacts: Vec::new(),
        };
        assert_eq!(d.apply(&party), Ok(Made::Party(0)));
        let email = DebtorChange::ContactAdded {
            owner: ContactOwner::Party(0),
            point: ContactPoint::Email(Email::parse("luis@example.co").unwrap()),
            consents: vec![ConsentGrant {
                channel: Channel::Email,
                given_at: t(0),
                how: ConsentMethod::WebForm,
                given_by: "Luis".into(),
            }],
        };
        assert_eq!(d.apply(&email), Ok(Made::Contact(ContactId(0))));
        assert_eq!(d.related[0].contacts.len(), 1);
        assert!(d.related[0].contacts[0].authorised(Channel::Email, t(1)));
        // A contact whose consent does not fit it is refused whole.
        let sms_to_email = DebtorChange::ContactAdded {
            owner: ContactOwner::Debtor,
            point: ContactPoint::Email(Email::parse("ana@example.co").unwrap()),
            consents: vec![ConsentGrant {
                channel: Channel::Sms,
                given_at: t(0),
                how: ConsentMethod::WebForm,
                given_by: "Ana".into(),
            }],
        };
        assert!(matches!(
            d.apply(&sms_to_email),
            Err(DebtorError::ChannelNotForContact { .. })
        ));
        assert_eq!(d.contacts().len(), 1);
        let stray = DebtorChange::ContactAdded {
            owner: ContactOwner::Party(3),
            point: ContactPoint::Email(Email::parse("x@example.co").unwrap()),
            consents: Vec::new(),
        };
        assert_eq!(d.apply(&stray), Err(DebtorError::UnknownParty(3)));
    }

    #[test]
    fn a_refused_change_leaves_the_debtor_as_it_was() {
        let mut d = Debtor::register("D-1", &registered()).unwrap();
        d.apply(&phone()).unwrap();
        let before = d.clone();
        for bad in [
            DebtorChange::Renamed { name: "  ".into() },
            DebtorChange::ConsentGiven {
                owner: ContactOwner::Debtor,
                contact: ContactId(0),
                channel: Channel::Email,
                given_at: t(0),
                how: ConsentMethod::Written,
                given_by: "debtor".into(),
            },
            DebtorChange::ConsentRevoked {
                owner: ContactOwner::Debtor,
                contact: ContactId(0),
                consent: ConsentId(0),
                at: t(0),
                by: "debtor".into(),
            },
            DebtorChange::FlagCleared {
                flag: FlagKind::Dispute,
                at: t(0),
                by: "agent".into(),
                reason: "verified".into(),
            },
        ] {
            assert!(d.apply(&bad).is_err(), "{bad:?}");
            assert_eq!(d, before, "{bad:?}");
        }
    }

    fn change() -> impl Strategy<Value = DebtorChange> {
        let flag = prop_oneof![
            Just(FlagKind::Dispute),
            Just(FlagKind::CeaseCommunication),
            Just(FlagKind::Vulnerable)
        ];
        prop_oneof![
            Just(phone()),
            (0u32..3, 0i64..100).prop_map(|(c, s)| DebtorChange::ConsentGiven {
                owner: ContactOwner::Debtor,
                contact: ContactId(c),
                channel: Channel::Call,
                given_at: t(s),
                how: ConsentMethod::Written,
                given_by: "debtor".into(),
            }),
            (0u32..3, 0u32..3, 0i64..100).prop_map(|(c, k, s)| DebtorChange::ConsentRevoked {
                owner: ContactOwner::Debtor,
                contact: ContactId(c),
                consent: ConsentId(k),
                at: t(s),
                by: "debtor".into(),
            }),
            (flag.clone(), 0i64..100).prop_map(|(flag, s)| DebtorChange::FlagSet {
                flag,
                at: t(s),
                by: "agent".into(),
                reason: "said so".into(),
            }),
            (flag, 0i64..100).prop_map(|(flag, s)| DebtorChange::FlagCleared {
                flag,
                at: t(s),
                by: "agent".into(),
                reason: "over".into(),
            }),
        ]
    }

    proptest! {
        /// The changes a debtor accepted, stored as JSON and replayed, give the same
        /// debtor: the file is its own proof.
        #[test]
        fn accepted_changes_replay_to_the_same_debtor(changes in prop::collection::vec(change(), 0..30)) {
            let mut d = Debtor::register("D-1", &registered()).unwrap();
            let mut file = vec![registered()];
            for c in changes {
                if d.apply(&c).is_ok() {
                    file.push(c);
                }
            }
            let json = serde_json::to_string(&file).unwrap();
            let back: Vec<DebtorChange> = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(Debtor::replay("D-1", &back).unwrap(), d);
        }
    }
}
