//! The one error type of the photo pipeline. Each message is written for the person who sent
//! the photo: it says what was wrong and what to do, in plain words, and names the config key
//! when a limit set by the frame's owner is the reason.

/// Why a photo cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Nothing arrived: an upload that failed half-way, or an empty file.
    #[error("the file is empty (0 bytes): send the photo again")]
    Empty,

    /// The bytes are something other than an image (text, a document, a video, an archive).
    #[error("this is {what}, not a photo: send a JPEG, PNG, WebP, GIF, BMP or TIFF image")]
    NotAPhoto {
        /// What the bytes look like, with its article: "a PDF document", "text".
        what: String,
    },

    /// An image format the frame recognises but has no decoder for.
    #[error("this is {article} {format} image, which the frame cannot decode yet: {hint}")]
    UnsupportedFormat {
        /// "a" or "an", as the name is spoken: "an SVG", "a HEIC".
        article: &'static str,
        /// The format's usual name: "HEIC", "AVIF", "SVG".
        format: &'static str,
        /// What the sender can do instead.
        hint: &'static str,
    },

    /// A format the frame decodes, using a feature its decoder lacks (a rare TIFF compression,
    /// a 16-bit BMP, ...).
    #[error("this {format} file uses a feature the frame cannot decode ({detail}): send it as a JPEG instead")]
    UnsupportedVariant { format: &'static str, detail: String },

    /// The header says the image has no pixels at all.
    #[error("the {format} file says it is {width}×{height} pixels, which is empty: it is damaged; send the photo again")]
    ZeroSize { format: &'static str, width: u32, height: u32 },

    /// The header's dimensions are over `[limits] max_megapixels`; refused before any decoding.
    #[error("{width}×{height} is over the {limit_mp} MP limit ([limits] max_megapixels): send a smaller photo")]
    TooManyPixels { width: u32, height: u32, limit_mp: u64 },

    /// Decoding would need more memory than `[limits] max_decode_mb`; refused before allocating.
    #[error("decoding this {width}×{height} {format} would need {needed_mb} MB of memory, over the {budget_mb} MB budget ([limits] max_decode_mb): send a smaller photo, or a JPEG")]
    OverBudget { format: &'static str, width: u32, height: u32, needed_mb: u64, budget_mb: u64 },

    /// The file starts like an image but its data is damaged or cut short.
    #[error("the {format} file is damaged or incomplete and could not be decoded ({detail}): send the photo again")]
    Corrupt {
        format: &'static str,
        /// The decoder's own words, for whoever reads the log.
        detail: String,
    },
}

impl RenderError {
    /// Sorts errors by what the sender can do about them, so that an HTTP endpoint or a chat
    /// reply can pick a status or an emoji without matching on every variant.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RenderError::Empty | RenderError::ZeroSize { .. } | RenderError::Corrupt { .. } => {
                ErrorKind::Damaged
            }
            RenderError::NotAPhoto { .. }
            | RenderError::UnsupportedFormat { .. }
            | RenderError::UnsupportedVariant { .. } => ErrorKind::Unsupported,
            RenderError::TooManyPixels { .. } | RenderError::OverBudget { .. } => {
                ErrorKind::TooLarge
            }
        }
    }
}

/// What the sender can do about a [`RenderError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Send the same photo again: the bytes are empty, cut short or corrupt.
    Damaged,
    /// Send it in another format: the bytes are not an image the frame decodes.
    Unsupported,
    /// Send a smaller photo: it is over a limit set in `[limits]`.
    TooLarge,
}
