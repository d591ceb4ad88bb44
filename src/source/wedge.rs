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
use super::{FrameProblem, RawScan, Source, SourceEvent};
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
    pub fn open(cfg: WedgeConfig) -> Result<WedgeSource, String> {
        let device = Device::open(&cfg.path).map_err(|e| {
            format!(
                "cannot open input device {}: {e} (is it plugged in, and may this user read it? see hardware/udev)",
                cfg.path.display()
            )
        })?;
        drop(device);
        Ok(WedgeSource { cfg })
    }
}

fn to_raw(source: &str, scan: WedgeScan) -> RawScan {
    RawScan {
        source: source.to_owned(),
        at_ms: clock::now_ms(),
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
        let mut backoff = Duration::from_millis(100);
        let mut down_sent = false;
        loop {
            let mut device = match Device::open(&self.cfg.path) {
                Ok(device) => device,
                Err(err) => {
                    if !down_sent {
                        down_sent = true;
                        let error = format!("cannot open {}: {err}", self.cfg.path.display());
                        if events
                            .send(SourceEvent::Down {
                                source: name.clone(),
                                error,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            if let Err(err) = device.grab() {
                tracing::warn!(source = %name, error = %err, "cannot grab the scanner exclusively; its keys may also reach other windows");
            }
            backoff = Duration::from_millis(100);
            if events
                .send(SourceEvent::Up {
                    source: name.clone(),
                })
                .is_err()
            {
                return;
            }
            let mut keymap = Keymap::default();
            let mut framer = WedgeFramer::new(self.cfg.gap_ms, self.cfg.max_len);
            let error = loop {
                let batch: Vec<KeyEvent> = match device.fetch_events() {
                    Ok(iter) => iter
                        .filter(|e| e.event_type() == EventType::KEY)
                        .map(|e| KeyEvent {
                            at_ms: clock::now_ms(),
                            code: e.code(),
                            value: e.value(),
                        })
                        .collect(),
                    Err(err) => break err.to_string(),
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
            down_sent = true;
            if events
                .send(SourceEvent::Down {
                    source: name.clone(),
                    error,
                })
                .is_err()
            {
                return;
            }
        }
    }
}
