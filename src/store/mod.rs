//! `store`: the station's SQLite database.
//!
//! **Invariants:** identifiers are stored as TEXT, never integers (IMEIs can start with 0);
//! migrations are numbered, append-only and tracked in `PRAGMA user_version`; the database runs
//! in WAL mode with `synchronous=FULL`, so a committed transaction survives a power cut.

mod backup;
mod chain;
mod cross_desk;
mod list_file;
mod lists;
mod migrations;
mod outbox;
mod records;
mod sync_state;

pub use backup::{BackupError, BackupReport, Checkpoint, backup};
pub use chain::{BadRow, VerifyReport};
pub use cross_desk::CrossDesk;
pub use list_file::{ListError, MAX_LISTED_ERRORS, import_file, import_reader, parse_checked};
pub use lists::CentralOrigin;
pub use outbox::{OutboxKinds, OutboxRow, WebhookStatus};
pub use records::{SharingUnit, Tx, UnitQuery};
pub use sync_state::{LedgerRow, PulledList, SyncStatus};

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, params};

use crate::ident::tac::{MemoryTacs, OsmocomFile, TacInfo};

/// Errors that cross the store boundary; each names the database file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the database directory {path}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database {path}")]
    Open { path: PathBuf, source: SqliteError },
    #[error(
        "database {path} is newer (schema {found}) than this scanstation understands (schema {known})"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error(
        "database {path} has schema {found}, older than this scanstation's {known}: run `scanstation run` (or any command that writes) on it once to bring it up to date"
    )]
    TooOld {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error("database {path} has schema version {found}, which no scanstation writes")]
    BadVersion { path: PathBuf, found: i64 },
    #[error("migration {version} failed on {path}")]
    Migrate {
        path: PathBuf,
        version: usize,
        source: SqliteError,
    },
    #[error("database {path}")]
    Query { path: PathBuf, source: SqliteError },
    #[error(
        "list {name:?} in {path} is a {stored} list and cannot take a {requested} import; remove it first to reuse the name"
    )]
    ListKindMismatch {
        path: PathBuf,
        name: String,
        stored: crate::lists::ListKind,
        requested: crate::lists::ListKind,
    },
}

/// What SQLite said, as the cause of a store error.
///
/// rusqlite's message is complete on its own (SQLite's text, or the error code's description
/// when there is none), but rusqlite also chains the bare error code as its `source()`, so a
/// printed chain would repeat it (`Error code 14: Unable to open the database file: Error code
/// 14: ...`). This wrapper shows rusqlite's message and ends the chain there.
#[derive(Debug)]
pub struct SqliteError(pub rusqlite::Error);

impl std::fmt::Display for SqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SqliteError {}

impl From<rusqlite::Error> for SqliteError {
    fn from(err: rusqlite::Error) -> Self {
        SqliteError(err)
    }
}

/// The default database location: `$XDG_DATA_HOME/scanstation/scanstation.db`.
pub fn default_db_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "scanstation")
        .map(|dirs| dirs.data_dir().join("scanstation.db"))
}

/// An open store. Only one writer exists at a time; the daemon owns it on one thread.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// What a TAC import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TacImportReport {
    pub imported: usize,
    pub skipped: usize,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source: source.into(),
        })?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing database read-only, or returns `None` when there is none at `path`.
    pub fn open_read_only(path: &Path) -> Result<Option<Store>, StoreError> {
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source: source.into(),
        })?;
        let store = Store {
            conn,
            path: path.to_owned(),
        };
        let version = store.schema_version()?;
        if version > migrations::MIGRATIONS.len() as i64 {
            return Err(StoreError::TooNew {
                path: path.to_owned(),
                found: version,
                known: migrations::MIGRATIONS.len(),
            });
        }
        // A reader cannot migrate; without this, queries for newer columns would fail with
        // SQLite's bare "no such column". An empty file (version 0) has nothing to read and is
        // left to the queries, which find no tables.
        if version > 0 && version < migrations::MIGRATIONS.len() as i64 {
            return Err(StoreError::TooOld {
                path: path.to_owned(),
                found: version,
                known: migrations::MIGRATIONS.len(),
            });
        }
        Ok(Some(store))
    }

    /// Checks that the database at `path` could take a write now: a write transaction is begun
    /// and rolled back, waiting at most a second for another writer (the station's own).
    pub fn probe_writable(path: &Path) -> Result<(), StoreError> {
        let failed = |source: rusqlite::Error| StoreError::Open {
            path: path.to_owned(),
            source: source.into(),
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(failed)?;
        conn.busy_timeout(std::time::Duration::from_secs(1))
            .map_err(failed)?;
        conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
            .map_err(failed)
    }

    /// Walks the ledger and checks every chained row against its table (see `store::chain`).
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        chain::verify(&self.conn).map_err(|e| self.query_err(e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn query_err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Query {
            path: self.path.clone(),
            source: source.into(),
        }
    }

    fn configure(&mut self) -> Result<(), StoreError> {
        // WAL lets readers (export, find, the API) work beside the one writer; synchronous=FULL
        // fsyncs the WAL at every commit, which is what makes an acknowledgement a promise.
        // The long busy timeout lets a big list import (one transaction, tens of seconds for
        // millions of rows) delay the station's writes instead of failing them.
        self.conn
            .execute_batch(
                "PRAGMA journal_mode=WAL;
                 PRAGMA synchronous=FULL;
                 PRAGMA foreign_keys=ON;
                 PRAGMA busy_timeout=120000;",
            )
            .map_err(|source| StoreError::Open {
                path: self.path.clone(),
                source: source.into(),
            })
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| self.query_err(e))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let current = self.schema_version()?;
        let known = migrations::MIGRATIONS.len();
        if current > known as i64 {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: current,
                known,
            });
        }
        let Ok(done) = usize::try_from(current) else {
            return Err(StoreError::BadVersion {
                path: self.path.clone(),
                found: current,
            });
        };
        let first = done + 1;
        for version in first..=known {
            let err = |source: rusqlite::Error| StoreError::Migrate {
                path: self.path.clone(),
                version,
                source: source.into(),
            };
            let tx = self.conn.transaction().map_err(err)?;
            migrations::apply(&tx, version).map_err(err)?;
            tx.commit().map_err(err)?;
        }
        Ok(())
    }

    /// Imports an Osmocom TAC file in one transaction, replacing earlier imported rows.
    pub fn import_tacs(
        &mut self,
        file: &OsmocomFile,
        source: &str,
        imported_at: &str,
    ) -> Result<TacImportReport, StoreError> {
        let path = self.path.clone();
        let err = |source: rusqlite::Error| StoreError::Query {
            path: path.clone(),
            source: source.into(),
        };
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute("DELETE FROM tac", []).map_err(err)?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT OR REPLACE INTO tac (tac, brand, model, aka, source) VALUES (?1, ?2, ?3, ?4, 'osmocom')",
                )
                .map_err(err)?;
            for row in &file.rows {
                insert
                    .execute(params![row.tac, row.brand, row.model, row.aka])
                    .map_err(err)?;
            }
        }
        tx.execute(
            "INSERT INTO tac_imports (source, notice, imported, skipped, imported_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                source,
                file.notice,
                file.rows.len() as i64,
                file.skipped.len() as i64,
                imported_at
            ],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(TacImportReport {
            imported: file.rows.len(),
            skipped: file.skipped.len(),
        })
    }

    /// Adds or replaces a local TAC entry, which wins over imported rows.
    pub fn set_local_tac(&mut self, tac: &str, brand: &str, model: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO tac_local (tac, brand, model) VALUES (?1, ?2, ?3)",
                params![tac, brand, model],
            )
            .map(|_| ())
            .map_err(|e| self.query_err(e))
    }

    /// Loads the whole TAC table into memory, local entries over imported ones.
    pub fn load_tacs(&self) -> Result<MemoryTacs, StoreError> {
        let mut tacs = MemoryTacs::default();
        for table in ["tac", "tac_local"] {
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT tac, brand, model FROM {table}"))
                .map_err(|e| self.query_err(e))?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .map_err(|e| self.query_err(e))?;
            for row in rows {
                let (tac, brand, model) = row.map_err(|e| self.query_err(e))?;
                tacs.insert(&tac, TacInfo { brand, model });
            }
        }
        Ok(tacs)
    }

    /// Counts the rows of a table, for reports and tests.
    pub fn count(&self, table: &str) -> Result<i64, StoreError> {
        self.conn
            .query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |row| {
                row.get(0)
            })
            .map_err(|e| self.query_err(e))
    }
}
