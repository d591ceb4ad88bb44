//! What the sync to a central PostgreSQL (`src/sync`) reads from and keeps in the store: the
//! ledger rows to send, with the bodies that scans do not keep in the ledger, and per server
//! (`sync_state`, migration 10) how far the last push got and what went wrong.

use rusqlite::{Connection, OptionalExtension, params};

use super::chain;
use super::lists::CentralOrigin;
use super::{Store, StoreError};

/// One ledger row as the central server takes it: the body is always there (rebuilt from
/// `scans` for a scan row), or `None` when the table row behind a scan is gone, which the
/// sender reports as a broken store instead of sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    pub seq: i64,
    pub kind: String,
    pub ref_id: i64,
    pub event: String,
    pub body: Option<String>,
    pub hash: Vec<u8>,
}

impl LedgerRow {
    /// Whether `hash` is this row's content chained on `prev`, the check a sync runs on what
    /// it sends (a row edited by hand after it was chained fails it).
    pub fn chains_on(&self, prev: &[u8]) -> bool {
        match &self.body {
            Some(body) => {
                chain::link(prev, &self.kind, self.ref_id, &self.event, body)[..] == self.hash[..]
            }
            None => false,
        }
    }
}

/// Where the pushes to one central server stand, for `scanstation sync status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncStatus {
    /// The server's URL without its password.
    pub url: String,
    /// The station name it pushes under.
    pub station: String,
    /// The last ledger row the server acknowledged.
    pub pushed_seq: i64,
    pub last_push_ms: Option<i64>,
    /// The last attempt's error; `None` once a push succeeds.
    pub last_error: Option<String>,
    pub last_attempt_ms: Option<i64>,
    pub next_attempt_ms: Option<i64>,
}

/// A list this station took from a central server, for `sync status` and the next pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledList {
    /// The server's URL without its password.
    pub url: String,
    pub name: String,
    /// The central version this station holds (0: none yet).
    pub central_version: i64,
    /// The local version that import made; `None` after a central removal.
    pub local_version: Option<i64>,
    pub pulled_ms: i64,
    /// Why the last newer version could not be taken.
    pub error: Option<String>,
}

/// Records, in the transaction that applied it, that central version `origin.version` of
/// `name` is taken; clears an earlier error.
pub(super) fn record_pulled(
    conn: &Connection,
    origin: CentralOrigin<'_>,
    name: &str,
    local_version: Option<i64>,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO central_lists_pulled (url, name, central_version, local_version, pulled_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (url, name) DO UPDATE SET central_version = ?3, local_version = ?4,
             pulled_ms = ?5, error = NULL",
        params![origin.url, name, origin.version, local_version, now_ms],
    )
    .map(|_| ())
}

impl Store {
    /// Records why a central list could not be taken; the version held stays as it was, so the
    /// next pull tries again.
    pub fn central_list_refused(
        &self,
        url: &str,
        name: &str,
        error: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO central_lists_pulled (url, name, central_version, pulled_ms, error)
                 VALUES (?1, ?2, 0, ?3, ?4)
                 ON CONFLICT (url, name) DO UPDATE SET pulled_ms = ?3, error = ?4",
                params![url, name, now_ms, error],
            )
            .map(|_| ())
            .map_err(|e| self.query_err(e))
    }

    /// Records that central version `origin.version` of `name` needs nothing from this
    /// station (a removal of a list it never took).
    pub fn central_list_seen(
        &self,
        origin: CentralOrigin<'_>,
        name: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        record_pulled(&self.conn, origin, name, None, now_ms).map_err(|e| self.query_err(e))
    }

    /// The lists taken from central servers (all of them, or those of `url`), by server and name.
    pub fn central_lists_pulled(&self, url: Option<&str>) -> Result<Vec<PulledList>, StoreError> {
        if !self.has_table("central_lists_pulled")? {
            return Ok(Vec::new());
        }
        let err = |e| self.query_err(e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT url, name, central_version, local_version, pulled_ms, error
                 FROM central_lists_pulled WHERE ?1 IS NULL OR url = ?1 ORDER BY url, name",
            )
            .map_err(err)?;
        stmt.query_map([url], |r| {
            Ok(PulledList {
                url: r.get(0)?,
                name: r.get(1)?,
                central_version: r.get(2)?,
                local_version: r.get(3)?,
                pulled_ms: r.get(4)?,
                error: r.get(5)?,
            })
        })
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)
    }

    /// Whether the store has `table`: a store opened read-only may predate it.
    fn has_table(&self, table: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [table],
                |r| r.get(0),
            )
            .map_err(|e| self.query_err(e))
    }

    /// The ledger's last row: its sequence number and hash (0 and `None` before the first).
    pub fn ledger_head(&self) -> Result<(i64, Option<Vec<u8>>), StoreError> {
        self.conn
            .query_row(
                "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)?, Some(r.get::<_, Vec<u8>>(1)?))),
            )
            .optional()
            .map(|row| row.unwrap_or((0, None)))
            .map_err(|e| self.query_err(e))
    }

    /// The hash of ledger row `seq`, if there is such a row.
    pub fn ledger_hash(&self, seq: i64) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .prepare_cached("SELECT hash FROM ledger WHERE seq = ?1")
            .and_then(|mut stmt| stmt.query_row([seq], |r| r.get(0)).optional())
            .map_err(|e| self.query_err(e))
    }

    /// Up to `limit` ledger rows after `after`, in order, with their bodies.
    pub fn ledger_rows(&self, after: i64, limit: usize) -> Result<Vec<LedgerRow>, StoreError> {
        let err = |e| self.query_err(e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, kind, ref_id, event, body, hash FROM ledger WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(err)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows: Vec<LedgerRow> = stmt
            .query_map(params![after, limit], |r| {
                Ok(LedgerRow {
                    seq: r.get(0)?,
                    kind: r.get(1)?,
                    ref_id: r.get(2)?,
                    event: r.get(3)?,
                    body: r.get(4)?,
                    hash: r.get(5)?,
                })
            })
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
        for row in &mut rows {
            if row.kind == "scan" && row.body.is_none() {
                row.body = chain::scan_body(&self.conn, row.ref_id).map_err(err)?;
            }
        }
        Ok(rows)
    }

    /// Records a successful push to `url` up to ledger row `seq`.
    pub fn sync_pushed(
        &self,
        url: &str,
        station: &str,
        seq: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO sync_state (url, station, pushed_seq, last_push_ms, last_attempt_ms)
                 VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (url) DO UPDATE SET station = ?2, pushed_seq = ?3, last_push_ms = ?4,
                     last_attempt_ms = ?4, last_error = NULL, next_attempt_ms = NULL",
                params![url, station, seq, now_ms],
            )
            .map(|_| ())
            .map_err(|e| self.query_err(e))
    }

    /// Records a failed push to `url` and when the next one is due (`None`: not retried, as
    /// after a one-off `sync --to`).
    pub fn sync_failed(
        &self,
        url: &str,
        station: &str,
        error: &str,
        now_ms: i64,
        next_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO sync_state (url, station, last_error, last_attempt_ms, next_attempt_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (url) DO UPDATE SET station = ?2, last_error = ?3,
                     last_attempt_ms = ?4, next_attempt_ms = ?5",
                params![url, station, error, now_ms, next_ms],
            )
            .map(|_| ())
            .map_err(|e| self.query_err(e))
    }

    /// Every server this store has pushed to or tried to, by URL.
    pub fn sync_status(&self) -> Result<Vec<SyncStatus>, StoreError> {
        if !self.has_table("sync_state")? {
            return Ok(Vec::new());
        }
        let err = |e| self.query_err(e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT url, station, pushed_seq, last_push_ms, last_error, last_attempt_ms, next_attempt_ms
                 FROM sync_state ORDER BY url",
            )
            .map_err(err)?;
        stmt.query_map([], |r| {
            Ok(SyncStatus {
                url: r.get(0)?,
                station: r.get(1)?,
                pushed_seq: r.get(2)?,
                last_push_ms: r.get(3)?,
                last_error: r.get(4)?,
                last_attempt_ms: r.get(5)?,
                next_attempt_ms: r.get(6)?,
            })
        })
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)
    }
}
