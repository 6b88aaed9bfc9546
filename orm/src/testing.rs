//! Fresh databases per test, dropped when the test ends (also on panic). Shared by the
//! test suites of every crate (feature `testing`), so each test owns its database.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

/// Environment variable naming the PostgreSQL admin connection used to create databases.
pub const PG_URL_VAR: &str = "RECOBRO_TEST_DATABASE_URL";

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("recobro_test_{}_{n}", std::process::id())
}

/// A database that exists for one test.
pub struct TestDb {
    pub db: DatabaseConnection,
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A new SQLite file under the temp directory, opened with [`orm::connect`].
    pub async fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let db = crate::connect(&url).await.expect("open SQLite");
        TestDb {
            db,
            url,
            cleanup: Cleanup::Sqlite(path),
        }
    }

    /// A new PostgreSQL database, or `None` (with a note) when [`PG_URL_VAR`] is unset.
    pub async fn postgres(test: &str) -> Option<TestDb> {
        let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
            eprintln!("note: {test}: PostgreSQL variant skipped, {PG_URL_VAR} is not set");
            return None;
        };
        let name = unique_name();
        let admin = Database::connect(admin_url.as_str())
            .await
            .expect("connect to the PostgreSQL admin database");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        admin.close().await.expect("close admin connection");
        let url = with_database(&admin_url, &name);
        let db = crate::connect(&url).await.expect("open test database");
        Some(TestDb {
            db,
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }
}

impl TestDb {
    /// The database's URL, for another process (a child under test) to open it.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// `admin_url` with its database name replaced by `name` (query string kept).
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{name}?{query}"),
        None => format!("{host_part}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                // Drop is synchronous: run the DROP on a runtime of its own thread.
                // WITH (FORCE) ends the test's own pooled sessions (PostgreSQL 13+).
                let admin_url = admin_url.clone();
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    runtime.block_on(async {
                        let admin = Database::connect(admin_url.as_str()).await?;
                        admin.execute_unprepared(&sql).await?;
                        admin.close().await
                    })
                })
                .join();
                if !matches!(dropped, Ok(Ok(()))) {
                    eprintln!("warning: test database {name} was not dropped");
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_replaced_in_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
