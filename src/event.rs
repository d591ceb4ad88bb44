//! `event`: the JSON the station publishes, in one place.
//!
//! Live events (`run --json`), `export --format json|ndjson` and `find --json` all serialise
//! these types, so a consumer parses one schema whether it listens live or reads an export
//! later. `docs/events.schema.json` describes them, and a test checks real output against it;
//! change the two together.

use std::borrow::Cow;

use serde::Serialize;

use crate::clock;
use crate::ident::control::Mode;
use crate::ident::{Flag, IdKind, Kind};
use crate::record::{
    CloseReason, Decision, InvalidRecord, ScanOutcome, ScanRecord, UnitRecord, UnitStatus,
};

/// A committed scan.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ScanEvent<'a> {
    /// Always `"scan"`.
    pub event: &'static str,
    pub id: i64,
    /// When it arrived (RFC 3339, milliseconds, UTC).
    pub at: String,
    pub source: &'a str,
    /// The bytes as they arrived; bytes that are not UTF-8 show as U+FFFD.
    pub raw: Cow<'a, str>,
    pub symbology: Option<&'a str>,
    pub kind: Kind,
    pub value: &'a str,
    pub valid: bool,
    /// Why the value failed validation (not the decision's reason, see `decision_reason`).
    pub reason: Option<&'a str>,
    pub reason_code: Option<&'a str>,
    pub outcome: ScanOutcome,
    pub unit: Option<i64>,
    pub mode: Option<Mode>,
    pub decision: Option<Decision>,
    pub decision_reason: Option<&'a str>,
}

impl<'a> From<&'a ScanRecord> for ScanEvent<'a> {
    fn from(s: &'a ScanRecord) -> ScanEvent<'a> {
        ScanEvent {
            event: "scan",
            id: s.id,
            at: clock::rfc3339(s.at_ms),
            source: &s.source,
            raw: String::from_utf8_lossy(&s.raw),
            symbology: s.symbology.as_deref(),
            kind: s.kind,
            value: &s.value,
            valid: s.valid,
            reason: s.reason.as_deref(),
            reason_code: s.reason_code.as_deref(),
            outcome: s.outcome,
            unit: s.unit,
            mode: s.mode,
            decision: s.decision,
            decision_reason: s.decision_reason.as_deref(),
        }
    }
}

/// A closed, cancelled or amended unit.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct UnitEvent<'a> {
    /// Always `"unit"`.
    pub event: &'static str,
    pub id: i64,
    pub serial: Option<&'a str>,
    /// IMEI1 first.
    pub imeis: Vec<&'a str>,
    pub eid: Option<&'a str>,
    pub gtin: Option<&'a str>,
    pub meid: Option<&'a str>,
    pub esn: Option<&'a str>,
    pub iccid: Option<&'a str>,
    pub part: Option<&'a str>,
    pub status: UnitStatus,
    pub flags: &'a [Flag],
    pub close_reason: Option<CloseReason>,
    pub complete: bool,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub mode: Option<Mode>,
    pub decision: Option<Decision>,
    /// The decision's reason. Kept under this name for existing consumers; the same text is in
    /// `decision_reason`, which means the same as on a scan event.
    pub reason: Option<&'a str>,
    pub decision_reason: Option<&'a str>,
    pub list: Option<&'a str>,
    pub list_version: Option<i64>,
    /// True once a recorded camera unit took values read later on its label.
    pub amended: bool,
    pub invalid_imeis: Vec<&'a str>,
    pub invalid: &'a [InvalidRecord],
}

impl<'a> From<&'a UnitRecord> for UnitEvent<'a> {
    fn from(u: &'a UnitRecord) -> UnitEvent<'a> {
        let first = |kind: IdKind| u.values(kind).first().copied();
        UnitEvent {
            event: "unit",
            id: u.id,
            serial: first(IdKind::Serial),
            imeis: u.values(IdKind::Imei),
            eid: first(IdKind::Eid),
            gtin: first(IdKind::Gtin),
            meid: first(IdKind::Meid),
            esn: first(IdKind::Esn),
            iccid: first(IdKind::Iccid),
            part: first(IdKind::Part),
            status: u.status,
            flags: &u.flags,
            close_reason: u.close_reason,
            complete: u.complete,
            opened_at: clock::rfc3339(u.opened_ms),
            closed_at: u.closed_ms.map(clock::rfc3339),
            mode: u.mode,
            decision: u.decision,
            reason: u.decision_reason.as_deref(),
            decision_reason: u.decision_reason.as_deref(),
            list: u.decision_list.as_deref(),
            list_version: u.decision_list_version,
            amended: u.amends > 0,
            invalid_imeis: u
                .invalid
                .iter()
                .filter(|i| i.kind == Kind::Imei)
                .map(|i| i.value.as_str())
                .collect(),
            invalid: &u.invalid,
        }
    }
}

/// Recall-sweep progress after a recall unit: how much of one list has been found.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ProgressEvent<'a> {
    /// Always `"progress"`.
    pub event: &'static str,
    pub list: &'a str,
    pub found: i64,
    pub expected: i64,
}

impl<'a> ProgressEvent<'a> {
    pub(crate) fn new(list: &'a str, found: i64, expected: i64) -> ProgressEvent<'a> {
        ProgressEvent {
            event: "progress",
            list,
            found,
            expected,
        }
    }
}

/// The desk mode changed (by a mode barcode or over HTTP); sent on the HTTP event stream.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ModeEvent {
    /// Always `"mode"`.
    pub event: &'static str,
    pub mode: Mode,
}

impl ModeEvent {
    pub(crate) fn new(mode: Mode) -> ModeEvent {
        ModeEvent {
            event: "mode",
            mode,
        }
    }
}

/// One identifier of a unit in a `find` result.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FoundIdentifier<'a> {
    pub kind: IdKind,
    pub value: &'a str,
    pub key: &'a str,
    pub slot: i64,
    /// The scan that added it.
    pub scan: i64,
}

/// The size of a unit's label picture in a `find` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct EvidenceInfo {
    pub bytes: i64,
    pub width: u32,
    pub height: u32,
    /// Always `"jpeg"`.
    pub format: &'static str,
}

/// A unit in a `find` result: its unit event plus its identifiers, its scan history and its
/// label picture, if one was kept.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FoundUnit<'a> {
    #[serde(flatten)]
    pub unit: UnitEvent<'a>,
    pub identifiers: Vec<FoundIdentifier<'a>>,
    pub scans: Vec<ScanEvent<'a>>,
    pub evidence: Option<EvidenceInfo>,
}

/// The answer of `find --json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FoundEvent<'a> {
    /// The value as asked.
    pub query: &'a str,
    /// What the value was classified as.
    pub kind: Kind,
    /// The matching keys that were looked up.
    pub keys: &'a [String],
    pub units: Vec<FoundUnit<'a>>,
    /// Scans that carried the value, when no unit holds it.
    pub scans: Vec<ScanEvent<'a>>,
}

/// One JSON line, for the event stream and NDJSON: serialising these types cannot fail
/// (no maps with non-string keys, no non-finite floats), so a failure is a bug worth seeing.
pub(crate) fn line<T: Serialize>(event: &T) -> String {
    serde_json::to_string(event)
        .unwrap_or_else(|err| format!("{{\"event\":\"error\",\"error\":\"{err}\"}}"))
}
