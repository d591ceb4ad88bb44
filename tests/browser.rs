//! The desk page in a real Chromium: the real station (`scanstation run --http 127.0.0.1:0`) is fed
//! scans on its stdin, and the page it serves is driven through chromedriver over the W3C
//! WebDriver HTTP protocol by the small client below (ureq and serde_json, no browser crate).
//!
//! Debian's `chromium` and `chromium-driver` must be installed. When they are missing the test
//! says so on stderr and passes, unless `SCANSTATION_REQUIRE_BROWSER=1` (CI sets it), where it
//! fails. The screenshot always lands in `target/artifacts/desk.png`, and also in `docs/desk.png`
//! (the README's picture) with `SCANSTATION_UPDATE_SCREENSHOT=1`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{bin, stderr};

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long the page may take to show what a scan or a click caused. The stream delivers within
/// milliseconds; the margin is for a loaded 2-core CI machine starting Chromium beside a build.
const WAIT: Duration = Duration::from_secs(15);
/// The W3C key under which an element reference travels.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Both payloads of issue 11, scanned as raw lines: the page must show them as text.
const XSS: [&str; 2] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=\"window.__xss=1\">",
];

/// `chromedriver` on the PATH, or `None`.
fn chromedriver() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromedriver"))
        .find(|p| p.is_file())
}

/// What the test does without a browser: a note and a pass, or a failure under
/// `SCANSTATION_REQUIRE_BROWSER=1`, so CI cannot pass by skipping.
fn missing_browser(what: &str) {
    if std::env::var_os("SCANSTATION_REQUIRE_BROWSER").is_some_and(|v| v == "1") {
        panic!(
            "{what} not found; SCANSTATION_REQUIRE_BROWSER=1 makes this a failure (apt-get install chromium chromium-driver)"
        );
    }
    // Straight to stderr: libtest captures `eprintln!` of a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "NOTE: {what} not found (apt-get install chromium chromium-driver); skipping the browser test"
    );
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// A child process that is killed when the test ends, passing or failing.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver on a free port, killed on drop.
struct ChromeDriver {
    _child: Killed,
    url: String,
}

impl ChromeDriver {
    fn start(path: &Path) -> ChromeDriver {
        let port = free_port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", path.display()));
        let driver = ChromeDriver {
            _child: Killed(child),
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = ureq::get(&format!("{}/status", driver.url))
                .timeout(Duration::from_secs(2))
                .call()
                .ok()
                .and_then(|r| r.into_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                return driver;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver on port {port} not ready after {WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One WebDriver session: a headless Chromium with a profile of its own, closed on drop.
struct Browser {
    agent: ureq::Agent,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A browser whose window is `width` x `height` (1366x768 is the desk screen).
    fn start(driver: &ChromeDriver, (width, height): (u32, u32)) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={width},{height}"),
                ],
            },
        }}});
        let reply = send(
            &agent,
            "POST",
            &format!("{}/session", driver.url),
            Some(caps),
        );
        let id = reply["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("new session without an id: {reply}"))
            .to_owned();
        Browser {
            agent,
            session: format!("{}/session/{id}", driver.url),
            _profile: profile,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        send(
            &self.agent,
            method,
            &format!("{}{path}", self.session),
            body,
        )
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` in the page (a function body: `arguments[i]` are `args`) and returns its value.
    fn js(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    fn element(&self, css: &str) -> String {
        let found = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        found[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    /// A real click, through the browser's input pipeline (not a synthetic JS event).
    fn click(&self, css: &str) {
        let id = self.element(css);
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Types `text` into an input as key presses.
    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.cmd("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn screenshot(&self) -> Vec<u8> {
        let data = self.cmd("GET", "/screenshot", None);
        let text = data.as_str().expect("screenshot is base64 text");
        base64_decode(text).expect("screenshot base64")
    }

    /// The parts of the page the assertions read, as one JSON object (also the failure message).
    fn desk(&self) -> Value {
        self.js(
            r#"
            const text = (sel) => { const e = document.querySelector(sel); return e ? e.textContent : null; };
            const slot = (name) => {
              const e = document.getElementById('slot-' + name);
              return e ? { value: e.querySelector('.slot-value').textContent, filled: e.classList.contains('filled') } : null;
            };
            const panel = document.getElementById('decision-panel');
            return {
              connection: text('#connection'),
              decision: text('#decision'),
              label: text('#decision-label'),
              reason: text('#decision-reason'),
              detail: text('#decision-detail'),
              tone: panel ? panel.dataset.tone || null : null,
              unit: text('#unit-id'),
              slots: { serial: slot('serial'), imei1: slot('imei1'), imei2: slot('imei2'), eid: slot('eid') },
              modes: [...document.querySelectorAll('#mode button')].map((b) => b.dataset.mode),
              mode: (document.querySelector('#mode button.active') || {}).dataset?.mode || null,
              recall: [...document.querySelectorAll('#recall li')].map((li) => ({
                list: li.dataset.list,
                count: li.querySelector('.recall-count').textContent,
                value: li.querySelector('progress').value,
                max: li.querySelector('progress').max,
              })),
              recent: [...document.querySelectorAll('#recent li[data-unit]')].map((li) => ({
                unit: li.dataset.unit, tone: [...li.classList].find((c) => c.startsWith('tone-')), text: li.textContent,
              })),
              results: text('#results'),
              login: !document.getElementById('login').classList.contains('hidden'),
              login_error: text('#login-error'),
              message: text('#message'),
            };
            "#,
            json!([]),
        )
    }

    /// Polls the page until `ready` accepts its state; fails with the last state after `WAIT`.
    fn wait_for(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let desk = self.desk();
            if ready(&desk) {
                return desk;
            }
            assert!(
                Instant::now() < deadline,
                "the page did not show {what} within {WAIT:?}; it shows:\n{desk:#}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls `script` until it returns `true`; fails with the page state after `WAIT`.
    fn wait_js(&self, what: &str, script: &str, args: Value) {
        let deadline = Instant::now() + WAIT;
        while self.js(script, args.clone()) != true {
            assert!(
                Instant::now() < deadline,
                "the page did not show {what} within {WAIT:?}; it shows:\n{:#}",
                self.desk()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Evidence that scanned text became markup or ran: script or image elements added since
    /// `watch_dom`, any `on*` attribute anywhere, `window.__xss`, and the page's scripts.
    fn injection(&self) -> Value {
        self.js(
            r#"
            const handlers = [...document.querySelectorAll('*')]
              .filter((e) => [...e.attributes].some((a) => a.name.toLowerCase().startsWith('on')))
              .map((e) => e.outerHTML.slice(0, 200));
            return {
              added: window.__added || null,
              handlers,
              xss: typeof window.__xss,
              scripts: [...document.scripts].map((s) => s.getAttribute('src')),
              images: [...document.images].map((i) => i.getAttribute('src')),
            };
            "#,
            json!([]),
        )
    }

    /// Records every element the page adds from now on that could run code or fetch a URL.
    fn watch_dom(&self) {
        self.js(
            r#"
            window.__added = [];
            const risky = ['SCRIPT', 'IMG', 'IFRAME', 'OBJECT', 'EMBED', 'SVG', 'LINK', 'STYLE', 'META', 'BASE'];
            new MutationObserver((records) => {
              for (const r of records) for (const node of r.addedNodes) {
                if (node.nodeType !== 1) continue;
                for (const e of [node, ...node.querySelectorAll('*')]) {
                  if (risky.includes(e.tagName.toUpperCase())) window.__added.push(e.tagName + ' ' + (e.getAttribute('src') || ''));
                }
              }
            }).observe(document, { subtree: true, childList: true });
            "#,
            json!([]),
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.session).call();
    }
}

/// One WebDriver request; a WebDriver error fails the test with the driver's message.
fn send(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Value {
    let request = agent.request(method, url);
    let reply = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    match reply {
        Ok(response) => {
            let mut value: Value = response
                .into_json()
                .unwrap_or_else(|err| panic!("{method} {url}: reply is not JSON: {err}"));
            value["value"].take()
        }
        Err(ureq::Error::Status(code, response)) => {
            let text = response.into_string().unwrap_or_default();
            panic!("{method} {url}: WebDriver error {code}: {text}")
        }
        Err(err) => panic!("{method} {url}: {err}"),
    }
}

/// Standard base64 (the screenshot), without a dependency for twenty lines.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in text.bytes() {
        let digit = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(digit);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The real station with the HTTP side on a free loopback port and scans on its stdin.
struct Station {
    child: Killed,
    stdin: Option<ChildStdin>,
    url: String,
    log: Arc<Mutex<String>>,
}

impl Station {
    /// The station on `db`, with `token` as its API token when given.
    fn start(db: &Path, token: Option<&str>) -> Station {
        Station::start_with(db, token, &[])
    }

    /// The station with extra arguments (`--source ...`, `--config ...`).
    fn start_with(db: &Path, token: Option<&str>, args: &[String]) -> Station {
        let mut cmd = bin();
        cmd.args(["run", "--db"])
            .arg(db)
            .args(args)
            .args(["--http", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .env_remove("SCANSTATION_HTTP_TOKEN");
        if let Some(token) = token {
            cmd.env("SCANSTATION_HTTP_TOKEN", token);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn scanstation run");
        let stdin = child.stdin.take();
        // The acknowledgement lines are drained: a full pipe would stall the station, and a closed
        // stdout would stop it.
        let mut out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if line.contains("http listening")
                    && let Some(addr) = listening_addr(&line)
                {
                    let _ = tx.send(addr);
                }
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let mut station = Station {
            child: Killed(child),
            stdin,
            url: String::new(),
            log,
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => station.url = format!("http://{addr}"),
            Err(_) => panic!(
                "the station logged no `http listening ... addr=` line within 30 s; its log:\n{}",
                station.log()
            ),
        }
        station
    }

    fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn scan(&mut self, lines: &str) {
        let stdin = self.stdin.as_mut().expect("station stdin open");
        stdin
            .write_all(lines.as_bytes())
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|err| panic!("cannot write scans: {err}; log:\n{}", self.log()));
    }

    fn get(&self, path: &str, token: Option<&str>) -> Value {
        let mut request = ureq::get(&format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        request
            .call()
            .unwrap_or_else(|err| panic!("GET {path}: {err}"))
            .into_json()
            .unwrap_or_else(|err| panic!("GET {path}: not JSON: {err}"))
    }

    /// Ends the input and waits for a clean exit.
    fn stop(mut self) {
        drop(self.stdin.take());
        // A paced camera replay may still be playing: it ends the station when it is done.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.child.0.try_wait() {
                Ok(Some(status)) => {
                    assert!(
                        status.success(),
                        "station exited with {status}; log:\n{}",
                        self.log()
                    );
                    return;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Ok(None) => panic!(
                    "the station did not stop after its input ended; log:\n{}",
                    self.log()
                ),
                Err(err) => panic!("wait for the station: {err}"),
            }
        }
    }
}

impl Drop for Station {
    fn drop(&mut self) {
        // A failing test shows what the station logged; libtest shows this output on failure.
        if std::thread::panicking() {
            eprintln!("station log:\n{}", self.log());
        }
    }
}

/// `127.0.0.1:PORT` out of a log line holding `addr=127.0.0.1:PORT` (quoted or not).
fn listening_addr(line: &str) -> Option<String> {
    let rest = &line[line.find("addr=")? + "addr=".len()..];
    let addr: String = rest
        .trim_start_matches('"')
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    addr.contains(':').then_some(addr)
}

fn import(db: &Path, dir: &Path, kind: &str, name: &str, csv: &str) {
    let file = dir.join(format!("{name}.csv"));
    std::fs::write(&file, csv).expect("write list");
    let out = bin()
        .args(["list", "import", "--db"])
        .arg(db)
        .args(["--kind", kind, "--name", name])
        .arg(&file)
        .output()
        .expect("list import");
    assert!(out.status.success(), "list import: {}", stderr(&out));
}

/// Writes a screenshot to `target/artifacts/NAME`, and to `docs/NAME` for the README's picture
/// when `docs` and `SCANSTATION_UPDATE_SCREENSHOT=1`.
fn save_screenshot(png: &[u8], name: &str, docs: bool) {
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the screenshot is not a PNG"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let artifacts = root.join("target/artifacts");
    std::fs::create_dir_all(&artifacts).expect("create target/artifacts");
    std::fs::write(artifacts.join(name), png)
        .unwrap_or_else(|err| panic!("write target/artifacts/{name}: {err}"));
    if docs && std::env::var_os("SCANSTATION_UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        std::fs::write(root.join("docs").join(name), png)
            .unwrap_or_else(|err| panic!("write docs/{name}: {err}"));
    }
}

fn assert_no_injection(browser: &Browser, when: &str) {
    let seen = browser.injection();
    assert_eq!(
        seen["xss"], "undefined",
        "{when}: window.__xss was set: {seen:#}"
    );
    assert_eq!(
        seen["added"],
        json!([]),
        "{when}: elements were created: {seen:#}"
    );
    assert_eq!(
        seen["handlers"],
        json!([]),
        "{when}: on* attributes exist: {seen:#}"
    );
    assert_eq!(
        seen["scripts"],
        json!(["/assets/app.js"]),
        "{when}: {seen:#}"
    );
    assert!(
        seen["images"]
            .as_array()
            .is_some_and(|imgs| imgs.iter().all(|src| src != "x")),
        "{when}: an <img src=x> exists: {seen:#}"
    );
}

/// chromedriver's path when Chromium and chromedriver are both installed; otherwise the skip
/// note (or the failure under `SCANSTATION_REQUIRE_BROWSER=1`) and `None`.
fn browser_tools() -> Option<PathBuf> {
    if !Path::new(CHROMIUM).is_file() {
        missing_browser(CHROMIUM);
        return None;
    }
    let driver = chromedriver();
    if driver.is_none() {
        missing_browser("chromedriver");
    }
    driver
}

#[test]
fn desk_page_in_chromium_shows_decisions_progress_and_text_only() {
    let Some(driver_path) = browser_tools() else {
        return;
    };

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("desk.db");
    import(
        &db,
        dir.path(),
        "recall",
        "battery-2026",
        "match,value,value_to,reason\n\
         serial,R58M315CL4T,,battery may swell\n\
         imei,490154203237518,,battery may swell\n\
         imei,352099001761481,,battery may swell\n",
    );
    import(
        &db,
        dir.path(),
        "blocklist",
        "stolen",
        "match,value,value_to,reason\nserial,F17XK0AAJC6F,,reported stolen\n",
    );

    let mut station = Station::start(&db, None);
    let driver = ChromeDriver::start(&driver_path);
    let browser = Browser::start(&driver, (1366, 768));
    browser.goto(&format!("{}/", station.url));
    let desk = browser.wait_for("the live desk", |d| {
        d["connection"] == "live" && d["modes"].as_array().is_some_and(|m| m.len() == 4)
    });
    assert_eq!(desk["mode"], "intake", "{desk:#}");
    assert_eq!(
        desk["recall"],
        json!([{"list": "battery-2026", "count": "0/3", "value": 0, "max": 3}]),
        "{desk:#}"
    );
    browser.watch_dom();
    // Counts the tones the page starts: the beep on red is two oscillators.
    browser.js(
        "window.__tones = 0; const start = AudioContext.prototype.createOscillator; \
         AudioContext.prototype.createOscillator = function () { window.__tones++; return start.call(this); };",
        json!([]),
    );
    let tones = |b: &Browser| b.js("return window.__tones;", json!([]));

    // A green unit, slot by slot: the page fills the slots from the scan events.
    station.scan("SC02XG1ABJGH5\n354178036859789\n");
    browser.wait_for("serial and IMEI 1 in their slots", |d| {
        d["slots"]["serial"] == json!({"value": "C02XG1ABJGH5", "filled": true})
            && d["slots"]["imei1"] == json!({"value": "354178036859789", "filled": true})
    });
    let desk = browser.desk();
    assert_eq!(desk["slots"]["imei2"]["filled"], false, "{desk:#}");
    assert_eq!(desk["slots"]["eid"]["filled"], false, "{desk:#}");
    assert_eq!(desk["decision"], "OK", "{desk:#}");
    assert_eq!(desk["tone"], "green", "{desk:#}");
    station.scan("354178036859797\n");
    let desk = browser.wait_for("unit 1 OK", |d| {
        d["label"]
            .as_str()
            .is_some_and(|l| l.starts_with("unit 1 "))
    });
    assert_eq!(desk["decision"], "OK", "{desk:#}");
    assert_eq!(desk["tone"], "green", "{desk:#}");
    assert_eq!(
        desk["slots"]["serial"]["filled"], false,
        "closed unit left in the slots: {desk:#}"
    );
    assert_eq!(desk["recent"][0]["unit"], "1", "{desk:#}");
    assert_eq!(desk["recent"][0]["tone"], "tone-green", "{desk:#}");

    // A blocklisted serial: red at once, and its unit red with the list's reason.
    station.scan("F17XK0AAJC6F\n");
    let desk = browser.wait_for("the blocklisted scan", |d| d["decision"] == "QUARANTINE");
    assert_eq!(desk["tone"], "red", "{desk:#}");
    station.scan("SCANSTATION:NEXT\n");
    let desk = browser.wait_for("unit 2 in quarantine", |d| {
        d["label"]
            .as_str()
            .is_some_and(|l| l.starts_with("unit 2 "))
    });
    assert_eq!(desk["decision"], "QUARANTINE", "{desk:#}");
    assert_eq!(desk["tone"], "red", "{desk:#}");
    assert!(
        desk["reason"]
            .as_str()
            .is_some_and(|r| r.contains("reported stolen")),
        "{desk:#}"
    );
    assert_eq!(desk["recent"][0]["tone"], "tone-red", "{desk:#}");
    // Red beeps (the scan and its unit: two beeps of two tones); green never did.
    assert_eq!(tones(&browser), 4, "{desk:#}");

    // The sound switch silences the next red and is remembered by the browser.
    browser.click("#sound");
    assert_eq!(
        browser.js(
            "return localStorage.getItem('scanstation.sound');",
            json!([])
        ),
        "off"
    );

    // The mode switch is a real PUT with the CSRF header: the station itself changes mode.
    browser.click("#mode button[data-mode=\"recall\"]");
    browser.wait_for("recall mode", |d| d["mode"] == "recall");
    assert_eq!(station.get("/api/mode", None)["mode"], "recall");

    // A recall sweep: the unit is a recall hit and the list's bar moves to 2 of 3.
    station.scan("R58M315CL4T\n490154203237518\n490154203237526\n");
    let desk = browser.wait_for("the recall hit and its progress", |d| {
        d["label"]
            .as_str()
            .is_some_and(|l| l.starts_with("unit 3 "))
            && d["recall"][0]["count"] == "2/3"
    });
    assert_eq!(desk["decision"], "RECALL-HIT", "{desk:#}");
    assert_eq!(desk["tone"], "red", "{desk:#}");
    assert!(
        desk["reason"]
            .as_str()
            .is_some_and(|r| r.contains("battery may swell")),
        "{desk:#}"
    );
    assert_eq!(desk["recall"][0]["value"], 2, "{desk:#}");
    assert_eq!(desk["recall"][0]["max"], 3, "{desk:#}");
    assert_eq!(tones(&browser), 4, "a beep with the sound off");
    browser.click("#sound");
    assert_eq!(
        browser.js(
            "return localStorage.getItem('scanstation.sound');",
            json!([])
        ),
        "on"
    );

    // The search box: the quarantined serial leads to its unit, its scans and its decision.
    browser.type_into("#search", "F17XK0AAJC6F");
    browser.click("#search-form button");
    let desk = browser.wait_for("the found unit", |d| {
        d["results"]
            .as_str()
            .is_some_and(|r| r.contains("unit 2") && r.contains("reported stolen"))
    });
    assert!(
        desk["results"]
            .as_str()
            .is_some_and(|r| r.contains("QUARANTINE") && r.contains("SCANSTATION:NEXT")),
        "{desk:#}"
    );

    save_screenshot(&browser.screenshot(), "desk.png", true);

    // Hostile barcodes: shown as the very text scanned, never as markup or code.
    for payload in XSS {
        station.scan(&format!("{payload}\n"));
        let desk = browser.wait_for("the rejected payload", |d| {
            d["detail"].as_str() == Some(&format!("raw: {payload}"))
        });
        assert_eq!(desk["decision"], "REJECTED", "{desk:#}");
        assert_eq!(desk["tone"], "red", "{desk:#}");
        assert_no_injection(&browser, payload);
        // The search shows the stored scan with its raw text in a table cell.
        browser.type_into("#search", payload);
        browser.click("#search-form button");
        browser.wait_js(
            &format!("the results for {payload}"),
            "return document.getElementById('results').dataset.query === arguments[0];",
            json!([payload]),
        );
        assert_no_injection(&browser, &format!("search for {payload}"));
        browser.wait_js(
            &format!("{payload} in a result cell"),
            "return [...document.querySelectorAll('#results td')].some((td) => td.textContent === arguments[0]);",
            json!([payload]),
        );
    }

    drop(browser);
    drop(driver);
    station.stop();
}

#[test]
fn desk_page_asks_for_the_token_once_then_works_on_a_tablet() {
    let Some(driver_path) = browser_tools() else {
        return;
    };
    const TOKEN: &str = "desk-token-0123456789abcdef";
    let dir = tempfile::tempdir().expect("tempdir");
    let mut station = Station::start(&dir.path().join("desk.db"), Some(TOKEN));
    let driver = ChromeDriver::start(&driver_path);
    // A tablet in portrait: the one-column layout.
    let browser = Browser::start(&driver, (820, 1180));
    browser.goto(&format!("{}/", station.url));
    let desk = browser.wait_for("the token form", |d| d["login"] == true);
    assert_eq!(
        desk["modes"],
        json!([]),
        "the desk showed before the token: {desk:#}"
    );

    browser.type_into("#token", "not-the-token-at-all");
    browser.click("#login button");
    browser.wait_for("the refusal", |d| d["login_error"] == "wrong token");

    // The right token: a session cookie, a reload, and the live desk.
    browser.type_into("#token", TOKEN);
    browser.click("#login button");
    browser.wait_for("the live desk after the token", |d| {
        d["login"] == false
            && d["connection"] == "live"
            && d["modes"].as_array().is_some_and(|m| m.len() == 4)
    });

    // The cookie carries the event stream and, with the CSRF header, the mode switch.
    station.scan("SC02XG1ABJGH5\n354178036859789\n354178036859797\n");
    let desk = browser.wait_for("unit 1 OK", |d| {
        d["label"]
            .as_str()
            .is_some_and(|l| l.starts_with("unit 1 "))
    });
    assert_eq!(desk["decision"], "OK", "{desk:#}");
    assert_eq!(desk["tone"], "green", "{desk:#}");
    browser.click("#mode button[data-mode=\"returns\"]");
    browser.wait_for("returns mode", |d| d["mode"] == "returns");
    assert_eq!(station.get("/api/mode", Some(TOKEN))["mode"], "returns");

    save_screenshot(&browser.screenshot(), "desk-tablet.png", false);
    drop(browser);
    drop(driver);
    station.stop();
}

#[test]
fn camera_desk_page_draws_the_preview_and_shows_the_label_picture() {
    let Some(driver_path) = browser_tools() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let frames = dir.path().join("frames");
    // One label in view to the last frame, so the preview the page polls shows its outlines. The
    // station ends when the replay does, so the replay is paced at 2 frames a second: 30 s of
    // camera for the page to show, from 60 frames (each generated frame costs test time).
    let scene = scanstation::synth::scene(
        &frames,
        7,
        &[scanstation::synth::SceneStep {
            label: Some(0),
            frames: 60,
        }],
    )
    .expect("generate the scene");
    let truth = &scene.units[0];
    // Debug builds decode slowly; a generous budget keeps this test about the page, not speed.
    let config = dir.path().join("station.toml");
    std::fs::write(&config, "[decode]\nbudget_ms = 20000\n").expect("config");
    let station = Station::start_with(
        &dir.path().join("camera.db"),
        None,
        &[
            "--config".to_owned(),
            config.to_string_lossy().into_owned(),
            "--source".to_owned(),
            format!("replay:{}@2,paced", frames.display()),
            "--source".to_owned(),
            "stdin".to_owned(),
        ],
    );
    let driver = ChromeDriver::start(&driver_path);
    let browser = Browser::start(&driver, (1366, 768));
    browser.goto(&format!("{}/", station.url));

    // The camera unit arrives green, like a handheld one.
    let desk = browser.wait_for("the camera unit", |d| {
        d["label"]
            .as_str()
            .is_some_and(|l| l.starts_with("unit 1 "))
    });
    assert_eq!(desk["decision"], "OK", "{desk:#}");
    assert_eq!(desk["tone"], "green", "{desk:#}");

    // The preview: the frame drawn on the canvas, and outlines in the state colours over it. The
    // frame is grey, so strongly coloured pixels can only be the outlines.
    let outline = r#"
        const panel = document.getElementById('preview-panel');
        const canvas = document.getElementById('preview-canvas');
        if (panel.classList.contains('hidden') || !canvas.width) return false;
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let coloured = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
          if (Math.max(r, g, b) - Math.min(r, g, b) > 80) coloured++;
        }
        return coloured > 100 && /^frame \d+/.test(document.getElementById('preview-frame').textContent);
    "#;
    browser.wait_js("the preview with outlines", outline, json!([]));

    // The search shows the label picture the camera kept, loaded from the evidence route.
    browser.type_into("#search", &truth.serial);
    browser.click("#search-form button");
    browser.wait_js(
        "the label picture",
        "const img = document.querySelector('#results img.evidence'); \
         return Boolean(img && img.complete && img.naturalWidth > 0 && /^\\/api\\/units\\/1\\/evidence$/.test(img.getAttribute('src')));",
        json!([]),
    );
    save_screenshot(&browser.screenshot(), "desk-camera.png", false);
    drop(browser);
    drop(driver);
    station.stop();
}
