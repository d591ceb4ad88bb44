//! `pair`: groups successive scans at one desk into unit records.
//!
//! One physical unit means several scans in a row (serial, IMEI1, IMEI2, EID, GTIN...).
//! [`Pairer`] is a pure state machine: each scan, tick or shutdown returns [`Effect`]s that
//! the daemon applies to the store, and time only ever comes in as an argument. The one
//! rule that outranks every other is that values from two units are never paired, so any
//! doubt (a second serial, a third IMEI) closes the unit rather than stretching it.

mod conflict;
pub mod label;
mod profile;
mod simulate;

pub use conflict::{Existing, conflicts};
pub use profile::{Profile, ProfileError, capacity};
pub use simulate::simulate;

use std::fmt::Write as _;

use crate::ident::{Classification, Control, IdKind, Kind};

/// Tuning for the pairer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairConfig {
    /// An open unit with no activity for this long is closed (reason Idle).
    pub idle_timeout_ms: i64,
    /// The same values scanned again within this window are a repeat, not a new unit.
    pub repeat_window_ms: i64,
    pub profile: Profile,
}

impl Default for PairConfig {
    fn default() -> PairConfig {
        PairConfig {
            idle_timeout_ms: 10_000,
            repeat_window_ms: 10_000,
            profile: Profile::default(),
        }
    }
}

/// One scan handed to the pairer, already classified and recorded with an id.
#[derive(Debug, Clone, Copy)]
pub struct ScanInput<'a> {
    pub scan_id: i64,
    pub at_ms: i64,
    pub classification: &'a Classification,
}

/// What the daemon must do after a call, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A new unit starts (the daemon creates its row before recording the scan).
    Opened { unit: i64, at_ms: i64 },
    /// What happened to one scan: exactly one of these per `scan()` call, after any Closed/Opened it caused.
    Scan {
        scan_id: i64,
        unit: Option<i64>,
        outcome: Outcome,
    },
    /// A unit is closed and must be committed.
    Closed(ClosedUnit),
    /// A unit was dropped by SCANSTATION:CANCEL.
    Cancelled { unit: i64, at_ms: i64 },
    /// UNDO removed the identifiers that this scan had added to the unit.
    Undone { unit: i64, scan_id: i64 },
}

impl Effect {
    /// The same effect with every time in it moved by `delta_ms`. The handheld path is paired
    /// on the monotonic clock so that a stepped wall clock cannot close or stretch a unit; the
    /// daemon moves the times onto the wall clock before they become records.
    pub fn shifted(self, delta_ms: i64) -> Effect {
        match self {
            Effect::Opened { unit, at_ms } => Effect::Opened {
                unit,
                at_ms: at_ms.saturating_add(delta_ms),
            },
            Effect::Cancelled { unit, at_ms } => Effect::Cancelled {
                unit,
                at_ms: at_ms.saturating_add(delta_ms),
            },
            Effect::Closed(mut closed) => {
                closed.opened_at_ms = closed.opened_at_ms.saturating_add(delta_ms);
                closed.closed_at_ms = closed.closed_at_ms.saturating_add(delta_ms);
                Effect::Closed(closed)
            }
            other @ (Effect::Scan { .. } | Effect::Undone { .. }) => other,
        }
    }
}

/// What happened to one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its identifiers joined the unit.
    Added,
    /// The same values again: not a new unit, nothing added.
    Repeat {
        of_scan: i64,
    },
    /// Junk (invalid, kind Unknown, or an unknown control code): recorded only, the unit is untouched.
    Rejected,
    /// An invalid device identifier (e.g. bad IMEI check digit): the unit is flagged with its reason.
    Flagged,
    /// Valid but carries nothing to pair (e.g. GS1 with only a lot).
    NoIdentifiers,
    /// NEXT / CANCEL / UNDO / MODE:... handled.
    Control(Control),
    NothingToUndo,
}

impl Outcome {
    /// The outcome as recorded on the scan's row.
    pub fn recorded(&self) -> crate::record::ScanOutcome {
        use crate::record::ScanOutcome;
        match self {
            Outcome::Added => ScanOutcome::Added,
            Outcome::Repeat { .. } => ScanOutcome::Repeat,
            Outcome::Rejected => ScanOutcome::Rejected,
            Outcome::Flagged => ScanOutcome::Flagged,
            Outcome::NoIdentifiers => ScanOutcome::NoIdentifiers,
            Outcome::Control(_) => ScanOutcome::Control,
            Outcome::NothingToUndo => ScanOutcome::NothingToUndo,
        }
    }
}

/// A unit ready to be committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedUnit {
    pub id: i64,
    pub opened_at_ms: i64,
    pub closed_at_ms: i64,
    pub reason: CloseReason,
    /// Sorted by kind, then slot.
    pub identifiers: Vec<UnitIdentifier>,
    pub flags: Vec<Flag>,
    /// Whether the unit holds everything the profile requires.
    pub complete: bool,
    /// Every scan whose `Effect::Scan` named this unit while it was open, in order.
    pub scans: Vec<i64>,
    /// Values that failed validation (an IMEI whose check digit fails), kept on the record so it
    /// shows which value is bad; each also raised an `invalid_scan` flag naming it.
    pub invalid: Vec<InvalidValue>,
}

/// A device identifier read on a unit that failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    /// The kind the value was read as (`imei`, `meid`, `iccid`, ...).
    pub kind: Kind,
    /// The value as read.
    pub value: String,
    pub scan_id: i64,
    /// Why it was refused.
    pub reason: String,
}

/// One identifier held by a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitIdentifier {
    pub kind: IdKind,
    /// The value as scanned (an IMEI keeps its check digit).
    pub value: String,
    /// The matching key (IMEI14 for IMEIs).
    pub key: String,
    /// The scan that added it.
    pub scan_id: i64,
    /// 1-based position within its kind: IMEI1 = 1, IMEI2 = 2.
    pub slot: u8,
}

pub use crate::ident::{Flag, FlagCode};
pub use crate::record::CloseReason;

/// The unit being built.
#[derive(Debug)]
struct OpenUnit {
    id: i64,
    opened_at_ms: i64,
    /// The last activity, which the idle timer counts from.
    last_ms: i64,
    identifiers: Vec<UnitIdentifier>,
    flags: Vec<Flag>,
    scans: Vec<i64>,
    /// Scans whose identifiers are still in the unit, oldest first, for UNDO.
    added: Vec<i64>,
    invalid: Vec<InvalidValue>,
}

impl OpenUnit {
    fn new(id: i64, opened_at_ms: i64) -> OpenUnit {
        OpenUnit {
            id,
            opened_at_ms,
            last_ms: opened_at_ms,
            identifiers: Vec::new(),
            flags: Vec::new(),
            scans: Vec::new(),
            added: Vec::new(),
            invalid: Vec::new(),
        }
    }

    fn holds(&self, kind: IdKind, key: &str) -> Option<&UnitIdentifier> {
        self.identifiers
            .iter()
            .find(|i| i.kind == kind && i.key == key)
    }

    fn count(&self, kind: IdKind) -> usize {
        self.identifiers.iter().filter(|i| i.kind == kind).count()
    }

    /// Renumbers slots after a removal so IMEI2 becomes IMEI1 when IMEI1 is undone.
    fn renumber(&mut self) {
        let mut seen: Vec<(IdKind, u8)> = Vec::new();
        for ident in &mut self.identifiers {
            let slot = match seen.iter_mut().find(|(k, _)| *k == ident.kind) {
                Some((_, n)) => {
                    *n = n.saturating_add(1);
                    *n
                }
                None => {
                    seen.push((ident.kind, 1));
                    1
                }
            };
            ident.slot = slot;
        }
    }
}

/// The previous Added or Repeat scan, remembered to recognise trigger double-fires.
#[derive(Debug)]
struct LastScan {
    /// The scan that first added these values (a repeat of a repeat points at the original).
    origin: i64,
    unit: i64,
    at_ms: i64,
    /// Sorted and deduplicated, so equality ignores order within one scan.
    keys: Vec<(IdKind, String)>,
}

/// The values of the unit that closed last, remembered so that a value of it scanned again
/// right after it closed is a repeat of it, not the first scan of a new unit.
///
/// [`LastScan`] only recognises the previous scan's exact values, which misses most ways a
/// unit ends: the serial read again after the second IMEI completed the unit, any value read
/// again after the idle timeout or after the scan that did not fit closed it. Each of those
/// used to open a phantom unit that the store then flagged as a duplicate.
#[derive(Debug)]
struct RecentUnit {
    unit: i64,
    /// The unit's values with the scan that added each.
    identifiers: Vec<(IdKind, String, i64)>,
    /// When the repeat window starts: the moment the unit closed (for an idle close, the moment
    /// its timer ran out, not the later scan that noticed it), or the latest repeat of it.
    since_ms: i64,
}

/// The pairing state machine for one desk.
#[derive(Debug)]
pub struct Pairer {
    cfg: PairConfig,
    next_unit_id: i64,
    open: Option<OpenUnit>,
    last: Option<LastScan>,
    recent: Option<RecentUnit>,
}

impl Pairer {
    /// `next_unit_id` comes from the store (max id + 1), so ids are the database ids.
    pub fn new(cfg: PairConfig, next_unit_id: i64) -> Pairer {
        Pairer {
            cfg,
            next_unit_id,
            open: None,
            last: None,
            recent: None,
        }
    }

    /// The configuration the pairer runs with, for the daemon's status output.
    pub fn config(&self) -> &PairConfig {
        &self.cfg
    }

    /// The id of the unit being built, if any.
    pub fn open_unit(&self) -> Option<i64> {
        self.open.as_ref().map(|u| u.id)
    }

    /// When `tick` next needs to be called, if a unit is open.
    pub fn deadline(&self) -> Option<i64> {
        self.open
            .as_ref()
            .map(|u| u.last_ms.saturating_add(self.cfg.idle_timeout_ms))
    }

    /// Closes the open unit when it has been idle for idle_timeout_ms (closed_at_ms = now_ms).
    pub fn tick(&mut self, now_ms: i64) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.expire(now_ms, &mut effects);
        effects
    }

    /// Closes the open unit (reason Shutdown), for SIGTERM and end of input.
    pub fn shutdown(&mut self, now_ms: i64) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.close(now_ms, CloseReason::Shutdown, &mut effects);
        effects
    }

    /// Records one camera label as one unit of its own: every scan joins it (values beyond a
    /// slot's capacity are kept and flagged, never split off), then it closes at once.
    ///
    /// A handheld unit being built at the same desk is left exactly as it was, so a camera
    /// and a scanner on one station never pair values across units.
    pub fn label(&mut self, scans: &[ScanInput<'_>], at_ms: i64) -> Vec<Effect> {
        self.label_unit(None, &[], scans, at_ms)
    }

    /// Amends a recorded camera unit with scans read on its label later: the unit is rebuilt
    /// from `earlier` (its scans so far, already stored) and `new`, and closed again. Only the
    /// new scans get `Effect::Scan`s; no `Opened` is emitted because the unit exists.
    pub fn label_amend(
        &mut self,
        unit: i64,
        opened_at_ms: i64,
        earlier: &[ScanInput<'_>],
        new: &[ScanInput<'_>],
        at_ms: i64,
    ) -> Vec<Effect> {
        self.label_unit(Some((unit, opened_at_ms)), earlier, new, at_ms)
    }

    fn label_unit(
        &mut self,
        existing: Option<(i64, i64)>,
        earlier: &[ScanInput<'_>],
        scans: &[ScanInput<'_>],
        at_ms: i64,
    ) -> Vec<Effect> {
        let saved_open = self.open.take();
        let saved_last = self.last.take();
        let saved_recent = self.recent.take();
        if let Some((id, opened_at_ms)) = existing {
            let mut unit = OpenUnit::new(id, opened_at_ms);
            unit.last_ms = at_ms;
            self.open = Some(unit);
        }
        let mut replayed = Vec::new();
        for &input in earlier {
            self.label_scan(input, at_ms, &mut replayed);
        }
        let mut effects = Vec::with_capacity(scans.len() + 2);
        for &input in scans {
            self.label_scan(input, at_ms, &mut effects);
        }
        self.close(at_ms, CloseReason::Label, &mut effects);
        self.open = saved_open;
        self.last = saved_last;
        self.recent = saved_recent;
        effects
    }

    fn label_scan(&mut self, input: ScanInput<'_>, at_ms: i64, effects: &mut Vec<Effect>) {
        let c = input.classification;
        // A label's scans go to its unit whatever their order, so only what a scan is decides.
        let (unit, outcome) = match loose_outcome(c) {
            Outcome::Flagged => self.flag_invalid(input, effects),
            Outcome::NoIdentifiers => {
                let unit = self.ensure_open(at_ms, effects);
                unit.scans.push(input.scan_id);
                if c.identifiers.is_empty() {
                    (Some(unit.id), Outcome::NoIdentifiers)
                } else {
                    push_identifiers(unit, input);
                    unit.added.push(input.scan_id);
                    (Some(unit.id), Outcome::Added)
                }
            }
            outcome => (None, outcome),
        };
        effects.push(Effect::Scan {
            scan_id: input.scan_id,
            unit,
            outcome,
        });
    }

    /// Handles one scan. The last effect is always its `Effect::Scan`, after any Closed,
    /// Opened, Cancelled or Undone it caused, so a unit completed by this scan is reported
    /// closed before the scan itself.
    pub fn scan(&mut self, input: ScanInput<'_>) -> Vec<Effect> {
        let mut effects = Vec::with_capacity(3);
        // A unit whose timer ran out is already over, even if the daemon has not ticked yet:
        // the scan that arrives late must not join it.
        self.expire(input.at_ms, &mut effects);
        let c = input.classification;
        let (unit, outcome) = if let Some(control) = c.control {
            self.control(input, control, &mut effects)
        } else if !c.valid() {
            if matches!(c.kind, Kind::Unknown | Kind::Control) {
                (None, Outcome::Rejected)
            } else {
                self.flag_invalid(input, &mut effects)
            }
        } else if c.identifiers.is_empty() {
            let unit = self.open.as_mut().map(|u| {
                u.last_ms = input.at_ms;
                u.scans.push(input.scan_id);
                u.id
            });
            (unit, Outcome::NoIdentifiers)
        } else {
            self.pair(input, &mut effects)
        };
        effects.push(Effect::Scan {
            scan_id: input.scan_id,
            unit,
            outcome,
        });
        effects
    }

    fn control(
        &mut self,
        input: ScanInput<'_>,
        control: Control,
        effects: &mut Vec<Effect>,
    ) -> (Option<i64>, Outcome) {
        // An operator command separates what came before from what comes after, so a value
        // scanned again after it is meant, not a double-fire.
        if !matches!(control, Control::Mode(_)) {
            self.last = None;
            self.recent = None;
        }
        match control {
            Control::Next => {
                let unit = self.open.as_mut().map(|u| {
                    u.scans.push(input.scan_id);
                    u.id
                });
                self.close(input.at_ms, CloseReason::Next, effects);
                // The operator ended this unit on purpose, so its values read again are meant.
                self.recent = None;
                (unit, Outcome::Control(control))
            }
            Control::Cancel => {
                let unit = self.open.take().map(|u| u.id);
                if let Some(unit) = unit {
                    effects.push(Effect::Cancelled {
                        unit,
                        at_ms: input.at_ms,
                    });
                }
                (unit, Outcome::Control(control))
            }
            Control::Undo => {
                let Some(open) = self.open.as_mut() else {
                    return (None, Outcome::NothingToUndo);
                };
                open.last_ms = input.at_ms;
                open.scans.push(input.scan_id);
                let Some(undone) = open.added.pop() else {
                    return (Some(open.id), Outcome::NothingToUndo);
                };
                open.identifiers.retain(|i| i.scan_id != undone);
                open.renumber();
                effects.push(Effect::Undone {
                    unit: open.id,
                    scan_id: undone,
                });
                (Some(open.id), Outcome::Control(control))
            }
            Control::Mode(_) => (None, Outcome::Control(control)),
        }
    }

    fn flag_invalid(
        &mut self,
        input: ScanInput<'_>,
        effects: &mut Vec<Effect>,
    ) -> (Option<i64>, Outcome) {
        let c = input.classification;
        let reason = c.reason().unwrap_or("invalid");
        let flag = Flag {
            code: FlagCode::InvalidScan,
            message: format!(
                "scan {}: {} {}: {reason}",
                input.scan_id,
                c.kind.as_str(),
                c.value
            ),
        };
        let unit = self.ensure_open(input.at_ms, effects);
        unit.flags.push(flag);
        if unit.invalid.iter().all(|i| i.value != c.value) {
            unit.invalid.push(InvalidValue {
                kind: c.kind,
                value: c.value.clone(),
                scan_id: input.scan_id,
                reason: reason.to_owned(),
            });
        }
        unit.scans.push(input.scan_id);
        unit.last_ms = input.at_ms;
        (Some(unit.id), Outcome::Flagged)
    }

    fn pair(&mut self, input: ScanInput<'_>, effects: &mut Vec<Effect>) -> (Option<i64>, Outcome) {
        let c = input.classification;
        let mut keys: Vec<(IdKind, String)> = c
            .identifiers
            .iter()
            .map(|i| (i.kind, i.key.clone()))
            .collect();
        keys.sort();
        keys.dedup();

        let window = self.cfg.repeat_window_ms;
        // The crate's MSRV predates let chains, hence the filter.
        if let Some(last) = self
            .last
            .as_mut()
            .filter(|l| l.keys == keys && input.at_ms.saturating_sub(l.at_ms) < window)
        {
            last.at_ms = input.at_ms;
            let (unit, origin) = (last.unit, last.origin);
            if let Some(open) = self.open.as_mut().filter(|u| u.id == unit) {
                open.last_ms = input.at_ms;
                open.scans.push(input.scan_id);
            }
            if let Some(recent) = self.recent.as_mut().filter(|r| r.unit == unit) {
                recent.since_ms = recent.since_ms.max(input.at_ms);
            }
            return (Some(unit), Outcome::Repeat { of_scan: origin });
        }

        if let Some(open) = self.open.as_mut() {
            let mut origin = None;
            for (kind, key) in &keys {
                match open.holds(*kind, key) {
                    Some(held) => {
                        origin.get_or_insert(held.scan_id);
                    }
                    None => {
                        origin = None;
                        break;
                    }
                }
            }
            if let Some(origin) = origin {
                open.last_ms = input.at_ms;
                open.scans.push(input.scan_id);
                let unit = open.id;
                self.last = Some(LastScan {
                    origin,
                    unit,
                    at_ms: input.at_ms,
                    keys,
                });
                return (Some(unit), Outcome::Repeat { of_scan: origin });
            }
        }

        // Every value belongs to the unit that just closed: the operator read that label again
        // (or the trigger fired twice), whichever way the unit ended. Opening a unit for it
        // would make a phantom duplicate, and joining the open unit would pair values of two
        // units, so it is a repeat of the closed unit and touches neither.
        if let Some(recent) = self
            .recent
            .as_mut()
            .filter(|r| input.at_ms.saturating_sub(r.since_ms) < window)
        {
            let mut origin = None;
            for (kind, key) in &keys {
                match recent
                    .identifiers
                    .iter()
                    .find(|(k, held, _)| k == kind && held == key)
                {
                    Some(&(_, _, scan_id)) => {
                        origin.get_or_insert(scan_id);
                    }
                    None => {
                        origin = None;
                        break;
                    }
                }
            }
            if let Some(origin) = origin {
                recent.since_ms = recent.since_ms.max(input.at_ms);
                let unit = recent.unit;
                self.last = Some(LastScan {
                    origin,
                    unit,
                    at_ms: input.at_ms,
                    keys,
                });
                return (Some(unit), Outcome::Repeat { of_scan: origin });
            }
        }

        if self
            .open
            .as_ref()
            .is_some_and(|open| overflows(open, input.classification))
        {
            self.close(input.at_ms, CloseReason::Overflow, effects);
        }

        let unit = self.ensure_open(input.at_ms, effects);
        push_identifiers(unit, input);
        unit.added.push(input.scan_id);
        unit.scans.push(input.scan_id);
        unit.last_ms = input.at_ms;
        let id = unit.id;
        self.last = Some(LastScan {
            origin: input.scan_id,
            unit: id,
            at_ms: input.at_ms,
            keys,
        });
        if self.is_complete() {
            self.close(input.at_ms, CloseReason::Complete, effects);
        }
        (Some(id), Outcome::Added)
    }

    fn is_complete(&self) -> bool {
        self.open.as_ref().is_some_and(|u| {
            self.cfg
                .profile
                .required
                .iter()
                .all(|&(kind, n)| u.count(kind) >= n)
        })
    }

    /// The open unit, opening a new one when none is.
    fn ensure_open(&mut self, at_ms: i64, effects: &mut Vec<Effect>) -> &mut OpenUnit {
        let next_unit_id = &mut self.next_unit_id;
        self.open.get_or_insert_with(|| {
            let id = *next_unit_id;
            *next_unit_id = id.saturating_add(1);
            effects.push(Effect::Opened { unit: id, at_ms });
            OpenUnit::new(id, at_ms)
        })
    }

    fn expire(&mut self, now_ms: i64, effects: &mut Vec<Effect>) {
        let timeout = self.cfg.idle_timeout_ms;
        let Some(last_ms) = self
            .open
            .as_ref()
            .map(|u| u.last_ms)
            .filter(|&last| now_ms.saturating_sub(last) >= timeout)
        else {
            return;
        };
        self.close(now_ms, CloseReason::Idle, effects);
        // The unit was over when its timer ran out; a late scan that noticed it must not move
        // the start of the repeat window to its own time.
        if let Some(recent) = self.recent.as_mut() {
            recent.since_ms = last_ms.saturating_add(timeout).min(now_ms);
        }
    }

    fn close(&mut self, at_ms: i64, reason: CloseReason, effects: &mut Vec<Effect>) {
        let Some(open) = self.open.take() else {
            return;
        };
        self.recent = Some(RecentUnit {
            unit: open.id,
            identifiers: open
                .identifiers
                .iter()
                .map(|i| (i.kind, i.key.clone(), i.scan_id))
                .collect(),
            since_ms: at_ms,
        });
        let profile = &self.cfg.profile;
        let mut identifiers = open.identifiers;
        identifiers.sort_by_key(|i| (i.kind, i.slot));
        let mut flags = open.flags;
        let mut imei_tacs = identifiers
            .iter()
            .filter(|i| i.kind == IdKind::Imei)
            .map(|i| i.key.get(..8).unwrap_or(&i.key));
        if let Some((a, b)) = imei_tacs
            .next()
            .zip(imei_tacs.next())
            .filter(|(a, b)| a != b)
        {
            flags.push(Flag {
                code: FlagCode::TacMismatch,
                message: format!(
                    "the IMEIs have different TACs {a} and {b}: two devices may be mixed in one unit"
                ),
            });
        }
        let mut missing = String::new();
        for &(kind, n) in &profile.required {
            let have = identifiers.iter().filter(|i| i.kind == kind).count();
            if have < n {
                if !missing.is_empty() {
                    missing.push_str(", ");
                }
                let _ = write!(missing, "{} x{}", kind.as_str(), n - have);
            }
        }
        let complete = missing.is_empty();
        // A camera label carries what its maker printed on it (a back label has no EID, a
        // single-SIM box one IMEI); being short of the handheld profile is not a fault there.
        if !complete && reason != CloseReason::Label {
            flags.push(Flag {
                code: FlagCode::Incomplete,
                message: format!("missing {missing}"),
            });
        }
        effects.push(Effect::Closed(ClosedUnit {
            id: open.id,
            opened_at_ms: open.opened_at_ms,
            closed_at_ms: at_ms,
            reason,
            identifiers,
            flags,
            complete,
            scans: open.scans,
            invalid: open.invalid,
        }));
    }
}

/// What happens to a scan that joins no unit: a camera read on a label that never carried a
/// unit identifier (a lone retail GTIN, junk).
pub fn loose_outcome(c: &Classification) -> Outcome {
    if let Some(control) = c.control {
        Outcome::Control(control)
    } else if !c.valid() {
        if matches!(c.kind, Kind::Unknown | Kind::Control) {
            Outcome::Rejected
        } else {
            Outcome::Flagged
        }
    } else {
        Outcome::NoIdentifiers
    }
}

/// Adds the scan's identifiers that the unit does not hold yet, numbering their slots.
///
/// Only a single scan (or a camera label) carrying more values of a kind than a unit holds
/// gets past capacity here, and splitting one label across units would be worse than keeping
/// it whole and saying so.
fn push_identifiers(unit: &mut OpenUnit, input: ScanInput<'_>) {
    let c = input.classification;
    let mut over: Option<(IdKind, usize)> = None;
    for ident in &c.identifiers {
        if unit.holds(ident.kind, &ident.key).is_some() {
            continue;
        }
        let count = unit.count(ident.kind) + 1;
        if count > capacity(ident.kind) {
            over = Some((ident.kind, count));
        }
        unit.identifiers.push(UnitIdentifier {
            kind: ident.kind,
            value: ident.value.clone(),
            key: ident.key.clone(),
            scan_id: input.scan_id,
            slot: u8::try_from(count).unwrap_or(u8::MAX),
        });
    }
    if let Some((kind, count)) = over {
        unit.flags.push(Flag {
            code: FlagCode::OverCapacity,
            message: format!(
                "scan {} brings the unit to {count} {} values but a unit holds {}: {}",
                input.scan_id,
                kind.as_str(),
                capacity(kind),
                unit.identifiers
                    .iter()
                    .filter(|i| i.kind == kind)
                    .map(|i| i.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
}

/// Whether the scan's new identifiers would push some kind past its capacity.
fn overflows(open: &OpenUnit, c: &Classification) -> bool {
    let mut new_counts: Vec<(IdKind, usize)> = Vec::new();
    for (n, ident) in c.identifiers.iter().enumerate() {
        if open.holds(ident.kind, &ident.key).is_some() {
            continue;
        }
        // A value repeated inside one scan counts once.
        let earlier = c.identifiers.iter().take(n);
        if earlier
            .into_iter()
            .any(|i| i.kind == ident.kind && i.key == ident.key)
        {
            continue;
        }
        match new_counts.iter_mut().find(|(k, _)| *k == ident.kind) {
            Some((_, count)) => *count += 1,
            None => new_counts.push((ident.kind, 1)),
        }
    }
    new_counts
        .iter()
        .any(|&(kind, n)| open.count(kind) + n > capacity(kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ident::{Identifier, NoTacs, classify};

    fn scan(p: &mut Pairer, scan_id: i64, at_ms: i64, text: &str) -> Vec<Effect> {
        let c = classify(text, None, &NoTacs);
        p.scan(ScanInput {
            scan_id,
            at_ms,
            classification: &c,
        })
    }

    fn added(scan_id: i64, unit: i64) -> Effect {
        Effect::Scan {
            scan_id,
            unit: Some(unit),
            outcome: Outcome::Added,
        }
    }

    fn ident(kind: IdKind, value: &str, key: &str, scan_id: i64, slot: u8) -> UnitIdentifier {
        UnitIdentifier {
            kind,
            value: value.to_owned(),
            key: key.to_owned(),
            scan_id,
            slot,
        }
    }

    #[test]
    fn complete_unit_effects_in_order() {
        let mut p = Pairer::new(PairConfig::default(), 42);
        assert_eq!(p.open_unit(), None);
        assert_eq!(p.deadline(), None);
        assert_eq!(
            scan(&mut p, 7, 1_000, "354178036859789"),
            vec![
                Effect::Opened {
                    unit: 42,
                    at_ms: 1_000
                },
                added(7, 42)
            ]
        );
        assert_eq!(p.open_unit(), Some(42));
        assert_eq!(p.deadline(), Some(11_000));
        assert_eq!(scan(&mut p, 8, 2_000, "C02XG1ABJGH5"), vec![added(8, 42)]);
        assert_eq!(p.deadline(), Some(12_000));
        let effects = scan(&mut p, 9, 3_000, "354178036859797");
        assert_eq!(
            effects,
            vec![
                Effect::Closed(ClosedUnit {
                    id: 42,
                    opened_at_ms: 1_000,
                    closed_at_ms: 3_000,
                    reason: CloseReason::Complete,
                    identifiers: vec![
                        ident(IdKind::Serial, "C02XG1ABJGH5", "C02XG1ABJGH5", 8, 1),
                        ident(IdKind::Imei, "354178036859789", "35417803685978", 7, 1),
                        ident(IdKind::Imei, "354178036859797", "35417803685979", 9, 2),
                    ],
                    flags: vec![],
                    complete: true,
                    scans: vec![7, 8, 9],
                    invalid: vec![],
                }),
                added(9, 42),
            ]
        );
        assert_eq!(p.open_unit(), None);
        assert_eq!(p.deadline(), None);
        // The next unit takes the next id.
        assert_eq!(
            scan(&mut p, 10, 60_000, "R58M315CL4T")[0],
            Effect::Opened {
                unit: 43,
                at_ms: 60_000
            }
        );
    }

    #[test]
    fn junk_and_mode_leave_the_timer_alone() {
        let mut p = Pairer::new(PairConfig::default(), 1);
        scan(&mut p, 1, 0, "C02XG1ABJGH5");
        assert_eq!(
            scan(&mut p, 2, 5_000, "not a label!"),
            vec![Effect::Scan {
                scan_id: 2,
                unit: None,
                outcome: Outcome::Rejected
            }]
        );
        scan(&mut p, 3, 6_000, "SCANSTATION:MODE:RECALL");
        assert_eq!(p.deadline(), Some(10_000));
        assert_eq!(p.tick(9_999), vec![]);
        let effects = p.tick(10_000);
        let [Effect::Closed(unit)] = effects.as_slice() else {
            panic!("expected one Closed, got {effects:?}");
        };
        assert_eq!((unit.reason, unit.complete), (CloseReason::Idle, false));
        assert_eq!(unit.scans, vec![1]);
    }

    #[test]
    fn no_identifiers_without_a_unit_opens_nothing() {
        let mut p = Pairer::new(PairConfig::default(), 1);
        assert_eq!(
            scan(&mut p, 1, 0, "(10)ABC123"),
            vec![Effect::Scan {
                scan_id: 1,
                unit: None,
                outcome: Outcome::NoIdentifiers
            }]
        );
        assert_eq!(p.open_unit(), None);
    }

    #[test]
    fn partly_known_scan_adds_only_the_new_values() {
        let mut p = Pairer::new(PairConfig::default(), 1);
        scan(&mut p, 1, 0, "C02XG1ABJGH5");
        assert_eq!(
            scan(&mut p, 2, 100, "(01)09506000134352(21)C02XG1ABJGH5"),
            vec![added(2, 1)]
        );
        let effects = p.shutdown(200);
        let [Effect::Closed(unit)] = effects.as_slice() else {
            panic!("expected one Closed, got {effects:?}");
        };
        assert_eq!(
            unit.identifiers,
            vec![
                ident(IdKind::Serial, "C02XG1ABJGH5", "C02XG1ABJGH5", 1, 1),
                ident(IdKind::Gtin, "09506000134352", "09506000134352", 2, 1),
            ]
        );
        assert_eq!(unit.reason, CloseReason::Shutdown);
        assert_eq!(p.shutdown(300), vec![]);
    }

    #[test]
    fn repeat_after_close_names_the_closed_unit() {
        let mut p = Pairer::new(PairConfig::default(), 1);
        scan(&mut p, 1, 0, "C02XG1ABJGH5");
        scan(&mut p, 2, 10, "354178036859789");
        scan(&mut p, 3, 20, "354178036859797");
        assert_eq!(
            scan(&mut p, 4, 30, "354178036859797"),
            vec![Effect::Scan {
                scan_id: 4,
                unit: Some(1),
                outcome: Outcome::Repeat { of_scan: 3 }
            }]
        );
        // A repeat of a repeat still points at the scan that added the value.
        assert_eq!(
            scan(&mut p, 5, 9_000, "354178036859797"),
            vec![Effect::Scan {
                scan_id: 5,
                unit: Some(1),
                outcome: Outcome::Repeat { of_scan: 3 }
            }]
        );
        assert_eq!(p.open_unit(), None);
    }

    fn repeat(scan_id: i64, unit: i64, of_scan: i64) -> Vec<Effect> {
        vec![Effect::Scan {
            scan_id,
            unit: Some(unit),
            outcome: Outcome::Repeat { of_scan },
        }]
    }

    /// Defect 7 (issue 9): the serial read again right after the second IMEI completed the
    /// unit opened a phantom unit that the store flagged as a duplicate.
    #[test]
    fn defect7_rescan_after_complete_close_is_a_repeat() {
        let mut p = Pairer::new(PairConfig::default(), 1);
        scan(&mut p, 1, 0, "C02XG1ABJGH5");
        scan(&mut p, 2, 1_000, "354178036859789");
        let effects = scan(&mut p, 3, 2_000, "354178036859797");
        assert!(matches!(&effects[0], Effect::Closed(u) if u.reason == CloseReason::Complete));
        assert_eq!(scan(&mut p, 4, 2_500, "C02XG1ABJGH5"), repeat(4, 1, 1));
        assert_eq!(scan(&mut p, 5, 3_000, "354178036859789"), repeat(5, 1, 2));
        assert_eq!(p.open_unit(), None);
        // The window runs from the latest repeat; after it the label is meant again.
        assert_eq!(scan(&mut p, 6, 12_999, "C02XG1ABJGH5"), repeat(6, 1, 1));
        assert_eq!(
            scan(&mut p, 7, 30_000, "C02XG1ABJGH5")[0],
            Effect::Opened {
                unit: 2,
                at_ms: 30_000
            }
        );
    }

    /// Defect 7 (issue 9): a value read again after the idle timeout closed its unit, whether a
    /// tick or the late scan itself noticed the timeout, is a repeat of that unit.
    #[test]
    fn defect7_rescan_after_idle_close_is_a_repeat() {
        let cfg = PairConfig {
            idle_timeout_ms: 2_000,
            repeat_window_ms: 5_000,
            ..PairConfig::default()
        };
        // Closed by a tick.
        let mut p = Pairer::new(cfg.clone(), 1);
        scan(&mut p, 1, 0, "C02XG1ABJGH5");
        scan(&mut p, 2, 500, "354178036859789");
        assert!(matches!(&p.tick(2_500)[..], [Effect::Closed(u)] if u.reason == CloseReason::Idle));
        assert_eq!(scan(&mut p, 3, 3_000, "C02XG1ABJGH5"), repeat(3, 1, 1));
        assert_eq!(p.open_unit(), None);

        // Closed by the late scan: the window starts when the timer ran out (2 500), not at
        // the scan that noticed it, so 7 600 is already outside it.
        let mut p = Pairer::new(cfg.clone(), 1);
        scan(&mut p, 1, 0, "C02XG1ABJGH5");
        scan(&mut p, 2, 500, "354178036859789");
        let effects = scan(&mut p, 3, 4_000, "C02XG1ABJGH5");
        assert!(
            matches!(&effects[..], [Effect::Closed(u), Effect::Scan { .. }] if u.reason == CloseReason::Idle)
        );
        assert_eq!(effects[1], repeat(3, 1, 1)[0]);
        assert_eq!(p.open_unit(), None);
        let mut p = Pairer::new(cfg, 1);
        scan(&mut p, 1, 0, "C02XG1ABJGH5");
        scan(&mut p, 2, 500, "354178036859789");
        let effects = scan(&mut p, 3, 7_600, "C02XG1ABJGH5");
        assert!(effects.contains(&Effect::Opened {
            unit: 2,
            at_ms: 7_600
        }));
    }

    /// Defect 7 (issue 9): after the scan that did not fit closed its unit and opened the next,
    /// a value of the closed unit read again is a repeat of it: it neither opens a unit nor
    /// joins the next one.
    #[test]
    fn defect7_rescan_after_overflow_close_is_a_repeat() {
        let mut p = Pairer::new(PairConfig::default(), 1);
        scan(&mut p, 1, 0, "C02XG1ABJGH5");
        scan(&mut p, 2, 1_000, "354178036859789");
        let effects = scan(&mut p, 3, 2_000, "R58M315CL4T");
        assert!(matches!(&effects[0], Effect::Closed(u) if u.reason == CloseReason::Overflow));
        assert_eq!(p.open_unit(), Some(2));
        assert_eq!(scan(&mut p, 4, 2_500, "354178036859789"), repeat(4, 1, 2));
        assert_eq!(scan(&mut p, 5, 3_000, "C02XG1ABJGH5"), repeat(5, 1, 1));
        // The next unit is untouched: it still holds only its serial and fills up as usual.
        scan(&mut p, 6, 4_000, "490154203237518");
        let effects = scan(&mut p, 7, 5_000, "490154203237526");
        let Some(Effect::Closed(unit)) = effects.first() else {
            panic!("expected unit 2 to close, got {effects:?}");
        };
        assert_eq!((unit.id, unit.reason), (2, CloseReason::Complete));
        assert_eq!(unit.scans, vec![3, 6, 7]);
    }

    /// NEXT says the operator means what follows, so a label read again after it is a new unit
    /// (and the store flags it as a duplicate), as before.
    #[test]
    fn rescan_after_next_is_meant() {
        let mut p = Pairer::new(PairConfig::default(), 1);
        scan(&mut p, 1, 0, "C02XG1ABJGH5");
        scan(&mut p, 2, 100, "SCANSTATION:NEXT");
        assert_eq!(
            scan(&mut p, 3, 200, "C02XG1ABJGH5"),
            vec![
                Effect::Opened {
                    unit: 2,
                    at_ms: 200
                },
                added(3, 2)
            ]
        );
    }

    #[test]
    fn one_scan_over_capacity_is_kept_whole_and_flagged() {
        let mut p = Pairer::new(PairConfig::default(), 1);
        let mut c = classify("C02XG1ABJGH5", None, &NoTacs);
        c.identifiers.push(Identifier {
            kind: IdKind::Serial,
            value: "R58M315CL4T".to_owned(),
            key: "R58M315CL4T".to_owned(),
        });
        let effects = p.scan(ScanInput {
            scan_id: 1,
            at_ms: 0,
            classification: &c,
        });
        assert_eq!(effects.last(), Some(&added(1, 1)));
        let effects = p.shutdown(1);
        let [Effect::Closed(unit)] = effects.as_slice() else {
            panic!("expected one Closed, got {effects:?}");
        };
        assert_eq!(unit.identifiers.len(), 2);
        assert_eq!(
            unit.flags.first(),
            Some(&Flag {
                code: FlagCode::OverCapacity,
                message: "scan 1 brings the unit to 2 serial values but a unit holds 1: C02XG1ABJGH5, R58M315CL4T".to_owned()
            })
        );
    }

    #[test]
    fn undo_with_no_open_unit_names_no_unit() {
        let mut p = Pairer::new(PairConfig::default(), 1);
        assert_eq!(
            scan(&mut p, 1, 0, "SCANSTATION:UNDO"),
            vec![Effect::Scan {
                scan_id: 1,
                unit: None,
                outcome: Outcome::NothingToUndo
            }]
        );
    }

    #[test]
    fn close_reasons_have_stable_names() {
        let names: Vec<&str> = [
            CloseReason::Complete,
            CloseReason::Overflow,
            CloseReason::Idle,
            CloseReason::Next,
            CloseReason::Shutdown,
        ]
        .into_iter()
        .map(CloseReason::as_str)
        .collect();
        assert_eq!(names, ["complete", "overflow", "idle", "next", "shutdown"]);
    }
}
