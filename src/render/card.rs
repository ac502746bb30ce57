//! The pairing card drawn over whatever the screen shows: the code in large digits and a QR
//! code of the page's address with the code, so that a phone's camera opens the page paired.
//! And the QR code alone, for the welcome slide's address.

use qrcode::{Color, EcLevel, QrCode};

use super::text::{self, Weight};
use super::Slide;

/// What the screen shows while a pairing code is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingCard {
    /// Six digits.
    pub code: String,
    /// The page's address with the code (`http://…/#pair=123456`): what the QR code holds.
    pub address: String,
    /// How long the code lasts, for the line under it.
    pub minutes: u64,
}

const PANEL: [u8; 3] = [18, 22, 32];

impl PairingCard {
    /// `slide` with the card in its middle: side by side on a landscape screen, the QR code
    /// above the words on a portrait one.
    pub fn draw(&self, slide: &Slide) -> Slide {
        let mut shown = slide.clone();
        let (w, h) = (slide.width() as f32, slide.height() as f32);
        let portrait = h > w;
        let (pw, ph) = if portrait {
            (w * 0.9, (w * 0.9 * 1.45).min(h * 0.92))
        } else {
            let ph = h * 0.6;
            ((ph * 2.2).min(w * 0.92), ph)
        };
        let (px0, py0) = ((w - pw) / 2.0, (h - ph) / 2.0);
        fill(&mut shown, px0, py0, pw, ph, PANEL);
        let pad = ph.min(pw) * 0.07;
        let qr_side = if portrait { (pw * 0.55).min(ph * 0.5) } else { ph - 2.0 * pad };
        let (qx, qy) =
            if portrait { ((w - qr_side) / 2.0, py0 + pad) } else { (px0 + pad, py0 + pad) };
        draw_qr(&mut shown, &self.address, qx, qy, qr_side);

        let (tx, mut y, max_w) = if portrait {
            (px0 + pad, qy + qr_side + pad, pw - 2.0 * pad)
        } else {
            let tx = qx + qr_side + pad;
            (tx, py0 + pad, px0 + pw - pad - tx)
        };
        let unit = if portrait { (ph - qr_side - 3.0 * pad) / 6.0 } else { (ph - 2.0 * pad) / 6.5 };
        let spaced = format!(
            "{} {}",
            &self.code[..3.min(self.code.len())],
            &self.code[3.min(self.code.len())..]
        );
        let minutes = format!("It works for {} minutes.", self.minutes);
        let lines: [(&str, f32, Weight, [u8; 3]); 5] = [
            ("Pair a phone", unit * 0.8, Weight::SemiBold, [190, 200, 230]),
            (&spaced, unit * 2.2, Weight::SemiBold, [255, 255, 255]),
            ("Type this code on the frame's page,", unit * 0.6, Weight::Regular, [230, 230, 230]),
            ("or scan the square with the phone.", unit * 0.6, Weight::Regular, [230, 230, 230]),
            (&minutes, unit * 0.5, Weight::Regular, [190, 200, 230]),
        ];
        for (line, px, weight, color) in lines {
            // Smaller rather than cut: every word of these matters.
            let px = px.min(max_w * 97.0 / text::measure(line, 100.0, weight).max(1.0));
            y += px * 1.25;
            let fitted = text::fit_width(line, px, weight, max_w);
            text::draw(&mut shown, &fitted, tx, y, px, weight, color);
            y += px * 0.2;
        }
        shown
    }
}

/// Draws `data` as a QR code, black on white with its quiet zone, in the square at (`x`,
/// `y`) of side `side`, with whole pixels per module so that cameras read it sharp.
pub fn draw_qr(slide: &mut Slide, data: &str, x: f32, y: f32, side: f32) {
    let Ok(code) = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M) else {
        return;
    };
    let modules = code.width();
    let colors = code.to_colors();
    // Four modules of quiet zone on each side, as the standard asks.
    let span = modules + 8;
    let module = ((side / span as f32).floor() as usize).max(1);
    let drawn = (span * module) as f32;
    let (x0, y0) = (x + (side - drawn) / 2.0, y + (side - drawn) / 2.0);
    fill(slide, x0, y0, drawn, drawn, [255, 255, 255]);
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (mx, my) = (i % modules + 4, i / modules + 4);
            let (fx, fy) = (x0 + (mx * module) as f32, y0 + (my * module) as f32);
            fill(slide, fx, fy, module as f32, module as f32, [0, 0, 0]);
        }
    }
}

/// Fills a rectangle (clipped to the slide) with `color`.
fn fill(slide: &mut Slide, x: f32, y: f32, w: f32, h: f32, [r, g, b]: [u8; 3]) {
    let (sw, sh) = (slide.width() as i64, slide.height() as i64);
    let (x0, y0) = ((x.round() as i64).clamp(0, sw), (y.round() as i64).clamp(0, sh));
    let (x1, y1) = (((x + w).round() as i64).clamp(0, sw), ((y + h).round() as i64).clamp(0, sh));
    let stride = sw as usize * 4;
    let rgba = slide.rgba_mut();
    for row in y0..y1 {
        let start = row as usize * stride + x0 as usize * 4;
        let end = row as usize * stride + x1 as usize * 4;
        for px in rgba[start..end].chunks_exact_mut(4) {
            px.copy_from_slice(&[r, g, b, 255]);
        }
    }
}

#[cfg(test)]
/// Reads the QR codes on `slide` as a camera would.
pub(crate) fn read_qr(slide: &Slide) -> Vec<String> {
    let (w, h) = slide.size();
    let rgba = slide.rgba();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
            let i = (y * w as usize + x) * 4;
            ((u32::from(rgba[i]) + u32::from(rgba[i + 1]) + u32::from(rgba[i + 2])) / 3) as u8
        });
    prepared.detect_grids().iter().filter_map(|g| g.decode().ok()).map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo_like(w: u32, h: u32) -> Slide {
        let mut slide = Slide::filled(w, h, [0, 0, 0, 255]);
        for (i, p) in slide.rgba_mut().chunks_exact_mut(4).enumerate() {
            p[0] = (i % 251) as u8;
            p[1] = (i / 7 % 253) as u8;
        }
        slide
    }

    #[test]
    fn a_camera_reads_the_card_on_landscape_and_portrait_screens() {
        let card = PairingCard {
            code: "482913".into(),
            address: "http://192.168.1.20:8080/#pair=482913".into(),
            minutes: 5,
        };
        for (w, h) in [(1920, 1080), (1080, 1920), (800, 480), (480, 800), (320, 180)] {
            let shown = card.draw(&photo_like(w, h));
            assert_eq!(read_qr(&shown), vec![card.address.clone()], "{w}x{h}");
        }
    }
}
