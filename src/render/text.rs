//! Text on slides: the welcome slide's instructions and photo captions, drawn with the bundled
//! Inter font (SIL Open Font License, `assets/Inter-LICENSE.txt`) so the frame looks the same on
//! every Pi whatever fonts are installed.

use std::sync::OnceLock;

use fontdue::{Font, FontSettings};

use super::Slide;

/// The two weights the frame uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    SemiBold,
}

fn font(weight: Weight) -> &'static Font {
    static REGULAR: OnceLock<Font> = OnceLock::new();
    static SEMIBOLD: OnceLock<Font> = OnceLock::new();
    let (cell, bytes): (_, &'static [u8]) = match weight {
        Weight::Regular => (&REGULAR, include_bytes!("../../assets/Inter-Regular.otf")),
        Weight::SemiBold => (&SEMIBOLD, include_bytes!("../../assets/Inter-SemiBold.otf")),
    };
    cell.get_or_init(|| {
        // The font is compiled in and tested, so parsing it cannot fail at run time.
        #[allow(clippy::expect_used)]
        Font::from_bytes(bytes, FontSettings::default()).expect("the bundled font parses")
    })
}

/// The width in pixels of `text` set at `px`.
pub fn measure(text: &str, px: f32, weight: Weight) -> f32 {
    let font = font(weight);
    let mut width = 0.0;
    let mut prev = None;
    for c in text.chars() {
        if let Some(p) = prev {
            width += font.horizontal_kern(p, c, px).unwrap_or(0.0);
        }
        width += font.metrics(c, px).advance_width;
        prev = Some(c);
    }
    width
}

/// Shortens `text` with an ellipsis until it fits in `max_width` pixels. One pass, stopping
/// as soon as the line is full: the time it takes is bounded by the width, not by the length
/// of the text.
pub fn fit_width(text: &str, px: f32, weight: Weight, max_width: f32) -> String {
    let font = font(weight);
    let ellipsis = font.metrics('…', px).advance_width;
    // The widest prefix that leaves room for the ellipsis, in case the whole does not fit.
    let mut cut = 0;
    let mut width = 0.0;
    let mut prev = None;
    for (i, c) in text.char_indices() {
        let kern = |next: char| prev.and_then(|p| font.horizontal_kern(p, next, px));
        if width + kern('…').unwrap_or(0.0) + ellipsis <= max_width {
            cut = i;
        }
        let next = width + kern(c).unwrap_or(0.0) + font.metrics(c, px).advance_width;
        if next > max_width {
            let kept = &text[..cut];
            return if ellipsis <= max_width { format!("{kept}…") } else { String::new() };
        }
        width = next;
        prev = Some(c);
    }
    text.to_owned()
}

/// Draws `text` on `slide` with its baseline at `baseline` and its left edge at `x`, blending
/// `color` by each glyph's coverage. Pixels outside the slide are skipped.
pub fn draw(
    slide: &mut Slide,
    text: &str,
    x: f32,
    baseline: f32,
    px: f32,
    weight: Weight,
    color: [u8; 3],
) {
    stamp(slide, text, (x, baseline), px, weight, &[((0.0, 0.0), color)]);
}

/// Draws `text` once per `(offset, colour)` in `stamps`, in order, rasterising each glyph
/// once for all of them (an outline is four dark stamps under a light one).
fn stamp(
    slide: &mut Slide,
    text: &str,
    (x, baseline): (f32, f32),
    px: f32,
    weight: Weight,
    stamps: &[((f32, f32), [u8; 3])],
) {
    let font = font(weight);
    let (sw, sh) = (slide.width as i64, slide.height as i64);
    let pixels = slide.rgba_mut();
    let mut pen = x;
    let mut prev = None;
    for c in text.chars() {
        if let Some(p) = prev {
            pen += font.horizontal_kern(p, c, px).unwrap_or(0.0);
        }
        let (m, coverage) = font.rasterize(c, px);
        for &((dx, dy), color) in stamps {
            let left = (pen + dx + m.xmin as f32).round() as i64;
            let top = (baseline + dy - m.height as f32 - m.ymin as f32).round() as i64;
            for gy in 0..m.height as i64 {
                let y = top + gy;
                if y < 0 || y >= sh {
                    continue;
                }
                for gx in 0..m.width as i64 {
                    let x = left + gx;
                    if x < 0 || x >= sw {
                        continue;
                    }
                    let a = u32::from(coverage[(gy * m.width as i64 + gx) as usize]);
                    if a == 0 {
                        continue;
                    }
                    let i = ((y * sw + x) * 4) as usize;
                    for (ch, &col) in pixels[i..i + 3].iter_mut().zip(&color) {
                        *ch = ((u32::from(*ch) * (255 - a) + u32::from(col) * a) / 255) as u8;
                    }
                }
            }
        }
        pen += m.advance_width;
        prev = Some(c);
    }
}

/// Darkens the rows `top..bottom` to `keep`/256 of their brightness: the band behind a caption.
pub fn darken_band(slide: &mut Slide, top: u32, bottom: u32, keep: u32) {
    let row = slide.width as usize * 4;
    let (top, bottom) = (top.min(slide.height) as usize, bottom.min(slide.height) as usize);
    for px in slide.rgba_mut()[top * row..bottom * row].chunks_exact_mut(4) {
        for ch in &mut px[..3] {
            *ch = ((u32::from(*ch) * keep) >> 8) as u8;
        }
    }
}

/// Draws a caption along the bottom of a slide, over a darkened band, centred and shortened
/// with an ellipsis to fit. The size follows the slide's shorter side so it reads the same on a
/// 7" panel and a TV, and a portrait screen's caption is not cut to a few words.
pub fn caption(slide: &mut Slide, text: &str) {
    // A character the font lacks (an emoji, a script Inter does not cover) would be drawn as
    // an empty box: leave it out. The stored caption keeps it.
    let font = font(Weight::Regular);
    let drawable: String =
        text.chars().filter(|&c| c.is_whitespace() || font.lookup_glyph_index(c) != 0).collect();
    let text = drawable.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return;
    }
    let px = caption_px(slide);
    let band = caption_band(slide);
    let margin = px;
    let line = fit_width(&text, px, Weight::Regular, slide.width as f32 - 2.0 * margin);
    darken_band(slide, slide.height.saturating_sub(band), slide.height, CAPTION_KEEP);
    let width = measure(&line, px, Weight::Regular);
    let x = (slide.width as f32 - width) / 2.0;
    let baseline = slide.height as f32 - band as f32 / 2.0 + px * 0.35;
    draw(slide, &line, x, baseline, px, Weight::Regular, [255, 255, 255]);
}

/// The caption's text size on `slide`.
fn caption_px(slide: &Slide) -> f32 {
    (short_side(slide) / 24.0).clamp(12.0, 64.0)
}

/// The height of the darkened band a caption is drawn on, along the bottom of `slide`.
pub fn caption_band(slide: &Slide) -> u32 {
    ((caption_px(slide) * 2.0) as u32).min(slide.height)
}

/// How much [`caption`] darkens its band: `keep`/256 of the brightness.
pub const CAPTION_KEEP: u32 = 110;

/// The slide's shorter side: what text is sized by, on landscape and portrait screens alike.
fn short_side(slide: &Slide) -> f32 {
    slide.height.min(slide.width) as f32
}

/// `[display] clock`: what the clock on the slides shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
pub enum ClockShow {
    #[default]
    #[serde(rename = "none")]
    None,
    #[serde(rename = "time")]
    Time,
    #[serde(rename = "time+date")]
    TimeAndDate,
}

/// A corner of the slide, for the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Corner {
    #[default]
    TopRight,
    TopLeft,
    BottomRight,
    BottomLeft,
}

/// Draws `lines` (the time, then maybe the date) in `corner`, white with a dark outline so
/// that they read on a snowfield and on a night sky alike. Sized by the slide's shorter side.
pub fn corner_text(slide: &mut Slide, lines: &[&str], corner: Corner) {
    let px = (short_side(slide) / 14.0).clamp(14.0, 120.0);
    let margin = px * 0.6;
    let outline = (px / 24.0).max(1.0);
    let mut baseline = match corner {
        Corner::TopRight | Corner::TopLeft => margin + px * 0.8,
        Corner::BottomRight | Corner::BottomLeft => {
            // Above the caption's band.
            slide.height as f32
                - short_side(slide) / 12.0
                - margin
                - px * 0.55 * (lines.len().saturating_sub(1)) as f32 * 1.6
        }
    };
    for (i, line) in lines.iter().enumerate() {
        let size = if i == 0 { px } else { px * 0.45 };
        let width = measure(line, size, Weight::SemiBold);
        let x = match corner {
            Corner::TopRight | Corner::BottomRight => slide.width as f32 - margin - width,
            Corner::TopLeft | Corner::BottomLeft => margin,
        };
        let (dark, light) = ([0, 0, 0], [255, 255, 255]);
        let stamps = [
            ((-outline, 0.0), dark),
            ((outline, 0.0), dark),
            ((0.0, -outline), dark),
            ((0.0, outline), dark),
            ((0.0, 0.0), light),
        ];
        stamp(slide, line, (x, baseline), size, Weight::SemiBold, &stamps);
        baseline += size * 0.5 + px * 0.55;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn black(w: u32, h: u32) -> Slide {
        let mut rgba = vec![0u8; (w * h * 4) as usize];
        rgba.chunks_exact_mut(4).for_each(|p| p[3] = 255);
        Slide::from_rgba(w, h, rgba)
    }

    #[test]
    fn text_is_drawn_where_asked_and_nowhere_else() {
        let mut s = black(200, 60);
        draw(&mut s, "Hello", 10.0, 40.0, 24.0, Weight::Regular, [255, 255, 255]);
        let lit = |x0: u32, x1: u32| {
            (0..60).any(|y| (x0..x1).any(|x| s.rgba()[((y * 200 + x) * 4) as usize] > 128))
        };
        assert!(lit(10, 80), "the word is drawn");
        assert!(!lit(120, 200), "nothing past its width");
        assert!(measure("Hello", 24.0, Weight::Regular) < 80.0);
    }

    #[test]
    fn long_captions_are_shortened_and_drawing_off_the_edge_is_safe() {
        let long = "a very long caption ".repeat(20);
        let short = fit_width(&long, 20.0, Weight::Regular, 150.0);
        assert!(short.ends_with('…') && measure(&short, 20.0, Weight::Regular) <= 150.0);
        let mut s = black(100, 40);
        caption(&mut s, &long);
        assert_eq!(fit_width("short", 20.0, Weight::Regular, 150.0), "short");
        assert_eq!(fit_width("anything", 20.0, Weight::Regular, 1.0), "");
        // Each candidate is the longest that fits: one more character would not.
        for max in [30.0, 60.0, 151.0, 400.0] {
            let short = fit_width(&long, 20.0, Weight::Regular, max);
            let kept = short.trim_end_matches('…');
            let longer: String = long.chars().take(kept.chars().count() + 1).collect();
            assert!(measure(&short, 20.0, Weight::Regular) <= max, "{max}: {short}");
            assert!(measure(&(longer + "…"), 20.0, Weight::Regular) > max, "{max}: {short}");
        }
        draw(&mut s, "edge", -30.0, 500.0, 30.0, Weight::SemiBold, [255, 0, 0]);
    }

    #[test]
    fn characters_the_font_lacks_are_left_out_never_drawn_as_boxes() {
        let font = font(Weight::Regular);
        assert_eq!(font.lookup_glyph_index('🎂'), 0, "Inter has no emoji");
        let (mut with, mut without) = (black(300, 60), black(300, 60));
        caption(&mut with, "Cake 🎂🎉 time");
        caption(&mut without, "Cake time");
        assert!(with.rgba == without.rgba, "the emoji left no box and no gap");
        let mut only = black(300, 60);
        caption(&mut only, "🎂");
        assert!(only.rgba == black(300, 60).rgba, "nothing left to draw: no band either");
    }

    #[test]
    fn the_clock_reads_on_light_and_dark_photos_in_its_corner() {
        for ground in [0u8, 255] {
            let mut slide = Slide::filled(640, 360, [ground, ground, ground, 255]);
            corner_text(&mut slide, &["10:01", "Tuesday 8 December"], Corner::TopRight);
            let (mut light, mut dark, mut left_half) = (0, 0, 0);
            for (i, p) in slide.rgba().chunks_exact(4).enumerate() {
                let x = i % 640;
                let marked = p[0] == 255 && ground == 0 || p[0] < 60 && ground == 255;
                if marked && x < 320 {
                    left_half += 1;
                }
                if p[0] > 200 {
                    light += 1;
                } else if p[0] < 60 {
                    dark += 1;
                }
            }
            // White glyphs with a dark outline: both show whatever the ground.
            assert!(light > 100 && dark > 100, "ground {ground}: {light} light, {dark} dark");
            assert_eq!(left_half, 0, "drawn in the right-hand corner");
        }
    }
}
