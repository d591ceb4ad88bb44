//! Reopening a device that went away, with backoff: the one policy every device source follows.
//!
//! A source tells its [`Reconnect`] what happened to the device (an open failed, it opened, it
//! delivered data, it was lost) and the helper decides what the event loop hears and how long to
//! wait: `Down` once per outage however many attempts fail, `Up` whenever the device opens, waits
//! that double from a minimum up to a maximum, and a restart from the minimum once the device
//! works again. When the receiver of the events is gone, every call says [`Stopped`], and the
//! source ends.
//!
//! The helper does no I/O of its own: the events go to a reporter closure and the waits to a
//! sleep function, so tests run it without devices and without sleeping.

use std::sync::mpsc::SyncSender;
use std::time::Duration;

use super::{Error, SourceEvent, chain};

/// What the event loop is told about a device.
#[derive(Debug)]
pub enum Change {
    /// The device went away (or was never there); the source keeps trying.
    Down(Error),
    /// The device is open.
    Up,
}

/// The receiver of the source's events is gone, so the source stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// When a reopened device counts as working, so that the next outage starts from the shortest
/// wait again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetAfter {
    /// As soon as it opens: an input device or a camera that opens works.
    Open,
    /// Only once it delivered data ([`Reconnect::delivered`]): a serial node that lingers after
    /// an unplug opens and fails at once, and resetting on every such open would retry it in a
    /// tight loop.
    Data,
}

/// The reconnect state of one device: the backoff, whether the outage was reported, and where
/// events and waits go.
pub struct Reconnect<R, S = fn(Duration)> {
    min: Duration,
    max: Duration,
    next: Duration,
    reset_after: ResetAfter,
    /// An outage is under way and the event loop has been told.
    down: bool,
    report: R,
    sleep: S,
}

impl<R: FnMut(Change) -> bool> Reconnect<R> {
    /// Waits from `min` doubling up to `max`, reporting to `report` (which returns false once
    /// the receiver is gone), sleeping the thread, and resetting after an open.
    pub fn new(min: Duration, max: Duration, report: R) -> Reconnect<R> {
        // A zero minimum would never grow and spin on the device, and a maximum below the
        // minimum would be meaningless, so both are clamped.
        let min = min.max(Duration::from_millis(1));
        let max = max.max(min);
        Reconnect {
            min,
            max,
            next: min,
            reset_after: ResetAfter::Open,
            down: false,
            report,
            sleep: std::thread::sleep,
        }
    }
}

impl<R: FnMut(Change) -> bool, S: FnMut(Duration)> Reconnect<R, S> {
    /// The same, resetting the backoff at `when` instead of at every open.
    pub fn reset_after(mut self, when: ResetAfter) -> Reconnect<R, S> {
        self.reset_after = when;
        self
    }

    /// The same, waiting with `sleep` instead of sleeping the thread (tests pass a recorder).
    pub fn with_sleep<T: FnMut(Duration)>(self, sleep: T) -> Reconnect<R, T> {
        Reconnect {
            min: self.min,
            max: self.max,
            next: self.next,
            reset_after: self.reset_after,
            down: self.down,
            report: self.report,
            sleep,
        }
    }

    /// Whether an outage is under way (reported, and the device not open since).
    pub fn is_down(&self) -> bool {
        self.down
    }

    /// An attempt to open the device failed: the first failure of an outage is reported as
    /// `Down`, later ones are not; then the backoff is waited.
    pub fn failed(&mut self, error: Error) -> Result<(), Stopped> {
        if !self.down {
            self.down = true;
            self.send(Change::Down(error))?;
        }
        self.wait();
        Ok(())
    }

    /// The device opened: `Up` is reported, and with [`ResetAfter::Open`] the backoff restarts.
    pub fn opened(&mut self) -> Result<(), Stopped> {
        self.down = false;
        if self.reset_after == ResetAfter::Open {
            self.next = self.min;
        }
        self.send(Change::Up)
    }

    /// The device delivered data, so it works: the backoff restarts from the minimum.
    pub fn delivered(&mut self) {
        self.next = self.min;
    }

    /// The open device was lost: `Down` is reported (a new outage), then the backoff is waited,
    /// so a device that opens and fails at once is not reopened in a tight loop.
    pub fn lost(&mut self, error: Error) -> Result<(), Stopped> {
        self.down = true;
        self.send(Change::Down(error))?;
        self.wait();
        Ok(())
    }

    /// Opens the device with `attempt`, retrying with backoff until it opens ([`Self::failed`]
    /// for each failure, [`Self::opened`] at the end).
    pub fn open<D>(&mut self, mut attempt: impl FnMut() -> Result<D, Error>) -> Result<D, Stopped> {
        loop {
            match attempt() {
                Ok(device) => {
                    self.opened()?;
                    return Ok(device);
                }
                Err(error) => self.failed(error)?,
            }
        }
    }

    fn send(&mut self, change: Change) -> Result<(), Stopped> {
        if (self.report)(change) {
            Ok(())
        } else {
            Err(Stopped)
        }
    }

    fn wait(&mut self) {
        let delay = self.next;
        self.next = delay.saturating_mul(2).min(self.max);
        (self.sleep)(delay);
    }
}

/// A reporter that sends changes as events of `source` on `events`, `Down` with the error's
/// whole cause chain; false once the receiver is gone.
pub fn to_events<'a>(
    source: &'a str,
    events: &'a SyncSender<SourceEvent>,
) -> impl FnMut(Change) -> bool + 'a {
    move |change| {
        let event = match change {
            Change::Down(error) => SourceEvent::Down {
                source: source.to_owned(),
                error: chain(&error),
            },
            Change::Up => SourceEvent::Up {
                source: source.to_owned(),
            },
        };
        events.send(event).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn gone(n: u32) -> Error {
        Error::Open {
            path: format!("/dev/scanner{n}").into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        }
    }

    /// What the event loop saw, as short strings.
    fn seen(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| match c {
                Change::Down(e) => format!("down {e}"),
                Change::Up => "up".to_owned(),
            })
            .collect()
    }

    #[test]
    fn a_device_that_fails_five_times_is_reported_down_once_with_doubling_waits() {
        let changes = RefCell::new(Vec::new());
        let sleeps = RefCell::new(Vec::new());
        let mut reconnect = Reconnect::new(ms(100), ms(700), |c| {
            changes.borrow_mut().push(c);
            true
        })
        .with_sleep(|d| sleeps.borrow_mut().push(d));
        let mut attempts = 0;
        let device = reconnect.open(|| {
            attempts += 1;
            if attempts <= 5 {
                Err(gone(attempts))
            } else {
                Ok(attempts)
            }
        });
        assert_eq!(device, Ok(6));
        assert!(!reconnect.is_down());
        // The first error is the one reported; the waits double up to the maximum.
        assert_eq!(
            seen(&changes.borrow()),
            ["down cannot open /dev/scanner1", "up"]
        );
        assert_eq!(
            *sleeps.borrow(),
            [ms(100), ms(200), ms(400), ms(700), ms(700)]
        );

        // Opening reset the backoff, and losing the device waits before the next attempt.
        sleeps.borrow_mut().clear();
        assert_eq!(reconnect.lost(gone(9)), Ok(()));
        assert!(reconnect.is_down());
        assert_eq!(reconnect.failed(gone(10)), Ok(()));
        assert_eq!(*sleeps.borrow(), [ms(100), ms(200)]);
        assert_eq!(
            seen(&changes.borrow()),
            [
                "down cannot open /dev/scanner1",
                "up",
                "down cannot open /dev/scanner9"
            ]
        );
    }

    #[test]
    fn with_reset_after_data_only_delivered_data_restarts_the_backoff() {
        let sleeps = RefCell::new(Vec::new());
        let mut reconnect = Reconnect::new(ms(10), ms(1000), |_| true)
            .reset_after(ResetAfter::Data)
            .with_sleep(|d| sleeps.borrow_mut().push(d));
        // A node that opens and fails at once, three times: the waits keep growing.
        for n in 0..3 {
            assert_eq!(reconnect.opened(), Ok(()));
            assert_eq!(reconnect.lost(gone(n)), Ok(()));
        }
        assert_eq!(reconnect.opened(), Ok(()));
        reconnect.delivered();
        assert_eq!(reconnect.lost(gone(3)), Ok(()));
        assert_eq!(*sleeps.borrow(), [ms(10), ms(20), ms(40), ms(10)]);
    }

    #[test]
    fn a_gone_receiver_stops_the_source_without_waiting() {
        let sleeps = RefCell::new(Vec::new());
        let mut reconnect =
            Reconnect::new(ms(100), ms(200), |_| false).with_sleep(|d| sleeps.borrow_mut().push(d));
        let mut attempts = 0;
        let result = reconnect.open(|| -> Result<(), Error> {
            attempts += 1;
            Err(gone(attempts))
        });
        assert_eq!(result, Err(Stopped));
        assert_eq!(attempts, 1);
        assert_eq!(reconnect.opened(), Err(Stopped));
        assert_eq!(reconnect.lost(gone(2)), Err(Stopped));
        assert!(sleeps.borrow().is_empty());
    }

    #[test]
    fn odd_bounds_are_clamped() {
        let sleeps = RefCell::new(Vec::new());
        let mut zero =
            Reconnect::new(ms(0), ms(0), |_| true).with_sleep(|d| sleeps.borrow_mut().push(d));
        for n in 0..3 {
            assert_eq!(zero.failed(gone(n)), Ok(()));
        }
        assert_eq!(*sleeps.borrow(), [ms(1), ms(1), ms(1)]);

        let sleeps = RefCell::new(Vec::new());
        let mut huge = Reconnect::new(Duration::MAX / 2, Duration::MAX, |_| true)
            .with_sleep(|d| sleeps.borrow_mut().push(d));
        for n in 0..3 {
            assert_eq!(huge.failed(gone(n)), Ok(()));
        }
        assert_eq!(sleeps.borrow().last(), Some(&Duration::MAX));
    }

    #[test]
    fn events_carry_the_source_name_and_the_whole_cause() {
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let mut report = to_events("serial:/dev/scanner", &tx);
        assert!(report(Change::Down(gone(1))));
        assert!(report(Change::Up));
        assert_eq!(
            rx.try_recv().ok(),
            Some(SourceEvent::Down {
                source: "serial:/dev/scanner".to_owned(),
                error: "cannot open /dev/scanner1: entity not found".to_owned(),
            })
        );
        assert_eq!(
            rx.try_recv().ok(),
            Some(SourceEvent::Up {
                source: "serial:/dev/scanner".to_owned()
            })
        );
        drop(rx);
        assert!(!report(Change::Up));
    }
}
