//! `camera:INDEX|PATH`: a USB camera through nokhwa (feature `camera`).
//!
//! The thread that owns the device reopens a camera that vanished, with backoff
//! ([`super::Reconnect`], 200 ms to 5 s), and turns every frame to grey at once: the decoder
//! wants Luma8, and copying colour frames around would cost more than the conversion.

use std::time::Duration;

use image::GrayImage;
use nokhwa::Camera as Device;
use nokhwa::pixel_format::LumaFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    Resolution,
};

pub use super::camera_settings::CameraSettings;
use super::frames::{GrabError, Grabbed, Grabber};
use super::reconnect::{Change, Reconnect};
use super::{Error, chain};
use crate::clock;

/// The grabber side: frames arrive from the thread that owns the device, because nokhwa's
/// camera handle cannot move between threads.
pub struct Camera {
    name: String,
    device: String,
    frames: std::sync::mpsc::Receiver<Result<Grabbed, GrabError>>,
}

/// The cameras the system reports, for error messages.
pub fn list() -> String {
    match nokhwa::query(ApiBackend::Auto) {
        Ok(found) if found.is_empty() => "no cameras were found".to_owned(),
        Ok(found) => format!(
            "cameras found: {}",
            found
                .iter()
                .map(|c| format!("{} ({})", c.index(), c.human_name()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(err) => format!("cameras could not be listed: {}", chain(&err)),
    }
}

fn frame_format(settings: &CameraSettings) -> FrameFormat {
    match settings.pixel_format.as_str() {
        "yuyv" => FrameFormat::YUYV,
        "gray" => FrameFormat::GRAY,
        _ => FrameFormat::MJPEG,
    }
}

/// Opens the device and streams from it; lives on the device thread.
struct DeviceLoop {
    name: String,
    /// The device as the spec names it (`0`, `/dev/video2`), for errors.
    device: String,
    index: CameraIndex,
    settings: CameraSettings,
    frame_no: u64,
}

impl DeviceLoop {
    fn connect(&self) -> Result<Device, nokhwa::NokhwaError> {
        let wanted = CameraFormat::new(
            Resolution::new(self.settings.width, self.settings.height),
            frame_format(&self.settings),
            self.settings.fps,
        );
        let format = RequestedFormat::new::<LumaFormat>(RequestedFormatType::Closest(wanted));
        let mut device = Device::new(self.index.clone(), format)?;
        device.open_stream()?;
        tracing::info!(camera = %self.name, format = %device.camera_format(), "camera streaming");
        Ok(device)
    }

    fn grab(&mut self, device: &mut Device) -> Result<Grabbed, Error> {
        let buffer = device.frame().map_err(|source| Error::CameraFrame {
            device: self.device.clone(),
            source: Box::new(source),
        })?;
        let at_ms = clock::now_ms();
        self.frame_no += 1;
        let image = buffer
            .decode_image::<LumaFormat>()
            .map_err(|source| Error::CameraFrame {
                device: self.device.clone(),
                source: Box::new(source),
            })
            .and_then(|img| {
                let (width, height) = img.dimensions();
                GrayImage::from_raw(width, height, img.into_raw()).ok_or_else(|| {
                    Error::CameraFrameSize {
                        device: self.device.clone(),
                        width,
                        height,
                    }
                })
            });
        Ok(Grabbed {
            at_ms,
            name: format!("frame {}", self.frame_no),
            image,
        })
    }

    /// Streams until the grabber is dropped, reopening a vanished camera with backoff.
    fn run(
        mut self,
        first: Device,
        frames: std::sync::mpsc::SyncSender<Result<Grabbed, GrabError>>,
    ) {
        // A lost camera reaches the frame source as one `Lost` per outage, which it reports as
        // Down; it reports Up itself when the next frame arrives, so Up needs no message here.
        let mut reconnect = Reconnect::new(
            Duration::from_millis(200),
            Duration::from_secs(5),
            |change| match change {
                Change::Down(error) => frames.send(Err(GrabError::Lost(error))).is_ok(),
                Change::Up => true,
            },
        );
        let mut device = first;
        loop {
            match self.grab(&mut device) {
                Ok(frame) => {
                    if frames.send(Ok(frame)).is_err() {
                        return;
                    }
                }
                Err(error) => {
                    if reconnect.lost(error).is_err() {
                        return;
                    }
                    let reopened = reconnect.open(|| {
                        self.connect().map_err(|source| Error::CameraUnavailable {
                            device: self.device.clone(),
                            source: Box::new(source),
                        })
                    });
                    let Ok(reopened) = reopened else {
                        return;
                    };
                    device = reopened;
                }
            }
        }
    }
}

impl Camera {
    /// Opens the camera now, so a missing camera is an error at start naming what exists.
    pub fn open(device: &str, settings: &CameraSettings) -> Result<Camera, Error> {
        let index = match device.parse::<u32>() {
            Ok(i) => CameraIndex::Index(i),
            Err(_) => CameraIndex::String(device.to_owned()),
        };
        let name = format!("camera:{device}");
        let device_loop = DeviceLoop {
            name: name.clone(),
            device: device.to_owned(),
            index,
            settings: settings.clone(),
            frame_no: 0,
        };
        let (opened_tx, opened_rx) = std::sync::mpsc::channel();
        let (frames_tx, frames_rx) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || match device_loop.connect() {
                Ok(first) => {
                    let _ = opened_tx.send(Ok(()));
                    device_loop.run(first, frames_tx);
                }
                Err(e) => {
                    let _ = opened_tx.send(Err(e));
                }
            })
            .map_err(|source| Error::CameraThread {
                device: device.to_owned(),
                source,
            })?;
        match opened_rx.recv() {
            Ok(Ok(())) => Ok(Camera {
                name,
                device: device.to_owned(),
                frames: frames_rx,
            }),
            Ok(Err(source)) => Err(Error::CameraOpen {
                device: device.to_owned(),
                cameras: list(),
                source: Box::new(source),
            }),
            Err(_) => Err(Error::CameraThreadStopped {
                device: device.to_owned(),
                cameras: list(),
            }),
        }
    }
}

impl Grabber for Camera {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn grab(&mut self) -> Result<Option<Grabbed>, GrabError> {
        match self.frames.recv() {
            Ok(Ok(frame)) => Ok(Some(frame)),
            Ok(Err(err)) => Err(err),
            Err(_) => Err(GrabError::Fatal(Error::CameraThreadStopped {
                device: self.device.clone(),
                cameras: list(),
            })),
        }
    }

    fn live(&self) -> bool {
        true
    }
}
