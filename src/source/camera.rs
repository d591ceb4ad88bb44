//! `camera:INDEX|PATH`: a USB camera through nokhwa (feature `camera`).
//!
//! The grabber reopens a camera that vanished, with backoff in the capture thread, and turns
//! every frame to grey at once: the decoder wants Luma8, and copying colour frames around
//! would cost more than the conversion.

use image::GrayImage;
use nokhwa::Camera as Device;
use nokhwa::pixel_format::LumaFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    Resolution,
};

use super::frames::{GrabError, Grabbed, Grabber};
use crate::clock;
use crate::config::CameraSettings;

/// The grabber side: frames arrive from the thread that owns the device, because nokhwa's
/// camera handle cannot move between threads.
pub struct Camera {
    name: String,
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
        Err(err) => format!("cameras could not be listed: {err}"),
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
    index: CameraIndex,
    settings: CameraSettings,
    frame_no: u64,
}

impl DeviceLoop {
    fn connect(&self) -> Result<Device, String> {
        let wanted = CameraFormat::new(
            Resolution::new(self.settings.width, self.settings.height),
            frame_format(&self.settings),
            self.settings.fps,
        );
        let format = RequestedFormat::new::<LumaFormat>(RequestedFormatType::Closest(wanted));
        let mut device = Device::new(self.index.clone(), format).map_err(|e| e.to_string())?;
        device.open_stream().map_err(|e| e.to_string())?;
        tracing::info!(camera = %self.name, format = %device.camera_format(), "camera streaming");
        Ok(device)
    }

    fn grab(&mut self, device: &mut Device) -> Result<Grabbed, String> {
        let buffer = device
            .frame()
            .map_err(|err| format!("camera frame failed: {err}"))?;
        let at_ms = clock::now_ms();
        self.frame_no += 1;
        let image = buffer
            .decode_image::<LumaFormat>()
            .map_err(|e| e.to_string())
            .and_then(|img| {
                let (w, h) = img.dimensions();
                GrayImage::from_raw(w, h, img.into_raw())
                    .ok_or_else(|| "camera frame has the wrong size".to_owned())
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
        let mut device = Some(first);
        let mut backoff = std::time::Duration::from_millis(200);
        loop {
            let result = match device.as_mut() {
                Some(d) => self.grab(d).map_err(|e| {
                    device = None;
                    GrabError::Lost(e)
                }),
                None => match self.connect() {
                    Ok(d) => {
                        device = Some(d);
                        backoff = std::time::Duration::from_millis(200);
                        continue;
                    }
                    Err(e) => {
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
                        Err(GrabError::Lost(format!("camera unavailable: {e}")))
                    }
                },
            };
            if frames.send(result).is_err() {
                return;
            }
        }
    }
}

impl Camera {
    /// Opens the camera now, so a missing camera is an error at start naming what exists.
    pub fn open(device: &str, settings: &CameraSettings) -> Result<Camera, String> {
        let index = match device.parse::<u32>() {
            Ok(i) => CameraIndex::Index(i),
            Err(_) => CameraIndex::String(device.to_owned()),
        };
        let name = format!("camera:{device}");
        let device_loop = DeviceLoop {
            name: name.clone(),
            index,
            settings: settings.clone(),
            frame_no: 0,
        };
        let (opened_tx, opened_rx) = std::sync::mpsc::channel();
        let (frames_tx, frames_rx) = std::sync::mpsc::sync_channel(1);
        let label = device.to_owned();
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
            .map_err(|e| format!("cannot start the camera thread: {e}"))?;
        match opened_rx.recv() {
            Ok(Ok(())) => Ok(Camera {
                name,
                frames: frames_rx,
            }),
            Ok(Err(e)) => Err(format!("cannot open camera {label}: {e}; {}", list())),
            Err(_) => Err(format!(
                "camera {label}: the camera thread stopped; {}",
                list()
            )),
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
            Err(_) => Err(GrabError::Fatal("the camera thread stopped".to_owned())),
        }
    }

    fn live(&self) -> bool {
        true
    }
}
