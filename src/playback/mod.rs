//! Motion on the screen: animated GIFs, WebPs and PNGs, decoded in the frame, and video clips,
//! decoded by a GStreamer child process whose raw frames come back through shared memory
//! (or a pipe).
//!
//! The child is what keeps a hostile clip from hurting the frame (it can only kill the child)
//! and what keeps the frame's own build free of GStreamer's development packages: the frame
//! runs `gst-launch-1.0` and `gst-discoverer-1.0` if the system has them, and says what to
//! install if it has not. `decodebin` picks the system's hardware decoders by their rank.
//!
//! - [`animation`]: an animated image's frames and timings; what ingest learns of one.
//! - [`video`]: what ingest learns of a clip (`gst-discoverer-1.0`), and its frames
//!   (`gst-launch-1.0`), as the child sends them (I420, see [`crate::render::i420`]).
//! - [`shm`]: how they come when GStreamer has `shmsink`: in memory both processes map.
//! - [`player`]: plays a stored animation or clip on the screen until it is stopped, each
//!   frame on its [`Backdrop`](crate::render::Backdrop) (the still's matte and caption).

pub mod animation;
pub mod player;
pub mod shm;
pub mod video;

use std::time::Duration;

use crate::render::ErrorKind;

pub use player::{Player, Playing};

/// What a moving picture may cost, checked at ingest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionLimits {
    /// One play's length.
    pub max_duration: Duration,
    /// Pixels in one frame of a clip.
    pub max_pixels: u64,
}

impl Default for MotionLimits {
    fn default() -> Self {
        MotionLimits { max_duration: Duration::from_secs(180), max_pixels: 8_300_000 }
    }
}

/// The most frames an animation may have: 50 a second for the longest clip allowed.
pub const MAX_FRAMES: usize = 9_000;

/// What ingest learned of a moving picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MotionInfo {
    /// The picture's upright size.
    pub width: u32,
    pub height: u32,
    /// One play.
    pub duration: Duration,
}

/// Why a clip or an animation was refused. Each message says, in plain words, what was wrong
/// and what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MotionError {
    #[error(
        "this frame cannot play videos yet: its owner needs to install GStreamer \
         (sudo apt install gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-libav); \
         until then, send a photo"
    )]
    NoGStreamer,
    #[error(
        "this frame cannot decode {codec} videos: its owner needs to install {package} \
         (sudo apt install {package}); until then, send the clip as an H.264 MP4 or a photo"
    )]
    MissingDecoder { codec: String, package: &'static str },
    #[error(
        "this clip is {}, over the {} limit ([video] max_duration): send a shorter clip",
        words(*.length),
        words(*.limit)
    )]
    TooLong { length: Duration, limit: Duration },
    #[error(
        "this clip is {width}×{height}, over the {limit_mp:.1} MP limit ([video] \
         max_megapixels): send it at 4K or less (phones have a setting for it)"
    )]
    TooManyPixels { width: u32, height: u32, limit_mp: f64 },
    #[error("this video has no picture (only sound): send a clip with a picture, or a photo")]
    NoPicture,
    #[error(
        "this video is in {container} form, which the frame does not play: send it as an MP4 \
         (as phones record), MOV, WebM or MKV clip"
    )]
    Container { container: String },
    #[error("this animation has over {MAX_FRAMES} frames: send a shorter one")]
    TooManyFrames,
    #[error(
        "the video is damaged or incomplete and could not be played ({detail}): send it again"
    )]
    Damaged { detail: String },
}

impl MotionError {
    /// What kind of problem it is, as for a photo.
    pub fn kind(&self) -> ErrorKind {
        match self {
            MotionError::NoGStreamer
            | MotionError::MissingDecoder { .. }
            | MotionError::NoPicture
            | MotionError::Container { .. } => ErrorKind::Unsupported,
            MotionError::TooLong { .. }
            | MotionError::TooManyPixels { .. }
            | MotionError::TooManyFrames => ErrorKind::TooLarge,
            MotionError::Damaged { .. } => ErrorKind::Damaged,
        }
    }

    /// The frame is missing something its owner can install (not the sender's doing).
    pub fn is_setup(&self) -> bool {
        matches!(self, MotionError::NoGStreamer | MotionError::MissingDecoder { .. })
    }
}

/// A length as a person says it: "45 s", "3 min", "1 h 5 min".
pub fn words(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 if s.is_multiple_of(60) => format!("{} min", s / 60),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ if s % 3600 / 60 == 0 => format!("{} h", s / 3600),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_read_as_people_say_them() {
        assert_eq!(words(Duration::from_millis(45_400)), "45 s");
        assert_eq!(words(Duration::from_secs(180)), "3 min");
        assert_eq!(words(Duration::from_secs(190)), "3 min 10 s");
        assert_eq!(words(Duration::from_secs(3600)), "1 h");
        assert_eq!(words(Duration::from_secs(3900)), "1 h 5 min");
        let e = MotionError::TooLong {
            length: Duration::from_secs(3600),
            limit: Duration::from_secs(180),
        };
        assert_eq!(
            e.to_string(),
            "this clip is 1 h, over the 3 min limit ([video] max_duration): send a shorter clip"
        );
    }
}
