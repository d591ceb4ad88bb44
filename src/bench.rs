//! Benchmarks that live in the repo: `scanstation bench ...`.
//!
//! They print figures to quote in notes; they assert nothing, because the machine is shared
//! and noisy. Compare ratios measured in one run.

use std::hint::black_box;
use std::time::Instant;

use anyhow::Result;
use clap::Subcommand;

use crate::ident::{self, checksum, device, tac::MemoryTacs};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Classify a deterministic mix of identifier strings on one core and report strings per second.
    Ident {
        /// How many strings to classify.
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
    },
}

pub fn run(command: BenchCommand) -> Result<std::process::ExitCode> {
    match command {
        BenchCommand::Ident { count } => bench_ident(count),
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// A small deterministic generator so every run classifies the same strings.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + (self.next() % 10) as u8))
            .collect()
    }
}

/// The mixed workload: the kinds a device desk sees, valid and invalid, plus junk.
pub fn mixed_strings(count: usize) -> Vec<String> {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let s = match i % 12 {
            0 | 1 => {
                let payload = format!("35{}", rng.digits(12));
                let cd = device::imei_check_digit(&payload).unwrap_or('0');
                format!("{payload}{cd}")
            }
            2 => format!("35{}", rng.digits(13)),
            3 => {
                let payload = format!("8944{}", rng.digits(14));
                let cd = checksum::luhn_check_digit(payload.as_bytes(), 10).unwrap_or(0);
                format!("{payload}{cd}")
            }
            4 => {
                let payload = format!("8904903{}", rng.digits(23));
                let cd = device::eid_check_digits(&payload).unwrap_or_default();
                format!("{payload}{cd}")
            }
            5 => {
                let payload = rng.digits(12);
                let cd = checksum::gtin_check_digit(payload.as_bytes()).unwrap_or(0);
                format!("{payload}{cd}")
            }
            6 => "SC02XG1ABJGH5".to_owned(),
            7 => "R58M315CL4T".to_owned(),
            8 => "]C10109506000134352\u{1d}21ABC123".to_owned(),
            9 => "AF0123450ABCDEC".to_owned(),
            10 => "'; DROP TABLE units; --".to_owned(),
            _ => format!(
                "[)>\u{1e}06\u{1d}S{}\u{1d}1PMQ3D2LL/A\u{1e}\u{04}",
                rng.digits(10)
            ),
        };
        out.push(s);
    }
    out
}

fn bench_ident(count: usize) {
    let inputs = mixed_strings(count);
    let tacs = MemoryTacs::default();
    // One warm-up pass keeps page faults and lazy initialisation out of the measured pass.
    for s in inputs.iter().take(10_000) {
        black_box(ident::classify(s, None, &tacs));
    }
    let start = Instant::now();
    let mut valid = 0usize;
    for s in &inputs {
        if black_box(ident::classify(s, None, &tacs)).valid() {
            valid += 1;
        }
    }
    let elapsed = start.elapsed();
    let per_sec = count as f64 / elapsed.as_secs_f64();
    println!(
        "bench ident: {count} strings in {:.3} s on one core: {:.0} strings/s ({:.0} ns/string), {valid} valid",
        elapsed.as_secs_f64(),
        per_sec,
        elapsed.as_nanos() as f64 / count as f64
    );
}
