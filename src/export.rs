//! `export` and `find`: reading the store back out, for spreadsheets, scripts and the counter.
//!
//! The JSON forms are the same objects the daemon prints as events, so a consumer parses one
//! schema whether it listens live or reads an export later.

use std::io::Write;

use serde_json::{Value, json};

use crate::clock;
use crate::feedback::{scan_json, unit_json};
use crate::ident::{self, TacLookup};
use crate::store::{ScanRecord, Store, StoreError, UnitRecord};
use crate::term::{escape, escape_bytes};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    Units,
    Scans,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Ndjson,
}

/// Errors of an export: the store, or the output.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the export")]
    Csv(#[from] csv::Error),
    #[error("cannot write the export")]
    Io(#[from] std::io::Error),
}

fn unit_row(u: &UnitRecord) -> Vec<String> {
    let imeis = u.values("imei");
    let one = |kind: &str| {
        u.values(kind)
            .first()
            .map_or(String::new(), |v| (*v).to_owned())
    };
    vec![
        u.id.to_string(),
        u.status.clone(),
        one("serial"),
        imeis.first().map_or(String::new(), |v| (*v).to_owned()),
        imeis.get(1).map_or(String::new(), |v| (*v).to_owned()),
        one("eid"),
        one("meid"),
        one("esn"),
        one("iccid"),
        one("gtin"),
        one("part"),
        u.flags
            .iter()
            .map(|f| format!("{}: {}", f.code, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        u.close_reason.clone().unwrap_or_default(),
        u.complete.to_string(),
        clock::rfc3339(u.opened_ms),
        u.closed_ms.map(clock::rfc3339).unwrap_or_default(),
        u.mode.clone().unwrap_or_default(),
        u.decision.clone().unwrap_or_default(),
        u.decision_reason.clone().unwrap_or_default(),
        u.decision_list.clone().unwrap_or_default(),
        u.decision_list_version
            .map(|v| v.to_string())
            .unwrap_or_default(),
        u.invalid
            .iter()
            .map(|i| format!("{} {}", i.kind, escape(&i.value)))
            .collect::<Vec<_>>()
            .join("; "),
        u.amends.to_string(),
    ]
}

const UNIT_HEADER: [&str; 23] = [
    "id",
    "status",
    "serial",
    "imei1",
    "imei2",
    "eid",
    "meid",
    "esn",
    "iccid",
    "gtin",
    "part",
    "flags",
    "close_reason",
    "complete",
    "opened_at",
    "closed_at",
    "mode",
    "decision",
    "reason",
    "list",
    "list_version",
    "invalid",
    "amends",
];

const SCAN_HEADER: [&str; 15] = [
    "id",
    "at",
    "source",
    "raw",
    "symbology",
    "kind",
    "value",
    "valid",
    "reason_code",
    "reason",
    "outcome",
    "unit",
    "mode",
    "decision",
    "decision_reason",
];

fn scan_row(s: &ScanRecord) -> Vec<String> {
    vec![
        s.id.to_string(),
        clock::rfc3339(s.at_ms),
        s.source.clone(),
        // Control bytes would break spreadsheet cells; the JSON forms keep them exactly.
        escape_bytes(&s.raw),
        s.symbology.clone().unwrap_or_default(),
        s.kind.clone(),
        escape(&s.value),
        s.valid.to_string(),
        s.reason_code.clone().unwrap_or_default(),
        s.reason.clone().unwrap_or_default(),
        s.outcome.clone(),
        s.unit.map(|u| u.to_string()).unwrap_or_default(),
        s.mode.clone().unwrap_or_default(),
        s.decision.clone().unwrap_or_default(),
        s.decision_reason.clone().unwrap_or_default(),
    ]
}

/// A CSV cell that a spreadsheet shows as text, never runs as a formula (OWASP CSV injection).
///
/// The CSV export is opened in spreadsheets, which treat a cell starting with `=`, `+`, `-` or
/// `@` as a formula, and some also one starting with a tab or a carriage return. Such a cell is
/// written with one `'` in front, which spreadsheets take as "this is text". A cell that already
/// starts with `'` gets one too, so the rule can be undone without guessing: a cell that starts
/// with `'` is the value with one `'` in front; every other cell is the value. The JSON forms
/// carry the values as they are.
pub fn csv_cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => format!("'{value}").into(),
        _ => value.into(),
    }
}

/// Undoes [`csv_cell`]: the value a cell of the CSV export stands for.
pub fn csv_value(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// Writes units or scans since `since_ms` in the chosen format.
pub fn export(
    store: &Store,
    what: What,
    format: Format,
    since_ms: i64,
    out: &mut dyn Write,
) -> Result<usize, ExportError> {
    let (header, rows, objects): (&[&str], Vec<Vec<String>>, Vec<Value>) = match what {
        What::Units => {
            let units = store.units_since(since_ms)?;
            (
                &UNIT_HEADER,
                units.iter().map(unit_row).collect(),
                units.iter().map(unit_json).collect(),
            )
        }
        What::Scans => {
            let scans = store.scans_since(since_ms)?;
            (
                &SCAN_HEADER,
                scans.iter().map(scan_row).collect(),
                scans.iter().map(scan_json).collect(),
            )
        }
    };
    let count = rows.len();
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(header)?;
            for row in rows {
                w.write_record(row.iter().map(|cell| csv_cell(cell).into_owned()))?;
            }
            w.flush()?;
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &objects).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Ndjson => {
            for object in objects {
                writeln!(out, "{object}")?;
            }
        }
    }
    Ok(count)
}

/// Everything the store knows about one value: the units holding it and their scan history,
/// or, when it never joined a unit, the scans that carried it.
pub fn find(store: &Store, value: &str, tacs: &dyn TacLookup) -> Result<Value, StoreError> {
    let c = ident::classify(value, None, tacs);
    let mut keys: Vec<String> = c.identifiers.iter().map(|i| i.key.clone()).collect();
    // An IMEI14 or a bare serial still finds its unit even when it is not a complete identifier.
    keys.push(c.value.to_ascii_uppercase());
    if let Some(imei14) = &c.details.imei14 {
        keys.push(imei14.clone());
    }
    keys.dedup();
    let mut unit_ids: Vec<i64> = Vec::new();
    for key in &keys {
        for id in store.units_with_key(key)? {
            if !unit_ids.contains(&id) {
                unit_ids.push(id);
            }
        }
    }
    unit_ids.sort_unstable();
    let mut units = Vec::new();
    for id in unit_ids {
        if let Some(unit) = store.unit(id)? {
            let mut object = unit_json(&unit);
            object["identifiers"] = json!(unit
                .identifiers
                .iter()
                .map(|i| json!({"kind": i.kind, "value": i.value, "key": i.key, "slot": i.slot, "scan": i.scan_id}))
                .collect::<Vec<_>>());
            object["scans"] = json!(
                store
                    .scans_of_unit(id)?
                    .iter()
                    .map(scan_json)
                    .collect::<Vec<_>>()
            );
            object["evidence"] = match store.evidence_size(id)? {
                Some((bytes, width, height)) => {
                    json!({"bytes": bytes, "width": width, "height": height, "format": "jpeg"})
                }
                None => Value::Null,
            };
            units.push(object);
        }
    }
    let scans: Vec<Value> = if units.is_empty() {
        let mut found = store.scans_with_value(&c.value)?;
        if c.value != value {
            found.extend(store.scans_with_value(value)?);
        }
        found.iter().map(scan_json).collect()
    } else {
        Vec::new()
    };
    Ok(json!({
        "query": value,
        "kind": c.kind,
        "keys": keys,
        "units": units,
        "scans": scans,
    }))
}

/// The human form of a `find` result.
pub fn print_found(found: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    let units = found["units"].as_array().map_or(&[][..], Vec::as_slice);
    let scans = found["scans"].as_array().map_or(&[][..], Vec::as_slice);
    if units.is_empty() && scans.is_empty() {
        return put(out, format!("nothing found for {}", found["query"]));
    }
    for unit in units {
        put(
            out,
            format!(
                "unit {} [{}] closed {} ({})",
                unit["id"],
                unit["status"].as_str().unwrap_or(""),
                unit["closed_at"].as_str().unwrap_or("-"),
                unit["close_reason"].as_str().unwrap_or("open")
            ),
        )?;
        if let Some(bytes) = unit["evidence"]["bytes"].as_i64() {
            put(
                out,
                format!(
                    "  label picture: {}x{} JPEG, {bytes} bytes (find --evidence FILE writes it)",
                    unit["evidence"]["width"], unit["evidence"]["height"]
                ),
            )?;
        }
        for bad in unit["invalid"].as_array().map_or(&[][..], Vec::as_slice) {
            put(
                out,
                format!(
                    "  INVALID {} {}: {}",
                    bad["kind"].as_str().unwrap_or(""),
                    bad["value"].as_str().unwrap_or(""),
                    bad["reason"].as_str().unwrap_or("")
                ),
            )?;
        }
        for flag in unit["flags"].as_array().map_or(&[][..], Vec::as_slice) {
            put(
                out,
                format!(
                    "  flag {}: {}",
                    flag["code"].as_str().unwrap_or(""),
                    flag["message"].as_str().unwrap_or("")
                ),
            )?;
        }
        for id in unit["identifiers"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
        {
            put(
                out,
                format!(
                    "  {} {} (slot {}, scan {})",
                    id["kind"].as_str().unwrap_or(""),
                    id["value"].as_str().unwrap_or(""),
                    id["slot"],
                    id["scan"]
                ),
            )?;
        }
        put(out, "  history:".to_owned())?;
        for scan in unit["scans"].as_array().map_or(&[][..], Vec::as_slice) {
            print_scan(scan, out)?;
        }
    }
    if !scans.is_empty() {
        put(out, "not in any unit; seen in these scans:".to_owned())?;
        for scan in scans {
            print_scan(scan, out)?;
        }
    }
    Ok(())
}

fn print_scan(scan: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    put(
        out,
        format!(
            "    scan {} {} {} {} {} {}{}",
            scan["id"],
            scan["at"].as_str().unwrap_or(""),
            scan["source"].as_str().unwrap_or(""),
            scan["kind"].as_str().unwrap_or(""),
            scan["value"].as_str().unwrap_or(""),
            scan["outcome"].as_str().unwrap_or(""),
            scan["reason"]
                .as_str()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
    )
}

/// Writes one human line, escaped whole: every field of a `find` line (values, list reasons,
/// flag messages naming TAC brands, frame names) came from outside.
fn put(out: &mut dyn Write, line: String) -> std::io::Result<()> {
    writeln!(out, "{}", escape(&line))
}
