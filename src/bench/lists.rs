//! The list benchmark, `scanstation bench lists --entries N`: import speed and match latency.
//!
//! It generates a deterministic list (serials, IMEIs with and without check digit, IMEI ranges,
//! TACs and serial prefixes), parses and imports it as the recall list `bench` (replacing an
//! earlier one of that name), then times `match_unit` for 10,000 units, half of them built to hit
//! an entry and half random. Matching reads every list kind alike, so the figures hold for a
//! blocklist of the same size.
//!
//! Then it times what closing a recall-mode unit costs the event loop against that list: the
//! unit's write (its identifiers keep the recall progress up to date in the same transaction),
//! the match and the progress read; and, once per run for comparison, the full recount that
//! progress used to be (about 350 ms a unit for a million entries). It prints figures and
//! asserts nothing, like the other benchmarks.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::ident::control::Mode;
use crate::ident::device::imei_check_digit;
use crate::ident::{IdKind, Identifier};
use crate::lists::{ImportMode, ListKind, UnitKeys, parse};
use crate::record::{
    CloseReason, Decision, ScanOutcome, ScanRecord, UnitIdRecord, UnitRecord, UnitStatus,
};
use crate::store::Store;

/// The name of the list the benchmark writes.
pub(crate) const BENCH_LIST: &str = "bench";

/// The number of timed `match_unit` calls.
const MATCHES: usize = 10_000;

/// The number of recall-mode unit closes timed, and of full recounts timed beside them.
const CLOSES: usize = 200;
const RECOUNTS: usize = 10;

/// The number of untimed calls first, so the timings show a running station, not a cold start.
const WARM_UP: usize = 1_000;

/// SplitMix64: a small deterministic generator, so runs are comparable without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// `len` uppercase hex characters.
    fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            let _ = write!(s, "{:016X}", self.next());
        }
        s.truncate(len);
        s
    }

    fn imei14(&mut self) -> String {
        format!("{:014}", self.below(100_000_000_000_000))
    }
}

/// What a generated entry lets a probe unit hit.
enum Probe {
    Serial(String),
    Imei(String),
}

/// Generates the list file text and, for every `stride`-th entry, a key that hits it.
fn generate(entries: usize, rng: &mut Rng) -> (String, Vec<Probe>) {
    let mut csv = String::with_capacity(entries * 40 + 64);
    csv.push_str("match,value,value_to,reason\n");
    let stride = (entries / (MATCHES / 2)).max(1);
    let mut probes = Vec::new();
    for i in 0..entries {
        let keep = i % stride == 0;
        let probe = match i % 10 {
            0..=3 => {
                let serial = format!("C{}", rng.hex(11));
                let _ = writeln!(csv, "serial,{serial},,bench recall");
                Probe::Serial(serial)
            }
            4..=6 => {
                let imei = rng.imei14();
                if i % 2 == 0 {
                    let check = imei_check_digit(&imei).unwrap_or('0');
                    let _ = writeln!(csv, "imei,{imei}{check},,stolen");
                } else {
                    let _ = writeln!(csv, "imei,{imei},,stolen");
                }
                Probe::Imei(imei)
            }
            7 => {
                let lo = rng.below(99_999_999_000_000);
                let hi = lo + rng.below(1_000);
                let _ = writeln!(csv, "imei_range,{lo:014},{hi:014},stolen shipment");
                Probe::Imei(format!("{:014}", lo + (hi - lo) / 2))
            }
            8 => {
                let tac = format!("{:08}", rng.below(100_000_000));
                let _ = writeln!(csv, "tac,{tac},,blocked model");
                Probe::Imei(format!("{tac}{:06}", rng.below(1_000_000)))
            }
            _ => {
                let len = 4 + rng.below(5) as usize;
                let prefix = format!("P{}", rng.hex(len - 1));
                let _ = writeln!(csv, "serial_prefix,{prefix},,bad batch");
                Probe::Serial(format!("{prefix}{}", rng.hex(12 - len)))
            }
        };
        if keep {
            probes.push(probe);
        }
    }
    (csv, probes)
}

/// A unit that should hit `probe`, padded with random keys like a real unit.
fn hit_unit(probe: &Probe, rng: &mut Rng) -> UnitKeys {
    let mut keys = miss_unit(rng);
    match probe {
        Probe::Serial(s) => keys.serials = vec![s.clone()],
        Probe::Imei(imei) => keys.imei14s[0] = imei.clone(),
    }
    keys
}

/// A unit of random keys: a serial no entry starts with, two IMEIs and a GTIN.
fn miss_unit(rng: &mut Rng) -> UnitKeys {
    UnitKeys {
        serials: vec![format!("Z{}", rng.hex(11))],
        imei14s: vec![rng.imei14(), rng.imei14()],
        gtin14s: vec![format!("{:014}", rng.below(100_000_000_000_000))],
        ..UnitKeys::default()
    }
}

fn per_second(rows: usize, d: Duration) -> f64 {
    rows as f64 / d.as_secs_f64().max(1e-9)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(rank).copied().unwrap_or_default()
}

/// Runs the benchmark on the database at `db` (created if needed).
pub(crate) fn run(entries: usize, db: &Path) -> anyhow::Result<()> {
    let mut store = Store::open(db).with_context(|| format!("opening {}", db.display()))?;
    store.remove_list(BENCH_LIST)?;
    let mut rng = Rng(0x5CA7_57A7_1011);

    let t = Instant::now();
    let (csv, probes) = generate(entries, &mut rng);
    println!(
        "lists bench: {entries} entries (40% serial, 30% imei, 10% imei_range, 10% tac, 10% serial_prefix), generated in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let parsed = parse(csv.as_bytes());
    let parse_time = t.elapsed();
    drop(csv);
    if let Some(e) = parsed.errors.first() {
        bail!(
            "the generated list has {} bad lines, first {e}",
            parsed.errors.len()
        );
    }
    let t = Instant::now();
    let report = store.import_list(
        ListKind::Recall,
        BENCH_LIST,
        &parsed.entries,
        ImportMode::Replace,
        0,
    )?;
    let import_time = t.elapsed();
    drop(parsed);
    println!(
        "parse:  {:>10.0} rows/s ({:.2} s)",
        per_second(entries, parse_time),
        parse_time.as_secs_f64()
    );
    println!(
        "import: {:>10.0} rows/s ({:.2} s, one transaction, {} rows added)",
        per_second(entries, import_time),
        import_time.as_secs_f64(),
        report.added
    );
    println!(
        "parse + import: {:>10.0} rows/s",
        per_second(entries, parse_time + import_time)
    );

    let kinds = ListKind::ALL;
    for _ in 0..WARM_UP {
        store.match_unit(&miss_unit(&mut rng), &kinds)?;
    }
    let mut times = Vec::with_capacity(MATCHES);
    let (mut hit_units, mut hit_found, mut miss_units, mut miss_found) = (0, 0, 0, 0);
    for i in 0..MATCHES {
        let probe = probes.get(i / 2 % probes.len().max(1));
        let (keys, should_hit) = match probe {
            Some(p) if i % 2 == 0 => (hit_unit(p, &mut rng), true),
            _ => (miss_unit(&mut rng), false),
        };
        let t = Instant::now();
        let hits = store.match_unit(&keys, &kinds)?;
        times.push(t.elapsed());
        if should_hit {
            hit_units += 1;
            hit_found += usize::from(!hits.is_empty());
        } else {
            miss_units += 1;
            miss_found += usize::from(!hits.is_empty());
        }
    }
    times.sort();
    println!(
        "match_unit x{MATCHES} (1 serial, 2 IMEIs, 1 GTIN each; after {WARM_UP} warm-up calls): median {} us, p99 {} us, max {} us",
        percentile(&times, 0.5).as_micros(),
        percentile(&times, 0.99).as_micros(),
        times.last().copied().unwrap_or_default().as_micros()
    );
    println!(
        "hits: {hit_found} of {hit_units} units built to hit; {miss_found} of {miss_units} random units hit by chance (random TACs)"
    );
    if hit_found != hit_units {
        bail!(
            "{} units built to hit an entry matched nothing",
            hit_units - hit_found
        );
    }
    recall_closes(&mut store, &probes, &mut rng)
}

/// The identifiers of a unit built from `keys`: its serial and its IMEIs (with check digits).
fn identifiers(keys: &UnitKeys) -> Vec<Identifier> {
    let serials = keys.serials.iter().map(|s| Identifier {
        kind: IdKind::Serial,
        value: s.clone(),
        key: s.clone(),
    });
    let imeis = keys.imei14s.iter().map(|k| Identifier {
        kind: IdKind::Imei,
        value: format!("{k}{}", imei_check_digit(k).unwrap_or('0')),
        key: k.clone(),
    });
    serials.chain(imeis).collect()
}

/// Times the event loop's part of closing recall-mode units: the write of each unit and its
/// scans in one transaction with its commit, the match, and the progress read after it; then
/// the old full recount for comparison.
fn recall_closes(store: &mut Store, probes: &[Probe], rng: &mut Rng) -> anyhow::Result<()> {
    let (mut scan_id, mut unit_id) = store.next_ids()?;
    let kinds = ListKind::ALL;
    let (mut writes, mut matches, mut reads) = (Vec::new(), Vec::new(), Vec::new());
    let mut progress = Vec::new();
    for i in 0..CLOSES {
        let keys = match probes.get(i % probes.len().max(1)) {
            Some(p) if i % 2 == 0 => hit_unit(p, rng),
            _ => miss_unit(rng),
        };
        let ids = identifiers(&keys);
        // The daemon matches on its read connection inside the write transaction; the writer
        // here sees the same entries, and the transaction would hold it, so it matches first.
        let t = Instant::now();
        let hits = store.match_unit(&keys, &kinds)?;
        matches.push(t.elapsed());
        let t = Instant::now();
        let tx = store.begin()?;
        tx.open_unit(unit_id, 0)?;
        let mut records = Vec::new();
        for (slot, id) in ids.iter().enumerate() {
            tx.insert_scan(&ScanRecord {
                id: scan_id,
                at_ms: 0,
                source: "bench".to_owned(),
                raw: id.value.as_bytes().to_vec(),
                symbology: None,
                kind: id.kind.into(),
                value: id.value.clone(),
                valid: true,
                reason_code: None,
                reason: None,
                outcome: ScanOutcome::Added,
                unit: Some(unit_id),
                mode: Some(Mode::Recall),
                decision: None,
                decision_reason: None,
            })?;
            tx.add_identifiers(unit_id, scan_id, std::slice::from_ref(id))?;
            records.push(UnitIdRecord {
                kind: id.kind,
                value: id.value.clone(),
                key: id.key.clone(),
                slot: i64::try_from(slot).unwrap_or(0) + 1,
                scan_id,
            });
            scan_id += 1;
        }
        tx.close_unit(&UnitRecord {
            id: unit_id,
            opened_ms: 0,
            closed_ms: Some(0),
            status: UnitStatus::Ok,
            close_reason: Some(CloseReason::Complete),
            complete: true,
            flags: Vec::new(),
            identifiers: records,
            mode: Some(Mode::Recall),
            decision: Some(if hits.is_empty() {
                Decision::Proceed
            } else {
                Decision::RecallHit
            }),
            decision_reason: None,
            decision_list: None,
            decision_list_version: None,
            invalid: Vec::new(),
            amends: 0,
        })?;
        tx.commit()?;
        writes.push(t.elapsed());
        unit_id += 1;
        let t = Instant::now();
        progress = store.recall_progress()?;
        reads.push(t.elapsed());
    }
    let mut recounts = Vec::new();
    let mut recounted = Vec::new();
    for _ in 0..RECOUNTS {
        let t = Instant::now();
        recounted = store.recall_progress_recount()?;
        recounts.push(t.elapsed());
    }
    for times in [&mut writes, &mut matches, &mut reads, &mut recounts] {
        times.sort();
    }
    let us = |times: &[Duration], p: f64| percentile(times, p).as_micros();
    println!(
        "recall unit close x{CLOSES} (half on the list): write + commit median {} us, p99 {} us; \
         match median {} us, p99 {} us; progress read median {} us, p99 {} us",
        us(&writes, 0.5),
        us(&writes, 0.99),
        us(&matches, 0.5),
        us(&matches, 0.99),
        us(&reads, 0.5),
        us(&reads, 0.99),
    );
    println!(
        "old progress recount x{RECOUNTS} (every entry against every unit): median {} us, p99 {} us",
        us(&recounts, 0.5),
        us(&recounts, 0.99),
    );
    println!(
        "event loop per recall unit (match + progress): before median {} us, after median {} us",
        us(&matches, 0.5) + us(&recounts, 0.5),
        us(&matches, 0.5) + us(&reads, 0.5),
    );
    if progress != recounted {
        bail!("kept recall progress {progress:?} differs from the recount {recounted:?}");
    }
    Ok(())
}
