//! Why a source could not start, or lost its device.
//!
//! Every variant names the path or device it is about and keeps the underlying error as its
//! `source`, without repeating that error's text in its own message: whoever prints the error
//! prints the cause chain once (`cli::main` does, and [`chain`] does for the texts that travel in
//! [`SourceEvent::Down`](super::SourceEvent::Down) and frame errors).

use std::path::PathBuf;

/// What went wrong with a source, and where.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A serial path that can never be a scanner (checked at start).
    #[cfg(feature = "serial")]
    #[error(transparent)]
    Path(#[from] super::serial::PathError),
    /// A device (serial port, input device) could not be opened.
    #[error("cannot open {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The keyboard-wedge device could not be opened when the station started.
    #[error(
        "cannot open input device {} (is it plugged in, and may this user read it? see hardware/udev)",
        path.display()
    )]
    OpenInput {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading from an open device failed.
    #[error("read from {} failed", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The device reported the end of its data: it was closed under us.
    #[error("end of file on {}: device closed", path.display())]
    Closed { path: PathBuf },
    /// The device's path disappeared while it was open (udev removed the node or the link).
    #[error("device path {} vanished", path.display())]
    Vanished {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Waiting for an input device to have events failed.
    #[error("cannot wait for keys on {}", path.display())]
    Wait {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A folder of images could not be listed.
    #[error("cannot list {}", path.display())]
    List {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An `images:` path that is neither a file nor a folder.
    #[error("no such file or folder: {}", path.display())]
    NotFound { path: PathBuf },
    /// A replay frame rate that is not a positive number.
    #[error("replay frame rate {fps} is not a positive number of frames per second")]
    FrameRate { fps: f64 },
    /// A `replay:` folder that is not there.
    #[error("replay folder {} does not exist", path.display())]
    NoFolder { path: PathBuf },
    /// A `replay:` folder without a single image in it.
    #[error("replay folder {} holds no images", path.display())]
    NoImages { path: PathBuf },
    /// An image file that could not be turned into a frame (the error names the file).
    #[error(transparent)]
    Load(#[from] crate::decode::LoadError),
    /// The camera could not be opened at start; `cameras` lists what the system has. (nokhwa's
    /// errors are boxed: they are large, and every result of a source would carry their size.)
    #[cfg(feature = "camera")]
    #[error("cannot open camera {device}; {cameras}")]
    CameraOpen {
        device: String,
        cameras: String,
        #[source]
        source: Box<nokhwa::NokhwaError>,
    },
    /// The camera could not be (re)connected.
    #[cfg(feature = "camera")]
    #[error("camera {device} unavailable")]
    CameraUnavailable {
        device: String,
        #[source]
        source: Box<nokhwa::NokhwaError>,
    },
    /// Grabbing or converting a frame from the camera failed.
    #[cfg(feature = "camera")]
    #[error("camera {device}: frame failed")]
    CameraFrame {
        device: String,
        #[source]
        source: Box<nokhwa::NokhwaError>,
    },
    /// The camera delivered a frame whose buffer does not match its size.
    #[cfg(feature = "camera")]
    #[error("camera {device}: frame has the wrong size ({width}x{height})")]
    CameraFrameSize {
        device: String,
        width: u32,
        height: u32,
    },
    /// The thread that owns the camera could not be started.
    #[cfg(feature = "camera")]
    #[error("camera {device}: cannot start the camera thread")]
    CameraThread {
        device: String,
        #[source]
        source: std::io::Error,
    },
    /// The thread that owns the camera stopped without a word.
    #[cfg(feature = "camera")]
    #[error("camera {device}: the camera thread stopped; {cameras}")]
    CameraThreadStopped { device: String, cameras: String },
}

/// An error and its causes on one line, `outer: cause: cause`, for the texts that leave a source
/// as plain strings (`SourceEvent::Down`, `FrameResult::error`) and for per-file lines.
///
/// A cause whose text is already on the line is skipped, as `cli::main` does: some errors of
/// other crates (`image`'s) show their source in their own message as well.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    crate::error::Chain(error).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_path_and_leave_the_cause_to_the_chain() {
        let err = Error::Open {
            path: "/dev/scanner".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(err.to_string(), "cannot open /dev/scanner");
        assert_eq!(chain(&err), "cannot open /dev/scanner: entity not found");
        let err = Error::NoImages {
            path: "frames".into(),
        };
        assert_eq!(chain(&err), "replay folder frames holds no images");
        // A cause already shown by the message above it is not repeated.
        let repeats = Error::Read {
            path: "/dev/scanner".into(),
            source: std::io::Error::other("read from /dev/scanner failed"),
        };
        assert_eq!(chain(&repeats), "read from /dev/scanner failed");
    }
}
