//! Persistence schema of Recobro: SeaORM entities and migrations.
//!
//! Depends on no workspace crate. Two back-ends, same schema: SQLite (embedded default,
//! `sqlite://data/recobro.db?mode=rwc`) and PostgreSQL (`postgres://user@host/db`).
//!
//! - [`entities`]: one module per table (`Entity`, `Model`, `ActiveModel`, `Column`).
//! - [`migration::Migrator`]: the migrations (`sea_orm_migration::MigratorTrait`).
//! - [`connect`] opens a pool with Recobro's settings, [`migrate`] applies pending
//!   migrations (a no-op when the schema is current).
//! - [`is_unique_violation`] recognises a lost optimistic-concurrency race on the
//!   journal's (case id, sequence) key, on both back-ends.
//! - [`scratch`]: databases that exist for one run (a test's, a benchmark's) and are
//!   removed after it; with the feature `testing`, `testing::TestDb` (one per test) and
//!   the `on_both!` macro that runs a scenario on SQLite and PostgreSQL.
//!
//! # Running the migrations alone
//! There is one binary, `recobro`, and it owns the process; this crate is the library it
//! calls. Running the schema on its own is `connect(url)` followed by `migrate(&db)`,
//! which is what the binary does at start-up (`recobro serve`, and every command that
//! opens the database). From Rust, anywhere:
//!
//! ```no_run
//! # async fn run() -> Result<(), orm::OrmError> {
//! let db = orm::connect("sqlite://data/recobro.db?mode=rwc").await?;
//! orm::migrate(&db).await?;
//! # Ok(()) }
//! ```
//!
//! Rolling back is `orm::migration::Migrator::down(&db, Some(n))` (every migration has a
//! working `down`).

pub mod entities;
pub mod migration;
pub mod scratch;
#[cfg(feature = "testing")]
pub mod testing;

use std::time::Duration;

use sea_orm::{ConnectOptions, Database, SqlErr};
pub use sea_orm::{DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

/// How long SQLite waits for a lock held by another connection before failing.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum OrmError {
    /// The URL does not name a supported back-end (`sqlite:` or `postgres:`).
    #[error("unsupported database URL scheme `{0}` (expected sqlite: or postgres:)")]
    UnsupportedUrl(String),
    /// Opening the pool failed. The URL is not included: it may carry a password.
    #[error("cannot connect to the {backend} database: {source}")]
    Connect {
        backend: &'static str,
        #[source]
        source: DbErr,
    },
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[source] DbErr),
    /// Any other database error.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

/// How long connecting may take before `connect` reports the database unreachable.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens a connection pool.
///
/// SQLite (`sqlite://path?mode=rwc` creates the file): WAL journal, `synchronous=FULL`
/// (a committed transaction survives power loss), busy timeout of
/// [`SQLITE_BUSY_TIMEOUT`], foreign keys enforced. SeaORM's default of one pooled
/// connection for SQLite is kept: one writer at a time is what SQLite allows anyway.
/// PostgreSQL: SeaORM's default pool. Statement logging is off on both, since statements
/// carry personal data.
/// Prepared statements kept per connection. A group-committed batch writes each table
/// with one multi-row statement whose text depends on the row count, so a batch mix
/// needs a few hundred distinct statements; with sqlx's default (100) they evict each
/// other and every batch is parsed and planned again.
const STATEMENT_CACHE: usize = 1024;

pub async fn connect(url: &str) -> Result<DatabaseConnection, OrmError> {
    let backend = backend_of(url)?;
    let mut options = ConnectOptions::new(url);
    // Fail fast when the server is unreachable instead of waiting out the pool's default.
    options
        .connect_timeout(CONNECT_TIMEOUT)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                .statement_cache_capacity(STATEMENT_CACHE)
        })
        .map_sqlx_postgres_opts(|o| o.statement_cache_capacity(STATEMENT_CACHE));
    if backend == "sqlite" {
        // A ping before every checkout is a round trip to the connection's worker thread
        // per statement, and a local file cannot have dropped the connection meanwhile.
        options.test_before_acquire(false);
    }
    Database::connect(options)
        .await
        .map_err(|source| OrmError::Connect { backend, source })
}

/// PostgreSQL connections of their own for the case runtime's group-commit writers (the
/// same server and settings as `db`'s pool, at most `connections` of them); `None` on
/// SQLite, which has one writer whatever the pool.
///
/// Every statement sent on them is a keyed write of at most one batch of rows, for which
/// index probes in a nested loop are always the right plan. Their plans are cached once per
/// connection, while the tables may still be small (a fresh database), and a plan frozen
/// then as a hash join over a sequential scan grows with the table (seen: 15 ms per batch
/// at 13,000 tasks). So these sessions rule hash joins, merge joins and sequential scans
/// out ([decision 0009](../docs/decisions/0009-one-statement-batches.md)).
pub fn writer_connections(db: &DatabaseConnection, connections: u32) -> Option<DatabaseConnection> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return None;
    }
    let shared = db.get_postgres_connection_pool();
    let options = (*shared.connect_options()).clone().options([
        ("enable_hashjoin", "off"),
        ("enable_mergejoin", "off"),
        ("enable_seqscan", "off"),
    ]);
    let pool = shared
        .options()
        .clone()
        .min_connections(0)
        .max_connections(connections.max(1))
        .connect_lazy_with(options);
    Some(sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(
        pool,
    ))
}

/// Applies all pending migrations; a no-op when the schema is current.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), OrmError> {
    migration::Migrator::up(db, None)
        .await
        .map_err(OrmError::Migrate)
}

/// True when `err` is a unique or primary-key violation, on SQLite or PostgreSQL.
///
/// An append to the case journal that fails this way lost the optimistic-concurrency
/// race on (case id, sequence): the caller reloads the case and retries.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// The SQLSTATE code of a database error (PostgreSQL's five characters; SQLite's
/// extended result code), when `err` came from the database.
pub fn sqlstate(err: &DbErr) -> Option<String> {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.into_owned()),
        _ => None,
    }
}

/// True when `err` is a foreign-key violation, on SQLite or PostgreSQL.
pub fn is_foreign_key_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    )
}

fn backend_of(url: &str) -> Result<&'static str, OrmError> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok("sqlite"),
        "postgres" | "postgresql" => Ok("postgres"),
        other => Err(OrmError::UnsupportedUrl(other.to_owned())),
    }
}
