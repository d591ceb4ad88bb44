//! `record`: the rows the station writes, as every reader shares them.
//!
//! The station core builds these, the store writes and reads them, and `event` turns them into
//! the JSON of live events, exports and `find`. Every closed set of names (a scan's outcome, a
//! unit's status, a decision) is an enum here, with one stable spelling: the store refuses to
//! read a name it does not know instead of passing it on as text.

use crate::ident::control::Mode;
use crate::ident::{Flag, IdKind, Kind};

string_enum! {
    /// What pairing did with a scan.
    pub enum ScanOutcome {
        /// Its identifiers went into a unit.
        Added = "added",
        /// It repeated a value the unit (or the unit that just closed) already holds.
        Repeat = "repeat",
        /// It failed validation or framing and carries nothing usable.
        Rejected = "rejected",
        /// It was read as a device identifier that failed validation; its unit is flagged.
        Flagged = "flagged",
        /// It is valid but names no unit identifier (a lone GTIN, a part number).
        NoIdentifiers = "no_identifiers",
        /// A desk-card control barcode.
        Control = "control",
        /// An UNDO with nothing to undo.
        NothingToUndo = "nothing_to_undo",
    }
}

string_enum! {
    /// Where a unit stands.
    pub enum UnitStatus {
        /// Being built: its identifiers are stored as they arrive.
        Open = "open",
        /// Closed with no flag and a `proceed` decision.
        Ok = "ok",
        /// Closed with a flag or with any other decision.
        Flagged = "flagged",
        /// Dropped by `SCANSTATION:CANCEL`.
        Cancelled = "cancelled",
    }
}

string_enum! {
    /// Why a unit closed.
    pub enum CloseReason {
        /// It held everything the profile requires.
        Complete = "complete",
        /// A value arrived that it had no room for, which starts the next unit.
        Overflow = "overflow",
        /// No scan came for the idle timeout.
        Idle = "idle",
        /// `SCANSTATION:NEXT`.
        Next = "next",
        /// The station stopped cleanly.
        Shutdown = "shutdown",
        /// A camera label, recorded whole once it was complete or stable in view.
        Label = "label",
        /// `SCANSTATION:CANCEL`.
        Cancel = "cancel",
        /// The station stopped without closing it (a crash or power cut); closed at the next start.
        Interrupted = "interrupted",
    }
}

string_enum! {
    /// The decisions the station records, as named in events and exports.
    pub enum Decision {
        Proceed = "proceed",
        Duplicate = "duplicate",
        Conflict = "conflict",
        Quarantine = "quarantine",
        NotFound = "not-found",
        Mismatch = "mismatch",
        RecallHit = "recall-hit",
    }
}

/// One row of `scans`: a raw scan exactly as it arrived and what the station made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRecord {
    pub id: i64,
    pub at_ms: i64,
    pub source: String,
    pub raw: Vec<u8>,
    pub symbology: Option<String>,
    pub kind: Kind,
    pub value: String,
    pub valid: bool,
    pub reason_code: Option<String>,
    /// Why the value failed validation, when it did.
    pub reason: Option<String>,
    pub outcome: ScanOutcome,
    pub unit: Option<i64>,
    /// The desk mode when it was scanned.
    pub mode: Option<Mode>,
    /// The scan's own decision (a blocklisted or recalled identifier is caught at once).
    pub decision: Option<Decision>,
    pub decision_reason: Option<String>,
}

/// One typed identifier of a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitIdRecord {
    pub kind: IdKind,
    pub value: String,
    pub key: String,
    pub slot: i64,
    pub scan_id: i64,
}

/// A value on a unit that failed validation (say an IMEI whose check digit fails).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InvalidRecord {
    pub kind: Kind,
    pub value: String,
    pub scan_id: i64,
    pub reason: String,
}

/// The picture behind a camera unit: a JPEG crop of the label from its best frame.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceRecord {
    pub unit_id: i64,
    /// The frame's time.
    pub at_ms: i64,
    /// The frame's name (file name for images and replays, frame number for a camera).
    pub frame: String,
    pub width: u32,
    pub height: u32,
    /// How many of the label's symbols that frame read.
    pub symbols: usize,
    pub sharpness: f32,
    pub jpeg: Vec<u8>,
}

/// One row of `units` with its identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRecord {
    pub id: i64,
    pub opened_ms: i64,
    pub closed_ms: Option<i64>,
    pub status: UnitStatus,
    pub close_reason: Option<CloseReason>,
    pub complete: bool,
    pub flags: Vec<Flag>,
    pub identifiers: Vec<UnitIdRecord>,
    pub mode: Option<Mode>,
    pub decision: Option<Decision>,
    pub decision_reason: Option<String>,
    pub decision_list: Option<String>,
    pub decision_list_version: Option<i64>,
    /// Values that failed validation, listed on the record.
    pub invalid: Vec<InvalidRecord>,
    /// How many times a recorded camera unit took values read later on its label.
    pub amends: i64,
}

impl UnitRecord {
    /// The values of one kind, in slot order.
    pub fn values(&self, kind: IdKind) -> Vec<&str> {
        let mut ids: Vec<&UnitIdRecord> =
            self.identifiers.iter().filter(|i| i.kind == kind).collect();
        ids.sort_by_key(|i| i.slot);
        ids.into_iter().map(|i| i.value.as_str()).collect()
    }

    /// The identifiers as people read them, one part per kind in label order:
    /// `serial C02...`, `imei 35..., 35...`.
    pub(crate) fn identifier_parts(&self) -> Vec<String> {
        [
            IdKind::Serial,
            IdKind::Imei,
            IdKind::Meid,
            IdKind::Esn,
            IdKind::Eid,
            IdKind::Iccid,
            IdKind::Gtin,
            IdKind::Part,
        ]
        .into_iter()
        .filter_map(|kind| {
            let values = self.values(kind);
            (!values.is_empty()).then(|| format!("{kind} {}", values.join(", ")))
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_round_trip() {
        for &o in ScanOutcome::ALL {
            assert_eq!(ScanOutcome::parse(o.as_str()), Some(o));
        }
        for &s in UnitStatus::ALL {
            assert_eq!(UnitStatus::parse(s.as_str()), Some(s));
        }
        for &r in CloseReason::ALL {
            assert_eq!(CloseReason::parse(r.as_str()), Some(r));
        }
        for &d in Decision::ALL {
            assert_eq!(Decision::parse(d.as_str()), Some(d));
        }
        // The names the store has always written, which old databases hold.
        assert_eq!(Decision::NotFound.as_str(), "not-found");
        assert_eq!(Decision::RecallHit.as_str(), "recall-hit");
        assert_eq!(ScanOutcome::NoIdentifiers.as_str(), "no_identifiers");
        assert_eq!(
            serde_json::to_string(&UnitStatus::Cancelled)
                .ok()
                .as_deref(),
            Some("\"cancelled\"")
        );
        assert_eq!(Decision::parse("Proceed"), None);
    }
}
