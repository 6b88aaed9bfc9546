//! What a partner may read of a case placed with it, by stage: data minimisation
//! (GDPR art. 5(1)(c), Ley 1581 de 2012 art. 4): an agency working a case needs the
//! debtor's contacts and what is owed, not the creditor's contract file; a law firm
//! suing needs the contract and the account statements too.
//!
//! A policy names, for each stage (and by default for the others), the kinds of case
//! data the partner may read. What is never disclosed is not a kind here at all: the
//! creditor's internal notes, other partners' notes, who raised a debtor's flag and why.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A kind of case data a partner may be given.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
pub enum CaseData {
    /// Who the debtor is: name, kind, language, jurisdiction, time zone, flags in force.
    DebtorIdentity,
    /// How to reach the debtor and the parties it may talk to, with their consents.
    DebtorContacts,
    /// What is owed: balance, accounts, charges, amount due.
    Balance,
    /// Payments, promises to pay and installment plans.
    PaymentHistory,
    /// Contact attempts and their outcomes, and the recordings of calls.
    ContactHistory,
    /// The contract and the debtor's identity documents.
    ContractDocuments,
    /// Account statements.
    AccountStatements,
}

impl CaseData {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseData::DebtorIdentity => "debtor_identity",
            CaseData::DebtorContacts => "debtor_contacts",
            CaseData::Balance => "balance",
            CaseData::PaymentHistory => "payment_history",
            CaseData::ContactHistory => "contact_history",
            CaseData::ContractDocuments => "contract_documents",
            CaseData::AccountStatements => "account_statements",
        }
    }

    pub fn parse(s: &str) -> Option<CaseData> {
        use strum::IntoEnumIterator as _;
        CaseData::iter().find(|d| d.as_str() == s)
    }
}

/// Which partners do which work, for their default policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerKind {
    Agency,
    LawFirm,
}

/// A partner's reading rights by stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosurePolicy {
    /// For stages not named in `stages`.
    pub default: BTreeSet<CaseData>,
    /// Per stage, replacing `default` there.
    #[serde(default)]
    pub stages: BTreeMap<String, BTreeSet<CaseData>>,
}

impl DisclosurePolicy {
    /// What a partner of `kind` reads unless its policy says otherwise: an agency, the
    /// debtor, contacts, balance and payment and contact history; a law firm, also the
    /// contract file and account statements.
    pub fn default_for(kind: PartnerKind) -> Self {
        use CaseData::*;
        let mut default: BTreeSet<CaseData> = [
            DebtorIdentity,
            DebtorContacts,
            Balance,
            PaymentHistory,
            ContactHistory,
        ]
        .into();
        if kind == PartnerKind::LawFirm {
            default.extend([ContractDocuments, AccountStatements]);
        }
        DisclosurePolicy {
            default,
            stages: BTreeMap::new(),
        }
    }

    /// What may be read of a case at `stage` (a case without one reads the default).
    pub fn at(&self, stage: Option<&str>) -> &BTreeSet<CaseData> {
        stage
            .and_then(|s| self.stages.get(s))
            .unwrap_or(&self.default)
    }

    pub fn allows(&self, stage: Option<&str>, data: CaseData) -> bool {
        self.at(stage).contains(&data)
    }

    /// Sets what may be read at `stage`, or by default (`None`).
    pub fn set(&mut self, stage: Option<&str>, data: BTreeSet<CaseData>) {
        match stage {
            Some(s) => {
                self.stages.insert(s.to_string(), data);
            }
            None => self.default = data,
        }
    }
}

/// What reading a document of this kind needs (`None`: the correspondence of the case,
/// which a partner working it reads).
pub fn needed_for_document(kind: &str) -> Option<CaseData> {
    match kind {
        "contract" | "identity_document" => Some(CaseData::ContractDocuments),
        "account_statement" => Some(CaseData::AccountStatements),
        "call_recording" => Some(CaseData::ContactHistory),
        "payment_agreement" => Some(CaseData::PaymentHistory),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_law_firm_reads_more_than_an_agency_and_a_stage_can_say_otherwise() {
        let agency = DisclosurePolicy::default_for(PartnerKind::Agency);
        let firm = DisclosurePolicy::default_for(PartnerKind::LawFirm);
        assert!(agency.allows(Some("extrajudicial"), CaseData::Balance));
        assert!(!agency.allows(Some("extrajudicial"), CaseData::ContractDocuments));
        assert!(firm.allows(Some("legal"), CaseData::ContractDocuments));
        assert!(firm.allows(None, CaseData::AccountStatements));

        let mut narrow = agency.clone();
        narrow.set(Some("late"), [CaseData::DebtorIdentity].into());
        assert!(!narrow.allows(Some("late"), CaseData::Balance));
        assert!(narrow.allows(Some("extrajudicial"), CaseData::Balance));
        narrow.set(None, BTreeSet::new());
        assert!(!narrow.allows(Some("extrajudicial"), CaseData::DebtorIdentity));
        assert!(narrow.allows(Some("late"), CaseData::DebtorIdentity));
    }

    #[test]
    fn policies_round_trip_and_unknown_data_is_refused() {
        let mut p = DisclosurePolicy::default_for(PartnerKind::Agency);
        p.set(Some("legal"), [CaseData::Balance].into());
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<DisclosurePolicy>(&text).unwrap(), p);
        let bad = r#"{"default": ["salary"]}"#;
        assert!(serde_json::from_str::<DisclosurePolicy>(bad).is_err());
        for d in <CaseData as strum::IntoEnumIterator>::iter() {
            assert_eq!(CaseData::parse(d.as_str()), Some(d));
        }
        assert_eq!(CaseData::parse("notes"), None);
    }

    #[test]
    fn documents_need_what_their_kind_holds() {
        assert_eq!(
            needed_for_document("contract"),
            Some(CaseData::ContractDocuments)
        );
        assert_eq!(
            needed_for_document("account_statement"),
            Some(CaseData::AccountStatements)
        );
        assert_eq!(needed_for_document("demand_letter"), None);
        assert_eq!(needed_for_document("court_filing"), None);
    }
}
