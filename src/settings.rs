//! The settings the page may change while the frame runs (`[display] interval`,
//! `transition`, `captions` and `order`, `[schedule] on`), written back to `config.toml` with
//! everything else in it kept as it was: comments, order, spacing (`toml_edit`). The new file is checked by the same parser the
//! frame starts with before it replaces the old one, and it replaces it whole (a temporary
//! file, fsync, rename): a power cut leaves the old file or the new one, never half of each.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use toml_edit::{Array, DocumentMut, Item, Table, Value};

use crate::config::{Config, ConfigError};
use crate::rotation::Order;
use crate::schedule::Window;

/// The most windows `[schedule] on` may have when the page sets it: a week of three windows a
/// day is 21, and every window is looked at for every change of the screen.
pub const MAX_WINDOWS: usize = 32;

/// The live settings, as they are now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveSettings {
    /// Written as the config file writes them ("5m", "800ms").
    #[serde(serialize_with = "crate::config::duration::serialize")]
    pub interval: Duration,
    #[serde(serialize_with = "crate::config::duration::serialize")]
    pub transition: Duration,
    /// Captions drawn on the slides.
    pub captions: bool,
    /// The order photos come up in.
    pub order: Order,
    /// When the screen is on (`[schedule] on`); empty: always.
    pub schedule: Vec<Window>,
}

impl From<&Config> for LiveSettings {
    fn from(config: &Config) -> LiveSettings {
        LiveSettings {
            interval: config.display.interval,
            transition: config.display.transition,
            captions: config.display.captions,
            order: config.display.order,
            schedule: config.schedule.on.clone(),
        }
    }
}

/// What to change; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    pub interval: Option<Duration>,
    pub transition: Option<Duration>,
    pub captions: Option<bool>,
    pub order: Option<Order>,
    /// The windows, whole: the page sends the list as it should be.
    pub schedule: Option<Vec<Window>>,
}

/// Why settings could not be changed. Nothing was changed, on screen or on disk.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "this frame was started without a config file, so there is nowhere to save settings: \
         start it with --config <file> (the packages use /etc/discord-frame/config.toml)"
    )]
    NoFile,
    #[error("{0}")]
    Invalid(ConfigError),
    #[error(
        "cannot save the settings to {path}: {source}. The frame's user needs write access to \
         the file and its folder; the settings were not changed"
    )]
    Write { path: PathBuf, source: std::io::Error },
    #[error("the frame's worker failed while saving the settings: {0}")]
    Worker(String),
}

/// The config file the frame was started with.
#[derive(Debug)]
pub struct SettingsFile {
    path: Option<PathBuf>,
    /// The rest of the configuration in effect, as the page shows it (read-only).
    fixed: serde_json::Value,
    /// One change at a time: two at once would each keep only their own.
    writing: Mutex<()>,
}

impl SettingsFile {
    pub fn new(path: Option<PathBuf>) -> SettingsFile {
        SettingsFile { path, fixed: serde_json::Value::Null, writing: Mutex::new(()) }
    }

    /// With the configuration the frame started with, for [`SettingsFile::fixed`].
    pub fn with_config(mut self, config: &Config) -> SettingsFile {
        self.fixed = fixed(config);
        self
    }

    /// Every setting that needs a restart to change, by table, as the frame uses it now
    /// (flags included); secrets are `<redacted>`. `null` when not given.
    pub fn fixed(&self) -> &serde_json::Value {
        &self.fixed
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Writes `change` into the file; answers the file's settings as they now are. Blocking:
    /// call it on the blocking pool.
    pub fn write(&self, change: &SettingsChange) -> Result<LiveSettings, SettingsError> {
        let path = self.path.as_deref().ok_or(SettingsError::NoFile)?;
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let text = fs::read_to_string(path).map_err(|source| {
            SettingsError::Invalid(ConfigError::Read { path: path.to_owned(), source })
        })?;
        let new = edit(&text, change, path)?;
        let config = Config::parse(&new, path).map_err(SettingsError::Invalid)?;
        replace(path, new.as_bytes())
            .map_err(|source| SettingsError::Write { path: path.to_owned(), source })?;
        Ok(LiveSettings::from(&config))
    }
}

/// The configuration without the live settings, secrets redacted (by [`crate::config::Secret`]'s
/// own serializer).
fn fixed(config: &Config) -> serde_json::Value {
    let mut value = serde_json::to_value(config).unwrap_or_default();
    for (table, key) in LIVE_KEYS {
        if let Some(table) = value.get_mut(table).and_then(serde_json::Value::as_object_mut) {
            table.remove(key);
        }
    }
    value
}

/// Where the live settings are in the file.
const LIVE_KEYS: [(&str, &str); 5] = [
    ("display", "interval"),
    ("display", "transition"),
    ("display", "captions"),
    ("display", "order"),
    ("schedule", "on"),
];

/// The file's text with `change` made, and nothing else touched.
fn edit(text: &str, change: &SettingsChange, path: &Path) -> Result<String, SettingsError> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        SettingsError::Invalid(ConfigError::Parse {
            path: path.to_owned(),
            message: e.message().to_owned(),
        })
    })?;
    let length =
        |d: Option<Duration>| d.map(|d| Value::from(humantime::format_duration(d).to_string()));
    let display = [
        ("interval", length(change.interval)),
        ("transition", length(change.transition)),
        ("captions", change.captions.map(Value::from)),
        ("order", change.order.map(|o| Value::from(o.as_str()))),
    ];
    set(&mut doc, "[display]", display)?;
    let windows = change
        .schedule
        .as_ref()
        .map(|windows| Value::Array(windows.iter().map(ToString::to_string).collect::<Array>()));
    set(&mut doc, "[schedule]", [("on", windows)])?;
    Ok(doc.to_string())
}

/// Sets each key of `table` (`"[display]"`) that has a value, the table made if it is not there.
fn set<const N: usize>(
    doc: &mut DocumentMut,
    name: &'static str,
    values: [(&str, Option<Value>); N],
) -> Result<(), SettingsError> {
    if values.iter().all(|(_, v)| v.is_none()) {
        return Ok(());
    }
    let item =
        doc.entry(name.trim_matches(['[', ']'])).or_insert_with(|| Item::Table(Table::new()));
    let Some(table) = item.as_table_like_mut() else {
        return Err(SettingsError::Invalid(ConfigError::Invalid {
            key: name,
            message: "is not a table: fix config.toml by hand first".into(),
        }));
    };
    for (key, value) in values {
        let Some(mut new) = value else { continue };
        match table.get_mut(key).and_then(Item::as_value_mut) {
            Some(old) => {
                // The comment after the value stays with it.
                *new.decor_mut() = old.decor().clone();
                *old = new;
            }
            None => {
                table.insert(key, Item::Value(new));
            }
        }
    }
    Ok(())
}

/// Replaces `path` with `bytes` whole, keeping the file's permissions.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        if let Ok(meta) = fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# My frame.
[display]
# How long each photo stays.
interval = \"1m\"   # one minute
transition = \"800ms\"

[http]
port = 8080 # the usual
";

    #[test]
    fn a_change_keeps_every_comment_and_is_checked_before_it_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(&path, FILE).unwrap();
        let file = SettingsFile::new(Some(path.clone()));
        let change = SettingsChange {
            interval: Some(Duration::from_secs(300)),
            ..SettingsChange::default()
        };
        let now = file.write(&change).unwrap();
        assert_eq!(now.interval, Duration::from_secs(300));
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, FILE.replace("interval = \"1m\"", "interval = \"5m\""));

        // Refused by the frame's own checks: the file is as it was.
        let change = SettingsChange {
            interval: Some(Duration::from_millis(10)),
            ..SettingsChange::default()
        };
        let err = file.write(&change).unwrap_err().to_string();
        assert!(err.contains("[display] interval") && err.contains("at least 1s"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), text);

        // A file without [display] gets one; no temporary file is left behind.
        fs::write(&path, "[http]\nport = 8080\n").unwrap();
        let change = SettingsChange {
            transition: Some(Duration::ZERO),
            captions: Some(false),
            ..SettingsChange::default()
        };
        let now = file.write(&change).unwrap();
        assert_eq!((now.transition, now.captions), (Duration::ZERO, false));
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("[http]\nport = 8080\n") && text.contains("transition = \"0s\""));
        assert!(text.contains("captions = false"), "{text}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        let err = SettingsFile::new(None).write(&change).unwrap_err().to_string();
        assert!(err.contains("--config"), "{err}");
    }

    #[test]
    fn the_rest_of_the_configuration_is_shown_without_its_secrets_or_the_live_settings() {
        let text = "[discord]\ntoken = \"bot-secret\"\n[http]\ntoken = \"http-secret\"\n\
                    [display]\nfit = \"cover\"\ninterval = \"5m\"\n";
        let config = Config::parse(text, Path::new("c.toml")).unwrap();
        let file = SettingsFile::new(None).with_config(&config);
        let fixed = file.fixed();
        let printed = fixed.to_string();
        assert!(!printed.contains("secret"), "{printed}");
        assert_eq!(fixed["discord"]["token"], "<redacted>");
        assert_eq!(fixed["http"]["token"], "<redacted>");
        assert_eq!(fixed["display"]["fit"], "cover");
        for (table, key) in LIVE_KEYS {
            assert!(fixed[table].is_object() && fixed[table].get(key).is_none(), "{table}.{key}");
        }
    }
}
