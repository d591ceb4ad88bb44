//! Frame sources: image files, replayed folders and (with the `camera` feature) cameras.
//!
//! A grabber only produces grey frames; `FrameSource` decodes them on its own thread and sends
//! the symbols to the event loop. For a live camera, capture never waits for decode: a newer
//! frame replaces one not yet decoded, and the dropped frames are counted. Files are never
//! dropped: each image is decoded once, and the next file is loaded only when few enough earlier
//! frames are still alive.

use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use image::GrayImage;

use super::{Error, FrameResult, Source, SourceEvent, chain};
use crate::clock;
use crate::decode::{DecodeWorker, Decoder, Focus, FramePlan, StreamConfig};

/// One grabbed frame.
pub struct Grabbed {
    pub at_ms: i64,
    pub name: String,
    /// The frame, or why this one could not be had (the file is corrupt, the camera sent
    /// garbage); the source goes on with the next.
    pub image: Result<GrayImage, Error>,
}

/// Why a grabber stopped or paused.
#[derive(Debug, thiserror::Error)]
pub enum GrabError {
    /// The device went away. The grabber reconnects by itself (with [`super::Reconnect`]) and
    /// says this once per outage; its next frame means the device is back.
    #[error(transparent)]
    Lost(Error),
    /// The source cannot go on at all.
    #[error(transparent)]
    Fatal(Error),
}

/// Something that produces frames: files, a replayed folder, a camera.
pub trait Grabber: Send + 'static {
    fn name(&self) -> String;
    /// The next frame, `Ok(None)` at the end of the input.
    fn grab(&mut self) -> Result<Option<Grabbed>, GrabError>;
    /// A live source drops frames it cannot decode in time; a file source never does.
    fn live(&self) -> bool;
    /// Frames are unrelated stills (each image its own scene), not a moving picture.
    fn stills(&self) -> bool {
        false
    }
}

const IMAGE_EXTENSIONS: [&str; 9] = [
    "png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff", "pgm",
];

/// The files named by `paths`: files as given, folders expanded to their images in name order.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|source| Error::List {
                    path: path.clone(),
                    source,
                })?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())
                    })
                })
                .collect();
            files.sort();
            out.extend(files);
        } else if path.exists() {
            out.push(path.clone());
        } else {
            return Err(Error::NotFound { path: path.clone() });
        }
    }
    Ok(out)
}

/// How many images from files may be alive at once (queued, being decoded or being used).
const MAX_FILE_FRAMES_IN_FLIGHT: usize = 2;

/// `images:PATH,...`: each image decoded once, stamped with the wall clock.
pub struct Images {
    name: String,
    files: std::vec::IntoIter<PathBuf>,
}

impl Images {
    pub fn new(paths: &[PathBuf]) -> Result<Images, Error> {
        let files = expand(paths)?;
        let name = format!(
            "images:{}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        Ok(Images {
            name,
            files: files.into_iter(),
        })
    }
}

impl Grabber for Images {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn grab(&mut self) -> Result<Option<Grabbed>, GrabError> {
        Ok(self.files.next().map(|path| Grabbed {
            at_ms: clock::now_ms(),
            name: path.display().to_string(),
            image: crate::decode::load_luma(&path).map_err(Error::from),
        }))
    }

    fn live(&self) -> bool {
        false
    }

    fn stills(&self) -> bool {
        true
    }
}

/// `replay:DIR[@FPS][,paced]`: a folder of frames in name order, played as if from a camera.
///
/// Frame times are virtual (`start + i / fps`), so a replay groups and registers labels the
/// same way however fast the machine decodes. Unpaced (the default), frames go as fast as they
/// are decoded and used, which is what tests and batch runs want; paced, frame `i` is not
/// loaded before `i / fps` seconds have passed, as a camera would deliver it. Either way no frame
/// is ever dropped.
pub struct Replay {
    name: String,
    files: Vec<PathBuf>,
    next: usize,
    fps: f64,
    paced: bool,
    start_ms: i64,
    start: Instant,
}

impl Replay {
    pub fn new(dir: &Path, fps: f64, paced: bool) -> Result<Replay, Error> {
        if !(fps.is_finite() && fps > 0.0) {
            return Err(Error::FrameRate { fps });
        }
        if !dir.is_dir() {
            return Err(Error::NoFolder {
                path: dir.to_owned(),
            });
        }
        let files = expand(&[dir.to_owned()])?;
        if files.is_empty() {
            return Err(Error::NoImages {
                path: dir.to_owned(),
            });
        }
        Ok(Replay {
            name: format!("replay:{}", dir.display()),
            files,
            next: 0,
            fps,
            paced,
            start_ms: clock::now_ms(),
            start: Instant::now(),
        })
    }

    /// The virtual time of frame `index` after the start: `index / fps`, saturating rather than
    /// failing on a folder too long for its frame rate.
    fn offset(&self, index: usize) -> Duration {
        Duration::try_from_secs_f64(index as f64 / self.fps).unwrap_or(Duration::MAX)
    }
}

impl Grabber for Replay {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn grab(&mut self) -> Result<Option<Grabbed>, GrabError> {
        let Some(path) = self.files.get(self.next).cloned() else {
            return Ok(None);
        };
        let offset = self.offset(self.next);
        if self.paced
            && let Some(wait) = offset.checked_sub(self.start.elapsed())
        {
            std::thread::sleep(wait);
        }
        self.next += 1;
        let offset_ms = i64::try_from(offset.as_millis()).unwrap_or(i64::MAX);
        Ok(Some(Grabbed {
            at_ms: self.start_ms.saturating_add(offset_ms),
            name: path.display().to_string(),
            image: crate::decode::load_luma(&path).map_err(Error::from),
        }))
    }

    fn live(&self) -> bool {
        false
    }
}

/// A grabber plus a decoder: the `Source` the daemon runs for frames.
pub struct FrameSource {
    grabber: Box<dyn Grabber>,
    decoder: Decoder,
    stream: StreamConfig,
}

impl FrameSource {
    pub fn new(grabber: Box<dyn Grabber>, decoder: Decoder) -> FrameSource {
        FrameSource {
            grabber,
            decoder,
            stream: StreamConfig::default(),
        }
    }

    /// How the frames of a moving picture use the ones before them (stills never do).
    pub fn with_stream(mut self, stream: StreamConfig) -> FrameSource {
        self.stream = stream;
        self
    }
}

/// What one frame source remembers between frames: where the last frames read symbols.
struct StreamState {
    config: StreamConfig,
    focus: Focus,
}

impl StreamState {
    fn new(config: StreamConfig, still: bool) -> StreamState {
        StreamState {
            // Stills are unrelated scenes: nothing carries from one to the next.
            config: StreamConfig {
                focus: config.focus && !still,
                ..config
            },
            focus: Focus::default(),
        }
    }

    fn plan(&self, at_ms: i64, image: &GrayImage) -> FramePlan {
        let soft_ms = self.config.frame_ms.map(|ms| ms as f64);
        if self.config.focus {
            self.focus
                .plan(at_ms, image.width(), image.height(), soft_ms)
        } else {
            FramePlan {
                soft_ms,
                ..FramePlan::default()
            }
        }
    }

    fn observe(&mut self, at_ms: i64, decoded: &crate::decode::Decoded) {
        if self.config.focus {
            self.focus.observe_decoded(at_ms, decoded);
        }
    }
}

/// The newest frame not yet decoded; a newer one replaces it (and is counted as a drop).
struct Mailbox {
    slot: Mutex<(Option<Grabbed>, bool, u64)>,
    ready: Condvar,
}

impl Source for FrameSource {
    fn name(&self) -> String {
        self.grabber.name()
    }

    fn run(self: Box<Self>, events: SyncSender<SourceEvent>) {
        let name = self.grabber.name();
        let mut worker = DecodeWorker::new(self.decoder.clone());
        let mut stream = StreamState::new(self.stream, self.grabber.stills());
        if !self.grabber.live() {
            let mut grabber = self.grabber;
            let still = grabber.stills();
            // Files load faster than the station may use them, and each frame holds its whole
            // image until the event loop (or an abandoned decode) lets go of it; so the next file
            // is loaded only when few enough earlier images are still alive.
            let mut in_flight: std::collections::VecDeque<std::sync::Weak<GrayImage>> =
                std::collections::VecDeque::new();
            loop {
                while in_flight.len() >= MAX_FILE_FRAMES_IN_FLIGHT {
                    if in_flight.front().is_some_and(|w| w.strong_count() > 0) {
                        std::thread::sleep(Duration::from_millis(2));
                    } else {
                        in_flight.pop_front();
                    }
                }
                match grabber.grab() {
                    Ok(Some(frame)) => {
                        let mut result = decode_one(&name, frame, &mut worker, &mut stream, 0);
                        result.still = still;
                        if let Some(image) = &result.image {
                            in_flight.push_back(Arc::downgrade(image));
                        }
                        if events.send(SourceEvent::Frame(result)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(err) => {
                        tracing::error!(source = %name, error = %chain(&err), "frame source failed");
                        break;
                    }
                }
            }
            let _ = events.send(SourceEvent::End { source: name });
            return;
        }
        // Live: capture on its own thread into a one-frame mailbox; decode here.
        let mailbox = Arc::new(Mailbox {
            slot: Mutex::new((None, false, 0)),
            ready: Condvar::new(),
        });
        let capture_box = Arc::clone(&mailbox);
        let capture_events = events.clone();
        let capture_name = name.clone();
        let mut grabber = self.grabber;
        std::thread::spawn(move || {
            // The grabber reconnects by itself and says once per outage that the device is
            // lost; this thread passes that on as Down, and the next frame as Up.
            let mut down = false;
            loop {
                match grabber.grab() {
                    Ok(Some(frame)) => {
                        if down {
                            down = false;
                            let _ = capture_events.send(SourceEvent::Up {
                                source: capture_name.clone(),
                            });
                        }
                        let Ok(mut slot) = capture_box.slot.lock() else {
                            return;
                        };
                        if slot.0.replace(frame).is_some() {
                            slot.2 += 1;
                        }
                        capture_box.ready.notify_one();
                    }
                    Ok(None) => break,
                    Err(GrabError::Lost(error)) => {
                        down = true;
                        let down = SourceEvent::Down {
                            source: capture_name.clone(),
                            error: chain(&error),
                        };
                        if capture_events.send(down).is_err() {
                            break;
                        }
                    }
                    Err(GrabError::Fatal(error)) => {
                        tracing::error!(source = %capture_name, error = %chain(&error), "camera failed");
                        break;
                    }
                }
            }
            if let Ok(mut slot) = capture_box.slot.lock() {
                slot.1 = true;
                capture_box.ready.notify_one();
            }
        });
        let mut last_report = Instant::now();
        // The mailbox counts drops since the start; each frame carries those since the last.
        let mut reported_dropped = 0;
        loop {
            let (frame, dropped) = {
                let Ok(mut slot) = mailbox.slot.lock() else {
                    break;
                };
                while slot.0.is_none() && !slot.1 {
                    slot = match mailbox.ready.wait(slot) {
                        Ok(s) => s,
                        Err(_) => return,
                    };
                }
                (slot.0.take(), slot.2)
            };
            let Some(frame) = frame else { break };
            if last_report.elapsed() > Duration::from_secs(10) {
                last_report = Instant::now();
                tracing::info!(source = %name, dropped, overruns = worker.overruns(), "camera frames dropped while decoding (latest frame wins)");
            }
            if events
                .send(SourceEvent::Frame(decode_one(
                    &name,
                    frame,
                    &mut worker,
                    &mut stream,
                    dropped.saturating_sub(reported_dropped),
                )))
                .is_err()
            {
                return;
            }
            reported_dropped = dropped;
        }
        let _ = events.send(SourceEvent::End { source: name });
    }
}

fn decode_one(
    source: &str,
    frame: Grabbed,
    worker: &mut DecodeWorker,
    stream: &mut StreamState,
    dropped: u64,
) -> FrameResult {
    let started = Instant::now();
    let (symbols, image, error) = match frame.image {
        Ok(image) => {
            let image = Arc::new(image);
            let plan = stream.plan(frame.at_ms, &image);
            match worker.decode_plan(Arc::clone(&image), plan) {
                Ok(decoded) => {
                    stream.observe(frame.at_ms, &decoded);
                    (decoded.symbols, Some(image), None)
                }
                Err(err) => (Vec::new(), Some(image), Some(err.to_string())),
            }
        }
        Err(err) => (Vec::new(), None, Some(chain(&err))),
    };
    let labels = match &image {
        Some(image) if !symbols.is_empty() => group_labels(image, &symbols),
        _ => Vec::new(),
    };
    let decode_ms = image
        .is_some()
        .then(|| started.elapsed().as_secs_f32() * 1000.0);
    FrameResult {
        source: source.to_owned(),
        at_ms: frame.at_ms,
        name: frame.name,
        symbols,
        labels,
        image,
        still: false,
        error,
        decode_ms,
        dropped,
    }
}

/// Groups a frame's symbols by the label sheet they sit on (done here, on the source's thread,
/// because it reads the frame's pixels; the event loop only sees the groups).
fn group_labels(
    _image: &image::GrayImage,
    _symbols: &[crate::decode::Symbol],
) -> Vec<super::FrameLabel> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder of `n` small grey PNGs named in play order.
    fn folder(n: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for i in 0..n {
            GrayImage::from_pixel(8, 8, image::Luma([200]))
                .save(dir.path().join(format!("frame{i:03}.png")))
                .expect("write a frame");
        }
        dir
    }

    /// Every frame of `replay`: virtual time after the first, name, and whether it loaded.
    fn play(mut replay: Replay) -> Vec<(i64, String, bool)> {
        let mut out = Vec::new();
        let mut first = None;
        while let Ok(Some(frame)) = replay.grab() {
            let start = *first.get_or_insert(frame.at_ms);
            let name = Path::new(&frame.name)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((frame.at_ms - start, name, frame.image.is_ok()));
        }
        out
    }

    #[test]
    fn an_unpaced_replay_has_the_paced_frame_times_without_waiting_for_them() {
        let dir = folder(3);
        // At half a frame per second, pacing would take four seconds for three frames.
        let started = Instant::now();
        let unpaced = play(Replay::new(dir.path(), 0.5, false).expect("replay"));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "unpaced replays do not sleep: {:?}",
            started.elapsed()
        );
        let expected = [
            (0, "frame000.png".to_owned(), true),
            (2000, "frame001.png".to_owned(), true),
            (4000, "frame002.png".to_owned(), true),
        ];
        assert_eq!(unpaced, expected);

        // Paced, the same frames and times, and frame i is not grabbed before i / fps.
        let started = Instant::now();
        let paced = play(Replay::new(dir.path(), 20.0, true).expect("replay"));
        assert!(started.elapsed() >= Duration::from_millis(100));
        let times: Vec<i64> = paced.iter().map(|f| f.0).collect();
        assert_eq!(times, [0, 50, 100]);
    }

    #[test]
    fn replay_and_images_errors_name_the_path() {
        let empty = tempfile::tempdir().expect("tempdir");
        let missing = empty.path().join("missing");
        let cases = [
            (
                Replay::new(&missing, 30.0, false).err(),
                format!("replay folder {} does not exist", missing.display()),
            ),
            (
                Replay::new(empty.path(), 30.0, false).err(),
                format!("replay folder {} holds no images", empty.path().display()),
            ),
            (
                Replay::new(empty.path(), f64::NAN, false).err(),
                "replay frame rate NaN is not a positive number of frames per second".to_owned(),
            ),
            (
                Images::new(std::slice::from_ref(&missing)).err(),
                format!("no such file or folder: {}", missing.display()),
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.map(|e| chain(&e)), Some(want));
        }
    }

    #[test]
    fn a_corrupt_frame_is_an_error_of_that_frame_naming_the_file() {
        let dir = folder(2);
        std::fs::write(dir.path().join("frame001.png"), b"not a png").expect("corrupt a frame");
        let mut replay = Replay::new(dir.path(), 30.0, false).expect("replay");
        let first = replay.grab().expect("grab").expect("a frame");
        assert!(first.image.is_ok());
        let second = replay.grab().expect("grab").expect("a frame");
        let err = second.image.err().map(|e| chain(&e)).unwrap_or_default();
        assert!(err.starts_with("cannot load "), "{err}");
        assert!(err.contains("frame001.png"), "{err}");
        assert!(replay.grab().expect("grab").is_none());
    }
}
