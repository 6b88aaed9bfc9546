//! Per-test databases come from `orm::testing`; this adds the macro the suites use.

pub use orm::testing::TestDb;

/// Runs one async scenario on SQLite and, when configured, on PostgreSQL.
macro_rules! on_both {
    ($name:ident, $scenario:path) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let t = $crate::support::TestDb::sqlite().await;
                $scenario(&t.db).await;
            }

            #[tokio::test]
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
