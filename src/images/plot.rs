//! The drawing primitives of ultralytics' `Annotator` beyond boxes, on an [`Rgb8`]: thick lines
//! and polygons (rotated boxes, skeletons), filled discs (keypoints), colour blends (instance
//! masks at 0.5, a semantic class map at 0.5, a depth heat map at 0.6) and a text panel
//! (a classifier's top 5). Pictures for people to look at: laid out as upstream lays them out,
//! not bit for bit (upstream draws with OpenCV's anti-aliased primitives).

use super::draw::{class_color, fill, text};
use super::Rgb8;

/// ultralytics' pose palette (`Colors.pose_palette`), RGB.
const POSE: [[u8; 3]; 20] = [
    [255, 128, 0],
    [255, 153, 51],
    [255, 178, 102],
    [230, 230, 0],
    [255, 153, 255],
    [153, 204, 255],
    [255, 102, 255],
    [255, 51, 255],
    [102, 178, 255],
    [51, 153, 255],
    [255, 153, 153],
    [255, 102, 102],
    [255, 51, 51],
    [153, 255, 153],
    [102, 255, 102],
    [51, 255, 51],
    [0, 255, 0],
    [0, 0, 255],
    [255, 0, 0],
    [255, 255, 255],
];

/// The COCO skeleton (1-based keypoint pairs) and each limb's and keypoint's palette index, as
/// `Annotator` draws a 17-keypoint pose.
const SKELETON: [[usize; 2]; 19] = [
    [16, 14],
    [14, 12],
    [17, 15],
    [15, 13],
    [12, 13],
    [6, 12],
    [7, 13],
    [6, 7],
    [6, 8],
    [7, 9],
    [8, 10],
    [9, 11],
    [2, 3],
    [1, 2],
    [1, 3],
    [2, 4],
    [3, 5],
    [4, 6],
    [5, 7],
];
const LIMB: [usize; 19] = [
    9, 9, 9, 9, 7, 7, 7, 0, 0, 0, 0, 0, 16, 16, 16, 16, 16, 16, 16,
];
const KPT: [usize; 17] = [16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9];

/// `Annotator`'s line width for an image: `max(round((h + w) / 2 · 0.003), 2)`.
pub fn line_width(img: &Rgb8) -> i64 {
    ((((img.width + img.height) as f64) / 2.0 * 0.003).round() as i64).max(2)
}

/// A filled disc.
pub fn disc(img: &mut Rgb8, cx: f32, cy: f32, r: i64, color: [u8; 3]) {
    if !(cx.is_finite() && cy.is_finite()) {
        return;
    }
    let (cx, cy) = (cx as i64, cy as i64);
    for dy in -r..=r {
        let half = ((r * r - dy * dy) as f64).sqrt() as i64;
        fill(img, cx - half, cy + dy, cx + half + 1, cy + dy + 1, color);
    }
}

/// A line `lw` pixels thick (square stamps along it).
pub fn line(img: &mut Rgb8, a: [f32; 2], b: [f32; 2], lw: i64, color: [u8; 3]) {
    if !a.iter().chain(&b).all(|v| v.is_finite() && v.abs() < 1e6) {
        return;
    }
    let n = (b[0] - a[0]).abs().max((b[1] - a[1]).abs()).ceil().max(1.0) as i64;
    let (h0, h1) = (lw / 2, lw - lw / 2);
    for i in 0..=n {
        let t = i as f32 / n as f32;
        let (x, y) = (
            (a[0] + (b[0] - a[0]) * t).round() as i64,
            (a[1] + (b[1] - a[1]) * t).round() as i64,
        );
        fill(img, x - h0, y - h0, x + h1, y + h1, color);
    }
}

/// A closed polygon's outline.
pub fn polygon(img: &mut Rgb8, points: &[[f32; 2]], lw: i64, color: [u8; 3]) {
    for (i, &p) in points.iter().enumerate() {
        line(img, p, points[(i + 1) % points.len()], lw, color);
    }
}

/// `Annotator.kpts`: each keypoint (visibility ≥ 0.25, or not at `(0, 0)` without one) as a
/// disc, and for 17 keypoints the COCO skeleton.
pub fn keypoints(img: &mut Rgb8, kpts: &[Vec<f32>], lw: i64) {
    let pose = kpts.len() == 17;
    let seen = |k: &Vec<f32>| match k[..] {
        [x, y, v] => v >= 0.25 && x.is_finite() && y.is_finite(),
        [x, y] => !(x == 0.0 && y == 0.0),
        _ => false,
    };
    if pose {
        for (limb, &[a, b]) in SKELETON.iter().enumerate() {
            let (p, q) = (&kpts[a - 1], &kpts[b - 1]);
            let inside = |k: &Vec<f32>| {
                k[0] >= 0.0 && k[1] >= 0.0 && k[0] < img.width as f32 && k[1] < img.height as f32
            };
            if seen(p) && seen(q) && inside(p) && inside(q) {
                let color = POSE[LIMB[limb]];
                line(img, [p[0], p[1]], [q[0], q[1]], (lw / 2).max(1), color);
            }
        }
    }
    for (i, k) in kpts.iter().enumerate() {
        if k.len() >= 2 && seen(k) {
            let color = match pose {
                true => POSE[KPT[i]],
                false => class_color(i as i64),
            };
            disc(img, k[0], k[1], lw.max(2), color);
        }
    }
}

/// `addWeighted(img, 1 − alpha, overlay, alpha)` wherever `colors` gives a colour.
pub fn blend(img: &mut Rgb8, alpha: f32, mut colors: impl FnMut(usize, usize) -> Option<[u8; 3]>) {
    let w = img.width;
    for (i, px) in img.data.chunks_exact_mut(3).enumerate() {
        if let Some(c) = colors(i % w, i / w) {
            for (p, &c) in px.iter_mut().zip(&c) {
                *p = (f32::from(*p) * (1.0 - alpha) + f32::from(c) * alpha).round() as u8;
            }
        }
    }
}

/// The jet colour map at `t` in `[0, 1]`.
pub fn jet(t: f32) -> [u8; 3] {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let ch = |c: f32| ((1.5 - (4.0 * t - c).abs()).clamp(0.0, 1.0) * 255.0) as u8;
    [ch(3.0), ch(2.0), ch(1.0)]
}

/// Text lines on a grey panel at `(x, y)`, as `Annotator.text` writes a classifier's top 5.
pub fn panel(img: &mut Rgb8, x: i64, y: i64, lines: &[String]) {
    let scale = ((((img.width + img.height) as f64) / 2.0 * 0.035 / 12.0).round() as i64).max(1);
    let (pad, th) = (scale.max(2), 8 * scale);
    let tw = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) as i64 * 8 * scale;
    let bottom = y + lines.len() as i64 * (th + pad) + pad;
    let grey = |img: &mut Rgb8| {
        blend(img, 0.5, |px, py| {
            let (px, py) = (px as i64, py as i64);
            (px >= x && px < x + tw + 2 * pad && py >= y && py < bottom).then_some([64, 64, 64])
        })
    };
    grey(img);
    for (i, l) in lines.iter().enumerate() {
        let ty = y + pad + i as i64 * (th + pad);
        text(img, x + pad, ty, l, scale, [255, 255, 255]);
    }
}
