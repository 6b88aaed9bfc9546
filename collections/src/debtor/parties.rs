//! Related parties: who else is on file, and who may hear of the debt.
//!
//! A guarantor or a co-debtor answers for the debt: they may be contacted about it, on
//! their own contact points and consents. An employer or a relative is recorded only so
//! that they are never told: the contact rules forbid letting third parties learn of a
//! debt (Spain, GDPR; Regulation F §1006.6(d)), and Mexico forbids collecting from third
//! parties other than guarantors. Their contact points are kept so a number or an address
//! can be recognised as theirs, never to collect through them.

use serde::{Deserialize, Serialize};

use super::consent::Contact;
use super::{DebtorError, DebtorKind, not_blank};

/// How a party relates to the debtor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    Guarantor,
    CoDebtor,
    Employer,
    Relative,
}

/// Someone other than the debtor, on the debtor's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedParty {
    pub relationship: Relationship,
    pub kind: DebtorKind,
    pub name: String,
    /// The party's own contact points, each with its own consents.
    pub contacts: Vec<Contact>,
}

impl RelatedParty {
    pub fn new(
        relationship: Relationship,
        kind: DebtorKind,
        name: &str,
    ) -> Result<RelatedParty, DebtorError> {
        Ok(RelatedParty {
            relationship,
            kind,
            name: not_blank(name, "the related party's name")?,
            contacts: Vec::new(),
        })
    }
}

/// Whether the party may be told about the debt: a guarantor or a co-debtor may; an
/// employer or a relative must never be.
pub fn may_be_told_about_the_debt(party: &RelatedParty) -> bool {
    match party.relationship {
        Relationship::Guarantor | Relationship::CoDebtor => true,
        Relationship::Employer | Relationship::Relative => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_those_who_answer_for_the_debt_may_be_told() {
        let party = |r| RelatedParty::new(r, DebtorKind::Person, "Luis").unwrap();
        assert!(may_be_told_about_the_debt(&party(Relationship::Guarantor)));
        assert!(may_be_told_about_the_debt(&party(Relationship::CoDebtor)));
        assert!(!may_be_told_about_the_debt(&party(Relationship::Employer)));
        assert!(!may_be_told_about_the_debt(&party(Relationship::Relative)));
        assert_eq!(
            RelatedParty::new(Relationship::Relative, DebtorKind::Person, " "),
            Err(DebtorError::Blank {
                field: "the related party's name"
            })
        );
    }
}
