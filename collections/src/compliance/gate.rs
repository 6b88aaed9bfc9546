//! The gate: may this contact be made now, and if not, why and when?
//!
//! The rules in force are the law pack of the debtor's country in the version effective
//! at the instant, plus the creditor's own policy packs. A contact is allowed only if
//! every rule allows it; a creditor's policy can therefore only narrow the law. A debtor
//! whose country has no law pack is not contacted at all (fail safe).
//!
//! The next lawful slot is found by moving to the latest of the rules' own earliest
//! allowed instants until all agree; each rule's answer is exact, so no lawful instant is
//! skipped and the slot is the first one. Version changes are stepped on: a slot is
//! judged under the version in force at the slot.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::facts::{Facts, Recipient, Request};
use super::pack::{Authority, Check, PackError, Period, Rule, RulePack};
use super::{local, rules};
use crate::debtor::{Country, FlagKind};

/// How far ahead the gate looks for a lawful slot.
pub const HORIZON_DAYS: i64 = 400;

/// A pack and the version of it that decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackRef {
    pub id: String,
    pub version: u32,
}

/// One rule that refuses the contact, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub pack: PackRef,
    pub rule: String,
    /// The legal reference (or the policy's), e.g. "Reg F §1006.14(b)(2)".
    pub reference: String,
    pub reason: String,
}

/// Why no rule could even be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GateRefusal {
    #[error("no rule pack for the law of {country}: contact is refused until one is deployed")]
    UnknownJurisdiction { country: String },
    #[error(
        "the case has no registered debtor: the law that protects them is unknown, so no contact"
    )]
    UnknownDebtor,
    #[error("the law pack {pack} of {country} takes effect only on {from}")]
    NoPackInForce {
        country: String,
        pack: String,
        from: chrono::NaiveDate,
    },
}

/// The gate's answer, with what an auditor needs to check it later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub at: DateTime<Utc>,
    /// The packs in force at `at` (the law first).
    pub packs: Vec<PackRef>,
    /// Empty when the contact is allowed.
    pub blocks: Vec<Block>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<GateRefusal>,
    /// When blocked: the first instant every rule allows it; `None` when none will while
    /// the facts stay as they are (cease, dispute, no consent, no pack) or none comes
    /// within [`HORIZON_DAYS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_slot: Option<DateTime<Utc>>,
    /// The facts the decision rested on, as an auditor reads them.
    pub basis: Basis,
}

/// What the gate knew when it decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Basis {
    pub country: String,
    /// The candidate zones the local-time rules were checked in.
    pub zones: Vec<String>,
    /// The debtor's flags active at the instant.
    pub flags: Vec<FlagKind>,
    /// Whether a consent for the channel was in force on the contact point used.
    pub consent: Option<bool>,
    /// Earlier contacts of the debtor the rules could count (all debts).
    pub earlier_contacts: usize,
}

impl Basis {
    fn of(facts: &Facts<'_>, req: &Request, at: DateTime<Utc>) -> Basis {
        Basis {
            country: facts.country.code().to_owned(),
            zones: facts.zones.iter().map(|z| z.name().to_owned()).collect(),
            flags: facts.flags.active_flags(at).into_iter().collect(),
            consent: facts.contact.map(|c| c.authorised(req.channel, at)),
            earlier_contacts: facts.history.partition_point(|c| c.at <= at),
        }
    }
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.blocks.is_empty() && self.refusal.is_none()
    }
}

/// Every pack version known, law and policy.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    packs: Vec<RulePack>,
}

/// The law packs Recobro ships, one file per law.
pub const BUNDLED: [(&str, &str); 5] = [
    ("us-reg-f.toml", include_str!("packs/us-reg-f.toml")),
    ("co-ley-2300.toml", include_str!("packs/co-ley-2300.toml")),
    ("mx-condusef.toml", include_str!("packs/mx-condusef.toml")),
    ("cl-ley-21320.toml", include_str!("packs/cl-ley-21320.toml")),
    ("es-eu.toml", include_str!("packs/es-eu.toml")),
];

impl Gate {
    /// A gate over these packs; two packs with the same id and version, or two law
    /// packs of one country under different ids, are refused.
    pub fn new(packs: Vec<RulePack>) -> Result<Gate, PackError> {
        for (i, p) in packs.iter().enumerate() {
            for q in &packs[..i] {
                let clash = if p.id == q.id && p.version == q.version {
                    Some(format!("{} version {} is given twice", p.id, p.version))
                } else if p.authority == Authority::Law
                    && q.authority == Authority::Law
                    && p.country == q.country
                    && p.id != q.id
                {
                    Some(format!(
                        "{} and {} are both the law of {}: give one pack id new versions",
                        q.id,
                        p.id,
                        p.country
                            .map_or_else(|| "?".to_owned(), |c| c.code().to_owned())
                    ))
                } else if p.id == q.id && p.effective_from == q.effective_from {
                    Some(format!(
                        "{} versions {} and {} take effect on the same day",
                        p.id, q.version, p.version
                    ))
                } else {
                    None
                };
                if let Some(reason) = clash {
                    return Err(PackError {
                        file: p.id.clone(),
                        line: 1,
                        reason,
                    });
                }
            }
        }
        Ok(Gate { packs })
    }

    /// The bundled law packs.
    pub fn bundled() -> Result<Gate, PackError> {
        Self::with_bundled(Vec::new())
    }

    /// The bundled law packs and these (new law versions, creditors' policies).
    pub fn with_bundled(more: Vec<RulePack>) -> Result<Gate, PackError> {
        let mut packs = BUNDLED
            .iter()
            .map(|(file, text)| RulePack::parse(file, text))
            .collect::<Result<Vec<_>, _>>()?;
        packs.extend(more);
        Gate::new(packs)
    }

    pub fn packs(&self) -> &[RulePack] {
        &self.packs
    }

    /// The packs in force at `at` for a debtor under `country` of `creditor`: the law's
    /// latest version effective by then, and each policy's.
    pub fn in_force(
        &self,
        country: Country,
        creditor: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<&RulePack>, GateRefusal> {
        let day = at.date_naive();
        let latest = |wanted: &dyn Fn(&RulePack) -> bool| {
            let mut found: Vec<&RulePack> = Vec::new();
            for p in self
                .packs
                .iter()
                .filter(|p| wanted(p) && p.effective_from <= day)
            {
                match found.iter_mut().find(|f| f.id == p.id) {
                    Some(f) if f.effective_from < p.effective_from => *f = p,
                    Some(_) => {}
                    None => found.push(p),
                }
            }
            found
        };
        let law = latest(&|p| p.authority == Authority::Law && p.country == Some(country));
        if law.is_empty() {
            let pending = self
                .packs
                .iter()
                .filter(|p| p.authority == Authority::Law && p.country == Some(country))
                .min_by_key(|p| p.effective_from);
            return Err(match pending {
                Some(p) => GateRefusal::NoPackInForce {
                    country: country.code().to_owned(),
                    pack: p.id.clone(),
                    from: p.effective_from,
                },
                None => GateRefusal::UnknownJurisdiction {
                    country: country.code().to_owned(),
                },
            });
        }
        let mut packs = law;
        packs.extend(latest(&|p| {
            p.authority == Authority::Policy
                && p.creditor.as_deref() == Some(creditor)
                && p.country.is_none_or(|c| c == country)
        }));
        Ok(packs)
    }

    /// The first instant after `at` at which some pack of `country` or `creditor` takes
    /// effect.
    fn next_change(
        &self,
        country: Country,
        creditor: &str,
        at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.packs
            .iter()
            .filter(|p| match p.authority {
                Authority::Law => p.country == Some(country),
                Authority::Policy => p.creditor.as_deref() == Some(creditor),
            })
            .map(|p| p.effective_from.and_time(NaiveTime::MIN).and_utc())
            .filter(|from| *from > at)
            .min()
    }

    /// May `req` be made at `at`?
    pub fn decide(&self, facts: &Facts<'_>, req: &Request, at: DateTime<Utc>) -> Decision {
        let packs = match self.in_force(facts.country, facts.creditor, at) {
            Ok(p) => p,
            Err(refusal) => {
                return Decision {
                    at,
                    packs: Vec::new(),
                    blocks: Vec::new(),
                    refusal: Some(refusal),
                    next_slot: None,
                    basis: Basis::of(facts, req, at),
                };
            }
        };
        let mut blocks = Vec::new();
        for pack in &packs {
            for rule in applying(pack, req) {
                if rules::next_allowed(rule, facts, req, at) != Some(at) {
                    blocks.push(Block {
                        pack: PackRef {
                            id: pack.id.clone(),
                            version: pack.version,
                        },
                        rule: rule.id.clone(),
                        reference: rule.reference.clone(),
                        reason: explain(rule, facts, req, at),
                    });
                }
            }
        }
        let next_slot = if blocks.is_empty() {
            None
        } else {
            self.next_slot(facts, req, at)
        };
        Decision {
            at,
            packs: packs
                .iter()
                .map(|p| PackRef {
                    id: p.id.clone(),
                    version: p.version,
                })
                .collect(),
            blocks,
            refusal: None,
            next_slot,
            basis: Basis::of(facts, req, at),
        }
    }

    /// Whether `req` is allowed at `at` (the fast path of [`Gate::decide`]).
    pub fn allows(&self, facts: &Facts<'_>, req: &Request, at: DateTime<Utc>) -> bool {
        match self.in_force(facts.country, facts.creditor, at) {
            Ok(packs) => packs.iter().all(|p| {
                applying(p, req).all(|r| rules::next_allowed(r, facts, req, at) == Some(at))
            }),
            Err(_) => false,
        }
    }

    /// The first instant at or after `at` at which every rule in force allows `req`.
    pub fn next_slot(
        &self,
        facts: &Facts<'_>,
        req: &Request,
        at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let horizon = at + Duration::days(HORIZON_DAYS);
        let mut t = at;
        while t <= horizon {
            let packs = self.in_force(facts.country, facts.creditor, t).ok()?;
            let mut latest = t;
            for pack in &packs {
                for rule in applying(pack, req) {
                    latest = latest.max(rules::next_allowed(rule, facts, req, t)?);
                }
            }
            if latest == t {
                return Some(t);
            }
            // Another version may take over before then and allow earlier.
            t = match self.next_change(facts.country, facts.creditor, t) {
                Some(change) if change < latest => change,
                _ => latest,
            };
        }
        None
    }
}

fn applying<'a>(pack: &'a RulePack, req: &'a Request) -> impl Iterator<Item = &'a Rule> {
    pack.rules
        .iter()
        .filter(move |r| r.channels.contains(req.channel))
}

/// A block's reason, in words an agent and an auditor read.
fn explain(rule: &Rule, facts: &Facts<'_>, req: &Request, at: DateTime<Utc>) -> String {
    let zones: Vec<&str> = facts.zones.iter().map(|z| z.name()).collect();
    let local = |f: &dyn Fn(chrono_tz::Tz) -> String| {
        facts
            .zones
            .iter()
            .map(|z| f(*z))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &rule.check {
        Check::Hours(_) if zones.is_empty() => {
            "the debtor's time zone is unknown: local hours cannot be checked".into()
        }
        Check::Hours(_) => format!(
            "outside the permitted hours at {}",
            local(&|z| format!("{} {}", at.with_timezone(&z).format("%a %H:%M"), z.name()))
        ),
        Check::Holidays(c) => format!(
            "a public holiday or an uncovered date in {}: {}",
            c.code(),
            local(&|z| {
                let day = local::date(z, at);
                match crate::holidays::holiday(*c, day) {
                    Ok(Some(name)) => format!("{day} {name}"),
                    Ok(None) => format!("{day} working day"),
                    Err(e) => e.to_string(),
                }
            })
        ),
        Check::Frequency {
            max,
            period,
            min_gap,
            ..
        } => {
            let span = match period {
                Period::LocalDay => "a local day".to_owned(),
                Period::LocalWeek => "a local week".to_owned(),
                Period::Rolling(d) => format!("{} days", d.num_days()),
            };
            match min_gap {
                Some(gap) => format!(
                    "at most {max} contacts in {span}, at least {} hours apart",
                    gap.num_hours()
                ),
                None => format!("at most {max} contacts in {span}"),
            }
        }
        Check::AfterConversation { pause, .. } => format!(
            "a conversation with the debtor took place less than {} days ago",
            pause.num_days()
        ),
        Check::Flag(flag) => format!("the debtor's {flag:?} flag is set"),
        Check::ConsentRequired => format!(
            "no consent for {:?} in force on the contact point",
            req.channel
        ),
        Check::OptOut => format!(
            "the debtor opted out of {:?} on this contact point",
            req.channel
        ),
        Check::Recipients(_) => match req.recipient {
            Recipient::Party(r) => format!("{r:?} may not be contacted about the debt"),
            Recipient::Debtor => "the debtor".into(),
        },
    }
}
