//! The command line. Flags follow the README's contract; clap exits with status 2
//! on a bad flag, which is the contract's code for bad arguments.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::config::{Backend, Size};
use crate::render::{self, Fit, Matte, RenderOptions, Slide};

#[derive(Debug, Parser)]
#[command(
    name = "discord-frame",
    version,
    about = "A fullscreen photo frame filled from the Discord app"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The frame's flags; each overrides its `config.toml` key.
// The fields' doc comments are clap's help text, which names each flag's key as it is written
// in `config.toml` (`[http] port`): the brackets are meant literally, not as links.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunArgs {
    /// The configuration file (default: ~/.config/discord-frame/config.toml if it exists).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The Discord bot token (else DISCORD_BOT_TOKEN, else [discord] token).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// The address the HTTP endpoint listens on ([http] host).
    #[arg(long)]
    pub host: Option<std::net::IpAddr>,
    /// The HTTP endpoint's port; 0 picks a free one ([http] port).
    #[arg(long)]
    pub port: Option<u16>,
    /// How slides are shown ([display] backend).
    #[arg(long, value_enum)]
    pub display: Option<Backend>,
    /// The screen size when headless, WIDTHxHEIGHT ([display] size).
    #[arg(long = "size", value_name = "WxH", value_parser = parse_size)]
    pub screen_size: Option<(u32, u32)>,
    /// Where photos are kept ([library] dir).
    #[arg(long, value_name = "PATH")]
    pub data_dir: Option<PathBuf>,
    /// error, warn, info, debug, trace, or a filter ([log] level).
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Also write the log to this file.
    #[arg(long, value_name = "PATH")]
    pub log_file_path: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the frame's photo pipeline on one file and write the slide it would show.
    Render(RenderArgs),
    /// Print the configuration in effect (file and flags), with secrets redacted; exit 2 with
    /// the key and the fix when it is not valid.
    CheckConfig {
        /// Print nothing when the configuration is valid (the kiosk unit checks it this way
        /// before starting the compositor).
        #[arg(long)]
        quiet: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The photo: JPEG, PNG, WebP, GIF, BMP or TIFF (recognised by its bytes, not its name).
    pub input: PathBuf,
    /// The slide's size, as the screen's WIDTHxHEIGHT, e.g. 1920x1080.
    #[arg(long, value_parser = parse_size)]
    pub size: (u32, u32),
    /// How the photo fills the slide.
    #[arg(long, value_enum, default_value_t = Fit::Contain)]
    pub fit: Fit,
    /// What fills the bars around a photo of another shape.
    #[arg(long, value_enum, default_value_t = Matte::Blur)]
    pub matte: Matte,
    /// Where to write the slide; the format follows the extension: .png, .jpg, .ppm.
    #[arg(long)]
    pub out: PathBuf,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    s.parse::<Size>().map(|Size { width, height }| (width, height))
}

/// The slide encodings `render --out` writes, chosen by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutFormat {
    Png,
    Jpeg,
    Ppm,
}

impl OutFormat {
    fn from_path(path: &Path) -> anyhow::Result<OutFormat> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        Ok(match ext.as_str() {
            "png" => OutFormat::Png,
            "jpg" | "jpeg" => OutFormat::Jpeg,
            "ppm" => OutFormat::Ppm,
            _ => bail!(
                "--out {}: the extension decides the format; use .png, .jpg or .ppm",
                path.display()
            ),
        })
    }
}

/// `discord-frame render`: read, render, write. Every error names the file it is about.
pub fn run_render(args: &RenderArgs) -> anyhow::Result<()> {
    let out_format = OutFormat::from_path(&args.out)?;
    let bytes = std::fs::read(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let mut opts = RenderOptions::new(args.size.0, args.size.1);
    opts.fit = args.fit;
    opts.matte = args.matte;
    let slide = render::render_owned(bytes, &opts)
        .with_context(|| format!("cannot show {}", args.input.display()))?;
    write_slide(&slide, &args.out, out_format)
        .with_context(|| format!("cannot write {}", args.out.display()))
}

fn write_slide(slide: &Slide, path: &Path, format: OutFormat) -> anyhow::Result<()> {
    use image::ExtendedColorType::{Rgb8, Rgba8};
    use image::ImageFormat;
    use std::io::Write;
    let file = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::new(file);
    let (w, h) = (slide.width(), slide.height());
    match format {
        OutFormat::Png => {
            image::write_buffer_with_format(&mut out, slide.rgba(), w, h, Rgba8, ImageFormat::Png)?
        }
        OutFormat::Jpeg => {
            image::write_buffer_with_format(&mut out, &rgb(slide), w, h, Rgb8, ImageFormat::Jpeg)?
        }
        OutFormat::Ppm => {
            // Binary PPM is a one-line header and the RGB bytes: written row by row, so that
            // no second copy of the slide is made (the benchmark against libvips writes PPM).
            write!(out, "P6\n{w} {h}\n255\n")?;
            let mut row = Vec::with_capacity(w as usize * 3);
            for rgba_row in slide.rgba().chunks_exact(w as usize * 4) {
                row.clear();
                push_rgb(rgba_row, &mut row);
                out.write_all(&row)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// The slide without its alpha channel, which is always opaque.
fn rgb(slide: &Slide) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(slide.rgba().len() / 4 * 3);
    push_rgb(slide.rgba(), &mut rgb);
    rgb
}

/// Appends the RGB of each RGBA pixel in `rgba` to `out`.
fn push_rgb(rgba: &[u8], out: &mut Vec<u8>) {
    for px in rgba.chunks_exact(4) {
        out.extend_from_slice(&px[..3]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_bad_ones_say_how_to_write_them() {
        assert_eq!(parse_size("1920x1080"), Ok((1920, 1080)));
        assert_eq!(parse_size("800×480"), Ok((800, 480)));
        assert!(parse_size("1920").unwrap_err().contains("WIDTHxHEIGHT"));
        assert!(parse_size("0x10").unwrap_err().contains("1 to 7680"));
        assert!(parse_size("99999x10").is_err());
    }

    #[test]
    fn out_format_follows_the_extension() {
        assert_eq!(OutFormat::from_path(Path::new("a.PNG")).unwrap(), OutFormat::Png);
        assert_eq!(OutFormat::from_path(Path::new("a.jpeg")).unwrap(), OutFormat::Jpeg);
        assert_eq!(OutFormat::from_path(Path::new("a.ppm")).unwrap(), OutFormat::Ppm);
        let err = OutFormat::from_path(Path::new("a.gif")).unwrap_err().to_string();
        assert!(err.contains(".png, .jpg or .ppm"), "{err}");
    }
}
