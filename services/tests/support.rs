//! A runtime over a fresh database per test, on a virtual clock.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use sea_orm::DatabaseConnection;
use services::clock::VirtualClock;
use services::runtime::{Runtime, RuntimeConfig};

pub fn clock() -> Arc<VirtualClock> {
    Arc::new(VirtualClock::new(
        Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap(),
    ))
}

pub async fn runtime(db: &DatabaseConnection, clock: Arc<VirtualClock>) -> Runtime {
    orm::migrate(db).await.expect("migrate");
    Runtime::start(db.clone(), clock, RuntimeConfig::default())
}

/// [`orm::on_both`] on actix::test's runtime.
macro_rules! on_both {
    ($($scenario:tt)*) => {
        orm::on_both!(#[actix::test] $($scenario)*);
    };
}
pub(crate) use on_both;
