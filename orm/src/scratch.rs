//! Databases that exist for one run — a test's, a benchmark's — and are removed after
//! it: an SQLite file, or a database of its own on a PostgreSQL server. The one place
//! that creates and removes them, for `orm::testing`, the end-to-end tests and
//! `recobro bench`.

use std::path::{Path, PathBuf};

use sea_orm::{ConnectionTrait, Database, DbErr};

/// A database created for one run; removed by [`ScratchDatabase::remove`], or on drop.
#[derive(Debug)]
pub struct ScratchDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    SqliteFile(PathBuf),
    Postgres { admin_url: String, name: String },
    Done,
}

impl ScratchDatabase {
    /// An SQLite database in the file `path` (created on first connection).
    pub fn sqlite(path: &Path) -> ScratchDatabase {
        ScratchDatabase {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            cleanup: Cleanup::SqliteFile(path.to_path_buf()),
        }
    }

    /// Creates the database `name` on the PostgreSQL server that `admin_url` connects
    /// to (with a role allowed to create and drop databases).
    pub async fn postgres(admin_url: &str, name: &str) -> Result<ScratchDatabase, DbErr> {
        let admin = Database::connect(admin_url).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        admin.close().await?;
        Ok(ScratchDatabase {
            url: with_database(admin_url, name),
            cleanup: Cleanup::Postgres {
                admin_url: admin_url.to_string(),
                name: name.to_string(),
            },
        })
    }

    /// The database's URL, for [`crate::connect`] here or in a child process.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Removes the database now, reporting a failure (dropping removes it quietly).
    /// PostgreSQL's `WITH (FORCE)` ends sessions still open on it.
    pub async fn remove(mut self) -> Result<(), DbErr> {
        match std::mem::replace(&mut self.cleanup, Cleanup::Done) {
            Cleanup::SqliteFile(path) => remove_sqlite_files(&path),
            Cleanup::Postgres { admin_url, name } => drop_postgres(&admin_url, &name).await?,
            Cleanup::Done => {}
        }
        Ok(())
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.cleanup, Cleanup::Done) {
            Cleanup::SqliteFile(path) => remove_sqlite_files(&path),
            Cleanup::Postgres { admin_url, name } => {
                // Drop is synchronous and may run inside an async runtime: the DROP runs
                // on a runtime of its own thread.
                let dropped = std::thread::spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| DbErr::Custom(e.to_string()))?
                        .block_on(drop_postgres(&admin_url, &name))
                        .map(|()| name)
                })
                .join();
                if !matches!(dropped, Ok(Ok(_))) {
                    eprintln!("warning: a scratch database was not dropped: {dropped:?}");
                }
            }
            Cleanup::Done => {}
        }
    }
}

async fn drop_postgres(admin_url: &str, name: &str) -> Result<(), DbErr> {
    let admin = Database::connect(admin_url).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    admin.close().await
}

/// The SQLite file and its write-ahead log and shared-memory files.
fn remove_sqlite_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.to_path_buf().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

/// `admin_url` with its database name replaced by `name` (query string kept).
pub fn with_database(admin_url: &str, name: &str) -> String {
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

    #[test]
    fn an_sqlite_scratch_file_goes_with_its_journal_files() {
        let dir = std::env::temp_dir().join(format!("recobro-scratch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.db");
        for suffix in ["", "-wal", "-shm"] {
            std::fs::write(format!("{}{suffix}", path.display()), b"x").unwrap();
        }
        let scratch = ScratchDatabase::sqlite(&path);
        assert!(scratch.url().starts_with("sqlite://") && scratch.url().ends_with("?mode=rwc"));
        drop(scratch);
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
        std::fs::remove_dir(&dir).unwrap();
    }
}
