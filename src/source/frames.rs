//! Frame sources: image files, replayed folders and (with the `camera` feature) cameras.
//!
//! A grabber only produces grey frames; `FrameSource` decodes them on its own thread and sends
//! the symbols to the event loop. For a live camera, capture never waits for decode: a newer
//! frame replaces one not yet decoded, and the dropped frames are counted. Files are never
//! dropped: each image is decoded once.

use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use image::GrayImage;

use super::{FrameResult, Source, SourceEvent};
use crate::clock;
use crate::decode::{DecodeWorker, Decoder};

/// One grabbed frame.
pub struct Grabbed {
    pub at_ms: i64,
    pub name: String,
    pub image: Result<GrayImage, String>,
}

/// Why a grabber stopped or paused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrabError {
    /// The device went away; the grabber will try to reopen it on the next call.
    #[error("{0}")]
    Lost(String),
    /// The source cannot work at all (no such folder, no camera).
    #[error("{0}")]
    Fatal(String),
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
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("cannot list {}: {e}", path.display()))?
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
            return Err(format!("no such file or folder: {}", path.display()));
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
    pub fn new(paths: &[PathBuf]) -> Result<Images, String> {
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
            image: crate::decode::load_luma(&path).map_err(|e| e.to_string()),
        }))
    }

    fn live(&self) -> bool {
        false
    }

    fn stills(&self) -> bool {
        true
    }
}

/// `replay:DIR[@FPS]`: a folder of frames in name order, played as if from a camera.
///
/// Frame times are virtual (`start + i / fps`), so a replay groups and registers labels the
/// same way however fast the machine decodes; playback is paced to the frame rate in real time
/// too, but never drops a frame.
pub struct Replay {
    name: String,
    files: Vec<PathBuf>,
    next: usize,
    fps: f64,
    start_ms: i64,
    start: Instant,
}

impl Replay {
    pub fn new(dir: &Path, fps: f64) -> Result<Replay, String> {
        if !dir.is_dir() {
            return Err(format!("replay folder {} does not exist", dir.display()));
        }
        let files = expand(&[dir.to_owned()])?;
        if files.is_empty() {
            return Err(format!("replay folder {} holds no images", dir.display()));
        }
        Ok(Replay {
            name: format!("replay:{}", dir.display()),
            files,
            next: 0,
            fps,
            start_ms: clock::now_ms(),
            start: Instant::now(),
        })
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
        let offset = Duration::from_secs_f64(self.next as f64 / self.fps);
        if let Some(wait) = offset.checked_sub(self.start.elapsed()) {
            std::thread::sleep(wait);
        }
        self.next += 1;
        Ok(Some(Grabbed {
            at_ms: self.start_ms + offset.as_millis() as i64,
            name: path.display().to_string(),
            image: crate::decode::load_luma(&path).map_err(|e| e.to_string()),
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
}

impl FrameSource {
    pub fn new(grabber: Box<dyn Grabber>, decoder: Decoder) -> FrameSource {
        FrameSource { grabber, decoder }
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
                        let mut result = decode_one(&name, frame, &mut worker);
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
                        tracing::error!(source = %name, error = %err, "frame source failed");
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
                        if !down {
                            down = true;
                            if capture_events
                                .send(SourceEvent::Down {
                                    source: capture_name.clone(),
                                    error,
                                })
                                .is_err()
                            {
                                break;
                            }
                        }
                        std::thread::sleep(Duration::from_millis(500));
                    }
                    Err(GrabError::Fatal(error)) => {
                        tracing::error!(source = %capture_name, error = %error, "camera failed");
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
                .send(SourceEvent::Frame(decode_one(&name, frame, &mut worker)))
                .is_err()
            {
                return;
            }
        }
        let _ = events.send(SourceEvent::End { source: name });
    }
}

fn decode_one(source: &str, frame: Grabbed, worker: &mut DecodeWorker) -> FrameResult {
    let (symbols, image, error) = match frame.image {
        Ok(image) => {
            let image = Arc::new(image);
            match worker.decode(Arc::clone(&image)) {
                Ok(symbols) => (symbols, Some(image), None),
                Err(err) => (Vec::new(), Some(image), Some(err.to_string())),
            }
        }
        Err(err) => (Vec::new(), None, Some(err)),
    };
    let labels = match &image {
        Some(image) if !symbols.is_empty() => group_labels(image, &symbols),
        _ => Vec::new(),
    };
    FrameResult {
        source: source.to_owned(),
        at_ms: frame.at_ms,
        name: frame.name,
        symbols,
        labels,
        image,
        still: false,
        error,
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
