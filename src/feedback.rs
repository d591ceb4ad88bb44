//! `feedback`: what the operator sees and hears, and the JSON events machines read.
//!
//! A line is printed only for what the store has committed; the daemon calls this module after
//! the commit, never before, which is what makes a printed line an acknowledgement.

mod alarm;

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::clock;
use crate::config::ColorMode;
use crate::store::{ScanRecord, UnitRecord};
use crate::term::{escape, escape_bytes};

/// The JSON event for a committed scan (`--json`, and `export --format ndjson`).
pub fn scan_json(s: &ScanRecord) -> Value {
    json!({
        "event": "scan",
        "id": s.id,
        "at": clock::rfc3339(s.at_ms),
        "source": s.source,
        "raw": String::from_utf8_lossy(&s.raw),
        "symbology": s.symbology,
        "kind": s.kind,
        "value": s.value,
        "valid": s.valid,
        "reason": s.reason,
        "reason_code": s.reason_code,
        "outcome": s.outcome,
        "unit": s.unit,
        "mode": s.mode,
        "decision": s.decision,
        "decision_reason": s.decision_reason,
    })
}

fn first(u: &UnitRecord, kind: &str) -> Value {
    u.values(kind).first().map_or(Value::Null, |v| json!(v))
}

/// The JSON event for a closed (or cancelled) unit.
pub fn unit_json(u: &UnitRecord) -> Value {
    json!({
        "event": "unit",
        "id": u.id,
        "serial": first(u, "serial"),
        "imeis": u.values("imei"),
        "eid": first(u, "eid"),
        "gtin": first(u, "gtin"),
        "meid": first(u, "meid"),
        "esn": first(u, "esn"),
        "iccid": first(u, "iccid"),
        "part": first(u, "part"),
        "status": u.status,
        "flags": u.flags,
        "close_reason": u.close_reason,
        "complete": u.complete,
        "opened_at": clock::rfc3339(u.opened_ms),
        "closed_at": u.closed_ms.map(clock::rfc3339),
        "mode": u.mode,
        "decision": u.decision,
        "reason": u.decision_reason,
        "list": u.decision_list,
        "list_version": u.decision_list_version,
        "amended": u.amends > 0,
        "invalid_imeis": u
            .invalid
            .iter()
            .filter(|i| i.kind == "imei")
            .map(|i| i.value.as_str())
            .collect::<Vec<_>>(),
        "invalid": u.invalid,
    })
}

/// Whether human lines on stdout are coloured. `feedback.color = "always"` or `"never"` in the
/// config wins; `auto` asks anstream, which follows NO_COLOR (any non-empty value turns colour
/// off, https://no-color.org), then CLICOLOR_FORCE (turns it on, even into a pipe), then
/// CLICOLOR=0 and TERM=dumb, and otherwise colours a terminal.
pub fn use_color(mode: ColorMode) -> bool {
    match mode {
        ColorMode::Always => true,
        ColorMode::Never => false,
        ColorMode::Auto => {
            anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never
        }
    }
}

/// How a line is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Green,
    Amber,
    Red,
    Plain,
}

/// The operator-facing output: human lines or JSON events on one writer.
pub struct Feedback<W: Write> {
    out: W,
    json: bool,
    color: bool,
    bell: bool,
    /// The runner of `feedback.on_reject`, when one is configured.
    alarm: Option<alarm::Alarm>,
}

impl<W: Write> Feedback<W> {
    pub fn new(out: W, json: bool, color: bool, bell: bool, on_reject: Option<String>) -> Self {
        let alarm = on_reject.and_then(|command| match alarm::Alarm::start(command) {
            Ok(alarm) => Some(alarm),
            Err(err) => {
                tracing::error!(error = %err, "cannot start the feedback.on_reject runner; red lines run no command");
                None
            }
        });
        Feedback {
            out,
            json,
            color,
            bell,
            alarm,
        }
    }

    fn line(&mut self, tone: Tone, text: &str) -> io::Result<()> {
        use anstyle::{AnsiColor, Style};
        let style = match (self.color, tone) {
            (true, Tone::Green) => AnsiColor::Green.on_default(),
            (true, Tone::Amber) => AnsiColor::Yellow.on_default(),
            (true, Tone::Red) => AnsiColor::Red.on_default().bold(),
            _ => Style::new(),
        };
        let bell = if tone == Tone::Red && self.bell {
            "\x07"
        } else {
            ""
        };
        // `{style:#}` is the reset, and nothing at all for an uncoloured line.
        writeln!(self.out, "{style}{text}{style:#}{bell}")
    }

    /// Hands a red line to `feedback.on_reject`, after the line (or its JSON event) is out:
    /// the command runs in human and JSON mode alike, and never holds up the station.
    fn ring(&self, tone: Tone, text: &str) {
        if tone == Tone::Red
            && let Some(alarm) = &self.alarm
        {
            alarm.ring(text);
        }
    }

    pub fn scan(&mut self, s: &ScanRecord) -> io::Result<()> {
        let (tone, text) = Self::scan_line(s);
        if self.json {
            writeln!(self.out, "{}", scan_json(s))?;
        } else {
            self.line(tone, &text)?;
        }
        self.ring(tone, &text);
        Ok(())
    }

    pub fn unit(&mut self, u: &UnitRecord) -> io::Result<()> {
        let (tone, text) = Self::unit_line(u);
        if self.json {
            writeln!(self.out, "{}", unit_json(u))?;
        } else {
            self.line(tone, &text)?;
        }
        self.ring(tone, &text);
        Ok(())
    }
    /// A scan's human line and its tone.
    fn scan_line(s: &ScanRecord) -> (Tone, String) {
        let unit = s.unit.map(|u| format!(" -> unit {u}")).unwrap_or_default();
        let value = &s.value;
        let (tone, text) = match s.outcome.as_str() {
            "rejected" => (
                Tone::Red,
                format!(
                    "REJECTED scan {}: {} [{}]",
                    s.id,
                    s.reason.as_deref().unwrap_or("invalid"),
                    escape_bytes(&s.raw)
                ),
            ),
            "flagged" => (
                Tone::Red,
                format!(
                    "FLAGGED scan {} {} {value}: {}{unit}",
                    s.id,
                    s.kind,
                    s.reason.as_deref().unwrap_or("invalid")
                ),
            ),
            "repeat" => (
                Tone::Plain,
                format!("repeat  scan {} {} {value}{unit}", s.id, s.kind),
            ),
            "control" | "nothing_to_undo" => (
                Tone::Amber,
                format!("control scan {} {value}{unit} ({})", s.id, s.outcome),
            ),
            _ => match (s.decision.as_deref(), &s.decision_reason) {
                (Some(d @ ("quarantine" | "recall-hit")), Some(why)) => (
                    Tone::Red,
                    format!(
                        "{} scan {} {} {value}{unit}: {why}",
                        d.to_ascii_uppercase(),
                        s.id,
                        s.kind
                    ),
                ),
                _ => (
                    Tone::Green,
                    format!("ok      scan {} {} {value}{unit}", s.id, s.kind),
                ),
            },
        };
        // The value, the reasons (a list's reason, a TAC's brand in a finding) and the raw
        // scan all came from outside: the whole line is escaped once, so no field is missed.
        (tone, escape(&text))
    }

    /// A unit's human line and its tone.
    fn unit_line(u: &UnitRecord) -> (Tone, String) {
        let mut parts = Vec::new();
        for kind in [
            "serial", "imei", "meid", "esn", "eid", "iccid", "gtin", "part",
        ] {
            let values = u.values(kind);
            if !values.is_empty() {
                parts.push(format!("{kind} {}", values.join(", ")));
            }
        }
        for bad in &u.invalid {
            parts.push(format!("INVALID {} {}", bad.kind, bad.value));
        }
        let reason = match (u.close_reason.as_deref().unwrap_or(""), u.amends) {
            (reason, 0) => reason.to_owned(),
            (reason, _) => format!("{reason}, amended"),
        };
        let (tone, head) = match (u.status.as_str(), u.decision.as_deref()) {
            ("cancelled", _) => (Tone::Amber, "UNIT CANCELLED".to_owned()),
            ("ok", _) => (Tone::Green, "UNIT OK".to_owned()),
            (_, Some("duplicate")) => (Tone::Amber, "UNIT DUPLICATE".to_owned()),
            (_, Some(d)) if d != "proceed" => {
                (Tone::Red, format!("UNIT {}", d.to_ascii_uppercase()))
            }
            _ => (Tone::Red, "UNIT FLAGGED".to_owned()),
        };
        let mut text = format!("{head} {} ({reason}): {}", u.id, parts.join("; "));
        if let (Some(decision), Some(why)) = (&u.decision, &u.decision_reason)
            && u.status != "ok"
            && decision != "proceed"
        {
            text.push_str(&format!(" | {decision}: {why}"));
        }
        for flag in &u.flags {
            text.push_str(&format!(" | {}", flag.message));
        }
        // Values, list reasons and flag messages (which quote TAC brands) came from outside.
        (tone, escape(&text))
    }

    /// Recall-sweep progress: how much of each recall list has been found so far.
    pub fn progress(&mut self, list: &str, found: i64, expected: i64) -> io::Result<()> {
        if self.json {
            return writeln!(
                self.out,
                "{}",
                json!({"event": "progress", "list": list, "found": found, "expected": expected})
            );
        }
        self.line(
            Tone::Plain,
            &escape(&format!("recall {list}: {found}/{expected} found")),
        )
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
