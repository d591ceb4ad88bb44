//! The HTTP API against the real server on 127.0.0.1, driven by scans through the real
//! binary's stdin, with a real HTTP client (ureq).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::bin;

const IMEI: &str = "354178036859789";
const IMEI2: &str = "354178036859805";

/// A station running with `--http 127.0.0.1:0`, its stdin kept open for scans.
pub struct HttpStation {
    child: Child,
    stdin: Option<ChildStdin>,
    pub base: String,
    pub stdout: Receiver<String>,
    pub stderr: Arc<Mutex<String>>,
    pub dir: tempfile::TempDir,
}

impl HttpStation {
    pub fn start(extra: &[&str]) -> HttpStation {
        let dir = tempfile::tempdir().expect("tempdir");
        HttpStation::start_in(dir, extra, &[])
    }

    /// Starts the station on `dir/station.db`; `env` is set on it.
    pub fn start_in(dir: tempfile::TempDir, extra: &[&str], env: &[(&str, &str)]) -> HttpStation {
        let db = dir.path().join("station.db");
        let mut cmd = bin();
        cmd.args(["run", "--db"])
            .arg(&db)
            .args(["--http", "127.0.0.1:0", "--profile", "serial+imei+imei"])
            .args(extra)
            .env_remove("SCANSTATION_HTTP_TOKEN")
            .envs(env.iter().copied());
        let (child, base, stdout, stderr, stdin) = spawn(cmd);
        HttpStation {
            child,
            stdin: Some(stdin),
            base,
            stdout,
            stderr,
            dir,
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("station.db")
    }

    pub fn scan(&mut self, lines: &[&str]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        for line in lines {
            stdin.write_all(line.as_bytes()).expect("write scan");
            stdin.write_all(b"\n").expect("write scan");
        }
        stdin.flush().expect("flush");
    }

    /// Waits for an acknowledgement line on stdout containing `text`.
    pub fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "no line with {text:?} within 10 s; stderr:\n{}",
                    self.stderr.lock().expect("stderr")
                ),
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Closes stdin and waits for a clean exit.
    pub fn finish(mut self) -> String {
        drop(self.stdin.take());
        let status = self.child.wait().expect("wait");
        let err = self.stderr.lock().expect("stderr").clone();
        assert!(status.success(), "station failed: {err}");
        err
    }
}

impl Drop for HttpStation {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Spawned = (
    Child,
    String,
    Receiver<String>,
    Arc<Mutex<String>>,
    ChildStdin,
);

/// Spawns `cmd`, reads its stderr until the `http listening` line and returns the base URL.
fn spawn(mut cmd: Command) -> Spawned {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn station");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let (out_tx, out_rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if out_tx.send(line).is_err() {
                break;
            }
        }
    });
    let log = Arc::new(Mutex::new(String::new()));
    let (addr_tx, addr_rx) = channel();
    let log_writer = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("http listening")
                && let Some(addr) = line.split("addr=").nth(1)
            {
                let _ = addr_tx.send(addr.trim().to_owned());
            }
            let mut log = log_writer.lock().expect("log");
            log.push_str(&line);
            log.push('\n');
        }
    });
    let Ok(addr) = addr_rx.recv_timeout(Duration::from_secs(20)) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the station never said `http listening`; stderr:\n{}",
            log.lock().expect("log")
        );
    };
    (child, format!("http://{addr}"), out_rx, log, stdin)
}

/// A response: status, body and the headers asked for.
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request with a real client; any status is a reply, not an error.
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Reply {
    let mut req = ureq::request(method, url).timeout(Duration::from_secs(15));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let result = match body {
        Some(bytes) => req.send_bytes(bytes),
        None => req.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_owned())))
        .collect();
    let mut body = String::new();
    response
        .into_reader()
        .take(64 << 20)
        .read_to_string(&mut body)
        .expect("read body");
    Reply {
        status,
        body,
        headers,
    }
}

pub fn get(url: &str) -> Reply {
    request("GET", url, &[], None)
}

/// The CSRF token the page would send.
fn csrf(base: &str, headers: &[(&str, &str)]) -> String {
    let session = request("GET", &format!("{base}/api/session"), headers, None).json();
    session["csrf"].as_str().expect("csrf").to_owned()
}

/// A multipart form for `POST /api/lists`.
fn list_form(name: &str, kind: &str, csv: &str) -> (String, Vec<u8>) {
    let boundary = "scanstationtestboundary7";
    let mut body = String::new();
    for (field, value) in [("name", name), ("kind", kind)] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"list.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    ));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

/// Reads Server-Sent Events from `/api/events` on a thread: (event name, data).
fn events(base: &str) -> Receiver<(String, String)> {
    let url = format!("{base}/api/events");
    let (tx, rx) = channel();
    let response = ureq::get(&url).call().expect("event stream");
    std::thread::spawn(move || {
        let mut name = String::new();
        for line in BufReader::new(response.into_reader())
            .lines()
            .map_while(Result::ok)
        {
            if let Some(n) = line.strip_prefix("event: ") {
                name = n.to_owned();
            } else if let Some(data) = line.strip_prefix("data: ")
                && tx.send((name.clone(), data.to_owned())).is_err()
            {
                break;
            }
        }
    });
    rx
}

fn next_event(rx: &Receiver<(String, String)>, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (n, data) = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {name} event within 10 s"));
        if n == name {
            return serde_json::from_str(&data).expect("event data is JSON");
        }
    }
}

#[test]
fn api_serves_units_scans_find_and_the_live_stream() {
    let mut station = HttpStation::start(&["--json"]);
    let stream = events(&station.base);
    station.scan(&["SN-API-0001", IMEI, IMEI2]);
    let unit_line = station.wait_for("\"event\":\"unit\"");
    // The stream carries the same JSON lines as `run --json`, in the same order.
    let scan = next_event(&stream, "scan");
    assert_eq!(scan["value"], "SN-API-0001");
    let schema = crate::schema::schema();
    crate::schema::check(&schema, Some("scan"), &scan);
    let unit = next_event(&stream, "unit");
    crate::schema::check(&schema, Some("unit"), &unit);
    let printed: Value = serde_json::from_str(&unit_line).expect("run --json line");
    assert_eq!(unit, printed);
    let id = unit["id"].as_i64().expect("unit id");

    let units = get(&station.url("/api/units")).json();
    assert_eq!(units["units"][0]["serial"], "SN-API-0001");
    assert!(units["next_cursor"].is_null());
    let one = get(&station.url(&format!("/api/units/{id}"))).json();
    assert_eq!(one["imeis"], serde_json::json!([IMEI, IMEI2]));
    assert_eq!(one["scans"].as_array().map(Vec::len), Some(3));
    assert!(one["evidence"].is_null());
    // An IMEI finds its unit with or without its check digit.
    for value in [IMEI, &IMEI[..14]] {
        let found = get(&station.url(&format!("/api/find/{value}"))).json();
        assert_eq!(found["units"][0]["id"], id, "{value}");
    }
    let nothing = get(&station.url("/api/find/NOSUCHVALUE")).json();
    assert_eq!(nothing["units"], serde_json::json!([]));

    // Paging: one scan per page, following the cursor to the end.
    let mut cursor = String::new();
    let mut seen = Vec::new();
    loop {
        let page = get(&station.url(&format!("/api/scans?limit=1{cursor}"))).json();
        for s in page["scans"].as_array().expect("scans") {
            seen.push(s["value"].as_str().expect("value").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ["SN-API-0001", IMEI, IMEI2]);

    // Filters.
    let none = get(&station.url("/api/units?decision=quarantine")).json();
    assert_eq!(none["units"], serde_json::json!([]));
    let intake = get(&station.url("/api/units?mode=intake&since=2020-01-01")).json();
    assert_eq!(intake["units"].as_array().map(Vec::len), Some(1));

    // Streamed exports.
    let csv = get(&station.url("/api/export?what=units&format=csv"));
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("id,status,serial"), "{}", csv.body);
    assert!(csv.body.contains("SN-API-0001"));
    let ndjson = get(&station.url("/api/export?what=scans&format=ndjson"));
    assert_eq!(ndjson.body.lines().count(), 3);

    let health = get(&station.url("/healthz"));
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["store"]["writable"], true);
    assert_eq!(health.json()["sources"][0]["name"], "stdin");
    let metrics = get(&station.url("/metrics")).body;
    assert!(
        metrics.contains("scanstation_scans_total{kind=\"imei\",outcome=\"added\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("scanstation_units_total{status=\"ok\",decision=\"proceed\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("scanstation_ack_latency_seconds_count 3"));
    station.finish();
}

#[test]
fn mode_switch_is_a_recorded_control_scan_and_needs_csrf() {
    let mut station = HttpStation::start(&[]);
    let stream = events(&station.base);
    assert_eq!(get(&station.url("/api/mode")).json()["mode"], "intake");
    let body = br#"{"mode":"recall"}"#;
    let forged = request("PUT", &station.url("/api/mode"), &[], Some(body));
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(
        forged.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("X-CSRF-Token"))
    );
    let token = csrf(&station.base, &[]);
    let headers = [("X-CSRF-Token", token.as_str())];
    let bad = request(
        "PUT",
        &station.url("/api/mode"),
        &headers,
        Some(br#"{"mode":"party"}"#),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("unknown mode"), "{}", bad.body);
    let junk = request(
        "PUT",
        &station.url("/api/mode"),
        &headers,
        Some(b"{not json"),
    );
    assert_eq!(junk.status, 400);
    let ok = request("PUT", &station.url("/api/mode"), &headers, Some(body));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["mode"], "recall");
    let mode = next_event(&stream, "mode");
    assert_eq!(mode["mode"], "recall");
    crate::schema::check(&crate::schema::schema(), Some("mode"), &mode);
    station.wait_for("SCANSTATION:MODE:RECALL");
    // The next unit is decided in the new mode.
    station.scan(&["SN-MODE-01", IMEI, IMEI2]);
    station.wait_for("UNIT");
    let units = get(&station.url("/api/units")).json();
    assert_eq!(units["units"][0]["mode"], "recall");
    station.finish();
}

#[test]
fn lists_upload_with_line_errors_and_delete() {
    let station = HttpStation::start(&[]);
    let token = csrf(&station.base, &[]);
    let (kind, body) = list_form("sweep", "recall", &format!("match,value\nimei,{IMEI}\n"));
    let headers = [
        ("X-CSRF-Token", token.as_str()),
        ("Content-Type", kind.as_str()),
    ];
    let created = request("POST", &station.url("/api/lists"), &headers, Some(&body));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["added"], 1);
    let lists = get(&station.url("/api/lists")).json();
    assert_eq!(lists["lists"][0]["name"], "sweep");
    assert_eq!(lists["lists"][0]["expected"], 1);
    // A bad file names its bad lines, as `list import` does, and changes nothing.
    let (kind, body) = list_form("sweep", "recall", "match,value\nimei,12345\nbogus,1\n");
    let headers = [
        ("X-CSRF-Token", token.as_str()),
        ("Content-Type", kind.as_str()),
    ];
    let refused = request("POST", &station.url("/api/lists"), &headers, Some(&body));
    assert_eq!(refused.status, 400, "{}", refused.body);
    let lines = refused.json()["lines"].clone();
    assert_eq!(lines[0]["line"], 2, "{lines}");
    assert_eq!(lines[1]["line"], 3, "{lines}");
    let (kind, body) = list_form("sweep", "party", "match,value\n");
    let headers = [
        ("X-CSRF-Token", token.as_str()),
        ("Content-Type", kind.as_str()),
    ];
    let bad_kind = request("POST", &station.url("/api/lists"), &headers, Some(&body));
    assert_eq!(bad_kind.status, 400);
    assert!(bad_kind.body.contains("unknown list kind"));
    let gone = request(
        "DELETE",
        &station.url("/api/lists/sweep"),
        &[("X-CSRF-Token", token.as_str())],
        None,
    );
    assert_eq!(gone.status, 204, "{}", gone.body);
    let again = request(
        "DELETE",
        &station.url("/api/lists/sweep"),
        &[("X-CSRF-Token", token.as_str())],
        None,
    );
    assert_eq!(again.status, 404);
    assert_eq!(again.json()["error"], "no list named \"sweep\"");
    station.finish();
}

#[test]
fn bad_requests_get_clear_json_errors() {
    let station = HttpStation::start(&["--json"]);
    let cases = [
        ("/api/units/99", 404, "unknown unit 99"),
        ("/api/units/abc", 400, "not a positive number"),
        ("/api/units/-1", 400, "not a positive number"),
        ("/api/units/99/evidence", 404, "no label picture"),
        ("/api/units?cursor=s5", 400, "bad cursor"),
        ("/api/units?limit=5000", 400, "limit"),
        ("/api/units?since=2026-02-31", 400, "since"),
        ("/api/units?decision=maybe", 400, "unknown decision"),
        ("/api/scans?what=units", 400, "unknown query parameter"),
        ("/api/export?format=xlsx", 400, "not csv or ndjson"),
        ("/api/preview", 404, "no frame yet"),
        ("/api/nothing/here", 404, "no route"),
        ("/assets/../../etc/passwd", 404, ""),
        ("/assets/%2e%2e/Cargo.toml", 404, ""),
    ];
    for (path, status, text) in cases {
        let reply = get(&station.url(path));
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        let error = reply.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(error.contains(text), "{path}: {error}");
    }
    // Wrong method, oversized body.
    let reply = request(
        "DELETE",
        &station.url("/api/units"),
        &[("X-CSRF-Token", &csrf(&station.base, &[]))],
        None,
    );
    assert_eq!(reply.status, 405);
    assert!(reply.json()["error"].is_string());
    station.finish();
}

#[test]
fn oversized_upload_is_refused_with_413() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[http]\nmax_body_bytes = 2048\n").expect("config");
    let config = config.to_string_lossy().into_owned();
    let station = HttpStation::start_in(dir, &["--config", &config], &[]);
    let token = csrf(&station.base, &[]);
    let big = format!("match,value\n{}", format!("imei,{IMEI}\n").repeat(400));
    let (kind, body) = list_form("big", "recall", &big);
    let headers = [
        ("X-CSRF-Token", token.as_str()),
        ("Content-Type", kind.as_str()),
    ];
    let reply = request("POST", &station.url("/api/lists"), &headers, Some(&body));
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert!(
        reply.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("too large"))
    );
    station.finish();
}

#[test]
fn barcode_text_comes_back_as_inert_json_strings() {
    let mut station = HttpStation::start(&[]);
    let payloads = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
    ];
    station.scan(&payloads);
    station.wait_for("scan 2");
    let scans = get(&station.url("/api/scans"));
    assert!(
        scans
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    assert_eq!(scans.header("x-content-type-options"), Some("nosniff"));
    let csp = scans.header("content-security-policy").expect("CSP");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let raws: Vec<String> = scans.json()["scans"]
        .as_array()
        .expect("scans")
        .iter()
        .map(|s| s["raw"].as_str().expect("raw").to_owned())
        .collect();
    assert_eq!(raws, payloads);
    // The value goes into a path as one percent-encoded segment, and is found as text.
    let found = get(&station.url("/api/find/%3Cscript%3Ealert(1)%3C%2Fscript%3E")).json();
    assert_eq!(found["scans"][0]["raw"], payloads[0]);
    station.finish();
}

#[test]
fn every_documented_route_answers() {
    let station = HttpStation::start(&[]);
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json"))
        .expect("openapi.json");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    let token = csrf(&station.base, &[]);
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let concrete = path
            .replace("{id}", "1")
            .replace("{value}", IMEI)
            .replace("{name}", "nolist");
        for method in item.as_object().expect("item").keys() {
            let method = method.to_ascii_uppercase();
            if path == "/api/events" {
                continue; // A stream; answered in the stream tests.
            }
            let reply = request(
                &method,
                &station.url(&concrete),
                &[
                    ("X-CSRF-Token", &token),
                    ("Content-Type", "application/json"),
                ],
                (method != "GET" && method != "DELETE").then_some(b"{}".as_slice()),
            );
            // A 404 is only right where the route says why (no such unit, no frame yet).
            let routed =
                reply.status != 405 && (reply.status != 404 || !reply.body.contains("no route"));
            assert!(
                routed,
                "{method} {concrete}: {} {}",
                reply.status, reply.body
            );
        }
    }
    station.finish();
}

#[test]
fn a_token_is_required_off_loopback_and_enforced_when_set() {
    // No token, not loopback: the station refuses to start and says why.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = bin()
        .args(["run", "--db"])
        .arg(dir.path().join("s.db"))
        .args(["--http", "0.0.0.0:0"])
        .env_remove("SCANSTATION_HTTP_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("token"),
        "{err}"
    );
    // A short token is refused too.
    let out = bin()
        .args(["run", "--db"])
        .arg(dir.path().join("s.db"))
        .args(["--http", "0.0.0.0:0"])
        .env("SCANSTATION_HTTP_TOKEN", "short")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16 characters"));

    let token = "0123456789abcdef0123";
    let station = HttpStation::start_in(dir, &[], &[("SCANSTATION_HTTP_TOKEN", token)]);
    let anonymous = get(&station.url("/api/units"));
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.header("www-authenticate").is_some());
    assert_eq!(get(&station.url("/metrics")).status, 401);
    // The page itself and the health check stay open; the page then asks for the token.
    assert_eq!(get(&station.url("/")).status, 200);
    assert_eq!(get(&station.url("/healthz")).status, 200);
    let session = get(&station.url("/api/session")).json();
    assert_eq!(session["auth_required"], true);
    assert_eq!(session["authenticated"], false);
    assert!(session["csrf"].is_null());
    let bearer = format!("Bearer {token}");
    let reply = request(
        "GET",
        &station.url("/api/units"),
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(reply.status, 200);
    let wrong = request(
        "GET",
        &station.url("/api/units"),
        &[("Authorization", "Bearer nope")],
        None,
    );
    assert_eq!(wrong.status, 401);
    // The page logs in once and then uses its cookie, plus the CSRF header for changes.
    let bad_login = request(
        "POST",
        &station.url("/api/session"),
        &[],
        Some(br#"{"token":"wrong"}"#),
    );
    assert_eq!(bad_login.status, 401);
    let login = request(
        "POST",
        &station.url("/api/session"),
        &[],
        Some(format!("{{\"token\":\"{token}\"}}").as_bytes()),
    );
    assert_eq!(login.status, 204, "{}", login.body);
    let cookie = login.header("set-cookie").expect("cookie").to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().expect("pair").to_owned();
    let with_cookie = request(
        "GET",
        &station.url("/api/units"),
        &[("Cookie", &pair)],
        None,
    );
    assert_eq!(with_cookie.status, 200);
    let token_csrf = csrf(&station.base, &[("Cookie", &pair)]);
    let no_csrf = request(
        "PUT",
        &station.url("/api/mode"),
        &[("Cookie", &pair)],
        Some(br#"{"mode":"audit"}"#),
    );
    assert_eq!(no_csrf.status, 403);
    let switched = request(
        "PUT",
        &station.url("/api/mode"),
        &[("Cookie", &pair), ("X-CSRF-Token", &token_csrf)],
        Some(br#"{"mode":"audit"}"#),
    );
    assert_eq!(switched.status, 200, "{}", switched.body);
    station.finish();
}

#[test]
fn rate_limit_answers_429() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[http]\nrate_limit = 2\n").expect("config");
    let config = config.to_string_lossy().into_owned();
    let station = HttpStation::start_in(dir, &["--config", &config], &[]);
    let statuses: Vec<u16> = (0..12)
        .map(|_| get(&station.url("/api/mode")).status)
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(statuses[0], 200);
    station.finish();
}

#[test]
fn config_errors_name_the_http_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (text, key) in [
        ("[http]\nlisten = \"8080\"\n", "http.listen"),
        ("[http]\ntoken = \"short\"\n", "http.token"),
        ("[http]\nrate_limit = -1\n", "http.rate_limit"),
        ("[http]\nmax_body_bytes = 5\n", "http.max_body_bytes"),
        ("[http]\nlisen = \"127.0.0.1:1\"\n", "http"),
    ] {
        let config = dir.path().join("config.toml");
        std::fs::write(&config, text).expect("config");
        let out = bin()
            .args(["run", "--db"])
            .arg(dir.path().join("s.db"))
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text}");
        assert!(err.contains(key), "{text}: {err}");
    }
}

/// Starts `scanstation serve` on a copy of `db` and returns its base URL.
fn serve(db: &Path) -> (Child, String, Arc<Mutex<String>>) {
    let mut cmd = bin();
    cmd.args(["serve", "--db"])
        .arg(db)
        .args(["--http", "127.0.0.1:0"])
        .env_remove("SCANSTATION_HTTP_TOKEN");
    let (child, base, _, log, _stdin) = spawn(cmd);
    (child, base, log)
}

#[test]
fn serve_is_read_only_and_follows_new_rows() {
    let mut station = HttpStation::start(&[]);
    station.scan(&["SN-SERVE-01", IMEI, IMEI2]);
    station.wait_for("UNIT");
    let db = station.db();
    // The station keeps running and writing; serve reads beside it.
    let (mut server, base, log) = serve(&db);
    let stream = events(&base);
    let units = get(&format!("{base}/api/units")).json();
    assert_eq!(units["units"][0]["serial"], "SN-SERVE-01");
    let token = csrf(&base, &[]);
    let put = request(
        "PUT",
        &format!("{base}/api/mode"),
        &[("X-CSRF-Token", &token)],
        Some(br#"{"mode":"audit"}"#),
    );
    assert_eq!(put.status, 409, "{}", put.body);
    let (kind, body) = list_form("x", "recall", "match,value\n");
    let post = request(
        "POST",
        &format!("{base}/api/lists"),
        &[("X-CSRF-Token", &token), ("Content-Type", &kind)],
        Some(&body),
    );
    assert_eq!(post.status, 409, "{}", post.body);
    assert!(post.body.contains("read-only"));
    // Rows the station commits now reach serve's event stream.
    station.scan(&["SN-SERVE-02", "356938035643809"]);
    let scan = next_event(&stream, "scan");
    assert_eq!(scan["value"], "SN-SERVE-02", "{}", log.lock().expect("log"));
    let health = get(&format!("{base}/healthz")).json();
    assert_eq!(health["read_only"], true);
    assert_eq!(health["store"]["writable"], false);
    let _ = server.kill();
    let _ = server.wait();
    station.finish();
}

#[test]
fn serve_on_a_missing_database_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = bin()
        .args(["serve", "--db"])
        .arg(dir.path().join("none.db"))
        .args(["--http", "127.0.0.1:0"])
        .output()
        .expect("serve");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database at"));
}

#[test]
fn camera_desk_preview_shows_the_last_frame_and_its_symbols() {
    use scanstation::synth::{SceneStep, scene};
    let dir = tempfile::tempdir().expect("tempdir");
    let frames = dir.path().join("frames");
    let script = [SceneStep {
        label: Some(0),
        frames: 40,
    }];
    scene(&frames, 7, &script).expect("generate the scene");
    let config = dir.path().join("station.toml");
    // Debug builds decode slowly; the budget keeps this test about the preview, not speed.
    std::fs::write(&config, "[decode]\nbudget_ms = 20000\n").expect("config");
    let source = format!("replay:{}@10,paced", frames.display());
    let config = config.to_string_lossy().into_owned();
    let station = HttpStation::start_in(
        dir,
        &["--config", &config, "--source", &source, "--json"],
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let preview = loop {
        let reply = get(&station.url("/api/preview"));
        if reply.status == 200
            && reply.json()["symbols"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
        {
            break reply.json();
        }
        assert!(
            Instant::now() < deadline,
            "no preview with symbols: {}",
            reply.body
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        preview["width"].as_u64().is_some_and(|w| w > 0),
        "{preview}"
    );
    let symbol = &preview["symbols"][0];
    assert_eq!(
        symbol["points"].as_array().map(Vec::len),
        Some(4),
        "{preview}"
    );
    assert!(
        ["ok", "bad", "pending"].contains(&symbol["state"].as_str().unwrap_or("")),
        "{preview}"
    );
    assert!(
        preview["symbols"]
            .as_array()
            .expect("symbols")
            .iter()
            .any(|s| s["state"] == "ok"),
        "{preview}"
    );
    let jpeg = ureq::get(&station.url("/api/preview.jpg"))
        .call()
        .expect("jpeg");
    assert_eq!(jpeg.content_type(), "image/jpeg");
    let mut bytes = Vec::new();
    jpeg.into_reader().read_to_end(&mut bytes).expect("read");
    let picture = image::load_from_memory(&bytes).expect("a JPEG");
    assert!(picture.width() <= 800 && picture.width() > 0);
    assert_eq!(get(&station.url("/api/desk")).json()["camera"], true);
}

#[test]
fn evidence_of_a_camera_unit_is_served_as_jpeg() {
    use scanstation::synth::{SceneStep, scene};
    let dir = tempfile::tempdir().expect("tempdir");
    let frames = dir.path().join("frames");
    let script = [SceneStep {
        label: Some(0),
        frames: 30,
    }];
    scene(&frames, 11, &script).expect("generate the scene");
    let config = dir.path().join("station.toml");
    std::fs::write(&config, "[decode]\nbudget_ms = 20000\n").expect("config");
    let db = dir.path().join("camera.db");
    let out = bin()
        .args(["run", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .arg("--source")
        .arg(format!("replay:{}@30", frames.display()))
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut server, base, _log) = serve(&db);
    let unit = get(&format!("{base}/api/units/1")).json();
    assert!(
        unit["evidence"]["bytes"].as_u64().is_some_and(|b| b > 0),
        "{unit}"
    );
    let reply = ureq::get(&format!("{base}/api/units/1/evidence"))
        .call()
        .expect("evidence");
    assert_eq!(reply.content_type(), "image/jpeg");
    let mut bytes = Vec::new();
    reply.into_reader().read_to_end(&mut bytes).expect("read");
    assert_eq!(
        bytes.len() as u64,
        unit["evidence"]["bytes"].as_u64().unwrap_or(0)
    );
    image::load_from_memory(&bytes).expect("a JPEG");
    let _ = server.kill();
    let _ = server.wait();
}
