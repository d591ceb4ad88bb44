//! `api`: the HTTP side of the station. The JSON API (`docs/openapi.json`), the live event
//! stream, the embedded desk page, `/healthz` and `/metrics`.
//!
//! The server runs axum on a tokio runtime of its own, in threads beside the synchronous event
//! loop, which stays as it is: the loop talks to it only through the [`hub::Hub`] (events out,
//! mode changes in), and every request that reads the store opens its own read-only SQLite
//! connection, so no request can hold the writer. `scanstation serve` runs the same router over
//! a store with no station (read-only).
//!
//! **Invariants:** every value that came from a barcode is untrusted text: the API returns it as
//! JSON strings only and the page renders it with `textContent`, under a Content-Security-Policy
//! that forbids inline script. A non-loopback listener never starts without a token.

mod auth;
pub(crate) mod hub;
pub(crate) mod metrics;
mod page;
mod routes;

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

pub(crate) use hub::Hub;
#[cfg(test)]
pub(crate) use routes::ROUTES;

use crate::store::StoreError;

/// The `[http]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpConfig {
    /// `HOST:PORT` to listen on; `None` leaves the HTTP side off.
    pub listen: Option<String>,
    /// The bearer token; required for any address that is not loopback.
    pub token: Option<String>,
    /// Requests per second allowed per client address (a burst of twice that); 0 turns the
    /// limit off.
    pub rate_limit: u32,
    /// The largest request body (a list upload), in bytes.
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: None,
            token: None,
            rate_limit: 200,
            max_body_bytes: 64 << 20,
        }
    }
}

/// Why the HTTP side could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("http: {addr:?} is not a listen address: write HOST:PORT, for example 127.0.0.1:8080")]
    BadAddress {
        addr: String,
        #[source]
        source: Option<std::io::Error>,
    },
    #[error(
        "http: {addr} is not a loopback address, so the API would be open to the network: set a token ([http] token in the config, or SCANSTATION_HTTP_TOKEN in the environment), or listen on 127.0.0.1"
    )]
    TokenRequired { addr: String },
    #[error("http: cannot listen on {addr}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("http: cannot start the server thread")]
    Thread(#[source] std::io::Error),
    #[error("http: no database at {0}")]
    NoDatabase(PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A running HTTP server; dropping it stops it.
pub(crate) struct Server {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The station's name on the page: the host's name, as most desks are one machine each.
pub(crate) fn station_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "scanstation".to_owned())
}

/// Resolves the listen address and checks the token rule before anything is bound.
fn resolve(listen: &str, token: Option<&str>) -> Result<SocketAddr, ApiError> {
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .map_err(|source| ApiError::BadAddress {
            addr: listen.to_owned(),
            source: Some(source),
        })?
        .collect();
    let Some(first) = addrs.first().copied() else {
        return Err(ApiError::BadAddress {
            addr: listen.to_owned(),
            source: None,
        });
    };
    // A name that resolves to any non-loopback address (or `0.0.0.0`) counts as open.
    if token.is_none() && addrs.iter().any(|a| !a.ip().is_loopback()) {
        return Err(ApiError::TokenRequired {
            addr: listen.to_owned(),
        });
    }
    Ok(first)
}

/// Binds `listen` and serves the API and page from a thread of its own.
pub(crate) fn start(
    config: &HttpConfig,
    listen: &str,
    db: &Path,
    hub: Arc<Hub>,
) -> Result<Server, ApiError> {
    let token = config.token.as_deref().filter(|t| !t.is_empty());
    let addr = resolve(listen, token)?;
    if !db.exists() {
        return Err(ApiError::NoDatabase(db.to_owned()));
    }
    // TAC names for `find` are read once, as the station reads them once at start.
    let tacs = match crate::store::Store::open_read_only(db)? {
        Some(store) => store.load_tacs()?,
        None => return Err(ApiError::NoDatabase(db.to_owned())),
    };
    let listener = TcpListener::bind(addr).map_err(|source| ApiError::Bind {
        addr: listen.to_owned(),
        source,
    })?;
    let local = listener.local_addr().map_err(|source| ApiError::Bind {
        addr: listen.to_owned(),
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ApiError::Bind {
            addr: listen.to_owned(),
            source,
        })?;
    let app = routes::App::new(routes::AppConfig {
        db: db.to_owned(),
        hub,
        tacs,
        auth: auth::Auth::new(token.map(str::to_owned), local),
        rate_limit: config.rate_limit,
        max_body_bytes: config.max_body_bytes,
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(8)
        .thread_name("http")
        .enable_all()
        .build()
        .map_err(ApiError::Thread)?;
    let thread = std::thread::Builder::new()
        .name("http".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(err) => {
                        tracing::error!(error = %err, "http: cannot use the listening socket");
                        return;
                    }
                };
                let service =
                    routes::router(app).into_make_service_with_connect_info::<SocketAddr>();
                tokio::select! {
                    result = axum::serve(listener, service) => {
                        if let Err(err) = result {
                            tracing::error!(error = %err, "http server stopped");
                        }
                    }
                    _ = stopped => {}
                }
            });
            // Open event streams would keep a graceful shutdown waiting for ever; the station
            // is stopping, so they are cut.
            runtime.shutdown_timeout(Duration::from_millis(500));
        })
        .map_err(ApiError::Thread)?;
    tracing::info!(addr = %local, "http listening");
    Ok(Server {
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// How often `serve` looks for rows another process committed.
const FOLLOW_EVERY: Duration = Duration::from_millis(250);

/// `scanstation serve`: the API and page over a store with no station, read-only, until
/// `shutdown`. Scans and units that a station (or a copy of the file) adds meanwhile are
/// published on the event stream as the station would, so the back office page stays live.
pub(crate) fn serve(
    config: &HttpConfig,
    listen: &str,
    db: &Path,
    shutdown: &AtomicBool,
) -> Result<(), ApiError> {
    let store = crate::store::Store::open_read_only(db)?
        .ok_or_else(|| ApiError::NoDatabase(db.to_owned()))?;
    let mode = store
        .last_mode()?
        .unwrap_or(crate::ident::control::Mode::Intake);
    let hub = Arc::new(Hub::new(station_name(), mode, true));
    let _server = start(config, listen, db, Arc::clone(&hub))?;
    let (mut last_scan, mut last_closed) = store.high_water()?;
    while !shutdown.load(Ordering::Relaxed) {
        std::thread::sleep(FOLLOW_EVERY);
        // A failed poll (the file replaced, a busy moment) is logged and tried again: the
        // server itself keeps answering from the store either way.
        let polled = (|| -> Result<(), crate::store::StoreError> {
            let (scan_high, closed_high) = store.high_water()?;
            if scan_high > last_scan {
                for scan in store.scans_page(None, last_scan, 1000)? {
                    last_scan = scan.id;
                    if let Some(mode) = scan.mode {
                        hub.set_mode(mode);
                    }
                    hub.scan(&scan, 0.0);
                }
            }
            if closed_high > last_closed {
                for unit in store.units_closed_after(last_closed)? {
                    last_closed = last_closed.max(unit.closed_ms.unwrap_or(last_closed));
                    hub.unit(&unit);
                }
                for (list, found, expected) in store.recall_progress()? {
                    hub.progress(&list, found, expected);
                }
            }
            Ok(())
        })();
        if let Err(err) = polled {
            tracing::warn!(error = %crate::error::Chain(&err), "serve: cannot read new rows; trying again");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_needs_no_token_and_anything_else_does() {
        assert!(resolve("127.0.0.1:0", None).is_ok());
        assert!(resolve("[::1]:0", None).is_ok());
        assert!(resolve("localhost:0", None).is_ok());
        for open in ["0.0.0.0:8080", "[::]:8080", "192.0.2.7:80"] {
            let err = resolve(open, None).expect_err(open);
            assert!(err.to_string().contains("token"), "{err}");
            assert!(resolve(open, Some("t")).is_ok(), "{open}");
        }
    }

    /// The routes the router serves are the operations `docs/openapi.json` documents, no more
    /// and no fewer (a test against a running server checks that each one answers).
    #[test]
    #[allow(clippy::disallowed_methods)] // Reads the document from the source tree.
    fn openapi_documents_exactly_the_served_routes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
        let text = std::fs::read_to_string(path).expect("docs/openapi.json");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("openapi.json is JSON");
        let mut documented: Vec<(String, String)> = Vec::new();
        for (route, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                documented.push((method.to_ascii_uppercase(), route.clone()));
            }
        }
        documented.sort();
        let mut served: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        served.sort();
        assert_eq!(documented, served);
    }

    #[test]
    fn a_bad_address_says_what_to_write() {
        for bad in ["8080", "127.0.0.1", "host:port", ""] {
            let err = resolve(bad, None).expect_err(bad);
            assert!(err.to_string().contains("HOST:PORT"), "{bad}: {err}");
        }
    }
}
