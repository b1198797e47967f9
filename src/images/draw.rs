//! Boxes and labels drawn onto an [`Rgb8`] image, the way ultralytics' `Annotator` lays them out
//! (line width `max(round((h + w) / 2 · 0.003), 2)`, label height about its font size, its 20-colour palette by class, the label
//! `name 0.87` on a filled tab above the box, or inside it at the top edge), with the public
//! domain 8×8 bitmap font of the `font8x8` crate scaled to the image, so no font file is needed.

use font8x8::legacy::BASIC_LEGACY;

use super::Rgb8;
use crate::error::{Error, Result};

/// ultralytics' `Colors` palette (`utils/plotting.py`), by class index modulo 20.
const PALETTE: [u32; 20] = [
    0x042AFF, 0x0BDBEB, 0xF3F3F3, 0x00DFB7, 0x111F68, 0xFF6FDD, 0xFF444F, 0xCCED00, 0x00F344,
    0xBD00FF, 0x00B4FF, 0xDD00BA, 0x00FFFF, 0x26C000, 0x01FFB3, 0x7D24FF, 0x7B0068, 0xFF1B6C,
    0xFC6D2F, 0xA2FF0B,
];

/// The colour of class `class`.
pub fn class_color(class: i64) -> [u8; 3] {
    let c = PALETTE[class.rem_euclid(PALETTE.len() as i64) as usize];
    [(c >> 16) as u8, (c >> 8) as u8, c as u8]
}

/// One box to draw: corners in pixels of the image, the label text and the class (its colour).
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled<'a> {
    /// `x1, y1, x2, y2`.
    pub bbox: [f32; 4],
    /// What to write on the tab (ASCII; other characters are drawn as `?`).
    pub label: &'a str,
    /// The class, for the colour.
    pub class: i64,
    /// A rotated box's corners, drawn instead of the axis-aligned box (whose top-left corner
    /// still places the label).
    pub corners: Option<[[f32; 2]; 4]>,
}

pub(crate) fn fill(img: &mut Rgb8, x0: i64, y0: i64, x1: i64, y1: i64, color: [u8; 3]) {
    let (w, h) = (img.width as i64, img.height as i64);
    let (x0, x1) = (x0.clamp(0, w), x1.clamp(0, w));
    let (y0, y1) = (y0.clamp(0, h), y1.clamp(0, h));
    for y in y0..y1 {
        let row = (y * w) as usize * 3;
        for x in x0..x1 {
            let at = row + x as usize * 3;
            img.data[at..at + 3].copy_from_slice(&color);
        }
    }
}

pub(crate) fn text(img: &mut Rgb8, x: i64, y: i64, s: &str, scale: i64, color: [u8; 3]) {
    for (i, ch) in s.chars().enumerate() {
        let code = if ch.is_ascii() && !ch.is_ascii_control() {
            ch as usize
        } else {
            '?' as usize
        };
        let glyph = BASIC_LEGACY[code];
        let gx = x + i as i64 * 8 * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits >> col & 1 == 1 {
                    let (px, py) = (gx + col * scale, y + row as i64 * scale);
                    fill(img, px, py, px + scale, py + scale, color);
                }
            }
        }
    }
}

/// Draw every box and its label onto `img`.
pub fn draw(img: &mut Rgb8, boxes: &[Labelled<'_>]) -> Result<()> {
    if img.data.len() != img.width * img.height * 3 {
        return Err(Error::InvalidInput(
            "image buffer has the wrong size".into(),
        ));
    }
    let lw = ((((img.width + img.height) as f64) / 2.0 * 0.003).round() as i64).max(2);
    // ultralytics' font size is max(round((h + w) / 2 · 0.035), 12) px; the 8-px glyphs are
    // scaled to about that height.
    let scale = ((((img.width + img.height) as f64) / 2.0 * 0.035 / 12.0).round() as i64).max(1);
    for b in boxes {
        let color = class_color(b.class);
        let (w, h) = (img.width as i64 - 1, img.height as i64 - 1);
        let at = |v: f32, hi: i64| {
            if v.is_finite() {
                (v.round() as i64).clamp(0, hi)
            } else {
                0
            }
        };
        let [x1, y1, x2, y2] = [
            at(b.bbox[0], w),
            at(b.bbox[1], h),
            at(b.bbox[2], w),
            at(b.bbox[3], h),
        ];
        if let Some(c) = &b.corners {
            super::plot::polygon(img, c, lw, color);
        } else {
            fill(img, x1, y1, x2 + 1, y1 + lw, color);
            fill(img, x1, y2 + 1 - lw, x2 + 1, y2 + 1, color);
            fill(img, x1, y1, x1 + lw, y2 + 1, color);
            fill(img, x2 + 1 - lw, y1, x2 + 1, y2 + 1, color);
        }
        let (tw, th) = (b.label.chars().count() as i64 * 8 * scale, 8 * scale);
        let pad = scale.max(2);
        let outside = y1 - th - 2 * pad >= 0;
        let top = if outside { y1 - th - 2 * pad } else { y1 };
        // Shifted left where it would run off the right edge.
        let left = x1.min(img.width as i64 - tw - 2 * pad).max(0);
        fill(
            img,
            left,
            top,
            left + tw + 2 * pad,
            top + th + 2 * pad,
            color,
        );
        let luma =
            0.299 * f64::from(color[0]) + 0.587 * f64::from(color[1]) + 0.114 * f64::from(color[2]);
        let ink = if luma > 160.0 {
            [0, 0, 0]
        } else {
            [255, 255, 255]
        };
        text(img, left + pad, top + pad, b.label, scale, ink);
    }
    Ok(())
}

/// Encode as PNG, or as JPEG (quality 95) when `jpeg`.
pub fn encode(img: &Rgb8, jpeg: bool) -> Result<Vec<u8>> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    let (w, h) = (img.width as u32, img.height as u32);
    let r = if jpeg {
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95).write_image(
            &img.data,
            w,
            h,
            image::ExtendedColorType::Rgb8,
        )
    } else {
        image::codecs::png::PngEncoder::new(&mut out).write_image(
            &img.data,
            w,
            h,
            image::ExtendedColorType::Rgb8,
        )
    };
    r.map_err(|e| Error::InvalidInput(format!("cannot encode the image: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_and_labels_land_on_the_image_and_stay_inside() {
        let mut img = Rgb8::new(64, 48, vec![0; 64 * 48 * 3]).unwrap();
        let boxes = [
            Labelled {
                bbox: [10.0, 30.0, 50.0, 47.0],
                label: "person 0.91",
                class: 0,
                corners: None,
            },
            Labelled {
                bbox: [-5.0, -5.0, 80.0, 80.0],
                label: "\u{1b}[31m",
                class: 21,
                corners: None,
            },
        ];
        draw(&mut img, &boxes).unwrap();
        let px = |x: usize, y: usize| &img.data[(y * 64 + x) * 3..(y * 64 + x) * 3 + 3];
        assert_eq!(px(10, 40), class_color(0)); // left edge of the first box
        assert_eq!(px(30, 30), class_color(0)); // top edge
        assert_eq!(px(0, 20), class_color(1)); // second box clipped to the border, colour 21 % 20
        assert_eq!(px(30, 40), [0, 0, 0]); // inside the first box: untouched
        assert_eq!(class_color(0), [0x04, 0x2A, 0xFF]);
    }

    #[test]
    fn encodes_png_and_jpeg() {
        let img = Rgb8::new(3, 2, vec![200; 18]).unwrap();
        assert!(encode(&img, false).unwrap().starts_with(b"\x89PNG"));
        assert!(encode(&img, true).unwrap().starts_with(&[0xFF, 0xD8]));
    }
}
