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
use crate::event::{self, ScanEvent, UnitEvent};
use crate::evidence;
use crate::feedback::Feedback;
use crate::ident::{self, IdKind};
use crate::lists::{ListHit, ListKind, UnitKeys};
use crate::record::EvidenceRecord;
use crate::source::frames::{FrameSource, Images, Replay};
use crate::source::{Source, SourceEvent};
use crate::station::{Ack, Input, Lookups, Plan, Station, StationConfig, Write as PlanWrite};
use crate::store::{OutboxKinds, SharingUnit, Store, StoreError, Tx};
use crate::webhook::{self, Deliveries};

/// Errors that stop the daemon.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DaemonError {
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
    #[error("cannot start the thread of source {name}")]
    SourceThread {
        name: String,
        source: std::io::Error,
    },
    #[error("source {spec}")]
    Source {
        spec: String,
        #[source]
        source: crate::source::Error,
    },
    #[error("source {spec}: this build has no {what} support (build with {how})")]
    // Built only when a device feature is left out.
    #[cfg_attr(
        all(feature = "serial", feature = "wedge", feature = "camera"),
        allow(dead_code)
    )]
    SourceNotBuilt {
        spec: String,
        what: &'static str,
        how: &'static str,
    },
    #[error("cannot read the GTIN prefix file {path}")]
    PrefixFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Prefixes(#[from] ident::PrefixError),
    #[error(transparent)]
    Http(#[from] crate::api::ApiError),
    #[error(transparent)]
    Webhook(#[from] webhook::WebhookError),
    #[error(transparent)]
    Sync(#[from] crate::sync::StartError),
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
        let failed = |source: crate::source::Error| DaemonError::Source {
            spec: spec.to_string(),
            source,
        };
        match spec {
            SourceSpec::Stdin => sources.push(Box::new(crate::source::stdin::StdinSource::new(
                config.framing.clone(),
            ))),
            #[cfg(feature = "serial")]
            SourceSpec::Serial { path, baud } => {
                match crate::source::serial::check_path(path).map_err(|e| failed(e.into()))? {
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
                return Err(DaemonError::SourceNotBuilt {
                    spec: spec.to_string(),
                    what: "serial",
                    how: "the `serial` feature",
                });
            }
            SourceSpec::Images(paths) => {
                let images = Images::new(paths).map_err(failed)?;
                sources.push(Box::new(FrameSource::new(Box::new(images), decoder())));
            }
            SourceSpec::Replay { dir, fps, paced } => {
                let replay = Replay::new(dir, fps.unwrap_or(30.0), *paced).map_err(failed)?;
                sources.push(Box::new(
                    FrameSource::new(Box::new(replay), decoder()).with_stream(config.decode.stream),
                ));
            }
            #[cfg(feature = "wedge")]
            SourceSpec::Hid(path) => {
                let wedge =
                    crate::source::wedge::WedgeSource::open(crate::source::wedge::WedgeConfig {
                        path: path.clone(),
                        gap_ms: config.wedge_gap_ms,
                        max_len: config.framing.max_len,
                    })
                    .map_err(failed)?;
                sources.push(Box::new(wedge));
            }
            #[cfg(not(feature = "wedge"))]
            SourceSpec::Hid(_) => {
                return Err(DaemonError::SourceNotBuilt {
                    spec: spec.to_string(),
                    what: "keyboard-wedge",
                    how: "the `wedge` feature",
                });
            }
            #[cfg(feature = "camera")]
            SourceSpec::Camera(device) => {
                let camera =
                    crate::source::camera::Camera::open(device, &config.camera).map_err(failed)?;
                sources.push(Box::new(
                    FrameSource::new(Box::new(camera), decoder()).with_stream(config.decode.stream),
                ));
            }
            #[cfg(not(feature = "camera"))]
            SourceSpec::Camera(_) => {
                return Err(DaemonError::SourceNotBuilt {
                    spec: spec.to_string(),
                    what: "camera",
                    how: "`--features camera`, which needs libclang-dev",
                });
            }
        }
    }
    Ok(sources)
}

/// Runs the station until a signal, the end of stdin, or a fatal store error.
pub(crate) fn run(
    config: &Config,
    db: &Path,
    shutdown: Arc<AtomicBool>,
) -> Result<(), DaemonError> {
    let _lock = lock(db)?;
    let mut store = Store::open(db)?;
    let interrupted = store.close_interrupted_units(clock::now_ms())?;
    if !interrupted.is_empty() {
        tracing::warn!(units = ?interrupted, "closed units left open by an earlier run (flagged 'interrupted')");
    }
    let (outbox, deliveries) = start_webhooks(config, db, &store)?;
    let sync = match &config.sync {
        Some(sync) => {
            let name = config
                .station_name
                .clone()
                .unwrap_or_else(crate::api::station_name);
            let background = crate::sync::start(db, sync, &name, &store.station_uid()?)?;
            tracing::info!(station = %name, "sync to the central server started");
            Some(background)
        }
        None => None,
    };
    let tacs = store.load_tacs()?;
    let prefixes = load_prefixes(config)?;
    let (next_scan, next_unit) = store.next_ids()?;
    let sources = build_sources(config)?;
    if sources.is_empty() {
        return Err(DaemonError::NoSources);
    }
    let (tx, rx) = sync_channel::<SourceEvent>(4096);
    let mut names = Vec::with_capacity(sources.len());
    for source in sources {
        let tx = tx.clone();
        let name = source.name();
        names.push(name.clone());
        tracing::info!(source = %name, "starting source");
        std::thread::Builder::new()
            .name(format!("source {name}"))
            .spawn(move || source.run(tx))
            .map_err(|source| DaemonError::SourceThread {
                name: name.clone(),
                source,
            })?;
    }
    // The HTTP side starts once the store exists and before the first scan, so the page sees
    // every event of the run; it keeps a sender to put mode changes into the same channel.
    let http = match &config.http.listen {
        Some(listen) => {
            let hub = Arc::new(crate::api::Hub::new(
                crate::api::station_name(),
                config.mode,
                false,
            ));
            for name in &names {
                hub.source(name, true, None);
            }
            hub.connect(tx.clone());
            let server = crate::api::start(&config.http, listen, db, Arc::clone(&hub))?;
            Some((hub, server))
        }
        None => None,
    };
    drop(tx);
    let color = crate::feedback::use_color(config.feedback.color);
    let feedback = Feedback::new(
        std::io::stdout().lock(),
        config.json,
        color,
        config.feedback.bell && color,
        config.feedback.on_reject.clone(),
    );
    let mut desk = Desk {
        store,
        feedback,
        station: Station::new(
            StationConfig {
                pairing: config.pairing.clone(),
                labels: config.labels.clone(),
                evidence: config.evidence,
                mode: config.mode,
            },
            tacs,
            prefixes,
            next_scan,
            next_unit,
        ),
        lists: Store::open_read_only(db)?,
        evidence_quality: config.evidence.quality,
        evidence_failures: 0,
        evidence_written: 0,
        acknowledged: 0,
        hub: http.as_ref().map(|(hub, _)| Arc::clone(hub)),
        outbox,
        deliveries,
        sync,
    };
    tracing::info!(db = %db.display(), "station ready");
    let result = desk.event_loop(&rx, &shutdown);
    let result = match result {
        Err(DaemonError::Output(err)) if err.kind() == std::io::ErrorKind::BrokenPipe => {
            Err(DaemonError::OutputClosed {
                db: db.to_owned(),
                stored: desk.station.next_scan_id() - next_scan,
                acknowledged: desk.acknowledged,
            })
        }
        other => other,
    };
    if let Some(deliveries) = desk.deliveries.take() {
        deliveries.stop(Duration::from_millis(1000));
    }
    if let Some(sync) = desk.sync.take() {
        sync.stop(Duration::from_millis(1000));
    }
    desk.close();
    if let Some((hub, server)) = http {
        hub.disconnect();
        drop(server);
    }
    result
}

/// Registers every configured webhook's cursor (a new one starts after the rows already queued),
/// deletes the rows all of them have delivered, and starts the delivery threads. Returns the
/// kinds of events the outbox must receive: none when no webhook is configured.
fn start_webhooks(
    config: &Config,
    db: &Path,
    store: &Store,
) -> Result<(OutboxKinds, Option<Deliveries>), DaemonError> {
    if config.webhooks.is_empty() {
        return Ok((OutboxKinds::default(), None));
    }
    let now = clock::now_ms();
    let mut kinds = OutboxKinds::default();
    for hook in &config.webhooks {
        store.webhook_register(&hook.url, now)?;
        kinds = kinds.union(hook.events);
    }
    let urls: Vec<&str> = config.webhooks.iter().map(|h| h.url.as_str()).collect();
    store.outbox_prune(&urls)?;
    let deliveries = webhook::start(db, &config.webhooks, &store.station_uid()?)?;
    // Each webhook is named at start (its password hidden), so the log says where events go
    // even when the station stops before the first delivery is tried.
    for hook in &config.webhooks {
        tracing::info!(
            url = %webhook::redact_url(&hook.url),
            events = ?hook.events,
            "webhook deliveries started"
        );
    }
    Ok((kinds, Some(deliveries)))
}

/// The edges the loop owns: the store (the one writer), the list reader and the operator's
/// output, around the pure station.
struct Desk<W: Write> {
    store: Store,
    feedback: Feedback<W>,
    station: Station,
    /// A read-only connection for list lookups inside a write transaction: a lookup never
    /// waits on the writer. `None` when no database file existed at start (no lists to miss).
    lists: Option<Store>,
    evidence_quality: u8,
    /// Label pictures that could not be made or stored (logged each time, totalled at exit).
    evidence_failures: u64,
    evidence_written: u64,
    /// Scans whose line or event reached stdout, for the message when stdout closes.
    acknowledged: u64,
    /// The HTTP side, when it is on: told every committed event after the operator is.
    hub: Option<Arc<crate::api::Hub>>,
    /// The kinds of committed events queued for the webhooks (none without webhooks).
    outbox: OutboxKinds,
    deliveries: Option<Deliveries>,
    /// The background push to the central server (`[sync] url`), woken after each commit.
    sync: Option<crate::sync::Background>,
}

/// What the station reads while deciding, from the batch's transaction (which sees the rows
/// written earlier in the batch) and the list reader.
struct StoreLookups<'a, 't> {
    tx: &'a Tx<'t>,
    lists: Option<&'a Store>,
}

impl Lookups for StoreLookups<'_, '_> {
    fn units_sharing(
        &self,
        unit: i64,
        keys: &[(IdKind, String)],
    ) -> Result<Vec<SharingUnit>, StoreError> {
        self.tx.units_sharing(unit, keys)
    }

    fn list_hits(&self, keys: &UnitKeys, kinds: &[ListKind]) -> Result<Vec<ListHit>, StoreError> {
        match self.lists {
            Some(reader) => reader.match_unit(keys, kinds),
            None => Ok(Vec::new()),
        }
    }

    fn cross_desk(
        &self,
        keys: &[(IdKind, String)],
    ) -> Result<Vec<crate::store::CrossDesk>, StoreError> {
        self.tx.cross_desk(keys)
    }
}

/// Writes one plan's rows into the batch's transaction, and the outbox rows of its events: in
/// the same transaction, so a webhook event exists exactly when its unit or scan committed.
/// Returns how many outbox rows it wrote.
fn write_plan(
    tx: &Tx<'_>,
    plan: &Plan,
    outbox: OutboxKinds,
    now_ms: i64,
) -> Result<usize, StoreError> {
    for write in &plan.writes {
        match write {
            PlanWrite::OpenUnit { id, at_ms } => tx.open_unit(*id, *at_ms)?,
            PlanWrite::Scan { record, added } => {
                tx.insert_scan(record)?;
                if let (Some(unit), false) = (record.unit, added.is_empty()) {
                    tx.add_identifiers(unit, record.id, added)?;
                }
            }
            PlanWrite::RemoveIdentifiers { unit, scan_id } => {
                tx.remove_identifiers(*unit, *scan_id)?;
            }
            PlanWrite::CloseUnit(record) => tx.close_unit(record)?,
            PlanWrite::CancelUnit { unit, at_ms } => tx.cancel_unit(*unit, *at_ms)?,
        }
    }
    let mut queued = 0;
    if outbox.any() {
        // The body is exactly the `run --json` line of the acknowledgement, in the same order.
        for ack in &plan.acks {
            match ack {
                Ack::Unit(u) if outbox.unit => {
                    tx.outbox_add("unit", &event::line(&UnitEvent::from(u)), now_ms)?;
                    queued += 1;
                }
                Ack::Scan(s) if outbox.scan => {
                    tx.outbox_add("scan", &event::line(&ScanEvent::from(s)), now_ms)?;
                    queued += 1;
                }
                Ack::Unit(_) | Ack::Scan(_) => {}
            }
        }
    }
    Ok(queued)
}

/// Decides one input and writes its rows; its acknowledgements wait for the commit.
fn decide(
    station: &mut Station,
    lists: Option<&Store>,
    outbox: OutboxKinds,
    tx: &Tx<'_>,
    input: Input,
    now: clock::Now,
    decided: &mut Decided,
) -> Result<(), StoreError> {
    let lookups = StoreLookups { tx, lists };
    let mode = station.mode();
    let plan = station.handle(input, now, &lookups)?;
    if station.mode() != mode {
        tracing::info!(
            mode = station.mode().as_str(),
            "desk mode changed by control barcode"
        );
    }
    for note in &plan.notes {
        tracing::warn!("{note}");
    }
    decided.queued += write_plan(tx, &plan, outbox, now.wall_ms)?;
    decided.writes += plan.writes.len();
    decided.recall |= plan.closes_recall_unit();
    decided.acks.extend(plan.acks);
    decided.pictures.extend(plan.pictures);
    Ok(())
}

/// What one batch decided, gathered plan by plan.
#[derive(Default)]
struct Decided {
    acks: Vec<Ack>,
    pictures: Vec<(i64, crate::station::Picture)>,
    writes: usize,
    /// Outbox rows written, to wake the webhook threads after the commit.
    queued: usize,
    recall: bool,
}

impl<W: Write> Desk<W> {
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
                .station
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
        let mut decided = Decided::default();
        let tx = self.store.begin()?;
        decide(
            &mut self.station,
            self.lists.as_ref(),
            self.outbox,
            &tx,
            Input::Finish,
            clock::Now::read(),
            &mut decided,
        )?;
        tx.commit()?;
        self.emit(decided)?;
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
    fn store_pictures(&mut self, pending: Vec<(i64, crate::station::Picture)>) {
        if pending.is_empty() {
            return;
        }
        let mut records = Vec::with_capacity(pending.len());
        for (unit, picture) in pending {
            match evidence::encode_jpeg(&picture.crop, self.evidence_quality) {
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
        let mut decided = Decided::default();
        let tx = self.store.begin()?;
        for event in batch {
            let input = match event {
                SourceEvent::Scan(raw) => Input::Scan(raw),
                SourceEvent::Frame(frame) => {
                    if let Some(hub) = &self.hub {
                        hub.frame(&frame);
                    }
                    Input::Frame(frame)
                }
                SourceEvent::Down { source, error } => {
                    tracing::warn!(source = %source, error = %error, "scanner went away; reopening when it returns");
                    if let Some(hub) = &self.hub {
                        hub.source(&source, false, Some(error));
                    }
                    continue;
                }
                SourceEvent::Up { source } => {
                    tracing::info!(source = %source, "scanner ready");
                    if let Some(hub) = &self.hub {
                        hub.source(&source, true, None);
                    }
                    continue;
                }
                SourceEvent::End { source } => {
                    tracing::info!(source = %source, "end of input");
                    continue;
                }
            };
            decide(
                &mut self.station,
                self.lists.as_ref(),
                self.outbox,
                &tx,
                input,
                now,
                &mut decided,
            )?;
        }
        decide(
            &mut self.station,
            self.lists.as_ref(),
            self.outbox,
            &tx,
            Input::Tick,
            now,
            &mut decided,
        )?;
        if decided.writes == 0 {
            // Nothing was written; dropping the transaction rolls back an empty change.
            drop(tx);
        } else {
            tx.commit()?;
        }
        self.emit(decided)
    }

    /// After the commit: the acknowledgements, recall progress, then the pictures.
    fn emit(&mut self, decided: Decided) -> Result<(), DaemonError> {
        if decided.queued > 0
            && let Some(deliveries) = &self.deliveries
        {
            deliveries.wake();
        }
        if decided.writes > 0
            && let Some(sync) = &self.sync
        {
            sync.wake();
        }
        for ack in &decided.acks {
            match ack {
                Ack::Scan(s) => {
                    self.feedback.scan(s)?;
                    self.acknowledged += 1;
                }
                Ack::Unit(u) => self.feedback.unit(u)?,
            }
        }
        self.feedback.flush()?;
        let progress = if decided.recall {
            // Progress counts committed units, so it is read after the commit.
            let progress = self.store.recall_progress()?;
            for (list, found, expected) in &progress {
                self.feedback.progress(list, *found, *expected)?;
            }
            self.feedback.flush()?;
            progress
        } else {
            Vec::new()
        };
        // The page hears of the batch after the operator's own terminal, from the same
        // committed records; the hub never blocks, so a stuck browser cannot delay a scan.
        if let Some(hub) = &self.hub {
            let now = clock::now_ms();
            for ack in &decided.acks {
                match ack {
                    Ack::Scan(s) => hub.scan(s, (now - s.at_ms) as f64),
                    Ack::Unit(u) => hub.unit(u),
                }
            }
            for (list, found, expected) in &progress {
                hub.progress(list, *found, *expected);
            }
            hub.set_mode(self.station.mode());
        }
        self.store_pictures(decided.pictures);
        Ok(())
    }

    /// Leaves the database file self-contained after the run: the read-only list connection
    /// closes first (it cannot checkpoint), then the writer moves the WAL into the file.
    fn close(&mut self) {
        self.lists = None;
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
