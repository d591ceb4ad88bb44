//! `webhook`: delivers committed events from the outbox to each configured receiver.
//!
//! The event loop only inserts outbox rows (in the transaction of their unit or scan) and wakes
//! the delivery threads after the commit; it never waits on a receiver. Each webhook has one
//! thread with its own SQLite connection, which POSTs the rows of the kinds it wants in outbox
//! id order, one at a time, and moves its cursor only on a 2xx answer. Anything else is retried
//! with exponential backoff, so a receiver sees every event at least once and in order; the
//! idempotency key (station id and outbox id) is the same on every retry and after a restart.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock;
use crate::store::{OutboxRow, Store};

/// A validated webhook: where committed events are POSTed, and how.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct WebhookConfig {
    /// An `http://` or `https://` URL.
    pub url: String,
    pub events: crate::store::OutboxKinds,
    /// The HMAC-SHA256 key of `X-Scanstation-Signature`; never printed or logged.
    pub secret: Option<String>,
    /// How long one delivery may take, connect to answer.
    pub timeout_ms: u64,
}

/// The secret is left out, so a config printed for debugging never shows it.
impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &self.secret.as_ref().map(|_| "(set)"))
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// The first retry waits this long; each failure doubles it.
pub(crate) const BACKOFF_MIN_MS: u64 = 500;
/// Retries never wait longer than this.
pub(crate) const BACKOFF_MAX_MS: u64 = 60_000;
/// An idle thread looks at the outbox this often even without a wake-up (a safety net; the
/// event loop wakes it after every commit that queued rows).
const POLL: Duration = Duration::from_secs(1);

/// Errors that keep deliveries from starting.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WebhookError {
    #[error("webhook {url}: cannot start its delivery thread")]
    Thread { url: String, source: std::io::Error },
}

/// Why one delivery attempt failed; stored as the webhook's last error and logged once per
/// outage.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeliveryError {
    #[error("the receiver answered {status} {text}")]
    Status { status: u16, text: String },
    #[error(transparent)]
    Transport(Box<ureq::Transport>),
    #[error("cannot sign the body")]
    Sign(#[source] hmac::digest::InvalidLength),
}

/// `sha256=` and the lowercase hex HMAC-SHA256 of `body` under `secret`: the value of
/// `X-Scanstation-Signature`.
pub(crate) fn signature(secret: &[u8], body: &[u8]) -> Result<String, hmac::digest::InvalidLength> {
    use hmac::Mac;
    // HMAC takes keys of any length, so this never fails; the error is passed on rather than
    // unwrapped all the same.
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret)?;
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    Ok(out)
}

/// How long to wait after the `failures`-th failure in a row (1 for the first): 0.5 s doubling
/// to 60 s, less up to a fifth at random (`jitter` in 0..1), so stations that lost one
/// receiver together do not all retry in the same instant.
pub(crate) fn backoff_ms(failures: u32, jitter: f64) -> u64 {
    let doublings = failures.saturating_sub(1).min(30);
    let base = BACKOFF_MIN_MS
        .saturating_mul(1u64 << doublings)
        .min(BACKOFF_MAX_MS);
    let cut = (base as f64 * 0.2 * jitter.clamp(0.0, 1.0)) as u64;
    base - cut.min(base)
}

/// A number in 0..1 for the jitter; from the clock, mixed, if the system has no randomness.
/// The sync thread's backoff uses it too.
pub(crate) fn jitter() -> f64 {
    let bits = getrandom::u64().unwrap_or_else(|_| {
        clock::now_ms()
            .unsigned_abs()
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
    });
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The `Idempotency-Key` of an outbox row: unique per database and row, the same on every try.
pub(crate) fn idempotency_key(station_uid: &str, id: i64) -> String {
    format!("{station_uid}-{id}")
}

/// The running delivery threads.
pub(crate) struct Deliveries {
    workers: Vec<Worker>,
}

struct Worker {
    url: String,
    /// A wake-up after a commit; dropping it tells the thread to stop.
    wake: SyncSender<()>,
    handle: JoinHandle<()>,
}

/// A URL, or a message quoting URLs (ureq's errors quote the URL, re-encoded), as it may be
/// shown: a password in a URL (`https://user:secret@host/`) becomes `***`, so `webhooks
/// status`, the log and stored errors never print a credential from the config.
pub(crate) fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(after.len());
        let (authority, tail) = after.split_at(end);
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                match userinfo.split_once(':') {
                    Some((user, _)) => out.push_str(&format!("{user}:***@{host}")),
                    None => out.push_str(authority),
                };
            }
            None => out.push_str(authority),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Starts one delivery thread per webhook, each with its own connection to `db`. The daemon has
/// registered every webhook's cursor before this, so the threads only read and move them.
pub(crate) fn start(
    db: &Path,
    hooks: &[WebhookConfig],
    station_uid: &str,
) -> Result<Deliveries, WebhookError> {
    let urls: Arc<Vec<String>> = Arc::new(hooks.iter().map(|h| h.url.clone()).collect());
    let mut workers = Vec::with_capacity(hooks.len());
    for hook in hooks {
        // One slot is enough: a wake-up already waiting covers every later commit.
        let (wake, woken) = sync_channel::<()>(1);
        let job = Job {
            db: db.to_owned(),
            hook: hook.clone(),
            station_uid: station_uid.to_owned(),
            all_urls: Arc::clone(&urls),
        };
        let handle = std::thread::Builder::new()
            .name(format!("webhook {}", redact_url(&hook.url)))
            .spawn(move || job.run(&woken))
            .map_err(|source| WebhookError::Thread {
                url: redact_url(&hook.url),
                source,
            })?;
        workers.push(Worker {
            url: hook.url.clone(),
            wake,
            handle,
        });
    }
    Ok(Deliveries { workers })
}

impl Deliveries {
    /// Tells every thread that new rows are committed; never blocks.
    pub(crate) fn wake(&self) {
        for worker in &self.workers {
            let _ = worker.wake.try_send(());
        }
    }

    /// Stops the threads, waiting at most `grace` for them. A thread still inside a request
    /// then is left to end with the process: its row stays undelivered in the outbox and goes
    /// out again at the next start, with the same idempotency key.
    pub(crate) fn stop(self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let mut pending: Vec<(String, JoinHandle<()>)> = self
            .workers
            .into_iter()
            .map(|w| {
                drop(w.wake);
                (w.url, w.handle)
            })
            .collect();
        while !pending.is_empty() && Instant::now() < deadline {
            let (done, busy): (Vec<_>, Vec<_>) =
                pending.into_iter().partition(|(_, h)| h.is_finished());
            for (url, handle) in done {
                if handle.join().is_err() {
                    tracing::error!(url = %redact_url(&url), "the webhook delivery thread panicked");
                }
            }
            pending = busy;
            if !pending.is_empty() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        for (url, _) in pending {
            tracing::warn!(url = %redact_url(&url), "a webhook delivery was still in progress at exit; it is sent again at the next start");
        }
    }
}

/// One webhook's delivery loop.
struct Job {
    db: PathBuf,
    hook: WebhookConfig,
    station_uid: String,
    /// Every configured URL, to delete the rows all of them have delivered.
    all_urls: Arc<Vec<String>>,
}

/// What a wait ended with.
enum Waited {
    Woken,
    Stop,
}

/// Waits up to `time` for a wake-up; a dropped sender means stop.
fn wait(woken: &Receiver<()>, time: Duration) -> Waited {
    match woken.recv_timeout(time) {
        Ok(()) | Err(RecvTimeoutError::Timeout) => Waited::Woken,
        Err(RecvTimeoutError::Disconnected) => Waited::Stop,
    }
}

/// Sleeps `time` unless told to stop; wake-ups do not cut a backoff short.
fn sleep_unless_stopped(woken: &Receiver<()>, time: Duration) -> Waited {
    let deadline = Instant::now() + time;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Waited::Woken;
        }
        if let Waited::Stop = wait(woken, left) {
            return Waited::Stop;
        }
    }
}

impl Job {
    fn run(self, woken: &Receiver<()>) {
        let url = self.hook.url.as_str();
        // What the log and the stored errors show of the URL.
        let shown = redact_url(url);
        let store = match Store::open_for_delivery(&self.db) {
            Ok(store) => store,
            Err(err) => {
                tracing::error!(url = %shown, error = %crate::error::Chain(&err), "cannot open the database for webhook deliveries; nothing is delivered to this webhook in this run (the outbox keeps every event)");
                return;
            }
        };
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_millis(self.hook.timeout_ms))
            // A redirect is not a delivery: following it would re-send the body to wherever
            // the answer points, so a 3xx counts as a failure like any other non-2xx.
            .redirects(0)
            .user_agent(concat!("scanstation/", env!("CARGO_PKG_VERSION")))
            .build();
        let mut cursor = match store.webhook_register(url, clock::now_ms()) {
            Ok(cursor) => cursor,
            Err(err) => {
                tracing::error!(url = %shown, error = %crate::error::Chain(&err), "cannot read the webhook's delivery state; nothing is delivered to it in this run");
                return;
            }
        };
        let mut failures: u32 = 0;
        let mut delivered_since_prune = false;
        loop {
            // A stop is seen between two deliveries too, not only while idle, so a long backlog
            // does not keep the station from exiting.
            if let Err(TryRecvError::Disconnected) = woken.try_recv() {
                return;
            }
            let row = match store.outbox_next(cursor, self.hook.events) {
                Ok(row) => row,
                Err(err) => {
                    tracing::error!(url = %shown, error = %crate::error::Chain(&err), "cannot read the webhook outbox; trying again");
                    match sleep_unless_stopped(woken, POLL) {
                        Waited::Stop => return,
                        Waited::Woken => continue,
                    }
                }
            };
            let Some(row) = row else {
                if delivered_since_prune {
                    delivered_since_prune = false;
                    let urls: Vec<&str> = self.all_urls.iter().map(String::as_str).collect();
                    if let Err(err) = store.outbox_prune(&urls) {
                        tracing::warn!(error = %crate::error::Chain(&err), "cannot delete delivered webhook rows; they are deleted later");
                    }
                }
                match wait(woken, POLL) {
                    Waited::Stop => return,
                    Waited::Woken => continue,
                }
            };
            match self.post(&agent, &row) {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(url = %shown, failed_attempts = failures, "webhook receiver is back; delivering again");
                    }
                    failures = 0;
                    cursor = row.id;
                    delivered_since_prune = true;
                    if let Err(err) = store.webhook_delivered(url, row.id, clock::now_ms()) {
                        // The next row goes out all the same; after a restart this one may be
                        // sent again, which at-least-once allows.
                        tracing::warn!(url = %shown, error = %crate::error::Chain(&err), "cannot record a webhook delivery");
                    }
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    // ureq's errors quote the URL, credentials included.
                    let message = redact_url(&crate::error::Chain(&err).to_string());
                    if failures == 1 {
                        tracing::warn!(url = %shown, delivery = row.id, error = %message, "webhook receiver is not taking deliveries; retrying with backoff (logged again when it is back)");
                    }
                    let delay = backoff_ms(failures, jitter());
                    let now = clock::now_ms();
                    let next = now.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
                    if let Err(err) = store.webhook_failed(url, &message, now, next) {
                        tracing::warn!(url = %shown, error = %crate::error::Chain(&err), "cannot record a failed webhook delivery");
                    }
                    if let Waited::Stop = sleep_unless_stopped(woken, Duration::from_millis(delay))
                    {
                        return;
                    }
                }
            }
        }
    }

    /// POSTs one row; `Ok` only for a 2xx answer.
    fn post(&self, agent: &ureq::Agent, row: &OutboxRow) -> Result<(), DeliveryError> {
        let mut request = agent
            .post(&self.hook.url)
            .set("Content-Type", "application/json")
            .set(
                "Idempotency-Key",
                &idempotency_key(&self.station_uid, row.id),
            )
            .set("X-Scanstation-Event", &row.kind)
            .set("X-Scanstation-Delivery", &row.id.to_string());
        if let Some(secret) = &self.hook.secret {
            let signed =
                signature(secret.as_bytes(), row.body.as_bytes()).map_err(DeliveryError::Sign)?;
            request = request.set("X-Scanstation-Signature", &signed);
        }
        match request.send_string(&row.body) {
            Ok(response) if (200..300).contains(&response.status()) => Ok(()),
            Ok(response) | Err(ureq::Error::Status(_, response)) => Err(DeliveryError::Status {
                status: response.status(),
                text: response.status_text().to_owned(),
            }),
            Err(ureq::Error::Transport(transport)) => {
                Err(DeliveryError::Transport(Box::new(transport)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_a_url_is_never_shown() {
        for (url, shown) in [
            (
                "https://user:s3cret@hooks.example/x?y=1",
                "https://user:***@hooks.example/x?y=1",
            ),
            ("http://user@host:8080/p", "http://user@host:8080/p"),
            ("http://host/p@q", "http://host/p@q"),
            ("http://a:b:c@host", "http://a:***@host"),
            ("http://a:b@c@host/", "http://a:***@host/"),
            ("not a url", "not a url"),
            (
                "http://u:p%40ss@h:1/%1B[31m: Connection Failed: see https://x:y@z/",
                "http://u:***@h:1/%1B[31m: Connection Failed: see https://x:***@z/",
            ),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    /// RFC 4231 test cases 1 and 2, and the header's form.
    #[test]
    fn signatures_are_hmac_sha256_in_lowercase_hex() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?").expect("sign"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            signature(&[0x0b; 20], b"Hi There").expect("sign"),
            "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Keys longer than the block size are hashed first; any length works.
        let long = signature(&[0xaa; 131], b"x").expect("long key");
        assert_eq!(long.len(), 7 + 64);
        assert_ne!(
            signature(b"a", b"body").expect("a"),
            signature(b"b", b"body").expect("b")
        );
    }

    #[test]
    fn backoff_doubles_from_half_a_second_to_a_minute() {
        let schedule: Vec<u64> = (1..=10).map(|n| backoff_ms(n, 0.0)).collect();
        assert_eq!(
            schedule,
            [
                500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000
            ]
        );
        assert_eq!(backoff_ms(0, 0.0), 500, "a zero count is the first wait");
        assert_eq!(backoff_ms(u32::MAX, 0.0), 60_000, "no overflow");
        // Jitter only shortens a wait, by at most a fifth, so the maximum holds.
        for n in 1..=12 {
            for jitter in [0.0, 0.25, 0.5, 0.999, 1.0, -3.0, 7.0] {
                let wait = backoff_ms(n, jitter);
                let base = backoff_ms(n, 0.0);
                assert!(
                    wait <= base && wait >= base - base / 5,
                    "{n} {jitter}: {wait}"
                );
                assert!(wait <= BACKOFF_MAX_MS);
            }
        }
        assert_eq!(backoff_ms(1, 1.0), 400);
        let j = jitter();
        assert!((0.0..1.0).contains(&j), "{j}");
    }

    #[test]
    fn idempotency_keys_name_the_station_and_the_row() {
        assert_eq!(idempotency_key("ab12", 7), "ab12-7");
        assert_ne!(idempotency_key("ab12", 7), idempotency_key("ab13", 7));
    }
}
