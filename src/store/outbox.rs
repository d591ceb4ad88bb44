//! The webhook outbox: committed events waiting to be POSTed, and how far each webhook got.
//!
//! **Invariant:** an outbox row is written in the same transaction as the unit or scan it
//! describes (`Tx::outbox_add`, called by the daemon's `write_plan`), so a row exists exactly
//! when its event was committed; delivery reads the rows afterwards on its own connection.

use std::path::Path;

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, Tx};

/// Which kinds of committed events someone wants: a webhook's `events`, or what the outbox
/// must hold for all configured webhooks together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxKinds {
    pub unit: bool,
    pub scan: bool,
}

impl OutboxKinds {
    /// Units only: the default of a webhook.
    pub const UNITS: OutboxKinds = OutboxKinds {
        unit: true,
        scan: false,
    };
    /// Every kind.
    pub const ALL: OutboxKinds = OutboxKinds {
        unit: true,
        scan: true,
    };

    /// The names, as written in the config and sent in `X-Scanstation-Event`.
    pub fn names(self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.unit {
            names.push("unit");
        }
        if self.scan {
            names.push("scan");
        }
        names
    }

    /// Both sets together.
    pub fn union(self, other: OutboxKinds) -> OutboxKinds {
        OutboxKinds {
            unit: self.unit || other.unit,
            scan: self.scan || other.scan,
        }
    }

    pub fn any(self) -> bool {
        self.unit || self.scan
    }
}

/// One committed event waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    /// `unit` or `scan`.
    pub kind: String,
    /// Exactly the `run --json` line of the event.
    pub body: String,
    pub created_ms: i64,
}

/// Where one webhook's deliveries stand, for `scanstation webhooks status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookStatus {
    pub url: String,
    /// False for a configured webhook that no station has started yet.
    pub known: bool,
    /// The outbox id delivered up to (every wanted row up to it was answered 2xx).
    pub delivered_to: i64,
    /// Rows of the wanted kinds not yet delivered.
    pub backlog: i64,
    pub oldest_undelivered_ms: Option<i64>,
    /// Failed attempts since the last success.
    pub attempts: i64,
    pub last_error: Option<String>,
    pub last_attempt_ms: Option<i64>,
    pub last_success_ms: Option<i64>,
    pub next_attempt_ms: Option<i64>,
}

/// The SQL condition on `kind` for a set of kinds, with `?N` and `?N+1` bound to the flags.
fn kind_filter(first: usize) -> String {
    format!(
        "((?{first} AND kind = 'unit') OR (?{} AND kind = 'scan'))",
        first + 1
    )
}

impl Tx<'_> {
    /// Queues one committed event for the webhooks, in this batch's transaction.
    pub fn outbox_add(&self, kind: &str, body: &str, created_ms: i64) -> Result<(), StoreError> {
        self.tx
            .execute(
                "INSERT INTO outbox (kind, body, created_ms) VALUES (?1, ?2, ?3)",
                params![kind, body, created_ms],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

impl Store {
    /// Opens the store for a delivery thread: a connection of its own beside the station's
    /// writer. Its commits (cursor moves, attempts) skip the fsync (`synchronous=NORMAL`, still
    /// atomic in WAL mode), so they hold the write lock for as short a time as possible and
    /// never make the desk wait on a disk flush; a cursor move lost to a power cut only means
    /// that row is delivered again, which at-least-once allows.
    pub fn open_for_delivery(path: &Path) -> Result<Store, StoreError> {
        let store = Store::open(path)?;
        store
            .conn
            .execute_batch("PRAGMA synchronous=NORMAL;")
            .map_err(|e| store.query_err(e))?;
        Ok(store)
    }

    /// Whether the database has the outbox (schema 8 or later); a read-only store of an older
    /// schema is not migrated.
    pub fn has_outbox(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.query_err(e))
    }

    /// This database's own id, which makes idempotency keys unique across stations.
    pub fn station_uid(&self) -> Result<String, StoreError> {
        self.conn
            .query_row("SELECT uid FROM station WHERE id = 1", [], |r| r.get(0))
            .map_err(|e| self.query_err(e))
    }

    /// Starts keeping a webhook's cursor if none is kept yet, and returns it.
    ///
    /// A webhook seen for the first time starts after every row already in the outbox: it
    /// receives the events committed from now on, not a history written for other receivers.
    pub fn webhook_register(&self, url: &str, now_ms: i64) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO webhook_state (url, delivered_to, added_ms)
                 VALUES (?1, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0), ?2)",
                params![url, now_ms],
            )
            .map_err(|e| self.query_err(e))?;
        self.conn
            .query_row(
                "SELECT delivered_to FROM webhook_state WHERE url = ?1",
                params![url],
                |r| r.get(0),
            )
            .map_err(|e| self.query_err(e))
    }

    /// Deletes the rows every one of `urls` has delivered (or skipped as a kind it does not
    /// want), returning how many went. With no URL nothing is deleted: a webhook configured
    /// again later resumes from its cursor.
    pub fn outbox_prune(&self, urls: &[&str]) -> Result<usize, StoreError> {
        let mut low: Option<i64> = None;
        for url in urls {
            let cursor: Option<i64> = self
                .conn
                .query_row(
                    "SELECT delivered_to FROM webhook_state WHERE url = ?1",
                    params![url],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.query_err(e))?;
            // A webhook without state starts after every row, so it holds nothing back.
            if let Some(cursor) = cursor {
                low = Some(low.map_or(cursor, |l| l.min(cursor)));
            }
        }
        match low {
            None => Ok(0),
            Some(low) => self
                .conn
                .execute("DELETE FROM outbox WHERE id <= ?1", params![low])
                .map_err(|e| self.query_err(e)),
        }
    }

    /// The first row after `after` of the wanted kinds, if any.
    pub fn outbox_next(
        &self,
        after: i64,
        kinds: OutboxKinds,
    ) -> Result<Option<OutboxRow>, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT id, kind, body, created_ms FROM outbox WHERE id > ?1 AND {} ORDER BY id LIMIT 1",
                    kind_filter(2)
                ),
                params![after, kinds.unit, kinds.scan],
                |r| {
                    Ok(OutboxRow {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        body: r.get(2)?,
                        created_ms: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.query_err(e))
    }

    /// Moves a webhook's cursor to `id` after a 2xx answer and clears its failures.
    pub fn webhook_delivered(&self, url: &str, id: i64, now_ms: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE webhook_state SET delivered_to = MAX(delivered_to, ?2), attempts = 0,
                     last_error = NULL, last_attempt_ms = ?3, last_success_ms = ?3,
                     next_attempt_ms = NULL
                 WHERE url = ?1",
                params![url, id, now_ms],
            )
            .map(|_| ())
            .map_err(|e| self.query_err(e))
    }

    /// Records a failed attempt and when the next one is due.
    pub fn webhook_failed(
        &self,
        url: &str,
        error: &str,
        now_ms: i64,
        next_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE webhook_state SET attempts = attempts + 1, last_error = ?2,
                     last_attempt_ms = ?3, next_attempt_ms = ?4
                 WHERE url = ?1",
                params![url, error, now_ms, next_ms],
            )
            .map(|_| ())
            .map_err(|e| self.query_err(e))
    }

    /// Every URL with delivery state, in the order they were first configured.
    pub fn webhook_urls(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT url FROM webhook_state ORDER BY added_ms, url")
            .map_err(|e| self.query_err(e))?;
        let rows = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| self.query_err(e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| self.query_err(e))
    }

    /// Where each webhook stands, counting the backlog of the kinds it wants.
    pub fn webhook_status(
        &self,
        hooks: &[(String, OutboxKinds)],
    ) -> Result<Vec<WebhookStatus>, StoreError> {
        let mut out = Vec::with_capacity(hooks.len());
        for (url, kinds) in hooks {
            let state = self
                .conn
                .query_row(
                    "SELECT delivered_to, attempts, last_error, last_attempt_ms, last_success_ms,
                            next_attempt_ms
                     FROM webhook_state WHERE url = ?1",
                    params![url],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Option<i64>>(3)?,
                            r.get::<_, Option<i64>>(4)?,
                            r.get::<_, Option<i64>>(5)?,
                        ))
                    },
                )
                .optional()
                .map_err(|e| self.query_err(e))?;
            let Some((delivered_to, attempts, last_error, last_attempt, last_success, next)) =
                state
            else {
                out.push(WebhookStatus {
                    url: url.clone(),
                    known: false,
                    delivered_to: 0,
                    backlog: 0,
                    oldest_undelivered_ms: None,
                    attempts: 0,
                    last_error: None,
                    last_attempt_ms: None,
                    last_success_ms: None,
                    next_attempt_ms: None,
                });
                continue;
            };
            let (backlog, oldest): (i64, Option<i64>) = self
                .conn
                .query_row(
                    &format!(
                        "SELECT COUNT(*), MIN(created_ms) FROM outbox WHERE id > ?1 AND {}",
                        kind_filter(2)
                    ),
                    params![delivered_to, kinds.unit, kinds.scan],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(|e| self.query_err(e))?;
            out.push(WebhookStatus {
                url: url.clone(),
                known: true,
                delivered_to,
                backlog,
                oldest_undelivered_ms: oldest,
                attempts,
                last_error,
                last_attempt_ms: last_attempt,
                last_success_ms: last_success,
                next_attempt_ms: next,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_webhook_starts_after_the_rows_already_queued_and_ids_are_never_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("o.db")).expect("open");
        let a = "http://127.0.0.1:1/a";
        assert_eq!(store.webhook_register(a, 1).expect("register"), 0);
        let tx = store.begin().expect("begin");
        tx.outbox_add("unit", "{\"id\":1}", 10).expect("add");
        tx.outbox_add("scan", "{\"id\":2}", 11).expect("add");
        tx.commit().expect("commit");
        let b = "http://127.0.0.1:1/b";
        assert_eq!(store.webhook_register(b, 2).expect("register"), 2);
        // Registering again keeps the cursor.
        assert_eq!(store.webhook_register(a, 3).expect("again"), 0);
        let next = store
            .outbox_next(0, OutboxKinds::UNITS)
            .expect("next")
            .expect("a unit row");
        assert_eq!((next.id, next.kind.as_str()), (1, "unit"));
        assert_eq!(
            store.outbox_next(1, OutboxKinds::UNITS).expect("next"),
            None
        );
        let status = store
            .webhook_status(&[
                (a.to_owned(), OutboxKinds::ALL),
                (b.to_owned(), OutboxKinds::ALL),
            ])
            .expect("status");
        assert_eq!(
            (status[0].backlog, status[0].oldest_undelivered_ms),
            (2, Some(10))
        );
        assert_eq!(status[1].backlog, 0);
        store.webhook_delivered(a, 2, 20).expect("delivered");
        assert_eq!(store.outbox_prune(&[a, b]).expect("prune"), 2);
        // The deleted top id is not handed out again: the next row is 3, a new key.
        let tx = store.begin().expect("begin");
        tx.outbox_add("unit", "{\"id\":3}", 30).expect("add");
        tx.commit().expect("commit");
        let next = store
            .outbox_next(2, OutboxKinds::ALL)
            .expect("next")
            .expect("row");
        assert_eq!(next.id, 3);
        store
            .webhook_failed(a, "connection refused", 40, 540)
            .expect("failed");
        let status = store
            .webhook_status(&[(a.to_owned(), OutboxKinds::UNITS)])
            .expect("status");
        assert_eq!(
            (
                status[0].attempts,
                status[0].last_error.as_deref(),
                status[0].backlog
            ),
            (1, Some("connection refused"), 1)
        );
    }
}
