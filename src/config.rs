//! The station's configuration: a TOML file, then command-line flags over it.
//!
//! Parsing is two-stage (ripgrep's low/high args): serde reads a [`RawConfig`] that mirrors the
//! file and rejects unknown keys, then [`Config::from_raw`] validates values into types that rule
//! out bad states. Every error names the file, the line and the key.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::pair::{PairConfig, Profile};
use crate::source::CameraSettings;
use crate::source::{FramingConfig, Terminator};

/// Where a scan source is, as written in the config or on the command line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SourceSpec {
    /// Lines typed or pasted into the terminal, or a keyboard-wedge scanner typing into it.
    Stdin,
    /// A serial or USB-CDC scanner: `serial:PATH[@BAUD]`.
    Serial { path: PathBuf, baud: Option<u32> },
    /// Image files or folders, each image decoded once: `images:PATH[,PATH...]`.
    Images(Vec<PathBuf>),
    /// A folder of frames played in name order as if from a camera: `replay:DIR[@FPS][,paced]`.
    /// Frame times are virtual either way; only a paced replay waits for them in real time.
    Replay {
        dir: PathBuf,
        fps: Option<f64>,
        paced: bool,
    },
    /// A camera by index or device path: `camera:0`, `camera:/dev/video2`.
    Camera(String),
    /// A keyboard-wedge scanner read from its input device: `hid:/dev/input/by-id/...-event-kbd`.
    Hid(PathBuf),
}

/// What is wrong with a source spec; every message quotes the spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SourceSpecError {
    #[error(transparent)]
    Serial(#[from] crate::source::serial_spec::SpecError),
    #[error("source {spec:?} names no files (images:PATH[,PATH...])")]
    NoFiles { spec: String },
    #[error("source {spec:?} names no folder (replay:DIR[@FPS][,paced])")]
    NoFolder { spec: String },
    #[error("bad frame rate {fps:?} in source {spec:?} (1 to 1000)")]
    BadFrameRate { spec: String, fps: String },
    #[error(
        "unknown replay option {option:?} in source {spec:?}: the only option is `paced` (replay:DIR[@FPS][,paced])"
    )]
    UnknownReplayOption { spec: String, option: String },
    #[error("in source {spec:?}, `,paced` goes after the frame rate (replay:DIR@FPS,paced)")]
    PacedBeforeFrameRate { spec: String },
    #[error("source {spec:?} names no input device (hid:/dev/input/by-id/...-event-kbd)")]
    NoInputDevice { spec: String },
    #[error("source {spec:?} names no camera (camera:INDEX or camera:/dev/videoN)")]
    NoCamera { spec: String },
    #[error(
        "unknown source {spec:?}: expected stdin, serial:PATH[@BAUD], hid:PATH, images:PATH, replay:DIR[@FPS][,paced] or camera:INDEX|PATH"
    )]
    Unknown { spec: String },
}

/// The option that ends a replay spec.
const PACED: &str = "paced";

/// Splits `replay:` specs into folder, frame rate and whether the replay is paced.
///
/// The option comes last, after a comma: `DIR@FPS,paced` or `DIR,paced`. Without a frame rate, a
/// trailing comma and word of letters is read as an option (so `frames,pace` is a misspelt
/// option, not a folder); a folder whose name really ends that way is written with a trailing
/// slash, `replay:my,dir/`.
fn parse_replay(spec: &str, rest: &str) -> Result<SourceSpec, SourceSpecError> {
    let option_of = |text: &str| -> Result<bool, SourceSpecError> {
        if text == PACED {
            Ok(true)
        } else {
            Err(SourceSpecError::UnknownReplayOption {
                spec: spec.to_owned(),
                option: text.to_owned(),
            })
        }
    };
    let (dir, fps, paced) = match rest.rsplit_once('@') {
        Some((dir, tail)) => {
            let (fps, paced) = match tail.split_once(',') {
                Some((fps, option)) => (fps, option_of(option)?),
                None => (tail, false),
            };
            let fps: f64 = fps
                .parse()
                .ok()
                .filter(|f: &f64| f.is_finite() && *f > 0.0 && *f <= 1000.0)
                .ok_or_else(|| SourceSpecError::BadFrameRate {
                    spec: spec.to_owned(),
                    fps: fps.to_owned(),
                })?;
            if dir
                .rsplit_once(',')
                .is_some_and(|(_, option)| option == PACED)
            {
                return Err(SourceSpecError::PacedBeforeFrameRate {
                    spec: spec.to_owned(),
                });
            }
            (dir, Some(fps), paced)
        }
        None => match rest.rsplit_once(',') {
            Some((dir, option))
                if !option.is_empty() && option.bytes().all(|b| b.is_ascii_alphabetic()) =>
            {
                (dir, None, option_of(option)?)
            }
            _ => (rest, None, false),
        },
    };
    if dir.is_empty() {
        return Err(SourceSpecError::NoFolder {
            spec: spec.to_owned(),
        });
    }
    Ok(SourceSpec::Replay {
        dir: PathBuf::from(dir),
        fps,
        paced,
    })
}

impl SourceSpec {
    pub(crate) fn parse(spec: &str) -> Result<SourceSpec, SourceSpecError> {
        if spec == "stdin" || spec == "-" {
            return Ok(SourceSpec::Stdin);
        }
        if let Some(rest) = spec.strip_prefix("serial:") {
            let (path, baud) = crate::source::serial_spec::parse_spec(rest)?;
            return Ok(SourceSpec::Serial { path, baud });
        }
        if let Some(rest) = spec.strip_prefix("images:") {
            let paths: Vec<PathBuf> = rest
                .split(',')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect();
            if paths.is_empty() {
                return Err(SourceSpecError::NoFiles {
                    spec: spec.to_owned(),
                });
            }
            return Ok(SourceSpec::Images(paths));
        }
        if let Some(rest) = spec.strip_prefix("replay:") {
            return parse_replay(spec, rest);
        }
        if let Some(path) = spec.strip_prefix("hid:") {
            if path.is_empty() {
                return Err(SourceSpecError::NoInputDevice {
                    spec: spec.to_owned(),
                });
            }
            return Ok(SourceSpec::Hid(PathBuf::from(path)));
        }
        if let Some(device) = spec.strip_prefix("camera:") {
            if device.is_empty() {
                return Err(SourceSpecError::NoCamera {
                    spec: spec.to_owned(),
                });
            }
            return Ok(SourceSpec::Camera(device.to_owned()));
        }
        Err(SourceSpecError::Unknown {
            spec: spec.to_owned(),
        })
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Stdin => f.write_str("stdin"),
            SourceSpec::Serial { path, baud: None } => write!(f, "serial:{}", path.display()),
            SourceSpec::Serial {
                path,
                baud: Some(b),
            } => write!(f, "serial:{}@{b}", path.display()),
            SourceSpec::Images(paths) => write!(
                f,
                "images:{}",
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            SourceSpec::Replay { dir, fps, paced } => {
                write!(f, "replay:{}", dir.display())?;
                if let Some(fps) = fps {
                    write!(f, "@{fps}")?;
                }
                if *paced {
                    write!(f, ",{PACED}")?;
                }
                Ok(())
            }
            SourceSpec::Camera(device) => write!(f, "camera:{device}"),
            SourceSpec::Hid(path) => write!(f, "hid:{}", path.display()),
        }
    }
}

/// How logs are written on stderr (`station.log_format`, `--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human lines, control characters escaped.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ColorMode {
    #[default]
    Auto,
    Always,
    Never,
}

/// The file as written. Every table and key is optional; unknown keys are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub station: RawStation,
    #[serde(default)]
    pub pairing: RawPairing,
    #[serde(default)]
    pub serial: RawSerial,
    #[serde(default)]
    pub feedback: RawFeedback,
    #[serde(default)]
    pub decode: RawDecode,
    #[serde(default)]
    pub labels: RawLabels,
    #[serde(default)]
    pub camera: RawCamera,
    #[serde(default)]
    pub wedge: RawWedge,
    #[serde(default)]
    pub http: RawHttp,
    #[serde(default)]
    pub webhooks: Vec<RawWebhook>,
    #[serde(default)]
    pub sync: RawSync,
}

/// `[sync]`: the central PostgreSQL that `run` pushes the ledger to.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSync {
    pub url: Option<Spanned<String>>,
    pub batch_rows: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttp {
    pub listen: Option<Spanned<String>>,
    pub token: Option<Spanned<String>>,
    pub rate_limit: Option<Spanned<i64>>,
    pub max_body_bytes: Option<Spanned<i64>>,
}

/// One `[[webhooks]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebhook {
    pub url: Spanned<String>,
    pub events: Option<Vec<Spanned<String>>>,
    pub secret: Option<String>,
    pub timeout_ms: Option<Spanned<i64>>,
}

/// The delivery timeout when `timeout_ms` is not given.
pub(crate) const WEBHOOK_TIMEOUT_MS: u64 = 10_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWedge {
    pub gap_ms: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDecode {
    pub formats: Option<Spanned<String>>,
    pub budget_ms: Option<Spanned<i64>>,
    pub focus: Option<bool>,
    pub frame_ms: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLabels {
    pub settle_ms: Option<Spanned<i64>>,
    pub forget_ms: Option<Spanned<i64>>,
    pub complete_frames: Option<Spanned<i64>>,
    pub join_factor: Option<Spanned<f64>>,
    pub motion_ms: Option<Spanned<i64>>,
    pub evidence: Option<bool>,
    pub evidence_quality: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCamera {
    pub width: Option<Spanned<i64>>,
    pub height: Option<Spanned<i64>>,
    pub fps: Option<Spanned<i64>>,
    pub pixel_format: Option<Spanned<String>>,
}

/// How frames are decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeSettings {
    pub formats: Vec<crate::decode::Format>,
    pub budget_ms: u64,
    /// How camera and replay frames use the frames before them.
    pub stream: crate::decode::StreamConfig,
}

impl Default for DecodeSettings {
    fn default() -> Self {
        let d = crate::decode::DecodeConfig::default();
        DecodeSettings {
            formats: d.formats,
            budget_ms: d.budget_ms,
            stream: crate::decode::StreamConfig::default(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStation {
    pub db: Option<PathBuf>,
    pub sources: Option<Vec<Spanned<String>>>,
    pub json: Option<bool>,
    pub log_format: Option<LogFormat>,
    pub mode: Option<Spanned<String>>,
    /// The name the station pushes under (default: the hostname).
    pub name: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPairing {
    pub idle_timeout_ms: Option<Spanned<i64>>,
    pub repeat_window_ms: Option<Spanned<i64>>,
    pub profile: Option<Spanned<String>>,
    pub gtin_prefixes: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSerial {
    pub baud: Option<Spanned<u32>>,
    pub terminator: Option<Terminator>,
    pub inter_char_timeout_ms: Option<Spanned<i64>>,
    pub max_line: Option<Spanned<usize>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFeedback {
    pub color: Option<ColorMode>,
    pub bell: Option<bool>,
    pub on_reject: Option<String>,
}

/// How the operator is told about each scan and unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FeedbackConfig {
    pub color: ColorMode,
    /// Ring the terminal bell on every red line.
    pub bell: bool,
    /// A shell command run (without waiting) on every red line, e.g. to play a sound.
    pub on_reject: Option<String>,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        FeedbackConfig {
            color: ColorMode::Auto,
            bell: true,
            on_reject: None,
        }
    }
}

/// The validated configuration the daemon runs with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub db: Option<PathBuf>,
    pub sources: Vec<SourceSpec>,
    pub json: bool,
    pub log_format: LogFormat,
    pub pairing: PairConfig,
    pub framing: FramingConfig,
    pub baud: u32,
    pub feedback: FeedbackConfig,
    pub decode: DecodeSettings,
    pub labels: crate::pair::label::LabelConfig,
    pub camera: CameraSettings,
    /// The picture kept behind each camera unit.
    pub evidence: crate::evidence::EvidenceConfig,
    /// A CSV of GS1 company prefixes (`prefix,brand,source`) added to the built-in table that
    /// label consistency checks use; relative paths are taken from the config file's folder.
    pub gtin_prefixes: Option<PathBuf>,
    /// A gap this long between a wedge scanner's keys ends a scan even without a suffix.
    pub wedge_gap_ms: i64,
    /// The desk mode at start; control barcodes change it while running.
    pub mode: crate::ident::control::Mode,
    /// The HTTP API and desk page (`[http]`), off unless `listen` is set.
    pub http: crate::api::HttpConfig,
    /// Where committed units (and, if asked, scans) are POSTed, from the outbox.
    pub webhooks: Vec<crate::webhook::WebhookConfig>,
    /// `station.name`: the name this station pushes to the central server under; `None`
    /// means the hostname.
    pub station_name: Option<String>,
    /// `[sync]`: the central server `run` pushes the ledger to in the background.
    pub sync: Option<crate::sync::SyncConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            db: None,
            sources: vec![SourceSpec::Stdin],
            json: false,
            log_format: LogFormat::Text,
            pairing: PairConfig::default(),
            framing: FramingConfig::default(),
            baud: 9600,
            feedback: FeedbackConfig::default(),
            decode: DecodeSettings::default(),
            labels: crate::pair::label::LabelConfig::default(),
            camera: CameraSettings::default(),
            evidence: crate::evidence::EvidenceConfig::default(),
            gtin_prefixes: None,
            wedge_gap_ms: 100,
            mode: crate::ident::control::Mode::Intake,
            http: crate::api::HttpConfig::default(),
            webhooks: Vec::new(),
            station_name: None,
            sync: None,
        }
    }
}

/// A configuration error that names the file, the line and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {key}: {message}", path.display())]
pub(crate) struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub key: String,
    pub message: String,
}

/// Where the config is read from when `--config` is not given.
pub(crate) fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "scanstation")
        .map(|dirs| dirs.config_dir().join("config.toml"))
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |before| {
        before.bytes().filter(|&b| b == b'\n').count() + 1
    })
}

/// The dotted key path serde was at when it failed, such as `station.sources[1]` or
/// `pairing.idle_timeout_ms`, from the path `serde_path_to_error` tracked.
///
/// `toml::Spanned` reads a value through a private map (`$__serde_spanned_private_*`), whose
/// keys are an implementation detail and are left out.
fn key_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if key.starts_with("$__serde_spanned") {
                    continue;
                }
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    if out.is_empty() {
        "(top level)".to_owned()
    } else {
        out
    }
}

struct Located<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Located<'_> {
    /// An error about the value at `span`, whose full key path is `key`.
    fn error(
        &self,
        span: Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            path: self.path.to_owned(),
            line: line_of(self.text, span.start),
            key: key.into(),
            message: message.into(),
        }
    }
}

impl Config {
    /// Reads and validates a config file's text.
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let at = Located { path, text };
        // A syntax error comes before any key is known; toml's message says what is wrong.
        let document = toml::Deserializer::parse(text).map_err(|err| {
            let span = err.span().unwrap_or(0..0);
            at.error(span, "(syntax)", err.message().trim().to_owned())
        })?;
        // serde_path_to_error records the key path serde was reading when it failed, so the
        // error names the real key (an unknown key, a value of the wrong type, an element of a
        // list) instead of a guess from the lines above it.
        let raw: RawConfig = serde_path_to_error::deserialize(document).map_err(|err| {
            let key = key_path(err.path());
            let err = err.into_inner();
            let span = err.span().unwrap_or(0..0);
            at.error(span, key, err.message().trim().to_owned())
        })?;
        Config::from_raw(raw, &at)
    }

    /// Reads the config file at `path`.
    pub(crate) fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
            path: path.to_owned(),
            line: 0,
            key: "(file)".to_owned(),
            message: format!("cannot read the config file: {err}"),
        })?;
        Config::parse(path, &text)
    }

    fn from_raw(raw: RawConfig, at: &Located<'_>) -> Result<Config, ConfigError> {
        let mut config = Config {
            db: raw.station.db,
            ..Config::default()
        };
        if let Some(sources) = raw.station.sources {
            config.sources = sources
                .into_iter()
                .enumerate()
                .map(|(i, s)| {
                    let span = s.span();
                    SourceSpec::parse(s.get_ref())
                        .map_err(|e| at.error(span, format!("station.sources[{i}]"), e.to_string()))
                })
                .collect::<Result<_, _>>()?;
            if config.sources.is_empty() {
                config.sources.push(SourceSpec::Stdin);
            }
        }
        config.json = raw.station.json.unwrap_or(false);
        config.log_format = raw.station.log_format.unwrap_or_default();

        let positive =
            |v: Option<Spanned<i64>>, key: &str, default: i64| -> Result<i64, ConfigError> {
                match v {
                    None => Ok(default),
                    Some(v) if *v.get_ref() > 0 => Ok(*v.get_ref()),
                    Some(v) => Err(at.error(
                        v.span(),
                        key,
                        format!(
                            "must be a positive number of milliseconds, not {}",
                            v.get_ref()
                        ),
                    )),
                }
            };
        config.pairing.idle_timeout_ms = positive(
            raw.pairing.idle_timeout_ms,
            "pairing.idle_timeout_ms",
            config.pairing.idle_timeout_ms,
        )?;
        config.pairing.repeat_window_ms = positive(
            raw.pairing.repeat_window_ms,
            "pairing.repeat_window_ms",
            config.pairing.repeat_window_ms,
        )?;
        if let Some(profile) = raw.pairing.profile {
            config.pairing.profile = Profile::parse(profile.get_ref())
                .map_err(|e| at.error(profile.span(), "pairing.profile", e.to_string()))?;
        }
        if let Some(file) = raw.pairing.gtin_prefixes.filter(|f| !f.trim().is_empty()) {
            let file = PathBuf::from(file);
            config.gtin_prefixes = Some(match at.path.parent() {
                Some(dir) if file.is_relative() => dir.join(file),
                _ => file,
            });
        }

        if let Some(baud) = raw.serial.baud {
            if *baud.get_ref() == 0 {
                return Err(at.error(baud.span(), "serial.baud", "baud rate must be above 0"));
            }
            config.baud = *baud.get_ref();
        }
        if let Some(t) = raw.serial.terminator {
            config.framing.terminator = t;
        }
        config.framing.inter_char_timeout_ms = positive(
            raw.serial.inter_char_timeout_ms,
            "serial.inter_char_timeout_ms",
            config.framing.inter_char_timeout_ms,
        )?;
        if let Some(max) = raw.serial.max_line {
            if !(16..=1 << 20).contains(max.get_ref()) {
                return Err(at.error(
                    max.span(),
                    "serial.max_line",
                    "max_line must be between 16 and 1048576 bytes",
                ));
            }
            config.framing.max_len = *max.get_ref();
        }

        if let Some(color) = raw.feedback.color {
            config.feedback.color = color;
        }
        if let Some(bell) = raw.feedback.bell {
            config.feedback.bell = bell;
        }
        config.feedback.on_reject = raw.feedback.on_reject.filter(|c| !c.trim().is_empty());

        if let Some(formats) = raw.decode.formats {
            config.decode.formats = crate::decode::parse_formats(formats.get_ref())
                .map_err(|e| at.error(formats.span(), "decode.formats", e.to_string()))?;
        }
        config.decode.budget_ms = positive(
            raw.decode.budget_ms,
            "decode.budget_ms",
            i64::try_from(config.decode.budget_ms).unwrap_or(i64::MAX),
        )?
        .unsigned_abs();
        if let Some(focus) = raw.decode.focus {
            config.decode.stream.focus = focus;
        }
        if let Some(frame_ms) = raw.decode.frame_ms {
            let ms = positive(Some(frame_ms.clone()), "decode.frame_ms", 1)?.unsigned_abs();
            // A soft budget past the hard one would never act: the frame is abandoned first.
            if ms > config.decode.budget_ms {
                return Err(at.error(
                    frame_ms.span(),
                    "decode.frame_ms",
                    format!(
                        "must not exceed decode.budget_ms ({} ms), not {ms}",
                        config.decode.budget_ms
                    ),
                ));
            }
            config.decode.stream.frame_ms = Some(ms);
        }

        config.labels.profile = config.pairing.profile.clone();
        config.labels.settle_ms = positive(
            raw.labels.settle_ms,
            "labels.settle_ms",
            config.labels.settle_ms,
        )?;
        config.labels.forget_ms = positive(
            raw.labels.forget_ms,
            "labels.forget_ms",
            config.labels.forget_ms,
        )?;
        if let Some(frames) = raw.labels.complete_frames {
            // A count of frames: a negative or oversized number must be refused here, not wrap
            // into some other count on the way to u32.
            config.labels.complete_frames = u32::try_from(*frames.get_ref())
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    at.error(
                        frames.span(),
                        "labels.complete_frames",
                        format!(
                            "must be a whole number of frames from 1 to {}, not {}",
                            u32::MAX,
                            frames.get_ref()
                        ),
                    )
                })?;
        }
        if let Some(factor) = raw.labels.join_factor {
            if !(0.1..=20.0).contains(factor.get_ref()) {
                return Err(at.error(
                    factor.span(),
                    "labels.join_factor",
                    "join_factor must be between 0.1 and 20",
                ));
            }
            config.labels.join_factor = *factor.get_ref() as f32;
        }
        config.labels.motion_ms = positive(
            raw.labels.motion_ms,
            "labels.motion_ms",
            config.labels.motion_ms,
        )?;
        if let Some(keep) = raw.labels.evidence {
            config.evidence.enabled = keep;
        }
        if let Some(quality) = raw.labels.evidence_quality {
            config.evidence.quality = u8::try_from(*quality.get_ref())
                .ok()
                .filter(|q| (1..=100).contains(q))
                .ok_or_else(|| {
                    at.error(
                        quality.span(),
                        "labels.evidence_quality",
                        format!(
                            "evidence_quality must be between 1 and 100, not {}",
                            quality.get_ref()
                        ),
                    )
                })?;
        }

        let dim = |v: Option<Spanned<i64>>,
                   key: &str,
                   default: u32,
                   max: u32|
         -> Result<u32, ConfigError> {
            let Some(v) = v else {
                return Ok(default);
            };
            u32::try_from(*v.get_ref())
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    at.error(
                        v.span(),
                        key,
                        format!("must be between 1 and {max}, not {}", v.get_ref()),
                    )
                })
        };
        config.wedge_gap_ms = positive(raw.wedge.gap_ms, "wedge.gap_ms", config.wedge_gap_ms)?;
        if let Some(mode) = raw.station.mode {
            config.mode = crate::ident::control::Mode::parse(mode.get_ref()).ok_or_else(|| {
                at.error(
                    mode.span(),
                    "station.mode",
                    format!(
                        "mode must be intake, returns, recall or audit, not {:?}",
                        mode.get_ref()
                    ),
                )
            })?;
        }
        config.camera.width = dim(raw.camera.width, "camera.width", config.camera.width, 8192)?;
        config.camera.height = dim(
            raw.camera.height,
            "camera.height",
            config.camera.height,
            8192,
        )?;
        config.camera.fps = dim(raw.camera.fps, "camera.fps", config.camera.fps, 240)?;
        if let Some(format) = raw.camera.pixel_format {
            let f = format.get_ref().to_ascii_lowercase();
            if !["mjpeg", "yuyv", "gray"].contains(&f.as_str()) {
                return Err(at.error(
                    format.span(),
                    "camera.pixel_format",
                    format!(
                        "pixel_format must be mjpeg, yuyv or gray, not {:?}",
                        format.get_ref()
                    ),
                ));
            }
            config.camera.pixel_format = f;
        }
        if let Some(listen) = raw.http.listen {
            let text = listen.get_ref().trim();
            if text.is_empty() || !text.contains(':') {
                return Err(at.error(
                    listen.span(),
                    "http.listen",
                    format!(
                        "listen must be HOST:PORT, for example \"127.0.0.1:8080\", not {:?}",
                        listen.get_ref()
                    ),
                ));
            }
            config.http.listen = Some(text.to_owned());
        }
        if let Some(token) = raw.http.token {
            if token.get_ref().len() < 16 || token.get_ref().chars().any(char::is_whitespace) {
                return Err(at.error(
                    token.span(),
                    "http.token",
                    "the token must be at least 16 characters with no spaces (try `openssl rand -hex 24`)",
                ));
            }
            config.http.token = Some(token.into_inner());
        }
        if let Some(limit) = raw.http.rate_limit {
            config.http.rate_limit = u32::try_from(*limit.get_ref())
                .ok()
                .filter(|n| *n <= 1_000_000)
                .ok_or_else(|| {
                    at.error(
                        limit.span(),
                        "http.rate_limit",
                        format!(
                            "rate_limit is requests per second per client, from 0 (no limit) to 1000000, not {}",
                            limit.get_ref()
                        ),
                    )
                })?;
        }
        if let Some(max) = raw.http.max_body_bytes {
            config.http.max_body_bytes = usize::try_from(*max.get_ref())
                .ok()
                .filter(|n| (1024..=(1 << 30)).contains(n))
                .ok_or_else(|| {
                    at.error(
                        max.span(),
                        "http.max_body_bytes",
                        format!(
                            "max_body_bytes must be from 1024 to 1073741824, not {}",
                            max.get_ref()
                        ),
                    )
                })?;
        }
        for (i, hook) in raw.webhooks.into_iter().enumerate() {
            let span = hook.url.span();
            let hook = webhook(i, hook, at)?;
            // The delivery state is kept per URL, so two entries with one URL would share (and
            // fight over) one cursor.
            if config.webhooks.iter().any(|h| h.url == hook.url) {
                return Err(at.error(
                    span,
                    format!("webhooks[{i}].url"),
                    format!(
                        "{:?} is already the URL of an earlier webhook; give each receiver one entry",
                        hook.url
                    ),
                ));
            }
            config.webhooks.push(hook);
        }
        if let Some(name) = raw.station.name {
            crate::sync::check_name(name.get_ref())
                .map_err(|message| at.error(name.span(), "station.name", message))?;
            config.station_name = Some(name.into_inner());
        }
        if let Some(url) = raw.sync.url {
            // The parser's message never quotes the URL, so a password in it is not shown.
            crate::sync::Target::parse(url.get_ref())
                .map_err(|e| at.error(url.span(), "sync.url", e.to_string()))?;
            let batch_rows = match raw.sync.batch_rows {
                None => crate::sync::BATCH_ROWS,
                Some(n) => usize::try_from(*n.get_ref())
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or_else(|| {
                        at.error(
                            n.span(),
                            "sync.batch_rows",
                            format!("batch_rows must be from 1 to 100000, not {}", n.get_ref()),
                        )
                    })?,
            };
            config.sync = Some(crate::sync::SyncConfig {
                url: url.into_inner().trim().to_owned(),
                batch_rows,
            });
        } else if let Some(n) = raw.sync.batch_rows {
            return Err(at.error(
                n.span(),
                "sync.batch_rows",
                "batch_rows needs sync.url: the server to push to",
            ));
        }
        Ok(config)
    }
}

/// Validates one `[[webhooks]]` entry; errors name `webhooks[i].key`.
fn webhook(
    i: usize,
    raw: RawWebhook,
    at: &Located<'_>,
) -> Result<crate::webhook::WebhookConfig, ConfigError> {
    let url = raw.url.get_ref().trim();
    let scheme_ok = ["http://", "https://"].iter().any(|scheme| {
        url.get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
            && url.len() > scheme.len()
    });
    if !scheme_ok {
        return Err(at.error(
            raw.url.span(),
            format!("webhooks[{i}].url"),
            format!(
                "a webhook URL starts with http:// or https:// and names a host, not {:?}",
                raw.url.get_ref()
            ),
        ));
    }
    let mut events = crate::store::OutboxKinds::default();
    match raw.events {
        None => events.unit = true,
        Some(names) => {
            for (j, name) in names.iter().enumerate() {
                match name.get_ref().as_str() {
                    "unit" => events.unit = true,
                    "scan" => events.scan = true,
                    other => {
                        return Err(at.error(
                            name.span(),
                            format!("webhooks[{i}].events[{j}]"),
                            format!(
                                "unknown event {other:?}: the events are \"unit\" and \"scan\""
                            ),
                        ));
                    }
                }
            }
            if !events.any() {
                return Err(at.error(
                    raw.url.span(),
                    format!("webhooks[{i}].events"),
                    "names no event: leave it out for [\"unit\"], or list \"unit\" and/or \"scan\"",
                ));
            }
        }
    }
    let timeout_ms = match raw.timeout_ms {
        None => WEBHOOK_TIMEOUT_MS,
        Some(t) => u64::try_from(*t.get_ref())
            .ok()
            .filter(|ms| (1..=600_000).contains(ms))
            .ok_or_else(|| {
                at.error(
                    t.span(),
                    format!("webhooks[{i}].timeout_ms"),
                    format!(
                        "must be between 1 and 600000 milliseconds, not {}",
                        t.get_ref()
                    ),
                )
            })?,
    };
    Ok(crate::webhook::WebhookConfig {
        url: url.to_owned(),
        events,
        secret: raw.secret.filter(|s| !s.is_empty()),
        timeout_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("station.toml"), text)
    }

    #[test]
    fn the_example_config_parses_and_names_every_key() {
        let text = include_str!("../hardware/scanstation.toml");
        let config = parse(text).expect("example config");
        assert_eq!(config.pairing.idle_timeout_ms, 10_000);
        // Every key the raw config knows appears in the example, commented or not.
        for key in [
            "db",
            "sources",
            "json",
            "log_format",
            "idle_timeout_ms",
            "repeat_window_ms",
            "profile",
            "baud",
            "terminator",
            "inter_char_timeout_ms",
            "max_line",
            "color",
            "bell",
            "on_reject",
            "settle_ms",
            "complete_frames",
            "forget_ms",
            "motion_ms",
            "join_factor",
            "evidence",
            "evidence_quality",
            "gtin_prefixes",
            "url",
            "events",
            "secret",
            "timeout_ms",
            "name",
            "batch_rows",
            "focus",
            "frame_ms",
        ] {
            assert!(
                text.contains(&format!("{key} =")),
                "{key} missing from the example"
            );
        }
    }

    #[test]
    fn sync_and_the_station_name_are_read_and_checked() {
        let config = parse(
            "[station]\nname = \"desk1\"\n[sync]\nurl = \"postgres://scan:pw@db:5432/central\"\n\
             batch_rows = 500\n",
        )
        .expect("sync");
        assert_eq!(config.station_name.as_deref(), Some("desk1"));
        let sync = config.sync.expect("sync config");
        assert_eq!(
            (sync.url.as_str(), sync.batch_rows),
            ("postgres://scan:pw@db:5432/central", 500)
        );
        let config = parse("[sync]\nurl = \"postgres://db/central\"\n").expect("default");
        assert_eq!(
            config.sync.map(|s| s.batch_rows),
            Some(crate::sync::BATCH_ROWS)
        );
        assert!(parse("").expect("none").sync.is_none());
        for (text, line, key) in [
            ("[sync]\nurl = \"http://db/x\"\n", 2, "sync.url"),
            (
                "[sync]\nurl = \"postgres://db/x\"\nbatch_rows = 0\n",
                3,
                "sync.batch_rows",
            ),
            ("[sync]\nbatch_rows = 10\n", 2, "sync.batch_rows"),
            ("[station]\nname = \"a b\"\n", 2, "station.name"),
            (
                "[sync]\nurl = \"postgres://db/x\"\nport = 1\n",
                3,
                "sync.port",
            ),
        ] {
            let err = parse(text).expect_err(text);
            assert_eq!((err.line, err.key.as_str()), (line, key), "{text}: {err}");
        }
        // A password in a bad URL is not repeated in the error.
        let err = parse("[sync]\nurl = \"postgres://a:s3cret@db/x?nonsense=1\"\n")
            .expect_err("bad option");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn webhooks_are_read_and_checked() {
        let config = parse(
            "[[webhooks]]\nurl = \"https://erp.example/hook\"\n\n[[webhooks]]\n\
             url = \"http://127.0.0.1:9000/in\"\nevents = [\"scan\", \"unit\"]\nsecret = \"k\"\n\
             timeout_ms = 2500\n",
        )
        .expect("webhooks");
        assert_eq!(config.webhooks.len(), 2);
        let (a, b) = (&config.webhooks[0], &config.webhooks[1]);
        assert_eq!(
            (a.url.as_str(), a.events, a.secret.as_deref(), a.timeout_ms),
            (
                "https://erp.example/hook",
                crate::store::OutboxKinds::UNITS,
                None,
                WEBHOOK_TIMEOUT_MS
            )
        );
        assert_eq!(
            (b.events, b.secret.as_deref(), b.timeout_ms),
            (crate::store::OutboxKinds::ALL, Some("k"), 2500)
        );
        assert!(
            !format!("{b:?}").contains("\"k\""),
            "Debug hides the secret"
        );
        assert!(parse("").expect("none").webhooks.is_empty());
        for (text, line, key) in [
            ("[[webhooks]]\nurl = \"ftp://x/\"\n", 2, "webhooks[0].url"),
            ("[[webhooks]]\nurl = \"http://\"\n", 2, "webhooks[0].url"),
            ("[[webhooks]]\nurl = \"x\"\n", 2, "webhooks[0].url"),
            (
                "[[webhooks]]\nurl = \"http://a/\"\n[[webhooks]]\nurl = \"file:///etc\"\n",
                4,
                "webhooks[1].url",
            ),
            (
                "[[webhooks]]\nurl = \"http://a/\"\nevents = [\"unit\",\n \"decision\"]\n",
                4,
                "webhooks[0].events[1]",
            ),
            (
                "[[webhooks]]\nurl = \"http://a/\"\nevents = []\n",
                2,
                "webhooks[0].events",
            ),
            (
                "[[webhooks]]\nurl = \"http://a/\"\ntimeout_ms = -1\n",
                3,
                "webhooks[0].timeout_ms",
            ),
            (
                "[[webhooks]]\nurl = \"http://a/\"\nheaders = 1\n",
                3,
                "webhooks[0].headers",
            ),
            ("[[webhooks]]\nevents = [\"unit\"]\n", 1, "webhooks[0]"),
            (
                "[[webhooks]]\nurl = \"http://a/\"\n[[webhooks]]\nurl = \"http://a/\"\n",
                4,
                "webhooks[1].url",
            ),
        ] {
            let err = parse(text).expect_err(text);
            assert_eq!((err.line, err.key.as_str()), (line, key), "{text:?}: {err}");
        }
    }

    #[test]
    fn label_keys_are_checked() {
        let config = parse("[labels]\nmotion_ms = 250\nevidence = false\nevidence_quality = 60\n")
            .expect("labels");
        assert_eq!(config.labels.motion_ms, 250);
        assert!(!config.evidence.enabled);
        assert_eq!(config.evidence.quality, 60);
        let err = parse("[labels]\nevidence_quality = 101\n").expect_err("quality");
        assert_eq!((err.line, err.key.as_str()), (2, "labels.evidence_quality"));
        let err = parse("[labels]\nmotion_ms = -5\n").expect_err("motion");
        assert_eq!(err.key, "labels.motion_ms");
        let err = parse("[labels]\nevidence = \"yes\"\n").expect_err("evidence");
        assert_eq!(err.key, "labels.evidence");
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = parse("[station]\njson = true\n\n[pairing]\nidle_timeout = 5\n")
            .expect_err("unknown key");
        assert_eq!((err.line, err.key.as_str()), (5, "pairing.idle_timeout"));
        assert!(err.message.contains("unknown field"), "{err}");
        assert!(
            err.to_string()
                .starts_with("station.toml:5: pairing.idle_timeout: ")
        );
    }

    #[test]
    fn bad_values_name_their_line() {
        let err = parse("[pairing]\nidle_timeout_ms = \"ten\"\n").expect_err("type");
        assert_eq!((err.line, err.key.as_str()), (2, "pairing.idle_timeout_ms"));
        let err = parse("[pairing]\nidle_timeout_ms = -5\n").expect_err("negative");
        assert_eq!(err.line, 2);
        let err = parse("[station]\nsources = [\"stdin\",\n  \"usb:what\"]\n").expect_err("source");
        assert_eq!((err.line, err.key.as_str()), (3, "station.sources[1]"));
        assert!(err.message.contains("usb:what"));
        let err = parse("[serial]\nterminator = \"semicolon\"\n").expect_err("terminator");
        assert_eq!(err.line, 2);
        let err = parse("[pairing]\nprofile = \"serial+cat\"\n").expect_err("profile");
        assert!(err.message.contains("cat"), "{err}");
        let err = parse("this is not toml").expect_err("syntax");
        assert_eq!(err.line, 1);
    }

    /// Defect (issue 10): `complete_frames` was cast to u32, so 4294967297 became 1 and -1 was
    /// only caught by the milliseconds check, with a message about milliseconds.
    #[test]
    fn out_of_range_counts_are_refused_not_wrapped() {
        for (value, what) in [
            ("99999999999", "huge"),
            ("4294967296", "one over u32"),
            ("4294967297", "wraps to 1"),
            ("-3", "negative"),
            ("0", "zero"),
        ] {
            let err = parse(&format!(
                "[labels]\nsettle_ms = 400\ncomplete_frames = {value}\n"
            ))
            .expect_err(what);
            assert_eq!(
                (err.line, err.key.as_str()),
                (3, "labels.complete_frames"),
                "{what}: {err}"
            );
            assert!(err.message.contains(value), "{what}: {err}");
            assert!(
                err.to_string().starts_with(
                    "station.toml:3: labels.complete_frames: must be a whole number of frames"
                ),
                "{what}: {err}"
            );
        }
        let config = parse("[labels]\ncomplete_frames = 4294967295\n").expect("u32::MAX");
        assert_eq!(config.labels.complete_frames, u32::MAX);
        for (text, key) in [
            (
                "[labels]\nevidence_quality = 356\n",
                "labels.evidence_quality",
            ),
            (
                "[labels]\nevidence_quality = -200\n",
                "labels.evidence_quality",
            ),
            ("[camera]\nwidth = 4294967297\n", "camera.width"),
            ("[camera]\nfps = -1\n", "camera.fps"),
            ("[serial]\nbaud = 99999999999\n", "serial.baud"),
            ("[serial]\nmax_line = -1\n", "serial.max_line"),
            ("[decode]\nbudget_ms = -1\n", "decode.budget_ms"),
            ("[decode]\nframe_ms = 0\n", "decode.frame_ms"),
            ("[decode]\nframe_ms = 300\n", "decode.frame_ms"),
        ] {
            let err = parse(text).expect_err(text);
            assert_eq!((err.line, err.key.as_str()), (2, key), "{text:?}: {err}");
        }
    }

    #[test]
    fn the_stream_keys_reach_the_decode_settings() {
        let config = parse("[decode]\nbudget_ms = 100\nframe_ms = 33\nfocus = false\n")
            .expect("valid stream keys");
        assert_eq!(config.decode.stream.frame_ms, Some(33));
        assert!(!config.decode.stream.focus);
        let config = parse("").expect("empty config");
        assert_eq!(config.decode.stream, crate::decode::StreamConfig::default());
        let err = parse("[decode]\nbudget_ms = 100\nframe_ms = 120\n").expect_err("over budget");
        assert!(
            err.to_string()
                .contains("must not exceed decode.budget_ms (100 ms)"),
            "{err}"
        );
        let err = parse("[decode]\nfocus = \"yes\"\n").expect_err("not a boolean");
        assert_eq!(err.key, "decode.focus", "{err}");
    }

    /// Every error names the full key path that serde or the validation was at, also where the
    /// lines above give no hint (inline tables, dotted keys, array elements).
    #[test]
    fn errors_name_the_full_key_path() {
        for (text, line, key) in [
            (
                "[station]\nsources = [\"stdin\", 5]\n",
                2,
                "station.sources[1]",
            ),
            (
                "[station]\nsources = [\n  \"stdin\",\n  \"serial:/dev/x\",\n  \"nope:\",\n]\n",
                5,
                "station.sources[2]",
            ),
            (
                "pairing = { idle_timeout_ms = \"ten\" }\n",
                1,
                "pairing.idle_timeout_ms",
            ),
            (
                "pairing.idle_timeout_ms = -1\n",
                1,
                "pairing.idle_timeout_ms",
            ),
            ("station.mode = \"lunch\"\n", 1, "station.mode"),
            (
                "[serial]\nterminator = \"semicolon\"\n",
                2,
                "serial.terminator",
            ),
            ("[feedback]\ncolor = \"blue\"\n", 2, "feedback.color"),
            (
                "[feedback]\n# a comment = x\nbell = 3\n",
                3,
                "feedback.bell",
            ),
            ("[station]\nlog_format = \"xml\"\n", 2, "station.log_format"),
            ("[nope]\nx = 1\n", 1, "nope"),
            ("[labels]\njoin_factor = 50.0\n", 2, "labels.join_factor"),
            (
                "[camera]\npixel_format = \"rgb\"\n",
                2,
                "camera.pixel_format",
            ),
            ("[decode]\nformats = \"qr,cat\"\n", 2, "decode.formats"),
        ] {
            let err = parse(text).expect_err(text);
            assert_eq!((err.line, err.key.as_str()), (line, key), "{text:?}: {err}");
        }
        let err = parse("[pairing\n").expect_err("syntax");
        assert_eq!((err.line, err.key.as_str()), (1, "(syntax)"), "{err}");
    }

    #[test]
    fn source_specs() {
        assert_eq!(SourceSpec::parse("stdin"), Ok(SourceSpec::Stdin));
        assert_eq!(
            SourceSpec::parse("serial:/dev/ttyACM0@115200"),
            Ok(SourceSpec::Serial {
                path: "/dev/ttyACM0".into(),
                baud: Some(115_200)
            })
        );
        assert!(SourceSpec::parse("serial:").is_err());
        assert!(SourceSpec::parse("serial:/dev/x@fast").is_err());
        assert_eq!(
            SourceSpec::parse("camera:0"),
            Ok(SourceSpec::Camera("0".into()))
        );
        assert_eq!(
            SourceSpec::parse("replay:/tmp/frames@15"),
            Ok(SourceSpec::Replay {
                dir: "/tmp/frames".into(),
                fps: Some(15.0),
                paced: false,
            })
        );
        assert!(SourceSpec::parse("replay:/tmp/frames@0").is_err());
        assert_eq!(
            SourceSpec::parse("images:a.png,b"),
            Ok(SourceSpec::Images(vec!["a.png".into(), "b".into()]))
        );
        assert!(SourceSpec::parse("images:").is_err());
        assert!(SourceSpec::parse("usb:0").is_err());
    }

    /// The inputs on which the config's own serial parser and the serial source's used to
    /// disagree: there is one parser now, and these are all refused.
    #[test]
    fn serial_specs_follow_the_serial_sources_parser() {
        use crate::source::serial_spec::SpecError;
        let bad_baud = |spec: &str, baud: &str| {
            Err(SourceSpecError::Serial(SpecError::BadBaud {
                spec: spec.to_owned(),
                baud: baud.to_owned(),
            }))
        };
        assert_eq!(
            SourceSpec::parse("serial:/dev/x@+9600"),
            bad_baud("/dev/x@+9600", "+9600")
        );
        assert_eq!(
            SourceSpec::parse("serial:/dev/x@96O0"),
            bad_baud("/dev/x@96O0", "96O0")
        );
        assert_eq!(
            SourceSpec::parse("serial:/dev/x@ 9600"),
            bad_baud("/dev/x@ 9600", " 9600")
        );
        for blank in ["serial:   ", "serial: \t@9600", "serial:@9600"] {
            assert!(
                matches!(
                    SourceSpec::parse(blank),
                    Err(SourceSpecError::Serial(SpecError::EmptyPath { .. }))
                ),
                "{blank:?}"
            );
        }
        // A path that holds an `@` is fine once the baud rate follows it.
        assert_eq!(
            SourceSpec::parse("serial:/dev/odd@name@9600"),
            Ok(SourceSpec::Serial {
                path: "/dev/odd@name".into(),
                baud: Some(9600)
            })
        );
        // The config names the line and key, and the message says what is wrong.
        let err = parse("[station]\nsources = [\"serial:/dev/x@+9600\"]\n").expect_err("baud");
        assert_eq!((err.line, err.key.as_str()), (2, "station.sources[0]"));
        assert!(err.message.contains("bad baud rate \"+9600\""), "{err}");
    }

    #[test]
    fn replays_are_unpaced_unless_asked() {
        let replay = |dir: &str, fps: Option<f64>, paced: bool| {
            Ok(SourceSpec::Replay {
                dir: dir.into(),
                fps,
                paced,
            })
        };
        assert_eq!(
            SourceSpec::parse("replay:frames"),
            replay("frames", None, false)
        );
        assert_eq!(
            SourceSpec::parse("replay:frames/@30"),
            replay("frames/", Some(30.0), false)
        );
        assert_eq!(
            SourceSpec::parse("replay:frames@30,paced"),
            replay("frames", Some(30.0), true)
        );
        assert_eq!(
            SourceSpec::parse("replay:frames,paced"),
            replay("frames", None, true)
        );
        // A folder whose name ends in a comma and a word is written with a trailing slash.
        assert_eq!(
            SourceSpec::parse("replay:my,dir/"),
            replay("my,dir/", None, false)
        );
        assert_eq!(
            SourceSpec::parse("replay:take,2@12.5"),
            replay("take,2", Some(12.5), false)
        );
        // Written back the way it was given.
        for spec in [
            "replay:frames@30,paced",
            "replay:frames,paced",
            "replay:f@12.5",
        ] {
            let parsed = SourceSpec::parse(spec).map(|s| s.to_string());
            assert_eq!(parsed.as_deref(), Ok(spec));
        }
    }

    #[test]
    fn bad_replay_suffixes_say_what_is_wrong() {
        let msg = |spec: &str| SourceSpec::parse(spec).map_err(|e| e.to_string()).err();
        assert_eq!(
            msg("replay:frames@30,pace").as_deref(),
            Some(
                "unknown replay option \"pace\" in source \"replay:frames@30,pace\": the only option is `paced` (replay:DIR[@FPS][,paced])"
            )
        );
        assert_eq!(
            msg("replay:frames,fast").as_deref(),
            Some(
                "unknown replay option \"fast\" in source \"replay:frames,fast\": the only option is `paced` (replay:DIR[@FPS][,paced])"
            )
        );
        assert!(
            msg("replay:frames@30,").is_some_and(|m| m.starts_with("unknown replay option \"\"")),
            "an empty option"
        );
        assert_eq!(
            msg("replay:frames,paced@30").as_deref(),
            Some(
                "in source \"replay:frames,paced@30\", `,paced` goes after the frame rate (replay:DIR@FPS,paced)"
            )
        );
        for (spec, fps) in [
            ("replay:frames@fast", "fast"),
            ("replay:frames@,paced", ""),
            ("replay:frames@0,paced", "0"),
            ("replay:frames@1001", "1001"),
            ("replay:frames@NaN", "NaN"),
        ] {
            assert_eq!(
                SourceSpec::parse(spec),
                Err(SourceSpecError::BadFrameRate {
                    spec: spec.to_owned(),
                    fps: fps.to_owned()
                })
            );
        }
        for spec in ["replay:", "replay:,paced", "replay:@30,paced"] {
            assert_eq!(
                SourceSpec::parse(spec),
                Err(SourceSpecError::NoFolder {
                    spec: spec.to_owned()
                })
            );
        }
    }
}
