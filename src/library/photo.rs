//! What a stored photo is: where it came from, what the library is told with its bytes, what
//! its index row holds, and whether it moves (a photo, an animation or a video).

use serde::Serialize;

use crate::render::Fit;

/// Where a photo came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Http,
    Discord,
    /// Found in `photos/` without an index entry and indexed again from its bytes: who sent
    /// it, and its caption, are not known any more.
    Recovered,
}

impl Source {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Source::Http => "http",
            Source::Discord => "discord",
            Source::Recovered => "recovered",
        }
    }

    pub(super) fn parse(s: &str) -> Source {
        match s {
            "discord" => Source::Discord,
            "recovered" => Source::Recovered,
            _ => Source::Http,
        }
    }
}

/// What the library is told about a photo besides its bytes.
#[derive(Debug, Clone, Default)]
pub struct NewPhoto {
    pub source: Option<Source>,
    /// Who sent it: a Discord username, or whatever an HTTP client calls itself.
    pub sender: Option<String>,
    /// The sender's Discord user id: who owns the photo (a username can change).
    pub sender_id: Option<u64>,
    /// The text sent with it; drawn on the slide when `[display] captions` is on.
    pub caption: Option<String>,
    /// Discord's ids, so that deleting the message deletes the photo.
    pub channel_id: Option<u64>,
    pub message_id: Option<u64>,
    /// The format's name, as sniffed ("JPEG"), for the `Content-Type` it is served with.
    pub format: String,
    /// The size as shown (after EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// A per-photo `contain`/`cover` that overrides `[display] fit`.
    pub fit: Option<Fit>,
    /// Sent as a spoiler (`[discord] spoilers = "blur"`): shown veiled.
    pub spoiler: bool,
    /// A photo, an animation or a video.
    pub kind: Kind,
    /// How long one play of an animation or a video lasts.
    pub duration_ms: Option<u64>,
}

/// One stored photo, as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Photo {
    pub id: i64,
    pub sha256: String,
    pub source: Source,
    pub sender: Option<String>,
    /// The sender's Discord user id (`None` for HTTP uploads and for photos stored before
    /// the frame kept ids). Not part of the API: it decides who may delete a photo.
    #[serde(skip)]
    pub sender_id: Option<u64>,
    pub caption: Option<String>,
    pub channel_id: Option<u64>,
    pub message_id: Option<u64>,
    /// Milliseconds since the Unix epoch.
    pub received_at: i64,
    pub width: u32,
    pub height: u32,
    /// The original's size on disk.
    pub bytes: u64,
    pub format: String,
    pub fit: Option<Fit>,
    /// Marked as a favourite: kept by retention.
    pub favourite: bool,
    /// Sent as a spoiler: shown veiled, never in full.
    pub spoiler: bool,
    /// A photo, an animation or a video.
    pub kind: Kind,
    /// How long one play of an animation or a video lasts, in milliseconds.
    pub duration_ms: Option<u64>,
}

/// What a stored original is: a still photo, an animated image (GIF, WebP, APNG) or a video
/// clip. Written as its word everywhere (API, index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Photo,
    Animation,
    Video,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Photo => "photo",
            Kind::Animation => "animation",
            Kind::Video => "video",
        }
    }

    /// Whether it moves on screen.
    pub fn moves(self) -> bool {
        self != Kind::Photo
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Kind, String> {
        match s {
            "photo" => Ok(Kind::Photo),
            "animation" => Ok(Kind::Animation),
            "video" => Ok(Kind::Video),
            other => Err(format!("`{other}` is not a kind: photo, animation or video")),
        }
    }
}

/// What `add` did.
#[derive(Debug, Clone)]
pub struct Added {
    pub photo: Photo,
    /// The bytes were already in the library; the entry was moved to the front.
    pub duplicate: bool,
    /// Photos removed to stay within the retention limits.
    pub removed: Vec<i64>,
}
