//! Per-request batch loaders, so a page of cases costs one query per relation whatever
//! its size. Each loader carries the caller, so the desk's authorisation applies.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use collections::ledger::Ledger;
use orm::entities::tasks;
use partners::Partners;
use services::access::Principal;
use services::desk::{DebtorRecord, Desk};

pub struct DebtorLoader(pub Desk, pub Principal);
pub struct OpenTasksLoader(pub Desk, pub Principal);
pub struct PartnerLoader(pub Partners, pub Principal);
/// A case's ledger lives in its state: one read per case and request, however many of
/// the case's money fields the query asks for.
pub struct LedgerLoader(pub Desk, pub Principal);

/// Loader errors are shared by every waiting field.
pub type LoadError = Arc<async_graphql::Error>;

impl Loader<String> for DebtorLoader {
    type Value = DebtorRecord;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = self
            .0
            .debtors(&self.1, keys)
            .await
            .map_err(|e| Arc::new(crate::errors::api(e)))?;
        Ok(rows
            .into_iter()
            .map(|d| (d.row.debtor_id.clone(), d))
            .collect())
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

/// How long a loader collects keys before it queries. async-graphql's 1 ms default was
/// shorter than resolving a page of 100 cases takes on a loaded 2-core machine, which
/// split a page's debtors into two queries (seen once in CI); 5 ms keeps a page to one.
const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(5);

fn loader<T: Loader<String>>(inner: T) -> Arc<DataLoader<T>> {
    Arc::new(DataLoader::new(inner, tokio::spawn).delay(BATCH_WINDOW))
}

impl Loaders {
    pub fn new(desk: &Desk, principal: &Principal) -> Self {
        Loaders {
            debtors: loader(DebtorLoader(desk.clone(), principal.clone())),
            open_tasks: loader(OpenTasksLoader(desk.clone(), principal.clone())),
            partners: loader(PartnerLoader(
                Partners::new(desk.clone()),
                principal.clone(),
            )),
            ledgers: loader(LedgerLoader(desk.clone(), principal.clone())),
        }
    }
}
