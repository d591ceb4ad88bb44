//! Making the database file self-contained: the checkpoint at a clean exit, and `backup`, a
//! consistent copy taken while a station may still be writing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{Store, StoreError};

/// What the closing checkpoint achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// Every committed page is in the database file and the WAL is empty.
    Complete,
    /// Another process was reading, so part of the WAL is still needed beside the file.
    Busy { wal_pages: i64, moved: i64 },
}

/// What `backup` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub scans: i64,
    pub units: i64,
}

/// Errors of `backup`; each names the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("no database at {0}")]
    NoDatabase(PathBuf),
    #[error("{0} already exists; choose a new file name, a backup never overwrites")]
    Exists(PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the backup {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("backup to {path} failed")]
    Sqlite {
        path: PathBuf,
        source: super::SqliteError,
    },
    #[error("the copy {path} failed its integrity check: {detail}")]
    Corrupt { path: PathBuf, detail: String },
}

impl Store {
    /// Moves every committed page from the WAL into the database file and truncates the WAL,
    /// so the `.db` file alone holds everything: SQLite does this by itself only when the last
    /// connection closes, and the station's last connection is a read-only one that cannot.
    ///
    /// A reader in another process (an `export`, say) can hold pages back; the wait for it is
    /// short, because a clean exit must not hang, and then the WAL is simply kept.
    pub fn checkpoint(&self) -> Result<Checkpoint, StoreError> {
        self.conn
            .busy_timeout(Duration::from_secs(2))
            .map_err(|e| self.query_err(e))?;
        let (busy, wal_pages, moved): (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.query_err(e))?;
        Ok(if busy == 0 {
            Checkpoint::Complete
        } else {
            Checkpoint::Busy { wal_pages, moved }
        })
    }
}

/// Copies the database at `db` to `out` with SQLite's online backup API: a consistent snapshot
/// of every committed transaction, safe while a station writes. The copy is written beside
/// `out` under a temporary name, checked, switched out of WAL mode so it is one self-contained
/// file, synced, and only then renamed to `out`; a failed backup leaves nothing behind.
pub fn backup(db: &Path, out: &Path) -> Result<BackupReport, BackupError> {
    if !db.exists() {
        return Err(BackupError::NoDatabase(db.to_owned()));
    }
    if out.exists() {
        return Err(BackupError::Exists(out.to_owned()));
    }
    // Opening through the store checks the schema version, so a file that is not a station
    // database is refused with the usual message.
    let source =
        Store::open_read_only(db)?.ok_or_else(|| BackupError::NoDatabase(db.to_owned()))?;
    let mut partial = out.as_os_str().to_owned();
    partial.push(format!(".partial-{}", std::process::id()));
    let partial = PathBuf::from(partial);
    let result = copy(&source, &partial, out);
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn copy(source: &Store, partial: &Path, out: &Path) -> Result<BackupReport, BackupError> {
    let sqlite = |source: rusqlite::Error| BackupError::Sqlite {
        path: out.to_owned(),
        source: source.into(),
    };
    let write = |source| BackupError::Write {
        path: out.to_owned(),
        source,
    };
    let mut dest = Connection::open_with_flags(
        partial,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )
    .map_err(sqlite)?;
    {
        let backup = rusqlite::backup::Backup::new(&source.conn, &mut dest).map_err(sqlite)?;
        // One step copies every page inside one read transaction, so a station committing
        // meanwhile can neither restart nor tear the copy (WAL readers never block writers).
        backup.step(-1).map_err(sqlite)?;
    }
    let mode: String = dest
        .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))
        .map_err(sqlite)?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(BackupError::Corrupt {
            path: out.to_owned(),
            detail: format!("journal mode stayed {mode}"),
        });
    }
    let check: String = dest
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(sqlite)?;
    if check != "ok" {
        return Err(BackupError::Corrupt {
            path: out.to_owned(),
            detail: check,
        });
    }
    let count = |table: &str| -> Result<i64, BackupError> {
        dest.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .map_err(|source: rusqlite::Error| BackupError::Sqlite {
                path: out.to_owned(),
                source: source.into(),
            })
    };
    let (scans, units) = (count("scans")?, count("units")?);
    dest.close().map_err(|(_, source)| sqlite(source))?;
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(write)?;
    // Never replace a file that appeared meanwhile: a hard link fails if `out` exists. File
    // systems without hard links (a FAT backup stick) fall back to a checked rename.
    match std::fs::hard_link(partial, out) {
        Ok(()) => std::fs::remove_file(partial).map_err(write)?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(BackupError::Exists(out.to_owned()));
        }
        Err(_) if out.exists() => return Err(BackupError::Exists(out.to_owned())),
        Err(_) => std::fs::rename(partial, out).map_err(write)?,
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The new directory entry must survive a power cut too.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(write)?;
    }
    let bytes = std::fs::metadata(out).map_err(write)?.len();
    Ok(BackupReport {
        path: out.to_owned(),
        bytes,
        scans,
        units,
    })
}
