//! Debtors: who owes, how they may be reached, what protects them.
//!
//! What a partner reads is cut to what working a placed case needs: the debtor's
//! contacts and consents (to reach them lawfully), the flags in force (to stop when the
//! law says so) and the parties it may talk to. Who set a flag and why (a vulnerable
//! debtor's illness), employers and relatives (never to be told), and the file of
//! changes stay with the creditor's people and auditors.

use async_graphql::connection::{Connection, Edge, OpaqueCursor};
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use collections::debtor::{
    self as d, Consent as ConsentRecord, Contact, ContactPoint, FlagChange,
    may_be_told_about_the_debt,
};
use collections::disclosure::CaseData as Data;
use orm::entities::cases;
use services::access::Role;
use services::desk::DebtorRecord;

use super::disclosure::{disclose, disclose_debtor};
use super::query::{decode, page_cost};
use super::types::HistoryEntry;
use super::{desk, principal};
use crate::errors::{self, ErrorCode, coded};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "collections::debtor::DebtorKind")]
pub enum DebtorKind {
    Person,
    Company,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "collections::debtor::Channel")]
pub enum ContactChannel {
    Call,
    Sms,
    #[graphql(name = "WHATSAPP")]
    WhatsApp,
    Email,
    Letter,
    Visit,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "collections::debtor::ConsentMethod")]
pub enum ConsentMethod {
    Written,
    RecordedCall,
    WebForm,
    ContractClause,
    Message,
    InPerson,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "collections::debtor::FlagKind")]
pub enum DebtorFlag {
    Dispute,
    CeaseCommunication,
    Deceased,
    Bankruptcy,
    Vulnerable,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "collections::debtor::Relationship")]
pub enum Relationship {
    Guarantor,
    CoDebtor,
    Employer,
    Relative,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "collections::debtor::ContactKind")]
pub enum ContactKind {
    Phone,
    Email,
    Postal,
}

/// A debtor: a row a case names and, once registered, the debtor's file.
pub struct Debtor {
    record: DebtorRecord,
    /// A partner's reading: the cut described above.
    partner_view: bool,
    /// The case it was reached through: a partner reads what the case's stage allows.
    case: Option<cases::Model>,
    now: DateTime<Utc>,
}

impl Debtor {
    pub fn new(ctx: &Context<'_>, record: DebtorRecord) -> Result<Debtor> {
        Ok(Debtor {
            record,
            partner_view: principal(ctx)?.role == Role::Partner,
            case: None,
            now: desk(ctx)?.clock().now(),
        })
    }

    /// The debtor of `case`.
    pub fn of_case(ctx: &Context<'_>, record: DebtorRecord, case: &cases::Model) -> Result<Debtor> {
        let mut d = Debtor::new(ctx, record)?;
        d.case = Some(case.clone());
        Ok(d)
    }

    /// May the caller read `data` of this debtor (a partner: by its policy; recorded)?
    async fn disclosed(&self, ctx: &Context<'_>, data: Data) -> Result<()> {
        if !self.partner_view {
            return Ok(());
        }
        match &self.case {
            Some(case) => disclose(ctx, case, data).await,
            None => disclose_debtor(ctx, &self.record.row.debtor_id, data).await,
        }
    }

    fn file(&self) -> Option<&d::Debtor> {
        self.record.file.as_ref()
    }

    fn creditor_only(&self, what: &str) -> Result<()> {
        if self.partner_view {
            Err(coded(
                ErrorCode::Forbidden,
                format!("partner may not read {what}"),
            ))
        } else {
            Ok(())
        }
    }
}

#[Object]
impl Debtor {
    /// The creditor's debtor reference.
    async fn id(&self) -> ID {
        ID(self.record.row.debtor_id.clone())
    }
    async fn name(&self, ctx: &Context<'_>) -> Result<&str> {
        self.disclosed(ctx, Data::DebtorIdentity).await?;
        Ok(&self.record.row.name)
    }
    /// False for a debtor a case only named (no file yet): the fields below are empty.
    async fn registered(&self) -> bool {
        self.file().is_some()
    }
    async fn kind(&self, ctx: &Context<'_>) -> Result<Option<DebtorKind>> {
        self.disclosed(ctx, Data::DebtorIdentity).await?;
        Ok(self.file().map(|f| f.kind.into()))
    }
    /// BCP 47, e.g. `es-CO`.
    async fn language(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        self.disclosed(ctx, Data::DebtorIdentity).await?;
        Ok(self
            .file()
            .and_then(|f| f.language.as_ref())
            .map(|l| l.as_str()))
    }
    /// The debtor's own IANA zone, when known.
    async fn time_zone(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        self.disclosed(ctx, Data::DebtorIdentity).await?;
        Ok(self.file().and_then(|f| f.time_zone).map(|tz| tz.name()))
    }
    /// Every zone the debtor may be in: the own zone when known, else those of the
    /// phones' countries, the addresses and the jurisdiction. Contact rules hold in all.
    async fn candidate_time_zones(&self, ctx: &Context<'_>) -> Result<Vec<&'static str>> {
        self.disclosed(ctx, Data::DebtorIdentity).await?;
        Ok(self
            .file()
            .map(|f| {
                d::candidate_zones(f)
                    .into_iter()
                    .map(|tz| tz.name())
                    .collect()
            })
            .unwrap_or_default())
    }
    async fn jurisdiction(&self, ctx: &Context<'_>) -> Result<Option<Jurisdiction>> {
        self.disclosed(ctx, Data::DebtorIdentity).await?;
        Ok(self.file().map(|f| Jurisdiction {
            country: f.jurisdiction.country.code().to_string(),
            region: f.jurisdiction.region.clone(),
        }))
    }
    async fn contacts(&self, ctx: &Context<'_>) -> Result<Vec<DebtorContact>> {
        self.disclosed(ctx, Data::DebtorContacts).await?;
        Ok(self
            .file()
            .map(|f| {
                f.contacts()
                    .iter()
                    .map(|c| DebtorContact::new(c, self.now))
                    .collect()
            })
            .unwrap_or_default())
    }
    /// Flags in force now, with the instant each was set.
    async fn active_flags(&self, ctx: &Context<'_>) -> Result<Vec<ActiveFlag>> {
        self.disclosed(ctx, Data::DebtorContacts).await?;
        let Some(f) = self.file() else {
            return Ok(Vec::new());
        };
        Ok(f.flags
            .active_flags(self.now)
            .into_iter()
            .filter_map(|flag| {
                let since = f
                    .flags
                    .history()
                    .iter()
                    .rev()
                    .find(|e| e.flag == flag && e.change == FlagChange::Set)?
                    .at;
                Some(ActiveFlag {
                    flag: flag.into(),
                    since,
                })
            })
            .collect())
    }
    /// Every flag change: who, when, why. Not for partners.
    async fn flag_history(&self) -> Result<Vec<FlagHistoryEntry>> {
        self.creditor_only("a debtor's flag history")?;
        Ok(self
            .file()
            .map(|f| {
                f.flags
                    .history()
                    .iter()
                    .map(|e| FlagHistoryEntry {
                        flag: e.flag.into(),
                        set: e.change == FlagChange::Set,
                        at: e.at,
                        by: e.by.clone(),
                        reason: e.reason.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
    /// Guarantors and co-debtors; for the creditor's people also employers and
    /// relatives, recorded only so they are never told. `index` addresses the party in
    /// mutations.
    async fn related_parties(&self, ctx: &Context<'_>) -> Result<Vec<RelatedParty>> {
        self.disclosed(ctx, Data::DebtorContacts).await?;
        let Some(f) = self.file() else {
            return Ok(Vec::new());
        };
        Ok(f.related
            .iter()
            .enumerate()
            .filter(|(_, p)| !self.partner_view || may_be_told_about_the_debt(p))
            .map(|(i, p)| RelatedParty {
                index: i as i32,
                relationship: p.relationship.into(),
                kind: p.kind.into(),
                name: p.name.clone(),
                may_be_told: may_be_told_about_the_debt(p),
                contacts: p
                    .contacts
                    .iter()
                    .map(|c| DebtorContact::new(c, self.now))
                    .collect(),
            })
            .collect())
    }
    /// The number of changes in the debtor's file.
    async fn version(&self) -> i64 {
        self.record.row.version
    }
    /// The debtor's file of changes, hash-chained (auditors, supervisors, agents).
    async fn file_history(&self, ctx: &Context<'_>) -> Result<DebtorFileHistory> {
        let file = desk(ctx)?
            .debtor_file(principal(ctx)?, &self.record.row.debtor_id)
            .await
            .map_err(errors::api)?;
        Ok(DebtorFileHistory {
            verified: file.problem.is_none(),
            problem: file.problem,
            entries: file.entries.into_iter().map(HistoryEntry).collect(),
        })
    }
}

#[derive(SimpleObject)]
pub struct Jurisdiction {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// ISO 3166-2 subdivision code without the country (`CA`, `CMX`).
    pub region: Option<String>,
}

#[derive(SimpleObject)]
pub struct ActiveFlag {
    pub flag: DebtorFlag,
    pub since: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct FlagHistoryEntry {
    pub flag: DebtorFlag,
    /// True when the change set the flag, false when it cleared it.
    pub set: bool,
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
}

#[derive(SimpleObject)]
pub struct RelatedParty {
    pub index: i32,
    pub relationship: Relationship,
    pub kind: DebtorKind,
    pub name: String,
    /// Guarantors and co-debtors may hear of the debt; employers and relatives never.
    pub may_be_told: bool,
    pub contacts: Vec<DebtorContact>,
}

#[derive(SimpleObject)]
pub struct DebtorFileHistory {
    pub verified: bool,
    pub problem: Option<String>,
    pub entries: Vec<HistoryEntry>,
}

#[derive(SimpleObject)]
pub struct Phone {
    /// E.164, e.g. `+573101234567`.
    pub e164: String,
    pub country: Option<String>,
    /// Whether the numbering plan says mobile; null when it cannot tell.
    pub mobile: Option<bool>,
}

#[derive(SimpleObject)]
pub struct PostalAddress {
    pub lines: Vec<String>,
    pub locality: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
}

#[derive(SimpleObject)]
pub struct Consent {
    pub id: i32,
    pub channel: ContactChannel,
    pub given_at: DateTime<Utc>,
    pub how: ConsentMethod,
    pub given_by: String,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
}

impl From<&ConsentRecord> for Consent {
    fn from(c: &ConsentRecord) -> Self {
        Consent {
            id: c.id.0 as i32,
            channel: c.channel.into(),
            given_at: c.given_at,
            how: c.how.into(),
            given_by: c.given_by.clone(),
            revoked_at: c.revoked.as_ref().map(|r| r.at),
            revoked_by: c.revoked.as_ref().map(|r| r.by.clone()),
        }
    }
}

/// One contact point with its consents.
#[derive(SimpleObject)]
pub struct DebtorContact {
    /// Addresses the contact in mutations (with the party's index for a party's).
    pub id: i32,
    pub kind: ContactKind,
    pub phone: Option<Phone>,
    pub email: Option<String>,
    pub postal_address: Option<PostalAddress>,
    pub consents: Vec<Consent>,
    /// The channels a consent in force authorises now.
    pub authorised_channels: Vec<ContactChannel>,
}

impl DebtorContact {
    fn new(c: &Contact, now: DateTime<Utc>) -> DebtorContact {
        let (mut phone, mut email, mut postal_address) = (None, None, None);
        match &c.point {
            ContactPoint::Phone(p) => {
                phone = Some(Phone {
                    e164: p.e164().to_string(),
                    country: p.country().map(|c| c.code().to_string()),
                    mobile: p.is_mobile(),
                });
            }
            ContactPoint::Email(e) => email = Some(e.as_str().to_string()),
            ContactPoint::Postal(a) => {
                postal_address = Some(PostalAddress {
                    lines: a.lines.clone(),
                    locality: a.locality.clone(),
                    region: a.region.clone(),
                    postal_code: a.postal_code.clone(),
                    country: a.country.code().to_string(),
                });
            }
        }
        DebtorContact {
            id: c.id.0 as i32,
            kind: c.point.kind().into(),
            phone,
            email,
            postal_address,
            consents: c.consents().iter().map(Consent::from).collect(),
            authorised_channels: d::Channel::ALL
                .into_iter()
                .filter(|ch| c.authorised(*ch, now))
                .map(Into::into)
                .collect(),
        }
    }
}

type DebtorCursor = OpaqueCursor<String>;

#[derive(Default)]
pub struct DebtorQuery;

#[Object]
impl DebtorQuery {
    /// A debtor by the creditor's reference; partners reach the debtors of cases placed
    /// with them.
    async fn debtor(&self, ctx: &Context<'_>, id: ID) -> Result<Debtor> {
        let record = desk(ctx)?
            .debtor(principal(ctx)?, &id)
            .await
            .map_err(errors::api)?;
        Debtor::new(ctx, record)
    }

    /// Debtors by id; `nameContains` narrows by name.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn debtors(
        &self,
        ctx: &Context<'_>,
        name_contains: Option<String>,
        #[graphql(desc = "1 to 100; default 20")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<DebtorCursor, Debtor>> {
        let after = decode::<String>(after)?;
        let page = desk(ctx)?
            .list_debtors(
                principal(ctx)?,
                name_contains.as_deref(),
                first.map(i64::from),
                after,
            )
            .await
            .map_err(errors::api)?;
        let mut conn = Connection::new(false, page.has_next);
        for record in page.debtors {
            let cursor = OpaqueCursor(record.row.debtor_id.clone());
            conn.edges
                .push(Edge::new(cursor, Debtor::new(ctx, record)?));
        }
        Ok(conn)
    }
}
