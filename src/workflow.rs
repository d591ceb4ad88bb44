//! `workflow`: what a closed unit means at this desk. The same unit is good news at intake, a
//! problem at returns if it is not the one shipped, and a catch in a recall sweep.
//!
//! **Invariant:** pure. The daemon gathers the facts (pairing flags, conflicts with stored
//! units, list hits) and this module turns them into one decision with one reason; the list
//! version used is returned so the decision can be reproduced later.

use crate::ident::control::Mode;
use crate::ident::{Flag, FlagCode};
use crate::lists::{Entry, ListHit, ListKind, MatchKind, UnitKeys};
pub(crate) use crate::record::Decision;

/// A decision with its reason and, where a list decided it, the list and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub decision: Decision,
    pub reason: String,
    pub list: Option<String>,
    pub list_version: Option<i64>,
}

impl Verdict {
    fn new(decision: Decision, reason: impl Into<String>) -> Verdict {
        Verdict {
            decision,
            reason: reason.into(),
            list: None,
            list_version: None,
        }
    }

    fn from_hit(decision: Decision, hit: &ListHit, what: &str) -> Verdict {
        Verdict {
            decision,
            reason: format!(
                "{what} {} v{}: {} ({} {})",
                hit.list,
                hit.version,
                if hit.reason.is_empty() {
                    "listed"
                } else {
                    &hit.reason
                },
                hit.match_kind.as_str(),
                hit.value
            ),
            list: Some(hit.list.clone()),
            list_version: Some(hit.version),
        }
    }
}

/// Everything known about a closing unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Facts {
    /// Pairing flags plus conflict/duplicate flags against stored units.
    pub flags: Vec<Flag>,
    /// Active list entries this unit matches, of every kind.
    pub hits: Vec<ListHit>,
    /// The unit's identifiers as (kind, key), to check a return against its shipped record.
    pub keys: Vec<(crate::ident::IdKind, String)>,
    /// The list lookup failed, so `hits` is not known to be complete: a blocklisted or
    /// recalled unit may be among what looks like no hit.
    pub lookup_failed: bool,
}

/// The reason recorded when the lists could not be read, for units and scans alike.
pub(crate) const LOOKUP_FAILED: &str = "list lookup failed";

fn flag(facts: &Facts, code: FlagCode) -> Option<&Flag> {
    facts.flags.iter().find(|f| f.code == code)
}

/// Decides what a closed unit means in `mode`.
pub(crate) fn decide(mode: Mode, facts: &Facts) -> Verdict {
    let hits = |kind: ListKind| facts.hits.iter().filter(move |h| h.kind == kind);
    // Without the lists nothing says the device is not blocked or recalled, so it is held for a
    // person rather than passed: a list problem must never let a unit through.
    if facts.lookup_failed {
        return Verdict::new(Decision::Quarantine, LOOKUP_FAILED);
    }
    // A blocked device is quarantined at the counter whatever the desk is doing.
    if let Some(hit) = hits(ListKind::Blocklist).next() {
        return Verdict::from_hit(Decision::Quarantine, hit, "blocklist");
    }
    if let Some(bad) = flag(facts, FlagCode::InvalidScan) {
        return Verdict::new(Decision::Quarantine, bad.message.clone());
    }
    // Identifiers that contradict each other (a relabelled or counterfeit box) are held for a
    // person to look at, whatever the desk is doing, like a misprinted label.
    if let Some(odd) = facts.flags.iter().find(|f| f.code.is_consistency()) {
        return Verdict::new(Decision::Quarantine, odd.message.clone());
    }
    // The central server saw the same IMEI or serial on units at two desks that cannot be one
    // device: whatever this desk is doing, a person must look before the unit moves on.
    if let Some(cross) = flag(facts, FlagCode::CrossDeskConflict) {
        return Verdict::new(Decision::Quarantine, cross.message.clone());
    }
    match mode {
        Mode::Intake => {
            if let Some(conflict) = flag(facts, FlagCode::Conflict) {
                Verdict::new(Decision::Conflict, conflict.message.clone())
            } else if let Some(duplicate) = flag(facts, FlagCode::Duplicate) {
                Verdict::new(Decision::Duplicate, duplicate.message.clone())
            } else {
                Verdict::new(Decision::Proceed, "new unit")
            }
        }
        Mode::Returns => decide_return(facts),
        Mode::Recall => match hits(ListKind::Recall).next() {
            Some(hit) => Verdict::from_hit(Decision::RecallHit, hit, "recall"),
            None => Verdict::new(Decision::Proceed, "not on any active recall list"),
        },
        Mode::Audit => match hits(ListKind::Expected).next() {
            Some(hit) => Verdict {
                decision: Decision::Proceed,
                reason: format!("expected on {} v{}", hit.list, hit.version),
                list: Some(hit.list.clone()),
                list_version: Some(hit.version),
            },
            None => Verdict::new(
                Decision::NotFound,
                "not on any expected list: unexpected unit",
            ),
        },
    }
}

/// A return must be a unit the station knows (from intake, or a shipped list), and every
/// scanned identifier must belong to that same unit.
fn decide_return(facts: &Facts) -> Verdict {
    if let Some(conflict) = flag(facts, FlagCode::Conflict) {
        return Verdict::new(
            Decision::Mismatch,
            format!("swapped device? {}", conflict.message),
        );
    }
    if let Some(known) = flag(facts, FlagCode::Duplicate) {
        return Verdict::new(
            Decision::Proceed,
            format!("matches the shipped record: {}", known.message),
        );
    }
    let shipped: Vec<&ListHit> = facts
        .hits
        .iter()
        .filter(|h| h.kind == ListKind::Shipped)
        .collect();
    if shipped.is_empty() {
        return Verdict::new(
            Decision::NotFound,
            "no intake record and no shipped-list entry for this unit",
        );
    }
    // A shipped list describes one unit per `reason` value (an order or shipment line), so the
    // returned unit's identifiers must all hit the same one.
    let group = &shipped[0].reason;
    if let Some(other) = shipped.iter().find(|h| &h.reason != group) {
        return Verdict {
            decision: Decision::Mismatch,
            reason: format!(
                "swapped device? {} {} was shipped as {:?} but {} {} as {:?}",
                shipped[0].match_kind.as_str(),
                shipped[0].value,
                group,
                other.match_kind.as_str(),
                other.value,
                other.reason
            ),
            list: Some(other.list.clone()),
            list_version: Some(other.version),
        };
    }
    let exact = |k: MatchKind| matches!(k, MatchKind::Serial | MatchKind::Imei);
    let unmatched: Vec<String> = facts
        .keys
        .iter()
        .filter(|(kind, _)| {
            matches!(
                kind,
                crate::ident::IdKind::Serial | crate::ident::IdKind::Imei
            )
        })
        .filter(|(_, key)| {
            !shipped
                .iter()
                .any(|h| exact(h.match_kind) && h.value.eq_ignore_ascii_case(key))
        })
        .map(|(kind, key)| format!("{} {key}", kind.as_str()))
        .collect();
    if !unmatched.is_empty() && shipped.iter().filter(|h| exact(h.match_kind)).count() > 0 {
        return Verdict {
            decision: Decision::Mismatch,
            reason: format!(
                "swapped device? {} not in the shipped record {:?} of {}",
                unmatched.join(", "),
                group,
                shipped[0].list
            ),
            list: Some(shipped[0].list.clone()),
            list_version: Some(shipped[0].version),
        };
    }
    Verdict::from_hit(Decision::Proceed, shipped[0], "shipped")
}

/// One expected list compared with the units seen in audit mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuditReport {
    pub list: String,
    pub version: i64,
    /// Entries seen, with the unit that matched each.
    pub found: Vec<(Entry, i64)>,
    /// Entries no audited unit matched.
    pub missing: Vec<Entry>,
    /// Audited units that match no entry: (unit id, a short description).
    pub unexpected: Vec<(i64, String)>,
}

/// Compares entries with audited units (pure).
pub(crate) fn audit(
    list: &str,
    version: i64,
    entries: &[Entry],
    units: &[(i64, String, UnitKeys)],
) -> AuditReport {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for entry in entries {
        match units.iter().find(|(_, _, keys)| entry.matches(keys)) {
            Some((id, _, _)) => found.push((entry.clone(), *id)),
            None => missing.push(entry.clone()),
        }
    }
    let unexpected = units
        .iter()
        .filter(|(_, _, keys)| !entries.iter().any(|e| e.matches(keys)))
        .map(|(id, label, _)| (*id, label.clone()))
        .collect();
    AuditReport {
        list: list.to_owned(),
        version,
        found,
        missing,
        unexpected,
    }
}

impl AuditReport {
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let entry = |e: &Entry| serde_json::json!({"match": e.kind.as_str(), "value": e.display_value(), "reason": e.reason});
        serde_json::json!({
            "list": self.list,
            "version": self.version,
            "found": self.found.iter().map(|(e, unit)| {
                let mut v = entry(e);
                v["unit"] = serde_json::json!(unit);
                v
            }).collect::<Vec<_>>(),
            "missing": self.missing.iter().map(entry).collect::<Vec<_>>(),
            "unexpected": self.unexpected.iter().map(|(id, label)| serde_json::json!({"unit": id, "identifiers": label})).collect::<Vec<_>>(),
        })
    }

    pub(crate) fn print(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        // List names, values, reasons and unit identifiers came from outside: each line is
        // escaped whole before it reaches the terminal.
        let mut put = |line: String| writeln!(out, "{}", crate::term::Escaped(&line));
        let total = self.found.len() + self.missing.len();
        put(format!(
            "audit of {} v{}: {} of {total} found, {} missing, {} unexpected",
            self.list,
            self.version,
            self.found.len(),
            self.missing.len(),
            self.unexpected.len()
        ))?;
        for (e, unit) in &self.found {
            put(format!(
                "  found       {} {} (unit {unit})",
                e.kind.as_str(),
                e.display_value()
            ))?;
        }
        for e in &self.missing {
            put(format!(
                "  MISSING     {} {} {}",
                e.kind.as_str(),
                e.display_value(),
                e.reason
            ))?;
        }
        for (id, label) in &self.unexpected {
            put(format!("  UNEXPECTED  unit {id}: {label}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ident::IdKind;

    fn hit(list: &str, kind: ListKind, m: MatchKind, value: &str, reason: &str) -> ListHit {
        ListHit {
            list: list.to_owned(),
            kind,
            version: 3,
            match_kind: m,
            value: value.to_owned(),
            reason: reason.to_owned(),
        }
    }

    fn flagged(code: &str, message: &str) -> Flag {
        let code = FlagCode::parse(code).expect("a known flag code");
        Flag::new(code, message)
    }

    #[test]
    fn blocklist_quarantines_in_every_mode() {
        let facts = Facts {
            hits: vec![hit(
                "stolen",
                ListKind::Blocklist,
                MatchKind::Imei,
                "35417803685978",
                "reported stolen",
            )],
            ..Facts::default()
        };
        for mode in Mode::ALL {
            let v = decide(mode, &facts);
            assert_eq!(v.decision, Decision::Quarantine, "{mode:?}");
            assert_eq!(v.list.as_deref(), Some("stolen"));
            assert_eq!(v.list_version, Some(3));
            assert!(v.reason.contains("reported stolen"));
        }
    }

    #[test]
    fn intake_conflict_duplicate_proceed() {
        let conflict = Facts {
            flags: vec![flagged(
                "conflict",
                "IMEI 35417803685978 is already paired with serial X on unit 7",
            )],
            ..Facts::default()
        };
        let v = decide(Mode::Intake, &conflict);
        assert_eq!(v.decision, Decision::Conflict);
        assert!(v.reason.contains("unit 7"));
        let dup = Facts {
            flags: vec![flagged("duplicate", "already registered as unit 7")],
            ..Facts::default()
        };
        assert_eq!(decide(Mode::Intake, &dup).decision, Decision::Duplicate);
        assert_eq!(
            decide(Mode::Intake, &Facts::default()).decision,
            Decision::Proceed
        );
    }

    /// Defect 12 (issue 9): a failed list lookup looked like "no hit" and the unit proceeded.
    #[test]
    fn defect12_failed_lookup_quarantines_in_every_mode() {
        let failed = Facts {
            lookup_failed: true,
            ..Facts::default()
        };
        // Even with facts that would otherwise pass it (a shipped-list hit at returns, an
        // expected hit at audit), the unit is held.
        let passing = Facts {
            hits: vec![
                hit("exp", ListKind::Expected, MatchKind::Serial, "X", ""),
                hit("ship", ListKind::Shipped, MatchKind::Serial, "X", "order 1"),
            ],
            keys: vec![(IdKind::Serial, "X".to_owned())],
            lookup_failed: true,
            ..Facts::default()
        };
        for mode in Mode::ALL {
            for facts in [&failed, &passing] {
                let v = decide(mode, facts);
                assert_eq!(v.decision, Decision::Quarantine, "{mode:?}");
                assert_eq!(v.reason, "list lookup failed");
                assert_eq!((v.list, v.list_version), (None, None));
            }
        }
    }

    #[test]
    fn returns_need_a_known_unit_with_matching_identifiers() {
        assert_eq!(
            decide(Mode::Returns, &Facts::default()).decision,
            Decision::NotFound
        );
        let known = Facts {
            flags: vec![flagged("duplicate", "already registered as unit 7")],
            ..Facts::default()
        };
        assert_eq!(decide(Mode::Returns, &known).decision, Decision::Proceed);
        let swapped = Facts {
            flags: vec![flagged(
                "conflict",
                "serial C02 is on unit 7 with IMEI 3541",
            )],
            ..Facts::default()
        };
        assert_eq!(decide(Mode::Returns, &swapped).decision, Decision::Mismatch);
        let shipped_ok = Facts {
            hits: vec![
                hit(
                    "shipped",
                    ListKind::Shipped,
                    MatchKind::Serial,
                    "C02XG1ABJGH5",
                    "order 1",
                ),
                hit(
                    "shipped",
                    ListKind::Shipped,
                    MatchKind::Imei,
                    "35417803685978",
                    "order 1",
                ),
            ],
            keys: vec![
                (IdKind::Serial, "C02XG1ABJGH5".into()),
                (IdKind::Imei, "35417803685978".into()),
            ],
            ..Facts::default()
        };
        assert_eq!(
            decide(Mode::Returns, &shipped_ok).decision,
            Decision::Proceed
        );
        let shipped_swapped = Facts {
            hits: vec![
                hit(
                    "shipped",
                    ListKind::Shipped,
                    MatchKind::Serial,
                    "C02XG1ABJGH5",
                    "order 1",
                ),
                hit(
                    "shipped",
                    ListKind::Shipped,
                    MatchKind::Imei,
                    "49015420323751",
                    "order 2",
                ),
            ],
            ..shipped_ok.clone()
        };
        assert_eq!(
            decide(Mode::Returns, &shipped_swapped).decision,
            Decision::Mismatch
        );
        let unknown_imei = Facts {
            hits: vec![hit(
                "shipped",
                ListKind::Shipped,
                MatchKind::Serial,
                "C02XG1ABJGH5",
                "order 1",
            )],
            ..shipped_ok
        };
        assert_eq!(
            decide(Mode::Returns, &unknown_imei).decision,
            Decision::Mismatch
        );
    }

    #[test]
    fn recall_and_audit() {
        let facts = Facts {
            hits: vec![
                hit(
                    "battery-2026",
                    ListKind::Recall,
                    MatchKind::Tac,
                    "35417803",
                    "battery swelling",
                ),
                hit(
                    "shelf-4",
                    ListKind::Expected,
                    MatchKind::Serial,
                    "C02XG1ABJGH5",
                    "",
                ),
            ],
            ..Facts::default()
        };
        let v = decide(Mode::Recall, &facts);
        assert_eq!(v.decision, Decision::RecallHit);
        assert!(v.reason.contains("battery swelling"));
        assert_eq!(
            decide(Mode::Recall, &Facts::default()).decision,
            Decision::Proceed
        );
        assert_eq!(decide(Mode::Audit, &facts).decision, Decision::Proceed);
        assert_eq!(
            decide(Mode::Audit, &Facts::default()).decision,
            Decision::NotFound
        );
    }

    #[test]
    fn misprinted_labels_are_held() {
        let facts = Facts {
            flags: vec![flagged(
                "invalid_scan",
                "scan 4: invalid IMEI check digit: misprinted or counterfeit label",
            )],
            ..Facts::default()
        };
        assert_eq!(decide(Mode::Intake, &facts).decision, Decision::Quarantine);
    }

    #[test]
    fn inconsistent_labels_are_quarantined_in_every_mode() {
        for code in FlagCode::ALL
            .iter()
            .filter(|c| c.is_consistency())
            .map(|c| c.as_str())
        {
            let message =
                format!("{code}: GTIN 00195949038440 is Apple but IMEI 33002145123456 is Samsung");
            let facts = Facts {
                flags: vec![flagged(code, &message)],
                // Facts that would otherwise decide the unit differently in each mode.
                hits: vec![
                    hit(
                        "battery",
                        ListKind::Recall,
                        MatchKind::Tac,
                        "33002145",
                        "recall",
                    ),
                    hit(
                        "shelf",
                        ListKind::Expected,
                        MatchKind::Imei,
                        "33002145123456",
                        "",
                    ),
                ],
                ..Facts::default()
            };
            for mode in Mode::ALL {
                let v = decide(mode, &facts);
                assert_eq!(v.decision, Decision::Quarantine, "{code} {mode:?}");
                assert_eq!(v.reason, message, "{code} {mode:?}");
            }
        }
    }

    #[test]
    fn blocklist_wins_over_an_inconsistent_label() {
        let facts = Facts {
            flags: vec![flagged(
                "gtin_brand_mismatch",
                "GTIN is Apple, IMEI is Samsung",
            )],
            hits: vec![hit(
                "stolen",
                ListKind::Blocklist,
                MatchKind::Imei,
                "33002145123456",
                "reported stolen",
            )],
            ..Facts::default()
        };
        for mode in Mode::ALL {
            let v = decide(mode, &facts);
            assert_eq!(v.decision, Decision::Quarantine);
            assert_eq!(v.list.as_deref(), Some("stolen"), "{mode:?}");
            assert!(v.reason.contains("reported stolen"));
        }
    }

    #[test]
    fn a_cross_desk_conflict_quarantines_in_every_mode() {
        for mode in [Mode::Intake, Mode::Returns, Mode::Recall, Mode::Audit] {
            let facts = Facts {
                flags: vec![flagged(
                    "cross_desk_conflict",
                    "imei 35417800000001 is in a cross-desk conflict: desk1 unit 1 (serial A), desk2 unit 3 (serial B)",
                )],
                ..Facts::default()
            };
            let verdict = decide(mode, &facts);
            assert_eq!(verdict.decision, Decision::Quarantine, "{mode:?}");
            assert!(verdict.reason.contains("desk2 unit 3"), "{mode:?}");
        }
    }

    #[test]
    fn other_flags_do_not_quarantine() {
        let facts = Facts {
            flags: vec![flagged("incomplete", "no serial scanned")],
            ..Facts::default()
        };
        assert_eq!(decide(Mode::Intake, &facts).decision, Decision::Proceed);
    }
}
