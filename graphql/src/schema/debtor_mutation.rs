//! Debtor mutations: register a debtor's file, then record what changes. Each input is
//! checked into the domain's values (a phone number against its numbering plan, a
//! country against ISO 3166) before anything is written; every mutation takes an
//! idempotency key, so a retry answers what the first attempt did.

use async_graphql::{Context, ID, InputObject, Object, OneofObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use collections::debtor::{
    self as d, ConsentGrant, ContactOwner, DebtorChange, Email, Jurisdiction, LanguageTag, Made,
    NewContact, Phone, PostalAddress,
};
use services::desk::DebtorOutcome;

use super::debtors::{ConsentMethod, ContactChannel, Debtor, DebtorFlag, DebtorKind, Relationship};
use super::{desk, principal};
use crate::errors::{self, ErrorCode, coded};

#[derive(InputObject)]
pub struct PhoneInput {
    /// As written: `+57 310 123 4567`, `(212) 555-0100`.
    pub number: String,
    /// ISO 3166-1 country the number is dialled in, for a number without its `+code`.
    pub dialled_in: Option<String>,
}

#[derive(InputObject)]
pub struct PostalAddressInput {
    pub lines: Vec<String>,
    pub locality: String,
    /// ISO 3166-2 subdivision code (a US or Mexican state narrows the time zones).
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
}

/// Exactly one kind of contact point.
#[derive(OneofObject)]
pub enum ContactPointInput {
    Phone(PhoneInput),
    Email(String),
    PostalAddress(PostalAddressInput),
}

#[derive(InputObject)]
pub struct ConsentInput {
    pub channel: ContactChannel,
    /// When it was given; now when omitted. Never in the future.
    pub given_at: Option<DateTime<Utc>>,
    pub how: ConsentMethod,
    /// Who gave it: the debtor, or who acts for them.
    pub given_by: String,
}

#[derive(InputObject)]
pub struct ContactInput {
    pub point: ContactPointInput,
    #[graphql(default)]
    pub consents: Vec<ConsentInput>,
}

#[derive(InputObject)]
pub struct RelatedPartyInput {
    pub relationship: Relationship,
    pub kind: DebtorKind,
    pub name: String,
    #[graphql(default)]
    pub contacts: Vec<ContactInput>,
}

#[derive(InputObject)]
pub struct RegisterDebtorInput {
    /// The creditor's debtor reference; a debtor a case already names keeps its cases.
    pub id: String,
    pub kind: DebtorKind,
    pub name: String,
    /// ISO 3166-1 alpha-2: whose law applies.
    pub country: String,
    pub region: Option<String>,
    /// BCP 47, e.g. `es-CO`.
    pub language: Option<String>,
    /// IANA zone, when the debtor's own zone is known.
    pub time_zone: Option<String>,
    #[graphql(default)]
    pub contacts: Vec<ContactInput>,
    #[graphql(default)]
    pub related_parties: Vec<RelatedPartyInput>,
    pub idempotency_key: Option<String>,
}

/// Fields to change; omitted ones stay. An empty `language` or `timeZone` clears it.
#[derive(InputObject)]
pub struct UpdateDebtorInput {
    pub name: Option<String>,
    pub language: Option<String>,
    pub time_zone: Option<String>,
    /// Country and region together: a new jurisdiction.
    pub country: Option<String>,
    pub region: Option<String>,
}

/// The debtor after a change, and the id of what it added.
#[derive(SimpleObject)]
pub struct DebtorChangeResult {
    pub debtor: Debtor,
    /// The contact added (addDebtorContact).
    pub contact_id: Option<i32>,
    /// The consent recorded (giveConsent).
    pub consent_id: Option<i32>,
    /// The related party added (addRelatedParty).
    pub party_index: Option<i32>,
}

fn result(ctx: &Context<'_>, outcome: DebtorOutcome) -> Result<DebtorChangeResult> {
    let (mut contact_id, mut consent_id, mut party_index) = (None, None, None);
    for made in &outcome.made {
        match made {
            Made::Contact(c) => contact_id = Some(c.0 as i32),
            Made::Consent(c) => consent_id = Some(c.0 as i32),
            Made::Party(p) => party_index = Some(*p as i32),
            Made::Nothing => {}
        }
    }
    Ok(DebtorChangeResult {
        debtor: Debtor::new(ctx, outcome.debtor)?,
        contact_id,
        consent_id,
        party_index,
    })
}

fn point(input: ContactPointInput) -> Result<d::ContactPoint> {
    Ok(match input {
        ContactPointInput::Phone(p) => {
            let country = p
                .dialled_in
                .as_deref()
                .map(d::Country::from_code)
                .transpose()
                .map_err(errors::api)?;
            d::ContactPoint::Phone(Phone::parse(&p.number, country).map_err(errors::api)?)
        }
        ContactPointInput::Email(e) => {
            d::ContactPoint::Email(Email::parse(&e).map_err(errors::api)?)
        }
        ContactPointInput::PostalAddress(a) => d::ContactPoint::Postal(
            PostalAddress::new(
                a.lines,
                &a.locality,
                a.region.as_deref(),
                a.postal_code.as_deref(),
                &a.country,
            )
            .map_err(errors::api)?,
        ),
    })
}

fn grant(c: ConsentInput, now: DateTime<Utc>) -> ConsentGrant {
    ConsentGrant {
        channel: c.channel.into(),
        given_at: c.given_at.unwrap_or(now),
        how: c.how.into(),
        given_by: c.given_by,
    }
}

fn contact(c: ContactInput, now: DateTime<Utc>) -> Result<NewContact> {
    Ok(NewContact {
        point: point(c.point)?,
        consents: c.consents.into_iter().map(|g| grant(g, now)).collect(),
    })
}

fn party_change(p: RelatedPartyInput, now: DateTime<Utc>) -> Result<DebtorChange> {
    Ok(DebtorChange::PartyAdded {
        relationship: p.relationship.into(),
        kind: p.kind.into(),
        name: p.name,
        contacts: p
            .contacts
            .into_iter()
            .map(|c| contact(c, now))
            .collect::<Result<_>>()?,
    })
}

fn owner(party: Option<i32>) -> Result<ContactOwner> {
    match party {
        None => Ok(ContactOwner::Debtor),
        Some(i) => u32::try_from(i)
            .map(ContactOwner::Party)
            .map_err(|_| coded(ErrorCode::BadInput, format!("party index {i} is negative"))),
    }
}

fn index(what: &str, i: i32) -> Result<u32> {
    u32::try_from(i).map_err(|_| coded(ErrorCode::BadInput, format!("{what} {i} is negative")))
}

fn language(text: &str) -> Result<Option<LanguageTag>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    LanguageTag::parse(text).map(Some).map_err(errors::api)
}

fn time_zone(text: &str) -> Result<Option<d::Tz>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    d::parse_time_zone(text).map(Some).map_err(errors::api)
}

async fn change(
    ctx: &Context<'_>,
    debtor_id: &str,
    changes: Vec<DebtorChange>,
    key: Option<String>,
) -> Result<DebtorChangeResult> {
    let outcome = desk(ctx)?
        .change_debtor(principal(ctx)?, debtor_id, changes, key)
        .await
        .map_err(errors::api)?;
    result(ctx, outcome)
}

#[derive(Default)]
pub struct DebtorMutation;

#[Object]
impl DebtorMutation {
    /// Registers a debtor's file with the contacts, consents and related parties known
    /// (supervisors, admins, agents).
    async fn register_debtor(
        &self,
        ctx: &Context<'_>,
        input: RegisterDebtorInput,
    ) -> Result<DebtorChangeResult> {
        let now = desk(ctx)?.clock().now();
        let jurisdiction =
            Jurisdiction::new(&input.country, input.region.as_deref()).map_err(errors::api)?;
        let mut changes = vec![DebtorChange::Registered {
            kind: input.kind.into(),
            name: input.name,
            jurisdiction,
        }];
        if let Some(l) = input
            .language
            .as_deref()
            .map(language)
            .transpose()?
            .flatten()
        {
            changes.push(DebtorChange::LanguageSet { language: Some(l) });
        }
        if let Some(tz) = input
            .time_zone
            .as_deref()
            .map(time_zone)
            .transpose()?
            .flatten()
        {
            changes.push(DebtorChange::TimeZoneSet {
                time_zone: Some(tz),
            });
        }
        for c in input.contacts {
            let c = contact(c, now)?;
            changes.push(DebtorChange::ContactAdded {
                owner: ContactOwner::Debtor,
                point: c.point,
                consents: c.consents,
            });
        }
        for p in input.related_parties {
            changes.push(party_change(p, now)?);
        }
        let outcome = desk(ctx)?
            .register_debtor(principal(ctx)?, &input.id, changes, input.idempotency_key)
            .await
            .map_err(errors::api)?;
        result(ctx, outcome)
    }

    /// Renames the debtor, or changes language, zone or jurisdiction.
    async fn update_debtor(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateDebtorInput,
        idempotency_key: Option<String>,
    ) -> Result<DebtorChangeResult> {
        let mut changes = Vec::new();
        if let Some(name) = input.name {
            changes.push(DebtorChange::Renamed { name });
        }
        if let Some(l) = input.language {
            changes.push(DebtorChange::LanguageSet {
                language: language(&l)?,
            });
        }
        if let Some(tz) = input.time_zone {
            changes.push(DebtorChange::TimeZoneSet {
                time_zone: time_zone(&tz)?,
            });
        }
        match (input.country, input.region) {
            (Some(country), region) => changes.push(DebtorChange::JurisdictionSet {
                jurisdiction: Jurisdiction::new(&country, region.as_deref())
                    .map_err(errors::api)?,
            }),
            (None, Some(_)) => {
                return Err(coded(
                    ErrorCode::BadInput,
                    "a region needs its country: give both",
                ));
            }
            (None, None) => {}
        }
        change(ctx, &id, changes, idempotency_key).await
    }

    /// Adds a contact point (with its consents) to the debtor, or to a related party
    /// when `party` names one.
    async fn add_debtor_contact(
        &self,
        ctx: &Context<'_>,
        debtor_id: ID,
        party: Option<i32>,
        contact: ContactInput,
        idempotency_key: Option<String>,
    ) -> Result<DebtorChangeResult> {
        let now = desk(ctx)?.clock().now();
        let c = self::contact(contact, now)?;
        let changes = vec![DebtorChange::ContactAdded {
            owner: owner(party)?,
            point: c.point,
            consents: c.consents,
        }];
        change(ctx, &debtor_id, changes, idempotency_key).await
    }

    /// Records a consent for a channel on one contact point.
    async fn give_consent(
        &self,
        ctx: &Context<'_>,
        debtor_id: ID,
        party: Option<i32>,
        contact_id: i32,
        consent: ConsentInput,
        idempotency_key: Option<String>,
    ) -> Result<DebtorChangeResult> {
        let g = grant(consent, desk(ctx)?.clock().now());
        let changes = vec![DebtorChange::ConsentGiven {
            owner: owner(party)?,
            contact: d::ContactId(index("contact id", contact_id)?),
            channel: g.channel,
            given_at: g.given_at,
            how: g.how,
            given_by: g.given_by,
        }];
        change(ctx, &debtor_id, changes, idempotency_key).await
    }

    /// Revokes a consent from `at` (now when omitted) on.
    #[allow(clippy::too_many_arguments)]
    async fn revoke_consent(
        &self,
        ctx: &Context<'_>,
        debtor_id: ID,
        party: Option<i32>,
        contact_id: i32,
        consent_id: i32,
        at: Option<DateTime<Utc>>,
        idempotency_key: Option<String>,
    ) -> Result<DebtorChangeResult> {
        let at = at.unwrap_or(desk(ctx)?.clock().now());
        let changes = vec![DebtorChange::ConsentRevoked {
            owner: owner(party)?,
            contact: d::ContactId(index("contact id", contact_id)?),
            consent: d::ConsentId(index("consent id", consent_id)?),
            at,
            by: principal(ctx)?.acting_identity(),
        }];
        change(ctx, &debtor_id, changes, idempotency_key).await
    }

    /// Raises a flag now (a dispute, a cease request, …); partners may too.
    async fn set_debtor_flag(
        &self,
        ctx: &Context<'_>,
        debtor_id: ID,
        flag: DebtorFlag,
        reason: String,
        idempotency_key: Option<String>,
    ) -> Result<DebtorChangeResult> {
        let changes = vec![DebtorChange::FlagSet {
            flag: flag.into(),
            at: desk(ctx)?.clock().now(),
            by: principal(ctx)?.acting_identity(),
            reason,
        }];
        change(ctx, &debtor_id, changes, idempotency_key).await
    }

    /// Clears a flag now (the creditor's people only).
    async fn clear_debtor_flag(
        &self,
        ctx: &Context<'_>,
        debtor_id: ID,
        flag: DebtorFlag,
        reason: String,
        idempotency_key: Option<String>,
    ) -> Result<DebtorChangeResult> {
        let changes = vec![DebtorChange::FlagCleared {
            flag: flag.into(),
            at: desk(ctx)?.clock().now(),
            by: principal(ctx)?.acting_identity(),
            reason,
        }];
        change(ctx, &debtor_id, changes, idempotency_key).await
    }

    /// Adds a guarantor, co-debtor, employer or relative (the last two only so that
    /// they are never told).
    async fn add_related_party(
        &self,
        ctx: &Context<'_>,
        debtor_id: ID,
        party: RelatedPartyInput,
        idempotency_key: Option<String>,
    ) -> Result<DebtorChangeResult> {
        let now = desk(ctx)?.clock().now();
        let changes = vec![party_change(party, now)?];
        change(ctx, &debtor_id, changes, idempotency_key).await
    }
}
