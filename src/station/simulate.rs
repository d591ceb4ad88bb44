//! Whole-station transcripts: the desk's behaviour as text, without devices, clock or files.
//!
//! A script has one command per line; blank lines and `#` comments are ignored:
//!
//! ```text
//! mode returns                                   # the mode at start (default intake)
//! tac 35417803 Apple|iPhone 8                    # a TAC row: brand|model
//! list shipped order-7 serial,C02XG1ABJGH5,,line 1   # a list entry: kind, name, CSV row
//! t=0 scan C02XG1ABJGH5                          # a handheld scan
//! t=900 frame [C02XG1ABJGH5 354178036859789] @700,100[356938035643809]
//! t=900 still [354178036859789]                  # a still image (the images source)
//! t=30000 tick                                   # time passes
//! t=31000 finish                                 # the run ends
//! lookups fail                                   # from here on, list lookups fail
//! ```
//!
//! A frame lists its labels in brackets, each with the values read on it; `@x,y` places a
//! label (default: side by side from the left), so a label that moves keeps its values and
//! changes its place. `<GS>`, `<RS>` and `<EOT>` in a value stand for the separator bytes.
//!
//! The store is simulated in memory: closed units are kept as the daemon would write them, so
//! duplicates and conflicts against earlier units show, and lists are matched with
//! [`Entry::matches`], the reference semantics the store's indexed lookups implement. The
//! transcript has one line per acknowledgement (and per recall-progress change), prefixed with
//! the time of the command that caused it. A line it cannot read becomes `line N: error: ...`.

use std::cell::Cell;
use std::fmt::Write as _;

use super::{Ack, Input, Lookups, Plan, Station, StationConfig, Write};
use crate::clock::Now;
use crate::decode::{Format, Symbol};
use crate::evidence::EvidenceConfig;
use crate::ident::control::Mode;
use crate::ident::tac::{MemoryTacs, TacInfo};
use crate::ident::{GtinPrefixes, IdKind};
use crate::lists::{Entry, ListHit, ListKind, MatchKind, UnitKeys};
use crate::pair::PairConfig;
use crate::pair::label::LabelConfig;
use crate::record::{ScanRecord, UnitRecord, UnitStatus};
use crate::source::{FrameLabel, FrameResult, RawScan};
use crate::store::{SharingUnit, StoreError};

/// One list as the simulated store holds it.
struct MemoryList {
    name: String,
    kind: ListKind,
    entries: Vec<Entry>,
}

/// The simulated store: closed units and lists.
#[derive(Default)]
pub(crate) struct MemoryStore {
    units: Vec<UnitRecord>,
    lists: Vec<MemoryList>,
    /// Set by `lookups fail`: list lookups return an error, as a broken list table would.
    lists_broken: Cell<bool>,
}

impl MemoryStore {
    /// Applies one plan as the daemon writes it.
    pub(crate) fn apply(&mut self, plan: &Plan) {
        for write in &plan.writes {
            match write {
                Write::CloseUnit(unit) => {
                    self.units.retain(|u| u.id != unit.id);
                    self.units.push(unit.clone());
                }
                Write::CancelUnit { unit, .. } => self.units.retain(|u| u.id != *unit),
                Write::OpenUnit { .. } | Write::Scan { .. } | Write::RemoveIdentifiers { .. } => {}
            }
        }
    }

    fn keys(unit: &UnitRecord) -> UnitKeys {
        let ids: Vec<crate::ident::Identifier> = unit
            .identifiers
            .iter()
            .map(|i| crate::ident::Identifier {
                kind: i.kind,
                value: i.value.clone(),
                key: i.key.clone(),
            })
            .collect();
        UnitKeys::from_identifiers(&ids)
    }

    /// Recall progress per recall list as the store keeps it: of the exact entries (a serial
    /// or an IMEI), how many a stored unit holds.
    fn recall_progress(&self) -> Vec<(String, usize, usize)> {
        let keys: Vec<UnitKeys> = self.units.iter().map(Self::keys).collect();
        self.lists
            .iter()
            .filter(|l| l.kind == ListKind::Recall)
            .map(|l| {
                let exact: Vec<&Entry> = l
                    .entries
                    .iter()
                    .filter(|e| matches!(e.kind, MatchKind::Serial | MatchKind::Imei))
                    .collect();
                let found = exact
                    .iter()
                    .filter(|e| keys.iter().any(|k| e.matches(k)))
                    .count();
                (l.name.clone(), found, exact.len())
            })
            .collect()
    }
}

impl Lookups for MemoryStore {
    fn units_sharing(
        &self,
        unit: i64,
        keys: &[(IdKind, String)],
    ) -> Result<Vec<SharingUnit>, StoreError> {
        Ok(self
            .units
            .iter()
            .filter(|u| u.id != unit && matches!(u.status, UnitStatus::Ok | UnitStatus::Flagged))
            .filter(|u| {
                u.identifiers
                    .iter()
                    .any(|i| keys.iter().any(|(k, key)| *k == i.kind && *key == i.key))
            })
            .map(|u| {
                (
                    u.id,
                    u.identifiers
                        .iter()
                        .map(|i| (i.kind, i.key.clone()))
                        .collect(),
                )
            })
            .collect())
    }

    fn list_hits(&self, keys: &UnitKeys, kinds: &[ListKind]) -> Result<Vec<ListHit>, StoreError> {
        if self.lists_broken.get() {
            return Err(StoreError::Query {
                path: "the simulated store".into(),
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                    Some("list tables unreadable (`lookups fail`)".to_owned()),
                )
                .into(),
            });
        }
        let mut hits = Vec::new();
        for list in self.lists.iter().filter(|l| kinds.contains(&l.kind)) {
            for entry in list.entries.iter().filter(|e| e.matches(keys)) {
                hits.push(ListHit {
                    list: list.name.clone(),
                    kind: list.kind,
                    version: 1,
                    match_kind: entry.kind,
                    value: entry.display_value(),
                    reason: entry.reason.clone(),
                });
            }
        }
        Ok(hits)
    }
}

/// Runs a script against a fresh station (default pairing and label settings) and returns
/// its transcript.
pub(crate) fn simulate(script: &str) -> String {
    simulate_with(PairConfig::default(), LabelConfig::default(), script)
}

/// [`simulate`] with the given pairing and label settings.
pub(crate) fn simulate_with(pairing: PairConfig, labels: LabelConfig, script: &str) -> String {
    let mut out = String::new();
    let mut store = MemoryStore::default();
    let mut tacs = MemoryTacs::default();
    let mut mode = Mode::Intake;
    let mut station: Option<Station> = None;
    for (n, raw) in script.lines().enumerate() {
        let line = raw.split_once(" #").map_or(raw, |(l, _)| l).trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let setup = station.is_none();
        let result = if let Some(rest) = line.strip_prefix("mode ") {
            if setup {
                Mode::parse(rest.trim())
                    .map(|m| mode = m)
                    .ok_or_else(|| format!("unknown mode {rest:?}"))
            } else {
                Err("`mode` comes before the first timed command".to_owned())
            }
        } else if let Some(rest) = line.strip_prefix("tac ") {
            if setup {
                add_tac(&mut tacs, rest)
            } else {
                Err("`tac` comes before the first timed command".to_owned())
            }
        } else if let Some(rest) = line.strip_prefix("list ") {
            add_list_entry(&mut store, rest)
        } else if line == "lookups fail" {
            store.lists_broken.set(true);
            Ok(())
        } else if let Some((t, command)) = parse_time(line) {
            let station = station.get_or_insert_with(|| {
                Station::new(
                    StationConfig {
                        pairing: pairing.clone(),
                        labels: labels.clone(),
                        evidence: EvidenceConfig {
                            enabled: false,
                            ..EvidenceConfig::default()
                        },
                        mode,
                    },
                    tacs.clone(),
                    GtinPrefixes::builtin(),
                    1,
                    1,
                )
            });
            run_command(station, &mut store, t, command, &mut out)
        } else {
            Err("expected `t=<ms> scan|frame|still|tick|finish`, `mode`, `tac`, `list` or `lookups fail`".to_owned())
        };
        if let Err(message) = result {
            let _ = writeln!(out, "line {}: error: {message}", n + 1);
        }
    }
    out
}

fn run_command(
    station: &mut Station,
    store: &mut MemoryStore,
    t: i64,
    command: &str,
    out: &mut String,
) -> Result<(), String> {
    let (verb, rest) = command.split_once(' ').unwrap_or((command, ""));
    let input = match verb {
        "scan" => Input::Scan(RawScan {
            source: "sim".to_owned(),
            at_ms: t,
            mono_ms: t,
            bytes: unescape(rest).into_bytes(),
            problem: None,
        }),
        "frame" | "still" => Input::Frame(parse_frame(t, rest, verb == "still")?),
        "tick" => Input::Tick,
        "finish" => Input::Finish,
        _ => return Err(format!("unknown command {verb:?}")),
    };
    let plan = station
        .handle(
            input,
            Now {
                wall_ms: t,
                mono_ms: t,
            },
            store,
        )
        .map_err(|e| format!("lookup failed: {e}"))?;
    store.apply(&plan);
    for note in &plan.notes {
        let _ = writeln!(out, "t={t} note: {note}");
    }
    for ack in &plan.acks {
        let _ = match ack {
            Ack::Scan(s) => writeln!(out, "t={t} {}", scan_line(s)),
            Ack::Unit(u) => writeln!(out, "t={t} {}", unit_line(u)),
        };
    }
    if plan.closes_recall_unit() {
        for (list, found, expected) in store.recall_progress() {
            let _ = writeln!(out, "t={t} progress {list}: {found}/{expected}");
        }
    }
    Ok(())
}

/// `scan 3 imei 354178036859789 added -> unit 1`, with the scan's own decision when it has one
/// other than proceed, and its validation reason when it failed.
pub(crate) fn scan_line(s: &ScanRecord) -> String {
    let mut line = format!("scan {} {} {:?} {}", s.id, s.kind, s.value, s.outcome);
    if let Some(unit) = s.unit {
        let _ = write!(line, " -> unit {unit}");
    }
    if let Some(reason) = &s.reason {
        let _ = write!(line, " ({reason})");
    }
    if let (Some(decision), Some(why)) = (s.decision, &s.decision_reason)
        && decision != crate::record::Decision::Proceed
    {
        let _ = write!(line, " | {decision}: {why}");
    }
    line
}

/// `unit 1 ok complete [intake] serial C02...; imei 35..., 35... | proceed: new unit`, then
/// flags and invalid values.
pub(crate) fn unit_line(u: &UnitRecord) -> String {
    let mut line = format!(
        "unit {} {} {}",
        u.id,
        u.status,
        u.close_reason.map_or("open", |r| r.as_str())
    );
    if u.amends > 0 {
        let _ = write!(line, " amended x{}", u.amends);
    }
    if let Some(mode) = u.mode {
        let _ = write!(line, " [{mode}]");
    }
    let parts = u.identifier_parts();
    if !parts.is_empty() {
        let _ = write!(line, " {}", parts.join("; "));
    }
    if let (Some(decision), Some(why)) = (u.decision, &u.decision_reason) {
        let _ = write!(line, " | {decision}: {why}");
    } else if let Some(why) = &u.decision_reason {
        let _ = write!(line, " | {why}");
    }
    for flag in &u.flags {
        let _ = write!(line, " | flag {}: {}", flag.code, flag.message);
    }
    for bad in &u.invalid {
        let _ = write!(line, " | invalid {} {}", bad.kind, bad.value);
    }
    line
}

/// Splits `t=<ms> rest` into the time and the rest.
fn parse_time(line: &str) -> Option<(i64, &str)> {
    let rest = line.strip_prefix("t=")?;
    let (t, command) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((t.parse().ok()?, command.trim_start()))
}

/// `<tac> <brand>|<model>`.
fn add_tac(tacs: &mut MemoryTacs, rest: &str) -> Result<(), String> {
    let (tac, info) = rest
        .trim()
        .split_once(' ')
        .ok_or_else(|| "expected `tac <8 digits> <brand>|<model>`".to_owned())?;
    let (brand, model) = info.split_once('|').unwrap_or((info, ""));
    let inserted = tacs.insert(
        tac,
        TacInfo {
            brand: brand.trim().to_owned(),
            model: model.trim().to_owned(),
        },
    );
    if inserted {
        Ok(())
    } else {
        Err(format!("{tac:?} is not an 8-digit TAC"))
    }
}

/// `<kind> <name> <CSV row match,value,value_to,reason>`: one entry of a list.
fn add_list_entry(store: &mut MemoryStore, rest: &str) -> Result<(), String> {
    let mut words = rest.trim().splitn(3, ' ');
    let (Some(kind), Some(name), Some(row)) = (words.next(), words.next(), words.next()) else {
        return Err("expected `list <kind> <name> <match>,<value>,<value_to>,<reason>`".to_owned());
    };
    let kind = ListKind::parse(kind).ok_or_else(|| format!("unknown list kind {kind:?}"))?;
    let file = format!("match,value,value_to,reason\n{row}\n");
    let parsed = crate::lists::parse(file.as_bytes());
    if let Some(error) = parsed.errors.first() {
        return Err(format!("bad list entry: {}", error.message));
    }
    match store.lists.iter_mut().find(|l| l.name == name) {
        Some(list) if list.kind != kind => Err(format!(
            "list {name:?} is a {} list, not {}",
            list.kind.as_str(),
            kind.as_str()
        )),
        Some(list) => {
            list.entries.extend(parsed.entries);
            Ok(())
        }
        None => {
            store.lists.push(MemoryList {
                name: name.to_owned(),
                kind,
                entries: parsed.entries,
            });
            Ok(())
        }
    }
}

/// `[v v] @x,y[v]`: labels in brackets, each optionally placed at `@x,y`.
fn parse_frame(t: i64, rest: &str, still: bool) -> Result<FrameResult, String> {
    let mut symbols = Vec::new();
    let mut labels = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (place, after) = match rest.strip_prefix('@') {
            Some(placed) => {
                let open = placed
                    .find('[')
                    .ok_or_else(|| format!("expected `[` after `@` in {rest:?}"))?;
                let (x, y) = placed[..open]
                    .split_once(',')
                    .and_then(|(x, y)| {
                        Some((x.trim().parse::<f32>().ok()?, y.trim().parse::<f32>().ok()?))
                    })
                    .ok_or_else(|| format!("expected `@x,y[` in {rest:?}"))?;
                (Some((x, y)), &placed[open..])
            }
            None => (None, rest),
        };
        let inner = after
            .strip_prefix('[')
            .ok_or_else(|| format!("expected `[` at {after:?}"))?;
        let close = inner
            .find(']')
            .ok_or_else(|| format!("unclosed `[` in {after:?}"))?;
        let values: Vec<&str> = inner[..close].split_whitespace().collect();
        rest = inner[close + 1..].trim_start();
        let (x, y) = place.unwrap_or((100.0 + 700.0 * labels.len() as f32, 100.0));
        let first = symbols.len();
        for (i, value) in values.iter().enumerate() {
            let top = y + 60.0 * i as f32;
            symbols.push(Symbol {
                format: Format::Code128,
                text: unescape(value),
                raw: Vec::new(),
                aim: "]C0".to_owned(),
                corners: [
                    (x, top),
                    (x + 300.0, top),
                    (x + 300.0, top + 40.0),
                    (x, top + 40.0),
                ],
            });
        }
        let bottom = y + 60.0 * values.len() as f32;
        labels.push(FrameLabel {
            outline: [
                (x - 20.0, y - 20.0),
                (x + 320.0, y - 20.0),
                (x + 320.0, bottom),
                (x - 20.0, bottom),
            ],
            symbols: (first..symbols.len()).collect(),
            sharpness: 1.0,
        });
    }
    Ok(FrameResult {
        source: "sim-camera".to_owned(),
        at_ms: t,
        name: format!("t{t}"),
        symbols,
        labels,
        image: None,
        still,
        error: None,
        decode_ms: None,
        dropped: 0,
    })
}

fn unescape(text: &str) -> String {
    text.replace("<GS>", "\u{1d}")
        .replace("<RS>", "\u{1e}")
        .replace("<EOT>", "\u{04}")
}
