//! The ledger: an append-only, hash-chained record of everything the station recorded, so that a
//! row edited, deleted or inserted by hand afterwards (with the append-only triggers dropped) is
//! found by `scanstation verify`, and so that a central server can check each station's history
//! as it arrives.
//!
//! Every scan, every change of a unit (open, scan, undo, close, amend, cancel, interrupted) and
//! every list version applied or list removed appends one `ledger` row in the transaction that
//! makes the change. A row's hash is
//!
//! ```text
//! SHA-256(previous row's hash ‖ kind ‖ "\n" ‖ ref_id ‖ "\n" ‖ event ‖ "\n" ‖ body)
//! ```
//!
//! with the 32 zero bytes before the first row. The body is the canonical JSON of the recorded
//! row: for a unit and a list version it is kept in the ledger, since units change and list
//! versions go when their list is removed; for a scan, which never changes, it is rebuilt from
//! the `scans` row (the ledger keeps only the hash), so a million scans cost no second copy.
//!
//! The canonical form is part of every stored hash: **never change it** (the golden test in this
//! module pins it). A chain that must change its form needs a new `event` name or a new kind.
//!
//! What the chain can and cannot show: anyone who can write the file can also recompute every
//! hash after an edit. The chain makes an edit visible against a copy of the chain kept
//! elsewhere (the central server keeps each station's), and makes casual edits with an SQLite
//! shell visible on the spot.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The schema version whose migration starts the chain (see `migrations::apply`).
pub(super) const CHAIN_MIGRATION: usize = 9;

/// The hash before the first row.
const ZERO: [u8; 32] = [0; 32];

/// The columns of a scan's canonical body, in their canonical order.
const SCAN_BODY: &str = "SELECT id, at_ms, source, raw, symbology, kind, value, valid, reason_code, reason, outcome, unit_id, mode, decision, decision_reason FROM scans WHERE id = ?1";

/// The columns of a unit's canonical body (its row), in their canonical order.
const UNIT_BODY: &str = "SELECT id, opened_ms, closed_ms, status, close_reason, complete, flags, mode, decision, decision_reason, decision_list, decision_list_version, invalid, amends FROM units WHERE id = ?1";

/// A unit's identifiers, in the canonical order.
const UNIT_IDENTIFIERS: &str = "SELECT kind, value, key, slot, scan_id FROM unit_identifiers WHERE unit_id = ?1 ORDER BY kind, slot, id";

/// The columns of a list version's canonical body.
const LIST_BODY: &str = "SELECT i.id, i.list_id, l.name, l.kind, i.version, i.mode, i.imported_ms, i.added, i.removed, i.unmatched_removes FROM list_imports i JOIN lists l ON l.id = i.list_id WHERE i.id = ?1";

/// What a ledger row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The first row: the chain started, and what the store held before it.
    Genesis,
    Scan,
    Unit,
    /// A list version applied (`ref_id` is the `list_imports` row) or a list removed (`ref_id`
    /// is the list).
    List,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Genesis => "genesis",
            Kind::Scan => "scan",
            Kind::Unit => "unit",
            Kind::List => "list",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "genesis" => Kind::Genesis,
            "scan" => Kind::Scan,
            "unit" => Kind::Unit,
            "list" => Kind::List,
            _ => return None,
        })
    }
}

/// The hash of a row from the hash before it and the row's content.
pub(crate) fn link(prev: &[u8], kind: &str, ref_id: i64, event: &str, body: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(kind.as_bytes());
    h.update(b"\n");
    h.update(ref_id.to_string().as_bytes());
    h.update(b"\n");
    h.update(event.as_bytes());
    h.update(b"\n");
    h.update(body.as_bytes());
    h.finalize().into()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// One SQL value in canonical JSON. Text that is not UTF-8 and blobs are written as hex in an
/// object of their own, so no two different values share a form.
fn push_value(out: &mut String, value: ValueRef<'_>) {
    match value {
        ValueRef::Null => out.push_str("null"),
        ValueRef::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        ValueRef::Real(f) => out.push_str(&serde_json::Value::from(f).to_string()),
        ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => out.push_str(&serde_json::Value::from(text).to_string()),
            Err(_) => {
                let _ = write!(out, "{{\"text_hex\":\"{}\"}}", hex(bytes));
            }
        },
        ValueRef::Blob(bytes) => {
            let _ = write!(out, "{{\"hex\":\"{}\"}}", hex(bytes));
        }
    }
}

/// The canonical JSON object of a row: its columns by name, in the query's order.
fn row_object(row: &rusqlite::Row<'_>) -> rusqlite::Result<String> {
    let stmt = row.as_ref();
    let mut out = String::from("{");
    for i in 0..stmt.column_count() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(stmt.column_name(i)?).to_string());
        out.push(':');
        push_value(&mut out, row.get_ref(i)?);
    }
    out.push('}');
    Ok(out)
}

/// The canonical body of the row `sql` selects for `id`, or `None` when there is none.
fn body_of(conn: &Connection, sql: &str, id: i64) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(sql)?
        .query_row([id], row_object)
        .optional()
}

pub(crate) fn scan_body(conn: &Connection, id: i64) -> rusqlite::Result<Option<String>> {
    body_of(conn, SCAN_BODY, id)
}

/// A unit's row and its identifiers: `{"unit":{...},"identifiers":[{...},...]}`.
pub(super) fn unit_body(conn: &Connection, id: i64) -> rusqlite::Result<Option<String>> {
    let Some(unit) = body_of(conn, UNIT_BODY, id)? else {
        return Ok(None);
    };
    let mut out = format!("{{\"unit\":{unit},\"identifiers\":[");
    let mut stmt = conn.prepare_cached(UNIT_IDENTIFIERS)?;
    let mut rows = stmt.query([id])?;
    let mut first = true;
    while let Some(row) = rows.next()? {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&row_object(row)?);
    }
    out.push_str("]}");
    Ok(Some(out))
}

pub(super) fn list_body(conn: &Connection, import_id: i64) -> rusqlite::Result<Option<String>> {
    body_of(conn, LIST_BODY, import_id)
}

/// The last row's sequence number and hash (0 and zeros before the first).
fn head(conn: &Connection) -> rusqlite::Result<(i64, Vec<u8>)> {
    Ok(conn
        .prepare_cached("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0, ZERO.to_vec())))
}

/// Appends one row; `stored` is the body kept in the ledger (none for scans).
fn append(
    conn: &Connection,
    kind: Kind,
    ref_id: i64,
    event: &str,
    body: &str,
    stored: bool,
) -> rusqlite::Result<()> {
    let (seq, prev) = head(conn)?;
    let hash = link(&prev, kind.as_str(), ref_id, event, body);
    conn.prepare_cached(
        "INSERT INTO ledger (seq, kind, ref_id, event, body, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        seq + 1,
        kind.as_str(),
        ref_id,
        event,
        stored.then_some(body),
        &hash[..]
    ])?;
    Ok(())
}

/// Chains the scan just inserted with `id`.
pub(super) fn append_scan(conn: &Connection, id: i64, event: &str) -> rusqlite::Result<()> {
    let body = scan_body(conn, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    append(conn, Kind::Scan, id, event, &body, false)
}

/// Chains a unit's state after `event` (a unit that no longer exists is not chained).
pub(super) fn append_unit(conn: &Connection, id: i64, event: &str) -> rusqlite::Result<()> {
    match unit_body(conn, id)? {
        Some(body) => append(conn, Kind::Unit, id, event, &body, true),
        None => Ok(()),
    }
}

/// Chains a list version just applied (`import_id` is its `list_imports` row).
pub(super) fn append_list_version(conn: &Connection, import_id: i64) -> rusqlite::Result<()> {
    let body = list_body(conn, import_id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    append(conn, Kind::List, import_id, "applied", &body, true)
}

/// Chains the removal of a list, before its rows are deleted.
pub(super) fn append_list_removed(conn: &Connection, list_id: i64) -> rusqlite::Result<()> {
    let body = conn
        .prepare_cached("SELECT id AS list_id, name, kind, version FROM lists WHERE id = ?1")?
        .query_row([list_id], row_object)?;
    append(conn, Kind::List, list_id, "removed", &body, true)
}

/// Starts the chain (migration 9): a genesis row that records when and what the store already
/// held, then every earlier scan, unit and list version chained as found, in id order. A store
/// upgraded from before the chain is thus fully covered from the upgrade on; what happened to
/// those rows before it cannot be told, and the genesis row says so.
pub(super) fn start(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let count = |table: &str| -> rusqlite::Result<i64> {
        tx.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
    };
    let (scans, units, versions) = (count("scans")?, count("units")?, count("list_imports")?);
    if scans + units + versions > 0 {
        // A large store takes a while (about 100 s for 3M scans and 1M units): say why the
        // station is not ready yet.
        tracing::info!(
            scans,
            units,
            list_versions = versions,
            "starting the ledger: chaining the rows this store already holds (once)"
        );
    }
    let started_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let body = format!(
        "{{\"chain\":\"started\",\"schema\":{CHAIN_MIGRATION},\"started_ms\":{started_ms},\"before_chain\":{{\"scans\":{scans},\"units\":{units},\"list_versions\":{versions}}}}}"
    );
    append(tx, Kind::Genesis, 0, "started", &body, true)?;
    let ids = |table: &str| -> rusqlite::Result<Vec<i64>> {
        let mut stmt = tx.prepare(&format!("SELECT id FROM {table} ORDER BY id"))?;
        stmt.query_map([], |r| r.get(0))?.collect()
    };
    for id in ids("scans")? {
        append_scan(tx, id, "before-chain")?;
    }
    for id in ids("units")? {
        append_unit(tx, id, "before-chain")?;
    }
    for id in ids("list_imports")? {
        let body = list_body(tx, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        append(tx, Kind::List, id, "before-chain", &body, true)?;
    }
    Ok(())
}

/// What `scanstation verify` found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VerifyReport {
    pub ok: bool,
    /// Ledger rows walked.
    pub rows: i64,
    pub first_bad: Option<BadRow>,
    /// The last row's hash (hex), to compare with a copy of the chain kept elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// The genesis row's body: when the chain started and what the store held before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<serde_json::Value>,
}

/// The first row that does not check out.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BadRow {
    pub table: String,
    pub id: i64,
    pub reason: String,
}

fn bad(table: &str, id: i64, reason: String) -> Option<BadRow> {
    Some(BadRow {
        table: table.to_owned(),
        id,
        reason,
    })
}

/// The last chained state of a unit or list version: where, and the body's digest.
struct Last {
    seq: i64,
    event: String,
    digest: [u8; 32],
}

fn digest(body: &str) -> [u8; 32] {
    Sha256::digest(body.as_bytes()).into()
}

/// Walks the chain and checks it against the tables. Stops at the first bad row: after it, the
/// rest of the chain cannot be trusted anyway.
pub(super) fn verify(conn: &Connection) -> rusqlite::Result<VerifyReport> {
    let mut report = VerifyReport {
        ok: false,
        rows: 0,
        first_bad: None,
        head: None,
        started: None,
    };
    let has_ledger: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger')",
        [],
        |r| r.get(0),
    )?;
    if !has_ledger {
        report.first_bad = bad(
            "ledger",
            0,
            "the ledger table is missing: this store has no chain (it was dropped, or the store predates schema 9 and was never opened by a newer station)".into(),
        );
        return Ok(report);
    }
    let mut scans: HashSet<i64> = HashSet::new();
    let mut units: HashMap<i64, Last> = HashMap::new();
    let mut versions: HashMap<i64, Last> = HashMap::new();
    let mut removed_lists: HashSet<i64> = HashSet::new();
    let mut prev = ZERO.to_vec();
    let mut expected = 1;
    let mut stmt =
        conn.prepare("SELECT seq, kind, ref_id, event, body, hash FROM ledger ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let kind_text: String = row.get(1)?;
        let ref_id: i64 = row.get(2)?;
        let event: String = row.get(3)?;
        let stored: Option<String> = row.get(4)?;
        let hash: Vec<u8> = row.get(5)?;
        if seq != expected {
            report.first_bad = bad(
                "ledger",
                expected,
                format!(
                    "missing: the chain goes from row {} to row {seq}, so a ledger row was deleted",
                    expected - 1
                ),
            );
            return Ok(report);
        }
        let Some(kind) = Kind::parse(&kind_text) else {
            report.first_bad = bad("ledger", seq, format!("unknown kind {kind_text:?}"));
            return Ok(report);
        };
        if (seq == 1) != (kind == Kind::Genesis) {
            report.first_bad = bad(
                "ledger",
                seq,
                "the chain must begin with its genesis row, and only there".into(),
            );
            return Ok(report);
        }
        let body = match kind {
            Kind::Scan => {
                if stored.is_some() {
                    report.first_bad = bad(
                        "ledger",
                        seq,
                        "a scan's ledger row carries a body; the station never writes one".into(),
                    );
                    return Ok(report);
                }
                match scan_body(conn, ref_id)? {
                    Some(body) => body,
                    None => {
                        report.first_bad = bad(
                            "scans",
                            ref_id,
                            format!("deleted: chained at ledger row {seq}, no longer in the table"),
                        );
                        return Ok(report);
                    }
                }
            }
            _ => match stored {
                Some(body) => body,
                None => {
                    report.first_bad = bad("ledger", seq, "the row's body is missing".into());
                    return Ok(report);
                }
            },
        };
        if link(&prev, kind.as_str(), ref_id, &event, &body)[..] != hash[..] {
            report.first_bad = match kind {
                Kind::Scan => bad(
                    "scans",
                    ref_id,
                    format!(
                        "edited: its content no longer gives the hash chained at ledger row {seq} (or that ledger row was edited)"
                    ),
                ),
                _ => bad(
                    "ledger",
                    seq,
                    "edited, or inserted: its hash does not follow from the row before it and its own content".into(),
                ),
            };
            return Ok(report);
        }
        match kind {
            Kind::Genesis => report.started = serde_json::from_str(&body).ok(),
            Kind::Scan => {
                if !scans.insert(ref_id) {
                    report.first_bad = bad(
                        "scans",
                        ref_id,
                        format!("chained twice (again at ledger row {seq})"),
                    );
                    return Ok(report);
                }
            }
            Kind::Unit => {
                let last = Last {
                    seq,
                    event: event.clone(),
                    digest: digest(&body),
                };
                units.insert(ref_id, last);
            }
            Kind::List if event == "removed" => {
                removed_lists.insert(ref_id);
            }
            Kind::List => {
                let last = Last {
                    seq,
                    event: event.clone(),
                    digest: digest(&body),
                };
                versions.insert(ref_id, last);
            }
        }
        prev = hash;
        expected += 1;
        report.rows = seq;
    }
    drop(rows);
    drop(stmt);
    report.head = (report.rows > 0).then(|| hex(&prev));

    // Every scan in the table is in the chain. Counting first keeps the usual case one query.
    let in_table: i64 = conn.query_row("SELECT COUNT(*) FROM scans", [], |r| r.get(0))?;
    if in_table != scans.len() as i64 {
        let mut stmt = conn.prepare("SELECT id FROM scans ORDER BY id")?;
        let ids = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        for id in ids {
            let id = id?;
            if !scans.contains(&id) {
                report.first_bad = bad(
                    "scans",
                    id,
                    "inserted: the row is in the table but not in the chain".into(),
                );
                return Ok(report);
            }
        }
    }

    // Every unit is what its last chained event says, and every chained unit still exists.
    let mut stmt = conn.prepare("SELECT id FROM units ORDER BY id")?;
    let ids: Vec<i64> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        let Some(last) = units.get(id) else {
            report.first_bad = bad(
                "units",
                *id,
                "inserted: the unit is in the table but not in the chain".into(),
            );
            return Ok(report);
        };
        let now = unit_body(conn, *id)?.unwrap_or_default();
        if digest(&now) != last.digest {
            let chained: Option<String> =
                conn.query_row("SELECT body FROM ledger WHERE seq = ?1", [last.seq], |r| {
                    r.get(0)
                })?;
            report.first_bad = bad(
                "units",
                *id,
                format!(
                    "edited: differs from its last chained event (ledger row {}, {}){}",
                    last.seq,
                    last.event,
                    differences(chained.as_deref().unwrap_or(""), &now)
                ),
            );
            return Ok(report);
        }
    }
    if ids.len() != units.len() {
        let present: HashSet<i64> = ids.into_iter().collect();
        let mut gone: Vec<(&i64, &Last)> = units
            .iter()
            .filter(|(id, _)| !present.contains(id))
            .collect();
        gone.sort_by_key(|(id, _)| **id);
        if let Some((id, last)) = gone.first() {
            report.first_bad = bad(
                "units",
                **id,
                format!(
                    "deleted: chained at ledger row {} ({}), no longer in the table",
                    last.seq, last.event
                ),
            );
            return Ok(report);
        }
    }

    // Every list version in the table is chained as it is; a chained one may be gone only with
    // its list's chained removal.
    let mut stmt = conn.prepare("SELECT id, list_id FROM list_imports ORDER BY id")?;
    let rows: Vec<(i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let present: HashSet<i64> = rows.iter().map(|(id, _)| *id).collect();
    for (id, _) in &rows {
        let now = list_body(conn, *id)?.unwrap_or_default();
        match versions.get(id) {
            None => {
                report.first_bad = bad(
                    "list_imports",
                    *id,
                    "inserted: the list version is in the table but not in the chain".into(),
                );
                return Ok(report);
            }
            Some(last) if digest(&now) != last.digest => {
                report.first_bad = bad(
                    "list_imports",
                    *id,
                    format!(
                        "edited: differs from the version chained at ledger row {}",
                        last.seq
                    ),
                );
                return Ok(report);
            }
            Some(_) => {}
        }
    }
    let mut gone: Vec<(&i64, &Last)> = versions
        .iter()
        .filter(|(id, _)| !present.contains(id))
        .collect();
    gone.sort_by_key(|(id, _)| **id);
    for (id, last) in gone {
        let body: Option<String> =
            conn.query_row("SELECT body FROM ledger WHERE seq = ?1", [last.seq], |r| {
                r.get(0)
            })?;
        let list_id = body
            .as_deref()
            .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            .and_then(|v| v["list_id"].as_i64());
        if !list_id.is_some_and(|l| removed_lists.contains(&l)) {
            report.first_bad = bad(
                "list_imports",
                *id,
                format!(
                    "deleted: chained at ledger row {}, gone without its list's removal",
                    last.seq
                ),
            );
            return Ok(report);
        }
    }
    report.ok = true;
    Ok(report)
}

/// The top-level fields of a unit's row that differ between the chained and the current body,
/// as `: status was "ok", now "flagged"`, so the reason says what was changed.
fn differences(chained: &str, now: &str) -> String {
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap_or_default();
    let (was, is) = (parse(chained), parse(now));
    let mut out = Vec::new();
    if let (Some(was_unit), Some(is_unit)) = (was["unit"].as_object(), is["unit"].as_object()) {
        for (key, before) in was_unit {
            let after = is_unit.get(key).unwrap_or(&serde_json::Value::Null);
            if before != after {
                out.push(format!("{key} was {before}, now {after}"));
            }
        }
    }
    if was["identifiers"] != is["identifiers"] {
        out.push(format!(
            "identifiers were {}, now {}",
            was["identifiers"], is["identifiers"]
        ));
    }
    if out.is_empty() {
        String::new()
    } else {
        format!(": {}", out.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ident::{IdKind, Kind as ScanKind};
    use crate::lists::{Entry, ImportMode, ListKind, MatchKind};
    use crate::record::{
        CloseReason, ScanOutcome, ScanRecord, UnitIdRecord, UnitRecord, UnitStatus,
    };
    use crate::store::Store;

    fn scan(id: i64, unit: i64, kind: ScanKind, value: &str) -> ScanRecord {
        ScanRecord {
            id,
            at_ms: 1_000 * id,
            source: "stdin".into(),
            raw: value.as_bytes().to_vec(),
            symbology: None,
            kind,
            value: value.into(),
            valid: true,
            reason_code: None,
            reason: None,
            outcome: ScanOutcome::Added,
            unit: Some(unit),
            mode: None,
            decision: None,
            decision_reason: None,
        }
    }

    /// A store as a station leaves it: two closed units of two scans each (the second amended
    /// once), one cancelled, and a recall list in two versions.
    fn station_store(dir: &std::path::Path) -> (std::path::PathBuf, Store) {
        let path = dir.join("chain.db");
        let mut store = Store::open(&path).expect("open");
        for unit in 1..=2 {
            let tx = store.begin().expect("begin");
            tx.open_unit(unit, 1_000 * unit).expect("open unit");
            let serial = scan(
                2 * unit - 1,
                unit,
                ScanKind::Serial,
                &format!("SERIAL{unit}"),
            );
            let imei = scan(2 * unit, unit, ScanKind::Imei, "354178036859789");
            let mut ids = Vec::new();
            for (slot_kind, s) in [(IdKind::Serial, &serial), (IdKind::Imei, &imei)] {
                tx.insert_scan(s).expect("scan");
                ids.push(UnitIdRecord {
                    kind: slot_kind,
                    value: s.value.clone(),
                    key: s.value.clone(),
                    slot: 1,
                    scan_id: s.id,
                });
            }
            let mut record = UnitRecord {
                id: unit,
                opened_ms: 1_000 * unit,
                closed_ms: Some(1_000 * unit + 500),
                status: UnitStatus::Ok,
                close_reason: Some(CloseReason::Complete),
                complete: true,
                flags: Vec::new(),
                identifiers: ids,
                mode: None,
                decision: None,
                decision_reason: None,
                decision_list: None,
                decision_list_version: None,
                invalid: Vec::new(),
                amends: 0,
            };
            tx.close_unit(&record).expect("close");
            tx.commit().expect("commit");
            if unit == 2 {
                let tx = store.begin().expect("begin");
                record.amends = 1;
                tx.close_unit(&record).expect("amend");
                tx.commit().expect("commit");
            }
        }
        let tx = store.begin().expect("begin");
        tx.open_unit(3, 9_000).expect("open");
        tx.insert_scan(&scan(5, 3, ScanKind::Serial, "SERIAL3"))
            .expect("scan");
        tx.cancel_unit(3, 9_500).expect("cancel");
        tx.commit().expect("commit");
        let entry = |line, lo: &str, remove| Entry {
            line,
            kind: MatchKind::Serial,
            lo: lo.into(),
            hi: None,
            reason: "battery".into(),
            remove,
        };
        store
            .import_list(
                ListKind::Recall,
                "r",
                &[entry(2, "SERIAL1", false)],
                ImportMode::Replace,
                10,
            )
            .expect("import");
        store
            .import_list(
                ListKind::Recall,
                "r",
                &[entry(2, "SERIAL2", false)],
                ImportMode::Delta,
                20,
            )
            .expect("delta");
        (path, store)
    }

    /// A raw connection with the append-only triggers dropped, as a hand editor would make it.
    fn editor(path: &std::path::Path) -> Connection {
        let conn = Connection::open(path).expect("open");
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS scans_no_update; DROP TRIGGER IF EXISTS scans_no_delete;
             DROP TRIGGER IF EXISTS scans_no_replace; DROP TRIGGER IF EXISTS ledger_no_update;
             DROP TRIGGER IF EXISTS ledger_no_delete; DROP TRIGGER IF EXISTS ledger_no_replace;",
        )
        .expect("drop triggers");
        conn
    }

    fn first_bad(path: &std::path::Path) -> BadRow {
        let store = Store::open_read_only(path).expect("open").expect("exists");
        let report = store.verify().expect("verify");
        assert!(!report.ok, "{report:?}");
        report.first_bad.expect("a bad row")
    }

    #[test]
    fn the_canonical_form_and_hash_never_change() {
        // Every stored hash depends on these bytes: a change here breaks every chain.
        assert_eq!(
            hex(&link(&ZERO, "scan", 7, "recorded", "{\"id\":7}")),
            "4477dc982bf96ebf4452bb045389385f4f00520b2880ab9fd7363841e2af6583"
        );
        let conn = Connection::open_in_memory().expect("memory");
        let body: String = conn
            .query_row(
                "SELECT 1 AS i, 2.5 AS r, 'a\"b' AS t, x'00ff' AS b, NULL AS n, CAST(x'ff' AS TEXT) AS bad",
                [],
                row_object,
            )
            .expect("row");
        assert_eq!(
            body,
            r#"{"i":1,"r":2.5,"t":"a\"b","b":{"hex":"00ff"},"n":null,"bad":{"text_hex":"ff"}}"#
        );
    }

    #[test]
    fn a_store_written_by_the_station_verifies_and_every_change_is_chained() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_, store) = station_store(dir.path());
        let report = store.verify().expect("verify");
        assert!(report.ok, "{report:?}");
        assert_eq!(report.head.as_deref().map(str::len), Some(64));
        let events: Vec<(String, i64, String)> = {
            let mut stmt = store
                .conn
                .prepare("SELECT kind, ref_id, event FROM ledger ORDER BY seq")
                .expect("prepare");
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
        };
        let want: Vec<(&str, i64, &str)> = vec![
            ("genesis", 0, "started"),
            ("scan", 1, "recorded"),
            ("scan", 2, "recorded"),
            ("unit", 1, "open+close"),
            ("scan", 3, "recorded"),
            ("scan", 4, "recorded"),
            ("unit", 2, "open+close"),
            ("unit", 2, "amend"),
            ("scan", 5, "recorded"),
            ("unit", 3, "open+cancel"),
            ("list", 1, "applied"),
            ("list", 2, "applied"),
        ];
        let got: Vec<(&str, i64, &str)> = events
            .iter()
            .map(|(k, r, e)| (k.as_str(), *r, e.as_str()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(report.rows, want.len() as i64);
    }

    #[test]
    fn an_edited_scan_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, store) = station_store(dir.path());
        drop(store);
        editor(&path)
            .execute("UPDATE scans SET value = 'SERIAL9' WHERE id = 3", [])
            .expect("edit");
        let bad = first_bad(&path);
        assert_eq!((bad.table.as_str(), bad.id), ("scans", 3), "{bad:?}");
        assert!(bad.reason.starts_with("edited"), "{bad:?}");
    }

    #[test]
    fn a_deleted_scan_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, store) = station_store(dir.path());
        drop(store);
        editor(&path)
            .execute("DELETE FROM scans WHERE id = 5", [])
            .expect("delete");
        let bad = first_bad(&path);
        assert_eq!((bad.table.as_str(), bad.id), ("scans", 5), "{bad:?}");
        assert!(bad.reason.starts_with("deleted"), "{bad:?}");
    }

    #[test]
    fn an_inserted_scan_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, store) = station_store(dir.path());
        drop(store);
        editor(&path)
            .execute(
                "INSERT INTO scans (id, at_ms, source, raw, kind, value, valid, outcome, unit_id)
                 VALUES (6, 9999, 'stdin', CAST('SERIAL7' AS BLOB), 'serial', 'SERIAL7', 1, 'added', 1)",
                [],
            )
            .expect("insert");
        let bad = first_bad(&path);
        assert_eq!((bad.table.as_str(), bad.id), ("scans", 6), "{bad:?}");
        assert!(bad.reason.starts_with("inserted"), "{bad:?}");
    }

    #[test]
    fn an_edited_deleted_or_inserted_unit_is_named_with_what_changed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, store) = station_store(dir.path());
        drop(store);
        let copy = |name: &str| {
            let to = dir.path().join(name);
            std::fs::copy(&path, &to).expect("copy");
            to
        };
        let (edited, deleted, inserted, identifier) =
            (copy("e.db"), copy("d.db"), copy("i.db"), copy("id.db"));
        editor(&edited)
            .execute("UPDATE units SET status = 'flagged' WHERE id = 1", [])
            .expect("edit");
        let bad = first_bad(&edited);
        assert_eq!((bad.table.as_str(), bad.id), ("units", 1), "{bad:?}");
        assert!(
            bad.reason.contains("status was \"ok\", now \"flagged\""),
            "{bad:?}"
        );
        editor(&deleted)
            .execute_batch(
                "PRAGMA foreign_keys = OFF; DELETE FROM unit_identifiers WHERE unit_id = 2;
                 DELETE FROM units WHERE id = 2;",
            )
            .expect("delete");
        let bad = first_bad(&deleted);
        assert_eq!((bad.table.as_str(), bad.id), ("units", 2), "{bad:?}");
        assert!(bad.reason.starts_with("deleted"), "{bad:?}");
        editor(&inserted)
            .execute(
                "INSERT INTO units (id, opened_ms, status) VALUES (4, 1, 'ok')",
                [],
            )
            .expect("insert");
        let bad = first_bad(&inserted);
        assert_eq!((bad.table.as_str(), bad.id), ("units", 4), "{bad:?}");
        assert!(bad.reason.starts_with("inserted"), "{bad:?}");
        editor(&identifier)
            .execute(
                "UPDATE unit_identifiers SET value = '354178036859797' WHERE unit_id = 2 AND kind = 'imei'",
                [],
            )
            .expect("edit identifier");
        let bad = first_bad(&identifier);
        assert_eq!((bad.table.as_str(), bad.id), ("units", 2), "{bad:?}");
        assert!(bad.reason.contains("identifiers were"), "{bad:?}");
    }

    #[test]
    fn a_ledger_row_edited_deleted_or_inserted_breaks_the_chain_there() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, store) = station_store(dir.path());
        drop(store);
        let copy = |name: &str| {
            let to = dir.path().join(name);
            std::fs::copy(&path, &to).expect("copy");
            to
        };
        let (edited, deleted, inserted) = (copy("e.db"), copy("d.db"), copy("i.db"));
        // The unit's chained body says it was flagged; the row and the body no longer agree
        // with the hash.
        editor(&edited)
            .execute(
                "UPDATE ledger SET body = replace(body, '\"ok\"', '\"flagged\"') WHERE seq = 4",
                [],
            )
            .expect("edit");
        let bad = first_bad(&edited);
        assert_eq!((bad.table.as_str(), bad.id), ("ledger", 4), "{bad:?}");
        editor(&deleted)
            .execute("DELETE FROM ledger WHERE seq = 8", [])
            .expect("delete");
        let bad = first_bad(&deleted);
        assert_eq!((bad.table.as_str(), bad.id), ("ledger", 8), "{bad:?}");
        assert!(bad.reason.starts_with("missing"), "{bad:?}");
        // A row slipped in after the head with a made-up hash.
        editor(&inserted)
            .execute(
                "INSERT INTO ledger (seq, kind, ref_id, event, body, hash)
                 VALUES (13, 'unit', 1, 'close', '{}', zeroblob(32))",
                [],
            )
            .expect("insert");
        let bad = first_bad(&inserted);
        assert_eq!((bad.table.as_str(), bad.id), ("ledger", 13), "{bad:?}");
    }

    #[test]
    fn list_versions_are_chained_and_a_removed_list_still_verifies() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, store) = station_store(dir.path());
        // Closing the last connection checkpoints the WAL, so the copy holds every commit.
        drop(store);
        let (edited, deleted) = (dir.path().join("e.db"), dir.path().join("d.db"));
        std::fs::copy(&path, &edited).expect("copy");
        std::fs::copy(&path, &deleted).expect("copy");
        let mut store = Store::open(&path).expect("reopen");
        assert!(store.remove_list("r").expect("remove"));
        let report = store.verify().expect("verify");
        assert!(report.ok, "{report:?}");
        editor(&edited)
            .execute("UPDATE list_imports SET added = 0 WHERE id = 2", [])
            .expect("edit");
        let bad = first_bad(&edited);
        assert_eq!((bad.table.as_str(), bad.id), ("list_imports", 2), "{bad:?}");
        editor(&deleted)
            .execute("DELETE FROM list_imports WHERE id = 1", [])
            .expect("delete");
        let bad = first_bad(&deleted);
        assert_eq!((bad.table.as_str(), bad.id), ("list_imports", 1), "{bad:?}");
    }

    #[test]
    fn an_interrupted_unit_is_chained() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("i.db")).expect("open");
        let tx = store.begin().expect("begin");
        tx.open_unit(1, 5).expect("open");
        tx.commit().expect("commit");
        assert_eq!(store.close_interrupted_units(10).expect("close"), vec![1]);
        let report = store.verify().expect("verify");
        assert!(report.ok, "{report:?}");
        let last: String = store
            .conn
            .query_row(
                "SELECT event FROM ledger ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .expect("last");
        assert_eq!(last, "interrupted");
    }

    #[test]
    fn a_store_without_a_ledger_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("n.db");
        drop(Store::open(&path).expect("open"));
        editor(&path)
            .execute("DROP TABLE ledger", [])
            .expect("drop");
        let bad = first_bad(&path);
        assert_eq!(bad.table, "ledger");
    }
}
