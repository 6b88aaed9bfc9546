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
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Supervisor,
        Role::Agent,
        Role::Partner,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
            Role::Partner => "partner",
            Role::Auditor => "auditor",
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
