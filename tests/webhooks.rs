//! Webhooks end to end: the real binary, a real SQLite file, and a real HTTP receiver on
//! loopback (a minimal HTTP/1.1 server on a std `TcpListener` that records every request).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use hmac::Mac;
use scanstation::ident::device::imei_check_digit;

use crate::daemon::read_lines;
use crate::util::{bin, stderr, stdout};

const SECRET: &str = "s3cret-for-tests";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Request {
    /// Header names in lowercase.
    headers: HashMap<String, String>,
    body: String,
    /// The status it was answered with.
    status: u16,
}

impl Request {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// A receiver on a port: answers the n-th request (from 0) with `status(n)`.
struct Receiver {
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Receiver {
    fn start(listener: TcpListener, status: fn(usize) -> u16) -> Receiver {
        listener.set_nonblocking(true).expect("nonblocking");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicUsize::new(0));
        {
            let requests = Arc::clone(&requests);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let requests = Arc::clone(&requests);
                            let count = Arc::clone(&count);
                            std::thread::spawn(move || serve(stream, &requests, &count, status));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            });
        }
        Receiver { requests, stop }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }

    /// Waits until `done` holds for the requests so far, failing after `timeout`.
    fn wait_until(&self, timeout: Duration, done: impl Fn(&[Request]) -> bool) -> Vec<Request> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.requests();
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not get what was expected within {timeout:?}: {got:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Serves the requests of one connection (the client may keep it alive for several).
fn serve(
    stream: TcpStream,
    requests: &Mutex<Vec<Request>>,
    count: &AtomicUsize,
    status: fn(usize) -> u16,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.trim().is_empty() {
            continue;
        }
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            match reader.read_line(&mut header) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let n = count.fetch_add(1, Ordering::SeqCst);
        let code = status(n);
        requests.lock().expect("lock").push(Request {
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            status: code,
        });
        let reason = if code == 200 { "OK" } else { "Server Error" };
        let answer = format!("HTTP/1.1 {code} {reason}\r\nContent-Length: 2\r\n\r\nok");
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// A port with nothing listening on it (bound once by the OS, then released).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn imei(n: u64) -> String {
    let payload = format!("35{:012}", 770_000 + n);
    format!("{payload}{}", imei_check_digit(&payload).unwrap_or('0'))
}

/// The scans of one handheld unit: a serial and an IMEI, closed by NEXT.
fn unit_scans(n: u64) -> String {
    format!("SC02X{:08}\n{}\nSCANSTATION:NEXT\n", 4_200 + n, imei(n))
}

fn write_config(dir: &Path, url: &str, extra: &str) -> String {
    let path = dir.join("station.toml");
    std::fs::write(
        &path,
        format!("[[webhooks]]\nurl = \"{url}\"\nsecret = \"{SECRET}\"\ntimeout_ms = 2000\n{extra}"),
    )
    .expect("config");
    path.to_string_lossy().into_owned()
}

/// Starts the station with stdin piped and kept open, logs in `log`.
fn spawn(db: &str, config: &str, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log");
    bin()
        .args(["run", "--json", "--db", db, "--config", config])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn")
}

/// Sends `units` handheld units, waiting for each unit's event, and returns every line (scans
/// and units) acknowledged meanwhile.
fn send_units(
    child: &mut Child,
    lines: &mpsc::Receiver<String>,
    units: std::ops::Range<u64>,
) -> Vec<String> {
    let stdin = child.stdin.as_mut().expect("stdin");
    let mut got = Vec::new();
    for n in units {
        stdin.write_all(unit_scans(n).as_bytes()).expect("write");
        stdin.flush().expect("flush");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no unit event for unit {n}"));
            let unit = line.contains("\"event\":\"unit\"");
            got.push(line);
            if unit {
                break;
            }
        }
    }
    got
}

fn status_json(db: &str, config: &str) -> serde_json::Value {
    let out = bin()
        .args([
            "webhooks", "status", "--db", db, "--config", config, "--json",
        ])
        .output()
        .expect("status");
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(stdout(&out).trim()).expect("status JSON")
}

fn verify_signature(request: &Request) {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(request.body.as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        request.header("x-scanstation-signature"),
        format!("sha256={want}"),
        "{request:?}"
    );
}

/// The test: the receiver is down at first, the station is killed in between, and
/// every unit still arrives, in order, each key with one body, signed.
#[test]
fn units_reach_a_receiver_that_was_down_across_a_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("station.db").to_string_lossy().into_owned();
    let log = dir.path().join("station.log");
    let port = free_port();
    let config = write_config(dir.path(), &format!("http://127.0.0.1:{port}/hook"), "");

    let mut first = spawn(&db, &config, &log);
    let lines = read_lines(&mut first);
    let units_only = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .filter(|l| l.contains("\"event\":\"unit\""))
            .collect()
    };
    let mut acked = units_only(send_units(&mut first, &lines, 0..3));
    first.kill().expect("SIGKILL");
    let _ = first.wait();

    let mut second = spawn(&db, &config, &log);
    let lines = read_lines(&mut second);
    acked.extend(units_only(send_units(&mut second, &lines, 3..6)));

    // Everything acknowledged is waiting: the receiver has not been up yet. The failed
    // attempt shows once the delivery thread has made one, which a loaded machine can delay.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut before = status_json(&db, &config);
    while !before["webhooks"][0]["last_error"].is_string() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        before = status_json(&db, &config);
    }
    let hook = &before["webhooks"][0];
    assert_eq!(hook["backlog"], 6, "{before}");
    assert_eq!(hook["delivered_to"], 0, "{before}");
    assert!(hook["last_error"].is_string(), "{before}");
    assert!(hook["oldest_undelivered"].is_string(), "{before}");

    let receiver = Receiver::start(
        TcpListener::bind(("127.0.0.1", port)).expect("bind the reserved port"),
        |_| 200,
    );
    let ids: Vec<i64> = acked
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("JSON")["id"]
                .as_i64()
                .expect("id")
        })
        .collect();
    let got = receiver.wait_until(Duration::from_secs(60), |got| {
        ids.iter().all(|id| {
            got.iter()
                .any(|r| r.body.contains(&format!("\"id\":{id},")))
        })
    });

    // Every unit at least once, with exactly its `run --json` line as the body, in order of
    // first arrival.
    let mut first_arrival: Vec<&str> = Vec::new();
    for request in &got {
        if !first_arrival.contains(&request.body.as_str()) {
            first_arrival.push(&request.body);
        }
    }
    let acked_refs: Vec<&str> = acked.iter().map(String::as_str).collect();
    assert_eq!(
        first_arrival, acked_refs,
        "in commit order, each body the event line"
    );
    // One key, one body; every request signed and labelled.
    let mut bodies: HashMap<String, String> = HashMap::new();
    for request in &got {
        let key = request.header("idempotency-key").to_owned();
        assert!(!key.is_empty(), "{request:?}");
        let delivery = request.header("x-scanstation-delivery");
        assert!(key.ends_with(&format!("-{delivery}")), "{request:?}");
        if let Some(body) = bodies.insert(key.clone(), request.body.clone()) {
            assert_eq!(body, request.body, "two bodies for key {key}");
        }
        assert_eq!(request.header("x-scanstation-event"), "unit");
        assert_eq!(request.header("content-type"), "application/json");
        verify_signature(request);
    }
    assert_eq!(bodies.len(), 6, "one key per unit: {bodies:#?}");

    // The backlog is gone once the cursor is committed.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let after = status_json(&db, &config);
        if after["webhooks"][0]["backlog"] == 0 {
            assert!(after["webhooks"][0]["last_success"].is_string(), "{after}");
            assert_eq!(after["webhooks"][0]["attempts"], 0, "{after}");
            break;
        }
        assert!(Instant::now() < deadline, "backlog not cleared: {after}");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(second.stdin.take());
    let status = second.wait().expect("wait");
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let text = std::fs::read_to_string(&log).expect("log");
    // The outage is logged once per run, not once per retry.
    let outages = text
        .matches("webhook receiver is not taking deliveries")
        .count();
    assert!((1..=2).contains(&outages), "{text}");
    // The first run logs the outage and is killed before the receiver is up. The second logs
    // it, and then that it is back, only when its first attempt came before the receiver was
    // up; the first run's failed attempt in the status can end the wait above at once, and
    // then the second run's first attempt succeeds with nothing to report.
    assert_eq!(
        text.matches("webhook receiver is back").count(),
        outages - 1,
        "{text}"
    );
}

/// A receiver answering 500 is retried until it answers 200, with the same key and body;
/// scan events go out too when asked for, in commit order.
#[test]
fn a_failing_receiver_is_retried_with_the_same_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("station.db").to_string_lossy().into_owned();
    let log = dir.path().join("station.log");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let receiver = Receiver::start(listener, |n| if n < 2 { 500 } else { 200 });
    let config = write_config(
        dir.path(),
        &format!("http://127.0.0.1:{port}/hook"),
        "events = [\"scan\", \"unit\"]\n",
    );
    let mut child = spawn(&db, &config, &log);
    let lines = read_lines(&mut child);
    let mut acked = send_units(&mut child, &lines, 0..1);
    drop(child.stdin.take());
    acked.extend(lines.iter());
    let status = child.wait().expect("wait");
    assert!(status.success());
    assert_eq!(acked.len(), 4, "three scans and a unit: {acked:#?}");

    // The station has exited, so what it delivered is what the receiver has; start it again to
    // finish, if the retries had not gone through before the end of input.
    let mut again = spawn(&db, &config, &log);
    let got = receiver.wait_until(Duration::from_secs(30), |got| {
        got.iter().filter(|r| r.status == 200).count() >= 4
    });
    drop(again.stdin.take());
    assert!(again.wait().expect("wait").success());

    assert_eq!((got[0].status, got[1].status), (500, 500));
    assert_eq!(got[0].body, got[2].body, "the same row is retried");
    assert_eq!(
        got[0].header("idempotency-key"),
        got[2].header("idempotency-key")
    );
    // A delivery answered just as the first station exited may come again (at least once);
    // first arrivals are what must be in order.
    let mut delivered: Vec<&str> = Vec::new();
    for request in got.iter().filter(|r| r.status == 200) {
        if !delivered.contains(&request.body.as_str()) {
            delivered.push(&request.body);
        }
    }
    let acked: Vec<&str> = acked.iter().map(String::as_str).collect();
    assert_eq!(delivered, acked, "scans and the unit, in commit order");
    for request in &got {
        let kind = request.header("x-scanstation-event");
        assert!(
            request.body.starts_with(&format!("{{\"event\":\"{kind}\"")),
            "{request:?}"
        );
    }
    for request in &got {
        verify_signature(request);
    }
    let after = status_json(&db, &config);
    assert_eq!(after["webhooks"][0]["backlog"], 0, "{after}");
    assert_eq!(after["webhooks"][0]["last_error"], serde_json::Value::Null);
    assert_eq!(
        after["webhooks"][0]["events"],
        serde_json::json!(["unit", "scan"])
    );
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(!text.contains(SECRET), "the secret is never logged: {text}");
}

/// With the receiver down the station still acknowledges at once and stops promptly at the end
/// of input; the event waits in the outbox, and the status says so in text.
#[test]
fn a_down_receiver_neither_delays_nor_holds_the_station() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("station.db").to_string_lossy().into_owned();
    let port = free_port();
    let config = write_config(
        dir.path(),
        &format!("http://ops:hunter2pass@127.0.0.1:{port}/\\u001b[31mhook"),
        "",
    );
    let start = Instant::now();
    let out = crate::util::run_with_stdin(
        &["run", "--json", "--db", &db, "--config", &config],
        unit_scans(1).as_bytes(),
    );
    let took = start.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("\"event\":\"unit\""));
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    // The station's log names the webhook, but not the password in its URL.
    assert!(stderr(&out).contains("ops:***@"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hunter2pass"), "{}", stderr(&out));

    let out = bin()
        .args(["webhooks", "status", "--db", &db, "--config", &config])
        .output()
        .expect("status");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("  backlog: 1\n"), "{text}");
    assert!(text.contains("  delivered up to: 0\n"), "{text}");
    assert!(text.contains("  last success: never\n"), "{text}");
    assert!(text.contains("\\x1b[31mhook"), "the URL is escaped: {text}");
    assert!(!text.contains(SECRET), "{text}");
    // A password in the URL is never shown: not in the status, its stored error, or the log.
    assert!(text.contains("http://ops:***@127.0.0.1"), "{text}");
    assert!(!text.contains("hunter2pass"), "{text}");
    let json = status_json(&db, &config);
    assert!(!json.to_string().contains("hunter2pass"), "{json}");
    // Without a config, the webhooks the database knows are listed.
    let out = bin()
        .args(["webhooks", "status", "--db", &db])
        .output()
        .expect("status");
    assert!(stdout(&out).contains("  backlog: 1\n"), "{}", stdout(&out));
}

#[test]
fn webhook_config_errors_name_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("station.db").to_string_lossy().into_owned();
    for (text, key) in [
        (
            "[[webhooks]]\nurl = \"http://127.0.0.1:9/a\"\n\n[[webhooks]]\nurl = \"ftp://example.com/\"\n",
            "webhooks[1].url",
        ),
        (
            "[[webhooks]]\nurl = \"https://example.com/\"\nevents = [\"unit\", \"units\"]\n",
            "webhooks[0].events[1]",
        ),
        (
            "[[webhooks]]\nurl = \"https://example.com/\"\ntimeout_ms = 0\n",
            "webhooks[0].timeout_ms",
        ),
        (
            "[[webhooks]]\nurl = \"https://example.com/\"\nsecrets = \"x\"\n",
            "webhooks[0].secrets",
        ),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).expect("config");
        let out = crate::util::run_with_stdin(
            &["run", "--db", &db, "--config", &path.to_string_lossy()],
            b"",
        );
        assert!(!out.status.success(), "{text}");
        let err = stderr(&out);
        assert!(err.contains(&format!(": {key}: ")), "{text}: {err}");
    }
}

#[test]
fn status_of_a_missing_database_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("none.db");
    let out = bin()
        .args(["webhooks", "status", "--db", &db.to_string_lossy()])
        .output()
        .expect("status");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no database at"), "{}", stderr(&out));
    assert!(!db.exists(), "status creates nothing");
}
