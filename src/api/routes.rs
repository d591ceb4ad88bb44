//! The routes: the JSON API, the event stream, the page, `/healthz` and `/metrics`.
//!
//! Handlers that read the store run on tokio's blocking pool with a read-only connection kept
//! per pool thread; the few that write (list upload and removal) open a writer of their own,
//! which waits on SQLite's lock like `scanstation list import` does beside a running station.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Multipart, Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

use super::auth::{Auth, COOKIE, Caller, RateLimit};
use super::hub::Hub;
use crate::event::{ScanEvent, UnitEvent};
use crate::ident::control::Mode;
use crate::ident::tac::MemoryTacs;
use crate::lists::ListKind;
use crate::record::Decision;
use crate::store::{Store, StoreError, UnitQuery};

/// Every route the server answers, as (method, path) in OpenAPI's path syntax. The router is
/// built from the same handlers, and a test checks this list against `docs/openapi.json` and
/// against a running server, so the document cannot drift from what is served.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/assets/app.js"),
    ("GET", "/assets/style.css"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/api/session"),
    ("POST", "/api/session"),
    ("GET", "/api/desk"),
    ("GET", "/api/events"),
    ("GET", "/api/mode"),
    ("PUT", "/api/mode"),
    ("GET", "/api/units"),
    ("GET", "/api/units/{id}"),
    ("GET", "/api/units/{id}/evidence"),
    ("GET", "/api/find/{value}"),
    ("GET", "/api/scans"),
    ("GET", "/api/lists"),
    ("POST", "/api/lists"),
    ("DELETE", "/api/lists/{name}"),
    ("GET", "/api/export"),
    ("GET", "/api/preview"),
    ("GET", "/api/preview.jpg"),
];

/// The most rows one page of `/api/units` or `/api/scans` returns.
const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 100;
/// Units shown as recent on the desk page.
const RECENT: usize = 20;

pub(crate) struct AppConfig {
    pub db: PathBuf,
    pub hub: Arc<Hub>,
    pub tacs: MemoryTacs,
    pub auth: Auth,
    pub rate_limit: u32,
    pub max_body_bytes: usize,
}

/// The state every handler shares.
#[derive(Clone)]
pub(crate) struct App(Arc<Inner>);

pub(crate) struct Inner {
    db: PathBuf,
    hub: Arc<Hub>,
    tacs: MemoryTacs,
    auth: Auth,
    rate: RateLimit,
    max_body_bytes: usize,
}

impl App {
    pub(crate) fn new(config: AppConfig) -> App {
        App(Arc::new(Inner {
            db: config.db,
            hub: config.hub,
            tacs: config.tacs,
            auth: config.auth,
            rate: RateLimit::new(config.rate_limit),
            max_body_bytes: config.max_body_bytes,
        }))
    }
}

/// An API error: a status and a message, sent as `{"error": "..."}`.
#[derive(Debug)]
pub(crate) struct ApiErr {
    status: StatusCode,
    message: String,
    /// Extra fields (the bad lines of an upload).
    detail: Option<serde_json::Value>,
}

impl ApiErr {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiErr {
        ApiErr {
            status,
            message: message.into(),
            detail: None,
        }
    }

    fn bad(message: impl Into<String>) -> ApiErr {
        ApiErr::new(StatusCode::BAD_REQUEST, message)
    }

    fn not_found(message: impl Into<String>) -> ApiErr {
        ApiErr::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<StoreError> for ApiErr {
    fn from(err: StoreError) -> ApiErr {
        tracing::error!(error = %crate::error::Chain(&err), "http: store error");
        ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, anyhow_free_chain(&err))
    }
}

/// The error with its causes on one line.
fn anyhow_free_chain(err: &(dyn std::error::Error + 'static)) -> String {
    crate::error::Chain(err).to_string()
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let (Some(serde_json::Value::Object(extra)), Some(map)) =
            (self.detail, body.as_object_mut())
        {
            map.extend(extra);
        }
        (self.status, Json(body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiErr>;

thread_local! {
    /// One read-only connection per blocking-pool thread, opened on first use: opening costs
    /// more than most queries, and SQLite's WAL lets each read see the latest commit.
    static READER: RefCell<Option<(PathBuf, Store)>> = const { RefCell::new(None) };
}

/// Runs `f` on the blocking pool with a read-only connection to the store.
async fn read<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&Store) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let db = app.0.db.clone();
    tokio::task::spawn_blocking(move || {
        READER.with(|cell| {
            let mut cell = cell.borrow_mut();
            if cell.as_ref().is_none_or(|(path, _)| *path != db) {
                let store = Store::open_read_only(&db)?.ok_or_else(|| {
                    ApiErr::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("the database {} is gone", db.display()),
                    )
                })?;
                *cell = Some((db.clone(), store));
            }
            match cell.as_ref() {
                Some((_, store)) => f(store),
                None => Err(ApiErr::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "no database connection",
                )),
            }
        })
    })
    .await
    .map_err(|err| {
        ApiErr::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("request failed: {err}"),
        )
    })?
}

/// Runs `f` on the blocking pool with a writing connection (list changes).
async fn write<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&mut Store) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    if app.0.hub.read_only {
        return Err(ApiErr::new(
            StatusCode::CONFLICT,
            "this server is read-only (scanstation serve): change lists at the station",
        ));
    }
    let db = app.0.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&db)?;
        f(&mut store)
    })
    .await
    .map_err(|err| {
        ApiErr::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("request failed: {err}"),
        )
    })?
}

pub(crate) fn router(app: App) -> Router {
    let limit = app.0.max_body_bytes;
    Router::new()
        .route("/", get(page))
        .route("/assets/app.js", get(page))
        .route("/assets/style.css", get(page))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/session", get(session).post(login))
        .route("/api/desk", get(desk))
        .route("/api/events", get(events))
        .route("/api/mode", put(set_mode).get(get_mode))
        .route("/api/units", get(units))
        .route("/api/units/{id}", get(unit))
        .route("/api/units/{id}/evidence", get(evidence))
        .route("/api/find/{value}", get(find))
        .route("/api/scans", get(scans))
        .route("/api/lists", get(lists).post(upload_list))
        .route("/api/lists/{name}", axum::routing::delete(remove_list))
        .route("/api/export", get(export))
        .route("/api/preview", get(preview))
        .route("/api/preview.jpg", get(preview_jpeg))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiErr {
    ApiErr::not_found(format!("no route {method} {}", uri.path()))
}

/// Security headers, the Host check, the rate limit, authentication and CSRF, in that order;
/// and JSON bodies for the errors axum itself answers (bad JSON, oversized body, wrong method).
async fn guard(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let auth = &app.0.auth;
    let metrics = &app.0.hub.metrics;
    metrics.http_requests.add(1);
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let refuse = |status: StatusCode, message: &str| {
        metrics.http_rejected.add(1);
        secure(ApiErr::new(status, message).into_response())
    };
    if !auth.host_ok(request.headers()) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "the Host header does not name this station (use http://127.0.0.1:PORT)",
        );
    }
    if !app.0.rate.allow(peer.ip()) {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests from this address; slow down ([http] rate_limit)",
        );
    }
    let guarded = path.starts_with("/api/") && path != "/api/session" || path == "/metrics";
    let caller = auth.caller(request.headers());
    if guarded && caller == Caller::Nobody {
        let mut response = refuse(
            StatusCode::UNAUTHORIZED,
            "this station needs its token: send Authorization: Bearer TOKEN, or log in on the page",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"scanstation\""),
        );
        return response;
    }
    let changes = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    // The login itself cannot carry the CSRF token of a session that does not exist yet; a
    // forged login only logs the victim's browser in with a token the forger already knows.
    if changes
        && caller != Caller::Bearer
        && path != "/api/session"
        && !auth.csrf_ok(request.headers())
    {
        return refuse(
            StatusCode::FORBIDDEN,
            "missing or wrong X-CSRF-Token header (get it from GET /api/session)",
        );
    }
    let response = next.run(request).await;
    secure(json_errors(response).await)
}

/// Turns axum's plain-text rejections (and empty 405s) into the API's JSON errors.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = match (status, text.is_empty()) {
        (StatusCode::METHOD_NOT_ALLOWED, _) => "method not allowed on this route".to_owned(),
        (StatusCode::PAYLOAD_TOO_LARGE, _) => {
            "the request body is too large ([http] max_body_bytes)".to_owned()
        }
        (_, true) => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned(),
        (_, false) => text,
    };
    let mut response = ApiErr::new(status, message).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}

/// The headers every response carries.
fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn page(uri: axum::http::Uri) -> Response {
    match super::page::asset(uri.path()) {
        Some((kind, body)) => ([(header::CONTENT_TYPE, kind)], body).into_response(),
        None => ApiErr::not_found("no such page").into_response(),
    }
}

async fn session(
    State(app): State<App>,
    headers: axum::http::HeaderMap,
) -> Json<serde_json::Value> {
    let auth = &app.0.auth;
    let caller = auth.caller(&headers);
    Json(json!({
        "auth_required": auth.required(),
        "authenticated": caller != Caller::Nobody,
        // The CSRF token goes only to a caller that may act: reading it cross-origin is
        // already impossible, and an unauthenticated caller has nothing to protect.
        "csrf": if caller == Caller::Nobody { None } else { Some(auth.csrf()) },
        "read_only": app.0.hub.read_only,
    }))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    token: String,
}

async fn login(State(app): State<App>, body: Bytes) -> ApiResult<Response> {
    let login: Login = serde_json::from_slice(&body)
        .map_err(|e| ApiErr::bad(format!("expected {{\"token\": \"...\"}}: {e}")))?;
    if !app.0.auth.required() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let Some(session) = app.0.auth.login(&login.token) else {
        app.0.hub.metrics.http_rejected.add(1);
        return Err(ApiErr::new(StatusCode::UNAUTHORIZED, "wrong token"));
    };
    let cookie = format!("{COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The desk page's starting state.
async fn desk(State(app): State<App>) -> ApiResult<Json<serde_json::Value>> {
    let hub = Arc::clone(&app.0.hub);
    let (open, recent, recall, last_mode) = read(&app, |store| {
        Ok((
            store.open_unit()?,
            store.recent_units(RECENT)?,
            store.recall_progress()?,
            store.last_mode()?,
        ))
    })
    .await?;
    let mode = if hub.read_only {
        last_mode.unwrap_or(hub.mode())
    } else {
        hub.mode()
    };
    let sources: Vec<serde_json::Value> = hub
        .sources()
        .into_iter()
        .map(|(name, s)| json!({ "name": name, "up": s.up, "error": s.error }))
        .collect();
    Ok(Json(json!({
        "station": hub.station,
        "read_only": hub.read_only,
        "mode": mode,
        "modes": Mode::ALL,
        "open_unit": open.map(|u| json!({
            "id": u.id,
            "identifiers": u.identifiers.iter().map(|i| json!({
                "kind": i.kind, "value": i.value, "slot": i.slot,
            })).collect::<Vec<_>>(),
        })),
        "recent": recent.iter().map(UnitEvent::from).collect::<Vec<_>>(),
        "recall": recall.iter().map(|(list, found, expected)| json!({
            "list": list, "found": found, "expected": expected,
        })).collect::<Vec<_>>(),
        "sources": sources,
        "camera": hub.has_frames(),
    })))
}

/// The live stream: each committed event as one SSE message named by its kind.
async fn events(
    State(app): State<App>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let receiver = app.0.hub.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        use tokio::sync::broadcast::error::RecvError;
        let event = match receiver.recv().await {
            Ok(published) => Event::default()
                .event(published.name)
                .data(published.json.as_ref()),
            // A client too slow to keep up is told to reload its state instead of silently
            // missing events.
            Err(RecvError::Lagged(missed)) => Event::default()
                .event("reload")
                .data(json!({ "event": "reload", "missed": missed }).to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn get_mode(State(app): State<App>) -> Json<serde_json::Value> {
    Json(json!({ "mode": app.0.hub.mode() }))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeBody {
    mode: String,
}

async fn set_mode(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let body: ModeBody = serde_json::from_slice(&body)
        .map_err(|e| ApiErr::bad(format!("expected {{\"mode\": \"intake\"}}: {e}")))?;
    let mode = Mode::parse(&body.mode).ok_or_else(|| {
        ApiErr::bad(format!(
            "unknown mode {:?}: one of {}",
            body.mode,
            Mode::ALL.map(Mode::as_str).join(", ")
        ))
    })?;
    let hub = &app.0.hub;
    let mut watch = hub.watch_mode();
    hub.request_mode(mode, &peer.to_string(), crate::clock::Now::read())
        .map_err(|m| {
            let status = if hub.read_only {
                StatusCode::CONFLICT
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            ApiErr::new(status, m)
        })?;
    // The change is done when the loop has committed the control scan and published the mode.
    let applied = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if *watch.borrow_and_update() == mode {
                return true;
            }
            if watch.changed().await.is_err() {
                return false;
            }
        }
    })
    .await;
    match applied {
        Ok(true) => Ok(Json(json!({ "mode": mode }))),
        _ => Err(ApiErr::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the station did not apply the mode change within 5 s",
        )),
    }
}

/// Query parameters, refusing any this route does not know.
fn params<'q>(
    query: &'q HashMap<String, String>,
    known: &[&str],
) -> ApiResult<impl Fn(&str) -> Option<&'q str>> {
    if let Some(unknown) = query.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiErr::bad(format!(
            "unknown query parameter {unknown:?}: this route takes {}",
            known.join(", ")
        )));
    }
    Ok(move |name: &str| {
        query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    })
}

fn time_param(name: &str, value: Option<&str>) -> ApiResult<Option<i64>> {
    value
        .map(|v| crate::clock::parse_rfc3339(v).map_err(|e| ApiErr::bad(format!("{name}: {e}"))))
        .transpose()
}

fn limit_param(value: Option<&str>) -> ApiResult<usize> {
    match value {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiErr::bad(format!(
                "limit: {v:?} is not a number from 1 to {MAX_LIMIT}"
            ))),
        },
    }
}

/// Cursors are opaque to clients; inside they are the last id of the page, tagged with what
/// they page through, so a scans cursor cannot be replayed on units.
fn cursor_param(value: Option<&str>, tag: char) -> ApiResult<i64> {
    let Some(v) = value else { return Ok(0) };
    v.strip_prefix(tag)
        .and_then(|rest| rest.parse::<i64>().ok())
        .filter(|id| *id >= 0)
        .ok_or_else(|| {
            ApiErr::bad(format!(
                "bad cursor {v:?}: pass back the next_cursor of the previous page"
            ))
        })
}

fn next_cursor(tag: char, last: Option<i64>, full: bool) -> Option<String> {
    last.filter(|_| full).map(|id| format!("{tag}{id}"))
}

async fn units(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<serde_json::Value>> {
    let p = params(
        &query,
        &[
            "since", "until", "mode", "decision", "list", "limit", "cursor",
        ],
    )?;
    let q = UnitQuery {
        since_ms: time_param("since", p("since"))?,
        until_ms: time_param("until", p("until"))?,
        mode: p("mode")
            .map(|m| {
                Mode::parse(m).ok_or_else(|| {
                    ApiErr::bad(format!(
                        "mode: unknown mode {m:?}: one of {}",
                        Mode::ALL.map(Mode::as_str).join(", ")
                    ))
                })
            })
            .transpose()?,
        decision: p("decision")
            .map(|d| {
                Decision::parse(d).ok_or_else(|| {
                    ApiErr::bad(format!(
                        "decision: unknown decision {d:?}: one of {}",
                        Decision::ALL
                            .iter()
                            .map(|d| d.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
            })
            .transpose()?,
        list: p("list").map(str::to_owned),
        after_id: cursor_param(p("cursor"), 'u')?,
        limit: limit_param(p("limit"))?,
    };
    let limit = q.limit;
    let page = read(&app, move |store| Ok(store.units_page(&q)?)).await?;
    let next = next_cursor('u', page.last().map(|u| u.id), page.len() == limit);
    Ok(Json(json!({
        "units": page.iter().map(UnitEvent::from).collect::<Vec<_>>(),
        "next_cursor": next,
    })))
}

fn unit_id(id: &str) -> ApiResult<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiErr::bad(format!("unit id {id:?} is not a positive number")))
}

async fn unit(
    State(app): State<App>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = unit_id(&id)?;
    let found = read(&app, move |store| {
        let unit = store
            .unit(id)?
            .ok_or_else(|| ApiErr::not_found(format!("unknown unit {id}")))?;
        Ok(crate::export::FoundRecord {
            scans: store.scans_of_unit(id)?,
            evidence: store.evidence_size(id)?,
            unit,
        })
    })
    .await?;
    Ok(Json(to_json(&found.event())?))
}

fn to_json<T: Serialize>(value: &T) -> ApiResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| {
        ApiErr::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot write the answer: {e}"),
        )
    })
}

async fn evidence(State(app): State<App>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = unit_id(&id)?;
    let picture = read(&app, move |store| {
        store
            .evidence(id)?
            .ok_or_else(|| ApiErr::not_found(format!("unit {id} has no label picture")))
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        picture.jpeg,
    )
        .into_response())
}

async fn find(
    State(app): State<App>,
    Path(value): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    if value.len() > 4096 {
        return Err(ApiErr::bad("the value is longer than 4096 bytes"));
    }
    let tacs_app = app.clone();
    let found = read(&app, move |store| {
        Ok(crate::export::find(store, &value, &tacs_app.0.tacs)?)
    })
    .await?;
    Ok(Json(to_json(&found.event())?))
}

async fn scans(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<serde_json::Value>> {
    let p = params(&query, &["since", "limit", "cursor"])?;
    let since = time_param("since", p("since"))?;
    let after = cursor_param(p("cursor"), 's')?;
    let limit = limit_param(p("limit"))?;
    let page = read(
        &app,
        move |store| Ok(store.scans_page(since, after, limit)?),
    )
    .await?;
    let next = next_cursor('s', page.last().map(|s| s.id), page.len() == limit);
    Ok(Json(json!({
        "scans": page.iter().map(ScanEvent::from).collect::<Vec<_>>(),
        "next_cursor": next,
    })))
}

async fn lists(State(app): State<App>) -> ApiResult<Json<serde_json::Value>> {
    let (lists, progress) =
        read(&app, |store| Ok((store.lists()?, store.recall_progress()?))).await?;
    let lists: Vec<serde_json::Value> = lists
        .iter()
        .map(|l| {
            let mut item = json!({
                "name": l.name,
                "kind": l.kind.as_str(),
                "version": l.version,
                "entries": l.active,
                "created_at": crate::clock::rfc3339(l.created_ms),
                "updated_at": crate::clock::rfc3339(l.updated_ms),
            });
            if let (Some((_, found, expected)), Some(map)) = (
                progress.iter().find(|(name, _, _)| *name == l.name),
                item.as_object_mut(),
            ) {
                map.insert("found".to_owned(), json!(found));
                map.insert("expected".to_owned(), json!(expected));
            }
            item
        })
        .collect();
    Ok(Json(json!({ "lists": lists })))
}

/// `POST /api/lists`: a multipart form with `name`, `kind`, `file` and optionally
/// `skip_bad_lines=true`, imported exactly as `scanstation list import` would.
async fn upload_list(
    State(app): State<App>,
    mut form: Multipart,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let mut name = None;
    let mut kind = None;
    let mut file: Option<(String, Bytes)> = None;
    let mut skip_bad_lines = false;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => {
                return Err(ApiErr::new(
                    err.status(),
                    format!("bad multipart upload: {}", err.body_text()),
                ));
            }
        };
        let field_name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().unwrap_or("upload.csv").to_owned();
        let bytes = field.bytes().await.map_err(|err| {
            ApiErr::new(
                err.status(),
                format!("bad multipart upload: {}", err.body_text()),
            )
        })?;
        let text = || String::from_utf8_lossy(&bytes).trim().to_owned();
        match field_name.as_str() {
            "name" => name = Some(text()),
            "kind" => kind = Some(text()),
            "skip_bad_lines" => skip_bad_lines = matches!(text().as_str(), "true" | "1" | "on"),
            "file" => file = Some((file_name, bytes)),
            other => {
                return Err(ApiErr::bad(format!(
                    "unknown form field {other:?}: send name, kind, file and optionally skip_bad_lines"
                )));
            }
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiErr::bad("the form has no list name (field `name`)"))?;
    if name.len() > 200 || name.chars().any(char::is_control) {
        return Err(ApiErr::bad(
            "the list name must be at most 200 characters, without control characters",
        ));
    }
    let kind_text = kind.ok_or_else(|| ApiErr::bad("the form has no list kind (field `kind`)"))?;
    let kind = ListKind::parse(&kind_text).ok_or_else(|| {
        ApiErr::bad(format!(
            "unknown list kind {kind_text:?}: one of {}",
            ListKind::ALL.map(|k| k.as_str()).join(", ")
        ))
    })?;
    let (file_name, bytes) =
        file.ok_or_else(|| ApiErr::bad("the form has no file (field `file`)"))?;
    let (report, skipped) = write(&app, move |store| {
        let origin = std::path::PathBuf::from(format!("upload:{file_name}"));
        crate::store::import_reader(
            store,
            kind,
            &name,
            &origin,
            std::io::Cursor::new(bytes),
            skip_bad_lines,
            crate::clock::now_ms(),
        )
        .map_err(|err| match err {
            crate::store::ListError::BadLines { errors, .. } => {
                let mut e = ApiErr::bad(format!(
                    "{} bad line{} in the list, nothing imported (fix them or send skip_bad_lines=true)",
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                ));
                e.detail = Some(json!({
                    "lines": errors.iter().take(crate::store::MAX_LISTED_ERRORS).map(|l| json!({
                        "line": l.line, "message": l.message,
                    })).collect::<Vec<_>>(),
                }));
                e
            }
            crate::store::ListError::Store(StoreError::ListKindMismatch { .. }) => {
                ApiErr::new(StatusCode::CONFLICT, anyhow_free_chain(&err))
            }
            other => ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, anyhow_free_chain(&other)),
        })
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "name": report.list,
            "kind": kind.as_str(),
            "version": report.version,
            "added": report.added,
            "removed": report.removed,
            "unmatched_removes": report.unmatched_removes,
            "skipped_lines": skipped.iter().map(|l| json!({"line": l.line, "message": l.message})).collect::<Vec<_>>(),
        })),
    ))
}

async fn remove_list(State(app): State<App>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    let shown = name.clone();
    let removed = write(&app, move |store| Ok(store.remove_list(&name)?)).await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiErr::not_found(format!("no list named {shown:?}")))
    }
}

/// Streams an export as it is written: a writer on the blocking pool sends chunks through a
/// small channel, so a slow client slows the writer instead of filling memory.
async fn export(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let p = params(&query, &["what", "format", "since"])?;
    let what = match p("what").unwrap_or("units") {
        "units" => crate::export::What::Units,
        "scans" => crate::export::What::Scans,
        other => {
            return Err(ApiErr::bad(format!(
                "what: {other:?} is not units or scans"
            )));
        }
    };
    let (format, kind, ext) = match p("format").unwrap_or("csv") {
        "csv" => (crate::export::Format::Csv, "text/csv; charset=utf-8", "csv"),
        "ndjson" => (
            crate::export::Format::Ndjson,
            "application/x-ndjson",
            "ndjson",
        ),
        other => {
            return Err(ApiErr::bad(format!(
                "format: {other:?} is not csv or ndjson"
            )));
        }
    };
    let since = time_param("since", p("since"))?.unwrap_or(0);
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let db = app.0.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::with_capacity(
            64 << 10,
            ChannelWriter {
                sender: sender.clone(),
            },
        );
        let result = match Store::open_read_only(&db) {
            Ok(Some(store)) => crate::export::export(&store, what, format, since, &mut out)
                .map(|_| ())
                .map_err(|e| anyhow_free_chain(&e)),
            Ok(None) => Err(format!("the database {} is gone", db.display())),
            Err(e) => Err(anyhow_free_chain(&e)),
        };
        let flushed = std::io::Write::flush(&mut out);
        if let Err(message) = result.and(flushed.map_err(|e| e.to_string())) {
            // The status line is gone already; cutting the body makes the client see a failed
            // transfer instead of a short file that looks complete.
            tracing::error!(error = %message, "http: export failed midway");
            let _ = sender.blocking_send(Err(std::io::Error::other(message)));
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let disposition = format!(
        "attachment; filename=\"scanstation-{}.{ext}\"",
        match what {
            crate::export::What::Units => "units",
            crate::export::What::Scans => "scans",
        }
    );
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

struct ChannelWriter {
    sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sender
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A symbol's colour on the preview: a valid device identifier, a value that failed its check,
/// or anything else read.
fn symbol_state(text: &str, tacs: &MemoryTacs) -> &'static str {
    let c = crate::ident::classify(text, None, tacs);
    if c.rejection.is_some() {
        "bad"
    } else if c.identifiers.is_empty() {
        "pending"
    } else {
        "ok"
    }
}

async fn preview(State(app): State<App>) -> ApiResult<Json<serde_json::Value>> {
    let mut shot = app.0.hub.preview().ok_or_else(|| {
        ApiErr::not_found("no frame yet: this desk has no camera, or it has not sent a frame")
    })?;
    // When the source did not group the symbols into labels, the preview finds the label
    // outlines itself (on the blocking pool, from the shared frame), so the operator sees which
    // symbols the station takes as one label.
    if shot.labels.is_empty()
        && !shot.symbols.is_empty()
        && let Some(image) = shot.image.clone()
    {
        let symbols = shot.symbols.clone();
        shot.labels = tokio::task::spawn_blocking(move || {
            crate::decode::region::label_regions(
                &image,
                &symbols,
                &crate::decode::region::RegionParams::default(),
            )
            .into_iter()
            .map(|r| (r.outline, r.symbols))
            .collect()
        })
        .await
        .unwrap_or_default();
    }
    let states: Vec<&str> = shot
        .symbols
        .iter()
        .map(|s| symbol_state(&s.text, &app.0.tacs))
        .collect();
    let points =
        |corners: &[(f32, f32); 4]| corners.iter().map(|(x, y)| [*x, *y]).collect::<Vec<_>>();
    let (width, height) = shot
        .image
        .as_ref()
        .map_or((0, 0), |i| (i.width(), i.height()));
    Ok(Json(json!({
        "frame": shot.seq,
        "at": crate::clock::rfc3339(shot.at_ms),
        "source": shot.source,
        "width": width,
        "height": height,
        "symbols": shot.symbols.iter().zip(&states).map(|(symbol, state)| json!({
            "points": points(&symbol.corners), "text": symbol.text, "state": state,
        })).collect::<Vec<_>>(),
        "labels": shot.labels.iter().map(|(outline, members)| {
            let states: Vec<&str> = members.iter().filter_map(|i| states.get(*i).copied()).collect();
            let state = if states.contains(&"bad") { "bad" } else if states.contains(&"pending") || states.is_empty() { "pending" } else { "ok" };
            json!({ "points": points(outline), "state": state })
        }).collect::<Vec<_>>(),
    })))
}

/// The widest preview picture sent; the page scales the outlines to it.
const PREVIEW_WIDTH: u32 = 800;

async fn preview_jpeg(State(app): State<App>) -> ApiResult<Response> {
    let image = app
        .0
        .hub
        .preview()
        .and_then(|p| p.image)
        .ok_or_else(|| ApiErr::not_found("no frame yet"))?;
    let jpeg = tokio::task::spawn_blocking(move || {
        let small;
        let picture: &image::GrayImage = if image.width() > PREVIEW_WIDTH {
            let height = (u64::from(image.height()) * u64::from(PREVIEW_WIDTH)
                / u64::from(image.width()))
            .max(1) as u32;
            small = image::imageops::resize(
                image.as_ref(),
                PREVIEW_WIDTH,
                height,
                image::imageops::FilterType::Triangle,
            );
            &small
        } else {
            image.as_ref()
        };
        crate::evidence::encode_jpeg(picture, 70)
    })
    .await
    .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, anyhow_free_chain(&e)))?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg")], jpeg).into_response())
}

async fn healthz(State(app): State<App>) -> Response {
    let hub = Arc::clone(&app.0.hub);
    let db = app.0.db.clone();
    let read_only = hub.read_only;
    // Writable means the station could commit now: a write transaction is begun and rolled
    // back, waiting at most a second for the station's own writer.
    let store = tokio::task::spawn_blocking(move || -> Result<(), String> {
        if read_only {
            return Store::open_read_only(&db)
                .map_err(|e| anyhow_free_chain(&e))?
                .map(|_| ())
                .ok_or_else(|| format!("no database at {}", db.display()));
        }
        Store::probe_writable(&db).map_err(|e| anyhow_free_chain(&e))
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    let sources: Vec<serde_json::Value> = hub
        .sources()
        .into_iter()
        .map(|(name, s)| json!({ "name": name, "up": s.up, "error": s.error }))
        .collect();
    let ok = store.is_ok();
    let body = json!({
        "ok": ok,
        "store": { "ok": ok, "writable": ok && !read_only, "error": store.err() },
        "read_only": read_only,
        "sources": sources,
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn metrics(State(app): State<App>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.0.hub.metrics.render(),
    )
        .into_response()
}
