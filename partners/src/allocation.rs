//! Which partner gets a case when nobody names one: those that work the debtor's
//! jurisdiction and have room (open placements under their capacity), split by weight
//! — champion and challenger agencies — deterministically per case: the same case goes
//! to the same partner however often the choice is made, so a replay, a retried job and
//! a simulation agree.

use std::collections::BTreeMap;

use collections::debtor::Country;
use orm::entities::{cases, partners};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use services::access::{Operation, Principal};
use services::desk::{DeskError, require};
use sha2::{Digest, Sha256};

use crate::{Partner, Partners};

/// A partner's allocation rules, kept on its row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AllocationRules {
    /// ISO 3166-1 alpha-2 countries whose debtors it works; empty: any.
    #[serde(default)]
    pub jurisdictions: Vec<String>,
    /// Most cases placed with it at once (offered or accepted); none: no limit.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// Its share of the cases the rules allocate among the partners that qualify; 0
    /// takes none.
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

impl Default for AllocationRules {
    fn default() -> Self {
        AllocationRules {
            jurisdictions: Vec::new(),
            capacity: None,
            weight: 1,
        }
    }
}

/// The rules a partner's row holds (the defaults when it holds none).
pub fn rules_of(partner: &Partner) -> Result<AllocationRules, DeskError> {
    match &partner.allocation {
        None => Ok(AllocationRules::default()),
        Some(json) => serde_json::from_str(json).map_err(|e| {
            DeskError::Invalid(format!(
                "partner {}'s allocation rules do not read: {e}",
                partner.partner_id
            ))
        }),
    }
}

/// One partner as the choice sees it.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub partner_id: &'a str,
    pub rules: AllocationRules,
    /// Cases placed with it now.
    pub open: u64,
}

/// The partner for case `case_id` of a debtor in `country` (none: unknown), or why none
/// qualifies.
pub fn choose<'a>(
    candidates: &[Candidate<'a>],
    case_id: &str,
    country: Option<&str>,
) -> Result<&'a str, String> {
    let mut eligible: Vec<&Candidate<'a>> = candidates
        .iter()
        .filter(|c| c.rules.weight > 0)
        .filter(|c| {
            c.rules.jurisdictions.is_empty()
                || country.is_some_and(|k| c.rules.jurisdictions.iter().any(|j| j == k))
        })
        .collect();
    if eligible.is_empty() {
        return Err(format!(
            "no active partner works debtors of {}",
            country.unwrap_or("an unknown jurisdiction")
        ));
    }
    eligible.retain(|c| c.rules.capacity.is_none_or(|cap| c.open < u64::from(cap)));
    if eligible.is_empty() {
        return Err("every partner that could take the case is at its capacity".into());
    }
    eligible.sort_by_key(|c| c.partner_id);
    let total: u64 = eligible.iter().map(|c| u64::from(c.rules.weight)).sum();
    // A point in [0, total): each partner owns a run of its weight's length.
    let mut point = share_point(case_id) % total;
    let owner = eligible.iter().find(|c| {
        let w = u64::from(c.rules.weight);
        if point < w {
            return true;
        }
        point -= w;
        false
    });
    Ok(owner.unwrap_or(&eligible[0]).partner_id)
}

/// Where a case falls in the split: the first 8 bytes of its id's SHA-256.
fn share_point(case_id: &str) -> u64 {
    let digest = Sha256::digest(case_id.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes)
}

impl Partners {
    /// Sets a partner's allocation rules (admins, supervisors).
    pub async fn set_allocation(
        &self,
        p: &Principal,
        partner_id: &str,
        rules: AllocationRules,
    ) -> Result<Partner, DeskError> {
        require(p, Operation::ManagePartners, "set allocation rules")?;
        let mut rules = rules;
        for j in &mut rules.jurisdictions {
            *j = Country::from_code(j)
                .map_err(|_| {
                    DeskError::Invalid(format!(
                        "jurisdiction {j:?} is not an ISO 3166-1 alpha-2 country code"
                    ))
                })?
                .code()
                .to_string();
        }
        if rules.weight > 1000 {
            return Err(DeskError::Invalid("a weight is 0 to 1000".into()));
        }
        let partner = self.get(p, partner_id).await?;
        let json = serde_json::to_string(&rules)
            .map_err(|e| DeskError::Invalid(format!("the rules do not serialise: {e}")))?;
        let mut row = partner.into_active_model();
        row.allocation = Set(Some(json));
        Ok(row.update(self.desk.db()).await?)
    }

    /// Cases placed with each partner of the caller's tenant now.
    pub async fn open_placements(&self, p: &Principal) -> Result<BTreeMap<String, u64>, DeskError> {
        let rows: Vec<(Option<String>, i64)> = cases::Entity::find()
            .select_only()
            .column(cases::Column::Partner)
            .column_as(cases::Column::CaseId.count(), "open")
            .filter(cases::Column::Tenant.eq(p.tenant.as_str()))
            .filter(cases::Column::Partner.is_not_null())
            .group_by(cases::Column::Partner)
            .into_tuple()
            .all(self.desk.db())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, n)| Some((id?, n.max(0) as u64)))
            .collect())
    }

    /// The active partner of `kind` (`agency`, `law_firm`) the rules give `case_id`.
    pub async fn allocate(
        &self,
        p: &Principal,
        case_id: &str,
        kind: &str,
    ) -> Result<Partner, DeskError> {
        let case = self.desk.case(p, case_id).await?;
        self.allocate_for(p, &case, kind).await
    }

    /// [`Partners::allocate`] for a case already read.
    pub(crate) async fn allocate_for(
        &self,
        p: &Principal,
        case: &cases::Model,
        kind: &str,
    ) -> Result<Partner, DeskError> {
        let case_id = case.case_id.as_str();
        let country = match &case.debtor_id {
            Some(id) => self
                .desk
                .debtor(p, id)
                .await?
                .file
                .map(|f| f.jurisdiction.country.code().to_string()),
            None => None,
        };
        let all: Vec<Partner> = partners::Entity::find()
            .filter(partners::Column::Tenant.eq(p.tenant.as_str()))
            .filter(partners::Column::Active.eq(true))
            .filter(partners::Column::Kind.eq(kind))
            .all(self.desk.db())
            .await?;
        let open = self.open_placements(p).await?;
        let candidates = all
            .iter()
            .map(|row| {
                Ok(Candidate {
                    partner_id: &row.partner_id,
                    rules: rules_of(row)?,
                    open: open.get(&row.partner_id).copied().unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, DeskError>>()?;
        let chosen = choose(&candidates, case_id, country.as_deref())
            .map_err(|why| DeskError::Conflict(format!("no {kind} for case {case_id}: {why}")))?;
        all.iter()
            .find(|row| row.partner_id == chosen)
            .cloned()
            .ok_or_else(|| DeskError::PartnerNotFound(chosen.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, weight: u32) -> Candidate<'_> {
        Candidate {
            partner_id: id,
            rules: AllocationRules {
                weight,
                ..AllocationRules::default()
            },
            open: 0,
        }
    }

    #[test]
    fn weights_split_the_cases_and_each_case_always_goes_the_same_way() {
        let pair = [candidate("champion", 3), candidate("challenger", 1)];
        let chosen: Vec<&str> = (0..4000)
            .map(|i| choose(&pair, &format!("case-{i}"), None).unwrap())
            .collect();
        let champion = chosen.iter().filter(|c| **c == "champion").count();
        // 3:1 of 4,000 is 3,000; a fair split stays well within ±150.
        assert!((2850..=3150).contains(&champion), "{champion}");
        // The same case, asked again or with the candidates listed the other way round.
        let reversed = [candidate("challenger", 1), candidate("champion", 3)];
        for i in 0..200 {
            let case = format!("case-{i}");
            assert_eq!(choose(&pair, &case, None), choose(&reversed, &case, None));
        }
        // Weight 0 takes nothing.
        let off = [candidate("champion", 1), candidate("resting", 0)];
        assert!((0..500).all(|i| choose(&off, &format!("c{i}"), None) == Ok("champion")));
    }

    #[test]
    fn jurisdiction_and_capacity_decide_who_qualifies() {
        let mut co = candidate("co-only", 1);
        co.rules.jurisdictions = vec!["CO".into()];
        let mut full = candidate("full", 1);
        full.rules.capacity = Some(2);
        full.open = 2;
        let any = candidate("anywhere", 1);
        assert_eq!(choose(&[co.clone()], "c1", Some("CO")), Ok("co-only"));
        let refused = choose(&[co.clone()], "c1", Some("MX")).unwrap_err();
        assert!(refused.contains("MX"), "{refused}");
        assert!(choose(&[co.clone()], "c1", None).is_err());
        let at_capacity = choose(&[full.clone()], "c1", None).unwrap_err();
        assert!(at_capacity.contains("capacity"), "{at_capacity}");
        for i in 0..50 {
            assert_eq!(
                choose(
                    &[co.clone(), full.clone(), any.clone()],
                    &format!("c{i}"),
                    Some("MX")
                ),
                Ok("anywhere")
            );
        }
    }

    #[test]
    fn rules_read_back_and_refuse_unknown_fields() {
        let rules: AllocationRules =
            serde_json::from_str(r#"{"jurisdictions":["CO"],"capacity":10,"weight":3}"#).unwrap();
        assert_eq!(rules.capacity, Some(10));
        let text = serde_json::to_string(&rules).unwrap();
        assert_eq!(
            serde_json::from_str::<AllocationRules>(&text).unwrap(),
            rules
        );
        assert!(serde_json::from_str::<AllocationRules>(r#"{"share":3}"#).is_err());
        assert_eq!(
            serde_json::from_str::<AllocationRules>("{}").unwrap(),
            AllocationRules::default()
        );
    }
}
