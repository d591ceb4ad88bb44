//! `daemon`: the wiring of `scanstation run`. Sources on their own threads feed one event loop;
//! the loop classifies and pairs (pure), writes one transaction per batch (the one writer),
//! commits, and only then prints the acknowledgements.
//!
//! **Invariant:** nothing is printed for a scan or a unit before the transaction holding it has
//! committed with `synchronous=FULL`. Under bursts, every event waiting in the channel joins
//! the same transaction (group commit), so throughput grows while the promise stays the same.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::Duration;

use crate::clock;
use crate::config::{Config, SourceSpec};
use crate::decode::{DecodeConfig, Decoder};
use crate::evidence::{self, EvidenceConfig};
use crate::feedback::Feedback;
use crate::ident::control::Mode;
use crate::ident::{self, Classification, IdKind, Kind, Rejection, tac::MemoryTacs};
use crate::pair::label::{LabelCommit, LabelEvent, LabelTracker, SeenGroup, SeenSymbol};
use crate::pair::{self, ClosedUnit, Effect, Existing, Outcome, Pairer, ScanInput};
use crate::source::frames::{FrameSource, Images, Replay};
use crate::source::{FrameResult, RawScan, Source, SourceEvent};
use crate::store::{
    EvidenceRecord, FlagRecord, InvalidRecord, ScanRecord, Store, StoreError, Tx, UnitIdRecord,
    UnitRecord,
};
use crate::workflow;

/// Errors that stop the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "database {path} is in use by another scanstation (it holds the lock on this file, whatever path reached it); stop that one first"
    )]
    Locked { path: PathBuf },
    #[error("cannot open the database file {path} to lock it")]
    LockFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write feedback to stdout")]
    Output(#[from] std::io::Error),
    #[error(
        "stdout was closed (whatever read it went away), so scans could no longer be acknowledged: {stored} scans of this run are stored in {db}, {acknowledged} of them were acknowledged; the station stopped"
    )]
    OutputClosed {
        db: PathBuf,
        stored: i64,
        acknowledged: u64,
    },
    #[error("no scan source could be started")]
    NoSources,
    #[error("source {0}")]
    Source(String),
    #[error("cannot read the GTIN prefix file {path}")]
    PrefixFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Prefixes(#[from] ident::PrefixError),
}

/// The GS1 company prefix table: the built-in rows plus the user's file, if configured.
fn load_prefixes(config: &Config) -> Result<ident::GtinPrefixes, DaemonError> {
    let mut prefixes = ident::GtinPrefixes::builtin();
    if let Some(path) = &config.gtin_prefixes {
        let text = std::fs::read(path).map_err(|source| DaemonError::PrefixFile {
            path: path.clone(),
            source,
        })?;
        // The file is untrusted bytes: invalid UTF-8 is kept visible, and the parser names the
        // line of anything it refuses.
        let text = String::from_utf8_lossy(&text);
        prefixes.extend(ident::GtinPrefixes::parse(
            &text,
            &path.display().to_string(),
        )?);
    }
    Ok(prefixes)
}

/// The handheld pairer's effects, with their monotonic times moved onto the wall clock as it
/// reads now, for the records.
fn on_wall_clock(effects: Vec<Effect>, now: clock::Now) -> Vec<Effect> {
    let offset = now.wall_offset();
    effects.into_iter().map(|e| e.shifted(offset)).collect()
}

/// Everything printed after one commit.
enum Ack {
    Scan(ScanRecord),
    Unit(UnitRecord),
}

/// The most events one transaction takes, so a flood still gets acknowledged in slices.
const MAX_BATCH: usize = 512;

/// Takes the station's exclusive lock on the database file itself, so a second station on the
/// same file fails at once with a clear message instead of interleaving its units with ours.
///
/// The lock is an advisory `flock` on the database's inode, not a file named after the path:
/// a symlink, a hardlink or a relative path all reach the same inode, and there is no lock file
/// to delete. On Linux `flock` locks are independent of the POSIX record locks SQLite itself
/// takes on the file, so the two do not disturb each other. The returned handle must outlive
/// every SQLite connection of the run: closing a descriptor of the file drops this process's
/// POSIX locks on it, so it is dropped last.
fn lock(db: &Path) -> Result<File, DaemonError> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        // A missing directory is created here; Store::open would do the same a moment later.
        let _ = std::fs::create_dir_all(dir);
    }
    // An empty new file is a valid empty SQLite database, so creating it here is harmless.
    let file = File::options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(db)
        .map_err(|source| DaemonError::LockFile {
            path: db.to_owned(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(DaemonError::Locked {
            path: db.to_owned(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(DaemonError::LockFile {
            path: db.to_owned(),
            source,
        }),
    }
}

/// Builds the configured sources; a source that cannot start at all is an error naming it.
fn build_sources(config: &Config) -> Result<Vec<Box<dyn Source>>, DaemonError> {
    let decoder = || {
        Decoder::new(DecodeConfig {
            formats: config.decode.formats.clone(),
            budget_ms: config.decode.budget_ms,
        })
    };
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    for spec in &config.sources {
        match spec {
            SourceSpec::Stdin => sources.push(Box::new(crate::source::stdin::StdinSource::new(
                config.framing.clone(),
            ))),
            #[cfg(feature = "serial")]
            SourceSpec::Serial { path, baud } => {
                match crate::source::serial::check_path(path)
                    .map_err(|e| DaemonError::Source(format!("{spec}: {e}")))?
                {
                    crate::source::serial::PathState::Present => {}
                    crate::source::serial::PathState::Waiting => tracing::warn!(
                        path = %path.display(),
                        "the serial scanner is not there yet; waiting for it to be plugged in"
                    ),
                }
                sources.push(Box::new(crate::source::serial::SerialSource::new(
                    crate::source::serial::SerialConfig {
                        path: path.clone(),
                        baud: baud.unwrap_or(config.baud),
                        framing: config.framing.clone(),
                        backoff_min_ms: 100,
                        backoff_max_ms: 2000,
                    },
                )));
            }
            #[cfg(not(feature = "serial"))]
            SourceSpec::Serial { .. } => {
                return Err(DaemonError::Source(format!(
                    "{spec}: this build has no serial support (build with the `serial` feature)"
                )));
            }
            SourceSpec::Images(paths) => {
                let images =
                    Images::new(paths).map_err(|e| DaemonError::Source(format!("{spec}: {e}")))?;
                sources.push(Box::new(FrameSource::new(Box::new(images), decoder())));
            }
            SourceSpec::Replay { dir, fps } => {
                let replay = Replay::new(dir, fps.unwrap_or(30.0))
                    .map_err(|e| DaemonError::Source(format!("{spec}: {e}")))?;
                sources.push(Box::new(FrameSource::new(Box::new(replay), decoder())));
            }
            #[cfg(feature = "wedge")]
            SourceSpec::Hid(path) => {
                let wedge =
                    crate::source::wedge::WedgeSource::open(crate::source::wedge::WedgeConfig {
                        path: path.clone(),
                        gap_ms: config.wedge_gap_ms,
                        max_len: config.framing.max_len,
                    })
                    .map_err(|e| DaemonError::Source(format!("{spec}: {e}")))?;
                sources.push(Box::new(wedge));
            }
            #[cfg(not(feature = "wedge"))]
            SourceSpec::Hid(_) => {
                return Err(DaemonError::Source(format!(
                    "{spec}: this build has no keyboard-wedge support (build with the `wedge` feature)"
                )));
            }
            #[cfg(feature = "camera")]
            SourceSpec::Camera(device) => {
                let camera = crate::source::camera::Camera::open(device, &config.camera)
                    .map_err(|e| DaemonError::Source(format!("{spec}: {e}")))?;
                sources.push(Box::new(FrameSource::new(Box::new(camera), decoder())));
            }
            #[cfg(not(feature = "camera"))]
            SourceSpec::Camera(_) => {
                return Err(DaemonError::Source(format!(
                    "{spec}: this build has no camera support (build with `--features camera`, which needs libclang-dev)"
                )));
            }
        }
    }
    Ok(sources)
}

/// Runs the station until a signal, the end of stdin, or a fatal store error.
pub fn run(config: &Config, db: &Path, shutdown: Arc<AtomicBool>) -> Result<(), DaemonError> {
    let _lock = lock(db)?;
    let mut store = Store::open(db)?;
    let interrupted = store.close_interrupted_units(clock::now_ms())?;
    if !interrupted.is_empty() {
        tracing::warn!(units = ?interrupted, "closed units left open by an earlier run (flagged 'interrupted')");
    }
    let tacs = store.load_tacs()?;
    let prefixes = load_prefixes(config)?;
    let (next_scan, next_unit) = store.next_ids()?;
    let sources = build_sources(config)?;
    if sources.is_empty() {
        return Err(DaemonError::NoSources);
    }
    let (tx, rx) = sync_channel::<SourceEvent>(4096);
    for source in sources {
        let tx = tx.clone();
        let name = source.name();
        tracing::info!(source = %name, "starting source");
        std::thread::Builder::new()
            .name(format!("source {name}"))
            .spawn(move || source.run(tx))
            .map_err(DaemonError::Output)?;
    }
    drop(tx);
    let color = crate::feedback::use_color(config.feedback.color);
    let feedback = Feedback::new(
        std::io::stdout().lock(),
        config.json,
        color,
        config.feedback.bell && color,
        config.feedback.on_reject.clone(),
    );
    let mut station = Station {
        store,
        feedback,
        core: Core {
            pairer: Pairer::new(config.pairing.clone(), next_unit),
            tracker: LabelTracker::new(config.labels.clone()),
            tacs,
            prefixes,
            next_scan_id: next_scan,
            last_frame_ms: None,
            last_frame_source: String::new(),
            mode: config.mode,
            lists: Store::open_read_only(db)?,
            extra_keys: std::collections::HashMap::new(),
            evidence: config.evidence,
            camera_units: std::collections::HashMap::new(),
            pictures: std::collections::HashMap::new(),
            amends: std::collections::HashMap::new(),
            pending_pictures: Vec::new(),
        },
        evidence_failures: 0,
        evidence_written: 0,
        acknowledged: 0,
    };
    tracing::info!(db = %db.display(), "station ready");
    let result = station.event_loop(&rx, &shutdown);
    let result = match result {
        Err(DaemonError::Output(err)) if err.kind() == std::io::ErrorKind::BrokenPipe => {
            Err(DaemonError::OutputClosed {
                db: db.to_owned(),
                stored: station.core.next_scan_id - next_scan,
                acknowledged: station.acknowledged,
            })
        }
        other => other,
    };
    station.close();
    result
}

/// The edges the loop owns: the store (the one writer) and the operator's output.
struct Station<W: Write> {
    store: Store,
    feedback: Feedback<W>,
    core: Core,
    /// Label pictures that could not be made or stored (logged each time, totalled at exit).
    evidence_failures: u64,
    evidence_written: u64,
    /// Scans whose line or event reached stdout, for the message when stdout closes.
    acknowledged: u64,
}

/// A recorded camera unit whose label is still followed, so values read later can amend it.
struct CameraUnit {
    unit: i64,
    opened_ms: i64,
    /// Every scan recorded for it so far, to rebuild the unit when it is amended.
    scans: Vec<(i64, RawScan, Classification)>,
}

/// The best picture of a followed label so far, cut from its frame, not yet encoded.
#[derive(Clone)]
struct Picture {
    crop: image::GrayImage,
    at_ms: i64,
    frame: String,
    symbols: usize,
    sharpness: f32,
    /// Better than what the store holds for the unit (or the store holds none).
    dirty: bool,
}

/// The state that turns events into rows: pairing, label tracking, id allocation.
struct Core {
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
    /// A read-only connection for list lookups inside a write transaction.
    lists: Option<Store>,
    /// GS1 lots and production dates seen on each open unit, for recall matching.
    extra_keys: std::collections::HashMap<i64, crate::lists::UnitKeys>,
    evidence: EvidenceConfig,
    /// Camera tracks that were recorded, by track id.
    camera_units: std::collections::HashMap<u64, CameraUnit>,
    /// The best picture of each followed label, by track id.
    pictures: std::collections::HashMap<u64, Picture>,
    /// How many times each camera unit was amended.
    amends: std::collections::HashMap<i64, i64>,
    /// Pictures to store once the batch's records are committed and acknowledged.
    pending_pictures: Vec<(i64, Picture)>,
}

impl<W: Write> Station<W> {
    fn event_loop(
        &mut self,
        rx: &Receiver<SourceEvent>,
        shutdown: &AtomicBool,
    ) -> Result<(), DaemonError> {
        loop {
            if shutdown.load(Ordering::Relaxed) {
                tracing::info!("signal received: closing the pending unit");
                return self.finish();
            }
            // Wake for the next idle deadline, and at least every 100 ms to notice signals.
            // The idle deadline is on the monotonic clock, like every duration of the pairer.
            let now = clock::mono_ms();
            let wait = self
                .core
                .pairer
                .deadline()
                .map_or(100, |d| (d - now).clamp(0, 100));
            let first = match rx.recv_timeout(Duration::from_millis(wait as u64)) {
                Ok(event) => Some(event),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return self.finish(),
            };
            let mut batch: Vec<SourceEvent> = first.into_iter().collect();
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(event) => batch.push(event),
                    Err(_) => break,
                }
            }
            let ended = batch.iter().any(|e| {
                matches!(e, SourceEvent::End { source }
                    if source == "stdin" || source.starts_with("images:") || source.starts_with("replay:"))
            });
            self.process(batch, clock::Now::read())?;
            if ended {
                return self.finish();
            }
        }
    }

    /// Records the labels still in view and the pending unit, commits and prints, then returns.
    fn finish(&mut self) -> Result<(), DaemonError> {
        let mut acks = Vec::new();
        let tx = self.store.begin()?;
        self.core.finish(&tx, clock::Now::read(), &mut acks)?;
        tx.commit()?;
        self.print(acks)?;
        self.store_pictures();
        if self.evidence_failures > 0 {
            tracing::warn!(
                missing = self.evidence_failures,
                stored = self.evidence_written,
                "some camera units have no label picture"
            );
        }
        Ok(())
    }

    /// Encodes and stores the pictures of the records just acknowledged, in a transaction of
    /// their own: a picture that cannot be made or stored is logged and counted, and never
    /// holds back or undoes a record.
    fn store_pictures(&mut self) {
        let pending = std::mem::take(&mut self.core.pending_pictures);
        if pending.is_empty() {
            return;
        }
        let quality = self.core.evidence.quality;
        let mut records = Vec::with_capacity(pending.len());
        for (unit, picture) in pending {
            match evidence::encode_jpeg(&picture.crop, quality) {
                Ok(jpeg) => records.push(EvidenceRecord {
                    unit_id: unit,
                    at_ms: picture.at_ms,
                    frame: picture.frame,
                    width: picture.crop.width(),
                    height: picture.crop.height(),
                    symbols: picture.symbols,
                    sharpness: picture.sharpness,
                    jpeg,
                }),
                Err(err) => {
                    self.evidence_failures += 1;
                    tracing::error!(unit, error = %crate::error::Chain(&err), "label picture not made; the record stands without it");
                }
            }
        }
        let result = self.store.begin().and_then(|tx| {
            let mut stored = 0;
            for record in &records {
                match tx.put_evidence(record) {
                    Ok(()) => stored += 1,
                    Err(err) => {
                        self.evidence_failures += 1;
                        tracing::error!(unit = record.unit_id, error = %crate::error::Chain(&err), "label picture not stored; the record stands without it");
                    }
                }
            }
            tx.commit().map(|()| stored)
        });
        match result {
            Ok(stored) => self.evidence_written += stored,
            Err(err) => {
                self.evidence_failures += records.len() as u64;
                tracing::error!(error = %crate::error::Chain(&err), "label pictures not stored; the records stand without them");
            }
        }
    }

    /// Handles a batch of events (scans, frames, device notices) and any idle close, in one
    /// transaction, then acknowledges what it committed.
    fn process(&mut self, batch: Vec<SourceEvent>, now: clock::Now) -> Result<(), DaemonError> {
        let mut acks = Vec::new();
        let tx = self.store.begin()?;
        self.core.process(&tx, batch, now, &mut acks)?;
        if acks.is_empty() {
            // Nothing was written; dropping the transaction rolls back an empty change.
            drop(tx);
            self.store_pictures();
            return Ok(());
        }
        tx.commit()?;
        let recall_unit = acks
            .iter()
            .any(|a| matches!(a, Ack::Unit(u) if u.mode.as_deref() == Some("recall")));
        self.print(acks)?;
        if recall_unit {
            // Progress counts committed units, so it is read after the commit.
            for (list, found, expected) in self.store.recall_progress()? {
                self.feedback.progress(&list, found, expected)?;
            }
            self.feedback.flush()?;
        }
        self.store_pictures();
        Ok(())
    }

    fn print(&mut self, acks: Vec<Ack>) -> Result<(), DaemonError> {
        for ack in &acks {
            match ack {
                Ack::Scan(s) => {
                    self.feedback.scan(s)?;
                    self.acknowledged += 1;
                }
                Ack::Unit(u) => self.feedback.unit(u)?,
            }
        }
        self.feedback.flush()?;
        Ok(())
    }

    /// Leaves the database file self-contained after the run: the read-only list connection
    /// closes first (it cannot checkpoint), then the writer moves the WAL into the file.
    fn close(&mut self) {
        self.core.lists = None;
        match self.store.checkpoint() {
            Ok(crate::store::Checkpoint::Complete) => {}
            Ok(crate::store::Checkpoint::Busy { wal_pages, moved }) => tracing::warn!(
                wal_pages,
                moved,
                "another process is reading the database, so its WAL file is kept; every scan is safe, but copy the -wal file with it or use `scanstation backup`"
            ),
            Err(err) => {
                tracing::warn!(error = %crate::error::Chain(&err), "cannot checkpoint the database at exit")
            }
        }
    }
}

impl Core {
    fn finish(
        &mut self,
        tx: &Tx<'_>,
        now: clock::Now,
        acks: &mut Vec<Ack>,
    ) -> Result<(), StoreError> {
        let last_frame = self.last_frame_ms.unwrap_or(now.wall_ms);
        let source = self.last_frame_source.clone();
        for event in self.tracker.finish(last_frame) {
            self.label_event(tx, &source, None, event, acks)?;
        }
        let effects = on_wall_clock(self.pairer.shutdown(now.mono_ms), now);
        self.apply(tx, effects, &[], acks)
    }

    fn process(
        &mut self,
        tx: &Tx<'_>,
        batch: Vec<SourceEvent>,
        now: clock::Now,
        acks: &mut Vec<Ack>,
    ) -> Result<(), StoreError> {
        for event in batch {
            match event {
                SourceEvent::Scan(raw) => {
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
                    if let Some(crate::ident::Control::Mode(mode)) = classification.control {
                        tracing::info!(
                            mode = mode.as_str(),
                            "desk mode changed by control barcode"
                        );
                        self.mode = mode;
                    }
                    self.apply(tx, effects, &[(scan_id, &raw, &classification)], acks)?;
                }
                SourceEvent::Frame(frame) => self.frame(tx, frame, acks)?,
                SourceEvent::Down { source, error } => {
                    tracing::warn!(source = %source, error = %error, "scanner went away; reopening when it returns");
                }
                SourceEvent::Up { source } => tracing::info!(source = %source, "scanner ready"),
                SourceEvent::End { source } => tracing::info!(source = %source, "end of input"),
            }
        }
        let effects = on_wall_clock(self.pairer.tick(now.mono_ms), now);
        self.apply(tx, effects, &[], acks)
    }

    fn take_scan_id(&mut self) -> i64 {
        let id = self.next_scan_id;
        self.next_scan_id += 1;
        id
    }

    /// Feeds one decoded frame to the label tracker and records, amends or forgets labels.
    fn frame(
        &mut self,
        tx: &Tx<'_>,
        frame: FrameResult,
        acks: &mut Vec<Ack>,
    ) -> Result<(), StoreError> {
        if let Some(error) = &frame.error {
            tracing::warn!(source = %frame.source, frame = %frame.name, error = %error, "frame not decoded");
        }
        self.last_frame_ms = Some(frame.at_ms);
        self.last_frame_source.clone_from(&frame.source);
        let groups = frame_groups(&frame, self.tracker_join_factor());
        let events = if frame.still {
            self.tracker.still(frame.at_ms, &groups)
        } else {
            self.tracker.frame(frame.at_ms, &groups)
        };
        for event in events {
            self.label_event(tx, &frame.source, Some(&frame), event, acks)?;
        }
        Ok(())
    }

    fn tracker_join_factor(&self) -> f32 {
        self.tracker.config().join_factor
    }

    /// Carries out one tracker decision.
    fn label_event(
        &mut self,
        tx: &Tx<'_>,
        source: &str,
        frame: Option<&FrameResult>,
        event: LabelEvent,
        acks: &mut Vec<Ack>,
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
                match evidence::crop(image, &outline, self.evidence.margin) {
                    Ok(crop) => {
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
                    Err(err) => {
                        tracing::debug!(track, frame = %frame.name, error = %err, "no crop of this frame");
                    }
                }
                Ok(())
            }
            LabelEvent::Record(commit) => self.record_label(tx, source, commit, acks),
            LabelEvent::Amend(commit) => self.amend_label(tx, source, commit, acks),
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
                self.apply(tx, effects, &scan_refs(&scans), acks)
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
                let camera = self.camera_units.remove(&track);
                if let (Some(camera), Some(picture)) = (camera, self.pictures.remove(&track))
                    && picture.dirty
                {
                    self.pending_pictures.push((camera.unit, picture));
                }
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
    fn queue_picture(&mut self, track: u64, unit: i64) {
        if let Some(picture) = self.pictures.get_mut(&track).filter(|p| p.dirty) {
            picture.dirty = false;
            self.pending_pictures.push((unit, picture.clone()));
        }
    }

    /// Records one camera label as one unit, each of its symbols as a scan.
    fn record_label(
        &mut self,
        tx: &Tx<'_>,
        source: &str,
        commit: LabelCommit,
        acks: &mut Vec<Ack>,
    ) -> Result<(), StoreError> {
        let scans = self.label_scans(source, &commit);
        let inputs = scan_inputs(&scans);
        let effects = self.pairer.label(&inputs, commit.at_ms);
        let opened = effects.iter().find_map(|e| match e {
            Effect::Opened { unit, at_ms } => Some((*unit, *at_ms)),
            _ => None,
        });
        let refs = scan_refs(&scans);
        self.apply(tx, effects, &refs, acks)?;
        if let Some((unit, opened_ms)) = opened {
            self.queue_picture(commit.track, unit);
            self.camera_units.insert(
                commit.track,
                CameraUnit {
                    unit,
                    opened_ms,
                    scans,
                },
            );
        }
        Ok(())
    }

    /// Adds values read later on a recorded label to its unit and closes it again; the
    /// acknowledgement is a unit event marked amended.
    fn amend_label(
        &mut self,
        tx: &Tx<'_>,
        source: &str,
        commit: LabelCommit,
        acks: &mut Vec<Ack>,
    ) -> Result<(), StoreError> {
        let Some(mut camera) = self.camera_units.remove(&commit.track) else {
            // The label was recorded without a unit (nothing on it could open one): what is
            // new now is recorded as a unit of its own, which is what a first record would be.
            return self.record_label(tx, source, commit, acks);
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
        let refs = scan_refs(&new);
        self.apply(tx, effects, &refs, acks)?;
        self.queue_picture(commit.track, camera.unit);
        camera.scans.extend(new);
        self.camera_units.insert(commit.track, camera);
        Ok(())
    }
}

/// The scans as `apply` takes them.
fn scan_refs(scans: &[(i64, RawScan, Classification)]) -> Vec<(i64, &RawScan, &Classification)> {
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
pub fn classify_raw(raw: &RawScan, tacs: &MemoryTacs) -> Classification {
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

fn outcome_str(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Added => "added",
        Outcome::Repeat { .. } => "repeat",
        Outcome::Rejected => "rejected",
        Outcome::Flagged => "flagged",
        Outcome::NoIdentifiers => "no_identifiers",
        Outcome::Control(_) => "control",
        Outcome::NothingToUndo => "nothing_to_undo",
    }
}

impl Core {
    /// Writes the effects of one pairing step and queues their acknowledgements.
    ///
    /// The rows are written in the order the foreign keys need (a unit row before the scans that
    /// name it, a scan before the identifiers that cite it), while the acknowledgements keep the
    /// pairer's order, so the operator reads "unit 4 closed" before "scan 12 -> unit 5".
    fn apply(
        &mut self,
        tx: &Tx<'_>,
        effects: Vec<Effect>,
        scans: &[(i64, &RawScan, &Classification)],
        acks: &mut Vec<Ack>,
    ) -> Result<(), StoreError> {
        let mut ordered: Vec<Option<Ack>> = Vec::with_capacity(effects.len());
        for effect in &effects {
            match effect {
                Effect::Opened { unit, at_ms } => tx.open_unit(*unit, *at_ms)?,
                Effect::Scan {
                    scan_id,
                    unit,
                    outcome,
                } => {
                    let Some(&(_, raw, c)) = scans.iter().find(|(id, _, _)| id == scan_id) else {
                        continue;
                    };
                    let record = ScanRecord {
                        id: *scan_id,
                        at_ms: raw.at_ms,
                        source: raw.source.clone(),
                        raw: raw.bytes.clone(),
                        symbology: c.details.symbology.clone(),
                        kind: c.kind.as_str().to_owned(),
                        value: c.value.clone(),
                        valid: c.valid(),
                        reason_code: c.reason_code().map(str::to_owned),
                        reason: c.reason().map(str::to_owned),
                        outcome: outcome_str(outcome).to_owned(),
                        unit: *unit,
                        mode: Some(self.mode.as_str().to_owned()),
                        decision: None,
                        decision_reason: None,
                    };
                    let mut record = record;
                    if let Some(verdict) = self.scan_verdict(c) {
                        record.decision = Some(verdict.decision.as_str().to_owned());
                        record.decision_reason = Some(verdict.reason);
                    }
                    if let (Outcome::Added | Outcome::NoIdentifiers, Some(unit)) = (outcome, unit) {
                        self.extra_keys
                            .entry(*unit)
                            .or_default()
                            .add_classification(c);
                    }
                    tx.insert_scan(&record)?;
                    if let (Outcome::Added, Some(unit)) = (outcome, unit) {
                        tx.add_identifiers(*unit, *scan_id, &c.identifiers)?;
                    }
                    ordered.push(Some(Ack::Scan(record)));
                    continue;
                }
                _ => {}
            }
            ordered.push(None);
        }
        for (effect, slot) in effects.into_iter().zip(ordered.iter_mut()) {
            match effect {
                Effect::Closed(closed) => {
                    let record = self.close_record(tx, &closed)?;
                    tx.close_unit(&record)?;
                    *slot = Some(Ack::Unit(record));
                }
                Effect::Cancelled { unit, at_ms } => {
                    tx.cancel_unit(unit, at_ms)?;
                    *slot = Some(Ack::Unit(UnitRecord {
                        id: unit,
                        opened_ms: at_ms,
                        closed_ms: Some(at_ms),
                        status: "cancelled".to_owned(),
                        close_reason: Some("cancel".to_owned()),
                        complete: false,
                        flags: Vec::new(),
                        identifiers: Vec::new(),
                        mode: Some(self.mode.as_str().to_owned()),
                        decision: None,
                        decision_reason: Some("cancelled by SCANSTATION:CANCEL".to_owned()),
                        decision_list: None,
                        decision_list_version: None,
                        invalid: Vec::new(),
                        amends: 0,
                    }));
                    self.extra_keys.remove(&unit);
                }
                Effect::Undone { unit, scan_id } => tx.remove_identifiers(unit, scan_id)?,
                Effect::Opened { .. } | Effect::Scan { .. } => {}
            }
        }
        let mut batch: Vec<Ack> = ordered.into_iter().flatten().collect();
        // A scan that completes its unit is acknowledged before the unit it completed.
        if let Some(pos) = batch.iter().position(|a| matches!(a, Ack::Scan(_))) {
            let scan_unit = match &batch[pos] {
                Ack::Scan(s) => s.unit,
                Ack::Unit(_) => None,
            };
            if let Some(unit_pos) = batch[..pos]
                .iter()
                .position(|a| matches!(a, Ack::Unit(u) if Some(u.id) == scan_unit))
            {
                let scan = batch.remove(pos);
                batch.insert(unit_pos, scan);
            }
        }
        acks.extend(batch);
        Ok(())
    }

    /// The final record of a closing unit, with conflict and duplicate flags from the store
    /// and the desk's decision.
    fn close_record(&mut self, tx: &Tx<'_>, closed: &ClosedUnit) -> Result<UnitRecord, StoreError> {
        let keys: Vec<(String, String)> = closed
            .identifiers
            .iter()
            .filter(|i| !matches!(i.kind, IdKind::Gtin | IdKind::Part))
            .map(|i| (i.kind.as_str().to_owned(), i.key.clone()))
            .collect();
        let existing: Vec<Existing> = tx
            .units_sharing(closed.id, &keys)?
            .into_iter()
            .map(|(unit, ids)| Existing {
                unit,
                identifiers: ids
                    .into_iter()
                    .filter_map(|(kind, key)| IdKind::parse(&kind).map(|k| (k, key)))
                    .collect(),
            })
            .collect();
        let mut flags: Vec<FlagRecord> = closed
            .flags
            .iter()
            .chain(pair::conflicts(closed, &existing).iter())
            .map(|f| FlagRecord {
                code: f.code.to_owned(),
                message: f.message.clone(),
            })
            .collect();
        // A unit whose identifiers disagree with each other (IMEIs of two brands or models, a
        // serial or GTIN of another brand than the TAC's) is a relabelled or counterfeit box.
        let ids: Vec<(IdKind, &str)> = closed
            .identifiers
            .iter()
            .map(|i| (i.kind, i.key.as_str()))
            .collect();
        for finding in ident::consistency::check(&ids, &self.tacs, &self.prefixes) {
            flags.push(FlagRecord {
                code: finding.code.to_owned(),
                message: finding.message,
            });
        }
        flags.dedup();
        // Decide what the unit means at this desk: list hits (blocklist, recall, expected,
        // shipped) come from the read connection, which sees every committed list import.
        let mut unit_keys = crate::lists::UnitKeys::default();
        for i in &closed.identifiers {
            unit_keys.add_identifier(&crate::ident::Identifier {
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
        let (hits, lookup_failed) = self.list_hits(&unit_keys, &crate::lists::ListKind::ALL);
        let facts = workflow::Facts {
            lookup_failed,
            flags: flags
                .iter()
                .map(|f| workflow::FlagFact {
                    code: f.code.clone(),
                    message: f.message.clone(),
                })
                .collect(),
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
            flags.retain(|f| f.code != "duplicate");
        }
        let ok = flags.is_empty() && verdict.decision == workflow::Decision::Proceed;
        Ok(UnitRecord {
            id: closed.id,
            opened_ms: closed.opened_at_ms,
            closed_ms: Some(closed.closed_at_ms),
            status: if ok { "ok" } else { "flagged" }.to_owned(),
            mode: Some(self.mode.as_str().to_owned()),
            decision: Some(verdict.decision.as_str().to_owned()),
            decision_reason: Some(verdict.reason),
            decision_list: verdict.list,
            decision_list_version: verdict.list_version,
            close_reason: Some(closed.reason.as_str().to_owned()),
            complete: closed.complete,
            invalid: closed
                .invalid
                .iter()
                .map(|i| InvalidRecord {
                    kind: i.kind.as_str().to_owned(),
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
                    kind: i.kind.as_str().to_owned(),
                    value: i.value.clone(),
                    key: i.key.clone(),
                    slot: i64::from(i.slot),
                    scan_id: i.scan_id,
                })
                .collect(),
        })
    }

    /// Active list entries matching `keys`, from the read connection, and whether the lookup
    /// failed. A failure is logged and handed to the decision, which holds the unit: the scan
    /// and unit are still stored, because a scan must never be lost to a list problem, but
    /// they must not pass either, since the lists they were not checked against may block them.
    fn list_hits(
        &self,
        keys: &crate::lists::UnitKeys,
        kinds: &[crate::lists::ListKind],
    ) -> (Vec<crate::lists::ListHit>, bool) {
        // No database file existed at start, so there were no lists to miss.
        let Some(reader) = &self.lists else {
            return (Vec::new(), false);
        };
        match reader.match_unit(keys, kinds) {
            Ok(hits) => (hits, false),
            Err(err) => {
                tracing::error!(error = %crate::error::Chain(&err), "list lookup failed; holding the unit (quarantine)");
                (Vec::new(), true)
            }
        }
    }

    /// A scan's own decision: a blocklisted identifier is caught the moment it is scanned, and
    /// in a recall sweep a recalled one too. Scans that carry nothing to match have none.
    fn scan_verdict(&self, c: &Classification) -> Option<workflow::Verdict> {
        if !c.valid() || c.identifiers.is_empty() {
            return None;
        }
        let mut keys = crate::lists::UnitKeys::from_identifiers(&c.identifiers);
        keys.add_classification(c);
        let mut kinds = vec![crate::lists::ListKind::Blocklist];
        if self.mode == Mode::Recall {
            kinds.push(crate::lists::ListKind::Recall);
        }
        let (hits, lookup_failed) = self.list_hits(&keys, &kinds);
        let facts = workflow::Facts {
            hits,
            lookup_failed,
            ..workflow::Facts::default()
        };
        let verdict = workflow::decide(self.mode, &facts);
        Some(match verdict.decision {
            workflow::Decision::Quarantine | workflow::Decision::RecallHit => verdict,
            _ => workflow::Verdict {
                decision: workflow::Decision::Proceed,
                reason: "no list entry for this value".to_owned(),
                list: None,
                list_version: None,
            },
        })
    }
}
