//! A segmentation result's polygons, `result.masks.xy` (ultralytics 8.4.190): each mask's outer
//! contours (`cv2.findContours(RETR_EXTERNAL, CHAIN_APPROX_SIMPLE)`, [`external_simple`]),
//! merged into one polygon as `masks2segments(strategy="all")` merges them
//! (`merge_multi_segment`: consecutive contours joined at their closest points, walked there
//! and back), then `scale_coords` onto the original image in f32.

use crate::images::contours::external_simple;
use crate::images::letterbox::Gains;

/// `min_index`: the first pair (row-major) at the smallest squared distance, in i32 as
/// numpy computes it on the int32 contours.
fn min_index(a: &[[i32; 2]], b: &[[i32; 2]]) -> (usize, usize) {
    let mut best = (i64::MAX, 0, 0);
    for (i, p) in a.iter().enumerate() {
        for (j, q) in b.iter().enumerate() {
            let (dx, dy) = (p[0].wrapping_sub(q[0]), p[1].wrapping_sub(q[1]));
            let d = i64::from(dx.wrapping_mul(dx).wrapping_add(dy.wrapping_mul(dy)));
            if d < best.0 {
                best = (d, i, j);
            }
        }
    }
    (best.1, best.2)
}

/// `merge_multi_segment`, for two contours or more.
fn merge(mut segments: Vec<Vec<[i32; 2]>>) -> Vec<[i32; 2]> {
    let n = segments.len();
    let mut idx: Vec<Vec<usize>> = vec![vec![]; n];
    for i in 1..n {
        let (a, b) = min_index(&segments[i - 1], &segments[i]);
        idx[i - 1].push(a);
        idx[i].push(b);
    }
    let mut out = Vec::new();
    for (i, seg) in segments.iter_mut().enumerate() {
        let mut ix = idx[i].clone();
        if ix.len() == 2 && ix[0] > ix[1] {
            ix = ix.iter().map(|&x| seg.len() - 1 - x).collect();
            seg.reverse();
        }
        let len = seg.len();
        seg.rotate_left(ix[0] % len);
        seg.push(seg[0]);
        if i == 0 || i == n - 1 {
            out.extend_from_slice(seg);
        } else {
            out.extend_from_slice(&seg[..=ix[1] - ix[0]]);
        }
    }
    for i in (1..n - 1).rev() {
        let back = idx[i][0].abs_diff(idx[i][1]);
        out.extend_from_slice(&segments[i][back..]);
    }
    out
}

/// The part of a mask that holds all its set pixels: row-major 0/1 pixels, `(h, w)`, at
/// `(row, column)` of the whole mask.
pub struct Window<'a> {
    /// The pixels.
    pub pixels: &'a [u8],
    /// Its `(h, w)`.
    pub size: (usize, usize),
    /// Its top-left corner in the mask.
    pub at: (usize, usize),
}

/// `masks.xy[i]` of a `(mh, mw)` mask, all of whose set pixels are in `window`, on an
/// `original` `(h, w)` image. (OpenCV's raster scan meets a window's borders in the order it
/// meets them in the whole mask, so tracing the window and shifting is the same.)
pub fn polygon(
    window: &Window<'_>,
    (mh, mw): (usize, usize),
    original: (usize, usize),
) -> Vec<[f32; 2]> {
    let (dy, dx) = (window.at.0 as i32, window.at.1 as i32);
    let contours: Vec<Vec<[i32; 2]>> = external_simple(window.pixels, window.size.0, window.size.1)
        .into_iter()
        .map(|c| c.into_iter().map(|[x, y]| [x + dx, y + dy]).collect())
        .collect();
    let points = match contours.len() {
        0 => vec![],
        1 => contours.into_iter().next().unwrap_or_default(),
        _ => merge(contours),
    };
    let g = Gains::new((mh, mw), original);
    points
        .into_iter()
        .map(|[x, y]| g.point(x as f32, y as f32))
        .collect()
}
