//! `feedback.on_reject`: the operator's command for red lines (a louder buzzer, a stack light),
//! run so that no burst of rejects can hurt the station.
//!
//! One long-lived thread runs the command, one run at a time. A red line only leaves its reason
//! in a one-slot mailbox and wakes that thread: it never waits for the command, never spawns a
//! thread or a process itself, and so can neither block an acknowledgement nor fail. Reasons
//! that arrive while the command runs are coalesced: the next run gets the latest reason and,
//! in `$SCANSTATION_COALESCED`, how many red lines it stands for.

use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The mailbox between red lines and the runner thread.
#[derive(Default)]
struct State {
    /// The latest reason not yet handed to a run.
    pending: Option<String>,
    /// How many red lines the pending reason stands for.
    count: u64,
    /// Set when the station is done; the runner finishes what is pending and ends.
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

/// A handle on the runner thread; dropping it lets the thread end after the pending run.
pub(super) struct Alarm {
    shared: Arc<Shared>,
}

impl Alarm {
    /// Starts the runner thread for `command` (run with `sh -c`).
    pub(super) fn start(command: String) -> std::io::Result<Alarm> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        let runner = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("on_reject".to_owned())
            .spawn(move || run(&command, &runner))?;
        Ok(Alarm { shared })
    }

    /// Hands a red line's reason to the runner. Returns at once; never fails.
    pub(super) fn ring(&self, reason: &str) {
        // A poisoned lock can only come from a panic in this module, which has none; if it
        // happened anyway the alarm is lost, never the scan.
        if let Ok(mut state) = self.shared.state.lock() {
            state.pending = Some(reason.to_owned());
            state.count = state.count.saturating_add(1);
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        if let Ok(mut state) = self.shared.state.lock() {
            state.closed = true;
            self.shared.wake.notify_one();
        }
    }
}

/// The runner: waits for a reason, runs the command once for it, and waits for the command to
/// end before the next run, so at most one runs at any time.
fn run(command: &str, shared: &Shared) {
    loop {
        let (reason, count) = {
            let Ok(mut state) = shared.state.lock() else {
                return;
            };
            while state.pending.is_none() && !state.closed {
                state = match shared.wake.wait(state) {
                    Ok(state) => state,
                    Err(_) => return,
                };
            }
            match state.pending.take() {
                Some(reason) => (reason, std::mem::take(&mut state.count)),
                None => return,
            }
        };
        // The environment cannot carry a NUL byte; the reason is already escaped for the
        // terminal, so this only guards against a caller that did not.
        let reason = reason.replace('\0', "\\x00");
        let spawned = Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("SCANSTATION_REASON", &reason)
            .env("SCANSTATION_COALESCED", count.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn();
        match spawned {
            Ok(mut child) => {
                if let Err(err) = child.wait() {
                    tracing::warn!(command = %command, error = %err, "cannot wait for feedback.on_reject");
                }
            }
            Err(err) => {
                tracing::warn!(command = %command, error = %err, "cannot run feedback.on_reject");
                // A process limit or a missing shell would fail again at once; pause briefly so
                // a flood of rejects cannot turn this thread into a busy loop.
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_reject_burst_runs_one_command_at_a_time_and_coalesces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("runs.txt");
        // Each run notes its start, holds for a while, then notes its end: overlapping runs
        // would show as two starts in a row.
        let command = format!(
            "echo \"start $SCANSTATION_COALESCED $SCANSTATION_REASON\" >> {0}; sleep 0.2; echo end >> {0}",
            log.display()
        );
        let alarm = Alarm::start(command).expect("start");
        let started = std::time::Instant::now();
        for i in 0..1000 {
            alarm.ring(&format!("REJECTED scan {i}"));
        }
        // A thousand rejects are handed over in far less time than one run takes.
        assert!(started.elapsed() < Duration::from_millis(200));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let text = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("REJECTED scan 999") && text.trim_end().ends_with("end") {
                break text;
            }
            assert!(std::time::Instant::now() < deadline, "{text}");
            std::thread::sleep(Duration::from_millis(50));
        };
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.chunks(2) {
            assert!(pair[0].starts_with("start "), "{text}");
            assert_eq!(pair.get(1), Some(&"end"), "{text}");
        }
        // Far fewer runs than rejects, and every reject is accounted for.
        let runs: Vec<u64> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("start "))
            .filter_map(|l| l.split(' ').next()?.parse().ok())
            .collect();
        assert!(runs.len() < 20, "{text}");
        assert_eq!(runs.iter().sum::<u64>(), 1000, "{text}");
    }
}
