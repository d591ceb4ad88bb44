//! `export` and `find`: reading the store back out, for spreadsheets, scripts and the counter.
//!
//! The JSON forms are the same objects the daemon prints as events, so a consumer parses one
//! schema whether it listens live or reads an export later.

use std::io::Write;

use crate::clock;
use crate::event::{
    self, EvidenceInfo, FoundEvent, FoundIdentifier, FoundUnit, ScanEvent, UnitEvent,
};
use crate::ident::control::Mode;
use crate::ident::{self, IdKind, Identifier, Kind, TacLookup};
use crate::lists::{ListKind, UnitKeys};
use crate::record::{ScanRecord, UnitRecord};
use crate::store::{Store, StoreError};
use crate::term::{escape, escape_bytes};
use crate::workflow::{AuditReport, audit};

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
pub(crate) enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the export")]
    Csv(#[from] csv::Error),
    #[error("cannot write the export")]
    Io(#[from] std::io::Error),
}

fn unit_row(u: &UnitRecord) -> Vec<String> {
    let imeis = u.values(IdKind::Imei);
    let one = |kind: IdKind| {
        u.values(kind)
            .first()
            .map_or(String::new(), |v| (*v).to_owned())
    };
    vec![
        u.id.to_string(),
        u.status.to_string(),
        one(IdKind::Serial),
        imeis.first().map_or(String::new(), |v| (*v).to_owned()),
        imeis.get(1).map_or(String::new(), |v| (*v).to_owned()),
        one(IdKind::Eid),
        one(IdKind::Meid),
        one(IdKind::Esn),
        one(IdKind::Iccid),
        one(IdKind::Gtin),
        one(IdKind::Part),
        u.flags
            .iter()
            .map(|f| format!("{}: {}", f.code, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        u.close_reason.map(|r| r.to_string()).unwrap_or_default(),
        u.complete.to_string(),
        clock::rfc3339(u.opened_ms),
        u.closed_ms.map(clock::rfc3339).unwrap_or_default(),
        u.mode.map(|m| m.to_string()).unwrap_or_default(),
        u.decision.map(|d| d.to_string()).unwrap_or_default(),
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
        s.kind.to_string(),
        escape(&s.value),
        s.valid.to_string(),
        s.reason_code.clone().unwrap_or_default(),
        s.reason.clone().unwrap_or_default(),
        s.outcome.to_string(),
        s.unit.map(|u| u.to_string()).unwrap_or_default(),
        s.mode.map(|m| m.to_string()).unwrap_or_default(),
        s.decision.map(|d| d.to_string()).unwrap_or_default(),
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
pub(crate) fn csv_cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => format!("'{value}").into(),
        _ => value.into(),
    }
}

/// Undoes [`csv_cell`]: the value a cell of the CSV export stands for (the rule the README
/// gives to readers of the export; the tests hold the two to it).
#[cfg(test)]
fn csv_value(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// Writes units or scans since `since_ms` in the chosen format.
pub(crate) fn export(
    store: &Store,
    what: What,
    format: Format,
    since_ms: i64,
    out: &mut dyn Write,
) -> Result<usize, ExportError> {
    let (units, scans) = match what {
        What::Units => (store.units_since(since_ms)?, Vec::new()),
        What::Scans => (Vec::new(), store.scans_since(since_ms)?),
    };
    let count = units.len() + scans.len();
    match format {
        Format::Csv => {
            let (header, rows): (&[&str], Vec<Vec<String>>) = match what {
                What::Units => (&UNIT_HEADER, units.iter().map(unit_row).collect()),
                What::Scans => (&SCAN_HEADER, scans.iter().map(scan_row).collect()),
            };
            let mut w = csv::Writer::from_writer(out);
            w.write_record(header)?;
            for row in rows {
                w.write_record(row.iter().map(|cell| csv_cell(cell).into_owned()))?;
            }
            w.flush()?;
        }
        // The JSON forms are the live events, serialised by `event`.
        Format::Json => {
            match what {
                What::Units => serde_json::to_writer_pretty(
                    &mut *out,
                    &units.iter().map(UnitEvent::from).collect::<Vec<_>>(),
                ),
                What::Scans => serde_json::to_writer_pretty(
                    &mut *out,
                    &scans.iter().map(ScanEvent::from).collect::<Vec<_>>(),
                ),
            }
            .map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Ndjson => {
            for u in &units {
                writeln!(out, "{}", event::line(&UnitEvent::from(u)))?;
            }
            for s in &scans {
                writeln!(out, "{}", event::line(&ScanEvent::from(s)))?;
            }
        }
    }
    Ok(count)
}

/// A unit `find` found, with what is shown about it.
#[derive(Debug, Clone)]
pub(crate) struct FoundRecord {
    pub unit: UnitRecord,
    /// Its scan history, oldest first.
    pub scans: Vec<ScanRecord>,
    /// The size of its label picture: (bytes, width, height).
    pub evidence: Option<(i64, u32, u32)>,
}

impl FoundRecord {
    /// The JSON form of one unit (`GET /api/units/{id}`, and each unit of `find --json`).
    pub(crate) fn event(&self) -> FoundUnit<'_> {
        FoundUnit {
            unit: UnitEvent::from(&self.unit),
            identifiers: self
                .unit
                .identifiers
                .iter()
                .map(|i| FoundIdentifier {
                    kind: i.kind,
                    value: &i.value,
                    key: &i.key,
                    slot: i.slot,
                    scan: i.scan_id,
                })
                .collect(),
            scans: self.scans.iter().map(ScanEvent::from).collect(),
            evidence: self.evidence.map(|(bytes, width, height)| EvidenceInfo {
                bytes,
                width,
                height,
                format: "jpeg",
            }),
        }
    }
}

/// Everything the store knows about one value.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub query: String,
    pub kind: Kind,
    pub keys: Vec<String>,
    pub units: Vec<FoundRecord>,
    /// Scans that carried the value, when no unit holds it.
    pub scans: Vec<ScanRecord>,
}

impl Found {
    /// The JSON form (`find --json`).
    pub(crate) fn event(&self) -> FoundEvent<'_> {
        FoundEvent {
            query: &self.query,
            kind: self.kind,
            keys: &self.keys,
            units: self.units.iter().map(FoundRecord::event).collect(),
            scans: self.scans.iter().map(ScanEvent::from).collect(),
        }
    }
}

/// Everything the store knows about one value: the units holding it and their scan history,
/// or, when it never joined a unit, the scans that carried it.
pub(crate) fn find(store: &Store, value: &str, tacs: &dyn TacLookup) -> Result<Found, StoreError> {
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
            units.push(FoundRecord {
                unit,
                scans: store.scans_of_unit(id)?,
                evidence: store.evidence_size(id)?,
            });
        }
    }
    let scans = if units.is_empty() {
        let mut found = store.scans_with_value(&c.value)?;
        if c.value != value {
            found.extend(store.scans_with_value(value)?);
        }
        found
    } else {
        Vec::new()
    };
    Ok(Found {
        query: value.to_owned(),
        kind: c.kind,
        keys,
        units,
        scans,
    })
}

/// The human form of a `find` result.
pub(crate) fn print_found(found: &Found, out: &mut dyn Write) -> std::io::Result<()> {
    if found.units.is_empty() && found.scans.is_empty() {
        return put(out, format!("nothing found for {:?}", found.query));
    }
    for FoundRecord {
        unit,
        scans,
        evidence,
    } in &found.units
    {
        put(
            out,
            format!(
                "unit {} [{}] closed {} ({})",
                unit.id,
                unit.status,
                unit.closed_ms.map_or("-".to_owned(), clock::rfc3339),
                unit.close_reason.map_or("open", |r| r.as_str())
            ),
        )?;
        if let Some((bytes, width, height)) = evidence {
            put(
                out,
                format!(
                    "  label picture: {width}x{height} JPEG, {bytes} bytes (find --evidence FILE writes it)"
                ),
            )?;
        }
        for bad in &unit.invalid {
            put(
                out,
                format!("  INVALID {} {}: {}", bad.kind, bad.value, bad.reason),
            )?;
        }
        for flag in &unit.flags {
            put(out, format!("  flag {}: {}", flag.code, flag.message))?;
        }
        for id in &unit.identifiers {
            put(
                out,
                format!(
                    "  {} {} (slot {}, scan {})",
                    id.kind, id.value, id.slot, id.scan_id
                ),
            )?;
        }
        put(out, "  history:".to_owned())?;
        for scan in scans {
            print_scan(scan, out)?;
        }
    }
    if !found.scans.is_empty() {
        put(out, "not in any unit; seen in these scans:".to_owned())?;
        for scan in &found.scans {
            print_scan(scan, out)?;
        }
    }
    Ok(())
}

fn print_scan(scan: &ScanRecord, out: &mut dyn Write) -> std::io::Result<()> {
    put(
        out,
        format!(
            "    scan {} {} {} {} {} {}{}",
            scan.id,
            clock::rfc3339(scan.at_ms),
            scan.source,
            scan.kind,
            scan.value,
            scan.outcome,
            scan.reason
                .as_deref()
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

/// Builds the audit report of every expected list (or one), over units audited since `since_ms`.
pub(crate) fn audit_reports(
    store: &Store,
    only: Option<&str>,
    since_ms: i64,
) -> Result<Vec<AuditReport>, StoreError> {
    let units: Vec<(i64, String, UnitKeys)> = store
        .units_in_mode(Mode::Audit, since_ms)?
        .into_iter()
        .map(|u| {
            let ids: Vec<Identifier> = u
                .identifiers
                .iter()
                .map(|i| Identifier {
                    kind: i.kind,
                    value: i.value.clone(),
                    key: i.key.clone(),
                })
                .collect();
            let label = u
                .identifiers
                .iter()
                .map(|i| format!("{} {}", i.kind, i.value))
                .collect::<Vec<_>>()
                .join(", ");
            (u.id, label, UnitKeys::from_identifiers(&ids))
        })
        .collect();
    let mut reports = Vec::new();
    for summary in store.lists()? {
        if summary.kind != ListKind::Expected || only.is_some_and(|name| name != summary.name) {
            continue;
        }
        if let Some((summary, entries)) = store.list_entries(&summary.name)? {
            reports.push(audit(&summary.name, summary.version, &entries, &units));
        }
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::{csv_cell, csv_value};

    #[test]
    fn csv_cells_never_start_a_formula_and_the_rule_undoes_exactly() {
        for value in [
            "=1+1", "+3", "-2", "@SUM(A1)", "\tx", "\rx", "'quoted", "plain", "", "a=b",
        ] {
            let cell = csv_cell(value);
            assert!(
                !matches!(
                    cell.chars().next(),
                    Some('=' | '+' | '-' | '@' | '\t' | '\r')
                ),
                "{cell:?}"
            );
            assert_eq!(csv_value(&cell), value);
        }
    }
}
