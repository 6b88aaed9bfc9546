//! Per-request batch loaders, so a page of cases costs one query per relation whatever
//! its size. Each loader carries the caller, so the desk's authorisation applies.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use collections::ledger::Ledger;
use orm::entities::{debtors, tasks};
use partners::Partners;
use services::access::Principal;
use services::desk::Desk;

pub struct DebtorLoader(pub Desk, pub Principal);
pub struct OpenTasksLoader(pub Desk, pub Principal);
pub struct PartnerLoader(pub Partners, pub Principal);
/// A case's ledger lives in its state: one read per case and request, however many of
/// the case's money fields the query asks for.
pub struct LedgerLoader(pub Desk, pub Principal);

/// Loader errors are shared by every waiting field.
pub type LoadError = Arc<async_graphql::Error>;

impl Loader<String> for DebtorLoader {
    type Value = debtors::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = self
            .0
            .debtors(&self.1, keys)
            .await
            .map_err(|e| Arc::new(crate::errors::api(e)))?;
        Ok(rows.into_iter().map(|d| (d.debtor_id.clone(), d)).collect())
    }
}

impl Loader<String> for OpenTasksLoader {
    type Value = Vec<tasks::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = self
            .0
            .open_tasks_of(&self.1, keys)
            .await
            .map_err(|e| Arc::new(crate::errors::api(e)))?;
        let mut out: HashMap<String, Vec<tasks::Model>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for t in rows {
            out.entry(t.case_id.clone()).or_default().push(t);
        }
        Ok(out)
    }
}

impl Loader<String> for PartnerLoader {
    type Value = partners::Partner;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = self
            .0
            .by_id(&self.1, keys)
            .await
            .map_err(|e| Arc::new(crate::errors::api(e)))?;
        Ok(rows
            .into_iter()
            .map(|p| (p.partner_id.clone(), p))
            .collect())
    }
}

impl Loader<String> for LedgerLoader {
    type Value = Arc<Ledger>;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        for case_id in keys {
            let ledger = self
                .0
                .ledger(&self.1, case_id)
                .await
                .map_err(|e| Arc::new(crate::errors::api(e)))?;
            if let Some(ledger) = ledger {
                out.insert(case_id.clone(), Arc::new(ledger));
            }
        }
        Ok(out)
    }
}

/// The loaders for one request (cloned into each operation of a batch, sharing caches).
#[derive(Clone)]
pub struct Loaders {
    pub debtors: Arc<DataLoader<DebtorLoader>>,
    pub open_tasks: Arc<DataLoader<OpenTasksLoader>>,
    pub partners: Arc<DataLoader<PartnerLoader>>,
    pub ledgers: Arc<DataLoader<LedgerLoader>>,
}

impl Loaders {
    pub fn new(desk: &Desk, principal: &Principal) -> Self {
        Loaders {
            debtors: Arc::new(DataLoader::new(
                DebtorLoader(desk.clone(), principal.clone()),
                tokio::spawn,
            )),
            open_tasks: Arc::new(DataLoader::new(
                OpenTasksLoader(desk.clone(), principal.clone()),
                tokio::spawn,
            )),
            partners: Arc::new(DataLoader::new(
                PartnerLoader(Partners::new(desk.clone()), principal.clone()),
                tokio::spawn,
            )),
            ledgers: Arc::new(DataLoader::new(
                LedgerLoader(desk.clone(), principal.clone()),
                tokio::spawn,
            )),
        }
    }
}
