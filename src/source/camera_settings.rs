//! What the camera is asked for. It lives outside the feature-gated `camera` module because the
//! config reads and checks these settings in every build.

/// The format the camera is asked for (the closest one it offers is used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraSettings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// `mjpeg`, `yuyv` or `gray`.
    pub pixel_format: String,
}

impl Default for CameraSettings {
    fn default() -> Self {
        CameraSettings {
            width: 1920,
            height: 1080,
            fps: 30,
            pixel_format: "mjpeg".to_owned(),
        }
    }
}
