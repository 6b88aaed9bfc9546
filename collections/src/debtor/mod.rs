//! Debtors: who owes, how they may be reached, what protects them.
//!
//! A debtor is a person or a company with a jurisdiction, an optional preferred language
//! and time zone, contact points (phones, e-mails, postal addresses) each carrying its own
//! history of consents per channel, flags with history (dispute, cease-communication,
//! deceased, bankruptcy, vulnerable) and related parties. Everything here is a value
//! checked at construction: a phone number is parsed and validated against
//! libphonenumber's numbering plans, a country is an ISO 3166-1 code, a US or Mexican
//! region is one of the country's subdivision codes. Every instant ("given when",
//! "authorised at") comes in as an argument.
//!
//! - [`place`]: countries, jurisdictions and the candidate time zones of a debtor;
//! - [`contact`]: contact points: phones and postal addresses;
//! - [`email`]: e-mail addresses;
//! - [`consent`]: channels and the consent history of one contact point;
//! - [`flags`]: flags with history and which are active at an instant;
//! - [`parties`]: guarantors and co-debtors, and those who must never be told;
//! - [`change`]: the changes a debtor's file is made of.

pub mod change;
pub mod consent;
pub mod contact;
pub mod email;
pub mod flags;
pub mod parties;
pub mod place;
mod zone_table;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use change::{ConsentGrant, ContactOwner, DebtorChange, Made, NewContact};
pub use chrono_tz::Tz;
pub use consent::{Channel, Consent, ConsentId, ConsentMethod, Contact, ContactId, Revocation};
pub use contact::{ContactKind, ContactPoint, Phone, PostalAddress};
pub use email::Email;
pub use flags::{FlagChange, FlagEvent, FlagKind, Flags};
pub use parties::{RelatedParty, Relationship, may_be_told_about_the_debt};
pub use place::{Country, Jurisdiction, candidate_zones, parse_time_zone};

/// Why a debtor, a contact, a consent or a flag change was refused. Each variant is one
/// thing the caller can fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::EnumCount)]
pub enum DebtorError {
    #[error("{field} is blank: it must be given")]
    Blank { field: &'static str },
    #[error("{input:?} is an invalid phone number: {reason}")]
    InvalidPhoneNumber { input: String, reason: &'static str },
    #[error(
        "{0:?} has no country calling code: write it in international form (+57 …) or give the country it is dialled in"
    )]
    PhoneNeedsCountry(String),
    #[error("unknown country {0:?}: use an ISO 3166-1 alpha-2 code such as US, CO, MX, CL, ES")]
    UnknownCountry(String),
    #[error(
        "unknown region {region:?} of {country}: use its ISO 3166-2 subdivision code (a US state as CA, TX; a Mexican state as CMX, JAL)"
    )]
    UnknownRegion { country: String, region: String },
    #[error("{input:?} is a malformed e-mail address: {reason}")]
    MalformedEmail { input: String, reason: &'static str },
    #[error("{0:?} is not a language tag: write a BCP 47 tag such as es, es-CO, en-US")]
    InvalidLanguageTag(String),
    #[error("unknown time zone {0:?}: use an IANA name such as America/Bogota")]
    UnknownTimeZone(String),
    #[error("{channel:?} cannot be used on {kind:?} contact point")]
    ChannelNotForContact { channel: Channel, kind: ContactKind },
    #[error("the debtor has no contact {0:?}")]
    UnknownContact(ContactId),
    #[error("the contact has no consent {0:?}: revoke one of its recorded consents")]
    UnknownConsent(ConsentId),
    #[error("consent {consent:?} was already revoked at {at}")]
    ConsentAlreadyRevoked {
        consent: ConsentId,
        at: DateTime<Utc>,
    },
    #[error("consent {consent:?} was given at {given_at}: it cannot be revoked before, at {at}")]
    RevokedBeforeGiven {
        consent: ConsentId,
        given_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    #[error("{flag:?} is already set (since {since}): clear it before setting it again")]
    FlagAlreadySet {
        flag: FlagKind,
        since: DateTime<Utc>,
    },
    #[error("{flag:?} is not set at {at}: there is nothing to clear")]
    FlagNotSet { flag: FlagKind, at: DateTime<Utc> },
    #[error(
        "{flag:?} last changed at {last}: a change at {at} would rewrite its history; record changes in time order"
    )]
    FlagOutOfOrder {
        flag: FlagKind,
        at: DateTime<Utc>,
        last: DateTime<Utc>,
    },
    #[error("the debtor's file must start by registering the debtor")]
    NotRegistered,
    #[error("the debtor is already registered")]
    AlreadyRegistered,
    #[error("the debtor has no related party {0}")]
    UnknownParty(u32),
}

/// A natural person or a legal one: the rules differ (consumer-protection law such as
/// Regulation F or Ley 2300 protects consumers, not companies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DebtorKind {
    Person,
    Company,
}

/// A preferred language as a BCP 47 tag, checked loosely: a 2–3 letter language subtag,
/// then subtags of 1–8 letters or digits (script, region, variants), case normalised
/// (`es-co` → `es-CO`, `zh_hant` → `zh-Hant`); `_` is taken for `-`, as POSIX locales
/// write it. Whether the subtags are registered is not checked: a template lookup falls
/// back along the tag anyway.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LanguageTag(String);

impl LanguageTag {
    pub fn parse(text: &str) -> Result<LanguageTag, DebtorError> {
        let bad = || DebtorError::InvalidLanguageTag(text.to_string());
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.len() > 35 {
            return Err(bad());
        }
        let mut out: Vec<String> = Vec::new();
        for (i, sub) in trimmed.split(['-', '_']).enumerate() {
            let ok = if i == 0 {
                (2..=3).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_alphabetic())
            } else {
                (1..=8).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_alphanumeric())
            };
            if !ok {
                return Err(bad());
            }
            let all_alpha = sub.bytes().all(|b| b.is_ascii_alphabetic());
            out.push(match sub.len() {
                _ if i == 0 => sub.to_ascii_lowercase(),
                2 if all_alpha => sub.to_ascii_uppercase(),
                4 if all_alpha => {
                    let lower = sub.to_ascii_lowercase();
                    lower[..1].to_ascii_uppercase() + &lower[1..]
                }
                _ => sub.to_ascii_lowercase(),
            });
        }
        Ok(LanguageTag(out.join("-")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The primary language subtag (`es` of `es-CO`).
    pub fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

impl TryFrom<String> for LanguageTag {
    type Error = DebtorError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        LanguageTag::parse(&text)
    }
}

impl From<LanguageTag> for String {
    fn from(tag: LanguageTag) -> String {
        tag.0
    }
}

/// A debtor at one creditor: identity, where they are, how they may be reached, and what
/// protects them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Debtor {
    /// The creditor's reference for the debtor.
    pub id: String,
    pub kind: DebtorKind,
    pub name: String,
    pub language: Option<LanguageTag>,
    /// The debtor's own zone when it is known (they said so, or an agent confirmed it).
    /// When it is not, [`candidate_zones`] derives every plausible one.
    pub time_zone: Option<Tz>,
    pub jurisdiction: Jurisdiction,
    contacts: Vec<Contact>,
    pub flags: Flags,
    pub related: Vec<RelatedParty>,
}

impl Debtor {
    /// A debtor without contacts, flags or related parties; the id and name must not be
    /// blank.
    pub fn new(
        id: &str,
        kind: DebtorKind,
        name: &str,
        jurisdiction: Jurisdiction,
    ) -> Result<Debtor, DebtorError> {
        Ok(Debtor {
            id: not_blank(id, "the debtor's id")?,
            kind,
            name: not_blank(name, "the debtor's name")?,
            language: None,
            time_zone: None,
            jurisdiction,
            contacts: Vec::new(),
            flags: Flags::default(),
            related: Vec::new(),
        })
    }

    /// Adds a contact point, without consents yet, and returns its id.
    pub fn add_contact(&mut self, point: ContactPoint) -> ContactId {
        let id = ContactId(self.contacts.iter().map(|c| c.id.0 + 1).max().unwrap_or(0));
        self.contacts.push(Contact::new(id, point));
        id
    }

    pub fn contacts(&self) -> &[Contact] {
        &self.contacts
    }

    pub fn contact(&self, id: ContactId) -> Result<&Contact, DebtorError> {
        self.contacts
            .iter()
            .find(|c| c.id == id)
            .ok_or(DebtorError::UnknownContact(id))
    }

    /// The contact, to record or revoke its consents.
    pub fn contact_mut(&mut self, id: ContactId) -> Result<&mut Contact, DebtorError> {
        self.contacts
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or(DebtorError::UnknownContact(id))
    }

    /// Whether `channel` on contact `id` is authorised at `at` (see
    /// [`Contact::authorised`]); an unknown contact is an error, not a "no".
    pub fn authorised(
        &self,
        id: ContactId,
        channel: Channel,
        at: DateTime<Utc>,
    ) -> Result<bool, DebtorError> {
        Ok(self.contact(id)?.authorised(channel, at))
    }
}

pub(crate) fn not_blank(text: &str, field: &'static str) -> Result<String, DebtorError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        Err(DebtorError::Blank { field })
    } else {
        Ok(trimmed.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn co() -> Jurisdiction {
        Jurisdiction::new("CO", None).unwrap()
    }

    #[test]
    fn language_tags_are_normalised_or_refused() {
        for (input, want) in [
            ("es", "es"),
            ("es-co", "es-CO"),
            ("es_CO", "es-CO"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("es-419", "es-419"),
            (" EN-us ", "en-US"),
        ] {
            assert_eq!(LanguageTag::parse(input).unwrap().as_str(), want);
        }
        assert_eq!(LanguageTag::parse("es-CO").unwrap().language(), "es");
        for bad in [
            "",
            "e",
            "spanish",
            "es--CO",
            "es-",
            "1s",
            "es-toolongsubtag",
            "es CO",
        ] {
            assert_eq!(
                LanguageTag::parse(bad),
                Err(DebtorError::InvalidLanguageTag(bad.to_string())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_debtor_needs_an_id_and_a_name() {
        assert_eq!(
            Debtor::new(" ", DebtorKind::Person, "Ana", co()),
            Err(DebtorError::Blank {
                field: "the debtor's id"
            })
        );
        assert_eq!(
            Debtor::new("D-1", DebtorKind::Company, "", co()),
            Err(DebtorError::Blank {
                field: "the debtor's name"
            })
        );
    }

    #[test]
    fn contacts_are_found_by_id_and_unknown_ones_are_errors() {
        let mut d = Debtor::new("D-1", DebtorKind::Person, "Ana Pérez", co()).unwrap();
        let phone = d.add_contact(ContactPoint::Phone(
            Phone::parse("+57 310 1234567", None).unwrap(),
        ));
        let email = d.add_contact(ContactPoint::Email(Email::parse("ana@example.co").unwrap()));
        assert_ne!(phone, email);
        assert!(matches!(
            d.contact(email).unwrap().point,
            ContactPoint::Email(_)
        ));
        assert_eq!(
            d.contact(ContactId(9)).map(|_| ()),
            Err(DebtorError::UnknownContact(ContactId(9)))
        );
        let at = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(
            d.authorised(ContactId(9), Channel::Sms, at),
            Err(DebtorError::UnknownContact(ContactId(9)))
        );
        assert_eq!(d.authorised(phone, Channel::Sms, at), Ok(false));
    }

    #[test]
    fn a_debtor_round_trips_through_serde_as_checked_values() {
        let mut d = Debtor::new("D-1", DebtorKind::Person, "Ana", co()).unwrap();
        d.language = Some(LanguageTag::parse("es-CO").unwrap());
        d.time_zone = Some(chrono_tz::America::Bogota);
        d.add_contact(ContactPoint::Phone(
            Phone::parse("+573101234567", None).unwrap(),
        ));
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.contains("\"+573101234567\""), "{json}");
        assert!(json.contains("\"es-CO\""), "{json}");
        let back: Debtor = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
        // A stored value that no longer passes the checks is refused, not admitted.
        let bad = json.replace("\"es-CO\"", "\"not a tag\"");
        assert!(serde_json::from_str::<Debtor>(&bad).is_err());
    }
}
