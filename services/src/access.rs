//! Who is asking ([`Principal`]) and what their role lets them do. Checked here, in
//! services, so every API in front (GraphQL today) enforces the same rules; resolvers
//! only translate.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the installation: everything a supervisor can, plus partner API clients.
    Admin,
    /// Designs and deploys processes, watches and reassigns work, places cases.
    Supervisor,
    /// Works task queues.
    Agent,
    /// A user or API client of one partner organisation (agency, law firm).
    Partner,
    /// Reads everything, full history included; changes nothing.
    Auditor,
    /// An external job worker (an API client): activates and answers jobs of the types
    /// named in its groups, nothing else.
    Worker,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Supervisor,
        Role::Agent,
        Role::Partner,
        Role::Auditor,
        Role::Worker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
            Role::Partner => "partner",
            Role::Auditor => "auditor",
            Role::Worker => "worker",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Stable user or client id (the token's `sub`); recorded as the acting identity.
    pub subject: String,
    pub tenant: String,
    pub role: Role,
    /// The partner organisation a partner principal belongs to; `None` for other roles.
    pub partner: Option<String>,
    /// Candidate groups (task queues) the caller works.
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalError {
    #[error("a partner principal must name its partner organisation")]
    PartnerMissing,
    #[error("only partner principals belong to a partner organisation")]
    PartnerNotAllowed,
    #[error("the subject must not be empty")]
    EmptySubject,
    #[error("the tenant must not be empty")]
    EmptyTenant,
}

impl Principal {
    pub fn new(
        subject: impl Into<String>,
        tenant: impl Into<String>,
        role: Role,
        partner: Option<String>,
        groups: Vec<String>,
    ) -> Result<Self, PrincipalError> {
        let p = Principal {
            subject: subject.into(),
            tenant: tenant.into(),
            role,
            partner,
            groups,
        };
        if p.subject.is_empty() {
            return Err(PrincipalError::EmptySubject);
        }
        if p.tenant.is_empty() {
            return Err(PrincipalError::EmptyTenant);
        }
        match (role, &p.partner) {
            (Role::Partner, None) => Err(PrincipalError::PartnerMissing),
            (Role::Partner, Some(_)) | (_, None) => Ok(p),
            (_, Some(_)) => Err(PrincipalError::PartnerNotAllowed),
        }
    }

    /// The identity written to the journal: role and subject, and the partner if any.
    pub fn acting_identity(&self) -> String {
        match &self.partner {
            Some(partner) => format!("{}:{}@{}", self.role, self.subject, partner),
            None => format!("{}:{}", self.role, self.subject),
        }
    }
}

/// Everything a caller can ask of the desk, for the role table in [`permits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    DeployProcess,
    ReadProcess,
    OpenCase,
    ReadCase,
    ReadHistory,
    VerifyHistory,
    MigrateCase,
    CancelCase,
    AssignOwner,
    CorrelateMessage,
    ReadTasks,
    WorkTask,
    ReassignTask,
    Comment,
    ManagePartners,
    ReadPartners,
    PlaceCase,
    RespondToPlacement,
    RecordActivity,
    ManageApiClients,
    ReadAccessLog,
    /// Upload a document to a case (streamed or presigned).
    UploadDocument,
    /// Read a document's metadata and download it.
    ReadDocument,
    /// Set or clear a legal hold.
    HoldDocument,
    /// Soft delete, purge, erase on a lawful request: records management, admin only.
    DeleteDocument,
    /// Re-hash stored objects against their recorded checksums.
    VerifyDocuments,
    /// Open a debt (account) on a case, add charges.
    ManageAccounts,
    /// Record a payment on a case.
    RecordPayment,
    /// Reverse a recorded payment (returned, charged back).
    ReversePayment,
    /// Record a debtor's promise to pay.
    RecordPromise,
    /// Offer an installment plan, record the debtor's acceptance or refusal.
    ManagePlans,
    /// Approve a settlement above an agent's discount limit.
    ApproveSettlement,
    /// Read debtors: identity, contacts, consents, flags.
    ReadDebtor,
    /// Register a debtor's file and change who the debtor is (name, jurisdiction,
    /// language, zone, related parties, clearing flags).
    RegisterDebtor,
    /// Record what working a case teaches: a contact point, a consent given or
    /// revoked, a flag raised (a dispute, a cease request).
    RecordDebtorContact,
    /// Read a creditor's settings (allocation order, grace, limits, zone).
    ReadCreditorSettings,
    /// Change a creditor's settings.
    ManageCreditorSettings,
    /// Report a payment the debtor made to the creditor, for the creditor to confirm:
    /// a partner's, where it may not take payments itself.
    ReportPayment,
    /// Confirm or reject a partner's reported payment, for the creditor.
    DecideReportedPayment,
    /// See what stopped a case (its incidents).
    ReadIncidents,
    /// Set a case's variables and resolve its incidents.
    ManageIncidents,
    /// Activate and answer jobs as an external worker.
    WorkJobs,
    /// Read message templates and preview a case's messages.
    ReadTemplates,
    /// Save a new version of a message template.
    ManageTemplates,
}

impl Operation {
    pub const ALL: [Operation; 44] = [
        Operation::DeployProcess,
        Operation::ReadProcess,
        Operation::OpenCase,
        Operation::ReadCase,
        Operation::ReadHistory,
        Operation::VerifyHistory,
        Operation::MigrateCase,
        Operation::CancelCase,
        Operation::AssignOwner,
        Operation::CorrelateMessage,
        Operation::ReadTasks,
        Operation::WorkTask,
        Operation::ReassignTask,
        Operation::Comment,
        Operation::ManagePartners,
        Operation::ReadPartners,
        Operation::PlaceCase,
        Operation::RespondToPlacement,
        Operation::RecordActivity,
        Operation::ManageApiClients,
        Operation::ReadAccessLog,
        Operation::UploadDocument,
        Operation::ReadDocument,
        Operation::HoldDocument,
        Operation::DeleteDocument,
        Operation::VerifyDocuments,
        Operation::ManageAccounts,
        Operation::RecordPayment,
        Operation::ReversePayment,
        Operation::RecordPromise,
        Operation::ManagePlans,
        Operation::ApproveSettlement,
        Operation::ReadDebtor,
        Operation::RegisterDebtor,
        Operation::RecordDebtorContact,
        Operation::ReadCreditorSettings,
        Operation::ManageCreditorSettings,
        Operation::ReportPayment,
        Operation::DecideReportedPayment,
        Operation::ReadIncidents,
        Operation::ManageIncidents,
        Operation::WorkJobs,
        Operation::ReadTemplates,
        Operation::ManageTemplates,
    ];
}

/// The role table. Partners additionally only ever reach cases placed with them and
/// tasks their organisation owns; that object-level check lives with each query.
pub fn permits(role: Role, op: Operation) -> bool {
    use Operation as O;
    use Role as R;
    match role {
        // Answering a placement and reporting a payment are a partner's own acts.
        R::Admin => !matches!(op, O::RespondToPlacement | O::ReportPayment),
        R::Supervisor => !matches!(
            op,
            O::RespondToPlacement
                | O::ReportPayment
                | O::ManageApiClients
                | O::ReadAccessLog
                | O::DeleteDocument
                | O::WorkJobs
        ),
        R::Agent => matches!(
            op,
            O::ReadProcess
                | O::OpenCase
                | O::ReadCase
                | O::ReadHistory
                | O::CorrelateMessage
                | O::ReadTasks
                | O::WorkTask
                | O::Comment
                | O::ReadPartners
                | O::RecordActivity
                | O::UploadDocument
                | O::ReadDocument
                | O::RecordPayment
                | O::RecordPromise
                | O::ManagePlans
                | O::ReadDebtor
                | O::RegisterDebtor
                | O::RecordDebtorContact
                | O::ReadCreditorSettings
                | O::DecideReportedPayment
                | O::ReadTemplates
        ),
        // Partners never read a creditor's settings (its limits are its negotiating
        // position); whether they may take a payment is enforced, not shown.
        R::Partner => matches!(
            op,
            O::ReadCase
                | O::CorrelateMessage
                | O::ReadTasks
                | O::WorkTask
                | O::Comment
                | O::RespondToPlacement
                | O::RecordActivity
                | O::UploadDocument
                | O::ReadDocument
                | O::RecordPayment
                | O::RecordPromise
                | O::ManagePlans
                | O::ReadDebtor
                | O::RecordDebtorContact
                | O::ReportPayment
        ),
        R::Worker => op == O::WorkJobs,
        R::Auditor => matches!(
            op,
            O::ReadProcess
                | O::ReadIncidents
                | O::ReadDebtor
                | O::ReadCase
                | O::ReadHistory
                | O::VerifyHistory
                | O::ReadTasks
                | O::ReadPartners
                | O::ReadAccessLog
                | O::ReadDocument
                | O::VerifyDocuments
                | O::ReadCreditorSettings
                | O::ReadTemplates
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auditors_change_nothing() {
        let writes = [
            Operation::DeployProcess,
            Operation::OpenCase,
            Operation::MigrateCase,
            Operation::CancelCase,
            Operation::WorkTask,
            Operation::Comment,
            Operation::PlaceCase,
            Operation::CorrelateMessage,
            Operation::UploadDocument,
            Operation::HoldDocument,
            Operation::DeleteDocument,
            Operation::ManageAccounts,
            Operation::RecordPayment,
            Operation::ReversePayment,
            Operation::RecordPromise,
            Operation::ManagePlans,
            Operation::ApproveSettlement,
            Operation::RegisterDebtor,
            Operation::RecordDebtorContact,
            Operation::ManageIncidents,
            Operation::ManageCreditorSettings,
            Operation::ReportPayment,
            Operation::DecideReportedPayment,
            Operation::ManageTemplates,
        ];
        for op in writes {
            assert!(!permits(Role::Auditor, op), "{op:?}");
        }
        assert!(permits(Role::Auditor, Operation::ReadHistory));
    }

    #[test]
    fn only_partners_answer_placements() {
        for role in Role::ALL {
            assert_eq!(
                permits(role, Operation::RespondToPlacement),
                role == Role::Partner
            );
        }
    }

    #[test]
    fn reported_payments_are_reported_by_partners_and_decided_by_the_creditor() {
        for role in Role::ALL {
            assert_eq!(
                permits(role, Operation::ReportPayment),
                role == Role::Partner
            );
            assert_eq!(
                permits(role, Operation::DecideReportedPayment),
                matches!(role, Role::Admin | Role::Supervisor | Role::Agent)
            );
            assert_eq!(
                permits(role, Operation::ReadCreditorSettings),
                !matches!(role, Role::Partner | Role::Worker)
            );
        }
    }

    #[test]
    fn workers_work_jobs_and_nothing_else() {
        for op in Operation::ALL {
            assert_eq!(
                permits(Role::Worker, op),
                op == Operation::WorkJobs,
                "{op:?}"
            );
        }
        let may: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| permits(*r, Operation::WorkJobs))
            .collect();
        assert_eq!(may, [Role::Admin, Role::Worker]);
    }

    #[test]
    fn templates_are_read_inside_the_creditor_and_written_by_supervisors() {
        for role in Role::ALL {
            assert_eq!(
                permits(role, Operation::ReadTemplates),
                matches!(
                    role,
                    Role::Admin | Role::Supervisor | Role::Agent | Role::Auditor
                ),
                "{role}"
            );
            assert_eq!(
                permits(role, Operation::ManageTemplates),
                matches!(role, Role::Admin | Role::Supervisor),
                "{role}"
            );
        }
    }

    #[test]
    fn principal_partner_binding() {
        assert_eq!(
            Principal::new("u", "t", Role::Partner, None, vec![]),
            Err(PrincipalError::PartnerMissing)
        );
        assert_eq!(
            Principal::new("u", "t", Role::Agent, Some("p".into()), vec![]),
            Err(PrincipalError::PartnerNotAllowed)
        );
        let p = Principal::new("u", "t", Role::Partner, Some("lawco".into()), vec![]).unwrap();
        assert_eq!(p.acting_identity(), "partner:u@lawco");
    }
}
