//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::{Path, PathBuf};
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
    // A station that refuses to start (a locked store, a bad config) may exit before its
    // input is written: the broken pipe is then expected, and its exit status and stderr are
    // what the test checks.
    match child.stdin.take().expect("stdin").write_all(stdin) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(err) => panic!("write stdin: {err}"),
    }
    child.wait_with_output().expect("wait scanstation")
}

/// The shared data folder: `$SCANSTATION_SHARED`, else `../shared` beside the repo.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("SCANSTATION_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// A file of the shared data (`data/tacdb.csv`), or `None` when it is missing: see
/// [`missing_shared`].
pub fn shared_file(relative: &str) -> Option<PathBuf> {
    let path = shared_dir().join(relative);
    if path.is_file() {
        Some(path)
    } else {
        missing_shared(&path, "set SCANSTATION_SHARED to the shared folder");
        None
    }
}

/// What a test does when shared data it needs is missing.
///
/// With `SCANSTATION_REQUIRE_SHARED=1` (CI sets it) the test fails, so a CI run that lost the
/// data cannot pass by skipping. Without it (a checkout without the shared data) the test says
/// on the terminal that it skips and passes: the line goes to stderr directly, because libtest
/// captures `eprintln!` of passing tests.
pub fn missing_shared(path: &Path, hint: &str) {
    if std::env::var_os("SCANSTATION_REQUIRE_SHARED").is_some_and(|v| v == "1") {
        panic!(
            "shared data not found at {} ({hint}); SCANSTATION_REQUIRE_SHARED=1 makes this a failure",
            path.display()
        );
    }
    let _ = writeln!(
        std::io::stderr(),
        "NOTE: shared data not found at {} ({hint}); skipping",
        path.display()
    );
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

/// For each symbol placed in a generated frame, whether `decoder` read it (same text after
/// removing AIM identifiers, GS separators and HRI parentheses; UPC-A is also read as EAN-13
/// with a leading zero).
pub fn placed_read(
    decoder: &scanstation::decode::Decoder,
    frame: &scanstation::synth::GeneratedFrame,
) -> Vec<bool> {
    use scanstation::decode::bench::normalise;
    let read: Vec<String> = decoder
        .decode(&frame.image)
        .expect("decode")
        .into_iter()
        .map(|s| normalise(&s.text))
        .collect();
    frame
        .symbols
        .iter()
        .map(|placed| {
            let want = normalise(&placed.text);
            read.iter()
                .any(|r| *r == want || r.strip_prefix('0') == Some(&want))
        })
        .collect()
}

/// The decoder's settings for tests that assert what is read: the default formats with a
/// budget no test run reaches. The default budget (250 ms, with new work stopped at 75 % of it)
/// is a live camera's; under a full parallel test run on two busy cores an easy frame can take
/// longer than that, and a test that asserts a read then fails on the machine's load, not on
/// the decoder (it did once in CI).
pub fn patient_config() -> scanstation::decode::DecodeConfig {
    scanstation::decode::DecodeConfig {
        budget_ms: 60_000,
        ..scanstation::decode::DecodeConfig::default()
    }
}
