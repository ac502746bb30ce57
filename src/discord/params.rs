//! What a sender can say with a photo: `--fit cover`, `--caption "…"`, `--duration 60s`; the
//! rest of the message text (links taken out) is the caption. Phones type curly quotes, so
//! “…” and ‘…’ quote as well as "…" and '…'; and they turn `--` into a dash, so `—fit` and
//! `–fit` are options too. A `--word` that is not an option stays in the caption as written
//! ("Scores: --- vs ---" is a caption, not a mistake).

use std::time::Duration;

use crate::render::Fit;

/// A photo message's options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhotoParams {
    pub fit: Option<Fit>,
    pub caption: Option<String>,
    /// How long the photo stays up when it first shows.
    pub duration: Option<Duration>,
    /// Whether any `--` option was given (the reply echoing them is sent only then).
    pub explicit: bool,
}

/// The shortest and longest `--duration`: shorter would flicker, longer is what pause is for.
const MIN_DURATION: Duration = Duration::from_secs(5);
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

impl PhotoParams {
    /// Parses a message's text; `links` are removed from the caption.
    pub fn parse(text: &str, links: &[String]) -> Result<PhotoParams, String> {
        let mut params = PhotoParams::default();
        let mut words: Vec<String> = Vec::new();
        let mut tokens = tokenize(text).into_iter();
        while let Some((token, quoted)) = tokens.next() {
            let Some(flag) = option(&token).filter(|_| !quoted) else {
                if !links.contains(&token) {
                    words.push(token);
                }
                continue;
            };
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (flag.to_owned(), None),
            };
            let value = match inline.or_else(|| tokens.next().map(|(t, _)| t)) {
                Some(v) => v,
                None => return Err(format!("`--{name}` needs a value: {}", usage())),
            };
            params.explicit = true;
            match name.as_str() {
                "fit" => {
                    params.fit = Some(value.parse::<Fit>().map_err(|_| {
                        format!(
                            "`--fit {value}`: the fit is `contain` (the whole photo) or `cover` \
                             (fill the screen)"
                        )
                    })?)
                }
                "caption" => params.caption = Some(value),
                "duration" => {
                    let d = humantime::parse_duration(&value).map_err(|_| {
                        format!("`--duration {value}` is not a duration: write 30s, 2m or 1h")
                    })?;
                    if !(MIN_DURATION..=MAX_DURATION).contains(&d) {
                        return Err(format!(
                            "`--duration {value}`: a photo can stay up from 5s to 24h"
                        ));
                    }
                    params.duration = Some(d);
                }
                other => return Err(format!("I don't know `--{other}`: {}", usage())),
            }
        }
        if params.caption.is_none() {
            let rest = words.join(" ");
            params.caption = Some(rest).filter(|c| !c.trim().is_empty());
        }
        Ok(params)
    }

    /// The options as the sender could have typed them, for the reply that echoes them.
    pub fn echo(&self) -> String {
        let mut parts = Vec::new();
        if let Some(fit) = self.fit {
            parts.push(format!("--fit {fit}"));
        }
        if let Some(caption) = &self.caption {
            parts.push(format!("--caption \"{caption}\""));
        }
        if let Some(d) = self.duration {
            parts.push(format!("--duration {}", humantime::format_duration(d)));
        }
        parts.join(" ")
    }
}

fn usage() -> &'static str {
    "the options are `--fit contain|cover`, `--caption \"…\"` and `--duration 60s`"
}

/// The options a photo message knows.
const OPTIONS: [&str; 3] = ["fit", "caption", "duration"];

/// `token` without its dashes, when it is one of [`OPTIONS`] (`--fit`, `—fit`, `–fit=cover`).
fn option(token: &str) -> Option<&str> {
    let flag = ["--", "\u{2014}", "\u{2013}"].iter().find_map(|d| token.strip_prefix(d))?;
    let name = flag.split_once('=').map_or(flag, |(n, _)| n);
    OPTIONS.contains(&name).then_some(flag)
}

/// Splits on whitespace, keeping quoted stretches together; each token says whether it was
/// quoted (a quoted `--x` is text, not an option).
fn tokenize(text: &str) -> Vec<(String, bool)> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let close = match c {
            '"' => Some('"'),
            '“' | '”' => Some('”'),
            '\'' => Some('\''),
            '‘' => Some('’'),
            _ => None,
        };
        let mut token = String::new();
        match close {
            Some(close) => {
                chars.next();
                for c in chars.by_ref() {
                    if c == close || (close == '”' && c == '“') {
                        break;
                    }
                    token.push(c);
                }
                tokens.push((token, true));
            }
            None => {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    token.push(c);
                    chars.next();
                }
                tokens.push((token, false));
            }
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_the_rest_as_caption() {
        let p =
            PhotoParams::parse("Grandma's birthday --fit cover --duration 2m", &[]).expect("parse");
        assert_eq!(p.fit, Some(Fit::Cover));
        assert_eq!(p.duration, Some(Duration::from_secs(120)));
        assert_eq!(p.caption.as_deref(), Some("Grandma's birthday"));
        assert!(p.explicit);
        assert_eq!(p.echo(), "--fit cover --caption \"Grandma's birthday\" --duration 2m");
    }

    #[test]
    fn curly_quotes_and_links() {
        let link = "https://cdn.discordapp.com/a/b.jpg".to_owned();
        let text = format!("{link} --caption “At the lake, 1998”");
        let p = PhotoParams::parse(&text, std::slice::from_ref(&link)).expect("parse");
        assert_eq!(p.caption.as_deref(), Some("At the lake, 1998"));
        let p = PhotoParams::parse(&link, std::slice::from_ref(&link)).expect("parse");
        assert_eq!(p, PhotoParams::default(), "a bare link has no caption");
    }

    #[test]
    fn mistakes_say_what_to_write() {
        let e = |s| PhotoParams::parse(s, &[]).unwrap_err();
        assert_eq!(
            e("--fit wide"),
            "`--fit wide`: the fit is `contain` (the whole photo) or `cover` (fill the screen)"
        );
        assert_eq!(
            e("--duration soon"),
            "`--duration soon` is not a duration: write 30s, 2m or 1h"
        );
        assert_eq!(e("--duration 1s"), "`--duration 1s`: a photo can stay up from 5s to 24h");
        assert!(e("--caption").starts_with("`--caption` needs a value"));
    }

    /// iOS and macOS turn `--` into an em dash (some keyboards an en dash) as it is typed.
    #[test]
    fn dashes_from_phones_are_options_and_other_words_stay_text() {
        let p =
            PhotoParams::parse("At the lake \u{2014}fit cover \u{2013}duration=1m", &[]).unwrap();
        assert_eq!(p.fit, Some(Fit::Cover));
        assert_eq!(p.duration, Some(Duration::from_secs(60)));
        assert_eq!(p.caption.as_deref(), Some("At the lake"));
        let p = PhotoParams::parse("Score --- 3 --steps 20 \u{2014} great", &[]).unwrap();
        assert_eq!(p.caption.as_deref(), Some("Score --- 3 --steps 20 \u{2014} great"));
        assert!(!p.explicit);
    }
}
