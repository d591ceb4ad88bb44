//! `feedback`: what the operator sees and hears, and the JSON events machines read.
//!
//! A line is printed only for what the store has committed; the daemon calls this module after
//! the commit, never before, which is what makes a printed line an acknowledgement.

mod alarm;

use std::io::{self, Write};

use crate::config::ColorMode;
use crate::event::{self, ProgressEvent, ScanEvent, UnitEvent};
use crate::record::{Decision, ScanOutcome, ScanRecord, UnitRecord, UnitStatus};
use crate::term::{escape, escape_bytes};

/// Whether human lines on stdout are coloured. `feedback.color = "always"` or `"never"` in the
/// config wins; `auto` asks anstream, which follows NO_COLOR (any non-empty value turns colour
/// off, https://no-color.org), then CLICOLOR_FORCE (turns it on, even into a pipe), then
/// CLICOLOR=0 and TERM=dumb, and otherwise colours a terminal.
pub(crate) fn use_color(mode: ColorMode) -> bool {
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
pub(crate) enum Tone {
    Green,
    Amber,
    Red,
    Plain,
}

/// The operator-facing output: human lines or JSON events on one writer.
pub(crate) struct Feedback<W: Write> {
    out: W,
    json: bool,
    color: bool,
    bell: bool,
    /// The runner of `feedback.on_reject`, when one is configured.
    alarm: Option<alarm::Alarm>,
}

impl<W: Write> Feedback<W> {
    pub(crate) fn new(
        out: W,
        json: bool,
        color: bool,
        bell: bool,
        on_reject: Option<String>,
    ) -> Self {
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

    pub(crate) fn scan(&mut self, s: &ScanRecord) -> io::Result<()> {
        let (tone, text) = Self::scan_line(s);
        if self.json {
            writeln!(self.out, "{}", event::line(&ScanEvent::from(s)))?;
        } else {
            self.line(tone, &text)?;
        }
        self.ring(tone, &text);
        Ok(())
    }

    pub(crate) fn unit(&mut self, u: &UnitRecord) -> io::Result<()> {
        let (tone, text) = Self::unit_line(u);
        if self.json {
            writeln!(self.out, "{}", event::line(&UnitEvent::from(u)))?;
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
        let (tone, text) = match s.outcome {
            ScanOutcome::Rejected => (
                Tone::Red,
                format!(
                    "REJECTED scan {}: {} [{}]",
                    s.id,
                    s.reason.as_deref().unwrap_or("invalid"),
                    escape_bytes(&s.raw)
                ),
            ),
            ScanOutcome::Flagged => (
                Tone::Red,
                format!(
                    "FLAGGED scan {} {} {value}: {}{unit}",
                    s.id,
                    s.kind,
                    s.reason.as_deref().unwrap_or("invalid")
                ),
            ),
            ScanOutcome::Repeat => (
                Tone::Plain,
                format!("repeat  scan {} {} {value}{unit}", s.id, s.kind),
            ),
            ScanOutcome::Control | ScanOutcome::NothingToUndo => (
                Tone::Amber,
                format!("control scan {} {value}{unit} ({})", s.id, s.outcome),
            ),
            ScanOutcome::Added | ScanOutcome::NoIdentifiers => {
                match (s.decision, &s.decision_reason) {
                    (Some(d @ (Decision::Quarantine | Decision::RecallHit)), Some(why)) => (
                        Tone::Red,
                        format!(
                            "{} scan {} {} {value}{unit}: {why}",
                            d.as_str().to_ascii_uppercase(),
                            s.id,
                            s.kind
                        ),
                    ),
                    _ => (
                        Tone::Green,
                        format!("ok      scan {} {} {value}{unit}", s.id, s.kind),
                    ),
                }
            }
        };
        // The value, the reasons (a list's reason, a TAC's brand in a finding) and the raw
        // scan all came from outside: the whole line is escaped once, so no field is missed.
        (tone, escape(&text))
    }

    /// A unit's human line and its tone.
    fn unit_line(u: &UnitRecord) -> (Tone, String) {
        let mut parts = u.identifier_parts();
        for bad in &u.invalid {
            parts.push(format!("INVALID {} {}", bad.kind, bad.value));
        }
        let reason = match (u.close_reason.map_or("", |r| r.as_str()), u.amends) {
            (reason, 0) => reason.to_owned(),
            (reason, _) => format!("{reason}, amended"),
        };
        let (tone, head) = match (u.status, u.decision) {
            (UnitStatus::Cancelled, _) => (Tone::Amber, "UNIT CANCELLED".to_owned()),
            (UnitStatus::Ok, _) => (Tone::Green, "UNIT OK".to_owned()),
            (_, Some(Decision::Duplicate)) => (Tone::Amber, "UNIT DUPLICATE".to_owned()),
            (_, Some(d)) if d != Decision::Proceed => (
                Tone::Red,
                format!("UNIT {}", d.as_str().to_ascii_uppercase()),
            ),
            _ => (Tone::Red, "UNIT FLAGGED".to_owned()),
        };
        let mut text = format!("{head} {} ({reason}): {}", u.id, parts.join("; "));
        if let (Some(decision), Some(why)) = (u.decision, &u.decision_reason)
            && u.status != UnitStatus::Ok
            && decision != Decision::Proceed
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
    pub(crate) fn progress(&mut self, list: &str, found: i64, expected: i64) -> io::Result<()> {
        if self.json {
            return writeln!(
                self.out,
                "{}",
                event::line(&ProgressEvent::new(list, found, expected))
            );
        }
        self.line(
            Tone::Plain,
            &escape(&format!("recall {list}: {found}/{expected} found")),
        )
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
