//! Where the bot's token comes from, so that it can be read again.
//!
//! An owner who resets the token in the Developer Portal pastes the new one into a file; the
//! frame should not need a restart for that (a restart is beyond many owners: the frame is a
//! box on a shelf). The token is read again before every new attempt to connect, at once on
//! SIGHUP, and every minute while Discord refuses the current one.

use std::path::{Path, PathBuf};

use crate::config::{Config, Secret};

/// The name of the token in systemd's credentials (`LoadCredential=discord-token:…`).
pub const CREDENTIAL: &str = "discord-token";

/// The token in effect, and where to read it again.
#[derive(Debug, Clone)]
pub struct Token {
    pub source: TokenSource,
    pub secret: Secret,
}

/// One place the token is read from, the first that has one in this order: `--token`,
/// `DISCORD_BOT_TOKEN`, systemd's credential, `[discord] token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `--token` or `DISCORD_BOT_TOKEN`: fixed for the life of the process.
    Given { token: Secret, from: &'static str },
    /// `$CREDENTIALS_DIRECTORY/discord-token`: a file only this service can read.
    Credential(PathBuf),
    /// `[discord] token` in the config file.
    ConfigFile(PathBuf),
}

impl TokenSource {
    /// Finds the source in effect: the first of the four that holds a non-empty token.
    pub fn find(
        flag: Option<String>,
        env: Option<String>,
        credentials_dir: Option<PathBuf>,
        config: &Config,
        config_path: Option<&Path>,
    ) -> Option<Token> {
        let given = |value: Option<String>, from| {
            let secret = clean(&value?)?;
            Some(Token { source: TokenSource::Given { token: secret.clone(), from }, secret })
        };
        if let Some(found) = given(flag, "--token").or_else(|| given(env, "DISCORD_BOT_TOKEN")) {
            return Some(found);
        }
        if let Some(dir) = credentials_dir {
            let source = TokenSource::Credential(dir.join(CREDENTIAL));
            if let Ok(secret) = source.read() {
                return Some(Token { source, secret });
            }
        }
        let secret = clean(config.discord.token.as_ref()?.expose())?;
        let source = match config_path {
            Some(path) => TokenSource::ConfigFile(path.to_owned()),
            None => TokenSource::Given { token: secret.clone(), from: "[discord] token" },
        };
        Some(Token { source, secret })
    }

    /// Reads the token again. An error says, in words for the log, why the source has none.
    pub fn read(&self) -> Result<Secret, String> {
        match self {
            TokenSource::Given { token, .. } => Ok(token.clone()),
            TokenSource::Credential(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                clean(&text).ok_or_else(|| format!("{} is empty", path.display()))
            }
            TokenSource::ConfigFile(path) => {
                let config = Config::load(path).map_err(|e| e.to_string())?;
                let token = config.discord.token.as_ref().and_then(|t| clean(t.expose()));
                token.ok_or_else(|| format!("{} has no [discord] token", path.display()))
            }
        }
    }

    /// What the owner does to put a new token in, in words that follow "then".
    pub fn how_to_change(&self) -> String {
        match self {
            TokenSource::Given { from, .. } => {
                format!("give it with {from} and restart the frame")
            }
            // systemd copies the credential when the service starts: changing the file it came
            // from does nothing before a restart.
            TokenSource::Credential(_) => "write it to /etc/credstore/discord-frame.token \
                                           (the file systemd gives the frame as its \
                                           credential discord-token) and restart the \
                                           service: sudo systemctl restart \
                                           discord-frame-kiosk"
                .into(),
            TokenSource::ConfigFile(path) => format!(
                "paste it as [discord] token in {}: the frame reads it again within a minute \
                 (at once on SIGHUP)",
                path.display()
            ),
        }
    }
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Given { from, .. } => f.write_str(from),
            TokenSource::Credential(path) => write!(f, "systemd's credential {}", path.display()),
            TokenSource::ConfigFile(path) => write!(f, "[discord] token in {}", path.display()),
        }
    }
}

/// A token as pasted: without the surrounding spaces and newline; `None` when nothing is left.
fn clean(text: &str) -> Option<Secret> {
    let token = text.trim();
    (!token.is_empty()).then(|| Secret::new(token))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_first_source_with_a_token_wins_in_the_documented_order() {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, "[discord]\ntoken = \"from-file\"\n").unwrap();
        let config = Config::load(&config_path).unwrap();
        let creds = dir.path().join("creds");
        std::fs::create_dir(&creds).unwrap();
        std::fs::write(creds.join(CREDENTIAL), "from-credential\n").unwrap();
        let find = |flag: Option<&str>, env: Option<&str>, creds: Option<&Path>| {
            let found = TokenSource::find(
                flag.map(str::to_owned),
                env.map(str::to_owned),
                creds.map(Path::to_owned),
                &config,
                Some(&config_path),
            )
            .unwrap();
            (found.source, found.secret.expose().to_owned())
        };
        assert_eq!(find(Some(" flag "), Some("env"), Some(&creds)).1, "flag");
        assert_eq!(find(Some(""), Some("env"), Some(&creds)).1, "env");
        let (source, token) = find(None, None, Some(&creds));
        assert_eq!(
            (source, token.as_str()),
            (TokenSource::Credential(creds.join(CREDENTIAL)), "from-credential")
        );
        let (source, token) = find(None, None, Some(&dir.path().join("none")));
        assert_eq!(
            (source, token.as_str()),
            (TokenSource::ConfigFile(config_path.clone()), "from-file")
        );
    }

    #[test]
    fn a_file_source_reads_the_new_token_and_says_why_it_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CREDENTIAL);
        std::fs::write(&path, "old\n").unwrap();
        let source = TokenSource::Credential(path.clone());
        assert_eq!(source.read().unwrap().expose(), "old");
        std::fs::write(&path, "new").unwrap();
        assert_eq!(source.read().unwrap().expose(), "new");
        std::fs::write(&path, " \n").unwrap();
        assert!(source.read().unwrap_err().ends_with("is empty"));
        std::fs::remove_file(&path).unwrap();
        assert!(source.read().unwrap_err().starts_with("cannot read"));

        let config = dir.path().join("config.toml");
        std::fs::write(&config, "[display]\ninterval = \"1m\"\n").unwrap();
        let source = TokenSource::ConfigFile(config.clone());
        assert!(source.read().unwrap_err().ends_with("has no [discord] token"));
        std::fs::write(&config, "[discord]\ntoken = \"fresh\"\n").unwrap();
        assert_eq!(source.read().unwrap().expose(), "fresh");
    }
}
