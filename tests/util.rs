//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The real `scanstation` binary that cargo built for this test run.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scanstation"));
    // Tests never touch the developer's real database or config.
    cmd.env(
        "XDG_DATA_HOME",
        std::env::temp_dir().join("scanstation-tests-xdg-data"),
    );
    cmd.env(
        "XDG_CONFIG_HOME",
        std::env::temp_dir().join("scanstation-tests-xdg-config"),
    );
    cmd.env_remove("RUST_LOG");
    cmd
}

/// Runs the binary with `args`, feeding `stdin`, and returns its output.
pub fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scanstation");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("wait scanstation")
}

/// The shared data folder (`../shared` beside the repo, or `$SCANSTATION_SHARED`), if present.
///
/// Tests that need it print a clear line and pass vacuously when it is absent, so a checkout
/// without the shared data still builds and tests; CI always has it.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SCANSTATION_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "NOTE: shared data not found at {} (set SCANSTATION_SHARED); skipping",
            dir.display()
        );
        None
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A pseudo-terminal whose master is opened close-on-exec, and the path of its slave.
///
/// serialport's `TTYPort::pair()` opens the master without O_CLOEXEC, so a daemon spawned by a
/// test running in parallel would inherit it and the pty would never hang up when the test
/// drops it. The slave is not held open: the station must open it, as it would a real device.
#[cfg(unix)]
pub fn pty() -> (nix::pty::PtyMaster, PathBuf) {
    use nix::fcntl::OFlag;
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .expect("posix_openpt");
    nix::pty::grantpt(&master).expect("grantpt");
    nix::pty::unlockpt(&master).expect("unlockpt");
    let path = nix::pty::ptsname_r(&master).expect("ptsname");
    (master, PathBuf::from(path))
}
