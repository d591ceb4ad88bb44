//! Scans, units and unit identifiers: the rows the daemon writes and `export`/`find` read.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use rusqlite::ToSql;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};

use super::{Store, StoreError};
use crate::ident::control::Mode;
use crate::ident::{Flag, FlagCode, IdKind, Identifier, Kind};
pub(super) use crate::record::{
    CloseReason, Decision, EvidenceRecord, ScanOutcome, ScanRecord, UnitIdRecord, UnitRecord,
    UnitStatus,
};

/// The closed sets of names stored as TEXT: written by their stable name, and a name this
/// version does not know reads back as an error naming the column, never as a default.
macro_rules! sql_name {
    ($($ty:ty),+) => {$(
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                <$ty>::parse(text).ok_or_else(|| {
                    FromSqlError::Other(
                        format!("unknown {} {text:?}", stringify!($ty)).into(),
                    )
                })
            }
        }
    )+};
}

sql_name!(
    Kind,
    IdKind,
    Mode,
    Decision,
    ScanOutcome,
    UnitStatus,
    CloseReason
);

/// A JSON list column (flags, invalid values) read back; text that is not such a list is a
/// corrupt row, reported with the column, not read as an empty list.
fn json_column<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    index: usize,
) -> rusqlite::Result<Vec<T>> {
    let text: Option<String> = row.get(index)?;
    match text.as_deref() {
        None | Some("") => Ok(Vec::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into())
        }),
    }
}

fn scan_from_row(row: &Row<'_>) -> rusqlite::Result<ScanRecord> {
    Ok(ScanRecord {
        id: row.get(0)?,
        at_ms: row.get(1)?,
        source: row.get(2)?,
        raw: row.get(3)?,
        symbology: row.get(4)?,
        kind: row.get(5)?,
        value: row.get(6)?,
        valid: row.get(7)?,
        reason_code: row.get(8)?,
        reason: row.get(9)?,
        outcome: row.get(10)?,
        unit: row.get(11)?,
        mode: row.get(12)?,
        decision: row.get(13)?,
        decision_reason: row.get(14)?,
    })
}

const SCAN_COLUMNS: &str = "id, at_ms, source, raw, symbology, kind, value, valid, reason_code, reason, outcome, unit_id, mode, decision, decision_reason";

/// A unit id with all its (kind, key) identifiers.
pub type SharingUnit = (i64, Vec<(IdKind, String)>);

/// The write side: one transaction groups every change of one batch of events.
pub struct Tx<'a> {
    pub(super) tx: Transaction<'a>,
    pub(super) store_path: std::path::PathBuf,
    /// The units this transaction changed, each with what happened to it, in order: each gets
    /// one ledger row with its final state at commit (see `store::chain`).
    pub(super) touched: std::cell::RefCell<Vec<(i64, Vec<&'static str>)>>,
}

impl Tx<'_> {
    pub(super) fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Query {
            path: self.store_path.clone(),
            source: source.into(),
        }
    }

    /// Notes that `event` happened to `unit`, for its ledger row at commit.
    fn touch(&self, unit: i64, event: &'static str) {
        let mut touched = self.touched.borrow_mut();
        match touched.iter_mut().find(|(id, _)| *id == unit) {
            Some((_, events)) => {
                if events.last() != Some(&event) {
                    events.push(event);
                }
            }
            None => touched.push((unit, vec![event])),
        }
    }

    pub fn insert_scan(&self, scan: &ScanRecord) -> Result<(), StoreError> {
        self.tx
            .execute(
                &format!("INSERT INTO scans ({SCAN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"),
                params![
                    scan.id,
                    scan.at_ms,
                    scan.source,
                    scan.raw,
                    scan.symbology,
                    scan.kind,
                    scan.value,
                    scan.valid,
                    scan.reason_code,
                    scan.reason,
                    scan.outcome,
                    scan.unit,
                    scan.mode,
                    scan.decision,
                    scan.decision_reason
                ],
            )
            .map_err(|e| self.err(e))?;
        super::chain::append_scan(&self.tx, scan.id, "recorded").map_err(|e| self.err(e))
    }

    pub fn open_unit(&self, id: i64, at_ms: i64) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO units (id, opened_ms, status) VALUES (?1, ?2, 'open')",
                params![id, at_ms],
            )
            .map_err(|e| self.err(e))?;
        self.touch(id, "open");
        Ok(())
    }

    /// Records the identifiers a scan added to an open unit, so an open unit survives a crash
    /// with everything that was acknowledged. The close rewrites them with final slots.
    pub fn add_identifiers(
        &self,
        unit: i64,
        scan_id: i64,
        identifiers: &[Identifier],
    ) -> Result<(), StoreError> {
        for id in identifiers {
            self.tx
                .execute(
                    "INSERT OR IGNORE INTO unit_identifiers (unit_id, kind, value, key, slot, scan_id)
                     VALUES (?1, ?2, ?3, ?4,
                        (SELECT COALESCE(MAX(slot), 0) + 1 FROM unit_identifiers WHERE unit_id = ?1 AND kind = ?2),
                        ?5)",
                    params![unit, id.kind.as_str(), id.value, id.key, scan_id],
                )
                .map_err(|e| self.err(e))?;
        }
        if !identifiers.is_empty() {
            self.touch(unit, "scan");
        }
        Ok(())
    }

    pub fn remove_identifiers(&self, unit: i64, scan_id: i64) -> Result<(), StoreError> {
        self.tx
            .execute(
                "DELETE FROM unit_identifiers WHERE unit_id = ?1 AND scan_id = ?2",
                params![unit, scan_id],
            )
            .map_err(|e| self.err(e))?;
        self.touch(unit, "undo");
        Ok(())
    }

    /// Writes a unit's final state: status, flags and its identifiers with their slots.
    pub fn close_unit(&self, unit: &UnitRecord) -> Result<(), StoreError> {
        let flags = serde_json::to_string(&unit.flags).unwrap_or_else(|_| "[]".to_owned());
        let invalid = serde_json::to_string(&unit.invalid).unwrap_or_else(|_| "[]".to_owned());
        // A unit that was already closed is being amended (a camera label read again).
        let was_open = self
            .tx
            .prepare_cached("SELECT status = 'open' FROM units WHERE id = ?1")
            .and_then(|mut s| s.query_row([unit.id], |r| r.get::<_, bool>(0)).optional())
            .map_err(|e| self.err(e))?
            .unwrap_or(true);
        self.touch(unit.id, if was_open { "close" } else { "amend" });
        self.tx
            .execute(
                "UPDATE units SET closed_ms = ?2, status = ?3, close_reason = ?4, complete = ?5, flags = ?6,
                    mode = ?7, decision = ?8, decision_reason = ?9, decision_list = ?10, decision_list_version = ?11,
                    invalid = ?12, amends = ?13
                 WHERE id = ?1",
                params![
                    unit.id,
                    unit.closed_ms,
                    unit.status,
                    unit.close_reason,
                    unit.complete,
                    flags,
                    unit.mode,
                    unit.decision,
                    unit.decision_reason,
                    unit.decision_list,
                    unit.decision_list_version,
                    invalid,
                    unit.amends
                ],
            )
            .map_err(|e| self.err(e))?;
        self.tx
            .execute("DELETE FROM unit_identifiers WHERE unit_id = ?1", [unit.id])
            .map_err(|e| self.err(e))?;
        for id in &unit.identifiers {
            self.tx
                .execute(
                    "INSERT INTO unit_identifiers (unit_id, kind, value, key, slot, scan_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![unit.id, id.kind, id.value, id.key, id.slot, id.scan_id],
                )
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Stores (or replaces) the picture behind a camera unit.
    pub fn put_evidence(&self, evidence: &EvidenceRecord) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO evidence (unit_id, at_ms, frame, width, height, symbols, sharpness, jpeg)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    evidence.unit_id,
                    evidence.at_ms,
                    evidence.frame,
                    evidence.width,
                    evidence.height,
                    evidence.symbols as i64,
                    f64::from(evidence.sharpness),
                    evidence.jpeg
                ],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    pub fn cancel_unit(&self, unit: i64, at_ms: i64) -> Result<(), StoreError> {
        self.tx
            .execute(
                "UPDATE units SET closed_ms = ?2, status = 'cancelled', close_reason = 'cancel', decision_reason = 'cancelled by SCANSTATION:CANCEL' WHERE id = ?1",
                params![unit, at_ms],
            )
            .map_err(|e| self.err(e))?;
        self.tx
            .execute("DELETE FROM unit_identifiers WHERE unit_id = ?1", [unit])
            .map_err(|e| self.err(e))?;
        self.touch(unit, "cancel");
        Ok(())
    }

    /// Other closed, not-cancelled units holding any of `keys` (kind, key), with all their identifiers.
    pub fn units_sharing(
        &self,
        unit: i64,
        keys: &[(IdKind, String)],
    ) -> Result<Vec<SharingUnit>, StoreError> {
        let mut found: Vec<i64> = Vec::new();
        {
            let mut stmt = self
                .tx
                .prepare_cached(
                    "SELECT DISTINCT ui.unit_id FROM unit_identifiers ui JOIN units u ON u.id = ui.unit_id
                     WHERE ui.kind = ?1 AND ui.key = ?2 AND ui.unit_id != ?3 AND u.status IN ('ok', 'flagged')",
                )
                .map_err(|e| self.err(e))?;
            for (kind, key) in keys {
                let ids = stmt
                    .query_map(params![kind, key, unit], |r| r.get::<_, i64>(0))
                    .map_err(|e| self.err(e))?;
                for id in ids {
                    let id = id.map_err(|e| self.err(e))?;
                    if !found.contains(&id) {
                        found.push(id);
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(found.len());
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT kind, key FROM unit_identifiers WHERE unit_id = ?1 ORDER BY kind, slot",
            )
            .map_err(|e| self.err(e))?;
        for id in found {
            let rows = stmt
                .query_map([id], |r| {
                    Ok((r.get::<_, IdKind>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(|e| self.err(e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.err(e))?;
            out.push((id, rows));
        }
        Ok(out)
    }

    /// Makes every change of this batch durable. Only after this returns may anything be acknowledged.
    pub fn commit(self) -> Result<(), StoreError> {
        // Each changed unit's state goes into the ledger once, in the same transaction.
        for (unit, events) in self.touched.borrow().iter() {
            super::chain::append_unit(&self.tx, *unit, &events.join("+"))
                .map_err(|e| self.err(e))?;
        }
        let path = self.store_path;
        self.tx.commit().map_err(|source| StoreError::Query {
            path,
            source: source.into(),
        })
    }
}

impl Store {
    pub fn begin(&mut self) -> Result<Tx<'_>, StoreError> {
        let store_path = self.path.clone();
        // IMMEDIATE: the write lock is taken at BEGIN, where SQLite's busy handler waits for
        // another writer (a webhook or sync thread recording its progress). A deferred
        // transaction that reads first and writes later fails at once with SQLITE_BUSY_SNAPSHOT
        // when such a writer committed in between, which stopped the station.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|source| StoreError::Query {
                path: store_path.clone(),
                source: source.into(),
            })?;
        Ok(Tx {
            tx,
            store_path,
            touched: std::cell::RefCell::new(Vec::new()),
        })
    }

    /// The next free ids for scans and units (the daemon is the only writer).
    pub fn next_ids(&self) -> Result<(i64, i64), StoreError> {
        let scan: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM scans", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.query_err(e))?;
        let unit: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM units", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.query_err(e))?;
        Ok((scan, unit))
    }

    /// Closes units left open by a station that stopped without closing them (a crash or power
    /// cut). They keep every acknowledged identifier and are flagged so an operator looks again.
    pub fn close_interrupted_units(&mut self, now_ms: i64) -> Result<Vec<i64>, StoreError> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM units WHERE status = 'open' ORDER BY id")
                .map_err(|e| self.query_err(e))?;
            stmt.query_map([], |r| r.get(0))
                .map_err(|e| self.query_err(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.query_err(e))?
        };
        if ids.is_empty() {
            return Ok(ids);
        }
        let flags = serde_json::to_string(&[Flag::new(
            FlagCode::Interrupted,
            "the station stopped before this unit was closed: check it again",
        )])
        .unwrap_or_else(|_| "[]".to_owned());
        let path = self.path.clone();
        let err = |source: rusqlite::Error| StoreError::Query {
            path: path.clone(),
            source: source.into(),
        };
        let tx = self.conn.transaction().map_err(err)?;
        let chained = tx
            .execute(
                "UPDATE units SET status = 'flagged', closed_ms = ?1, close_reason = 'interrupted', flags = ?2 WHERE status = 'open'",
                params![now_ms, flags],
            )
            .and_then(|_| {
                ids.iter()
                    .try_for_each(|id| super::chain::append_unit(&tx, *id, "interrupted"))
            })
            .and_then(|()| tx.commit());
        chained.map_err(err)?;
        Ok(ids)
    }

    /// Runs a scan query (`WHERE ...` after the column list) with one parameter.
    fn scans_where(
        &self,
        condition: &str,
        param: impl rusqlite::ToSql,
    ) -> Result<Vec<ScanRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {SCAN_COLUMNS} FROM scans WHERE {condition} ORDER BY id"
            ))
            .map_err(|e| self.query_err(e))?;
        stmt.query_map([param], scan_from_row)
            .map_err(|e| self.query_err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.query_err(e))
    }

    /// Loads whole units for the ids an `SELECT id ...` query returns.
    fn units_where(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<UnitRecord>, StoreError> {
        let ids: Vec<i64> = {
            let mut stmt = self.conn.prepare(sql).map_err(|e| self.query_err(e))?;
            stmt.query_map(params, |r| r.get(0))
                .map_err(|e| self.query_err(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.query_err(e))?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(unit) = self.unit(id)? {
                out.push(unit);
            }
        }
        Ok(out)
    }

    /// Scans at or after `since_ms`, oldest first.
    pub fn scans_since(&self, since_ms: i64) -> Result<Vec<ScanRecord>, StoreError> {
        self.scans_where("at_ms >= ?1", since_ms)
    }

    /// The scans recorded against a unit, oldest first.
    pub fn scans_of_unit(&self, unit: i64) -> Result<Vec<ScanRecord>, StoreError> {
        self.scans_where("unit_id = ?1", unit)
    }

    /// Scans whose normalised value or raw text equals `value` (for values that never joined a unit).
    pub fn scans_with_value(&self, value: &str) -> Result<Vec<ScanRecord>, StoreError> {
        self.scans_where("value = ?1 OR raw = CAST(?1 AS BLOB)", value)
    }

    pub fn scan(&self, id: i64) -> Result<Option<ScanRecord>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {SCAN_COLUMNS} FROM scans WHERE id = ?1"),
                [id],
                scan_from_row,
            )
            .optional()
            .map_err(|e| self.query_err(e))
    }

    pub fn unit(&self, id: i64) -> Result<Option<UnitRecord>, StoreError> {
        let unit = self
            .conn
            .query_row(
                "SELECT id, opened_ms, closed_ms, status, close_reason, complete, flags,
                        mode, decision, decision_reason, decision_list, decision_list_version,
                        invalid, amends
                 FROM units WHERE id = ?1",
                [id],
                |r| {
                    Ok(UnitRecord {
                        id: r.get(0)?,
                        opened_ms: r.get(1)?,
                        closed_ms: r.get(2)?,
                        status: r.get(3)?,
                        close_reason: r.get(4)?,
                        complete: r.get(5)?,
                        flags: json_column(r, 6)?,
                        identifiers: Vec::new(),
                        mode: r.get(7)?,
                        decision: r.get(8)?,
                        decision_reason: r.get(9)?,
                        decision_list: r.get(10)?,
                        decision_list_version: r.get(11)?,
                        invalid: json_column(r, 12)?,
                        amends: r.get(13)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.query_err(e))?;
        let Some(mut unit) = unit else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare("SELECT kind, value, key, slot, scan_id FROM unit_identifiers WHERE unit_id = ?1 ORDER BY kind, slot")
            .map_err(|e| self.query_err(e))?;
        unit.identifiers = stmt
            .query_map([id], |r| {
                Ok(UnitIdRecord {
                    kind: r.get(0)?,
                    value: r.get(1)?,
                    key: r.get(2)?,
                    slot: r.get(3)?,
                    scan_id: r.get(4)?,
                })
            })
            .map_err(|e| self.query_err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.query_err(e))?;
        Ok(Some(unit))
    }

    /// One page of units for the API, oldest first, after the cursor `after_id`.
    pub fn units_page(&self, q: &UnitQuery) -> Result<Vec<UnitRecord>, StoreError> {
        self.units_where(
            "SELECT id FROM units
             WHERE (?1 IS NULL OR opened_ms >= ?1) AND (?2 IS NULL OR opened_ms < ?2)
               AND (?3 IS NULL OR mode = ?3) AND (?4 IS NULL OR decision = ?4)
               AND (?5 IS NULL OR decision_list = ?5) AND id > ?6
             ORDER BY id LIMIT ?7",
            params![
                q.since_ms,
                q.until_ms,
                q.mode,
                q.decision,
                q.list,
                q.after_id,
                i64::try_from(q.limit).unwrap_or(i64::MAX)
            ],
        )
    }

    /// One page of scans for the API, oldest first, after the cursor `after_id`.
    pub fn scans_page(
        &self,
        since_ms: Option<i64>,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<ScanRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {SCAN_COLUMNS} FROM scans WHERE (?1 IS NULL OR at_ms >= ?1) AND id > ?2 ORDER BY id LIMIT ?3"
            ))
            .map_err(|e| self.query_err(e))?;
        stmt.query_map(
            params![since_ms, after_id, i64::try_from(limit).unwrap_or(i64::MAX)],
            scan_from_row,
        )
        .map_err(|e| self.query_err(e))?
        .collect::<Result<_, _>>()
        .map_err(|e| self.query_err(e))
    }

    /// The `n` units closed (or cancelled) last, newest first.
    pub fn recent_units(&self, n: usize) -> Result<Vec<UnitRecord>, StoreError> {
        self.units_where(
            "SELECT id FROM units WHERE status != 'open' ORDER BY id DESC LIMIT ?1",
            [i64::try_from(n).unwrap_or(i64::MAX)],
        )
    }

    /// The unit being assembled, if one is open.
    pub fn open_unit(&self) -> Result<Option<UnitRecord>, StoreError> {
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM units WHERE status = 'open' ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.query_err(e))?;
        match id {
            Some(id) => self.unit(id),
            None => Ok(None),
        }
    }

    /// The mode of the newest scan that carries one (what a desk with no station last ran in).
    pub fn last_mode(&self) -> Result<Option<Mode>, StoreError> {
        self.conn
            .query_row(
                "SELECT mode FROM scans WHERE mode IS NOT NULL ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.query_err(e))
    }

    /// The newest scan id and the newest unit event's (id, closed time), for following a store
    /// that another process writes.
    pub fn high_water(&self) -> Result<(i64, i64), StoreError> {
        self.conn
            .query_row(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM scans), (SELECT COALESCE(MAX(closed_ms), 0) FROM units)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.query_err(e))
    }

    /// Units closed after `closed_ms`, in closing order.
    pub fn units_closed_after(&self, closed_ms: i64) -> Result<Vec<UnitRecord>, StoreError> {
        self.units_where(
            "SELECT id FROM units WHERE closed_ms > ?1 ORDER BY closed_ms, id LIMIT 1000",
            [closed_ms],
        )
    }

    /// Units opened at or after `since_ms`, oldest first.
    pub fn units_since(&self, since_ms: i64) -> Result<Vec<UnitRecord>, StoreError> {
        self.units_where(
            "SELECT id FROM units WHERE opened_ms >= ?1 ORDER BY id",
            [since_ms],
        )
    }

    /// Closed, not-cancelled units recorded in `mode` at or after `since_ms`.
    pub fn units_in_mode(&self, mode: Mode, since_ms: i64) -> Result<Vec<UnitRecord>, StoreError> {
        self.units_where(
            "SELECT id FROM units WHERE mode = ?1 AND opened_ms >= ?2 AND status IN ('ok', 'flagged') ORDER BY id",
            params![mode, since_ms],
        )
    }

    /// Units holding an identifier with this matching key, of any kind.
    pub fn units_with_key(&self, key: &str) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT unit_id FROM unit_identifiers WHERE key = ?1 ORDER BY unit_id",
            )
            .map_err(|e| self.query_err(e))?;
        stmt.query_map([key], |r| r.get(0))
            .map_err(|e| self.query_err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.query_err(e))
    }

    /// The picture behind a camera unit, if it has one.
    pub fn evidence(&self, unit: i64) -> Result<Option<EvidenceRecord>, StoreError> {
        self.conn
            .query_row(
                "SELECT unit_id, at_ms, frame, width, height, symbols, sharpness, jpeg FROM evidence WHERE unit_id = ?1",
                [unit],
                |r| {
                    Ok(EvidenceRecord {
                        unit_id: r.get(0)?,
                        at_ms: r.get(1)?,
                        frame: r.get(2)?,
                        width: r.get(3)?,
                        height: r.get(4)?,
                        symbols: r.get::<_, i64>(5)?.try_into().unwrap_or(0),
                        sharpness: r.get::<_, f64>(6)? as f32,
                        jpeg: r.get(7)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.query_err(e))
    }

    /// The size of a unit's picture in bytes, with its width and height, without loading it.
    pub fn evidence_size(&self, unit: i64) -> Result<Option<(i64, u32, u32)>, StoreError> {
        self.conn
            .query_row(
                "SELECT length(jpeg), width, height FROM evidence WHERE unit_id = ?1",
                [unit],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.query_err(e))
    }

    /// `PRAGMA integrity_check`, for tests and `scanstation doctor`-style checks.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.query_err(e))
    }
}

/// What `GET /api/units` filters on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitQuery {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub mode: Option<Mode>,
    pub decision: Option<Decision>,
    pub list: Option<String>,
    /// The cursor: only units with a greater id.
    pub after_id: i64,
    pub limit: usize,
}
