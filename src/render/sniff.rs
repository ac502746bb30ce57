//! Recognising a file's format from its first bytes, never from its name: a phone may call a
//! HEIC photo `IMG_0001.JPG`, and a web page saved as `photo.jpg` is still HTML.

use super::RenderError;

/// The formats the frame decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
    /// Only the first frame of an animation is shown.
    Gif,
    Bmp,
    Tiff,
}

impl Format {
    /// The name a person knows the format by, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::WebP => "WebP",
            Format::Gif => "GIF",
            Format::Bmp => "BMP",
            Format::Tiff => "TIFF",
        }
    }

    pub(crate) fn to_image_format(self) -> image::ImageFormat {
        match self {
            Format::Jpeg => image::ImageFormat::Jpeg,
            Format::Png => image::ImageFormat::Png,
            Format::WebP => image::ImageFormat::WebP,
            Format::Gif => image::ImageFormat::Gif,
            Format::Bmp => image::ImageFormat::Bmp,
            Format::Tiff => image::ImageFormat::Tiff,
        }
    }
}

const USE_JPEG: &str = "send it as a JPEG instead";
const HEIC_HINT: &str = "send it as a JPEG instead (on an iPhone: Settings › Camera › Formats › \
                         Most Compatible, or share it from the Photos app, which converts it)";

/// Tells which format `bytes` are in, or why the frame cannot show them.
pub fn sniff(bytes: &[u8]) -> Result<Format, RenderError> {
    if bytes.is_empty() {
        return Err(RenderError::Empty);
    }
    // `image` knows the magic numbers of every format it decodes, and a few it does not.
    if let Ok(format) = image::guess_format(bytes) {
        use image::ImageFormat as F;
        return match format {
            F::Jpeg => Ok(Format::Jpeg),
            F::Png => Ok(Format::Png),
            F::WebP => Ok(Format::WebP),
            F::Gif => Ok(Format::Gif),
            F::Bmp => Ok(Format::Bmp),
            F::Tiff => Ok(Format::Tiff),
            F::Avif => Err(unsupported("AVIF", USE_JPEG)),
            F::Ico => Err(unsupported("ICO (icon)", USE_JPEG)),
            F::OpenExr => Err(unsupported("OpenEXR", USE_JPEG)),
            F::Hdr => Err(unsupported("Radiance HDR", USE_JPEG)),
            F::Qoi => Err(unsupported("QOI", USE_JPEG)),
            F::Dds => Err(unsupported("DDS", USE_JPEG)),
            // PNM, TGA, farbfeld...: real image formats, but no phone sends them.
            other => Err(unsupported(
                other.extensions_str().first().copied().unwrap_or("unusual"),
                USE_JPEG,
            )),
        };
    }
    Err(refusal(bytes))
}

/// Names what `bytes` are, for a file that is not an image the frame decodes.
fn refusal(bytes: &[u8]) -> RenderError {
    // infer's text matchers (XML, HTML, scripts) are left to the text check below, which
    // tells an SVG from other XML; every binary signature it knows comes first, so that a PDF
    // whose first kilobyte happens to be ASCII is still named a PDF.
    if let Some(kind) = infer::get(bytes).filter(|k| k.matcher_type() != infer::MatcherType::Text) {
        match kind.mime_type() {
            "image/heif" | "image/heic" | "image/heif-sequence" | "image/heic-sequence" => {
                return unsupported("HEIC", HEIC_HINT)
            }
            "image/avif" => return unsupported("AVIF", USE_JPEG),
            "image/jxl" => return unsupported("JPEG XL", USE_JPEG),
            "image/vnd.adobe.photoshop" => return unsupported("Photoshop (PSD)", USE_JPEG),
            "image/x-canon-cr2"
            | "image/x-canon-cr3"
            | "image/x-nikon-nef"
            | "image/x-sony-arw"
            | "image/x-adobe-dng"
            | "image/x-olympus-orf"
            | "image/x-panasonic-rw2"
            | "image/x-fujifilm-raf" => {
                return unsupported("camera RAW", "export it as a JPEG from the camera's app")
            }
            "application/pdf" => return not_a_photo("a PDF document"),
            _ => {}
        }
        let what = match kind.matcher_type() {
            infer::MatcherType::Video => format!("a video ({})", kind.extension().to_uppercase()),
            infer::MatcherType::Audio => {
                format!("a sound file ({})", kind.extension().to_uppercase())
            }
            infer::MatcherType::Archive => {
                format!("an archive ({})", kind.extension().to_uppercase())
            }
            infer::MatcherType::Doc => "an office document".to_owned(),
            infer::MatcherType::Font => "a font".to_owned(),
            infer::MatcherType::App => "a program".to_owned(),
            _ => format!("a {} file", kind.extension().to_uppercase()),
        };
        return RenderError::NotAPhoto { what };
    }
    if let Some(text) = as_text(bytes) {
        let start = text.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase();
        if start.starts_with("<svg") || (start.starts_with("<?xml") && start.contains("<svg")) {
            return unsupported("SVG", "send a screenshot or an export of it as PNG or JPEG");
        }
        if start.starts_with("<!doctype html") || start.starts_with("<html") {
            return not_a_photo("a web page (HTML)");
        }
        return not_a_photo("text");
    }
    not_a_photo("data in no format the frame recognises")
}

/// The first kilobyte as text, if it reads as UTF-8 text (a cut in the middle of a character at
/// the end is forgiven).
fn as_text(bytes: &[u8]) -> Option<&str> {
    let head = &bytes[..bytes.len().min(1024)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return None,
    };
    let printable = text.chars().all(|c| !c.is_control() || c.is_whitespace());
    (printable && !text.is_empty()).then_some(text)
}

fn unsupported(format: &'static str, hint: &'static str) -> RenderError {
    // Spoken as letters ("an SVG", "an ICO") or as a word ("a HEIC", "a QOI"): the few names
    // here that take "an" are listed.
    let article =
        if ["AVIF", "ICO (icon)", "OpenEXR", "SVG"].contains(&format) { "an" } else { "a" };
    RenderError::UnsupportedFormat { article, format, hint }
}

fn not_a_photo(what: &str) -> RenderError {
    RenderError::NotAPhoto { what: what.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(bytes: &[u8]) -> String {
        sniff(bytes).unwrap_err().to_string()
    }

    #[test]
    fn formats_come_from_magic_numbers() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF\0").unwrap(), Format::Jpeg);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR").unwrap(), Format::Png);
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 ").unwrap(), Format::WebP);
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0").unwrap(), Format::Gif);
        assert_eq!(sniff(b"BM\x36\0\0\0\0\0\0\0\x36\0\0\0").unwrap(), Format::Bmp);
        assert_eq!(sniff(b"II*\0\x08\0\0\0").unwrap(), Format::Tiff);
        assert_eq!(sniff(b"MM\0*\0\0\0\x08").unwrap(), Format::Tiff);
    }

    #[test]
    fn other_images_are_refused_by_name() {
        let heic = [&[0, 0, 0, 0x18][..], b"ftypheic", &[0, 0, 0, 0], b"mif1heic"].concat();
        assert!(what(&heic).starts_with("this is a HEIC image, which the frame cannot decode yet"));
        let avif = [&[0, 0, 0, 0x1c][..], b"ftypavif", &[0, 0, 0, 0], b"avifmif1miaf"].concat();
        assert!(what(&avif).starts_with("this is an AVIF image"), "{}", what(&avif));
        assert!(what(b"\xEF\xBB\xBF  <svg width='1'/>").starts_with("this is an SVG image"));
        assert!(what(b"\0\0\x01\0\x01\0\x10\x10").contains("ICO"), "{}", what(b"\0\0\x01\0\x01\0"));
    }

    #[test]
    fn non_images_say_what_they_are() {
        assert_eq!(
            sniff(b"").unwrap_err().to_string(),
            "the file is empty (0 bytes): send the photo again"
        );
        assert!(what(b"%PDF-1.4\n%\xC7\xEC\x8F\xA2\n").starts_with("this is a PDF document"));
        // An all-ASCII start is still a PDF, not "text".
        assert!(what(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\n").starts_with("this is a PDF"));
        assert!(what(b"PK\x03\x04\x14\0\0\0\x08\0").starts_with("this is an archive (ZIP)"));
        assert!(what(b"ID3\x04\0\0\0\0\0\x23TSSE").starts_with("this is a sound file (MP3)"));
        assert!(what(b"hello\n").starts_with("this is text, not a photo"));
        assert!(what(b"<html><body>").starts_with("this is a web page (HTML)"));
        assert!(
            what(&[0x00, 0x9f, 0x92, 0x96, 0x01, 0xfe]).contains("no format the frame recognises")
        );
    }

    #[test]
    fn text_cut_mid_character_is_still_text() {
        let mut bytes = "Grüße aus Köln ".repeat(100).into_bytes();
        bytes.truncate(1023); // inside the two bytes of an ü or ß, within the sniffed kilobyte
        assert!(what(&bytes).starts_with("this is text"), "{}", what(&bytes));
    }
}
