//! How a photo is laid out on its slide: [`Fit`] and [`Matte`], one type each wherever the
//! value appears (the config file, the command line, an upload's parameters, a Discord
//! message's options, the library's index, the JSON API).
//!
//! Each value has one word, [`Fit::as_str`]; serde, clap, `FromStr` and `Display` all use it,
//! so a value reads and writes alike everywhere. (The library maps it to SQL itself.)

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a photo fills the slide.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// The whole photo, as large as fits, centred over the matte.
    #[default]
    Contain,
    /// The slide filled edge to edge; what overflows is cropped, centred.
    Cover,
}

/// What fills the bars around a photo that does not match the screen's shape.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Matte {
    /// A blurred, darkened copy of the photo, stretched over the whole slide.
    #[default]
    Blur,
    /// Plain black.
    Black,
}

impl Fit {
    pub const ALL: [Fit; 2] = [Fit::Contain, Fit::Cover];

    /// The value's word, as every transport writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Fit::Contain => "contain",
            Fit::Cover => "cover",
        }
    }
}

impl Matte {
    pub const ALL: [Matte; 2] = [Matte::Blur, Matte::Black];

    /// The value's word, as every transport writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Matte::Blur => "blur",
            Matte::Black => "black",
        }
    }
}

/// A word that names no [`Fit`] (or no [`Matte`]), with the words that would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a {what}: write {choices}")]
pub struct UnknownStyle {
    pub what: &'static str,
    pub value: String,
    /// The accepted words as a phrase: "contain or cover".
    pub choices: String,
}

/// Reads a word case-insensitively and without surrounding spaces (phones capitalise the first
/// word of a message).
fn parse<T: Copy>(
    what: &'static str,
    all: &[T],
    word: fn(T) -> &'static str,
    s: &str,
) -> Result<T, UnknownStyle> {
    let s = s.trim();
    all.iter().copied().find(|v| word(*v).eq_ignore_ascii_case(s)).ok_or_else(|| UnknownStyle {
        what,
        value: s.to_owned(),
        choices: all.iter().map(|v| word(*v)).collect::<Vec<_>>().join(" or "),
    })
}

impl FromStr for Fit {
    type Err = UnknownStyle;
    fn from_str(s: &str) -> Result<Fit, UnknownStyle> {
        parse("fit", &Fit::ALL, Fit::as_str, s)
    }
}

impl FromStr for Matte {
    type Err = UnknownStyle;
    fn from_str(s: &str) -> Result<Matte, UnknownStyle> {
        parse("matte", &Matte::ALL, Matte::as_str, s)
    }
}

impl fmt::Display for Fit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Matte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde, clap and `FromStr`/`Display` agree on every word, so a value written by one
    /// (the config file, the library's index) reads back in another (a flag, the API).
    #[test]
    fn every_way_of_writing_a_style_agrees() {
        use clap::ValueEnum;
        for fit in Fit::ALL {
            let word = fit.to_string();
            assert_eq!(word.parse::<Fit>(), Ok(fit));
            assert_eq!(format!(" {} ", word.to_uppercase()).parse::<Fit>(), Ok(fit));
            assert_eq!(serde_json::to_string(&fit).unwrap(), format!("\"{word}\""));
            assert_eq!(fit.to_possible_value().unwrap().get_name(), word);
        }
        for matte in Matte::ALL {
            let word = matte.to_string();
            assert_eq!(word.parse::<Matte>(), Ok(matte));
            assert_eq!(serde_json::to_string(&matte).unwrap(), format!("\"{word}\""));
            assert_eq!(matte.to_possible_value().unwrap().get_name(), word);
        }
        let err = "fill".parse::<Fit>().unwrap_err();
        assert_eq!(err.to_string(), "`fill` is not a fit: write contain or cover");
        assert_eq!(Fit::value_variants().len(), Fit::ALL.len());
        assert_eq!(Matte::value_variants().len(), Matte::ALL.len());
    }
}
