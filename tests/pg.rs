//! A throwaway PostgreSQL cluster for the sync tests: `initdb` in a temporary folder, started by
//! `pg_ctl` on a free loopback port with its socket in that folder, stopped (immediate) and
//! deleted on drop. As root it runs as the `postgres` user (Debian's package creates it), since
//! PostgreSQL refuses to run as root.
//!
//! Without PostgreSQL the tests say so on stderr and pass, unless `SCANSTATION_REQUIRE_POSTGRES=1`
//! (set by `.ci/run`), where they fail, like the browser test. `SCANSTATION_PG_BIN` names the
//! folder of `initdb` and `pg_ctl` when they are elsewhere than on PATH or in Debian's
//! `/usr/lib/postgresql/<version>/bin`.
//!
//! Shared by the integration tests (`tests/main.rs`), the library's sync tests
//! (`src/sync/tests.rs`) and `scanstation bench sync` (`src/bench/sync.rs`), through `#[path]`,
//! so it uses only std. `Cluster::create` returns errors (for the benchmark); the other methods
//! are for tests and panic with the tool's output.

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The password of the cluster's `postgres` user over TCP (local socket connections trust).
pub const PASSWORD: &str = "secret";

pub struct Cluster {
    /// The cluster's folder (data, socket, log), removed on drop.
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
    /// Run the tools as `postgres` (we are root).
    as_postgres: bool,
}

/// The folder holding `initdb` and `pg_ctl`, if PostgreSQL is installed.
pub fn pg_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SCANSTATION_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let initdb = dir.join("initdb");
            if initdb.is_file() {
                // Debian links /usr/bin tools to a wrapper; the real folder has both tools.
                let real = std::fs::canonicalize(&initdb).ok()?;
                if let Some(parent) = real.parent().filter(|d| has_tools(d)) {
                    return Some(parent.to_owned());
                }
                if has_tools(&dir) {
                    return Some(dir);
                }
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The skip note, or the failure under `SCANSTATION_REQUIRE_POSTGRES=1`.
fn missing(what: &str) {
    if std::env::var_os("SCANSTATION_REQUIRE_POSTGRES").is_some_and(|v| v == "1") {
        panic!(
            "{what}; SCANSTATION_REQUIRE_POSTGRES=1 makes this a failure (apt-get install postgresql)"
        );
    }
    let _ = writeln!(
        std::io::stderr(),
        "NOTE: {what} (apt-get install postgresql); skipping the PostgreSQL test"
    );
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Cluster {
    /// A new, running cluster, or `None` (after the note) without PostgreSQL.
    pub fn start() -> Option<Cluster> {
        match Cluster::create() {
            Ok(Some(cluster)) => Some(cluster),
            Ok(None) => {
                missing("PostgreSQL's initdb and pg_ctl not found");
                None
            }
            Err(err) => panic!("{err}"),
        }
    }

    /// A new, running cluster; `Ok(None)` when PostgreSQL is not installed.
    pub fn create() -> Result<Option<Cluster>, String> {
        let Some(bin) = pg_bin() else {
            return Ok(None);
        };
        let as_postgres = is_root();
        let dir = unique_dir()?;
        // From here the cluster owns the folder: a failure below removes it on drop.
        let cluster = Cluster {
            dir,
            bin,
            port: free_port()?,
            as_postgres,
        };
        let pw = cluster.dir.join("pw");
        std::fs::write(&pw, PASSWORD).map_err(|e| format!("{}: {e}", pw.display()))?;
        if as_postgres {
            let out = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(&cluster.dir)
                .output()
                .map_err(|e| format!("chown: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "chown postgres {}: {}",
                    cluster.dir.display(),
                    text(&out)
                ));
            }
        }
        if !cluster.copy_template()? {
            cluster.initdb(&pw)?;
            cluster.save_template();
        }
        cluster.try_start_server()?;
        Ok(Some(cluster))
    }

    /// `initdb` into this cluster's data folder.
    fn initdb(&self, pw: &Path) -> Result<(), String> {
        let data = self.data();
        let out = self.tool(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--pwfile".as_ref(),
                pw.as_os_str(),
                "--auth-local=trust".as_ref(),
                "--auth-host=scram-sha-256".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
                "-N".as_ref(),
            ],
        )?;
        if !out.status.success() {
            return Err(format!("initdb failed: {}", text(&out)));
        }
        Ok(())
    }

    /// The integration tests start a dozen clusters, and `initdb` is most of each start (1.6 s
    /// here). A freshly made, never started data folder is kept under cargo's
    /// `CARGO_TARGET_TMPDIR` (one per PostgreSQL version) and copied for the next clusters,
    /// in this run and the next; elsewhere (library tests, `bench sync`) every cluster runs
    /// `initdb`. Copies keep owners and modes (`cp -a`), and a copy is byte for byte what
    /// `initdb` with the same options writes.
    fn template_for(&self) -> Option<PathBuf> {
        let tmp = option_env!("CARGO_TARGET_TMPDIR")?;
        // One template per PostgreSQL install (Debian's bin folder is named by its version).
        let install: String = self
            .bin
            .to_string_lossy()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        Some(Path::new(tmp).join(format!("pg-template{install}")))
    }

    /// Copies the kept data folder into this cluster; `Ok(false)` when there is none yet.
    fn copy_template(&self) -> Result<bool, String> {
        let Some(template) = self
            .template_for()
            .filter(|t| t.join("data/PG_VERSION").is_file())
        else {
            return Ok(false);
        };
        let out = Command::new("cp")
            .arg("-a")
            .arg(template.join("data"))
            .arg(self.data())
            .output()
            .map_err(|e| format!("cp: {e}"))?;
        if out.status.success() {
            Ok(true)
        } else {
            // A broken template is not worth a failed test: run initdb instead.
            let _ = std::fs::remove_dir_all(self.data());
            Ok(false)
        }
    }

    /// Keeps a copy of the just made data folder as the template, made under a temporary
    /// name and renamed into place, so a concurrent test never copies a half-written one.
    fn save_template(&self) {
        let Some(template) = self.template_for() else {
            return;
        };
        let Some(parent) = template.parent() else {
            return;
        };
        if template.exists() || std::fs::create_dir_all(parent).is_err() {
            return;
        }
        // Staged beside the template, since a rename cannot cross file systems.
        let staging = parent.join(format!(".staging-{}", std::process::id()));
        if std::fs::create_dir(&staging).is_err() {
            return;
        }
        let copied = Command::new("cp")
            .arg("-a")
            .arg(self.data())
            .arg(staging.join("data"))
            .status()
            .is_ok_and(|s| s.success());
        if !(copied && std::fs::rename(&staging, &template).is_ok()) {
            let _ = std::fs::remove_dir_all(&staging);
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn tool(&self, name: &str, args: &[&std::ffi::OsStr]) -> Result<Output, String> {
        self.run_as_owner(&self.bin.join(name), args)
    }

    /// Runs `program` as the cluster's owner, in the cluster's folder.
    fn run_as_owner(&self, program: &Path, args: &[&std::ffi::OsStr]) -> Result<Output, String> {
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        cmd.args(args)
            .current_dir(&self.dir)
            .env("LC_ALL", "C")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))
    }

    /// Turns TLS on with a server certificate for 127.0.0.1 signed by a private CA made here
    /// (with the `openssl` tool, as the cluster's owner, so the key is its own), and returns
    /// the CA's certificate file; `None` (with a note) without openssl.
    pub fn enable_tls(&self) -> Option<PathBuf> {
        let Some(openssl) = ["/usr/bin/openssl", "/bin/openssl", "/usr/local/bin/openssl"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
        else {
            missing("the openssl tool not found");
            return None;
        };
        let script = format!(
            "set -e
             {o} req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
                 -subj /CN=scanstation-test-ca 2>/dev/null
             {o} req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
                 -subj /CN=127.0.0.1 2>/dev/null
             printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > server.ext
             {o} x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                 -out server.crt -days 2 -extfile server.ext 2>/dev/null
             chmod 600 server.key",
            o = openssl.display()
        );
        let out = self
            .run_as_owner(Path::new("/bin/sh"), &["-c".as_ref(), script.as_ref()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "making certificates: {}", text(&out));
        for setting in [
            format!(
                "ssl_cert_file = '{}'",
                self.dir.join("server.crt").display()
            ),
            format!("ssl_key_file = '{}'", self.dir.join("server.key").display()),
            "ssl = on".to_owned(),
        ] {
            self.psql("postgres", &format!("ALTER SYSTEM SET {setting}"));
        }
        self.psql("postgres", "SELECT pg_reload_conf()");
        // The reload is asynchronous: wait until new connections see it.
        for _ in 0..100 {
            if self.psql("postgres", "SHOW ssl") == "on" {
                return Some(self.dir.join("ca.crt"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the server did not turn TLS on: {}",
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
    }

    /// Starts (or restarts) the server and waits until it takes connections.
    pub fn start_server(&self) {
        if let Err(err) = self.try_start_server() {
            panic!("{err}");
        }
    }

    fn try_start_server(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -F -c max_connections=40",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        let data = self.data();
        let out = self.tool(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "-o".as_ref(),
                options.as_ref(),
                "start".as_ref(),
            ],
        )?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl start failed: {}\n{}",
                text(&out),
                std::fs::read_to_string(&log).unwrap_or_default()
            ))
        }
    }

    /// Stops the server the hard way: every backend killed, no checkpoint (a crash).
    pub fn stop_immediate(&self) {
        let data = self.data();
        let _ = self.tool(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
    }

    /// A URL for database `db` as `postgres` with the right password.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/{db}",
            self.port
        )
    }

    /// `host:port/db`, as errors name the server.
    pub fn server(&self, db: &str) -> String {
        format!("127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL through `psql` on the local socket and returns its unaligned, tuples-only
    /// output, or panics with psql's error.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = self.try_psql(db, sql);
        assert!(out.status.success(), "psql {sql:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn try_psql(&self, db: &str, sql: &str) -> Output {
        let port = self.port.to_string();
        let words = [
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-p",
            &port,
            "-U",
            "postgres",
            "-d",
            db,
            "-c",
            sql,
            "-h",
        ];
        let args: Vec<&std::ffi::OsStr> = words
            .iter()
            .map(|a| a.as_ref())
            .chain([self.dir.as_os_str()])
            .collect();
        match self.tool("psql", &args) {
            Ok(out) => out,
            Err(err) => panic!("{err}"),
        }
    }

    /// Creates an empty database.
    pub fn create_db(&self, name: &str) {
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_immediate();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new, empty folder of our own under the temp directory.
fn unique_dir() -> Result<PathBuf, String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "scanstation-pg-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
