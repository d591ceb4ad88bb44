//! `hid:PATH`: a keyboard-wedge scanner read straight from its evdev device (feature `wedge`).
//!
//! The device is grabbed exclusively (EVIOCGRAB), so scanner keystrokes never reach another
//! window, and key codes go through the station's own US keymap, so the host's keyboard layout
//! cannot scramble them. An unplugged scanner is reopened with backoff.

use std::path::PathBuf;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use evdev::{Device, EventType};

use super::keymap::{KeyEvent, Keymap, WedgeFramer, WedgeScan};
use super::reconnect::{self, Reconnect};
use super::{Error, FrameProblem, RawScan, Source, SourceEvent};
use crate::clock;

/// How a wedge is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WedgeConfig {
    pub path: PathBuf,
    /// A gap this long between keys ends a scan even without an Enter or Tab suffix.
    pub gap_ms: i64,
    pub max_len: usize,
}

pub struct WedgeSource {
    cfg: WedgeConfig,
}

impl WedgeSource {
    /// Opens the device once now, so a missing or unreadable device is an error at start.
    pub fn open(cfg: WedgeConfig) -> Result<WedgeSource, Error> {
        let device = Device::open(&cfg.path).map_err(|source| Error::OpenInput {
            path: cfg.path.clone(),
            source,
        })?;
        drop(device);
        Ok(WedgeSource { cfg })
    }
}

fn to_raw(source: &str, scan: WedgeScan) -> RawScan {
    RawScan {
        source: source.to_owned(),
        at_ms: clock::now_ms(),
        mono_ms: clock::mono_ms(),
        problem: scan.too_long.map(|len| FrameProblem::TooLong {
            len,
            max: scan.bytes.len(),
        }),
        bytes: scan.bytes,
    }
}

impl Source for WedgeSource {
    fn name(&self) -> String {
        format!("hid:{}", self.cfg.path.display())
    }

    fn run(self: Box<Self>, events: SyncSender<SourceEvent>) {
        let name = self.name();
        let path = self.cfg.path.as_path();
        let mut reconnect = Reconnect::new(
            Duration::from_millis(100),
            Duration::from_secs(2),
            reconnect::to_events(&name, &events),
        );
        loop {
            let Ok(mut device) = reconnect.open(|| {
                let mut device = Device::open(path).map_err(|source| Error::Open {
                    path: path.to_owned(),
                    source,
                })?;
                if let Err(err) = device.grab() {
                    tracing::warn!(source = %name, error = %err, "cannot grab the scanner exclusively; its keys may also reach other windows");
                }
                Ok(device)
            }) else {
                return;
            };
            let mut keymap = Keymap::default();
            let mut framer = WedgeFramer::new(self.cfg.gap_ms, self.cfg.max_len);
            let error = loop {
                // Wait for keys, but never past the moment the gap ends the scan being typed:
                // a scanner without an Enter suffix must deliver its scan then, not when the
                // next scan starts.
                let wait_ms = framer
                    .deadline()
                    .map_or(1000, |d| d.saturating_sub(clock::mono_ms()).clamp(0, 1000));
                match readable(&device, path, wait_ms) {
                    Ok(true) => {}
                    Ok(false) => {
                        if let Some(scan) = framer.poll(clock::mono_ms())
                            && events.send(SourceEvent::Scan(to_raw(&name, scan))).is_err()
                        {
                            return;
                        }
                        continue;
                    }
                    Err(err) => break err,
                }
                let now = clock::Now::read();
                let batch: Vec<KeyEvent> = match device.fetch_events() {
                    Ok(iter) => iter
                        .filter(|e| e.event_type() == EventType::KEY)
                        .map(|e| KeyEvent {
                            at_ms: key_time(e.timestamp(), now),
                            code: e.code(),
                            value: e.value(),
                        })
                        .collect(),
                    Err(source) => {
                        break Error::Read {
                            path: path.to_owned(),
                            source,
                        };
                    }
                };
                for e in batch {
                    let mut scans: Vec<WedgeScan> = framer.poll(e.at_ms).into_iter().collect();
                    if let Some(typed) = keymap.key(e.code, e.value) {
                        scans.extend(framer.push(typed, e.at_ms));
                    }
                    for scan in scans {
                        if events.send(SourceEvent::Scan(to_raw(&name, scan))).is_err() {
                            return;
                        }
                    }
                }
            };
            // Whatever was typed before the scanner went away is still a scan, marked cut off.
            if let Some(scan) = framer.finish() {
                let mut raw = to_raw(&name, scan);
                raw.problem = Some(FrameProblem::Truncated);
                if events.send(SourceEvent::Scan(raw)).is_err() {
                    return;
                }
            }
            if reconnect.lost(error).is_err() {
                return;
            }
        }
    }
}

/// Waits up to `wait_ms` for the device at `path` to have events.
fn readable(device: &Device, path: &std::path::Path, wait_ms: i64) -> Result<bool, Error> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let timeout = PollTimeout::from(u16::try_from(wait_ms.max(0)).unwrap_or(u16::MAX));
    let mut fds = [PollFd::new(device.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, timeout) {
        Ok(0) => Ok(false),
        Ok(_) => Ok(true),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(err) => Err(Error::Wait {
            path: path.to_owned(),
            source: err.into(),
        }),
    }
}

/// The time of a key on the monotonic clock. The kernel stamps each event when the key was
/// pressed (on the wall clock), so the gaps between keys are exact even when several arrive in
/// one read; the stamp is carried onto the monotonic clock with the offset read just now.
pub(crate) fn key_time(stamp: std::time::SystemTime, now: clock::Now) -> i64 {
    let stamp_ms = stamp
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(now.wall_ms, |d| {
            i64::try_from(d.as_millis()).unwrap_or(now.wall_ms)
        });
    // A stamp from the future (a clock step between the key and the read) counts as now.
    now.mono_ms
        .saturating_sub(now.wall_ms.saturating_sub(stamp_ms).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wedge_key_times_keep_the_kernel_gaps_on_the_monotonic_clock() {
        let now = clock::Now {
            wall_ms: 1_700_000_000_500,
            mono_ms: 42_000,
        };
        let at = |ms: u64| std::time::UNIX_EPOCH + Duration::from_millis(ms);
        assert_eq!(key_time(at(1_700_000_000_500), now), 42_000);
        assert_eq!(key_time(at(1_700_000_000_380), now), 41_880);
        // Stamped after the read (the wall clock stepped back): it happened now.
        assert_eq!(key_time(at(1_700_000_009_000), now), 42_000);
    }
}
