//! The day a photo was taken, from its EXIF `DateTimeOriginal` (JPEG, TIFF, PNG's eXIf, WebP).

use std::io::Cursor;

use exif::{In, Reader, Tag, Value};

/// The day the camera says it took the photo, or `None` when the photo has no EXIF date or an
/// unreadable one (a blank `"    :  :  "`, a month 13). The time of day is left out: a camera's
/// clock has no time zone, and a caption shows the day.
///
/// Only the metadata is parsed, not the pixels; the EXIF block of a JPEG is at most 64 KB.
pub fn taken_on(bytes: &[u8]) -> Option<jiff::civil::Date> {
    let exif = Reader::new().read_from_container(&mut Cursor::new(bytes)).ok()?;
    let field = exif.get_field(Tag::DateTimeOriginal, In::PRIMARY)?;
    let Value::Ascii(ref values) = field.value else {
        return None;
    };
    let when = exif::DateTime::from_ascii(values.first()?).ok()?;
    jiff::civil::Date::new(i16::try_from(when.year).ok()?, when.month as i8, when.day as i8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// A real photograph whose EXIF block says when it was taken (written by exiftool).
    #[test]
    fn a_camera_date_is_read() {
        let date = taken_on(&fixture("ladybird-dated.jpg"));
        assert_eq!(date, Some(jiff::civil::date(2019, 6, 15)));
    }

    #[test]
    fn photos_without_a_date_have_none() {
        // orient-6.jpg has an EXIF block (its orientation) but no date; the PNG has no EXIF.
        assert_eq!(taken_on(&fixture("orient-6.jpg")), None);
        assert_eq!(taken_on(&fixture("ladybird.png")), None);
        assert_eq!(taken_on(b"not an image at all"), None);
        assert_eq!(taken_on(&[]), None);
    }
}
