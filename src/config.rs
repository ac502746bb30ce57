//! The frame's configuration: `config.toml`, with every key optional. The annotated
//! `config.toml` at the repository's root is the reference; this module is its schema.
//!
//! Parsing is split from loading (`parse` takes a string, `load` finds and reads the file) so the
//! rules are testable without files. Every error a person editing the file can cause names the
//! key and says what to write instead; the binary turns them into exit status 2.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::render::{self, Fit, Matte};

/// Why a configuration cannot be used. The binary exits with status 2 on any of these.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
}

/// The whole configuration. `Default` is what an empty file means.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub discord: DiscordConfig,
    pub http: HttpConfig,
    pub display: DisplayConfig,
    pub library: LibraryConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
    pub schedule: ScheduleConfig,
    pub video: VideoConfig,
}

/// `[video]`: how clips (and animated GIFs, WebPs and PNGs) play.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct VideoConfig {
    /// Play a clip's sound (off: a frame in a living room should not start talking).
    pub sound: bool,
    /// How many times a clip plays before the slideshow goes on. Unset: clips under 15 s loop
    /// until the slide's interval is over, longer ones play once.
    pub loops: Option<u32>,
    /// Longer clips are refused.
    #[serde(with = "duration")]
    pub max_duration: Duration,
    /// Clips with more pixels a frame than this are refused (the default takes 4K, not 8K).
    pub max_megapixels: f64,
    /// Frames of an animation kept decoded at the screen's size while they fit in this many
    /// MB; a longer one is decoded again each time round.
    pub max_frames_mb: u64,
}

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            sound: false,
            loops: None,
            max_duration: Duration::from_secs(180),
            max_megapixels: 8.3,
            max_frames_mb: 64,
        }
    }
}

impl VideoConfig {
    /// The limits a clip is checked against at ingest.
    pub fn limits(&self) -> crate::playback::MotionLimits {
        crate::playback::MotionLimits {
            max_duration: self.max_duration,
            max_pixels: (self.max_megapixels * 1_000_000.0) as u64,
        }
    }
}

/// `[schedule]`: when the screen is on. Without it, always.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Windows of days and times in the system's time zone: `"mon-fri 06:30-08:30"`,
    /// `"sat,sun 08:00-23:30"`, `"22:00-01:00"` (past midnight). Empty: always on.
    pub on: Vec<crate::schedule::Window>,
    /// A photo arriving while the screen is off lights it this long; `"0s"` (the default)
    /// leaves it off.
    #[serde(with = "duration")]
    pub wake_on_photo: Duration,
    /// A motion sensor's line on the GPIO header, by its name (`"GPIO17"`). None: no sensor.
    pub motion_gpio: Option<String>,
    /// How long the screen stays lit after the sensor last saw motion.
    #[serde(with = "duration")]
    pub motion_on: Duration,
    /// The screen is on only while there is motion (and, with `on`, only in those windows).
    pub motion_only: bool,
    /// The screen is a TV that speaks HDMI-CEC: Standby at off, Image View On at on.
    pub cec: bool,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            on: Vec::new(),
            wake_on_photo: Duration::ZERO,
            motion_gpio: None,
            motion_on: Duration::from_secs(600),
            motion_only: false,
            cec: false,
        }
    }
}

/// `[discord]`: the bot. Read by the Discord source; a frame without a token runs without it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    /// The bot's token. `--token` and `DISCORD_BOT_TOKEN` take precedence.
    pub token: Option<Secret>,
    /// Routes Discord's REST API (and the gateway URL lookup) through this server instead of
    /// discord.com: a proxy, or the fake Discord of the tests.
    pub api_url: Option<String>,
    /// Only these channels are read (ids, or `Server:channel`); empty means all.
    #[serde(deserialize_with = "names_or_ids")]
    pub listen_channels: Vec<String>,
    /// These channels are never read.
    #[serde(deserialize_with = "names_or_ids")]
    pub ignore_channels: Vec<String>,
    /// Only these users are listened to (ids or usernames); empty means everyone.
    #[serde(deserialize_with = "names_or_ids")]
    pub listen_users: Vec<String>,
    /// These users are never listened to.
    #[serde(deserialize_with = "names_or_ids")]
    pub ignore_users: Vec<String>,
    /// Users (ids or usernames) and roles (ids) who may delete anybody's photo and use what
    /// `admin_commands` keeps for admins. Server managers are admins too.
    #[serde(deserialize_with = "names_or_ids")]
    pub admins: Vec<String>,
    /// What only admins may do: `next`, `prev`, `pause`, `resume`, `peek`, `delete` (one's
    /// own photos), `screen` (sleep and wake), `favourite`, `again` (the reactions). Empty:
    /// anyone listened to.
    pub admin_commands: Vec<Guarded>,
    /// Reacting with this marks a photo a favourite (kept by retention); removing the last
    /// one unmarks it. `""` turns it off.
    pub favourite_reaction: String,
    /// Reacting with this shows the photo again now. `""` turns it off.
    pub again_reaction: String,
    /// The prefix of text commands: `!frame next`.
    pub wake_word: String,
    /// Guilds to register the `/frame` slash command in (instantly); empty registers it
    /// globally, which Discord may take up to an hour to show.
    pub guild_ids: Vec<Snowflake>,
    /// How far back the bot looks, when it connects, for photos sent while the frame was off:
    /// from the newest photo it stored from a channel, but no further back than this.
    /// `"0s"` turns catching up off.
    #[serde(with = "duration")]
    pub catch_up: Duration,
    /// Files sent as spoilers: `"skip"` (never on the frame), `"blur"` (on the frame veiled,
    /// captioned "Spoiler") or `"show"`.
    pub spoilers: Spoilers,
    /// `/frame` in a channel this frame does not listen to is answered "this frame does not
    /// listen here" (only to the person asking) unless this is on: for several frames sharing
    /// one bot, where the frame that listens there answers.
    pub quiet_elsewhere: bool,
    pub style: DiscordStyle,
}

/// What `[discord] admin_commands` can keep for admins: the commands that change the screen
/// or the library, and the reactions that do. Help and status are for everyone; deleting
/// anybody's photo is for admins always.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Guarded {
    Next,
    Prev,
    Pause,
    Resume,
    Peek,
    /// Deleting one's own photos.
    Delete,
    /// `sleep` and `wake`.
    Screen,
    /// The favourite reaction.
    Favourite,
    /// The show-again reaction.
    Again,
}

impl Guarded {
    /// The name `admin_commands` writes.
    pub fn name(self) -> &'static str {
        match self {
            Guarded::Next => "next",
            Guarded::Prev => "prev",
            Guarded::Pause => "pause",
            Guarded::Resume => "resume",
            Guarded::Peek => "peek",
            Guarded::Delete => "delete",
            Guarded::Screen => "screen",
            Guarded::Favourite => "favourite",
            Guarded::Again => "again",
        }
    }
}

/// A Discord id (a server's, a channel's, a user's): never 0. Read from a number or from its
/// digits in quotes, as Discord's JSON and "Copy Server ID" give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snowflake(std::num::NonZeroU64);

impl Snowflake {
    pub fn get(self) -> u64 {
        self.0.get()
    }

    fn from_u64<E: serde::de::Error>(n: u64) -> Result<Snowflake, E> {
        std::num::NonZeroU64::new(n)
            .map(Snowflake)
            .ok_or_else(|| E::custom("0 is not a Discord id: copy the id from Discord"))
    }

    fn from_i64<E: serde::de::Error>(n: i64) -> Result<Snowflake, E> {
        match u64::try_from(n) {
            Ok(n) => Snowflake::from_u64(n),
            Err(_) => Err(E::custom(format!("{n} is not a Discord id: ids are positive"))),
        }
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Snowflake, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Snowflake;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Discord id: its digits, as Discord's \"Copy ID\" gives them")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Snowflake, E> {
                Snowflake::from_u64(n)
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Snowflake, E> {
                Snowflake::from_i64(n)
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Snowflake, E> {
                match s.trim().parse::<u64>() {
                    Ok(n) => Snowflake::from_u64(n),
                    Err(_) => Err(E::custom(format!(
                        "`{s}` is not a Discord id (a number): copy the id from Discord"
                    ))),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Serialize for Snowflake {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.get())
    }
}

/// A list of channels, users or roles: names in quotes, or ids with or without them (the
/// digits Discord's "Copy ID" gives are as often pasted bare). An id is kept as its digits,
/// which is how names and ids are matched.
fn names_or_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct NameOrId(String);
    impl<'de> Deserialize<'de> for NameOrId {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<NameOrId, D::Error> {
            d.deserialize_any(NameOrIdVisitor).map(NameOrId)
        }
    }
    struct NameOrIdVisitor;
    impl serde::de::Visitor<'_> for NameOrIdVisitor {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a name in double quotes, or an id")
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<String, E> {
            Snowflake::from_u64(n).map(|id| id.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<String, E> {
            Snowflake::from_i64(n).map(|id| id.to_string())
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<String, E> {
            Ok(s.to_owned())
        }
    }
    let list = Vec::<NameOrId>::deserialize(d)?;
    Ok(list.into_iter().map(|NameOrId(s)| s).collect())
}

/// `[discord] spoilers`: what the frame does with a file marked as a spoiler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Spoilers {
    /// Not stored, not shown: a spoiler was meant to be clicked, not put on the wall.
    #[default]
    Skip,
    /// Stored, and shown veiled: blurred past recognition, captioned "Spoiler".
    Blur,
    /// Shown like any photo.
    Show,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            token: None,
            api_url: None,
            listen_channels: Vec::new(),
            ignore_channels: Vec::new(),
            listen_users: Vec::new(),
            ignore_users: Vec::new(),
            admins: Vec::new(),
            admin_commands: Vec::new(),
            favourite_reaction: "⭐".to_owned(),
            again_reaction: "🔁".to_owned(),
            wake_word: "!frame".to_owned(),
            guild_ids: Vec::new(),
            catch_up: Duration::from_secs(48 * 3600),
            spoilers: Spoilers::Skip,
            quiet_elsewhere: false,
            style: DiscordStyle::default(),
        }
    }
}

/// `[discord.style]`: how the bot tells a sender what happened to their photo.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordStyle {
    pub ack_emoji: String,
    pub in_prog_emoji: String,
    pub done_emoji: String,
    pub error_emoji: String,
    /// Reply with the parameters parsed from the message (`--fit cover`, `--caption "…"`).
    pub reply_with_params: bool,
}

impl Default for DiscordStyle {
    fn default() -> Self {
        DiscordStyle {
            ack_emoji: "👍".to_owned(),
            in_prog_emoji: "⏱️".to_owned(),
            done_emoji: "💯".to_owned(),
            error_emoji: "❌".to_owned(),
            reply_with_params: true,
        }
    }
}

/// `[http]`: the local endpoint.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub host: IpAddr,
    /// 0 picks a free port (the address is printed on stdout at start).
    pub port: u16,
    /// Required (as `Authorization: Bearer …`) when set, from every client but a paired
    /// browser. Without it, only the frame's own programs and paired browsers are let in.
    pub token: Option<Secret>,
    /// The largest request body accepted; bigger uploads get 413.
    pub max_upload_mb: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8080,
            token: None,
            max_upload_mb: 50,
        }
    }
}

/// `[display]`: the screen and the slideshow.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisplayConfig {
    pub backend: Backend,
    /// The headless screen's size (a window takes its monitor's).
    pub size: Size,
    /// How long each photo stays before the next one.
    #[serde(with = "duration")]
    pub interval: Duration,
    pub fit: Fit,
    pub matte: Matte,
    /// The crossfade between slides; "0s" switches at once.
    #[serde(with = "duration")]
    pub transition: Duration,
    /// Draw the photo's caption (the message text) along the bottom of the slide.
    pub captions: bool,
    /// What a caption says, in this order: `sender`, `text`, `date` (the day the photo was
    /// taken, else received).
    pub caption_fields: Vec<crate::slides::CaptionField>,
    /// Two portrait photos share a slide on a landscape screen (two landscape photos on a
    /// portrait screen), side by side.
    pub pair: bool,
    /// The screen is mounted turned: 0, 90, 180 or 270 (degrees the picture is turned
    /// clockwise). Slides are composed upright for it; the screenshot shows them so.
    pub rotate: crate::render::Rotate,
    /// A clock on the slides: `none`, `time` or `time+date`.
    pub clock: crate::render::text::ClockShow,
    /// Where the clock is: `top-right`, `top-left`, `bottom-right`, `bottom-left`.
    pub clock_corner: crate::render::text::Corner,
    /// The order photos come up in: `newest`, `shuffle` or `weighted`.
    pub order: crate::rotation::Order,
    /// With `weighted`: photos received within this are recent, and come up `boost` times
    /// as often (favourites too).
    #[serde(with = "duration")]
    pub recent: Duration,
    /// With `weighted`: how many times as often recent photos and favourites come up.
    pub boost: u32,
    /// Makes shuffles repeatable (for tests); unset, each start shuffles differently.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl Default for DisplayConfig {
    fn default() -> Self {
        DisplayConfig {
            backend: Backend::Auto,
            size: Size { width: 1920, height: 1080 },
            interval: Duration::from_secs(60),
            fit: Fit::Contain,
            matte: Matte::Blur,
            transition: Duration::from_millis(800),
            captions: true,
            caption_fields: vec![crate::slides::CaptionField::Text],
            pair: true,
            rotate: crate::render::Rotate::None,
            clock: crate::render::text::ClockShow::None,
            clock_corner: crate::render::text::Corner::TopRight,
            order: crate::rotation::Order::Weighted,
            recent: Duration::from_secs(14 * 24 * 3600),
            boost: 3,
            seed: None,
        }
    }
}

/// `[library]`: where photos are kept, and how many.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LibraryConfig {
    /// The data directory; default: the XDG data dir (`~/.local/share/discord-frame`).
    pub dir: Option<PathBuf>,
    /// The most photos kept; the oldest go first. 0 means no limit.
    pub max_photos: u64,
    /// The most disk space the originals may take, in MB; the oldest go first. 0: no limit.
    pub max_disk_mb: u64,
}

impl Default for LibraryConfig {
    fn default() -> Self {
        LibraryConfig { dir: None, max_photos: 5000, max_disk_mb: 2048 }
    }
}

/// `[limits]`: what a photo may cost, checked before it is decoded or downloaded.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_megapixels: u64,
    pub max_decode_mb: u64,
    pub max_download_mb: u64,
    /// Host names photos may be downloaded from.
    pub allowed_hosts: Vec<String>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_megapixels: 250,
            max_decode_mb: 256,
            max_download_mb: 50,
            // Discord's CDN, its media proxy, and the proxy's hosts for linked images (the
            // embed Discord makes of an i.imgur.com link is served from images-ext-*).
            allowed_hosts: [
                "cdn.discordapp.com",
                "media.discordapp.net",
                "images-ext-1.discordapp.net",
                "images-ext-2.discordapp.net",
            ]
            .map(str::to_owned)
            .to_vec(),
        }
    }
}

impl LimitsConfig {
    /// The pipeline's limits, in its units.
    pub fn render_limits(&self) -> render::Limits {
        render::Limits {
            max_pixels: self.max_megapixels * 1_000_000,
            max_decode_bytes: self.max_decode_mb * 1024 * 1024,
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter: `info`, `debug`, `discord_frame=debug,warn`.
    pub level: String,
    /// Also write the log to `discord-frame.log` in this directory.
    pub dir: Option<PathBuf>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info".to_owned(), dir: None }
    }
}

/// Which presenter shows the slides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A window where a display server is reachable (pixels on a GPU, else softbuffer);
    /// headless, with a warning, where none is.
    Auto,
    /// A window presented through wgpu (Vulkan).
    Pixels,
    /// A window presented by the CPU.
    Softbuffer,
    /// No window: the slide is kept for `/api/screenshot.png`.
    Headless,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Auto => "auto",
            Backend::Pixels => "pixels",
            Backend::Softbuffer => "softbuffer",
            Backend::Headless => "headless",
        })
    }
}

/// A screen size, written `WIDTHxHEIGHT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

/// The largest size accepted: 8K, comfortably past any screen a Pi drives.
const MAX_SIDE: u32 = 7680;

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Size, String> {
        let usage = || format!("`{s}` is not a size: write WIDTHxHEIGHT, e.g. 1920x1080");
        let (w, h) = s.split_once(['x', 'X', '×']).ok_or_else(usage)?;
        let side = |v: &str| u32::from_str(v.trim()).map_err(|_| usage());
        let (width, height) = (side(w)?, side(h)?);
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(format!(
                "{width}x{height} is out of range: each side must be 1 to {MAX_SIDE} pixels"
            ));
        }
        Ok(Size { width, height })
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
        let expecting = "a size in double quotes, WIDTHxHEIGHT, like \"1920x1080\"";
        d.deserialize_str(Quoted { expecting, parse: |s| s.parse() })
    }
}

/// Reads a value written in quotes with `parse`; a value of another kind (a bare number) is
/// answered with `expecting`, which says how to write it.
struct Quoted<T> {
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
}

impl<T> serde::de::Visitor<'_> for Quoted<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
        (self.parse)(s).map_err(E::custom)
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Durations written as people write them: "30s", "5m", "1h 30m", "800ms".
pub(crate) mod duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let expecting = "a duration in double quotes with its unit, like \"30s\" or \"5m\"";
        d.deserialize_str(Quoted { expecting, parse: parse_words })
    }

    fn parse_words(s: &str) -> Result<Duration, String> {
        humantime::parse_duration(s).map_err(|e| {
            format!("`{s}` is not a duration ({e}): write it like \"30s\", \"5m\" or \"1h\"")
        })
    }

    pub fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*v))
    }
}

/// A token: read where it is used ([`Secret::expose`]), never printed: `Debug`, logs and the
/// printed configuration show `<redacted>`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

impl Config {
    /// Parses a config file's text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: describe_toml_error(&e),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Config::parse(&text, path)
    }

    /// The file to read: `explicit` if given (it must exist), else `config.toml` in the XDG
    /// config dir if it exists, else none (defaults).
    pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
        if let Some(p) = explicit {
            return Some(p.to_owned());
        }
        let dirs = directories::ProjectDirs::from("", "", "discord-frame")?;
        let path = dirs.config_dir().join("config.toml");
        path.exists().then_some(path)
    }

    /// Checks what the types alone cannot: values that parse but make no sense, and
    /// combinations that would be unsafe. Also run after command-line flags are applied.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid =
            |key, message: &str| Err(ConfigError::Invalid { key, message: message.into() });
        if self.display.interval < Duration::from_secs(1) {
            return invalid(
                "[display] interval",
                "must be at least 1s: write e.g. interval = \"60s\"",
            );
        }
        if self.display.transition > Duration::from_secs(10) {
            return invalid(
                "[display] transition",
                "must be at most 10s: write e.g. transition = \"800ms\", or \"0s\" for none",
            );
        }
        if self.video.max_duration.is_zero() || self.video.max_duration > Duration::from_secs(3600)
        {
            return invalid(
                "[video] max_duration",
                "must be between 1s and 1h: write e.g. max_duration = \"3m\"",
            );
        }
        if !(self.video.max_megapixels > 0.0 && self.video.max_megapixels <= 40.0) {
            return invalid(
                "[video] max_megapixels",
                "must be above 0 and at most 40 (8K is 33): write e.g. max_megapixels = 8.3",
            );
        }
        if self.video.loops == Some(0) {
            return invalid(
                "[video] loops",
                "must be at least 1: leave it out to loop short clips for the whole interval",
            );
        }
        if self.display.captions && self.display.caption_fields.is_empty() {
            return invalid(
                "[display] caption_fields",
                "is empty: list what captions say, e.g. caption_fields = [\"sender\", \"text\", \"date\"], \
                 or set captions = false to draw none",
            );
        }
        if !(1..=10).contains(&self.display.boost) {
            return invalid(
                "[display] boost",
                "must be from 1 (recent photos and favourites like the others) to 10",
            );
        }
        if self.http.max_upload_mb == 0 {
            return invalid("[http] max_upload_mb", "must be at least 1 (MB)");
        }
        if self.limits.max_megapixels == 0 {
            return invalid("[limits] max_megapixels", "must be at least 1 (MP)");
        }
        if self.limits.max_decode_mb < 16 {
            return invalid("[limits] max_decode_mb", "must be at least 16 (MB)");
        }
        if self.limits.max_download_mb == 0 {
            return invalid("[limits] max_download_mb", "must be at least 1 (MB)");
        }
        if let Some(token) = self.http.token.as_ref().map(Secret::expose) {
            if token.trim().is_empty() {
                return invalid(
                    "[http] token",
                    "is empty or only spaces: remove the line, or set a long random string",
                );
            }
            if token.trim() != token || token.chars().any(char::is_control) {
                return invalid(
                    "[http] token",
                    "has spaces at its start or end, or a control character, which no client \
                     can send in a header: remove them",
                );
            }
        }
        let schedule = &self.schedule;
        if schedule.motion_gpio.as_deref().is_some_and(|line| line.trim().is_empty()) {
            return invalid(
                "[schedule] motion_gpio",
                "is empty: write the sensor's line as the Pi names it, e.g. \"GPIO17\" \
                 (`gpioinfo` lists them), or remove the line",
            );
        }
        if schedule.motion_gpio.is_some() && schedule.motion_on < Duration::from_secs(1) {
            return invalid(
                "[schedule] motion_on",
                "must be at least 1s: write e.g. motion_on = \"10m\"",
            );
        }
        if schedule.motion_only && schedule.motion_gpio.is_none() {
            return invalid(
                "[schedule] motion_only",
                "needs a sensor: set motion_gpio = \"GPIO17\" (the line the sensor is on), \
                 or remove motion_only",
            );
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError::Invalid {
                key: "[log] level",
                message: format!(
                    "`{}` is not a log level ({e}): write \"error\", \"warn\", \"info\", \
                     \"debug\" or \"trace\"",
                    self.log.level
                ),
            });
        }
        Ok(())
    }

    /// The effective configuration as TOML, secrets redacted: `discord-frame check-config`.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot print: {e}\n"))
    }
}

/// toml's messages carry the line and a caret under the offending value; serde's own words for
/// an unknown key list every valid one, which is what the person needs. serde names the type
/// it expected as Rust does (`u16`, `a sequence`); those become what to write instead.
fn describe_toml_error(e: &toml::de::Error) -> String {
    let mut msg = e.to_string();
    for (rust, plain) in PLAIN_TYPES {
        msg = msg.replace(&format!("expected {rust}"), &format!("expected {plain}"));
    }
    const STRUCT: &str = "expected struct ";
    if let Some(at) = msg.find(STRUCT) {
        let name = at + STRUCT.len();
        let end = msg[name..].find(char::is_whitespace).map_or(msg.len(), |n| name + n);
        let section = "expected a [section]: its name in square brackets on a line of its own, \
                       and its keys on the lines below it";
        msg.replace_range(at..end, section);
    }
    if msg.contains("unknown field") {
        msg.push_str("\n(check the spelling and the [section] against the annotated config.toml)");
    }
    msg
}

/// serde's names for the types `config.toml`'s keys take, and how a person writes each.
const PLAIN_TYPES: [(&str, &str); 8] = [
    ("u16", "a whole number from 0 to 65535, without quotes"),
    ("u32", "a whole number from 0 to 4294967295, without quotes"),
    ("u64", "a whole number, 0 or more, without quotes"),
    ("f64", "a number, without quotes"),
    ("a boolean", "true or false, without quotes"),
    ("a sequence", "a list in square brackets, even of one item: [\"…\"]"),
    ("a string", "a value in double quotes"),
    ("IP address", "an IP address in double quotes, like \"127.0.0.1\" or \"0.0.0.0\""),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("config.toml"))
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.http.port, 8080);
        assert!(c.http.host.is_loopback());
        assert_eq!(c.display.interval, Duration::from_secs(60));
        assert_eq!(c.display.backend, Backend::Auto);
        assert_eq!(c.discord.wake_word, "!frame");
    }

    #[test]
    fn the_annotated_config_at_the_root_parses_and_matches_the_defaults() {
        let text = include_str!("../config.toml");
        let c = parse(text).unwrap();
        // Every key the file sets is set to its default: the file documents, it does not
        // change behaviour.
        assert_eq!(c.to_redacted_toml(), Config::default().to_redacted_toml());
    }

    #[test]
    fn an_unknown_key_is_named() {
        let err = parse("[display]\nintervall = \"5s\"\n").unwrap_err().to_string();
        assert!(err.contains("intervall"), "{err}");
        assert!(err.contains("interval"), "{err}");
    }

    #[test]
    fn bad_values_say_how_to_write_them() {
        let err = parse("[display]\ninterval = \"soon\"\n").unwrap_err().to_string();
        assert!(err.contains("interval") && err.contains("\"30s\""), "{err}");
        let err = parse("[display]\nsize = \"big\"\n").unwrap_err().to_string();
        assert!(err.contains("WIDTHxHEIGHT"), "{err}");
        let err = parse("[display]\nfit = \"stretch\"\n").unwrap_err().to_string();
        assert!(err.contains("contain") && err.contains("cover"), "{err}");
        let err = parse("[http]\nport = 99999\n").unwrap_err().to_string();
        assert!(err.contains("port"), "{err}");
        let err = parse("[display]\ninterval = \"10ms\"\n").unwrap_err().to_string();
        assert!(err.starts_with("[display] interval"), "{err}");
        let err = parse("[discord]\nadmin_commands = [\"reboot\"]\n").unwrap_err().to_string();
        assert!(err.contains("admin_commands") && err.contains("`pause`"), "{err}");
        let err = parse("[discord]\nspoilers = \"hide\"\n").unwrap_err().to_string();
        assert!(err.contains("`blur`"), "{err}");
        let err = parse("[display]\ncaption_fields = []\n").unwrap_err().to_string();
        assert!(err.starts_with("[display] caption_fields") && err.contains("captions = false"));
        let err = parse("[display]\ncaption_fields = [\"place\"]\n").unwrap_err().to_string();
        assert!(err.contains("`sender`") && err.contains("`date`"), "{err}");
        parse("[display]\ncaptions = false\ncaption_fields = []\n").unwrap();
        let err = parse("[display]\nrotate = 45\n").unwrap_err().to_string();
        assert!(err.contains("0, 90, 180 or 270"), "{err}");
        assert_eq!(
            parse("[display]\nrotate = 90\n").unwrap().display.rotate.composed((4, 3)),
            (3, 4)
        );
        let err = parse("[schedule]\nmotion_only = true\n").unwrap_err().to_string();
        assert!(err.starts_with("[schedule] motion_only") && err.contains("GPIO17"), "{err}");
        let err = parse("[schedule]\nmotion_gpio = \" \"\n").unwrap_err().to_string();
        assert!(err.starts_with("[schedule] motion_gpio") && err.contains("gpioinfo"), "{err}");
        let err = parse("[schedule]\nmotion_gpio = \"GPIO17\"\nmotion_on = \"0s\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("[schedule] motion_on"), "{err}");
        parse("[schedule]\nmotion_gpio = \"GPIO17\"\nmotion_only = true\ncec = true\n").unwrap();
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_answered_with_what_to_write() {
        // serde's own words name Rust's types; the person editing the file gets theirs.
        let cases = [
            ("[http]\nport = \"8080\"", "whole number from 0 to 65535, without quotes"),
            ("[http]\nport = 99999", "whole number from 0 to 65535"),
            ("[library]\nmax_photos = -3", "whole number, 0 or more"),
            ("[video]\nloops = 1.5", "whole number from 0 to 4294967295"),
            ("[video]\nmax_megapixels = \"12\"", "a number, without quotes"),
            ("[video]\nsound = \"yes\"", "true or false, without quotes"),
            ("[discord]\nadmins = \"anna\"", "a list in square brackets, even of one item"),
            ("[discord]\nwake_word = 5", "a value in double quotes"),
            ("[http]\nhost = 5", "an IP address in double quotes"),
            ("schedule = 5", "[section]: its name in square brackets on a line of its own"),
            ("[display]\ninterval = 60", "a duration in double quotes with its unit, like \"30s\""),
            ("[display]\nsize = 1920", "a size in double quotes, WIDTHxHEIGHT"),
        ];
        for (text, plain) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(plain), "{text}: {err}");
            for rust in ["u16", "u32", "u64", "f64", "sequence", "boolean", "struct", "Config"] {
                assert!(!err.contains(rust), "{text}: {err}");
            }
        }
    }

    #[test]
    fn server_ids_are_read_as_discord_gives_them_and_0_is_refused() {
        // "Copy Server ID" gives digits, which people put in quotes as often as not.
        let c = parse("[discord]\nguild_ids = [\"123456789012345678\", 42]\n").unwrap();
        let ids: Vec<u64> = c.discord.guild_ids.iter().map(|g| g.get()).collect();
        assert_eq!(ids, [123456789012345678, 42]);
        // check-config prints them as numbers, and what it prints reads back the same.
        let printed = c.to_redacted_toml();
        assert!(
            printed.contains("guild_ids = [\n    123456789012345678,\n    42,\n]"),
            "{printed}"
        );
        assert_eq!(parse(&printed).unwrap().discord.guild_ids, c.discord.guild_ids);
        // serenity panics on a 0 id: it never gets one.
        for (bad, says) in [
            ("0", "0 is not a Discord id"),
            ("\"0\"", "0 is not a Discord id"),
            ("-5", "-5 is not a Discord id: ids are positive"),
            ("\"my server\"", "`my server` is not a Discord id (a number)"),
            ("1.5", "a Discord id: its digits"),
        ] {
            let err = parse(&format!("[discord]\nguild_ids = [{bad}]\n")).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn channels_users_and_roles_are_names_or_ids_with_or_without_quotes() {
        let c = parse(
            "[discord]\nlisten_channels = [123456789012345678, \"Family:photos\", \"DM\"]\n\
             admins = [\"anna\", 42]\nignore_users = [7]\n",
        )
        .unwrap();
        assert_eq!(c.discord.listen_channels, ["123456789012345678", "Family:photos", "DM"]);
        assert_eq!(c.discord.admins, ["anna", "42"]);
        assert_eq!(c.discord.ignore_users, ["7"]);
        for (bad, says) in [
            ("[0]", "0 is not a Discord id"),
            ("[-3]", "-3 is not a Discord id"),
            ("[true]", "a name in double quotes, or an id"),
            ("\"anna\"", "a list in square brackets"),
        ] {
            let err = parse(&format!("[discord]\nadmins = {bad}\n")).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn a_public_address_needs_no_token_but_takes_a_good_one() {
        // From the network, paired browsers (and programs with a token) are let in.
        parse("[http]\nhost = \"0.0.0.0\"\n").unwrap();
        parse("[http]\nhost = \"0.0.0.0\"\ntoken = \"s3cret-and-long\"\n").unwrap();
        for bad in ["   ", "\\t", " padded "] {
            let err = parse(&format!("[http]\ntoken = \"{bad}\"\n")).unwrap_err().to_string();
            assert!(err.starts_with("[http] token"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn secrets_are_redacted() {
        let c = parse("[http]\ntoken = \"abc\"\n[discord]\ntoken = \"xyz\"\n").unwrap();
        let out = c.to_redacted_toml();
        assert!(!out.contains("abc") && !out.contains("xyz"), "{out}");
        assert!(out.contains("<redacted>"), "{out}");
        // Nor does a debug print (a log line, a panic message) show them.
        let debug = format!("{c:?}");
        assert!(!debug.contains("abc") && !debug.contains("xyz"), "{debug}");
        assert_eq!(c.discord.token.as_ref().map(Secret::expose), Some("xyz"));
    }
}
