//! The case runtime's group-commit writers get connections of their own on PostgreSQL,
//! with the planner held to index probes; the shared pool keeps the server's settings.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::support::on_both;

async fn planner_settings(db: &DatabaseConnection) -> String {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_setting('enable_hashjoin') || '/' || current_setting('enable_mergejoin') \
             || '/' || current_setting('enable_seqscan') AS s",
        ))
        .await
        .expect("query")
        .expect("a row");
    row.try_get("", "s").expect("settings")
}

async fn writer_connections_rule_out_hash_joins_and_scans(db: &DatabaseConnection) {
    let Some(writers) = orm::writer_connections(db, 2) else {
        assert_eq!(db.get_database_backend(), DbBackend::Sqlite);
        return;
    };
    assert_eq!(planner_settings(&writers).await, "off/off/off");
    assert_eq!(planner_settings(db).await, "on/on/on");
    // Same database: what one writes the other reads.
    writers
        .execute_unprepared(
            "CREATE TABLE writer_probe (n int); INSERT INTO writer_probe VALUES (7)",
        )
        .await
        .expect("write on the writer connections");
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT n FROM writer_probe",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i32>("", "n").unwrap(), 7);
    writers.close().await.expect("close the writer pool");
}

on_both!(
    writer_connections,
    super::writer_connections_rule_out_hash_joins_and_scans
);
