//! Counters and histograms for `GET /metrics`, in the Prometheus text format.
//!
//! The event loop updates them after each commit (a short lock per event); the HTTP side only
//! reads. Label values come from the station's own enumerations and source names, which are
//! escaped like any text.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use super::hub::Counter;
use crate::record::{ScanRecord, UnitRecord};
use crate::source::FrameResult;

/// Upper bounds of the latency and decode-time buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A cumulative histogram with fixed buckets.
#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter()) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum {}", self.sum);
        let _ = writeln!(out, "{name}_count {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Tables {
    /// (kind, outcome) -> scans.
    scans: BTreeMap<(String, String), u64>,
    /// (status, decision) -> unit events.
    units: BTreeMap<(String, String), u64>,
    /// source -> 1 up, 0 down.
    sources: BTreeMap<String, bool>,
    ack: Histogram,
    decode: Histogram,
}

/// Everything `/metrics` reports.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    tables: Mutex<Tables>,
    frames: Counter,
    frames_dropped: Counter,
    frame_errors: Counter,
    pub(crate) http_requests: Counter,
    pub(crate) http_rejected: Counter,
}

impl Metrics {
    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn scan(&self, scan: &ScanRecord, latency_ms: f64) {
        let mut t = self.tables();
        *t.scans
            .entry((scan.kind.as_str().to_owned(), scan.outcome.to_string()))
            .or_default() += 1;
        t.ack.observe(latency_ms.max(0.0) / 1000.0);
    }

    pub(crate) fn unit(&self, unit: &UnitRecord) {
        let decision = unit.decision.map_or("none", |d| d.as_str());
        *self
            .tables()
            .units
            .entry((unit.status.to_string(), decision.to_owned()))
            .or_default() += 1;
    }

    pub(crate) fn source(&self, name: &str, up: bool) {
        self.tables().sources.insert(name.to_owned(), up);
    }

    pub(crate) fn frame(&self, frame: &FrameResult) {
        self.frames.add(1);
        self.frames_dropped.add(frame.dropped);
        if frame.error.is_some() {
            self.frame_errors.add(1);
        }
        if let Some(ms) = frame.decode_ms {
            self.tables().decode.observe(f64::from(ms) / 1000.0);
        }
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let t = self.tables();
        let _ = writeln!(
            out,
            "# HELP scanstation_scans_total Scans committed, by identifier kind and pairing outcome.\n# TYPE scanstation_scans_total counter"
        );
        for ((kind, outcome), n) in &t.scans {
            let _ = writeln!(
                out,
                "scanstation_scans_total{{kind=\"{}\",outcome=\"{}\"}} {n}",
                label(kind),
                label(outcome)
            );
        }
        let _ = writeln!(
            out,
            "# HELP scanstation_units_total Unit events committed (closed, cancelled, amended), by status and decision.\n# TYPE scanstation_units_total counter"
        );
        for ((status, decision), n) in &t.units {
            let _ = writeln!(
                out,
                "scanstation_units_total{{status=\"{}\",decision=\"{}\"}} {n}",
                label(status),
                label(decision)
            );
        }
        let _ = writeln!(
            out,
            "# HELP scanstation_source_up Whether each scan source is open (1) or away (0).\n# TYPE scanstation_source_up gauge"
        );
        for (source, up) in &t.sources {
            let _ = writeln!(
                out,
                "scanstation_source_up{{source=\"{}\"}} {}",
                label(source),
                u8::from(*up)
            );
        }
        t.ack.render(
            "scanstation_ack_latency_seconds",
            "From a scan's arrival to its acknowledgement after the commit.",
            &mut out,
        );
        t.decode.render(
            "scanstation_decode_seconds",
            "Time to decode one camera or image frame.",
            &mut out,
        );
        for (name, help, value) in [
            (
                "scanstation_frames_total",
                "Frames decoded.",
                self.frames.get(),
            ),
            (
                "scanstation_frames_dropped_total",
                "Camera frames dropped while the decoder was busy (the latest frame wins).",
                self.frames_dropped.get(),
            ),
            (
                "scanstation_frame_errors_total",
                "Frames that could not be read or decoded.",
                self.frame_errors.get(),
            ),
            (
                "scanstation_http_requests_total",
                "HTTP requests served.",
                self.http_requests.get(),
            ),
            (
                "scanstation_http_rejected_total",
                "HTTP requests refused for authentication, CSRF or the rate limit.",
                self.http_rejected.get(),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        out
    }
}

/// A label value in the exposition format: backslash, quote and newline escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::default();
        h.observe(0.0007);
        h.observe(0.003);
        h.observe(9.0);
        let mut out = String::new();
        h.render("x", "help", &mut out);
        assert!(out.contains("x_bucket{le=\"0.0005\"} 0"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.001\"} 1"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.005\"} 2"), "{out}");
        assert!(out.contains("x_bucket{le=\"2.5\"} 2"), "{out}");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 3"), "{out}");
        assert!(out.contains("x_count 3"), "{out}");
    }

    #[test]
    fn label_values_cannot_break_the_line() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
