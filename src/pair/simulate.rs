//! A text driver for the pairer, so tests read as scenarios (in the style of kanata's sim).
//!
//! A script has one command per line; blank lines and `#` comments are ignored:
//!
//! ```text
//! existing unit=100 serial=C02XG1ABJGH5 imei=35417803685978
//! t=0 scan C02XG1ABJGH5
//! t=1000 scan 354178036859789
//! t=30000 tick
//! t=31000 shutdown
//! ```
//!
//! `<GS>`, `<RS>` and `<EOT>` in scan text stand for the separator bytes. The transcript has
//! one line per effect, each prefixed with the time of the command that caused it, and Closed
//! lines also show the flags that [`conflicts`] raises against the seeded `existing` units.

use std::fmt::Write as _;

use crate::ident::{Control, IdKind, NoTacs, classify};

use super::{ClosedUnit, Effect, Existing, Outcome, PairConfig, Pairer, ScanInput, conflicts};

/// Runs a script against a fresh Pairer and returns a text transcript.
///
/// Never panics: a line it cannot read becomes a `line N: error: ...` line in the transcript.
pub fn simulate(cfg: PairConfig, script: &str) -> String {
    let mut pairer = Pairer::new(cfg, 1);
    let mut existing: Vec<Existing> = Vec::new();
    let mut out = String::new();
    let mut next_scan_id = 1_i64;
    for (n, raw) in script.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("existing ") {
            match parse_existing(rest) {
                Ok(e) => existing.push(e),
                Err(err) => error(&mut out, n, &err),
            }
            continue;
        }
        let Some((t, command)) = parse_time(line) else {
            error(
                &mut out,
                n,
                "expected `t=<ms> scan|tick|shutdown` or `existing ...`",
            );
            continue;
        };
        let effects = if let Some(text) = command
            .strip_prefix("scan ")
            .or_else(|| (command == "scan").then_some(""))
        {
            let classification = classify(&unescape(text), None, &NoTacs);
            let scan_id = next_scan_id;
            next_scan_id += 1;
            pairer.scan(ScanInput {
                scan_id,
                at_ms: t,
                classification: &classification,
            })
        } else if command == "tick" {
            pairer.tick(t)
        } else if command == "shutdown" {
            pairer.shutdown(t)
        } else {
            error(&mut out, n, &format!("unknown command {command:?}"));
            continue;
        };
        for effect in &effects {
            write_effect(&mut out, t, effect, &existing);
        }
    }
    out
}

fn error(out: &mut String, index: usize, message: &str) {
    let _ = writeln!(out, "line {}: error: {message}", index + 1);
}

/// Splits `t=<ms> rest` into the time and the rest.
fn parse_time(line: &str) -> Option<(i64, &str)> {
    let rest = line.strip_prefix("t=")?;
    let (t, command) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((t.parse().ok()?, command.trim_start()))
}

fn parse_existing(rest: &str) -> Result<Existing, String> {
    let mut unit = None;
    let mut identifiers = Vec::new();
    for word in rest.split_whitespace() {
        let (name, value) = word
            .split_once('=')
            .ok_or_else(|| format!("expected name=value, got {word:?}"))?;
        if name == "unit" {
            unit = Some(
                value
                    .parse::<i64>()
                    .map_err(|_| format!("unit id {value:?} is not a number"))?,
            );
        } else {
            let kind =
                IdKind::parse(name).ok_or_else(|| format!("unknown identifier kind {name:?}"))?;
            identifiers.push((kind, value.to_owned()));
        }
    }
    let unit = unit.ok_or_else(|| "existing needs unit=<id>".to_owned())?;
    Ok(Existing { unit, identifiers })
}

/// Replaces the `<GS>`, `<RS>` and `<EOT>` placeholders, since scripts are plain text.
fn unescape(text: &str) -> String {
    text.replace("<GS>", "\u{1d}")
        .replace("<RS>", "\u{1e}")
        .replace("<EOT>", "\u{04}")
}

fn write_effect(out: &mut String, t: i64, effect: &Effect, existing: &[Existing]) {
    let _ = write!(out, "t={t} ");
    match effect {
        Effect::Opened { unit, .. } => {
            let _ = write!(out, "unit {unit} opened");
        }
        Effect::Scan {
            scan_id,
            unit,
            outcome,
        } => {
            let _ = write!(out, "scan#{scan_id} -> ");
            if let Some(unit) = unit {
                let _ = write!(out, "unit {unit} ");
            }
            write_outcome(out, outcome);
        }
        Effect::Closed(closed) => write_closed(out, closed, existing),
        Effect::Cancelled { unit, .. } => {
            let _ = write!(out, "unit {unit} cancelled");
        }
        Effect::Undone { unit, scan_id } => {
            let _ = write!(out, "unit {unit} undone scan#{scan_id}");
        }
    }
    out.push('\n');
}

fn write_outcome(out: &mut String, outcome: &Outcome) {
    let _ = match outcome {
        Outcome::Added => write!(out, "added"),
        Outcome::Repeat { of_scan } => write!(out, "repeat of scan#{of_scan}"),
        Outcome::Rejected => write!(out, "rejected"),
        Outcome::Flagged => write!(out, "flagged"),
        Outcome::NoIdentifiers => write!(out, "no identifiers"),
        Outcome::Control(Control::Next) => write!(out, "next"),
        Outcome::Control(Control::Cancel) => write!(out, "cancel"),
        Outcome::Control(Control::Undo) => write!(out, "undo"),
        Outcome::Control(Control::Mode(mode)) => write!(out, "mode {}", mode.as_str()),
        Outcome::NothingToUndo => write!(out, "nothing to undo"),
    };
}

fn write_closed(out: &mut String, closed: &ClosedUnit, existing: &[Existing]) {
    let _ = write!(
        out,
        "unit {} closed {} [",
        closed.id,
        closed.reason.as_str()
    );
    for (n, ident) in closed.identifiers.iter().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        out.push_str(ident.kind.as_str());
        // Numbering only kinds that hold several values keeps `serial=...` readable.
        if super::capacity(ident.kind) > 1 {
            let _ = write!(out, "{}", ident.slot);
        }
        let _ = write!(out, "={}", ident.value);
    }
    out.push(']');
    for (n, bad) in closed.invalid.iter().enumerate() {
        out.push_str(if n == 0 { " invalid: " } else { " " });
        let _ = write!(out, "{}={}", bad.kind.as_str(), bad.value);
    }
    let extra = conflicts(closed, existing);
    for (n, flag) in closed.flags.iter().chain(&extra).enumerate() {
        out.push_str(if n == 0 { " flags: " } else { "; " });
        let _ = write!(out, "{}: {}", flag.code, flag.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_bad_lines_without_panicking() {
        let script = "\
            t=x scan 1\n\
            t=0 jump\n\
            existing serial=A\n\
            existing unit=7 colour=red\n\
            hello\n";
        assert_eq!(
            simulate(PairConfig::default(), script),
            "line 1: error: expected `t=<ms> scan|tick|shutdown` or `existing ...`\n\
             line 2: error: unknown command \"jump\"\n\
             line 3: error: existing needs unit=<id>\n\
             line 4: error: unknown identifier kind \"colour\"\n\
             line 5: error: expected `t=<ms> scan|tick|shutdown` or `existing ...`\n"
        );
    }

    #[test]
    fn unescapes_separators() {
        assert_eq!(unescape("a<GS>b<RS>c<EOT>"), "a\u{1d}b\u{1e}c\u{04}");
    }

    #[test]
    fn empty_scan_is_junk() {
        assert_eq!(
            simulate(PairConfig::default(), "t=0 scan"),
            "t=0 scan#1 -> rejected\n"
        );
    }
}
