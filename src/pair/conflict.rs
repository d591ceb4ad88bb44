//! Checks a closing unit against units already in the store.

use crate::ident::IdKind;

use super::{ClosedUnit, Flag, FlagCode};

/// A unit already in the store that shares at least one key with a closing unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub unit: i64,
    /// Kind and matching key of each identifier the stored unit holds.
    pub identifiers: Vec<(IdKind, String)>,
}

/// Whether a kind identifies one device. Many units share a GTIN or part number, so those
/// two kinds say nothing about whether two records describe the same device.
fn identifies_device(kind: IdKind) -> bool {
    !matches!(kind, IdKind::Gtin | IdKind::Part)
}

/// How a kind is written in operator messages.
fn label(kind: IdKind) -> &'static str {
    match kind {
        IdKind::Serial => "serial",
        IdKind::Imei => "IMEI",
        IdKind::Meid => "MEID",
        IdKind::Esn => "ESN",
        IdKind::Iccid => "ICCID",
        IdKind::Eid => "EID",
        IdKind::Gtin => "GTIN",
        IdKind::Part => "part",
    }
}

/// The device kinds in a fixed order, so flags come out in the same order every time.
const DEVICE_KINDS: [IdKind; 6] = [
    IdKind::Serial,
    IdKind::Imei,
    IdKind::Meid,
    IdKind::Esn,
    IdKind::Iccid,
    IdKind::Eid,
];

/// Flags a closing unit against units already stored (pure; the daemon does the lookups).
///
/// Two units that share a device key describe the same device. They contradict each other
/// when, for some kind, each holds a key of that kind the other lacks: for single-valued
/// kinds that is simply "a different serial", and for IMEIs it allows one record to know
/// only one of the two IMEIs without calling that a conflict. Related units without a
/// contradiction are a duplicate registration.
pub fn conflicts(unit: &ClosedUnit, existing: &[Existing]) -> Vec<Flag> {
    let mut flags = Vec::new();
    let mine: Vec<(IdKind, &str)> = unit
        .identifiers
        .iter()
        .filter(|i| identifies_device(i.kind))
        .map(|i| (i.kind, i.key.as_str()))
        .collect();
    for other in existing.iter().filter(|e| e.unit != unit.id) {
        let theirs: Vec<(IdKind, &str)> = other
            .identifiers
            .iter()
            .filter(|(kind, _)| identifies_device(*kind))
            .map(|(kind, key)| (*kind, key.as_str()))
            .collect();
        let shared: Vec<(IdKind, &str)> = mine
            .iter()
            .copied()
            .filter(|id| theirs.contains(id))
            .collect();
        // Units that only share a GTIN or part number are unrelated devices of the same model.
        let Some(&first_shared) = shared.first() else {
            continue;
        };
        let before = flags.len();
        for kind in DEVICE_KINDS {
            let only_mine = mine.iter().find(|id| id.0 == kind && !theirs.contains(id));
            let only_theirs = theirs.iter().find(|id| id.0 == kind && !mine.contains(id));
            if let (Some(&(_, my_key)), Some(&(_, their_key))) = (only_mine, only_theirs) {
                // Name a shared key of another kind when there is one: "IMEI x is paired with
                // serial y" reads better than naming the contested kind twice.
                let (shared_kind, shared_key) = shared
                    .iter()
                    .copied()
                    .find(|(k, _)| *k != kind)
                    .unwrap_or(first_shared);
                flags.push(Flag {
                    code: FlagCode::Conflict,
                    message: format!(
                        "{} {shared_key} is already paired with {} {their_key} on unit {}, not {my_key}",
                        label(shared_kind),
                        label(kind),
                        other.unit
                    ),
                });
            }
        }
        if flags.len() == before {
            let (kind, key) = first_shared;
            flags.push(Flag {
                code: FlagCode::Duplicate,
                message: format!(
                    "already registered as unit {} ({} {key})",
                    other.unit,
                    label(kind)
                ),
            });
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::super::{CloseReason, UnitIdentifier};
    use super::*;

    const SERIAL: &str = "C02XG1ABJGH5";
    const OTHER_SERIAL: &str = "R58M315CL4T";
    const IMEI_A: &str = "35417803685978";
    const IMEI_B: &str = "49015420323751";
    const IMEI_C: &str = "35209900176148";
    const GTIN: &str = "09506000134352";

    fn unit(id: i64, ids: &[(IdKind, &str)]) -> ClosedUnit {
        let identifiers = ids
            .iter()
            .map(|&(kind, key)| UnitIdentifier {
                kind,
                value: key.to_owned(),
                key: key.to_owned(),
                scan_id: 1,
                slot: 1,
            })
            .collect();
        ClosedUnit {
            id,
            opened_at_ms: 0,
            closed_at_ms: 1,
            reason: CloseReason::Complete,
            identifiers,
            flags: Vec::new(),
            complete: true,
            scans: vec![1],
            invalid: Vec::new(),
        }
    }

    fn existing(id: i64, ids: &[(IdKind, &str)]) -> Existing {
        Existing {
            unit: id,
            identifiers: ids.iter().map(|&(k, v)| (k, v.to_owned())).collect(),
        }
    }

    fn codes_and_messages(flags: &[Flag]) -> Vec<(&str, &str)> {
        flags
            .iter()
            .map(|f| (f.code.as_str(), f.message.as_str()))
            .collect()
    }

    #[test]
    fn imei_already_paired_with_another_serial() {
        let closing = unit(
            8,
            &[
                (IdKind::Serial, OTHER_SERIAL),
                (IdKind::Imei, IMEI_A),
                (IdKind::Imei, IMEI_B),
            ],
        );
        let stored = [existing(
            7,
            &[
                (IdKind::Serial, SERIAL),
                (IdKind::Imei, IMEI_A),
                (IdKind::Imei, IMEI_B),
            ],
        )];
        assert_eq!(
            codes_and_messages(&conflicts(&closing, &stored)),
            vec![(
                "conflict",
                "IMEI 35417803685978 is already paired with serial C02XG1ABJGH5 on unit 7, not R58M315CL4T"
            )]
        );
    }

    #[test]
    fn serial_already_on_a_unit_with_other_imeis() {
        let closing = unit(
            8,
            &[
                (IdKind::Serial, SERIAL),
                (IdKind::Imei, IMEI_A),
                (IdKind::Imei, IMEI_B),
            ],
        );
        let stored = [existing(
            7,
            &[
                (IdKind::Serial, SERIAL),
                (IdKind::Imei, IMEI_A),
                (IdKind::Imei, IMEI_C),
            ],
        )];
        assert_eq!(
            codes_and_messages(&conflicts(&closing, &stored)),
            vec![(
                "conflict",
                "serial C02XG1ABJGH5 is already paired with IMEI 35209900176148 on unit 7, not 49015420323751"
            )]
        );
    }

    #[test]
    fn fewer_imeis_on_one_side_is_a_duplicate_not_a_conflict() {
        let closing = unit(8, &[(IdKind::Serial, SERIAL), (IdKind::Imei, IMEI_A)]);
        let stored = [existing(
            7,
            &[
                (IdKind::Serial, SERIAL),
                (IdKind::Imei, IMEI_A),
                (IdKind::Imei, IMEI_B),
            ],
        )];
        assert_eq!(
            codes_and_messages(&conflicts(&closing, &stored)),
            vec![(
                "duplicate",
                "already registered as unit 7 (serial C02XG1ABJGH5)"
            )]
        );
    }

    #[test]
    fn shared_gtin_or_part_is_not_a_relation() {
        let closing = unit(
            8,
            &[
                (IdKind::Serial, SERIAL),
                (IdKind::Gtin, GTIN),
                (IdKind::Part, "MGDX3LL/A"),
            ],
        );
        let stored = [existing(
            7,
            &[
                (IdKind::Serial, OTHER_SERIAL),
                (IdKind::Gtin, GTIN),
                (IdKind::Part, "MGDX3LL/A"),
            ],
        )];
        assert!(conflicts(&closing, &stored).is_empty());
    }

    #[test]
    fn different_gtin_is_not_a_conflict() {
        let closing = unit(8, &[(IdKind::Serial, SERIAL), (IdKind::Gtin, GTIN)]);
        let stored = [existing(
            7,
            &[(IdKind::Serial, SERIAL), (IdKind::Gtin, "00012345600012")],
        )];
        assert_eq!(
            codes_and_messages(&conflicts(&closing, &stored)),
            vec![(
                "duplicate",
                "already registered as unit 7 (serial C02XG1ABJGH5)"
            )]
        );
    }

    #[test]
    fn skips_the_units_own_id_and_reports_each_other_unit() {
        let closing = unit(7, &[(IdKind::Serial, SERIAL), (IdKind::Imei, IMEI_A)]);
        let stored = [
            existing(7, &[(IdKind::Serial, SERIAL), (IdKind::Imei, IMEI_A)]),
            existing(3, &[(IdKind::Imei, IMEI_A)]),
            existing(5, &[(IdKind::Serial, OTHER_SERIAL), (IdKind::Imei, IMEI_A)]),
        ];
        assert_eq!(
            codes_and_messages(&conflicts(&closing, &stored)),
            vec![
                (
                    "duplicate",
                    "already registered as unit 3 (IMEI 35417803685978)"
                ),
                (
                    "conflict",
                    "IMEI 35417803685978 is already paired with serial R58M315CL4T on unit 5, not C02XG1ABJGH5"
                ),
            ]
        );
    }

    #[test]
    fn nothing_stored_means_no_flags() {
        let closing = unit(1, &[(IdKind::Serial, SERIAL)]);
        assert!(conflicts(&closing, &[]).is_empty());
    }
}
