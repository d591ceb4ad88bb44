//! The command line: argument parsing and the thin wiring behind each subcommand.
//!
//! `anyhow` is used here and, behind the `lab` feature, in the benchmarks; the library modules
//! below return typed errors.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config, LogFormat, SourceSpec};
use crate::ident::control::Mode;
use crate::ident::{self, Classification, tac::MemoryTacs};
use crate::lists::ListKind;
use crate::source::Terminator;
use crate::store::{self, Store};
use crate::term::{self, escape};

#[derive(Debug, Parser)]
#[command(
    name = "scanstation",
    version,
    about = "Barcode label scanning station for device intake, returns and recall sweeps"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the station: read scans and classify, pair and store them.
    Run(RunArgs),
    /// Classify and validate identifiers given on the command line.
    Check(CheckArgs),
    /// Render the desk card: every control barcode with a caption (PNG or SVG by extension).
    Card {
        /// The file to write: card.png or card.svg.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Recall, blocklist, expected and shipped lists.
    List {
        #[command(subcommand)]
        command: ListCommand,
    },
    /// Audits: compare an expected list with the units seen in audit mode.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Keyboard-wedge tools: play a recorded key-event file, or record one from a scanner.
    Wedge {
        #[command(subcommand)]
        command: WedgeCommand,
    },
    /// Decode every barcode in image files or folders.
    Decode(DecodeArgs),
    /// Export units or scans as CSV, JSON or NDJSON.
    Export(ExportArgs),
    /// Find a unit by any identifier (an IMEI with or without its check digit, a serial, ...).
    Find(FindArgs),
    /// Run the station's decisions on a script of scans, frames and lists, with no devices,
    /// clock or database, and print what the operator would be told (see `station::simulate`).
    Simulate {
        /// The script file, or `-` for stdin.
        #[arg(value_name = "SCRIPT")]
        script: PathBuf,
    },
    /// Serve the HTTP API and desk page over a database, read-only, while no station runs
    /// there (for the back office). Rows another process adds show up live.
    Serve(ServeArgs),
    /// Copy the database to a new file, safely even while a station writes to it (SQLite's
    /// online backup API); the copy is one self-contained, checked file.
    Backup {
        #[command(flatten)]
        db: DbArg,
        /// The new file to write; an existing file is never overwritten.
        #[arg(value_name = "OUT")]
        out: PathBuf,
    },
    /// Check the database's hash-chained ledger: every scan, unit change and list version
    /// against the chain, and the chain itself. Exits 1 and names the first bad row when a row
    /// was edited, deleted or inserted outside the station.
    Verify {
        #[command(flatten)]
        db: DbArg,
        /// Print one JSON object: {"ok", "rows", "first_bad": {"table", "id", "reason"} | null,
        /// "head", "started"}.
        #[arg(long)]
        json: bool,
    },
    /// Webhooks: where the deliveries of committed events to each receiver stand.
    Webhooks {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// Push the ledger to a central PostgreSQL once (`sync --to URL`), or show where the
    /// pushes stand (`sync status`).
    #[command(args_conflicts_with_subcommands = true)]
    Sync {
        #[command(subcommand)]
        command: Option<SyncCommand>,
        #[command(flatten)]
        args: SyncArgs,
    },
    /// The one view over every desk, read from the central PostgreSQL the stations sync to:
    /// cross-desk conflicts, a value at any desk, per-desk counts. Read-only.
    Central {
        #[command(subcommand)]
        command: CentralCommand,
    },
    /// Manage the TAC (type allocation code) table.
    Tac {
        #[command(subcommand)]
        command: TacCommand,
    },
    /// Run a benchmark or a label generator that lives in the repo (dev tooling, feature `lab`).
    #[cfg(feature = "lab")]
    Bench {
        #[command(subcommand)]
        command: crate::bench::BenchCommand,
    },
    /// Benchmarks and label generators: not in this build (build with `--features lab`).
    ///
    /// They are dev tooling, left out of the station binary. From the source tree:
    /// `cargo run --release --features lab -- bench ...`
    // Kept as a subcommand that takes anything, so `scanstation bench sessions ...` on a
    // station build says what is missing and how to get it, instead of clap's bare
    // "unrecognized subcommand".
    #[cfg(not(feature = "lab"))]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct DbArg {
    /// The SQLite database (default: $XDG_DATA_HOME/scanstation/scanstation.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

impl DbArg {
    pub fn path(&self) -> Result<PathBuf> {
        match &self.db {
            Some(path) => Ok(path.clone()),
            None => store::default_db_path()
                .context("no home directory to put the database in: pass --db PATH"),
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The config file (default: $XDG_CONFIG_HOME/scanstation/config.toml, when it exists).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArg,
    /// A scan source: `stdin` or `serial:PATH[@BAUD]`. Repeat for several; overrides the config.
    #[arg(long = "source", value_name = "SPEC")]
    pub sources: Vec<String>,
    /// Print one JSON object per line (scan and unit events) instead of human lines.
    #[arg(long)]
    pub json: bool,
    /// Log format on stderr.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Close a unit after this many milliseconds without a scan.
    #[arg(long, value_name = "MS")]
    pub idle_timeout_ms: Option<i64>,
    /// What makes a unit complete, e.g. `serial+imei+imei`.
    #[arg(long, value_name = "KINDS")]
    pub profile: Option<String>,
    /// The desk mode at start.
    #[arg(long, value_enum, ignore_case = true, value_name = "MODE")]
    pub mode: Option<Mode>,
    /// What ends a scan on serial sources.
    #[arg(long, value_enum, ignore_case = true, value_name = "T")]
    pub terminator: Option<Terminator>,
    /// Serve the HTTP API and desk page on HOST:PORT (e.g. 127.0.0.1:8080); anything but
    /// loopback needs a token ([http] token or SCANSTATION_HTTP_TOKEN).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The config file, for its [http] section (default: as for `run`).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArg,
    /// HOST:PORT to listen on (default: [http] listen from the config).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// One JSON object per image: {"file", "results": [{"format", "text"}], "ms"}.
    #[arg(long)]
    pub json: bool,
    /// The formats to look for, comma-separated (default: the label formats).
    #[arg(long, value_name = "LIST")]
    pub formats: Option<String>,
    /// Image files or folders (a folder's images are read in name order).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// What to export.
    #[arg(long, value_enum, default_value = "units")]
    pub what: crate::export::What,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: crate::export::Format,
    /// Only what was scanned at or after this time (2026-11-25 or 2026-11-25T08:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct FindArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write the label picture of the unit found (a JPEG) to FILE; with several units, the
    /// newest one that has a picture.
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
    /// The value to look for.
    pub value: String,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Print one JSON object per argument.
    #[arg(long)]
    pub json: bool,
    /// The strings to check. Control characters may be written `\x1d` or `<GS>`, `<RS>`, `<EOT>`.
    #[arg(required = true, value_name = "TEXT")]
    pub texts: Vec<String>,
}

/// A list file to import, at a desk (`list import`) or centrally (`central list import`).
#[derive(Debug, Args)]
pub struct ListFileArgs {
    /// What the list is for.
    #[arg(long, value_enum, ignore_case = true, value_name = "KIND")]
    pub kind: ListKind,
    /// The list's name; importing it again makes a new version of it.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Import the good lines and report the bad ones, instead of refusing the file.
    #[arg(long)]
    pub skip_bad_lines: bool,
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ListCommand {
    /// Import a list file (CSV `match,value,value_to,reason[,op]`; see the README).
    Import {
        #[command(flatten)]
        db: DbArg,
        #[command(flatten)]
        list: ListFileArgs,
    },
    /// The lists, with kind, version and active entries.
    Ls {
        #[command(flatten)]
        db: DbArg,
    },
    /// A list's active entries.
    Show {
        #[command(flatten)]
        db: DbArg,
        name: String,
    },
    /// Delete a list (decisions already made keep their reasons).
    Rm {
        #[command(flatten)]
        db: DbArg,
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Units found, missing and unexpected against each expected list.
    Report {
        #[command(flatten)]
        db: DbArg,
        /// Only this expected list.
        #[arg(long, value_name = "NAME")]
        list: Option<String>,
        /// Only units seen at or after this time.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WedgeCommand {
    /// Turn a recorded key-event file into the scans a wedge would give, and classify them.
    Play {
        /// The event file (`# scanstation wedge events v1`; see `wedge record`).
        file: PathBuf,
        /// A gap this long between keys ends a scan (0: only Enter/Tab end scans).
        #[arg(long, default_value_t = 100)]
        gap_ms: i64,
        /// One JSON object per scan, as `check --json` prints.
        #[arg(long)]
        json: bool,
    },
    /// Record a scanner's key events (grabbed exclusively) to stdout, for a bug report.
    Record {
        /// The input device, e.g. /dev/input/by-id/usb-...-event-kbd.
        device: PathBuf,
        /// Stop after this many seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Per webhook: delivered up to, backlog, oldest undelivered event, failures, last success.
    Status {
        #[command(flatten)]
        db: DbArg,
        /// The config whose webhooks to report (default: the station's config file, when it
        /// exists); without webhooks in it, every webhook the database knows is reported.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `scanstation sync --db DB --to URL`: one push of everything the server does not hold.
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The central server, postgres://USER:PASSWORD@HOST:PORT/DB (default: the config's
    /// sync.url). The password is never printed or stored.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// The name to push under (default: the config's station.name, else the hostname).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The config file to take sync.url, station.name and the database from (default: the
    /// station's config file, when it exists).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Per central server: rows pushed, the backlog, the last push and the last error.
    Status {
        #[command(flatten)]
        db: DbArg,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Where the central server is: `--url`, else the config's `sync.url`.
#[derive(Debug, Args)]
pub struct CentralArgs {
    /// The central server, postgres://USER:PASSWORD@HOST:PORT/DB (default: the config's
    /// sync.url). The password is never printed.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The config file to take sync.url from (default: the station's config file, when it
    /// exists).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum CentralCommand {
    /// IMEIs and serials recorded on units at two desks that cannot be one device (the same
    /// IMEI with different serials, the same serial with other IMEIs). Exit 1 when any exist.
    Conflicts {
        #[command(flatten)]
        args: CentralArgs,
    },
    /// A value (any identifier; an IMEI with or without its check digit) at every desk: the
    /// units holding it with their decision history and scans, or the scans that carried it.
    Find {
        #[command(flatten)]
        args: CentralArgs,
        #[arg(value_name = "VALUE")]
        value: String,
    },
    /// Per desk: ledger rows, last push, scans, units and decisions; totals; recall progress
    /// across every desk; conflicts.
    Report {
        #[command(flatten)]
        args: CentralArgs,
    },
    /// Lists published centrally (recall, blocklist, expected, shipped): every station that
    /// syncs to the server takes each new version.
    List {
        #[command(subcommand)]
        command: CentralListCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum CentralListCommand {
    /// Publish a list file (the same CSV as `list import`) as the list's next central version.
    Import {
        #[command(flatten)]
        args: CentralArgs,
        #[command(flatten)]
        list: ListFileArgs,
    },
    /// The central lists: version, active entries, and the version each desk holds.
    Ls {
        #[command(flatten)]
        args: CentralArgs,
    },
    /// Remove a central list; each desk removes its copy at its next pull.
    Rm {
        #[command(flatten)]
        args: CentralArgs,
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TacCommand {
    /// Import an Osmocom TAC CSV export (tacdb.csv).
    Import {
        #[command(flatten)]
        db: DbArg,
        /// The CSV file.
        file: PathBuf,
    },
    /// Add or replace a local TAC entry; local entries win over imported ones.
    Set {
        #[command(flatten)]
        db: DbArg,
        tac: String,
        brand: String,
        model: String,
    },
}

// The names clap offers, lists in `--help` and refuses others with, for enumerations whose
// names live with their types (`as_str`, also used by config files, control barcodes and the
// store). `ignore_case` on each flag keeps the letter case free, as those parsers are.
impl clap::ValueEnum for Mode {
    fn value_variants<'a>() -> &'a [Self] {
        &Mode::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl clap::ValueEnum for ListKind {
    fn value_variants<'a>() -> &'a [Self] {
        &ListKind::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl clap::ValueEnum for Terminator {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Terminator::Cr,
            Terminator::Lf,
            Terminator::Crlf,
            Terminator::Any,
            Terminator::None,
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// The binary's entry point: parses arguments, runs the command, maps errors to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            // A closed stdout (`scanstation export | head`) is not a failure.
            if err
                .chain()
                .filter_map(|e| e.downcast_ref::<std::io::Error>())
                .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            // Messages say what failed and where and chain their cause instead of repeating it,
            // so the alternate form (`what: cause: deeper cause`) shows each cause exactly once.
            let message = format!("{err:#}");
            // Errors quote file names, config values and bad input lines; this is the one place
            // they reach the terminal, so it is the one place they are escaped.
            eprintln!("scanstation: error: {}", term::Escaped(&message));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run_daemon(&args),
        Command::Check(args) => check(&args),
        Command::Decode(args) => decode(&args),
        Command::Card { out } => card(&out),
        Command::Wedge { command } => wedge(command),
        Command::List { command } => list(command),
        Command::Audit { command } => audit(command),
        Command::Export(args) => export(&args),
        Command::Find(args) => find(&args),
        Command::Simulate { script } => {
            let text = if script.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
                    .context("cannot read the script from stdin")?
            } else {
                std::fs::read_to_string(&script)
                    .with_context(|| format!("cannot read the script {}", term::path(&script)))?
            };
            let transcript = crate::station::simulate::simulate(&text);
            // Values in the transcript came from the script, which may hold anything.
            print!("{}", term::escape_lines(&transcript));
            Ok(if transcript.lines().any(|l| l.contains(": error: ")) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Serve(args) => serve(&args),
        Command::Backup { db, out } => backup(&db, &out),
        Command::Verify { db, json } => verify(&db, json),
        Command::Tac { command } => tac(command),
        Command::Webhooks { command } => webhooks(command),
        Command::Central { command } => central(command),
        Command::Sync { command, args } => match command {
            Some(SyncCommand::Status { db, json }) => sync_status(&db, json),
            None => sync_push(&args),
        },
        #[cfg(feature = "lab")]
        Command::Bench { command } => crate::bench::run(command),
        #[cfg(not(feature = "lab"))]
        Command::Bench { args } => Ok(no_lab(&args)),
    }
}

/// `scanstation bench ...` on a build without the `lab` feature: says so and how to get it, and
/// exits 2 like any other command line the binary cannot run.
#[cfg(not(feature = "lab"))]
fn no_lab(args: &[String]) -> ExitCode {
    // The arguments are the user's own, echoed back so the hint can be copied; they pass
    // through `term` like any outside text on the terminal.
    let mut again = String::from("cargo run --release --features lab -- bench");
    for arg in args {
        again.push(' ');
        again.push_str(&shell_word(arg));
    }
    eprintln!(
        "scanstation: error: this build has no benchmarks or label generators: `bench` is dev \
         tooling behind the `lab` feature\n  from the source tree: {}",
        term::Escaped(&again)
    );
    ExitCode::from(2)
}

/// `word` quoted for a POSIX shell when it holds anything but plain characters.
#[cfg(not(feature = "lab"))]
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Loads the TAC table from the database when there is one, without creating it.
fn load_tacs(db: &DbArg) -> Result<MemoryTacs> {
    let path = db.path()?;
    match Store::open_read_only(&path)? {
        Some(store) => Ok(store.load_tacs()?),
        None => Ok(MemoryTacs::default()),
    }
}

/// Turns `\x1d`, `\\`, `<GS>`, `<RS>`, `<EOT>` and `<FNC1>` into the bytes they stand for.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(ch) = rest.chars().next() {
        let named = [
            ("<GS>", '\u{1d}'),
            ("<FNC1>", '\u{1d}'),
            ("<RS>", '\u{1e}'),
            ("<EOT>", '\u{04}'),
        ]
        .into_iter()
        .find(|(name, _)| rest.starts_with(name));
        if let Some((name, byte)) = named {
            out.push(byte);
            rest = &rest[name.len()..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("\\x")
            && let Some(byte) = after.get(..2).and_then(|h| u8::from_str_radix(h, 16).ok())
            && byte.is_ascii()
        {
            out.push(byte as char);
            rest = &after[2..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("\\\\") {
            out.push('\\');
            rest = after;
            continue;
        }
        out.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    out
}

/// A short summary of the details that matter most to an operator.
pub fn summary(c: &Classification) -> String {
    let d = &c.details;
    let mut parts = Vec::new();
    if let Some(reason) = c.reason() {
        parts.push(reason.to_owned());
    }
    if let Some(tac) = &d.tac {
        let device = match (&d.brand, &d.model) {
            (Some(b), Some(m)) => format!(" {b} {m}"),
            _ => String::new(),
        };
        parts.push(format!("TAC {tac}{device}"));
    }
    if let Some(cd) = &d.check_digit {
        match &d.expected_check_digit {
            Some(want) => parts.push(format!("check digit {cd}, expected {want}")),
            None => parts.push(format!("check digit {cd}")),
        }
    }
    if let Some(pesn) = &d.pesn {
        parts.push(format!("pESN {pesn}"));
    }
    if let Some(gtin14) = &d.gtin14 {
        parts.push(format!("GTIN-14 {gtin14}"));
    }
    if let Some(add_on) = &d.add_on {
        parts.push(format!("add-on {add_on}"));
    }
    if let Some(format) = d.serial_format {
        parts.push(format!("format {format}"));
    }
    if let Some(prefix) = d.stripped_prefix {
        parts.push(format!("prefix {prefix} removed"));
    }
    if !c.alternatives.is_empty() {
        let kinds: Vec<&str> = c.alternatives.iter().map(|a| a.kind.as_str()).collect();
        parts.push(format!("also considered {}", kinds.join(", ")));
    }
    parts.join("; ")
}

fn check(args: &CheckArgs) -> Result<ExitCode> {
    let tacs = load_tacs(&args.db)?;
    let results: Vec<Classification> = args
        .texts
        .iter()
        .map(|text| ident::classify(&unescape(text), None, &tacs))
        .collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        for c in &results {
            writeln!(out, "{}", c.to_json())?;
        }
    } else {
        print_table(&mut out, &results)?;
    }
    out.flush()?;
    // Like grep, a check that found invalid input says so in its exit status, for scripts.
    Ok(if results.iter().all(Classification::valid) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_table(out: &mut impl Write, results: &[Classification]) -> Result<()> {
    let rows: Vec<[String; 5]> = results
        .iter()
        .map(|c| {
            [
                escape(&c.input),
                c.kind.to_string(),
                if c.valid() { "valid" } else { "INVALID" }.to_owned(),
                escape(&c.value),
                // The summary names the TAC's brand and model, which come from an imported file.
                escape(&summary(c)),
            ]
        })
        .collect();
    let headers = ["INPUT", "KIND", "VALID", "VALUE", "WHY"];
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count().min(40));
        }
    }
    let line = |cells: [&str; 5]| -> String {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == 4 {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        s.trim_end().to_owned()
    };
    writeln!(out, "{}", line(headers))?;
    for row in &rows {
        writeln!(
            out,
            "{}",
            line([&row[0], &row[1], &row[2], &row[3], &row[4]])
        )?;
    }
    Ok(())
}

/// The bad lines an import skipped (`--skip-bad-lines`), one per line on stderr, escaped.
fn print_skipped(file: &Path, skipped: &[crate::lists::LineError]) {
    for bad in skipped {
        eprintln!(
            "{}:{} (skipped)",
            term::path(file),
            escape(&bad.to_string())
        );
    }
}

fn list(command: ListCommand) -> Result<ExitCode> {
    use crate::store::import_file;
    match command {
        ListCommand::Import {
            db,
            list:
                ListFileArgs {
                    kind,
                    name,
                    skip_bad_lines,
                    file,
                },
        } => {
            anyhow::ensure!(!name.trim().is_empty(), "--name must not be empty");
            let mut store = Store::open(&db.path()?)?;
            let (report, skipped) = import_file(
                &mut store,
                kind,
                &name,
                &file,
                skip_bad_lines,
                crate::clock::now_ms(),
            )?;
            print_skipped(&file, &skipped);
            println!(
                "list {} ({}) is now version {}: {} added, {} removed{}{}",
                escape(&report.list),
                kind.as_str(),
                report.version,
                report.added,
                report.removed,
                if report.unmatched_removes > 0 {
                    format!(", {} removes matched nothing", report.unmatched_removes)
                } else {
                    String::new()
                },
                if skipped.is_empty() {
                    String::new()
                } else {
                    format!(", {} bad lines skipped", skipped.len())
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        ListCommand::Ls { db } => {
            let store = open_existing(&db)?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<24}  {:<9}  {:>7}  {:>9}  UPDATED",
                "NAME", "KIND", "VERSION", "ENTRIES"
            )?;
            for l in store.lists()? {
                writeln!(
                    out,
                    "{:<24}  {:<9}  {:>7}  {:>9}  {}",
                    escape(&l.name),
                    l.kind.as_str(),
                    l.version,
                    l.active,
                    crate::clock::rfc3339(l.updated_ms)
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ListCommand::Show { db, name } => {
            let store = open_existing(&db)?;
            let (summary, entries) = store
                .list_entries(&name)?
                .with_context(|| format!("no list named {name:?} (see `scanstation list ls`)"))?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "list {} ({}), version {}, {} active entries",
                escape(&summary.name),
                summary.kind.as_str(),
                summary.version,
                summary.active
            )?;
            for e in entries {
                writeln!(
                    out,
                    "{:<16}  {:<34}  {}",
                    e.kind.as_str(),
                    escape(&e.display_value()),
                    escape(&e.reason)
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ListCommand::Rm { db, name } => {
            let mut store = Store::open(&db.path()?)?;
            if store.remove_list(&name)? {
                println!("list {} removed", escape(&name));
                Ok(ExitCode::SUCCESS)
            } else {
                anyhow::bail!("no list named {name:?} (see `scanstation list ls`)")
            }
        }
    }
}

fn audit(command: AuditCommand) -> Result<ExitCode> {
    let AuditCommand::Report {
        db,
        list,
        since,
        json,
    } = command;
    let since_ms = match &since {
        Some(text) => crate::clock::parse_rfc3339(text).context("--since")?,
        None => i64::MIN,
    };
    let store = open_existing(&db)?;
    let reports = crate::export::audit_reports(&store, list.as_deref(), since_ms)?;
    anyhow::ensure!(
        !reports.is_empty(),
        "no expected lists{}: import one with `scanstation list import --kind expected`",
        list.map(|l| format!(" named {l:?}")).unwrap_or_default()
    );
    let mut out = std::io::stdout().lock();
    if json {
        let value: Vec<serde_json::Value> = reports
            .iter()
            .map(crate::workflow::AuditReport::to_json)
            .collect();
        writeln!(out, "{}", serde_json::Value::Array(value))?;
    } else {
        for r in &reports {
            r.print(&mut out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn wedge(command: WedgeCommand) -> Result<ExitCode> {
    use crate::source::keymap;
    match command {
        WedgeCommand::Play { file, gap_ms, json } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let events = keymap::parse_events(&text)
                .map_err(|e| anyhow::anyhow!("{}:{e}", file.display()))?;
            let scans = keymap::play(&events, gap_ms, 4096);
            let results: Vec<Classification> = scans
                .iter()
                .map(|s| ident::classify(&String::from_utf8_lossy(&s.bytes), None, &ident::NoTacs))
                .collect();
            let mut out = std::io::stdout().lock();
            if json {
                for c in &results {
                    writeln!(out, "{}", c.to_json())?;
                }
            } else {
                print_table(&mut out, &results)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        WedgeCommand::Record { device, seconds } => record_wedge(&device, seconds),
    }
}

#[cfg(feature = "wedge")]
fn record_wedge(device: &std::path::Path, seconds: u64) -> Result<ExitCode> {
    use crate::source::keymap::{KeyEvent, format_events};
    let mut dev = evdev::Device::open(device)
        .with_context(|| format!("cannot open input device {}", device.display()))?;
    dev.grab().context("cannot grab the device exclusively")?;
    eprintln!("recording {} for {seconds} s: scan now", term::path(device));
    let start = std::time::Instant::now();
    let mut events = Vec::new();
    while start.elapsed().as_secs() < seconds {
        for e in dev.fetch_events()? {
            if e.event_type() == evdev::EventType::KEY {
                events.push(KeyEvent {
                    at_ms: start.elapsed().as_millis() as i64,
                    code: e.code(),
                    value: e.value(),
                });
            }
        }
    }
    print!("{}", format_events(&events));
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "wedge"))]
fn record_wedge(_device: &std::path::Path, _seconds: u64) -> Result<ExitCode> {
    anyhow::bail!("this build has no keyboard-wedge support (build with the `wedge` feature)")
}

/// `scanstation card --out FILE`.
fn card(out: &std::path::Path) -> Result<ExitCode> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("svg") => std::fs::write(out, crate::card::render_svg()?)
            .with_context(|| format!("cannot write {}", out.display()))?,
        Some("png") => crate::card::render_png()?
            .save(out)
            .with_context(|| format!("cannot write {}", out.display()))?,
        _ => anyhow::bail!(
            "--out {}: the card is written as .png or .svg",
            out.display()
        ),
    }
    println!("desk card written to {}", term::path(out));
    Ok(ExitCode::SUCCESS)
}

/// `scanstation decode`: each image once, a line per image, errors per file without stopping.
fn decode(args: &DecodeArgs) -> Result<ExitCode> {
    use crate::decode::{DecodeConfig, Decoder, parse_formats};
    let mut cfg = DecodeConfig::default();
    if let Some(list) = &args.formats {
        cfg.formats = parse_formats(list).map_err(|e| anyhow::anyhow!("--formats: {e}"))?;
    }
    let decoder = Decoder::new(cfg);
    // Files keep the path exactly as given; a folder's images are listed as folder/name.
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut any_folder = false;
    let mut failures = 0usize;
    let mut out = std::io::stdout().lock();
    for path in &args.paths {
        if path.is_dir() {
            any_folder = true;
            match crate::source::frames::expand(std::slice::from_ref(path)) {
                Ok(found) => files.extend(found.into_iter().map(|p| (p.display().to_string(), p))),
                Err(e) => {
                    failures += 1;
                    let error = crate::source::chain(&e);
                    report_error(&mut out, args.json, &path.display().to_string(), &error)?;
                }
            }
        } else {
            files.push((path.display().to_string(), path.clone()));
        }
    }
    let total = files.len();
    let progress = any_folder && total > 0;
    if !args.json {
        writeln!(out, "{:<50}  {:>8}  {:<10}  TEXT", "FILE", "MS", "FORMAT")?;
    }
    for (n, (shown, path)) in files.iter().enumerate() {
        if progress {
            let width = 30;
            let done = (n + 1) * width / total;
            eprint!(
                "\r[{}{}] {}/{}",
                "#".repeat(done),
                " ".repeat(width - done),
                n + 1,
                total
            );
        }
        let image = match crate::decode::load_luma(path) {
            Ok(image) => image,
            Err(e) => {
                failures += 1;
                report_error(&mut out, args.json, shown, &e.reason())?;
                continue;
            }
        };
        let start = std::time::Instant::now();
        let result = decoder.decode(&image);
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(symbols) => {
                if args.json {
                    let results: Vec<serde_json::Value> = symbols
                        .iter()
                        .map(|s| serde_json::json!({"format": s.format.name(), "text": s.text}))
                        .collect();
                    writeln!(
                        out,
                        "{}",
                        serde_json::json!({"file": shown, "results": results, "ms": (ms * 1000.0).round() / 1000.0})
                    )?;
                } else if symbols.is_empty() {
                    writeln!(
                        out,
                        "{:<50}  {ms:>8.1}  {:<10}  (no barcode found)",
                        escape(shown),
                        "-"
                    )?;
                } else {
                    for s in &symbols {
                        writeln!(
                            out,
                            "{:<50}  {ms:>8.1}  {:<10}  {}",
                            escape(shown),
                            s.format.name(),
                            escape(&s.text)
                        )?;
                    }
                }
            }
            Err(e) => {
                failures += 1;
                report_error(&mut out, args.json, shown, &e.to_string())?;
            }
        }
    }
    if progress {
        eprintln!();
    }
    out.flush()?;
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn report_error(out: &mut impl Write, json: bool, file: &str, error: &str) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::json!({"file": file, "error": error}))?;
    } else {
        writeln!(
            out,
            "{:<50}  {:>8}  {:<10}  ERROR: {}",
            escape(file),
            "-",
            "-",
            escape(error)
        )?;
    }
    Ok(())
}

/// Opens an existing database for reading, with a clear error when there is none.
fn open_existing(db: &DbArg) -> Result<Store> {
    let path = db.path()?;
    Store::open_read_only(&path)?.with_context(|| {
        format!(
            "no database at {}: run the station first, or pass --db PATH",
            path.display()
        )
    })
}

fn export(args: &ExportArgs) -> Result<ExitCode> {
    let since = match &args.since {
        Some(text) => crate::clock::parse_rfc3339(text).context("--since")?,
        None => i64::MIN,
    };
    let store = open_existing(&args.db)?;
    let mut out = std::io::stdout().lock();
    if out.is_terminal() {
        // Someone reading an export on the terminal sees list reasons and raw scans, which
        // may hold control bytes: shown escaped there; a pipe or a file gets the exact export.
        let mut buffer = Vec::new();
        crate::export::export(&store, args.what, args.format, since, &mut buffer)?;
        out.write_all(term::escape_lines(&String::from_utf8_lossy(&buffer)).as_bytes())?;
    } else {
        crate::export::export(&store, args.what, args.format, since, &mut out)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn backup(db: &DbArg, out: &Path) -> Result<ExitCode> {
    let db = db.path()?;
    let report = store::backup(&db, out)?;
    eprintln!(
        "backup of {}: {} scans and {} units, {} bytes, checked, written to {}",
        escape(&db.display().to_string()),
        report.scans,
        report.units,
        report.bytes,
        escape(&report.path.display().to_string())
    );
    Ok(ExitCode::SUCCESS)
}

fn verify(db: &DbArg, json: bool) -> Result<ExitCode> {
    let store = open_existing(db)?;
    let report = store.verify()?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let path = escape(&store.path().display().to_string());
        let started = report.started.as_ref().map(|s| {
            let before = &s["before_chain"];
            format!(
                "; the chain started {} with {} scans, {} units and {} list versions already stored (chained as found)",
                s["started_ms"]
                    .as_i64()
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_else(|| "at an unknown time".to_owned()),
                before["scans"],
                before["units"],
                before["list_versions"]
            )
        });
        match &report.first_bad {
            None => println!(
                "verify {path}: ok, {} ledger rows, head {}{}",
                report.rows,
                report.head.as_deref().unwrap_or("(empty)"),
                started.unwrap_or_default()
            ),
            // The reason can quote stored values, which came from scans: escape it.
            Some(bad) => println!(
                "verify {path}: FAILED at {} row {}: {} ({} ledger rows checked before it)",
                bad.table,
                bad.id,
                escape(&bad.reason),
                report.rows
            ),
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn find(args: &FindArgs) -> Result<ExitCode> {
    let store = open_existing(&args.db)?;
    let tacs = store.load_tacs()?;
    let found = crate::export::find(&store, &unescape(&args.value), &tacs)?;
    if let Some(path) = &args.evidence {
        let newest = found
            .units
            .iter()
            .rev()
            .find(|u| u.evidence.is_some())
            .map(|u| u.unit.id);
        let Some(unit) = newest else {
            anyhow::bail!(
                "no label picture for {}: no camera unit holding it has one",
                escape(&args.value)
            );
        };
        let Some(picture) = store.evidence(unit)? else {
            anyhow::bail!("unit {unit} lost its label picture while reading it");
        };
        std::fs::write(path, &picture.jpeg)
            .with_context(|| format!("cannot write the label picture to {}", path.display()))?;
        eprintln!(
            "unit {unit}: label picture ({}x{} JPEG, {} bytes, frame {}) written to {}",
            picture.width,
            picture.height,
            picture.jpeg.len(),
            escape(&picture.frame),
            term::path(path)
        );
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", crate::event::line(&found.event()))?;
    } else {
        crate::export::print_found(&found, &mut out)?;
    }
    let nothing = found.units.is_empty() && found.scans.is_empty();
    Ok(if nothing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn tac(command: TacCommand) -> Result<ExitCode> {
    match command {
        TacCommand::Import { db, file } => {
            let reader = std::fs::File::open(&file)
                .with_context(|| format!("cannot open TAC file {}", file.display()))?;
            let parsed = ident::tac::read_osmocom(std::io::BufReader::new(reader));
            if parsed.rows.is_empty() {
                anyhow::bail!(
                    "{}: no rows with an 8-digit TAC; is this an Osmocom tacdb.csv export?",
                    file.display()
                );
            }
            let path = db.path()?;
            let mut store = Store::open(&path)?;
            let report = store.import_tacs(
                &parsed,
                &file.display().to_string(),
                &crate::clock::rfc3339(crate::clock::now_ms()),
            )?;
            for skipped in parsed.skipped.iter().take(5) {
                eprintln!(
                    "{}:{}: skipped: {}",
                    term::path(&file),
                    skipped.line,
                    escape(&skipped.reason)
                );
            }
            if parsed.skipped.len() > 5 {
                eprintln!("... and {} more skipped rows", parsed.skipped.len() - 5);
            }
            println!(
                "imported {} TACs, skipped {} rows, into {}",
                report.imported,
                report.skipped,
                term::path(&path)
            );
            Ok(ExitCode::SUCCESS)
        }
        TacCommand::Set {
            db,
            tac,
            brand,
            model,
        } => {
            if tac.len() != 8 || !tac.bytes().all(|b| b.is_ascii_digit()) {
                anyhow::bail!("TAC {tac:?} must be exactly 8 digits");
            }
            let mut store = Store::open(&db.path()?)?;
            store.set_local_tac(&tac, &brand, &model)?;
            println!(
                "TAC {tac} is now {} {} (local entry)",
                escape(&brand),
                escape(&model)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The config file given, else the default one when it exists, else none: what the commands
/// beside `run` (`sync`, `central`, `webhooks status`) read their settings from.
fn config_given_or_default(path: Option<&Path>) -> Result<Option<Config>> {
    Ok(match path {
        Some(path) => Some(Config::load(path)?),
        None => config::default_config_path()
            .filter(|p| p.exists())
            .map(|p| Config::load(&p))
            .transpose()?,
    })
}

/// `scanstation sync [--to URL]`: one push; exit 1 with the reason when it fails.
fn sync_push(args: &SyncArgs) -> Result<ExitCode> {
    let config = config_given_or_default(args.config.as_deref())?;
    let path = match (&args.db.db, config.as_ref().and_then(|c| c.db.as_ref())) {
        (Some(path), _) | (None, Some(path)) => path.clone(),
        (None, None) => args.db.path()?,
    };
    anyhow::ensure!(
        path.exists(),
        "no database at {}: run the station first, or pass --db PATH",
        path.display()
    );
    let sync = config.as_ref().and_then(|c| c.sync.as_ref());
    let url = match (&args.to, sync) {
        (Some(url), _) => url.clone(),
        (None, Some(sync)) => sync.url.clone(),
        (None, None) => anyhow::bail!(
            "no server to push to: pass --to postgres://USER:PASSWORD@HOST:PORT/DB, or set sync.url in the config"
        ),
    };
    let batch_rows = sync.map_or(crate::sync::BATCH_ROWS, |s| s.batch_rows);
    let name = match (
        &args.name,
        config.as_ref().and_then(|c| c.station_name.clone()),
    ) {
        (Some(name), _) => {
            crate::sync::check_name(name)
                .map_err(|message| anyhow::anyhow!("--name {}: {message}", escape(name)))?;
            name.clone()
        }
        (None, Some(name)) => name,
        (None, None) => crate::api::station_name(),
    };
    let (target, report) = crate::sync::push_once(&path, &url, &name, batch_rows)?;
    let secs = report.elapsed.as_secs_f64();
    if report.rows == 0 {
        println!(
            "{} already holds every row of station '{}' (up to row {})",
            escape(&target.key),
            escape(&name),
            report.to_seq
        );
    } else {
        println!(
            "pushed {} rows ({}..{}) of station '{}' to {} in {:.2} s ({:.0} rows/s)",
            report.rows,
            report.from_seq + 1,
            report.to_seq,
            escape(&name),
            escape(&target.key),
            secs,
            report.rows as f64 / secs.max(1e-6)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `scanstation sync status`: per server, how far the pushes got and what went wrong.
/// Connects to the central server named by `--url` or the config's `sync.url`, for reading.
fn central_client(args: &CentralArgs) -> Result<(crate::sync::Target, postgres::Client)> {
    let target = central_target(args)?;
    let client = target.connect_to_read()?;
    Ok((target, client))
}

/// The central server's URL from `--url` or the config's `sync.url`.
fn central_target(args: &CentralArgs) -> Result<crate::sync::Target> {
    let url = match &args.url {
        Some(url) => url.clone(),
        None => {
            let config = config_given_or_default(args.config.as_deref())?;
            config.and_then(|c| c.sync.map(|s| s.url)).context(
                "no central server: pass --url postgres://USER:PASSWORD@HOST:PORT/DB, or set sync.url in the config",
            )?
        }
    };
    Ok(crate::sync::Target::parse(&url)?)
}

fn central_list(command: CentralListCommand) -> Result<ExitCode> {
    use crate::sync::lists;
    let mut out = std::io::stdout().lock();
    match command {
        CentralListCommand::Import {
            args,
            list:
                ListFileArgs {
                    kind,
                    name,
                    skip_bad_lines,
                    file,
                },
        } => {
            anyhow::ensure!(!name.trim().is_empty(), "--name must not be empty");
            // The file is read and checked before the server is asked anything, so a bad line
            // is reported the same way with the server up or down.
            let bytes = std::fs::read(&file).map_err(|source| crate::store::ListError::Read {
                path: file.clone(),
                source,
            })?;
            let (parsed, mode) =
                crate::store::parse_checked(&file, bytes.as_slice(), skip_bad_lines)?;
            let sha256: Vec<u8> = {
                use sha2::Digest;
                sha2::Sha256::digest(&bytes).to_vec()
            };
            let target = central_target(&args)?;
            let mut client = target.connect_to_write()?;
            let source = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let published = lists::publish(
                &mut client,
                &target,
                &lists::ListFile {
                    kind,
                    name: &name,
                    entries: &parsed.entries,
                    mode,
                    source: &source,
                    sha256: &sha256,
                },
            )?;
            print_skipped(&file, &parsed.errors);
            if args.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({ "server": target.server, "published": published, "skipped": parsed.errors.len() })
                )?;
            } else {
                writeln!(
                    out,
                    "central list {} ({}) is now version {} on {}: {} added, {} removed, {} active{}{}",
                    escape(&published.name),
                    published.kind,
                    published.version,
                    target.server,
                    published.added,
                    published.removed,
                    published.active,
                    if published.unmatched_removes > 0 {
                        format!(", {} removes matched nothing", published.unmatched_removes)
                    } else {
                        String::new()
                    },
                    if parsed.errors.is_empty() {
                        String::new()
                    } else {
                        format!(", {} bad lines skipped", parsed.errors.len())
                    }
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        CentralListCommand::Ls { args } => {
            let target = central_target(&args)?;
            let mut client = target.connect_to_read()?;
            let all = lists::list(&mut client)
                .map_err(|e| target.read_error("listing central lists", e))?;
            if args.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({ "server": target.server, "lists": all })
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            if all.is_empty() {
                writeln!(out, "no central lists on {}", target.server)?;
            }
            for l in &all {
                writeln!(
                    out,
                    "{:<24}  {:<9}  version {:>4}  {:>9} active  {}{}",
                    escape(&l.name),
                    l.kind,
                    l.version,
                    l.active,
                    l.updated,
                    if l.removed { "  (removed)" } else { "" }
                )?;
                for c in &l.stations {
                    let state = match &c.error {
                        Some(e) => format!("not taken: {}", escape(e)),
                        None if c.version < l.version => "behind".to_owned(),
                        None => "current".to_owned(),
                    };
                    writeln!(
                        out,
                        "    {:<20} holds version {} ({state}), pulled {}",
                        escape(&c.station),
                        c.version,
                        c.pulled
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        CentralListCommand::Rm { args, name } => {
            let target = central_target(&args)?;
            let mut client = target.connect_to_write()?;
            match lists::remove(&mut client, &target, &name)? {
                Some(version) => {
                    writeln!(
                        out,
                        "central list {} removed as version {version} on {}; each desk removes its copy at its next pull",
                        escape(&name),
                        target.server
                    )?;
                    Ok(ExitCode::SUCCESS)
                }
                None => anyhow::bail!(
                    "no central list named {:?} on {} (see `scanstation central list ls`)",
                    escape(&name),
                    target.server
                ),
            }
        }
    }
}

fn central(command: CentralCommand) -> Result<ExitCode> {
    use crate::sync::query;
    let mut out = std::io::stdout().lock();
    let when = |ms: Option<i64>| ms.map_or("-".to_owned(), crate::clock::rfc3339);
    let opt = |text: &Option<String>| escape(text.as_deref().unwrap_or("-"));
    match command {
        CentralCommand::List { command } => central_list(command),
        CentralCommand::Conflicts { args } => {
            let (target, mut client) = central_client(&args)?;
            let conflicts = query::conflicts(&mut client)
                .map_err(|e| target.read_error("listing conflicts", e))?;
            if args.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({ "server": target.server, "conflicts": conflicts })
                )?;
            } else if conflicts.is_empty() {
                writeln!(out, "no cross-desk conflicts on {}", target.server)?;
            } else {
                for c in &conflicts {
                    // Values come from scans: escaped for the terminal.
                    writeln!(
                        out,
                        "{} {} is on {} units at {} desks:",
                        c.kind,
                        escape(&c.key),
                        c.units.len(),
                        c.units
                            .iter()
                            .map(|u| u.station.as_str())
                            .collect::<std::collections::BTreeSet<_>>()
                            .len()
                    )?;
                    for u in &c.units {
                        writeln!(
                            out,
                            "  {} unit {} [{}] {} closed {}: {} {}",
                            escape(&u.station),
                            u.unit,
                            opt(&u.status),
                            opt(&u.decision),
                            when(u.closed_ms),
                            if c.kind == "imei" { "serial" } else { "imei" },
                            escape(&u.others.join(", "))
                        )?;
                    }
                }
            }
            Ok(if conflicts.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        CentralCommand::Find { args, value } => {
            let value = unescape(&value);
            let c = ident::classify(&value, None, &MemoryTacs::default());
            let mut keys: Vec<String> = c.identifiers.iter().map(|i| i.key.clone()).collect();
            // The same forms the local `find` looks for (see `export::find`).
            keys.push(c.value.to_ascii_uppercase());
            if let Some(imei14) = &c.details.imei14 {
                keys.push(imei14.clone());
            }
            keys.sort();
            keys.dedup();
            let (target, mut client) = central_client(&args)?;
            let found = query::find(&mut client, &value, &c.value, &keys)
                .map_err(|e| target.read_error("finding the value", e))?;
            if args.json {
                writeln!(out, "{}", serde_json::to_string(&found)?)?;
            } else if found.units.is_empty() && found.loose_scans.is_empty() {
                writeln!(
                    out,
                    "nothing found for {:?} at any desk on {}",
                    escape(&value),
                    target.server
                )?;
            } else {
                for u in &found.units {
                    writeln!(
                        out,
                        "{} unit {} [{}] {}: {}",
                        escape(&u.station),
                        u.unit,
                        opt(&u.status),
                        opt(&u.decision),
                        opt(&u.decision_reason)
                    )?;
                    for (kind, v) in &u.identifiers {
                        writeln!(out, "  {kind} {}", escape(v))?;
                    }
                    for e in &u.history {
                        writeln!(
                            out,
                            "  history row {}: {} -> [{}] {} (received {})",
                            e.seq,
                            escape(&e.event),
                            opt(&e.status),
                            opt(&e.decision),
                            e.received
                        )?;
                    }
                    for sc in &u.scans {
                        writeln!(
                            out,
                            "  scan {} {} {} {} ({})",
                            sc.id,
                            when(sc.at_ms),
                            opt(&sc.kind),
                            opt(&sc.value),
                            opt(&sc.outcome)
                        )?;
                    }
                }
                for sc in &found.loose_scans {
                    writeln!(
                        out,
                        "{} scan {} {} {} ({}), in no unit",
                        escape(&sc.station),
                        sc.id,
                        when(sc.at_ms),
                        opt(&sc.value),
                        opt(&sc.outcome)
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        CentralCommand::Report { args } => {
            let (target, mut client) = central_client(&args)?;
            let report =
                query::report(&mut client).map_err(|e| target.read_error("reporting", e))?;
            if args.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({ "server": target.server, "report": report })
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            writeln!(out, "central view on {}", target.server)?;
            for s in report
                .stations
                .iter()
                .chain(std::iter::once(&report.totals))
            {
                writeln!(
                    out,
                    "{:<16} {:>9} scans ({} rejected) {:>8} units ({} open) {:>9} ledger rows, last push {}",
                    escape(&s.station),
                    s.scans,
                    s.rejected_scans,
                    s.units,
                    s.open_units,
                    s.ledger_rows,
                    s.last_push.as_deref().unwrap_or("never")
                )?;
                if !s.decisions.is_empty() {
                    let parts: Vec<String> = s
                        .decisions
                        .iter()
                        .map(|(d, n)| format!("{} {n}", escape(d)))
                        .collect();
                    writeln!(out, "{:<16} decisions: {}", "", parts.join(", "))?;
                }
            }
            for r in &report.recall {
                let per_desk: Vec<String> = r
                    .by_station
                    .iter()
                    .map(|(s, n)| format!("{} {n}", escape(s)))
                    .collect();
                writeln!(
                    out,
                    "recall {} (version {}): {} of {} found at all desks{}",
                    escape(&r.list),
                    r.version,
                    r.found,
                    r.total,
                    if per_desk.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", per_desk.join(", "))
                    }
                )?;
            }
            writeln!(
                out,
                "cross-desk conflicts: {} (scanstation central conflicts)",
                report.cross_desk_conflicts
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn sync_status(db: &DbArg, json: bool) -> Result<ExitCode> {
    let store = open_existing(db)?;
    let (head, _) = store.ledger_head()?;
    let statuses = store.sync_status()?;
    let pulled = store.central_lists_pulled(None)?;
    let time = |ms: Option<i64>| ms.map(crate::clock::rfc3339);
    let mut out = std::io::stdout().lock();
    if json {
        let list: Vec<serde_json::Value> = statuses
            .iter()
            .map(|s| {
                let lists: Vec<serde_json::Value> = pulled
                    .iter()
                    .filter(|p| p.url == s.url)
                    .map(|p| {
                        serde_json::json!({
                            "name": p.name,
                            "central_version": p.central_version,
                            "local_version": p.local_version,
                            "pulled": crate::clock::rfc3339(p.pulled_ms),
                            "error": p.error,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "lists": lists,
                    "url": s.url,
                    "station": s.station,
                    "pushed_seq": s.pushed_seq,
                    "backlog": (head - s.pushed_seq).max(0),
                    "last_push": time(s.last_push_ms),
                    "last_error": s.last_error,
                    "last_attempt": time(s.last_attempt_ms),
                    "next_attempt": time(s.next_attempt_ms),
                })
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::json!({ "ledger_rows": head, "servers": list })
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if statuses.is_empty() {
        writeln!(
            out,
            "never synced: {} ledger rows in {} wait for a first push (sync --to URL, or [sync] url)",
            head,
            term::path(store.path())
        )?;
    }
    let or_never = |ms: Option<i64>| time(ms).unwrap_or_else(|| "never".to_owned());
    for s in &statuses {
        // The URL is kept without its password; the error came from the server: escaped.
        writeln!(out, "server {}", escape(&s.url))?;
        writeln!(out, "  station: {}", escape(&s.station))?;
        writeln!(
            out,
            "  pushed: row {} of {} (backlog {})",
            s.pushed_seq,
            head,
            (head - s.pushed_seq).max(0)
        )?;
        writeln!(out, "  last push: {}", or_never(s.last_push_ms))?;
        match &s.last_error {
            Some(error) => {
                writeln!(
                    out,
                    "  last error: {} (at {})",
                    escape(error),
                    or_never(s.last_attempt_ms)
                )?;
                if let Some(next) = time(s.next_attempt_ms) {
                    writeln!(out, "  next attempt: {next}")?;
                }
            }
            None => writeln!(out, "  last error: none")?,
        }
        for p in pulled.iter().filter(|p| p.url == s.url) {
            // List names come from the server: escaped.
            let held = match p.local_version {
                Some(local) => format!(
                    "central version {} (local version {local})",
                    p.central_version
                ),
                None if p.central_version > 0 => {
                    format!("removed at central version {}", p.central_version)
                }
                None => "none yet".to_owned(),
            };
            match &p.error {
                Some(error) => writeln!(
                    out,
                    "  central list {}: {held}; newer version not taken: {}",
                    escape(&p.name),
                    escape(error)
                )?,
                None => writeln!(out, "  central list {}: {held}", escape(&p.name))?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `scanstation webhooks status`.
fn webhooks(command: WebhookCommand) -> Result<ExitCode> {
    let WebhookCommand::Status { db, config, json } = command;
    let config = config_given_or_default(config.as_deref())?;
    let path = match (&db.db, config.as_ref().and_then(|c| c.db.as_ref())) {
        (Some(path), _) | (None, Some(path)) => path.clone(),
        (None, None) => db.path()?,
    };
    let store = Store::open_read_only(&path)?.with_context(|| {
        format!(
            "no database at {}: run the station first, or pass --db PATH",
            path.display()
        )
    })?;
    anyhow::ensure!(
        store.has_outbox()?,
        "database {} has no webhook outbox yet: start the station on it once with this scanstation",
        path.display()
    );
    let hooks: Vec<(String, store::OutboxKinds)> = match &config {
        Some(c) if !c.webhooks.is_empty() => c
            .webhooks
            .iter()
            .map(|h| (h.url.clone(), h.events))
            .collect(),
        // Without a config, every event in the outbox counts towards the backlog.
        _ => store
            .webhook_urls()?
            .into_iter()
            .map(|url| (url, store::OutboxKinds::ALL))
            .collect(),
    };
    let statuses = store.webhook_status(&hooks)?;
    let now = crate::clock::now_ms();
    let time = |ms: Option<i64>| ms.map(crate::clock::rfc3339);
    let mut out = std::io::stdout().lock();
    if json {
        let list: Vec<serde_json::Value> = statuses
            .iter()
            .zip(&hooks)
            .map(|(s, (_, kinds))| {
                serde_json::json!({
                    "url": crate::webhook::redact_url(&s.url),
                    "events": kinds.names(),
                    "started": s.known,
                    "delivered_to": s.delivered_to,
                    "backlog": s.backlog,
                    "oldest_undelivered": time(s.oldest_undelivered_ms),
                    "oldest_undelivered_age_ms": s.oldest_undelivered_ms.map(|t| (now - t).max(0)),
                    "attempts": s.attempts,
                    "last_error": s.last_error,
                    "last_attempt": time(s.last_attempt_ms),
                    "last_success": time(s.last_success_ms),
                    "next_attempt": time(s.next_attempt_ms),
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::json!({ "webhooks": list }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if statuses.is_empty() {
        writeln!(
            out,
            "no webhooks: none configured, and none has run on {}",
            term::path(&path)
        )?;
    }
    let or_never = |ms: Option<i64>| time(ms).unwrap_or_else(|| "never".to_owned());
    for (s, (_, kinds)) in statuses.iter().zip(&hooks) {
        // The URL and the error come from the config and the receiver: escaped on a terminal.
        // The secret, and a password in the URL, are never printed.
        writeln!(
            out,
            "webhook {}",
            escape(&crate::webhook::redact_url(&s.url))
        )?;
        writeln!(out, "  events: {}", kinds.names().join(", "))?;
        if !s.known {
            writeln!(
                out,
                "  not started yet: it receives the events committed after the station first runs with it"
            )?;
            continue;
        }
        writeln!(out, "  delivered up to: {}", s.delivered_to)?;
        writeln!(out, "  backlog: {}", s.backlog)?;
        if let Some(oldest) = s.oldest_undelivered_ms {
            writeln!(
                out,
                "  oldest undelivered: {} ({} s ago)",
                crate::clock::rfc3339(oldest),
                (now - oldest).max(0) / 1000
            )?;
        }
        writeln!(
            out,
            "  failed attempts since the last success: {}",
            s.attempts
        )?;
        if let Some(error) = &s.last_error {
            writeln!(out, "  last error: {}", escape(error))?;
        }
        writeln!(out, "  last attempt: {}", or_never(s.last_attempt_ms))?;
        writeln!(out, "  last success: {}", or_never(s.last_success_ms))?;
        if s.attempts > 0 {
            writeln!(out, "  next attempt: {}", or_never(s.next_attempt_ms))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Builds the effective config: the file (given or default), then the flags over it.
fn effective_config(args: &RunArgs) -> Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => match config::default_config_path().filter(|p| p.exists()) {
            Some(path) => Config::load(&path)?,
            None => Config::default(),
        },
    };
    if args.db.db.is_some() {
        config.db = args.db.db.clone();
    }
    if !args.sources.is_empty() {
        config.sources = args
            .sources
            .iter()
            .map(|s| SourceSpec::parse(s).map_err(|m| anyhow::anyhow!("--source: {m}")))
            .collect::<Result<_>>()?;
    }
    config.json |= args.json;
    if let Some(format) = args.log_format {
        config.log_format = format;
    }
    if let Some(ms) = args.idle_timeout_ms {
        anyhow::ensure!(ms > 0, "--idle-timeout-ms must be above 0");
        config.pairing.idle_timeout_ms = ms;
    }
    if let Some(profile) = &args.profile {
        config.pairing.profile =
            crate::pair::Profile::parse(profile).map_err(|e| anyhow::anyhow!("--profile: {e}"))?;
    }
    if let Some(mode) = args.mode {
        config.mode = mode;
    }
    if let Some(t) = args.terminator {
        config.framing.terminator = t;
    }
    if let Some(addr) = &args.http {
        config.http.listen = Some(addr.clone());
    }
    http_token_from_env(&mut config)?;
    Ok(config)
}

/// `SCANSTATION_HTTP_TOKEN` wins over the config file's token, so a token need not be written
/// into a file.
fn http_token_from_env(config: &mut Config) -> Result<()> {
    match std::env::var("SCANSTATION_HTTP_TOKEN") {
        Ok(token) if token.trim().is_empty() => Ok(()),
        Ok(token) => {
            anyhow::ensure!(
                token.len() >= 16 && !token.chars().any(char::is_whitespace),
                "SCANSTATION_HTTP_TOKEN must be at least 16 characters with no spaces"
            );
            config.http.token = Some(token);
            Ok(())
        }
        Err(std::env::VarError::NotPresent) => Ok(()),
        Err(std::env::VarError::NotUnicode(_)) => {
            anyhow::bail!("SCANSTATION_HTTP_TOKEN is not valid UTF-8")
        }
    }
}

fn serve(args: &ServeArgs) -> Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => match config::default_config_path().filter(|p| p.exists()) {
            Some(path) => Config::load(&path)?,
            None => Config::default(),
        },
    };
    http_token_from_env(&mut config)?;
    init_logging(config.log_format);
    let db = args.db.path()?;
    let listen = args
        .http
        .clone()
        .or_else(|| config.http.listen.clone())
        .context("serve needs an address: pass --http 127.0.0.1:8080 or set [http] listen")?;
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&shutdown))
            .context("installing the signal handlers")?;
    }
    crate::api::serve(&config.http, &listen, &db, &shutdown)?;
    Ok(ExitCode::SUCCESS)
}

/// Sends logs to stderr, filtered by RUST_LOG (default `info`).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Coloured only where anstream would colour stderr (a terminal, and NO_COLOR unset).
        .with_ansi(anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never)
        .with_writer(std::io::stderr);
    // A second init (tests calling run twice in one process) is harmless; ignore it.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.fmt_fields(escaped_fields()).try_init(),
    };
}

/// Text log fields with every control character made visible.
///
/// Log lines name device paths, source names, frame files and errors that quote them.
/// tracing-subscriber escapes only ESC, BEL, BS, FF, DEL and C1 in the message and nothing in
/// the other fields, so a CR or a bidi override in a path would still reach the terminal.
fn escaped_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let text = format!("{value:?}");
        if field.name() == "message" {
            write!(writer, "{}", term::Escaped(&text))
        } else {
            write!(writer, "{field}={}", term::Escaped(&text))
        }
    })
    .delimited(" ")
}

/// `scanstation run`: the daemon.
fn run_daemon(args: &RunArgs) -> Result<ExitCode> {
    let config = effective_config(args)?;
    init_logging(config.log_format);
    let db = match &config.db {
        Some(path) => path.clone(),
        None => store::default_db_path()
            .context("no home directory to put the database in: pass --db PATH")?,
    };
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&shutdown))
            .context("installing the signal handlers")?;
    }
    if config.sources.contains(&SourceSpec::Stdin) && std::io::stdin().is_terminal() && !config.json
    {
        eprintln!(
            "scanstation: scan or type a label and press Enter; Ctrl+D or Ctrl+C ends (database {})",
            term::path(&db)
        );
    }
    crate::daemon::run(&config, &db, shutdown)?;
    Ok(ExitCode::SUCCESS)
}
