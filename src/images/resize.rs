//! OpenCV's `cv2.resize(…, interpolation=INTER_LINEAR)` on 8-bit images, bit for bit: the
//! fixed-point path (11-bit coefficients, rounded half to even; horizontal pass in i32, vertical
//! pass as OpenCV's vectorised `VResizeLinear` computes it). ultralytics' `LetterBox` resizes
//! with it, so the detector's input tensor depends on these exact bits (docs/ULTRALYTICS.md §7.4).

use crate::error::{Error, Result};

/// Coefficient scale: `1 << INTER_RESIZE_COEF_BITS` (11).
const ONE: f32 = 2048.0;

/// Per destination coordinate: the source index and its two fixed-point weights.
fn taps(src: usize, dst: usize, clamp_edges: bool) -> Vec<(usize, i32, i32)> {
    let scale = 1.0 / (dst as f64 / src as f64);
    (0..dst)
        .map(|d| {
            let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let mut s = f.floor();
            let mut frac = f - s;
            if clamp_edges {
                if s < 0.0 {
                    (s, frac) = (0.0, 0.0);
                }
                if s >= (src - 1) as f32 {
                    (s, frac) = ((src - 1) as f32, 0.0);
                }
            }
            let a0 = ((1.0 - frac) * ONE).round_ties_even() as i32;
            let a1 = (frac * ONE).round_ties_even() as i32;
            // Rows keep a negative start (clamped when read); columns were clamped above.
            (s.max(0.0) as usize, a0, a1)
        })
        .collect()
}

/// Resize an interleaved `h × w × c` u8 image to `dh × dw`, as `cv2.resize(INTER_LINEAR)`.
/// Refuses zero sizes and a buffer that is not `h · w · c` bytes.
pub fn resize_linear(
    src: &[u8],
    w: usize,
    h: usize,
    c: usize,
    dw: usize,
    dh: usize,
) -> Result<Vec<u8>> {
    let sizes = [w, h, c, dw, dh];
    if sizes.contains(&0) || Some(src.len()) != w.checked_mul(h).and_then(|p| p.checked_mul(c)) {
        return Err(Error::InvalidInput(format!(
            "cannot resize {} bytes as {h}×{w}×{c} to {dh}×{dw}",
            src.len()
        )));
    }
    let xs = taps(w, dw, true);
    // Rows: OpenCV keeps the weights of a clamped row (no reset), reading rows sy and sy + 1
    // clamped to the image.
    let scale_y = 1.0 / (dh as f64 / h as f64);
    let ys: Vec<(usize, usize, i32, i32)> = (0..dh)
        .map(|d| {
            let f = ((d as f64 + 0.5) * scale_y - 0.5) as f32;
            let s = f.floor();
            let frac = f - s;
            let b0 = ((1.0 - frac) * ONE).round_ties_even() as i32;
            let b1 = (frac * ONE).round_ties_even() as i32;
            let clamp = |v: f32| (v.max(0.0) as usize).min(h - 1);
            (clamp(s), clamp(s + 1.0), b0, b1)
        })
        .collect();
    // The horizontal pass of one source row, in i32 (each row computed once, kept while the
    // rows below still read it).
    // Byte offsets of each destination column's two source pixels.
    let cols: Vec<(usize, usize, i32, i32)> = xs
        .iter()
        .map(|&(sx, a0, a1)| (sx * c, (sx + 1).min(w - 1) * c, a0, a1))
        .collect();
    let row = |y: usize, out: &mut Vec<i32>| {
        let line = &src[y * w * c..(y + 1) * w * c];
        out.clear();
        out.resize(dw * c, 0);
        if c == 3 {
            for (o, &(i0, i1, a0, a1)) in out.chunks_exact_mut(3).zip(&cols) {
                let (p0, p1) = (&line[i0..i0 + 3], &line[i1..i1 + 3]);
                o[0] = i32::from(p0[0]) * a0 + i32::from(p1[0]) * a1;
                o[1] = i32::from(p0[1]) * a0 + i32::from(p1[1]) * a1;
                o[2] = i32::from(p0[2]) * a0 + i32::from(p1[2]) * a1;
            }
            return;
        }
        for (o, &(i0, i1, a0, a1)) in out.chunks_exact_mut(c).zip(&cols) {
            let (l0, l1) = (&line[i0..i0 + c], &line[i1..i1 + c]);
            for ((o, &p0), &p1) in o.iter_mut().zip(l0).zip(l1) {
                *o = i32::from(p0) * a0 + i32::from(p1) * a1;
            }
        }
    };
    // Two cached source rows (the pair the current output row blends), by source index.
    let (mut rows, mut held): ([Vec<i32>; 2], [Option<usize>; 2]) =
        ([Vec::new(), Vec::new()], [None, None]);
    let mut dst = vec![0u8; dw * dh * c];
    for (out, &(y0, y1, b0, b1)) in dst.chunks_exact_mut(dw * c).zip(&ys) {
        for y in [y0, y1] {
            if !held.contains(&Some(y)) {
                // Replace the held row that is not the other one this output row needs.
                let slot = usize::from(held[0] == Some(y0) || held[0] == Some(y1));
                row(y, &mut rows[slot]);
                held[slot] = Some(y);
            }
        }
        let at = |y: usize| usize::from(held[0] != Some(y));
        let (r0, r1) = (&rows[at(y0)], &rows[at(y1)]);
        for ((d, &p0), &p1) in out.iter_mut().zip(r0).zip(r1) {
            let v = (((b0 * (p0 >> 4)) >> 16) + ((b1 * (p1 >> 4)) >> 16) + 2) >> 2;
            *d = v.clamp(0, 255) as u8;
        }
    }
    Ok(dst)
}
