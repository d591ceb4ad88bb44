//! `station`: the whole desk's decisions as a pure function of its inputs.
//!
//! [`Station::handle`] takes one input (a handheld scan, a decoded frame, a tick, the end of
//! the run), the time, and read access to what is already stored ([`Lookups`]), and returns a
//! [`Plan`]: the rows to write, in the order the foreign keys need, the acknowledgements to
//! print once they are committed, and the label pictures to store after that. It pairs
//! scans, follows camera labels, flags, and decides what each unit means at this desk.
//!
//! **Invariant:** no I/O and no clock here. The daemon gathers the lookups, applies the plan in
//! its transaction, commits and only then emits; `simulate` runs the same core on a script.

pub(crate) mod simulate;
#[cfg(test)]
mod transcripts;

use std::collections::HashMap;

use crate::clock::Now;
use crate::evidence::{self, EvidenceConfig};
use crate::ident::control::Mode;
use crate::ident::tac::MemoryTacs;
use crate::ident::{self, Classification, Flag, IdKind, Identifier, Kind, Rejection};
use crate::lists::{ListHit, ListKind, UnitKeys};
use crate::pair::label::{
    LabelCommit, LabelConfig, LabelEvent, LabelTracker, SeenGroup, SeenSymbol,
};
use crate::pair::{self, ClosedUnit, Effect, Existing, Outcome, PairConfig, Pairer, ScanInput};
use crate::record::{
    CloseReason, Decision, InvalidRecord, ScanRecord, UnitIdRecord, UnitRecord, UnitStatus,
};
use crate::source::{FrameResult, RawScan};
use crate::store::{CrossDesk, SharingUnit, StoreError};
use crate::workflow;

/// What the station reads from the store while it decides: stored units that share an
/// identifier with a closing unit, and the list entries a unit or scan matches.
pub(crate) trait Lookups {
    /// Other closed, not-cancelled units holding any of `keys`, with all their identifiers.
    fn units_sharing(
        &self,
        unit: i64,
        keys: &[(IdKind, String)],
    ) -> Result<Vec<SharingUnit>, StoreError>;

    /// The active list entries of `kinds` that `keys` match. An error here does not stop the
    /// station: the unit is held (quarantine), because the lists it was not checked against
    /// may block it.
    fn list_hits(&self, keys: &UnitKeys, kinds: &[ListKind]) -> Result<Vec<ListHit>, StoreError>;

    /// The cross-desk conflicts the central server reported on any of `keys` (pulled by
    /// `sync`, kept in the store). A station that does not sync has none.
    fn cross_desk(&self, keys: &[(IdKind, String)]) -> Result<Vec<CrossDesk>, StoreError> {
        let _ = keys;
        Ok(Vec::new())
    }
}

/// One thing that happened at the desk.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    /// A handheld scan, framed by its source.
    Scan(RawScan),
    /// A decoded camera or image frame.
    Frame(FrameResult),
    /// Time passed: a unit may have gone idle.
    Tick,
    /// The run ends: labels still in view are recorded and the open unit is closed.
    Finish,
}

/// One row change, in the order it must be written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Write {
    OpenUnit {
        id: i64,
        at_ms: i64,
    },
    /// A scan row, and the identifiers it added to its (open) unit, so an open unit survives a
    /// crash with everything acknowledged.
    Scan {
        record: ScanRecord,
        added: Vec<Identifier>,
    },
    /// UNDO: the identifiers a scan added leave its open unit.
    RemoveIdentifiers {
        unit: i64,
        scan_id: i64,
    },
    /// A unit's final state (or, for an amended camera unit, its new final state).
    CloseUnit(UnitRecord),
    CancelUnit {
        unit: i64,
        at_ms: i64,
    },
}

/// What the operator is told once the plan is committed, in the order to tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ack {
    Scan(ScanRecord),
    Unit(UnitRecord),
}

/// The best picture of a followed label so far, cut from its frame, not yet encoded.
#[derive(Debug, Clone)]
pub(crate) struct Picture {
    pub crop: image::GrayImage,
    pub at_ms: i64,
    pub frame: String,
    pub symbols: usize,
    pub sharpness: f32,
    /// Better than what the store holds for the unit (or the store holds none).
    dirty: bool,
}

/// Everything one input decided.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub writes: Vec<Write>,
    pub acks: Vec<Ack>,
    /// Label pictures to store, each for its unit, after the records are committed: a picture
    /// never holds back a record.
    pub pictures: Vec<(i64, Picture)>,
    /// Problems worth a log line (a frame that could not be decoded, a lookup that failed).
    pub notes: Vec<String>,
}

impl Plan {
    /// Whether a recall unit closed, so recall progress changed.
    pub(crate) fn closes_recall_unit(&self) -> bool {
        self.acks
            .iter()
            .any(|a| matches!(a, Ack::Unit(u) if u.mode == Some(Mode::Recall)))
    }

    /// Units this plan closed (not cancelled), with their identifiers, so a later unit in the
    /// same plan is compared with them as the store would once they are written.
    fn closed_units(&self) -> impl Iterator<Item = &UnitRecord> {
        self.writes.iter().filter_map(|w| match w {
            Write::CloseUnit(u) if matches!(u.status, UnitStatus::Ok | UnitStatus::Flagged) => {
                Some(u)
            }
            _ => None,
        })
    }
}

/// How the station is set up.
#[derive(Debug, Clone)]
pub(crate) struct StationConfig {
    pub pairing: PairConfig,
    pub labels: LabelConfig,
    pub evidence: EvidenceConfig,
    pub mode: Mode,
}

/// A recorded camera unit whose label is still followed, so values read later can amend it.
#[derive(Debug)]
struct CameraUnit {
    unit: i64,
    opened_ms: i64,
    /// Every scan recorded for it so far, to rebuild the unit when it is amended.
    scans: Vec<(i64, RawScan, Classification)>,
}

/// The desk's state: pairing, label tracking, the mode, and id allocation.
pub(crate) struct Station {
    pairer: Pairer,
    tracker: LabelTracker,
    tacs: MemoryTacs,
    /// GS1 company prefixes by brand, for the label consistency checks.
    prefixes: ident::GtinPrefixes,
    next_scan_id: i64,
    /// The time and source of the last frame, so labels still in view at the end are
    /// recorded with frame time (virtual for replays) rather than the wall clock.
    last_frame_ms: Option<i64>,
    last_frame_source: String,
    /// The desk mode; control barcodes change it.
    mode: Mode,
    /// GS1 lots and production dates seen on each open unit, for recall matching.
    extra_keys: HashMap<i64, UnitKeys>,
    evidence: EvidenceConfig,
    /// Camera tracks that were recorded, by track id.
    camera_units: HashMap<u64, CameraUnit>,
    /// The best picture of each followed label, by track id.
    pictures: HashMap<u64, Picture>,
    /// How many times each camera unit was amended.
    amends: HashMap<i64, i64>,
}

/// The scans of one pairing step as `apply` takes them.
type ScanRef<'a> = (i64, &'a RawScan, &'a Classification);

impl Station {
    /// A station whose next scan and unit get these ids (the store's next free ones).
    pub(crate) fn new(
        config: StationConfig,
        tacs: MemoryTacs,
        prefixes: ident::GtinPrefixes,
        next_scan_id: i64,
        next_unit_id: i64,
    ) -> Station {
        Station {
            pairer: Pairer::new(config.pairing, next_unit_id),
            tracker: LabelTracker::new(config.labels),
            tacs,
            prefixes,
            next_scan_id,
            last_frame_ms: None,
            last_frame_source: String::new(),
            mode: config.mode,
            extra_keys: HashMap::new(),
            evidence: config.evidence,
            camera_units: HashMap::new(),
            pictures: HashMap::new(),
            amends: HashMap::new(),
        }
    }

    /// The desk mode now.
    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    /// The id the next scan gets; everything below it is decided.
    pub(crate) fn next_scan_id(&self) -> i64 {
        self.next_scan_id
    }

    /// When the open handheld unit goes idle, on the monotonic clock.
    pub(crate) fn deadline(&self) -> Option<i64> {
        self.pairer.deadline()
    }

    /// Decides one input. On an error from the lookups the input's plan is lost and the
    /// station must stop: the error means the store cannot be read.
    pub(crate) fn handle(
        &mut self,
        input: Input,
        now: Now,
        lookups: &dyn Lookups,
    ) -> Result<Plan, StoreError> {
        let mut plan = Plan::default();
        match input {
            Input::Scan(raw) => self.scan(raw, now, lookups, &mut plan)?,
            Input::Frame(frame) => self.frame(frame, lookups, &mut plan)?,
            Input::Tick => {
                let effects = on_wall_clock(self.pairer.tick(now.mono_ms), now);
                self.apply(effects, &[], lookups, &mut plan)?;
            }
            Input::Finish => self.finish(now, lookups, &mut plan)?,
        }
        Ok(plan)
    }

    fn scan(
        &mut self,
        raw: RawScan,
        now: Now,
        lookups: &dyn Lookups,
        plan: &mut Plan,
    ) -> Result<(), StoreError> {
        let classification = classify_raw(&raw, &self.tacs);
        let scan_id = self.take_scan_id();
        // Paired on the monotonic clock; recorded on the wall clock.
        let effects = on_wall_clock(
            self.pairer.scan(ScanInput {
                scan_id,
                at_ms: raw.mono_ms,
                classification: &classification,
            }),
            now,
        );
        if let Some(ident::Control::Mode(mode)) = classification.control {
            self.mode = mode;
        }
        self.apply(effects, &[(scan_id, &raw, &classification)], lookups, plan)
    }

    fn finish(
        &mut self,
        now: Now,
        lookups: &dyn Lookups,
        plan: &mut Plan,
    ) -> Result<(), StoreError> {
        let last_frame = self.last_frame_ms.unwrap_or(now.wall_ms);
        let source = self.last_frame_source.clone();
        for event in self.tracker.finish(last_frame) {
            self.label_event(&source, None, event, lookups, plan)?;
        }
        let effects = on_wall_clock(self.pairer.shutdown(now.mono_ms), now);
        self.apply(effects, &[], lookups, plan)
    }

    fn take_scan_id(&mut self) -> i64 {
        let id = self.next_scan_id;
        self.next_scan_id += 1;
        id
    }

    /// Feeds one decoded frame to the label tracker and records, amends or forgets labels.
    fn frame(
        &mut self,
        frame: FrameResult,
        lookups: &dyn Lookups,
        plan: &mut Plan,
    ) -> Result<(), StoreError> {
        if let Some(error) = &frame.error {
            plan.notes.push(format!(
                "frame {} of {} not decoded: {error}",
                frame.name, frame.source
            ));
        }
        self.last_frame_ms = Some(frame.at_ms);
        self.last_frame_source.clone_from(&frame.source);
        let groups = frame_groups(&frame, self.tracker.config().join_factor);
        let events = if frame.still {
            self.tracker.still(frame.at_ms, &groups)
        } else {
            self.tracker.frame(frame.at_ms, &groups)
        };
        for event in events {
            self.label_event(&frame.source, Some(&frame), event, lookups, plan)?;
        }
        Ok(())
    }

    /// Carries out one tracker decision.
    fn label_event(
        &mut self,
        source: &str,
        frame: Option<&FrameResult>,
        event: LabelEvent,
        lookups: &dyn Lookups,
        plan: &mut Plan,
    ) -> Result<(), StoreError> {
        match event {
            LabelEvent::Evidence {
                track,
                outline,
                symbols,
                sharpness,
            } => {
                let Some(frame) = frame.filter(|_| self.evidence.enabled) else {
                    return Ok(());
                };
                let Some(image) = &frame.image else {
                    return Ok(());
                };
                // A crop that cannot be made (an outline off the frame) leaves the best picture
                // so far in place; it is not worth a note.
                if let Ok(crop) = evidence::crop(image, &outline, self.evidence.margin) {
                    self.pictures.insert(
                        track,
                        Picture {
                            crop,
                            at_ms: frame.at_ms,
                            frame: frame.name.clone(),
                            symbols,
                            sharpness,
                            dirty: true,
                        },
                    );
                }
                Ok(())
            }
            LabelEvent::Record(commit) => self.record_label(source, commit, lookups, plan),
            LabelEvent::Amend(commit) => self.amend_label(source, commit, lookups, plan),
            LabelEvent::Loose(commit) => {
                self.pictures.remove(&commit.track);
                let scans = self.label_scans(source, &commit);
                let effects: Vec<Effect> = scans
                    .iter()
                    .map(|(id, _, c)| Effect::Scan {
                        scan_id: *id,
                        unit: None,
                        outcome: pair::loose_outcome(c),
                    })
                    .collect();
                self.apply(effects, &scan_refs(&scans), lookups, plan)
            }
            LabelEvent::Merged { from, into } => {
                // The merged track's picture counts only when the surviving one has none: the
                // survivor's score already took the better of the two.
                if let Some(picture) = self.pictures.remove(&from) {
                    self.pictures.entry(into).or_insert(picture);
                }
                if let Some(camera) = self.camera_units.remove(&from) {
                    // Only an unrecorded track is merged away, so this is a safety net.
                    self.camera_units.entry(into).or_insert(camera);
                }
                Ok(())
            }
            LabelEvent::Forgotten { track } => {
                self.queue_picture(track, plan);
                self.camera_units.remove(&track);
                self.pictures.remove(&track);
                Ok(())
            }
        }
    }

    /// Scans for a label's symbols, each with a fresh id.
    fn label_scans(
        &mut self,
        source: &str,
        commit: &LabelCommit,
    ) -> Vec<(i64, RawScan, Classification)> {
        let mut scans = Vec::with_capacity(commit.symbols.len());
        for symbol in &commit.symbols {
            // The raw bytes are what a scanner set to send AIM identifiers would have sent.
            let mut bytes = symbol.aim.clone().into_bytes();
            bytes.extend_from_slice(symbol.text.as_bytes());
            let raw = RawScan {
                source: source.to_owned(),
                at_ms: commit.at_ms,
                // Labels are paired on the frames' own timeline, which is also their record time.
                mono_ms: commit.at_ms,
                bytes,
                problem: None,
            };
            let c = symbol.classify(&self.tacs);
            let id = self.take_scan_id();
            scans.push((id, raw, c));
        }
        scans
    }

    /// Queues the label's best picture for its unit, when there is a newer one than stored.
    fn queue_picture(&mut self, track: u64, plan: &mut Plan) {
        let Some(unit) = self.camera_units.get(&track).map(|c| c.unit) else {
            return;
        };
        if let Some(picture) = self.pictures.get_mut(&track).filter(|p| p.dirty) {
            picture.dirty = false;
            plan.pictures.push((unit, picture.clone()));
        }
    }

    /// Records one camera label as one unit, each of its symbols as a scan.
    fn record_label(
        &mut self,
        source: &str,
        commit: LabelCommit,
        lookups: &dyn Lookups,
        plan: &mut Plan,
    ) -> Result<(), StoreError> {
        let scans = self.label_scans(source, &commit);
        let inputs = scan_inputs(&scans);
        let effects = self.pairer.label(&inputs, commit.at_ms);
        let opened = effects.iter().find_map(|e| match e {
            Effect::Opened { unit, at_ms } => Some((*unit, *at_ms)),
            _ => None,
        });
        self.apply(effects, &scan_refs(&scans), lookups, plan)?;
        if let Some((unit, opened_ms)) = opened {
            self.camera_units.insert(
                commit.track,
                CameraUnit {
                    unit,
                    opened_ms,
                    scans,
                },
            );
            self.queue_picture(commit.track, plan);
        }
        Ok(())
    }

    /// Adds values read later on a recorded label to its unit and closes it again; the
    /// acknowledgement is a unit event marked amended.
    fn amend_label(
        &mut self,
        source: &str,
        commit: LabelCommit,
        lookups: &dyn Lookups,
        plan: &mut Plan,
    ) -> Result<(), StoreError> {
        let Some(mut camera) = self.camera_units.remove(&commit.track) else {
            // The label was recorded without a unit (nothing on it could open one): what is
            // new now is recorded as a unit of its own, which is what a first record would be.
            return self.record_label(source, commit, lookups, plan);
        };
        let new = self.label_scans(source, &commit);
        let earlier = scan_inputs(&camera.scans);
        let inputs = scan_inputs(&new);
        let effects = self.pairer.label_amend(
            camera.unit,
            camera.opened_ms,
            &earlier,
            &inputs,
            commit.at_ms,
        );
        // The lots and dates of the earlier scans count for list matching again.
        for (_, _, c) in &camera.scans {
            self.extra_keys
                .entry(camera.unit)
                .or_default()
                .add_classification(c);
        }
        *self.amends.entry(camera.unit).or_insert(0) += 1;
        self.apply(effects, &scan_refs(&new), lookups, plan)?;
        camera.scans.extend(new);
        self.camera_units.insert(commit.track, camera);
        self.queue_picture(commit.track, plan);
        Ok(())
    }

    /// Turns the effects of one pairing step into rows and acknowledgements.
    ///
    /// The rows go in the order the foreign keys need (a unit row before the scans that name
    /// it, a scan before the identifiers that cite it, so closes come after the step's scans),
    /// while the acknowledgements keep the pairer's order, so the operator reads "unit 4
    /// closed" before "scan 12 -> unit 5". Each effect fills its own slot, so an effect that
    /// produces nothing can never shift another's acknowledgement.
    fn apply(
        &mut self,
        effects: Vec<Effect>,
        scans: &[ScanRef<'_>],
        lookups: &dyn Lookups,
        plan: &mut Plan,
    ) -> Result<(), StoreError> {
        let mut slots: Vec<Option<Ack>> = vec![None; effects.len()];
        for (effect, slot) in effects.iter().zip(slots.iter_mut()) {
            match effect {
                Effect::Opened { unit, at_ms } => plan.writes.push(Write::OpenUnit {
                    id: *unit,
                    at_ms: *at_ms,
                }),
                Effect::Scan {
                    scan_id,
                    unit,
                    outcome,
                } => {
                    let Some(&(_, raw, c)) = scans.iter().find(|(id, _, _)| id == scan_id) else {
                        // The pairer named a scan this step did not hand it: a bug, but the
                        // unit it belongs to is still closed and acknowledged below.
                        plan.notes.push(format!(
                            "pairing named scan {scan_id}, which is not in this step"
                        ));
                        continue;
                    };
                    let record = self.scan_record(*scan_id, raw, c, outcome, *unit, lookups, plan);
                    let added = match (outcome, unit) {
                        (Outcome::Added, Some(_)) => c.identifiers.clone(),
                        _ => Vec::new(),
                    };
                    plan.writes.push(Write::Scan {
                        record: record.clone(),
                        added,
                    });
                    *slot = Some(Ack::Scan(record));
                }
                Effect::Closed(_) | Effect::Cancelled { .. } | Effect::Undone { .. } => {}
            }
        }
        for (effect, slot) in effects.into_iter().zip(slots.iter_mut()) {
            match effect {
                Effect::Closed(closed) => {
                    let record = self.close_record(&closed, lookups, plan)?;
                    plan.writes.push(Write::CloseUnit(record.clone()));
                    *slot = Some(Ack::Unit(record));
                }
                Effect::Cancelled { unit, at_ms } => {
                    plan.writes.push(Write::CancelUnit { unit, at_ms });
                    *slot = Some(Ack::Unit(UnitRecord {
                        id: unit,
                        opened_ms: at_ms,
                        closed_ms: Some(at_ms),
                        status: UnitStatus::Cancelled,
                        close_reason: Some(CloseReason::Cancel),
                        complete: false,
                        flags: Vec::new(),
                        identifiers: Vec::new(),
                        mode: Some(self.mode),
                        decision: None,
                        decision_reason: Some(CANCELLED.to_owned()),
                        decision_list: None,
                        decision_list_version: None,
                        invalid: Vec::new(),
                        amends: 0,
                    }));
                    self.extra_keys.remove(&unit);
                }
                Effect::Undone { unit, scan_id } => {
                    plan.writes.push(Write::RemoveIdentifiers { unit, scan_id });
                }
                Effect::Opened { .. } | Effect::Scan { .. } => {}
            }
        }
        let mut acks: Vec<Ack> = slots.into_iter().flatten().collect();
        // A scan that completes its unit is acknowledged before the unit it completed.
        if let Some(pos) = acks.iter().position(|a| matches!(a, Ack::Scan(_))) {
            let scan_unit = match &acks[pos] {
                Ack::Scan(s) => s.unit,
                Ack::Unit(_) => None,
            };
            if let Some(unit_pos) = acks[..pos]
                .iter()
                .position(|a| matches!(a, Ack::Unit(u) if Some(u.id) == scan_unit))
            {
                let scan = acks.remove(pos);
                acks.insert(unit_pos, scan);
            }
        }
        plan.acks.extend(acks);
        Ok(())
    }

    /// The row of one scan, with its own decision (a blocklisted value is caught at once).
    #[allow(clippy::too_many_arguments)]
    fn scan_record(
        &mut self,
        scan_id: i64,
        raw: &RawScan,
        c: &Classification,
        outcome: &Outcome,
        unit: Option<i64>,
        lookups: &dyn Lookups,
        plan: &mut Plan,
    ) -> ScanRecord {
        let verdict = self.scan_verdict(c, lookups, plan);
        if let (Outcome::Added | Outcome::NoIdentifiers, Some(unit)) = (outcome, unit) {
            self.extra_keys
                .entry(unit)
                .or_default()
                .add_classification(c);
        }
        ScanRecord {
            id: scan_id,
            at_ms: raw.at_ms,
            source: raw.source.clone(),
            raw: raw.bytes.clone(),
            symbology: c.details.symbology.clone(),
            kind: c.kind,
            value: c.value.clone(),
            valid: c.valid(),
            reason_code: c.reason_code().map(str::to_owned),
            reason: c.reason().map(str::to_owned),
            outcome: outcome.recorded(),
            unit,
            mode: Some(self.mode),
            decision: verdict.as_ref().map(|v| v.decision),
            decision_reason: verdict.map(|v| v.reason),
        }
    }

    /// Stored units sharing an identifier with a closing unit: what the store holds, with the
    /// units this plan closed before it in place of their stored rows.
    fn existing(
        &self,
        closed: &ClosedUnit,
        lookups: &dyn Lookups,
        plan: &Plan,
    ) -> Result<Vec<Existing>, StoreError> {
        let keys: Vec<(IdKind, String)> = closed
            .identifiers
            .iter()
            .filter(|i| !matches!(i.kind, IdKind::Gtin | IdKind::Part))
            .map(|i| (i.kind, i.key.clone()))
            .collect();
        let in_plan: Vec<&UnitRecord> = plan.closed_units().filter(|u| u.id != closed.id).collect();
        let mut existing: Vec<Existing> = lookups
            .units_sharing(closed.id, &keys)?
            .into_iter()
            .filter(|(unit, _)| !in_plan.iter().any(|u| u.id == *unit))
            .map(|(unit, identifiers)| Existing { unit, identifiers })
            .collect();
        for unit in in_plan {
            let identifiers: Vec<(IdKind, String)> = unit
                .identifiers
                .iter()
                .map(|i| (i.kind, i.key.clone()))
                .collect();
            if identifiers.iter().any(|id| keys.contains(id)) {
                existing.push(Existing {
                    unit: unit.id,
                    identifiers,
                });
            }
        }
        existing.sort_by_key(|e| e.unit);
        Ok(existing)
    }

    /// The final record of a closing unit, with conflict and duplicate flags from the store
    /// and the desk's decision.
    fn close_record(
        &mut self,
        closed: &ClosedUnit,
        lookups: &dyn Lookups,
        plan: &mut Plan,
    ) -> Result<UnitRecord, StoreError> {
        let existing = self.existing(closed, lookups, plan)?;
        let mut flags: Vec<Flag> = closed.flags.clone();
        flags.extend(pair::conflicts(closed, &existing));
        // A unit whose identifiers disagree with each other (IMEIs of two brands or models, a
        // serial or GTIN of another brand than the TAC's) is a relabelled or counterfeit box.
        let ids: Vec<(IdKind, &str)> = closed
            .identifiers
            .iter()
            .map(|i| (i.kind, i.key.as_str()))
            .collect();
        flags.extend(ident::consistency::check(&ids, &self.tacs, &self.prefixes));
        // What the central server knows and no single desk can see: the operator is told at
        // the next desk that records either side of a cross-desk conflict.
        let central_keys: Vec<(IdKind, String)> = closed
            .identifiers
            .iter()
            .filter(|i| matches!(i.kind, IdKind::Imei | IdKind::Serial))
            .map(|i| (i.kind, i.key.clone()))
            .collect();
        match lookups.cross_desk(&central_keys) {
            Ok(found) => flags.extend(found.into_iter().map(|c| {
                Flag::new(
                    ident::FlagCode::CrossDeskConflict,
                    format!(
                        "{} {} is in a cross-desk conflict: {}",
                        c.kind.as_str(),
                        c.key,
                        c.note
                    ),
                )
            })),
            Err(err) => plan.notes.push(format!(
                "cross-desk conflict lookup failed; the unit is decided without it: {}",
                crate::error::Chain(&err)
            )),
        }
        flags.dedup();
        // Decide what the unit means at this desk: list hits (blocklist, recall, expected,
        // shipped) come from the lookups, which see every committed list import.
        let mut unit_keys = UnitKeys::default();
        for i in &closed.identifiers {
            unit_keys.add_identifier(&Identifier {
                kind: i.kind,
                value: i.value.clone(),
                key: i.key.clone(),
            });
        }
        if let Some(extra) = self.extra_keys.remove(&closed.id) {
            for lot in extra.lots {
                if !unit_keys.lots.contains(&lot) {
                    unit_keys.lots.push(lot);
                }
            }
            for date in extra.prod_dates {
                if !unit_keys.prod_dates.contains(&date) {
                    unit_keys.prod_dates.push(date);
                }
            }
        }
        let (hits, lookup_failed) = list_hits(lookups, &unit_keys, &ListKind::ALL, plan);
        let facts = workflow::Facts {
            lookup_failed,
            flags: flags.clone(),
            hits,
            keys: closed
                .identifiers
                .iter()
                .map(|i| (i.kind, i.key.clone()))
                .collect(),
        };
        let verdict = workflow::decide(self.mode, &facts);
        // Outside intake, a unit seen before is the normal case (a return, a recount, a sweep), so
        // it is not a fault to flag; the decision says which unit it matched.
        if self.mode != Mode::Intake {
            flags.retain(|f| f.code != ident::FlagCode::Duplicate);
        }
        let ok = flags.is_empty() && verdict.decision == Decision::Proceed;
        Ok(UnitRecord {
            id: closed.id,
            opened_ms: closed.opened_at_ms,
            closed_ms: Some(closed.closed_at_ms),
            status: if ok {
                UnitStatus::Ok
            } else {
                UnitStatus::Flagged
            },
            mode: Some(self.mode),
            decision: Some(verdict.decision),
            decision_reason: Some(verdict.reason),
            decision_list: verdict.list,
            decision_list_version: verdict.list_version,
            close_reason: Some(closed.reason),
            complete: closed.complete,
            invalid: closed
                .invalid
                .iter()
                .map(|i| InvalidRecord {
                    kind: i.kind,
                    value: i.value.clone(),
                    scan_id: i.scan_id,
                    reason: i.reason.clone(),
                })
                .collect(),
            amends: self.amends.get(&closed.id).copied().unwrap_or(0),
            flags,
            identifiers: closed
                .identifiers
                .iter()
                .map(|i| UnitIdRecord {
                    kind: i.kind,
                    value: i.value.clone(),
                    key: i.key.clone(),
                    slot: i64::from(i.slot),
                    scan_id: i.scan_id,
                })
                .collect(),
        })
    }

    /// A scan's own decision: a blocklisted identifier is caught the moment it is scanned, and
    /// in a recall sweep a recalled one too. Scans that carry nothing to match have none.
    fn scan_verdict(
        &self,
        c: &Classification,
        lookups: &dyn Lookups,
        plan: &mut Plan,
    ) -> Option<workflow::Verdict> {
        if !c.valid() || c.identifiers.is_empty() {
            return None;
        }
        let mut keys = UnitKeys::from_identifiers(&c.identifiers);
        keys.add_classification(c);
        let mut kinds = vec![ListKind::Blocklist];
        if self.mode == Mode::Recall {
            kinds.push(ListKind::Recall);
        }
        let (hits, lookup_failed) = list_hits(lookups, &keys, &kinds, plan);
        let facts = workflow::Facts {
            hits,
            lookup_failed,
            ..workflow::Facts::default()
        };
        let verdict = workflow::decide(self.mode, &facts);
        Some(match verdict.decision {
            Decision::Quarantine | Decision::RecallHit => verdict,
            _ => workflow::Verdict {
                decision: Decision::Proceed,
                reason: "no list entry for this value".to_owned(),
                list: None,
                list_version: None,
            },
        })
    }
}

/// The decision reason of a cancelled unit, as the store also writes it.
pub(crate) const CANCELLED: &str = "cancelled by SCANSTATION:CANCEL";

/// List hits and whether the lookup failed; a failure is noted and handed to the decision,
/// which holds the unit. The scan and unit are still recorded, because a scan must never be
/// lost to a list problem, but they must not pass either.
fn list_hits(
    lookups: &dyn Lookups,
    keys: &UnitKeys,
    kinds: &[ListKind],
    plan: &mut Plan,
) -> (Vec<ListHit>, bool) {
    match lookups.list_hits(keys, kinds) {
        Ok(hits) => (hits, false),
        Err(err) => {
            plan.notes.push(format!(
                "list lookup failed; holding the unit (quarantine): {}",
                crate::error::Chain(&err)
            ));
            (Vec::new(), true)
        }
    }
}

/// The handheld pairer's effects, with their monotonic times moved onto the wall clock as it
/// reads now, for the records.
fn on_wall_clock(effects: Vec<Effect>, now: Now) -> Vec<Effect> {
    let offset = now.wall_offset();
    effects.into_iter().map(|e| e.shifted(offset)).collect()
}

/// The scans as `apply` takes them.
fn scan_refs(scans: &[(i64, RawScan, Classification)]) -> Vec<ScanRef<'_>> {
    scans.iter().map(|(id, raw, c)| (*id, raw, c)).collect()
}

/// The pairer's view of scans about to be recorded.
fn scan_inputs(scans: &[(i64, RawScan, Classification)]) -> Vec<ScanInput<'_>> {
    scans
        .iter()
        .map(|(id, raw, c)| ScanInput {
            scan_id: *id,
            at_ms: raw.at_ms,
            classification: c,
        })
        .collect()
}

/// The label groups of a frame: the sheets the decoder found, and the symbols on no sheet
/// grouped by the gap between their boxes.
fn frame_groups(frame: &FrameResult, join_factor: f32) -> Vec<SeenGroup> {
    let seen = |s: &crate::decode::Symbol| SeenSymbol {
        text: s.text.clone(),
        aim: s.aim.clone(),
        format: s.format.name().to_owned(),
        corners: s.corners,
    };
    let mut placed = vec![false; frame.symbols.len()];
    let mut groups = Vec::with_capacity(frame.labels.len());
    for label in &frame.labels {
        let mut symbols = Vec::with_capacity(label.symbols.len());
        for &i in &label.symbols {
            if let (Some(symbol), Some(done)) = (frame.symbols.get(i), placed.get_mut(i))
                && !*done
            {
                *done = true;
                symbols.push(seen(symbol));
            }
        }
        if !symbols.is_empty() {
            groups.push(SeenGroup {
                symbols,
                outline: Some(label.outline),
                sharpness: label.sharpness,
            });
        }
    }
    let rest: Vec<SeenSymbol> = frame
        .symbols
        .iter()
        .zip(&placed)
        .filter(|(_, done)| !**done)
        .map(|(s, _)| seen(s))
        .collect();
    for members in crate::pair::label::cluster(&rest, join_factor) {
        groups.push(SeenGroup::of(
            members
                .iter()
                .filter_map(|&i| rest.get(i).cloned())
                .collect(),
        ));
    }
    groups
}

/// The classification of a raw scan; framing problems make it a reject with their reason.
pub(crate) fn classify_raw(raw: &RawScan, tacs: &MemoryTacs) -> Classification {
    let text = String::from_utf8_lossy(&raw.bytes);
    match &raw.problem {
        None => ident::classify(&text, None, tacs),
        Some(problem) => Classification {
            input: text.clone().into_owned(),
            kind: Kind::Unknown,
            value: text.into_owned(),
            rejection: Some(Rejection::new(problem.code(), problem.to_string())),
            identifiers: Vec::new(),
            details: Default::default(),
            alternatives: Vec::new(),
            control: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::simulate::MemoryStore;
    use super::*;

    fn station() -> Station {
        Station::new(
            StationConfig {
                pairing: PairConfig::default(),
                labels: LabelConfig::default(),
                evidence: EvidenceConfig::default(),
                mode: Mode::Intake,
            },
            MemoryTacs::default(),
            ident::GtinPrefixes::builtin(),
            1,
            1,
        )
    }

    fn closed(id: i64) -> ClosedUnit {
        ClosedUnit {
            id,
            opened_at_ms: 0,
            closed_at_ms: 10,
            reason: CloseReason::Next,
            identifiers: Vec::new(),
            flags: Vec::new(),
            complete: false,
            scans: Vec::new(),
            invalid: Vec::new(),
        }
    }

    /// The old daemon skipped a `Scan` effect whose scan it was not given without filling its
    /// acknowledgement slot, so the acknowledgements shifted and the last one (usually the
    /// unit's close) was dropped. Every effect now fills its own slot.
    #[test]
    fn a_scan_effect_without_its_scan_never_drops_the_close() {
        let mut station = station();
        let store = MemoryStore::default();
        let effects = vec![
            Effect::Opened { unit: 1, at_ms: 0 },
            Effect::Scan {
                scan_id: 99,
                unit: Some(1),
                outcome: Outcome::Added,
            },
            Effect::Closed(closed(1)),
        ];
        let mut plan = Plan::default();
        station
            .apply(effects, &[], &store, &mut plan)
            .expect("apply");
        assert!(
            matches!(plan.acks.as_slice(), [Ack::Unit(u)] if u.id == 1),
            "{:?}",
            plan.acks
        );
        assert!(
            plan.writes
                .iter()
                .any(|w| matches!(w, Write::CloseUnit(u) if u.id == 1))
        );
        assert!(
            plan.notes.iter().any(|n| n.contains("scan 99")),
            "{:?}",
            plan.notes
        );
    }

    #[test]
    fn rows_are_written_in_foreign_key_order_and_acks_in_pairing_order() {
        let mut station = station();
        let mut store = MemoryStore::default();
        let mut plans = Vec::new();
        for (t, text) in [
            (0, "SC02XG1ABJGH5"),
            (100, "354178036859789"),
            (200, "354178036859797"),
        ] {
            let raw = RawScan {
                source: "t".to_owned(),
                at_ms: t,
                mono_ms: t,
                bytes: text.as_bytes().to_vec(),
                problem: None,
            };
            let now = Now {
                wall_ms: t,
                mono_ms: t,
            };
            let plan = station
                .handle(Input::Scan(raw), now, &store)
                .expect("handle");
            store.apply(&plan);
            plans.push(plan);
        }
        assert!(matches!(
            plans[0].writes.first(),
            Some(Write::OpenUnit { id: 1, .. })
        ));
        // The completing scan's row comes before the close that cites it, and the scan is
        // acknowledged before its unit.
        let last = &plans[2];
        assert!(matches!(
            last.writes.as_slice(),
            [Write::Scan { record, added }, Write::CloseUnit(unit)]
                if record.id == 3 && added.len() == 1 && unit.id == 1
        ));
        assert!(matches!(
            last.acks.as_slice(),
            [Ack::Scan(s), Ack::Unit(u)] if s.id == 3 && u.id == 1 && u.status == UnitStatus::Ok
        ));
    }
}
