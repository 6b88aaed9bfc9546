//! Fresh databases per test, dropped when the test ends (also on panic). Shared by the
//! test suites of every crate (feature `testing`), so each test owns its database.

use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::DatabaseConnection;

use crate::scratch::ScratchDatabase;

/// Environment variable naming the PostgreSQL admin connection used to create databases.
pub const PG_URL_VAR: &str = "RECOBRO_TEST_DATABASE_URL";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other test of any running test process uses.
pub fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("recobro_test_{}_{n}", std::process::id())
}

/// A database that exists for one test, opened with [`crate::connect`].
pub struct TestDb {
    pub db: DatabaseConnection,
    scratch: ScratchDatabase,
}

impl TestDb {
    /// A new SQLite file under the temp directory.
    pub async fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
        Self::open(ScratchDatabase::sqlite(&path)).await
    }

    /// A new PostgreSQL database, or `None` (with a note) when [`PG_URL_VAR`] is unset.
    pub async fn postgres(test: &str) -> Option<TestDb> {
        Some(Self::open(Self::postgres_unopened(test).await?).await)
    }

    /// A new PostgreSQL database for a child process to open (a server under test), or
    /// `None` (with a note) when [`PG_URL_VAR`] is unset.
    pub async fn postgres_unopened(test: &str) -> Option<ScratchDatabase> {
        let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
            eprintln!("note: {test}: PostgreSQL variant skipped, {PG_URL_VAR} is not set");
            return None;
        };
        Some(
            ScratchDatabase::postgres(&admin_url, &unique_name())
                .await
                .expect("create a PostgreSQL test database"),
        )
    }

    async fn open(scratch: ScratchDatabase) -> TestDb {
        let db = crate::connect(scratch.url())
            .await
            .expect("open the test database");
        TestDb { db, scratch }
    }

    /// The database's URL, for another process (a child under test) to open it.
    pub fn url(&self) -> &str {
        self.scratch.url()
    }
}

/// Runs one async scenario (`async fn(&DatabaseConnection)`) as two tests, `NAME::sqlite`
/// and `NAME::postgres`, each on a database of its own. The scenario is named relative to
/// the calling module (or by an absolute path); the optional attribute picks the async
/// test runtime (`#[actix::test]` where actors run; `#[tokio::test]` by default).
#[macro_export]
macro_rules! on_both {
    (#[$test:meta] $name:ident, $scenario:path) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[$test]
            async fn sqlite() {
                let t = $crate::testing::TestDb::sqlite().await;
                $scenario(&t.db).await;
            }

            #[$test]
            async fn postgres() {
                let Some(t) = $crate::testing::TestDb::postgres(stringify!($name)).await else {
                    return;
                };
                $scenario(&t.db).await;
            }
        }
    };
    ($name:ident, $scenario:path) => {
        $crate::on_both!(
            #[tokio::test]
            $name,
            $scenario
        );
    };
}
