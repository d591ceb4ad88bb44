//! The SQLite side of recall, blocklist, expected and shipped lists (the pure part is `crate::lists`).
//!
//! **Lookups.** Active entries are indexed by `(list_id, match, lo)` (a partial index over rows
//! with no `removed_version`), and matching runs a few indexed lookups per list of the wanted
//! kinds, so its cost does not grow with the number of entries:
//!
//! - exact kinds (serial, imei, tac, gtin, part, lot) are `lo = ?` lookups;
//! - `serial_prefix` looks up every prefix of the serial, up to the longest prefix in the list;
//! - `imei_range` and `prod_date_range` are numeric (fixed-width digits, so text order is numeric
//!   order). Each list records the widest span `hi - lo` it has held, and the lookup reads
//!   `lo BETWEEN key - span AND key`, then checks `hi >= key`. This never misses a range; its cost
//!   grows with the number of ranges starting within one widest span below the key, so a list
//!   that mixes a few very wide ranges with many narrow ones is slower (use `tac` entries for
//!   whole TACs rather than a 10^6-wide range);
//! - `serial_range` is lexicographic, where no span can be computed, so the lookup reads the 64
//!   ranges with the greatest `lo <= key` (`ORDER BY lo DESC LIMIT 64`) and checks `hi >= key`.
//!   A serial inside a range is therefore **missed when more than 64 other ranges of the same list
//!   start between that range's start and the serial** (deeply nested or overlapping ranges);
//!   disjoint ranges, the normal case, are always found.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use super::{Store, StoreError};
use crate::lists::{
    Entry, ImportMode, ImportReport, ListHit, ListKind, ListSummary, MatchKind, UnitKeys,
    display_value, is_digits,
};

/// How many serial ranges below a serial are read before giving up (see the module notes).
const SERIAL_RANGE_DEPTH: i64 = 64;

/// The page cache used while importing: 256 MiB, so index pages of a large list stay in memory
/// instead of being re-read for every insert. The previous size is restored afterwards.
const IMPORT_CACHE_KIB: i64 = 256 * 1024;

impl ToSql for ListKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for ListKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        ListKind::parse(text)
            .ok_or_else(|| FromSqlError::Other(format!("unknown list kind {text:?}").into()))
    }
}

impl ToSql for MatchKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for MatchKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        MatchKind::parse(text)
            .ok_or_else(|| FromSqlError::Other(format!("unknown match kind {text:?}").into()))
    }
}

/// An entry found by a lookup: match kind, lo, hi and reason.
type Found = (MatchKind, String, Option<String>, String);

/// A list row with what matching needs to bound its lookups.
struct ListRow {
    id: i64,
    name: String,
    kind: ListKind,
    version: i64,
    match_mask: i64,
    imei_span: i64,
    date_span: i64,
    prefix_max: i64,
}

const LIST_ROW_COLUMNS: &str =
    "id, name, kind, version, match_mask, imei_span, date_span, prefix_max";

fn list_row(row: &Row<'_>) -> rusqlite::Result<ListRow> {
    Ok(ListRow {
        id: row.get(0)?,
        name: row.get(1)?,
        kind: row.get(2)?,
        version: row.get(3)?,
        match_mask: row.get(4)?,
        imei_span: row.get(5)?,
        date_span: row.get(6)?,
        prefix_max: row.get(7)?,
    })
}

const SUMMARY_COLUMNS: &str = "name, kind, version, active, created_ms, updated_ms";

fn summary_row(row: &Row<'_>) -> rusqlite::Result<ListSummary> {
    Ok(ListSummary {
        name: row.get(0)?,
        kind: row.get(1)?,
        version: row.get(2)?,
        active: row.get(3)?,
        created_ms: row.get(4)?,
        updated_ms: row.get(5)?,
    })
}

/// The numeric width of a range whose ends are fixed-width digit strings, or 0 when either end
/// is not a number (which normalised entries never are).
fn numeric_span(lo: &str, hi: Option<&str>) -> i64 {
    let parse = |s: &str| s.parse::<i64>().ok();
    match (parse(lo), hi.and_then(parse)) {
        (Some(lo), Some(hi)) => hi.saturating_sub(lo).max(0),
        _ => 0,
    }
}

/// What the entries of one import add to a list's matching bounds.
#[derive(Debug, Clone, Copy, Default)]
struct Bounds {
    match_mask: i64,
    imei_span: i64,
    date_span: i64,
    prefix_max: i64,
}

impl Bounds {
    fn of(entries: &[Entry]) -> Bounds {
        let mut b = Bounds::default();
        for e in entries.iter().filter(|e| !e.remove) {
            b.match_mask |= e.kind.bit();
            match e.kind {
                MatchKind::ImeiRange => {
                    b.imei_span = b.imei_span.max(numeric_span(&e.lo, e.hi.as_deref()));
                }
                MatchKind::ProdDateRange => {
                    b.date_span = b.date_span.max(numeric_span(&e.lo, e.hi.as_deref()));
                }
                MatchKind::SerialPrefix => {
                    b.prefix_max = b
                        .prefix_max
                        .max(i64::try_from(e.lo.len()).unwrap_or(i64::MAX));
                }
                _ => {}
            }
        }
        b
    }

    fn merge(self, other: Bounds) -> Bounds {
        Bounds {
            match_mask: self.match_mask | other.match_mask,
            imei_span: self.imei_span.max(other.imei_span),
            date_span: self.date_span.max(other.date_span),
            prefix_max: self.prefix_max.max(other.prefix_max),
        }
    }
}

/// The entries in (nearly) index order: by match kind, then by the first 16 bytes of `lo`.
///
/// Sorting compact fixed-size keys is several times faster than comparing the strings, which
/// sit behind a pointer each (0.19 s against 1.1 s for a million entries), and entries that
/// share 16 leading bytes land on the same index pages anyway, so the rough order gives the
/// same locality as the exact one.
fn insertion_order(entries: &[Entry]) -> Vec<&Entry> {
    let mut keyed: Vec<(u8, u128, usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut prefix = [0u8; 16];
            for (d, s) in prefix.iter_mut().zip(e.lo.bytes()) {
                *d = s;
            }
            (e.kind as u8, u128::from_be_bytes(prefix), i)
        })
        .collect();
    keyed.sort_unstable();
    keyed
        .into_iter()
        .filter_map(|(_, _, i)| entries.get(i))
        .collect()
}

/// The lower end of a numeric range lookup: `key - span` in the key's width, floored at zero.
fn span_floor(key: &str, span: i64) -> Option<String> {
    let n: i64 = key.parse().ok()?;
    Some(format!(
        "{:0width$}",
        n.saturating_sub(span).max(0),
        width = key.len()
    ))
}

/// Where a list version came from when a central server published it (src/sync/lists.rs):
/// the server's URL without its password and the central version. The import records it in
/// `central_lists_pulled` in its own transaction, so a station killed after the import never
/// takes the same version twice.
#[derive(Debug, Clone, Copy)]
pub struct CentralOrigin<'a> {
    pub url: &'a str,
    pub version: i64,
}

impl Store {
    /// [`Store::import_list`] for a version a central server published, recorded as taken.
    pub fn import_central_list(
        &mut self,
        kind: ListKind,
        name: &str,
        entries: &[Entry],
        mode: ImportMode,
        now_ms: i64,
        origin: CentralOrigin<'_>,
    ) -> Result<ImportReport, StoreError> {
        self.import_list_with(kind, name, entries, mode, now_ms, Some(origin))
    }

    /// Imports `entries` into the list `name` in one transaction, creating the list (version 1)
    /// or making its next version.
    ///
    /// Add entries are stored with the new version as `added_version`. Remove entries mark the
    /// active entries with the same match kind, `lo` and `hi` removed at the new version; one
    /// that matches nothing is counted in `unmatched_removes`. With [`ImportMode::Replace`] every
    /// entry active before the import is first marked removed. A list keeps its kind: importing
    /// into an existing name with another kind fails and changes nothing.
    pub fn import_list(
        &mut self,
        kind: ListKind,
        name: &str,
        entries: &[Entry],
        mode: ImportMode,
        now_ms: i64,
    ) -> Result<ImportReport, StoreError> {
        self.import_list_with(kind, name, entries, mode, now_ms, None)
    }

    fn import_list_with(
        &mut self,
        kind: ListKind,
        name: &str,
        entries: &[Entry],
        mode: ImportMode,
        now_ms: i64,
        origin: Option<CentralOrigin<'_>>,
    ) -> Result<ImportReport, StoreError> {
        let previous_cache: i64 = self
            .conn
            .query_row("PRAGMA cache_size", [], |r| r.get(0))
            .map_err(|e| self.query_err(e))?;
        self.conn
            .pragma_update(None, "cache_size", -IMPORT_CACHE_KIB)
            .map_err(|e| self.query_err(e))?;
        let result = self.import_list_tx(kind, name, entries, mode, now_ms, origin);
        // The import's result matters more than restoring the cache size, which only costs memory.
        let _ = self.conn.pragma_update(None, "cache_size", previous_cache);
        result
    }

    fn import_list_tx(
        &mut self,
        kind: ListKind,
        name: &str,
        entries: &[Entry],
        mode: ImportMode,
        now_ms: i64,
        origin: Option<CentralOrigin<'_>>,
    ) -> Result<ImportReport, StoreError> {
        // A full list is inserted in index order, so the index grows at its right edge instead
        // of splitting pages all over; a delta keeps file order, where an add and a later
        // remove of the same entry must apply in sequence. Sorting happens before the write
        // lock is taken, since the daemon's writes wait for it.
        let order: Vec<&Entry> = match mode {
            ImportMode::Replace => insertion_order(entries),
            _ => entries.iter().collect(),
        };
        let path = self.path.clone();
        let err = |source: rusqlite::Error| StoreError::Query {
            path: path.clone(),
            source: source.into(),
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let existing = tx
            .query_row(
                "SELECT id, kind, version, active, match_mask, imei_span, date_span, prefix_max
                 FROM lists WHERE name = ?1",
                [name],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, ListKind>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        Bounds {
                            match_mask: r.get(4)?,
                            imei_span: r.get(5)?,
                            date_span: r.get(6)?,
                            prefix_max: r.get(7)?,
                        },
                    ))
                },
            )
            .optional()
            .map_err(err)?;
        let new_bounds = Bounds::of(entries);
        let (list_id, version, mut active, bounds) = match existing {
            Some((_, stored, ..)) if stored != kind => {
                return Err(StoreError::ListKindMismatch {
                    path: self.path.clone(),
                    name: name.to_owned(),
                    stored,
                    requested: kind,
                });
            }
            Some((id, _, version, active, old_bounds)) => {
                let bounds = match mode {
                    // Every old entry is about to be removed, so the old bounds no longer apply.
                    ImportMode::Replace => new_bounds,
                    ImportMode::Delta => old_bounds.merge(new_bounds),
                };
                (id, version + 1, active, bounds)
            }
            None => {
                tx.execute(
                    "INSERT INTO lists (name, kind, version, active, created_ms, updated_ms)
                     VALUES (?1, ?2, 0, 0, ?3, ?3)",
                    params![name, kind, now_ms],
                )
                .map_err(err)?;
                (tx.last_insert_rowid(), 1, 0, new_bounds)
            }
        };
        let mut removed = 0usize;
        if mode == ImportMode::Replace {
            removed += tx
                .execute(
                    "UPDATE list_entries SET removed_version = ?2
                     WHERE list_id = ?1 AND removed_version IS NULL",
                    params![list_id, version],
                )
                .map_err(err)?;
            active = 0;
        }
        let mut added = 0usize;
        let mut unmatched_removes = 0usize;
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO list_entries (list_id, match, lo, hi, reason, line, added_version)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(err)?;
            let mut remove = tx
                .prepare(
                    "UPDATE list_entries SET removed_version = ?5
                     WHERE list_id = ?1 AND match = ?2 AND lo = ?3 AND hi IS ?4
                       AND removed_version IS NULL",
                )
                .map_err(err)?;
            for e in order {
                if e.remove {
                    let n = remove
                        .execute(params![list_id, e.kind, e.lo, e.hi, version])
                        .map_err(err)?;
                    if n == 0 {
                        unmatched_removes += 1;
                    }
                    removed += n;
                    active -= i64::try_from(n).unwrap_or(0);
                } else {
                    insert
                        .execute(params![
                            list_id,
                            e.kind,
                            e.lo,
                            e.hi,
                            e.reason,
                            i64::try_from(e.line).unwrap_or(i64::MAX),
                            version
                        ])
                        .map_err(err)?;
                    added += 1;
                    active += 1;
                }
            }
        }
        tx.execute(
            "UPDATE lists SET version = ?2, active = ?3, updated_ms = ?4, match_mask = ?5,
                imei_span = ?6, date_span = ?7, prefix_max = ?8
             WHERE id = ?1",
            params![
                list_id,
                version,
                active,
                now_ms,
                bounds.match_mask,
                bounds.imei_span,
                bounds.date_span,
                bounds.prefix_max
            ],
        )
        .map_err(err)?;
        if kind == ListKind::Recall {
            recount_recall(&tx, list_id).map_err(err)?;
        }
        tx.execute(
            "INSERT INTO list_imports (list_id, version, mode, imported_ms, added, removed, unmatched_removes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                list_id,
                version,
                mode.as_str(),
                now_ms,
                i64::try_from(added).unwrap_or(i64::MAX),
                i64::try_from(removed).unwrap_or(i64::MAX),
                i64::try_from(unmatched_removes).unwrap_or(i64::MAX)
            ],
        )
        .map_err(err)?;
        super::chain::append_list_version(&tx, tx.last_insert_rowid()).map_err(err)?;
        if let Some(origin) = origin {
            super::sync_state::record_pulled(&tx, origin, name, Some(version), now_ms)
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(ImportReport {
            list: name.to_owned(),
            version,
            added,
            removed,
            unmatched_removes,
        })
    }

    /// Every list, by name.
    pub fn lists(&self) -> Result<Vec<ListSummary>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM lists ORDER BY name"
            ))
            .map_err(|e| self.query_err(e))?;
        stmt.query_map([], summary_row)
            .map_err(|e| self.query_err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.query_err(e))
    }

    /// One list and its active entries (ordered by match kind and value), or `None` when there
    /// is no list of that name. The entries' `line` is the line of the file that added them.
    pub fn list_entries(
        &self,
        name: &str,
    ) -> Result<Option<(ListSummary, Vec<Entry>)>, StoreError> {
        let summary = self
            .conn
            .query_row(
                &format!("SELECT {SUMMARY_COLUMNS}, id FROM lists WHERE name = ?1"),
                [name],
                |r| Ok((summary_row(r)?, r.get::<_, i64>(6)?)),
            )
            .optional()
            .map_err(|e| self.query_err(e))?;
        let Some((summary, id)) = summary else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT match, lo, hi, reason, line FROM list_entries
                 WHERE list_id = ?1 AND removed_version IS NULL ORDER BY match, lo",
            )
            .map_err(|e| self.query_err(e))?;
        let entries = stmt
            .query_map([id], |r| {
                Ok(Entry {
                    kind: r.get(0)?,
                    lo: r.get(1)?,
                    hi: r.get(2)?,
                    reason: r.get(3)?,
                    line: usize::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                    remove: false,
                })
            })
            .map_err(|e| self.query_err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.query_err(e))?;
        Ok(Some((summary, entries)))
    }

    /// Deletes a list with all its entries and import history. Decisions that named it keep
    /// their own text copy of the hit. Returns false when there was no such list.
    pub fn remove_list(&mut self, name: &str) -> Result<bool, StoreError> {
        self.remove_list_with(name, None)
    }

    /// [`Store::remove_list`] for a list its central server removed, recorded as taken (also
    /// when the station no longer had the list).
    pub fn remove_central_list(
        &mut self,
        name: &str,
        now_ms: i64,
        origin: CentralOrigin<'_>,
    ) -> Result<bool, StoreError> {
        self.remove_list_with(name, Some((origin, now_ms)))
    }

    fn remove_list_with(
        &mut self,
        name: &str,
        origin: Option<(CentralOrigin<'_>, i64)>,
    ) -> Result<bool, StoreError> {
        let path = self.path.clone();
        let err = |source: rusqlite::Error| StoreError::Query {
            path: path.clone(),
            source: source.into(),
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let id: Option<i64> = tx
            .query_row("SELECT id FROM lists WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(err)?;
        if let Some((origin, now_ms)) = origin {
            super::sync_state::record_pulled(&tx, origin, name, None, now_ms).map_err(err)?;
        }
        let Some(id) = id else {
            tx.commit().map_err(err)?;
            return Ok(false);
        };
        super::chain::append_list_removed(&tx, id).map_err(err)?;
        // Two deletes, so each one can use its partial index instead of scanning the table.
        for sql in [
            "DELETE FROM recall_found WHERE list_id = ?1",
            "DELETE FROM list_entries WHERE list_id = ?1 AND removed_version IS NULL",
            "DELETE FROM list_entries WHERE list_id = ?1 AND removed_version IS NOT NULL",
            "DELETE FROM list_imports WHERE list_id = ?1",
            "DELETE FROM lists WHERE id = ?1",
        ] {
            tx.execute(sql, [id]).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(true)
    }

    /// Every active entry of every list of the given kinds that matches the unit, each once,
    /// ordered by list name then entry. See the module notes for how the lookups are bounded.
    pub fn match_unit(
        &self,
        keys: &UnitKeys,
        kinds: &[ListKind],
    ) -> Result<Vec<ListHit>, StoreError> {
        let mut hits: Vec<ListHit> = Vec::new();
        if kinds.is_empty() || keys.is_empty() {
            return Ok(hits);
        }
        let lists: Vec<ListRow> = {
            let mut stmt = self
                .conn
                .prepare_cached(&format!(
                    "SELECT {LIST_ROW_COLUMNS} FROM lists ORDER BY name"
                ))
                .map_err(|e| self.query_err(e))?;
            stmt.query_map([], list_row)
                .map_err(|e| self.query_err(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.query_err(e))?
        };
        let tacs = keys.tacs();
        // Range lookups need fixed-width digit keys; anything else cannot be inside a range.
        let imeis: Vec<&String> = keys.imei14s.iter().filter(|k| is_digits(k, 14)).collect();
        let dates: Vec<&String> = keys.prod_dates.iter().filter(|d| is_digits(d, 8)).collect();
        for list in lists.iter().filter(|l| kinds.contains(&l.kind)) {
            let mut found: Vec<Found> = Vec::new();
            let has = |k: MatchKind| list.match_mask & k.bit() != 0;
            let exact = |k: MatchKind, values: &[String], found: &mut Vec<_>| {
                if has(k) {
                    for v in values {
                        self.lookup_exact(list.id, k, v, found)?;
                    }
                }
                Ok::<(), StoreError>(())
            };
            exact(MatchKind::Serial, &keys.serials, &mut found)?;
            exact(MatchKind::Imei, &keys.imei14s, &mut found)?;
            exact(MatchKind::Tac, &tacs, &mut found)?;
            exact(MatchKind::Gtin, &keys.gtin14s, &mut found)?;
            exact(MatchKind::Part, &keys.parts, &mut found)?;
            exact(MatchKind::Lot, &keys.lots, &mut found)?;
            if has(MatchKind::SerialPrefix) {
                let max = usize::try_from(list.prefix_max).unwrap_or(usize::MAX);
                for serial in &keys.serials {
                    for len in 1..=serial.len().min(max) {
                        // A prefix that would split a multi-byte character cannot be an entry.
                        if let Some(prefix) = serial.get(..len) {
                            self.lookup_exact(
                                list.id,
                                MatchKind::SerialPrefix,
                                prefix,
                                &mut found,
                            )?;
                        }
                    }
                }
            }
            if has(MatchKind::SerialRange) {
                for serial in &keys.serials {
                    self.lookup_serial_range(list.id, serial, &mut found)?;
                }
            }
            if has(MatchKind::ImeiRange) {
                for imei in &imeis {
                    self.lookup_numeric_range(
                        list.id,
                        MatchKind::ImeiRange,
                        imei,
                        list.imei_span,
                        &mut found,
                    )?;
                }
            }
            if has(MatchKind::ProdDateRange) {
                for date in &dates {
                    self.lookup_numeric_range(
                        list.id,
                        MatchKind::ProdDateRange,
                        date,
                        list.date_span,
                        &mut found,
                    )?;
                }
            }
            for (match_kind, lo, hi, reason) in found {
                let hit = ListHit {
                    list: list.name.clone(),
                    kind: list.kind,
                    version: list.version,
                    match_kind,
                    value: display_value(&lo, hi.as_deref()),
                    reason,
                };
                if !hits.contains(&hit) {
                    hits.push(hit);
                }
            }
        }
        Ok(hits)
    }

    fn lookup_exact(
        &self,
        list_id: i64,
        kind: MatchKind,
        value: &str,
        found: &mut Vec<Found>,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT hi, reason FROM list_entries
                 WHERE list_id = ?1 AND match = ?2 AND lo = ?3 AND removed_version IS NULL",
            )
            .map_err(|e| self.query_err(e))?;
        let rows = stmt
            .query_map(params![list_id, kind, value], |r| {
                Ok((r.get::<_, Option<String>>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.query_err(e))?;
        for row in rows {
            let (hi, reason) = row.map_err(|e| self.query_err(e))?;
            found.push((kind, value.to_owned(), hi, reason));
        }
        Ok(())
    }

    fn lookup_serial_range(
        &self,
        list_id: i64,
        serial: &str,
        found: &mut Vec<Found>,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT lo, hi, reason FROM list_entries
                 WHERE list_id = ?1 AND match = ?2 AND lo <= ?3 AND removed_version IS NULL
                 ORDER BY lo DESC LIMIT ?4",
            )
            .map_err(|e| self.query_err(e))?;
        collect_ranges(
            self,
            &mut stmt,
            params![list_id, MatchKind::SerialRange, serial, SERIAL_RANGE_DEPTH],
            MatchKind::SerialRange,
            serial,
            found,
        )
    }

    fn lookup_numeric_range(
        &self,
        list_id: i64,
        kind: MatchKind,
        key: &str,
        span: i64,
        found: &mut Vec<Found>,
    ) -> Result<(), StoreError> {
        let Some(floor) = span_floor(key, span) else {
            return Ok(());
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT lo, hi, reason FROM list_entries
                 WHERE list_id = ?1 AND match = ?2 AND lo BETWEEN ?3 AND ?4
                   AND removed_version IS NULL",
            )
            .map_err(|e| self.query_err(e))?;
        collect_ranges(
            self,
            &mut stmt,
            params![list_id, kind, floor, key],
            kind,
            key,
            found,
        )
    }

    /// For each recall list: how many of its active exact entries (serial and imei) have been
    /// seen on a unit that was not cancelled, and how many such entries it has.
    ///
    /// The counts are kept as units and lists change (migration 6, [`recount_recall`]), so this
    /// reads one row per recall list whatever the size of the lists: the daemon calls it on
    /// the event loop after every recall unit.
    pub fn recall_progress(&self) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, recall_found, recall_total FROM lists
                 WHERE kind = 'recall' ORDER BY name",
            )
            .map_err(|e| self.query_err(e))?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.query_err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.query_err(e))
    }

    /// [`Store::recall_progress`] recounted from scratch, every entry against every unit: the
    /// definition the kept counts must always equal. Its cost grows with the lists and the
    /// units (about 350 ms for a million entries), so it is for tests and checks only.
    pub fn recall_progress_recount(&self) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT l.name,
                    (SELECT COUNT(*) FROM list_entries e
                     WHERE e.list_id = l.id AND e.match IN ('serial', 'imei')
                       AND e.removed_version IS NULL
                       AND EXISTS (
                         SELECT 1 FROM unit_identifiers ui JOIN units u ON u.id = ui.unit_id
                         WHERE ui.key = e.lo AND ui.kind = e.match AND u.status != 'cancelled')),
                    (SELECT COUNT(*) FROM list_entries e
                     WHERE e.list_id = l.id AND e.match IN ('serial', 'imei')
                       AND e.removed_version IS NULL)
                 FROM lists l WHERE l.kind = 'recall' ORDER BY l.name",
            )
            .map_err(|e| self.query_err(e))?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.query_err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.query_err(e))
    }
}

/// Brings a recall list's kept progress up to date after an import changed its entries, inside
/// the import's transaction.
///
/// Entries the import removed leave `recall_found`, entries it added that a unit already holds
/// join it (driven from the units' identifiers, which are far fewer than a big list's entries),
/// and the total is counted on the active-entry index. The import runs outside the event loop,
/// so the count's cost (tens of milliseconds for a million entries) is paid there.
fn recount_recall(tx: &rusqlite::Transaction<'_>, list_id: i64) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM recall_found WHERE list_id = ?1 AND EXISTS (
            SELECT 1 FROM list_entries e
            WHERE e.id = recall_found.entry_id AND e.removed_version IS NOT NULL)",
        [list_id],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO recall_found (entry_id, list_id)
         SELECT DISTINCT e.id, e.list_id
         FROM unit_identifiers ui CROSS JOIN units u CROSS JOIN list_entries e
         WHERE u.id = ui.unit_id AND u.status != 'cancelled' AND ui.kind IN ('serial', 'imei')
           AND e.list_id = ?1 AND e.match = ui.kind AND e.lo = ui.key
           AND e.removed_version IS NULL",
        [list_id],
    )?;
    tx.execute(
        "UPDATE lists SET recall_total = (
            SELECT COUNT(*) FROM list_entries
            WHERE list_id = ?1 AND match IN ('serial', 'imei') AND removed_version IS NULL)
         WHERE id = ?1",
        [list_id],
    )?;
    Ok(())
}

/// Runs a range candidate query (rows `lo, hi, reason`) and keeps the ranges that hold `key`.
fn collect_ranges(
    store: &Store,
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: &[&dyn ToSql],
    kind: MatchKind,
    key: &str,
    found: &mut Vec<Found>,
) -> Result<(), StoreError> {
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(|e| store.query_err(e))?;
    for row in rows {
        let (lo, hi, reason) = row.map_err(|e| store.query_err(e))?;
        if hi.as_deref().is_some_and(|hi| key <= hi) && lo.as_str() <= key {
            found.push((kind, lo, hi, reason));
        }
    }
    Ok(())
}
