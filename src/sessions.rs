//! The browsers paired with the frame: each holds a long random session key in a cookie; the
//! frame keeps only the key's SHA-256, in `sessions.json` in the data folder, so that the file
//! (or a backup of it) lets no one in. A session lasts until it is removed on the page.
//!
//! The file is small and changes only when a browser is paired or removed: it is written
//! whole (a temporary file, fsync, rename) off the async threads, and the list readers check
//! against is never locked while that happens.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The most browsers paired at once: past it, pairing asks to remove one first, so that the
/// list on the page stays readable and the file small.
pub const MAX_SESSIONS: usize = 32;

/// The file's name in the data folder.
pub const FILE_NAME: &str = "sessions.json";

/// One paired browser, as the page lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub id: u64,
    /// Which browser, in words ("Chrome on Android"), from its `User-Agent` when it paired.
    pub label: String,
    /// When it paired, and when it last asked anything of the frame (RFC 3339). The last
    /// use is saved with the next pairing or removal, not at every request.
    pub paired_at: jiff::Timestamp,
    pub last_used: jiff::Timestamp,
}

/// What is saved per session: the key's hash, never the key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    session: Session,
    key_sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileBody {
    sessions: Vec<Stored>,
}

/// Why a session could not be made or removed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(
        "{MAX_SESSIONS} browsers are paired with this frame already: remove one you no longer \
         use on the page's Frame view, then pair again"
    )]
    Full,
    #[error(
        "cannot save the paired browsers to {path}: {source} (the frame's user needs write \
         access to its data folder); this browser is not paired"
    )]
    Save { path: PathBuf, source: std::io::Error },
    #[error("the frame cannot make a random session key: {0}")]
    Random(String),
}

/// The paired browsers.
#[derive(Debug)]
pub struct Sessions {
    /// `None` keeps them in memory only (tests, and a frame without a data folder).
    path: Option<PathBuf>,
    list: Mutex<HashMap<String, Session>>,
    /// Serialises saves, so that an older list never replaces a newer one on disk.
    save: tokio::sync::Mutex<()>,
}

impl Sessions {
    /// The sessions saved in `dir`, or none. A file the frame cannot read or parse is left
    /// where it is (renamed aside if it is not JSON) and the frame starts with none: a
    /// browser pairs again, nothing else is lost. Returns a notice for the owner then.
    pub fn open(dir: &Path) -> (Sessions, Option<String>) {
        let path = dir.join(FILE_NAME);
        let (list, notice) = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<FileBody>(&bytes) {
                Ok(body) => {
                    (body.sessions.into_iter().map(|s| (s.key_sha256, s.session)).collect(), None)
                }
                Err(e) => {
                    let aside = path.with_extension("json.unreadable");
                    let moved = std::fs::rename(&path, &aside).is_ok();
                    let notice = format!(
                        "{} is not a list of paired browsers ({e}); {}: browsers pair again",
                        path.display(),
                        if moved {
                            format!("kept as {}", aside.display())
                        } else {
                            "left as it is".to_owned()
                        }
                    );
                    (HashMap::new(), Some(notice))
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (HashMap::new(), None),
            Err(e) => {
                let notice = format!("cannot read {}: {e}; browsers pair again", path.display());
                (HashMap::new(), Some(notice))
            }
        };
        let sessions = Sessions {
            path: Some(path),
            list: Mutex::new(list),
            save: tokio::sync::Mutex::new(()),
        };
        (sessions, notice)
    }

    /// Sessions that live as long as the process.
    pub fn in_memory() -> Sessions {
        Sessions { path: None, list: Mutex::default(), save: tokio::sync::Mutex::new(()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session whose key is `key`, noting that it was used now.
    pub fn check(&self, key: &str) -> Option<Session> {
        let hash = hash(key);
        let mut list = self.lock();
        let session = list.get_mut(&hash)?;
        session.last_used = jiff::Timestamp::now();
        Some(session.clone())
    }

    /// Whether session `id` exists.
    pub fn contains(&self, id: u64) -> bool {
        self.lock().values().any(|s| s.id == id)
    }

    /// Every session, the most recently used first.
    pub fn list(&self) -> Vec<Session> {
        let mut all: Vec<Session> = self.lock().values().cloned().collect();
        all.sort_by(|a, b| b.last_used.cmp(&a.last_used).then(b.id.cmp(&a.id)));
        all
    }

    /// Makes a session for a browser called `label`, saves it, and returns its key: the only
    /// time the key exists outside the browser's cookie.
    pub async fn create(&self, label: String) -> Result<(String, Session), SessionError> {
        let _saving = self.save.lock().await;
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| SessionError::Random(e.to_string()))?;
        let key = hex::encode(raw);
        let now = jiff::Timestamp::now();
        let session = {
            let list = self.lock();
            if list.len() >= MAX_SESSIONS {
                return Err(SessionError::Full);
            }
            let id = list.values().map(|s| s.id).max().unwrap_or(0) + 1;
            Session { id, label, paired_at: now, last_used: now }
        };
        let mut next = self.lock().clone();
        next.insert(hash(&key), session.clone());
        self.persist(&next).await?;
        *self.lock() = next;
        Ok((key, session))
    }

    /// Removes session `id`; `false` if there was none. Its browser is refused from the next
    /// request on.
    pub async fn remove(&self, id: u64) -> Result<bool, SessionError> {
        let _saving = self.save.lock().await;
        let mut next = self.lock().clone();
        let before = next.len();
        next.retain(|_, s| s.id != id);
        if next.len() == before {
            return Ok(false);
        }
        self.persist(&next).await?;
        *self.lock() = next;
        Ok(true)
    }

    async fn persist(&self, list: &HashMap<String, Session>) -> Result<(), SessionError> {
        let Some(path) = self.path.clone() else { return Ok(()) };
        let mut sessions: Vec<Stored> = list
            .iter()
            .map(|(hash, session)| Stored { session: session.clone(), key_sha256: hash.clone() })
            .collect();
        sessions.sort_by_key(|s| s.session.id);
        let bytes = serde_json::to_vec_pretty(&FileBody { sessions }).map_err(|e| {
            SessionError::Save { path: path.clone(), source: std::io::Error::other(e) }
        })?;
        let target = path.clone();
        tokio::task::spawn_blocking(move || write_private(&target, &bytes))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
            .map_err(|source| SessionError::Save { path, source })
    }
}

/// Writes the file whole, readable by the frame's user only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if !path.exists() {
        std::fs::write(path, b"")?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    crate::settings::replace(path, bytes)
}

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.trim().as_bytes()))
}

/// A browser's name in words from its `User-Agent`, for the list of sessions: the browser
/// and the system, or "A browser".
pub fn label(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or_default();
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(mark, _)| ua.contains(mark))
    .map_or("A browser", |(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "a Mac"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(mark, _)| ua.contains(mark))
    .map(|(_, name)| name);
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_session_survives_a_restart_and_its_key_is_not_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (sessions, notice) = Sessions::open(dir.path());
        assert!(notice.is_none());
        let (key, made) = sessions.create("Chrome on Android".into()).await.unwrap();
        assert_eq!(key.len(), 64);
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(!text.contains(&key), "{text}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");

        let (again, _) = Sessions::open(dir.path());
        assert_eq!(again.check(&key).map(|s| s.id), Some(made.id));
        assert!(again.check("0".repeat(64).as_str()).is_none());
        assert!(again.remove(made.id).await.unwrap());
        assert!(again.check(&key).is_none());
        let (after, _) = Sessions::open(dir.path());
        assert!(after.list().is_empty());
        assert!(!after.remove(made.id).await.unwrap());
    }

    #[tokio::test]
    async fn a_broken_file_is_kept_aside_and_pairing_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), b"{not json").unwrap();
        let (sessions, notice) = Sessions::open(dir.path());
        assert!(notice.unwrap().contains("kept as"));
        assert_eq!(
            std::fs::read(dir.path().join("sessions.json.unreadable")).unwrap(),
            b"{not json"
        );
        sessions.create("x".into()).await.unwrap();
        assert_eq!(Sessions::open(dir.path()).0.list().len(), 1);
    }

    #[tokio::test]
    async fn a_session_that_cannot_be_saved_is_not_made() {
        let dir = tempfile::tempdir().unwrap();
        let (sessions, _) = Sessions::open(&dir.path().join("gone"));
        let err = sessions.create("x".into()).await.unwrap_err();
        assert!(matches!(err, SessionError::Save { .. }), "{err}");
        assert!(err.to_string().contains("not paired"), "{err}");
        assert!(sessions.list().is_empty());
    }

    #[tokio::test]
    async fn at_most_so_many_browsers() {
        let sessions = Sessions::in_memory();
        for _ in 0..MAX_SESSIONS {
            sessions.create("x".into()).await.unwrap();
        }
        assert!(matches!(sessions.create("x".into()).await, Err(SessionError::Full)));
    }

    #[test]
    fn labels_in_words() {
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like \
                       Gecko) Chrome/120.0 Mobile Safari/537.36";
        assert_eq!(label(Some(android)), "Chrome on Android");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        assert_eq!(label(Some(iphone)), "Safari on iPhone");
        assert_eq!(label(None), "A browser");
    }
}
