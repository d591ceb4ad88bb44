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
//! Shared by the integration tests (`tests/main.rs`) and the library's sync tests
//! (`src/sync/tests.rs`, through `#[path]`), so it uses only std and tempfile.

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The password of the cluster's `postgres` user over TCP (local socket connections trust).
pub const PASSWORD: &str = "secret";

pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    /// Run the tools as `postgres` (we are root).
    as_postgres: bool,
}

/// The folder holding `initdb` and `pg_ctl`, if PostgreSQL is installed.
fn pg_bin() -> Option<PathBuf> {
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
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
        let Some(bin) = pg_bin() else {
            missing("PostgreSQL's initdb and pg_ctl not found");
            return None;
        };
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("scanstation-pg-")
            .tempdir()
            .expect("tempdir");
        std::fs::write(dir.path().join("pw"), PASSWORD).expect("password file");
        if as_postgres {
            let out = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .output()
                .expect("chown");
            assert!(out.status.success(), "chown: {out:?}");
        }
        let cluster = Cluster {
            dir,
            bin,
            port: free_port(),
            as_postgres,
        };
        let data = cluster.data();
        let pw = cluster.dir.path().join("pw");
        let out = cluster.tool(
            "initdb",
            &[
                "-D",
                data.to_str().expect("utf-8 path"),
                "-U",
                "postgres",
                "--pwfile",
                pw.to_str().expect("utf-8 path"),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "-N",
            ],
        );
        assert!(out.status.success(), "initdb failed: {}", text(&out));
        cluster.start_server();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn tool(&self, name: &str, args: &[&str]) -> Output {
        let program = self.bin.join(name);
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(&program);
            cmd
        } else {
            Command::new(&program)
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("LC_ALL", "C")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
    }

    /// Starts (or restarts) the server and waits until it takes connections.
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -F -c max_connections=40",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        let out = self.tool(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().expect("utf-8 path"),
                "-l",
                log.to_str().expect("utf-8 path"),
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            text(&out),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server the hard way: every backend killed, no checkpoint (a crash).
    pub fn stop_immediate(&self) {
        let _ = self.tool(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().expect("utf-8 path"),
                "-m",
                "immediate",
                "-w",
                "stop",
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
        let host = self.dir.path().display().to_string();
        self.tool(
            "psql",
            &[
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                &host,
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ],
        )
    }

    /// Creates an empty database.
    pub fn create_db(&self, name: &str) {
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_immediate();
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
