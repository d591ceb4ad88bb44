//! `sync`: pushes the station's ledger to a central PostgreSQL.
//!
//! The unit of sync is the ledger (src/store/chain.rs): every row, in order, with its body (a
//! scan row's body rebuilt from `scans`) and hash. A push connects, brings the central schema up
//! to date (`central`), registers the station (its name and the store's `station.uid`), reads
//! the server's head for the station, checks that this store holds the same row there, and
//! sends the rows after it in batches, one PostgreSQL transaction each. The server's trigger
//! checks every row's place and hash again, so a gap or a broken hash is refused whatever the
//! client does.
//!
//! **Idempotent by construction:** the server's head is the truth. A batch whose commit was
//! lost (a crash, a network cut) is either committed, and the next push starts after it, or
//! not, and it is sent again whole; a row the server already holds with the same hash is
//! skipped by the trigger, so even two pushers of one store cannot duplicate anything.
//!
//! `scanstation sync --to URL` pushes once; `[sync] url` makes `run` push in the background
//! (`Background`): a thread with its own SQLite connection, woken after commits, backing off
//! from 0.5 s to 60 s while the server is away. The event loop only wakes it.

pub(crate) mod central;
pub(crate) mod lists;
pub(crate) mod query;

/// The throwaway PostgreSQL cluster of the tests, shared with `scanstation bench sync`.
#[cfg(any(test, feature = "lab"))]
#[path = "../../tests/pg.rs"]
pub(crate) mod pg;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use postgres::Client;
use postgres::config::Host;
use postgres::error::SqlState;

use crate::clock;
use crate::store::{LedgerRow, Store, StoreError};

/// An idle pusher pulls the cross-desk conflicts at most this often (after a push that sent
/// rows, at once).
const CONFLICTS_EVERY: Duration = Duration::from_secs(30);
/// After a push that sent rows, the conflicts are pulled again once this much time has passed.
const CONFLICTS_AFTER_PUSH: Duration = Duration::from_secs(5);
/// The background push gives way to the desk: while the desk committed within `QUIET`, it
/// waits before each batch until the desk has been quiet that long, but never more than
/// `MAX_DEFER` after its last batch, and then sends at most `BUSY_BATCH_ROWS`. A desk scanning
/// without a pause still gets its rows out (at least 125 rows/s, a hundred times what a person
/// scans), and an acknowledgement rarely meets a batch in flight.
const QUIET: Duration = Duration::from_millis(300);
/// A desk that committed within this is still at work (between two labels): batches stay
/// small, so the next scan meets at most a short one.
const WARM: Duration = Duration::from_secs(5);
const MAX_DEFER: Duration = Duration::from_secs(2);
const BUSY_BATCH_ROWS: usize = 250;
/// During a long push, progress is written to `sync_state` at most this often (and at its end):
/// each write takes the store's write lock, which a desk's acknowledgement may wait for.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// A pusher looks for new central list versions at most this often (and on each new connection).
const LISTS_EVERY: Duration = Duration::from_secs(5);
/// Rows per PostgreSQL transaction unless `[sync] batch_rows` says otherwise.
pub(crate) const BATCH_ROWS: usize = 2000;
/// How long a connection attempt may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// An idle background pusher looks at the ledger this often even without a wake-up.
const POLL: Duration = Duration::from_secs(1);
/// The last push at exit stops starting batches after this (the station waits about a second).
const FINAL_PUSH: Duration = Duration::from_millis(800);

/// `[sync]` as the config gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyncConfig {
    /// The server's URL, password included (it is never printed or stored).
    pub url: String,
    pub batch_rows: usize,
}

/// Why a push failed. Each names the server as `host:port/database`, never the password.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncError {
    #[error(
        "the sync URL is not a PostgreSQL URL like postgres://USER:PASSWORD@HOST:PORT/DB ({reason})"
    )]
    BadUrl { reason: String },
    #[error("cannot set up TLS for PostgreSQL")]
    Tls(#[source] rustls::Error),
    #[error("the sslrootcert file {} cannot be used: {reason}", crate::term::path(.path))]
    RootCert { path: PathBuf, reason: String },
    #[error("cannot reach PostgreSQL at {server} ({reason})")]
    Unreachable { server: String, reason: String },
    #[error("PostgreSQL at {server} refused the password for user {user}")]
    Password { server: String, user: String },
    #[error("PostgreSQL at {server} refused user {user}: {message}")]
    Denied {
        server: String,
        user: String,
        message: String,
    },
    #[error("PostgreSQL at {server} has no such database: create it first (createdb)")]
    NoDatabase { server: String },
    #[error("PostgreSQL at {server} is not a scanstation central database")]
    NotCentral {
        server: String,
        #[source]
        source: central::SchemaError,
    },
    #[error(
        "PostgreSQL at {server}: central schema {found} is newer than this scanstation's {known}: upgrade this station"
    )]
    SchemaNewer {
        server: String,
        found: i64,
        known: usize,
    },
    #[error(
        "PostgreSQL at {server}: station name '{name}' is already used by another store (uid {uid}); give this station its own [station] name"
    )]
    NameTaken {
        server: String,
        name: String,
        uid: String,
    },
    #[error(
        "PostgreSQL at {server}: this store already pushes as station '{other}', not '{name}'; keep its [station] name"
    )]
    Renamed {
        server: String,
        name: String,
        other: String,
    },
    #[error(
        "PostgreSQL at {server}: the central copy of station '{station}' differs from this store at row {seq}"
    )]
    Diverged {
        server: String,
        station: String,
        seq: i64,
    },
    #[error(
        "PostgreSQL at {server}: the central copy of station '{station}' has {central} rows, this store only {local}; was the database replaced by an older copy?"
    )]
    CentralAhead {
        server: String,
        station: String,
        central: i64,
        local: i64,
    },
    #[error(
        "row {seq} of this store's ledger does not match its hash ({reason}); nothing from it on is sent: run `scanstation verify`"
    )]
    Tampered { seq: i64, reason: &'static str },
    #[error("PostgreSQL at {server} refused the push: {message}")]
    Refused { server: String, message: String },
    #[error("lost the connection to PostgreSQL at {server}")]
    Lost {
        server: String,
        #[source]
        source: PgError,
    },
    #[error("PostgreSQL at {server}: {what} failed")]
    Db {
        server: String,
        what: &'static str,
        #[source]
        source: PgError,
    },
    #[error(
        "PostgreSQL at {server} has central schema {found}, not this scanstation's {known}: push from a station once (`scanstation sync --to URL`), which creates or brings the schema up to date"
    )]
    CentralBehind {
        server: String,
        found: i64,
        known: usize,
    },
    #[error(
        "PostgreSQL at {server}: central list '{name}' is a {stored} list and cannot take a {requested} file; remove it first (central list rm) to reuse the name"
    )]
    CentralListKind {
        server: String,
        name: String,
        stored: String,
        requested: &'static str,
    },
    #[error("the push was stopped")]
    Stopped,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What PostgreSQL said, as the cause of a sync error. `postgres::Error` prints "db error: "
/// and then chains the same server message as its source, so a printed chain would show it
/// twice; this shows the server's own severity and message (or the client's text) and ends
/// the chain there, like `store::SqliteError`.
#[derive(Debug)]
pub(crate) struct PgError(pub postgres::Error);

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_db_error() {
            Some(db) => write!(f, "{}: {}", db.severity(), db.message()),
            None => self.0.fmt(f),
        }
    }
}

impl std::error::Error for PgError {}

/// A parsed server URL and the names it is shown under.
#[derive(Clone)]
pub(crate) struct Target {
    config: postgres::Config,
    /// `host:port/database`, for messages.
    pub(crate) server: String,
    /// `postgres://user@host:port/database`: the URL without its password, the key of the
    /// server's `sync_state` row.
    pub(crate) key: String,
    user: String,
    /// The CA file of a server whose certificate a private CA signed (`sslrootcert=PATH`);
    /// `None`: the public web roots.
    root_cert: Option<PathBuf>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the config itself: it holds the password.
        f.debug_struct("Target").field("key", &self.key).finish()
    }
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Target, SyncError> {
        let lower = url.trim().to_ascii_lowercase();
        if !(lower.starts_with("postgres://") || lower.starts_with("postgresql://")) {
            return Err(SyncError::BadUrl {
                reason: "it must start with postgres:// or postgresql://".to_owned(),
            });
        }
        let (url, root_cert) = split_root_cert(url.trim());
        // The parser's message never quotes the URL, so it cannot leak the password.
        let mut config: postgres::Config =
            url.parse()
                .map_err(|e: postgres::Error| SyncError::BadUrl {
                    reason: e.to_string(),
                })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // A server that vanishes without closing the connection (a cut cable) is noticed in
        // about half a minute instead of the system's two hours.
        config.keepalives_idle(Duration::from_secs(15));
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(host)) => host.clone(),
            Some(Host::Unix(path)) => path.display().to_string(),
            None => "localhost".to_owned(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres").to_owned();
        let db = config.get_dbname().unwrap_or(&user).to_owned();
        let host_port = if host.contains(':') && !host.starts_with('[') && !host.starts_with('/') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(Target {
            root_cert,
            server: format!("{host_port}/{db}"),
            key: format!("postgres://{user}@{host_port}/{db}"),
            user,
            config,
        })
    }

    /// Connects, with TLS when the URL's `sslmode` asks for it or the server offers it.
    /// Connects for the read-only central commands: the schema must be one this binary knows
    /// and complete (a station's push creates and migrates it; reading never does).
    pub(crate) fn connect_to_read(&self) -> Result<Client, SyncError> {
        let mut client = self.connect()?;
        let server = self.server.clone();
        let has_schema: bool = client
            .query_one("SELECT to_regclass('central_schema') IS NOT NULL", &[])
            .map_err(|e| self.error("reading the central schema version", e))?
            .get(0);
        let found: i64 = if has_schema {
            client
                .query_one(
                    "SELECT coalesce(max(version), 0)::bigint FROM central_schema",
                    &[],
                )
                .map_err(|e| self.error("reading the central schema version", e))?
                .get(0)
        } else {
            0
        };
        let known = central::MIGRATIONS.len();
        if found > known as i64 {
            return Err(SyncError::SchemaNewer {
                server,
                found,
                known,
            });
        }
        if found < known as i64 {
            return Err(SyncError::CentralBehind {
                server,
                found,
                known,
            });
        }
        Ok(client)
    }

    /// Connects for a central command that writes (publishing lists): like a station's push,
    /// it creates or brings the central schema up to date first.
    pub(crate) fn connect_to_write(&self) -> Result<Client, SyncError> {
        let mut client = self.connect()?;
        self.migrate(&mut client, central::MIGRATIONS.len())?;
        Ok(client)
    }

    /// Runs the central migrations up to `upto`, with the errors an operator can act on.
    fn migrate(&self, client: &mut Client, upto: usize) -> Result<(), SyncError> {
        let server = self.server.clone();
        match central::migrate(client, upto) {
            Ok(_) => Ok(()),
            Err(central::SchemaError::Newer { found, known }) => Err(SyncError::SchemaNewer {
                server,
                found,
                known,
            }),
            Err(err @ central::SchemaError::Foreign { .. }) => Err(SyncError::NotCentral {
                server,
                source: err,
            }),
            Err(central::SchemaError::Migrate { source, .. })
            | Err(central::SchemaError::Db(source)) => {
                Err(self.error("migrating the central schema", source))
            }
        }
    }

    /// What a failed read query means (the central commands' errors).
    pub(crate) fn read_error(&self, what: &'static str, err: postgres::Error) -> SyncError {
        self.error(what, err)
    }

    fn connect(&self) -> Result<Client, SyncError> {
        self.config
            .connect(tls(self.root_cert.as_deref())?)
            .map_err(|e| self.connect_error(e))
    }

    /// What a failed connection attempt means for the operator.
    fn connect_error(&self, err: postgres::Error) -> SyncError {
        let server = self.server.clone();
        if let Some(db) = err.as_db_error() {
            let code = db.code();
            if *code == SqlState::INVALID_PASSWORD {
                return SyncError::Password {
                    server,
                    user: self.user.clone(),
                };
            }
            if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
                return SyncError::Denied {
                    server,
                    user: self.user.clone(),
                    message: db.message().to_owned(),
                };
            }
            if *code == SqlState::INVALID_CATALOG_NAME {
                return SyncError::NoDatabase { server };
            }
            return SyncError::Db {
                server,
                what: "connecting",
                source: PgError(err),
            };
        }
        match io_cause(&err) {
            Some(io) => SyncError::Unreachable {
                server,
                reason: io_reason(io),
            },
            None if err.to_string().contains("timed out") => SyncError::Unreachable {
                server,
                reason: "timed out".to_owned(),
            },
            None => SyncError::Db {
                server,
                what: "connecting",
                source: PgError(err),
            },
        }
    }

    /// What a failed statement means: a refusal by the central trigger, a lost connection, or
    /// another server error while doing `what`.
    fn error(&self, what: &'static str, err: postgres::Error) -> SyncError {
        let server = self.server.clone();
        if let Some(db) = err.as_db_error()
            && db.code().code() == central::REFUSED
        {
            return SyncError::Refused {
                server,
                message: db.message().to_owned(),
            };
        }
        if err.is_closed() || io_cause(&err).is_some() {
            return SyncError::Lost {
                server,
                source: PgError(err),
            };
        }
        if let Some(db) = err.as_db_error() {
            let code = db.code();
            // The server going down under a statement (`pg_ctl stop`, a failover) is a lost
            // connection too, not a refusal: the push is simply tried again.
            if *code == SqlState::ADMIN_SHUTDOWN
                || *code == SqlState::CRASH_SHUTDOWN
                || *code == SqlState::CANNOT_CONNECT_NOW
            {
                return SyncError::Lost {
                    server,
                    source: PgError(err),
                };
            }
        }
        SyncError::Db {
            server,
            what,
            source: PgError(err),
        }
    }
}

/// The I/O error under a client error, if the failure was the network's.
fn io_cause(err: &postgres::Error) -> Option<&std::io::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cause = c.source();
    }
    None
}

/// A short reason for an I/O failure: "connection refused", "timed out", or the system's text.
fn io_reason(io: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match io.kind() {
        K::ConnectionRefused
        | K::TimedOut
        | K::ConnectionReset
        | K::ConnectionAborted
        | K::HostUnreachable
        | K::NetworkUnreachable
        | K::AddrNotAvailable
        | K::PermissionDenied => io.kind().to_string(),
        _ => io.to_string(),
    }
}

/// The TLS connector: rustls with ring (already in the build for ureq) and the webpki roots,
/// so no system OpenSSL is needed.
/// Takes libpq's `sslrootcert=PATH` out of a URL's query, since the PostgreSQL client here does
/// not know it: the URL without it, and the path (percent-decoded). `sslrootcert=system` is
/// libpq's name for the usual roots, so it gives no path.
fn split_root_cert(url: &str) -> (String, Option<PathBuf>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut root_cert = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some(("sslrootcert", value)) => {
                let value = percent_decode(value);
                if value != "system" {
                    root_cert = Some(PathBuf::from(value));
                }
                false
            }
            _ => true,
        })
        .collect();
    if kept.is_empty() {
        (base.to_owned(), root_cert)
    } else {
        (format!("{base}?{}", kept.join("&")), root_cert)
    }
}

/// `%XX` escapes decoded; a malformed escape is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The roots a server certificate is checked against: the CA file's certificates, or the
/// public web roots.
fn roots(root_cert: Option<&Path>) -> Result<rustls::RootCertStore, SyncError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let Some(path) = root_cert else {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(roots);
    };
    let bad = |reason: String| SyncError::RootCert {
        path: path.to_owned(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert = cert.map_err(|e| bad(format!("not a PEM certificate file ({e})")))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("a certificate in it is not usable ({e})")))?;
    }
    if roots.is_empty() {
        return Err(bad("it holds no PEM certificate".to_owned()));
    }
    Ok(roots)
}

fn tls(root_cert: Option<&Path>) -> Result<tokio_postgres_rustls::MakeRustlsConnect, SyncError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = roots(root_cert)?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(SyncError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Checks a station name (`station.name`, `sync --name`): what the central tables key on.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err(format!(
            "a station name is 1 to 63 characters, not {}",
            name.len()
        ));
    }
    if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("a station name has no spaces or control characters".to_owned());
    }
    Ok(())
}

/// What one push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PushReport {
    /// The server's head for this station before the push.
    pub from_seq: i64,
    /// The server's head after it.
    pub to_seq: i64,
    /// Rows sent and stored.
    pub rows: i64,
    pub elapsed: Duration,
}

/// When the desk last committed, shared by the event loop (through `Background::wake`) and
/// the background pusher, so the push can give way to acknowledgements.
#[derive(Debug)]
pub(crate) struct Pace {
    epoch: Instant,
    /// Milliseconds after `epoch` of the last commit (0: none yet).
    last_commit_ms: AtomicU64,
}

impl Pace {
    pub(crate) fn new() -> Pace {
        Pace {
            epoch: Instant::now(),
            last_commit_ms: AtomicU64::new(0),
        }
    }

    /// Marks a commit now.
    pub(crate) fn committed(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_commit_ms.store(ms.max(1), Ordering::Relaxed);
    }

    /// Whether the desk committed within `within`.
    fn committed_within(&self, within: Duration) -> bool {
        let last = self.last_commit_ms.load(Ordering::Relaxed);
        if last == 0 {
            return false;
        }
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        now.saturating_sub(last) < within.as_millis() as u64
    }

    /// Waits while the desk is busy, at most until `MAX_DEFER` after `last_batch`; returns
    /// whether the desk is still at work (then the next batch is a small one).
    fn give_way(&self, last_batch: Instant, stop: &dyn Fn() -> bool) -> Result<bool, SyncError> {
        while self.committed_within(QUIET) {
            if last_batch.elapsed() >= MAX_DEFER {
                return Ok(true);
            }
            if stop() {
                return Err(SyncError::Stopped);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(self.committed_within(WARM))
    }
}

/// Pushes one store to one server, keeping the connection between pushes.
pub(crate) struct Pusher {
    target: Target,
    station: String,
    uid: String,
    batch_rows: usize,
    client: Option<Client>,
    /// The central migrations to run: all of them, except in tests that build an older server.
    schema: usize,
    /// When the cross-desk conflicts were last pulled.
    conflicts_pulled: Option<Instant>,
    /// When the central lists were last looked at.
    lists_pulled: Option<Instant>,
    /// The desk's commits, for a push that gives way to them (`None`: push flat out, as
    /// `sync --to` and the throughput benchmark do).
    pace: Option<Arc<Pace>>,
    /// When the last batch went out (or the push started), for `Pace::give_way`.
    last_batch: Instant,
}

impl Pusher {
    pub(crate) fn new(target: Target, station: &str, uid: &str, batch_rows: usize) -> Pusher {
        Pusher {
            target,
            station: station.to_owned(),
            uid: uid.to_owned(),
            batch_rows: batch_rows.max(1),
            client: None,
            schema: central::MIGRATIONS.len(),
            conflicts_pulled: None,
            lists_pulled: None,
            pace: None,
            last_batch: Instant::now(),
        }
    }

    /// Makes the pusher give way to the desk's commits (see `QUIET`).
    pub(crate) fn with_pace(mut self, pace: Arc<Pace>) -> Pusher {
        self.pace = Some(pace);
        self
    }

    /// How many rows the next batch may hold, after giving way to the desk if it is busy.
    fn next_batch_rows(&mut self, stop: &dyn Fn() -> bool) -> Result<usize, SyncError> {
        let Some(pace) = &self.pace else {
            return Ok(self.batch_rows);
        };
        let still_busy = pace.give_way(self.last_batch, stop)?;
        self.last_batch = Instant::now();
        Ok(if still_busy {
            self.batch_rows.min(BUSY_BATCH_ROWS)
        } else {
            self.batch_rows
        })
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    pub(crate) fn station(&self) -> &str {
        &self.station
    }

    /// Pushes every row the server does not hold yet; `stop` is asked between batches. On an
    /// error the connection is dropped, so the next push starts from a fresh connection and
    /// the server's head.
    pub(crate) fn push(
        &mut self,
        store: &mut Store,
        stop: &dyn Fn() -> bool,
    ) -> Result<PushReport, SyncError> {
        let result = self.push_inner(store, stop);
        if result.is_err() {
            self.client = None;
        }
        result
    }

    fn push_inner(
        &mut self,
        store: &mut Store,
        stop: &dyn Fn() -> bool,
    ) -> Result<PushReport, SyncError> {
        let started = Instant::now();
        let fresh = self.client.is_none();
        if fresh {
            let mut client = self.target.connect()?;
            self.prepare(&mut client)?;
            self.client = Some(client);
        }
        let (mut seq, mut prev) = self.head()?;
        let from_seq = seq;
        self.check_head(store, seq, prev.as_deref())?;
        let mut rows_sent = 0i64;
        let mut recorded = (seq, Instant::now());
        let result = self.send_after(
            store,
            stop,
            &mut seq,
            &mut prev,
            &mut rows_sent,
            &mut recorded,
        );
        // What the server acknowledged is recorded even when the push stopped on an error.
        if seq != recorded.0 {
            store.sync_pushed(&self.target.key, &self.station, seq, clock::now_ms())?;
        }
        result?;
        if rows_sent == 0 && fresh {
            // A first push with nothing to send still records that the server is reached.
            store.sync_pushed(&self.target.key, &self.station, seq, clock::now_ms())?;
        }
        // The pulls' queries cost the server more than a small batch: they give way too.
        self.next_batch_rows(stop)?;
        self.pull_conflicts(store, rows_sent > 0 || fresh)?;
        self.pull_lists(store, fresh)?;
        Ok(PushReport {
            from_seq,
            to_seq: seq,
            rows: rows_sent,
            elapsed: started.elapsed(),
        })
    }

    /// Sends the rows after (`seq`, `prev`) in batches until none are left, moving them on.
    fn send_after(
        &mut self,
        store: &Store,
        stop: &dyn Fn() -> bool,
        seq: &mut i64,
        prev: &mut Option<Vec<u8>>,
        rows_sent: &mut i64,
        recorded: &mut (i64, Instant),
    ) -> Result<(), SyncError> {
        loop {
            if stop() {
                return Err(SyncError::Stopped);
            }
            let limit = self.next_batch_rows(stop)?;
            let rows = store.ledger_rows(*seq, limit)?;
            if rows.is_empty() {
                return Ok(());
            }
            let (good, bad) = checked(&rows, *seq, prev.as_deref());
            // The rows before a bad one are sound: they go out, so the server holds all that
            // can be trusted, and the error names the first that cannot.
            if let Some(last) = good.last() {
                self.send(good)?;
                *rows_sent += good.len() as i64;
                (*seq, *prev) = (last.seq, Some(last.hash.clone()));
                if recorded.1.elapsed() >= PROGRESS_EVERY {
                    store.sync_pushed(&self.target.key, &self.station, *seq, clock::now_ms())?;
                    *recorded = (*seq, Instant::now());
                }
            }
            if let Some(bad) = bad {
                return Err(bad);
            }
        }
    }

    /// Brings the store's copy of the cross-desk conflicts up to date, so the station can tell
    /// the next operator who records either side (`station`, through its lookups). It runs
    /// after a push that sent rows or opened a connection, and otherwise at most every
    /// `CONFLICTS_EVERY`, since the query reads every desk's identifiers.
    fn pull_conflicts(&mut self, store: &Store, changed: bool) -> Result<(), SyncError> {
        // A server kept at an older schema (only in tests) has no content tables to read.
        if self.schema < central::MIGRATIONS.len() {
            return Ok(());
        }
        // The query reads every desk's identifiers, which costs the server far more than a
        // push of a few rows: after a push that sent rows it waits `CONFLICTS_AFTER_PUSH`, so a
        // desk scanning steadily does not run it once per scan.
        let wait = if changed {
            CONFLICTS_AFTER_PUSH
        } else {
            CONFLICTS_EVERY
        };
        if self.conflicts_pulled.is_some_and(|at| at.elapsed() < wait) {
            return Ok(());
        }
        let target = self.target.clone();
        let client = self.client()?;
        let conflicts = query::conflicts(client)
            .map_err(|e| target.error("reading cross-desk conflicts", e))?;
        let rows: Vec<(String, String, String)> = conflicts
            .into_iter()
            .map(|c| {
                let units: Vec<String> = c
                    .units
                    .iter()
                    .map(|u| {
                        format!(
                            "{} unit {} ({} {})",
                            u.station,
                            u.unit,
                            if c.kind == "imei" { "serial" } else { "imei" },
                            u.others.join(", ")
                        )
                    })
                    .collect();
                (c.kind, c.key, units.join("; "))
            })
            .collect();
        store.replace_cross_desk(&rows, clock::now_ms())?;
        self.conflicts_pulled = Some(Instant::now());
        Ok(())
    }

    /// Takes the central lists' versions this station does not hold (see `lists`): on a new
    /// connection, and otherwise at most every `LISTS_EVERY`, so a list published centrally
    /// reaches an idle desk within seconds without a query after every scan.
    fn pull_lists(&mut self, store: &mut Store, fresh: bool) -> Result<(), SyncError> {
        if self.schema < central::MIGRATIONS.len() {
            return Ok(());
        }
        if !fresh
            && self
                .lists_pulled
                .is_some_and(|at| at.elapsed() < LISTS_EVERY)
        {
            return Ok(());
        }
        let target = self.target.clone();
        let station = self.station.clone();
        let client = self.client()?;
        lists::pull(client, &target, &station, store)?;
        self.lists_pulled = Some(Instant::now());
        Ok(())
    }

    fn client(&mut self) -> Result<&mut Client, SyncError> {
        self.client.as_mut().ok_or_else(|| SyncError::Unreachable {
            server: self.target.server.clone(),
            reason: "not connected".to_owned(),
        })
    }

    /// On a new connection: migrates the central schema and registers the station, refusing a
    /// name another store holds.
    fn prepare(&self, client: &mut Client) -> Result<(), SyncError> {
        let server = self.target.server.clone();
        self.target.migrate(client, self.schema)?;
        let err = |e| self.target.error("registering the station", e);
        let mut tx = client.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO stations (name, uid) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&self.station, &self.uid],
        )
        .map_err(err)?;
        let holder = tx
            .query_opt("SELECT uid FROM stations WHERE name = $1", &[&self.station])
            .map_err(err)?;
        match holder {
            Some(row) => {
                let uid: String = row.get(0);
                if uid != self.uid {
                    return Err(SyncError::NameTaken {
                        server,
                        name: self.station.clone(),
                        uid,
                    });
                }
            }
            None => {
                // The insert was skipped for the uid: this store is known under another name.
                let other: Option<String> = tx
                    .query_opt("SELECT name FROM stations WHERE uid = $1", &[&self.uid])
                    .map_err(err)?
                    .map(|r| r.get(0));
                return Err(SyncError::Renamed {
                    server,
                    name: self.station.clone(),
                    other: other.unwrap_or_default(),
                });
            }
        }
        tx.commit().map_err(err)?;
        Ok(())
    }

    /// The server's head for this station.
    fn head(&mut self) -> Result<(i64, Option<Vec<u8>>), SyncError> {
        let station = self.station.clone();
        let row = self
            .client()?
            .query_one(
                "SELECT head_seq, head_hash FROM stations WHERE name = $1",
                &[&station],
            )
            .map_err(|e| self.target.error("reading the station's head", e))?;
        Ok((row.get(0), row.get(1)))
    }

    /// The server's head must be a row of this store, with the same hash.
    fn check_head(&self, store: &Store, seq: i64, hash: Option<&[u8]>) -> Result<(), SyncError> {
        if seq == 0 {
            return Ok(());
        }
        match store.ledger_hash(seq)? {
            Some(local) if Some(local.as_slice()) == hash => Ok(()),
            Some(_) => Err(SyncError::Diverged {
                server: self.target.server.clone(),
                station: self.station.clone(),
                seq,
            }),
            None => Err(SyncError::CentralAhead {
                server: self.target.server.clone(),
                station: self.station.clone(),
                central: seq,
                local: store.ledger_head()?.0,
            }),
        }
    }

    /// One batch in one transaction, one statement: the rows as arrays, inserted in order.
    fn send(&mut self, rows: &[LedgerRow]) -> Result<(), SyncError> {
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
        let refs: Vec<i64> = rows.iter().map(|r| r.ref_id).collect();
        let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
        let bodies: Vec<&str> = rows
            .iter()
            .map(|r| r.body.as_deref().unwrap_or(""))
            .collect();
        let hashes: Vec<&[u8]> = rows.iter().map(|r| r.hash.as_slice()).collect();
        let station = self.station.clone();
        let target = self.target.clone();
        let client = self.client()?;
        let err = |e| target.error("sending ledger rows", e);
        let mut tx = client.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO ledger (station, seq, kind, ref_id, event, body, hash)
             SELECT $1, r.seq, r.kind, r.ref_id, r.event, r.body, r.hash
             FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bytea[])
                 WITH ORDINALITY AS r(seq, kind, ref_id, event, body, hash, n)
             ORDER BY r.n",
            &[&station, &seqs, &kinds, &refs, &events, &bodies, &hashes],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(())
    }
}

/// The rows of `rows` that chain on the server's head (`seq`, `prev`), up to the first that
/// does not, and the error for that one: the `verify`-like check a push runs on what it sends.
fn checked<'r>(
    rows: &'r [LedgerRow],
    seq: i64,
    prev: Option<&[u8]>,
) -> (&'r [LedgerRow], Option<SyncError>) {
    let zero = [0u8; 32];
    let mut chain_prev: &[u8] = prev.unwrap_or(&zero);
    for (i, (expect, row)) in (seq + 1..).zip(rows).enumerate() {
        let reason = if row.seq != expect {
            Some("the row before it is missing")
        } else if row.body.is_none() {
            Some("the scan it chains is missing")
        } else if !row.chains_on(chain_prev) {
            Some("its content or the row before it was changed")
        } else {
            None
        };
        if let Some(reason) = reason {
            return (
                &rows[..i],
                Some(SyncError::Tampered {
                    seq: row.seq,
                    reason,
                }),
            );
        }
        chain_prev = &row.hash;
    }
    (rows, None)
}

/// `scanstation sync --to URL`: one push of everything the server does not hold; a failure is
/// recorded in `sync_state` (shown by `sync status`) and returned.
pub(crate) fn push_once(
    db: &Path,
    url: &str,
    station: &str,
    batch_rows: usize,
) -> Result<(Target, PushReport), SyncError> {
    let target = Target::parse(url)?;
    let mut store = Store::open_for_delivery(db)?;
    let uid = store.station_uid()?;
    let mut pusher = Pusher::new(target.clone(), station, &uid, batch_rows);
    match pusher.push(&mut store, &|| false) {
        Ok(report) => Ok((target, report)),
        Err(err) => {
            let message = crate::error::Chain(&err).to_string();
            if let Err(record) =
                store.sync_failed(&target.key, station, &message, clock::now_ms(), None)
            {
                tracing::warn!(error = %crate::error::Chain(&record), "cannot record the failed push");
            }
            Err(err)
        }
    }
}

/// The background pusher of `run`.
pub(crate) struct Background {
    /// A wake-up after a commit; dropping it tells the thread to stop.
    wake: SyncSender<()>,
    handle: JoinHandle<()>,
    key: String,
    pace: Arc<Pace>,
}

/// Errors that keep the background pusher from starting.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error("sync.url")]
    Url(#[source] SyncError),
    #[error("cannot start the sync thread")]
    Thread(#[source] std::io::Error),
}

/// Starts the background pusher with its own connection to `db`.
pub(crate) fn start(
    db: &Path,
    config: &SyncConfig,
    station: &str,
    uid: &str,
) -> Result<Background, StartError> {
    let target = Target::parse(&config.url).map_err(StartError::Url)?;
    let key = target.key.clone();
    let (wake, woken) = sync_channel::<()>(1);
    let pace = Arc::new(Pace::new());
    let job = Job {
        db: db.to_owned(),
        pusher: Pusher::new(target, station, uid, config.batch_rows).with_pace(Arc::clone(&pace)),
    };
    let handle = std::thread::Builder::new()
        .name("sync".to_owned())
        .spawn(move || job.run(&woken))
        .map_err(StartError::Thread)?;
    Ok(Background {
        wake,
        handle,
        key,
        pace,
    })
}

impl Background {
    /// Tells the thread that new rows are committed; never blocks.
    pub(crate) fn wake(&self) {
        self.pace.committed();
        let _ = self.wake.try_send(());
    }

    /// Stops the thread, waiting at most `grace`. A batch still in flight then is abandoned:
    /// its PostgreSQL transaction rolls back when the process exits, and the next push sends
    /// it again.
    pub(crate) fn stop(self, grace: Duration) {
        let deadline = Instant::now() + grace;
        drop(self.wake);
        while !self.handle.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.handle.is_finished() {
            if self.handle.join().is_err() {
                tracing::error!(url = %self.key, "the sync thread panicked");
            }
        } else {
            tracing::warn!(url = %self.key, "a sync push was still in progress at exit; it is sent again at the next start");
        }
    }
}

struct Job {
    db: PathBuf,
    pusher: Pusher,
}

/// Whether the thread was told to stop (the sender is gone). A wake-up taken here is not lost:
/// the loop pushes until the ledger is caught up before it waits again.
fn stopped(woken: &Receiver<()>) -> bool {
    matches!(woken.try_recv(), Err(TryRecvError::Disconnected))
}

/// Sleeps `time` unless told to stop (wake-ups do not cut a backoff short); true on stop.
fn sleep_or_stop(woken: &Receiver<()>, time: Duration) -> bool {
    let deadline = Instant::now() + time;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        if let Err(RecvTimeoutError::Disconnected) = woken.recv_timeout(left) {
            return true;
        }
    }
}

impl Job {
    fn run(mut self, woken: &Receiver<()>) {
        let url = self.pusher.target().key.clone();
        let station = self.pusher.station().to_owned();
        let mut store = match Store::open_for_delivery(&self.db) {
            Ok(store) => store,
            Err(err) => {
                tracing::error!(url = %url, error = %crate::error::Chain(&err), "cannot open the database for sync; nothing is pushed in this run");
                return;
            }
        };
        let mut failures: u32 = 0;
        let mut last_message = String::new();
        loop {
            if stopped(woken) {
                return;
            }
            match self.pusher.push(&mut store, &|| stopped(woken)) {
                Ok(report) => {
                    if failures > 0 {
                        tracing::info!(url = %url, station = %station, failed_attempts = failures, head = report.to_seq, "central server is back; pushing again");
                    } else if report.rows > 0 {
                        tracing::debug!(url = %url, rows = report.rows, head = report.to_seq, "pushed");
                    }
                    failures = 0;
                    last_message.clear();
                    match woken.recv_timeout(POLL) {
                        Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => {
                            // The station is closing: the rows of its last commits go out if
                            // the server takes them within the grace; what does not is sent
                            // at the next start.
                            self.final_push(&mut store);
                            return;
                        }
                    }
                }
                Err(SyncError::Stopped) => {
                    // Stopped between batches, or while giving way to the desk: the desk is
                    // closing, so what it committed last goes out now, within the grace.
                    self.final_push(&mut store);
                    return;
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    let message = crate::error::Chain(&err).to_string();
                    // Once per outage, and again only when the reason changes.
                    if message != last_message {
                        tracing::warn!(url = %url, station = %station, error = %message, "cannot push to the central server; retrying with backoff (logged again when it is back)");
                        last_message = message.clone();
                    }
                    let delay = crate::webhook::backoff_ms(failures, crate::webhook::jitter());
                    let now = clock::now_ms();
                    let next = now.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
                    if let Err(record) =
                        store.sync_failed(&url, &station, &message, now, Some(next))
                    {
                        tracing::warn!(url = %url, error = %crate::error::Chain(&record), "cannot record a failed push");
                    }
                    if sleep_or_stop(woken, Duration::from_millis(delay)) {
                        return;
                    }
                }
            }
        }
    }
}

impl Job {
    /// One last push at exit, given up between batches after `FINAL_PUSH`.
    fn final_push(&mut self, store: &mut Store) {
        let deadline = Instant::now() + FINAL_PUSH;
        // No acknowledgement is left to give way to.
        self.pusher.pace = None;
        if let Err(err) = self.pusher.push(store, &|| Instant::now() > deadline)
            && !matches!(err, SyncError::Stopped)
        {
            tracing::debug!(error = %crate::error::Chain(&err), "the last push at exit failed");
        }
    }
}

#[cfg(test)]
mod tests;
