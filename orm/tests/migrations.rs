//! Migrations: up, idempotent re-run, down removes every table, up again.

use orm::DatabaseConnection;
use orm::migration::{Migrator, TABLES};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, QueryOrder, Statement};
use sea_orm_migration::{MigratorTrait, SchemaManager};

use crate::support::{TestDb, on_both};

async fn existing_tables(db: &DatabaseConnection) -> Vec<&'static str> {
    let manager = SchemaManager::new(db);
    let mut found = Vec::new();
    for table in TABLES {
        if manager.has_table(table).await.expect("has_table") {
            found.push(table);
        }
    }
    found
}

async fn up_down_up(db: &DatabaseConnection) {
    assert!(existing_tables(db).await.is_empty(), "fresh database");
    assert_eq!(
        Migrator::get_pending_migrations(db).await.unwrap().len(),
        Migrator::migrations().len()
    );

    orm::migrate(db).await.expect("first migrate");
    assert_eq!(existing_tables(db).await, TABLES);
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );

    orm::migrate(db).await.expect("re-run is a no-op");
    assert_eq!(
        Migrator::get_applied_migrations(db).await.unwrap().len(),
        Migrator::migrations().len()
    );
    assert_eq!(existing_tables(db).await, TABLES);

    Migrator::down(db, None).await.expect("down all");
    assert_eq!(existing_tables(db).await, Vec::<&str>::new());
    assert!(
        Migrator::get_applied_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );

    orm::migrate(db).await.expect("up again");
    assert_eq!(existing_tables(db).await, TABLES);
}
on_both!(up_down_up_on, super::up_down_up);

async fn down_one_step_removes_only_the_last_table(db: &DatabaseConnection) {
    orm::migrate(db).await.unwrap();
    Migrator::down(db, Some(1)).await.unwrap();
    assert_eq!(
        Migrator::get_pending_migrations(db).await.unwrap().len(),
        1,
        "exactly one migration undone"
    );
    orm::migrate(db).await.unwrap();
    assert_eq!(existing_tables(db).await, TABLES);
}
on_both!(
    down_one_step,
    super::down_one_step_removes_only_the_last_table
);

/// Jobs written before the outbox had a `job_type` column get their type from the
/// payload, so the dispatcher and workers, which now ask by type, still find them.
async fn job_type_is_backfilled_from_the_payload(db: &DatabaseConnection) {
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261207_000100_outbox_job_type")
        .unwrap() as u32;
    Migrator::up(db, Some(before)).await.unwrap();
    let pending = Migrator::get_pending_migrations(db).await.unwrap();
    assert_eq!(pending[0].name(), "m20261207_000100_outbox_job_type");
    for (kind, payload) in [
        ("job", r#"{"job":3,"job_type":"contact.sms","retries":3}"#),
        ("message", r#"{"name":"payment-received"}"#),
    ] {
        db.execute_unprepared(&format!(
            "INSERT INTO outbox (case_id, seq, kind, payload, created_at, next_attempt_at) \
             VALUES ('C-1', 1, '{kind}', '{payload}', '2026-12-01T00:00:00+00:00', \
             '2026-12-01T00:00:00+00:00')"
        ))
        .await
        .unwrap();
    }
    orm::migrate(db).await.unwrap();
    let types: Vec<(String, Option<String>)> = orm::entities::outbox::Entity::find()
        .order_by_asc(orm::entities::outbox::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.kind, r.job_type))
        .collect();
    assert_eq!(
        types,
        [
            ("job".to_owned(), Some("contact.sms".to_owned())),
            ("message".to_owned(), None)
        ]
    );
}
on_both!(
    job_type_backfill,
    super::job_type_is_backfilled_from_the_payload
);

async fn pragma(db: &DatabaseConnection, name: &str) -> String {
    let stmt = Statement::from_string(DbBackend::Sqlite, format!("PRAGMA {name}"));
    let row = db.query_one_raw(stmt).await.unwrap().expect("pragma row");
    row.try_get_by_index::<String>(0)
        .or_else(|_| row.try_get_by_index::<i64>(0).map(|v| v.to_string()))
        .unwrap()
}

#[tokio::test]
async fn sqlite_connection_settings() {
    let t = TestDb::sqlite().await;
    assert_eq!(pragma(&t.db, "journal_mode").await, "wal");
    assert_eq!(pragma(&t.db, "synchronous").await, "2", "FULL");
    assert_eq!(pragma(&t.db, "foreign_keys").await, "1");
    assert_eq!(pragma(&t.db, "busy_timeout").await, "5000");
}

#[tokio::test]
async fn unsupported_url_is_refused() {
    let err = orm::connect("mysql://root@localhost/x").await.unwrap_err();
    assert!(
        matches!(err, orm::OrmError::UnsupportedUrl(ref s) if s == "mysql"),
        "{err}"
    );
}
