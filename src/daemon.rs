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
use crate::feedback::Feedback;
use crate::ident::{self, Classification, IdKind, Kind, Rejection, tac::MemoryTacs};
use crate::pair::{self, ClosedUnit, Effect, Existing, Outcome, Pairer, ScanInput};
use crate::source::{RawScan, Source, SourceEvent};
use crate::store::{FlagRecord, ScanRecord, Store, StoreError, Tx, UnitIdRecord, UnitRecord};

/// Errors that stop the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database {path} is in use by another scanstation (lock file {lock})")]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("cannot create the lock file {lock}: {source}")]
    LockFile {
        lock: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write feedback to stdout: {0}")]
    Output(#[from] std::io::Error),
    #[error("no scan source could be started")]
    NoSources,
}

/// Everything printed after one commit.
enum Ack {
    Scan(ScanRecord),
    Unit(UnitRecord),
}

/// The most events one transaction takes, so a flood still gets acknowledged in slices.
const MAX_BATCH: usize = 512;

/// Takes the station's exclusive lock next to the database, so a second station on the same
/// file fails at once with a clear message instead of interleaving its units with ours.
fn lock(db: &Path) -> Result<File, DaemonError> {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    let lock = PathBuf::from(name);
    if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
        // A missing directory is created here; Store::open would do the same a moment later.
        let _ = std::fs::create_dir_all(dir);
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|source| DaemonError::LockFile {
            lock: lock.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(DaemonError::Locked {
            path: db.to_owned(),
            lock,
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(DaemonError::LockFile { lock, source }),
    }
}

/// Builds the configured sources.
fn build_sources(config: &Config) -> Vec<Box<dyn Source>> {
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    for spec in &config.sources {
        match spec {
            SourceSpec::Stdin => sources.push(Box::new(crate::source::stdin::StdinSource::new(
                config.framing.clone(),
            ))),
            #[cfg(feature = "serial")]
            SourceSpec::Serial { path, baud } => sources.push(Box::new(
                crate::source::serial::SerialSource::new(crate::source::serial::SerialConfig {
                    path: path.clone(),
                    baud: baud.unwrap_or(config.baud),
                    framing: config.framing.clone(),
                    backoff_min_ms: 100,
                    backoff_max_ms: 2000,
                }),
            )),
            #[cfg(not(feature = "serial"))]
            SourceSpec::Serial { path, .. } => {
                tracing::error!(path = %path.display(), "this build has no serial support (feature `serial`)");
            }
        }
    }
    sources
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
    let (next_scan, next_unit) = store.next_ids()?;
    let sources = build_sources(config);
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
    let color = match config.feedback.color {
        crate::config::ColorMode::Always => true,
        crate::config::ColorMode::Never => false,
        crate::config::ColorMode::Auto => std::io::IsTerminal::is_terminal(&std::io::stdout()),
    };
    let feedback = Feedback::new(
        std::io::stdout().lock(),
        config.json,
        color,
        config.feedback.bell && color,
        config.feedback.on_reject.clone(),
    );
    let mut station = Station {
        store,
        pairer: Pairer::new(config.pairing.clone(), next_unit),
        tacs,
        next_scan_id: next_scan,
        feedback,
    };
    tracing::info!(db = %db.display(), "station ready");
    station.event_loop(&rx, &shutdown)
}

struct Station<W: Write> {
    store: Store,
    pairer: Pairer,
    tacs: MemoryTacs,
    next_scan_id: i64,
    feedback: Feedback<W>,
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
            let now = clock::now_ms();
            let wait = self
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
            let mut ended = false;
            let mut scans = Vec::new();
            for event in batch {
                match event {
                    SourceEvent::Scan(scan) => scans.push(scan),
                    SourceEvent::Down { source, error } => {
                        tracing::warn!(source = %source, error = %error, "scanner went away; reopening when it returns");
                    }
                    SourceEvent::Up { source } => tracing::info!(source = %source, "scanner ready"),
                    SourceEvent::End { source } => {
                        tracing::info!(source = %source, "end of input");
                        ended |= source == "stdin";
                    }
                }
            }
            self.process(scans, clock::now_ms())?;
            if ended {
                return self.finish();
            }
        }
    }

    /// Closes the pending unit, commits and prints, then returns.
    fn finish(&mut self) -> Result<(), DaemonError> {
        let effects = self.pairer.shutdown(clock::now_ms());
        let mut acks = Vec::new();
        let tx = self.store.begin()?;
        apply(&tx, effects, None, &mut acks)?;
        tx.commit()?;
        self.print(acks)
    }

    /// Classifies, pairs and writes a batch of scans plus any idle close, in one transaction.
    fn process(&mut self, scans: Vec<RawScan>, now_ms: i64) -> Result<(), DaemonError> {
        let mut acks = Vec::new();
        let tx = self.store.begin()?;
        for raw in scans {
            let classification = classify_raw(&raw, &self.tacs);
            let scan_id = self.next_scan_id;
            self.next_scan_id += 1;
            let effects = self.pairer.scan(ScanInput {
                scan_id,
                at_ms: raw.at_ms,
                classification: &classification,
            });
            apply(&tx, effects, Some((&raw, &classification)), &mut acks)?;
        }
        let effects = self.pairer.tick(now_ms);
        apply(&tx, effects, None, &mut acks)?;
        if acks.is_empty() {
            // Nothing was written; dropping the transaction rolls back an empty change.
            return Ok(());
        }
        tx.commit()?;
        self.print(acks)
    }

    fn print(&mut self, acks: Vec<Ack>) -> Result<(), DaemonError> {
        for ack in &acks {
            match ack {
                Ack::Scan(s) => self.feedback.scan(s)?,
                Ack::Unit(u) => self.feedback.unit(u)?,
            }
        }
        self.feedback.flush()?;
        Ok(())
    }
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

/// Writes the effects of one pairing step and queues their acknowledgements.
///
/// The rows are written in the order the foreign keys need (a unit row before the scans that
/// name it, a scan before the identifiers that cite it), while the acknowledgements keep the
/// pairer's order, so the operator reads "unit 4 closed" before "scan 12 -> unit 5".
fn apply(
    tx: &Tx<'_>,
    effects: Vec<Effect>,
    scan: Option<(&RawScan, &Classification)>,
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
                let Some((raw, c)) = scan else { continue };
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
                };
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
                let record = close_record(tx, &closed)?;
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
                }));
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

/// The final record of a closing unit, with conflict and duplicate flags from the store.
fn close_record(tx: &Tx<'_>, closed: &ClosedUnit) -> Result<UnitRecord, StoreError> {
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
    flags.dedup();
    Ok(UnitRecord {
        id: closed.id,
        opened_ms: closed.opened_at_ms,
        closed_ms: Some(closed.closed_at_ms),
        status: if flags.is_empty() { "ok" } else { "flagged" }.to_owned(),
        close_reason: Some(closed.reason.as_str().to_owned()),
        complete: closed.complete,
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
