//! A runtime over a fresh database per test, on a virtual clock.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
pub use orm::testing::TestDb;
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

/// Runs one async scenario on SQLite and, when configured, on PostgreSQL.
macro_rules! on_both {
    ($name:ident, $scenario:path) => {
        mod $name {
            #[actix::test]
            async fn sqlite() {
                let t = $crate::support::TestDb::sqlite().await;
                $scenario(&t.db).await;
            }

            #[actix::test]
            async fn postgres() {
                let Some(t) = $crate::support::TestDb::postgres(stringify!($name)).await else {
                    return;
                };
                $scenario(&t.db).await;
            }
        }
    };
}
pub(crate) use on_both;
