//! The serial scanner source: an RS-232 scanner, or a USB scanner in CDC-ACM mode
//! (`/dev/ttyACM*`, usually behind a udev symlink such as `/dev/barcode_scanner`).
//!
//! Serial mode delivers the raw bytes of a scan, GS/RS/EOT and AIM ids included, with no keyboard
//! layout in the way, so it is the preferred mode for GS1 and ANSI MH10.8.2 labels.
//!
//! Scanners get unplugged. The source treats that as normal: it flushes the partial scan it holds
//! (marked as cut off), reports the device down once, and reopens the same path with backoff until
//! the device comes back, so a udev symlink that follows the device keeps working across replugs.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use serialport::TTYPort;

use super::framing::{Frame, FramingConfig, LineFramer};
use super::reconnect::{self, Reconnect, ResetAfter};
use super::{Error, RawScan, Source, SourceEvent, chain};
use crate::clock;

/// How long one read waits for bytes. It is short so that the inter-character timeout of
/// unterminated scans is honoured within a few milliseconds, and long enough to cost nothing.
const READ_TIMEOUT_MS: u64 = 20;

/// How often an idle source checks that its device path still exists. A USB serial device that
/// is unplugged normally fails the next read at once, but a read that merely times out cannot
/// tell a quiet scanner from one whose node was removed.
const PATH_CHECK_MS: i64 = 1000;

/// Settings of one serial source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialConfig {
    /// The device path, best a stable udev symlink, which is reopened by name after an unplug.
    pub path: PathBuf,
    /// The line speed. Pseudo-terminals and USB CDC-ACM ignore it; RS-232 needs the scanner's.
    pub baud: u32,
    /// How the byte stream is cut into scans.
    pub framing: FramingConfig,
    /// The first wait before reopening a device that went away, in milliseconds.
    pub backoff_min_ms: u64,
    /// The longest wait between reopen attempts, so a replugged scanner is back within this.
    pub backoff_max_ms: u64,
}

impl SerialConfig {
    /// A config for `path` with the defaults: 9600 baud, default framing, backoff 100 ms to 2 s.
    pub fn new(path: impl Into<PathBuf>) -> SerialConfig {
        SerialConfig {
            path: path.into(),
            baud: 9600,
            framing: FramingConfig::default(),
            backoff_min_ms: 100,
            backoff_max_ms: 2000,
        }
    }
}

pub use super::serial_spec::{SpecError, parse_spec};

/// Why a serial source cannot start at all: its path can never become a scanner.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error(
        "{path} is a {what}, not a serial device; give the scanner's device (e.g. /dev/ttyACM0 or a udev symlink)"
    )]
    NotADevice { path: PathBuf, what: &'static str },
    #[error(
        "{path} is a character device but not a terminal (like /dev/null), so it is not a serial scanner"
    )]
    NotATerminal { path: PathBuf },
    #[error(
        "{path} does not exist, and neither does its directory {dir}; a device path lives under /dev"
    )]
    NoDirectory { path: PathBuf, dir: PathBuf },
}

/// The state of a serial path when the station starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathState {
    /// A terminal device, or one that exists but cannot be opened just now (busy, permissions):
    /// the source keeps trying, and says why.
    Present,
    /// Not there yet, but it can appear (a scanner plugged in later, a udev symlink made then).
    Waiting,
}

/// Checks at start that `path` is, or can become, a serial device, so a typo or a wrong file is
/// an error the operator sees at once instead of an endless "scanner went away".
pub fn check_path(path: &Path) -> Result<PathState, PathError> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A missing node under /dev (or a directory that exists) can appear with the device;
            // anything else is a typo.
            let dir = path.parent().unwrap_or(Path::new("/"));
            return if path.starts_with("/dev") || dir.as_os_str().is_empty() || dir.is_dir() {
                Ok(PathState::Waiting)
            } else {
                Err(PathError::NoDirectory {
                    path: path.to_owned(),
                    dir: dir.to_owned(),
                })
            };
        }
        // Unreadable metadata (permissions on a directory): keep trying and let open say why.
        Err(_) => return Ok(PathState::Present),
    };
    let kind = meta.file_type();
    let what = if kind.is_file() {
        "regular file"
    } else if kind.is_dir() {
        "directory"
    } else if kind.is_fifo() {
        "named pipe"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_block_device() {
        "block device"
    } else {
        // A character device: a terminal is a scanner candidate, anything else is not. Opening
        // with O_NONBLOCK never waits for a modem line, and O_NOCTTY never makes it our terminal.
        return match std::fs::File::options()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
        {
            Ok(file) if !std::io::IsTerminal::is_terminal(&file) => Err(PathError::NotATerminal {
                path: path.to_owned(),
            }),
            // A terminal, or one we may not open yet (busy, permissions): open says why later.
            _ => Ok(PathState::Present),
        };
    };
    Err(PathError::NotADevice {
        path: path.to_owned(),
        what,
    })
}

/// A scanner on a serial device. See the module documentation for its behaviour on unplug.
#[derive(Debug)]
pub struct SerialSource {
    cfg: SerialConfig,
}

impl SerialSource {
    pub fn new(cfg: SerialConfig) -> SerialSource {
        SerialSource { cfg }
    }
}

impl Source for SerialSource {
    fn name(&self) -> String {
        format!("serial:{}", self.cfg.path.display())
    }

    /// Reads scans until the receiver is gone.
    ///
    /// The receiver going away is only noticed at the next send, so while the device stays absent
    /// the thread keeps retrying in the background; that costs one `open` per `backoff_max_ms`.
    fn run(self: Box<Self>, events: SyncSender<SourceEvent>) {
        let name = self.name();
        let path = self.cfg.path.as_path();
        // Down is sent once per outage, not once per failed attempt, so the event loop and the
        // operator see one line when a scanner is unplugged for an hour. Only a device that
        // delivered data counts as working again: one that opens and fails at once (a node that
        // lingers after the unplug) keeps the backoff growing.
        let mut reconnect = Reconnect::new(
            Duration::from_millis(self.cfg.backoff_min_ms),
            Duration::from_millis(self.cfg.backoff_max_ms),
            reconnect::to_events(&name, &events),
        )
        .reset_after(ResetAfter::Data);
        loop {
            let port = match open(&self.cfg) {
                Ok(port) => port,
                Err(error) => {
                    if reconnect.is_down() {
                        tracing::debug!(path = %path.display(), error = %chain(&error), "serial device still unavailable");
                    } else {
                        tracing::warn!(path = %path.display(), error = %chain(&error), "serial device unavailable, retrying");
                    }
                    if reconnect.failed(error).is_err() {
                        return;
                    }
                    continue;
                }
            };
            tracing::info!(path = %path.display(), baud = self.cfg.baud, "serial device open");
            if reconnect.opened().is_err() {
                return;
            }
            let mut framer = LineFramer::new(self.cfg.framing.clone());
            let session = pump(port, path, &mut framer, &name, &events);
            if session.got_bytes {
                reconnect.delivered();
            }
            let Some(error) = session.lost else {
                return;
            };
            // Whatever arrived before the loss is delivered, marked as cut off, before Down.
            let flushed = framer
                .finish()
                .is_none_or(|frame| send_scan(&events, &name, frame));
            if !flushed {
                return;
            }
            tracing::warn!(path = %path.display(), error = %chain(&error), "serial device went away, reopening");
            if reconnect.lost(error).is_err() {
                return;
            }
        }
    }
}

/// Opens the device.
fn open(cfg: &SerialConfig) -> Result<TTYPort, Error> {
    serialport::new(cfg.path.to_string_lossy(), cfg.baud)
        .timeout(Duration::from_millis(READ_TIMEOUT_MS))
        .open_native()
        .map_err(|e| Error::Open {
            path: cfg.path.clone(),
            source: e.into(),
        })
}

/// How one open session of the device ended.
struct Session {
    /// Whether any byte was read.
    got_bytes: bool,
    /// Why the device counts as gone, or `None` when the receiver is gone and the source stops.
    lost: Option<Error>,
}

/// Reads the open port until the device goes away or the receiver is gone. The port is closed on
/// return, which also releases its exclusive lock for the next open.
fn pump(
    mut port: TTYPort,
    path: &Path,
    framer: &mut LineFramer,
    name: &str,
    events: &SyncSender<SourceEvent>,
) -> Session {
    let mut buf = [0u8; 1024];
    let mut got_bytes = false;
    // Gaps and checks are durations, so they run on the monotonic clock.
    let mut last_path_check = clock::mono_ms();
    let gone = |got_bytes: bool, why: Error| Session {
        got_bytes,
        lost: Some(why),
    };
    let receiver_gone = |got_bytes: bool| Session {
        got_bytes,
        lost: None,
    };
    loop {
        match port.read(&mut buf) {
            Ok(0) => {
                return gone(
                    got_bytes,
                    Error::Closed {
                        path: path.to_owned(),
                    },
                );
            }
            Ok(n) => {
                got_bytes = true;
                let bytes = buf.get(..n).unwrap_or(&[]);
                for frame in framer.push(bytes, clock::mono_ms()) {
                    if !send_scan(events, name, frame) {
                        return receiver_gone(got_bytes);
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) =>
            {
                let now = clock::mono_ms();
                let sent = framer
                    .poll_idle(now)
                    .is_none_or(|frame| send_scan(events, name, frame));
                if !sent {
                    return receiver_gone(got_bytes);
                }
                if now.saturating_sub(last_path_check) >= PATH_CHECK_MS {
                    last_path_check = now;
                    if let Err(source) = std::fs::metadata(path) {
                        return gone(
                            got_bytes,
                            Error::Vanished {
                                path: path.to_owned(),
                                source,
                            },
                        );
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return gone(
                    got_bytes,
                    Error::Read {
                        path: path.to_owned(),
                        source,
                    },
                );
            }
        }
    }
}

/// Sends one frame as a scan; false when the receiver is gone.
fn send_scan(events: &SyncSender<SourceEvent>, name: &str, frame: Frame) -> bool {
    let scan = RawScan {
        source: name.to_owned(),
        at_ms: clock::now_ms(),
        mono_ms: clock::mono_ms(),
        bytes: frame.bytes,
        problem: frame.problem,
    };
    events.send(SourceEvent::Scan(scan)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults() {
        let cfg = SerialConfig::new("/dev/scanner");
        assert_eq!(cfg.baud, 9600);
        assert_eq!(cfg.framing, FramingConfig::default());
        assert_eq!((cfg.backoff_min_ms, cfg.backoff_max_ms), (100, 2000));
        assert_eq!(
            SerialSource::new(cfg).name(),
            "serial:/dev/scanner".to_owned()
        );
    }
}
