//! OpenCV's `findContours(mask, RETR_EXTERNAL, CHAIN_APPROX_SIMPLE)` (`imgproc/src/
//! contours_new.cpp`, OpenCV 5), step for step: what ultralytics traces instance masks with
//! (`masks2segments`). Suzuki and Abe's border following on the mask padded with a zero
//! border and thresholded to 0/1: a raster scan meets each outer border at its first pixel,
//! skips it when the last border met on the row is still open (the scan is inside another
//! component) or when it is a hole, and follows it in OpenCV's direction order, marking the
//! border pixels `2` (met) or `2 | 0x80` (its right edge). `CHAIN_APPROX_SIMPLE` keeps the
//! points where the chain changes direction. Contours come out in the order OpenCV's tree
//! iterator gives them: the last found first.

/// OpenCV's chain-code steps `(dx, dy)`, direction 0 to 7.
const STEPS: [(i64, i64); 8] = [
    (1, 0),
    (1, -1),
    (0, -1),
    (-1, -1),
    (-1, 0),
    (-1, 1),
    (0, 1),
    (1, 1),
];

const NEW: i8 = 2;
const RIGHT: i8 = -128; // 0x80 as schar
const FLAGS: i8 = -2; // 0xFE as schar

struct Image {
    px: Vec<i8>,
    step: i64,
}

impl Image {
    fn at(&self, i: i64) -> i8 {
        self.px[i as usize]
    }
    fn delta(&self, s: i8) -> i64 {
        let (dx, dy) = STEPS[(s % 8) as usize];
        dx + dy * self.step
    }
}

/// The outer contours of the non-zero pixels of an `h × w` mask, each a list of `(x, y)`
/// points, in OpenCV's order.
pub fn external_simple(mask: &[u8], h: usize, w: usize) -> Vec<Vec<[i32; 2]>> {
    if h == 0 || w == 0 || mask.len() != h * w {
        return vec![];
    }
    let (ih, iw) = (h as i64 + 2, w as i64 + 2);
    let mut img = Image {
        px: vec![0i8; (ih * iw) as usize],
        step: iw,
    };
    for y in 0..h {
        for x in 0..w {
            img.px[(y + 1) * iw as usize + x + 1] = i8::from(mask[y * w + x] != 0);
        }
    }
    let mut found = Vec::new();
    let (width, height) = (iw - 1, ih - 1);
    for y in 1..height {
        // `findNext` per row: `prev` the pixel left of x, `last` the last border met.
        let (mut prev, mut last_x) = (0i8, 0i64);
        let mut x = 1;
        while x < width {
            let mut p = img.at(y * iw + x);
            while x < width && p == prev {
                x += 1;
                if x < width {
                    p = img.at(y * iw + x);
                }
            }
            if x >= width {
                break;
            }
            let mut is_hole = false;
            let outer = prev == 0 && p == 1;
            let mut skip = false;
            if !outer {
                if p != 0 || prev < 1 {
                    skip = true;
                } else {
                    if prev & FLAGS != 0 {
                        last_x = x - 1;
                    }
                    is_hole = true;
                }
            }
            if !skip && (is_hole || img.at(y * iw + last_x) > 0) {
                skip = true;
            }
            if skip {
                prev = p;
                if prev & FLAGS != 0 {
                    last_x = x;
                }
                x += 1;
                continue;
            }
            last_x = x;
            found.push(follow(&mut img, x, y));
            // The scan resumes right of the start, `prev` being the start as now marked.
            prev = img.at(y * iw + x);
            x += 1;
        }
    }
    found.reverse();
    found
}

/// `icvFetchContourEx` of an outer border starting at `(x, y)` of the padded image, with
/// `CHAIN_APPROX_SIMPLE`; points in the mask's coordinates.
fn follow(img: &mut Image, x: i64, y: i64) -> Vec<[i32; 2]> {
    let i0 = y * img.step + x;
    let mut pt = [x as i32 - 1, y as i32 - 1];
    let mut pts = Vec::new();
    let s_end = 4i8;
    let mut s = s_end;
    let mut i1;
    loop {
        s = (s - 1) & 7;
        i1 = i0 + img.delta(s);
        if img.at(i1) != 0 || s == s_end {
            break;
        }
    }
    if s == s_end {
        img.px[i0 as usize] = NEW | RIGHT;
        pts.push(pt);
        return pts;
    }
    let mut i3 = i0;
    let mut prev_s = s ^ 4;
    loop {
        let s_end = s;
        s = s.min(15);
        let mut i4 = i3;
        while s < 15 {
            s += 1;
            i4 = i3 + img.delta(s);
            if img.at(i4) != 0 {
                break;
            }
        }
        s &= 7;
        if ((s as u8).wrapping_sub(1)) < s_end as u8 {
            img.px[i3 as usize] = NEW | RIGHT;
        } else if img.at(i3) == 1 {
            img.px[i3 as usize] = NEW;
        }
        if s != prev_s {
            pts.push(pt);
        }
        prev_s = s;
        let (dx, dy) = STEPS[s as usize];
        pt = [pt[0] + dx as i32, pt[1] + dy as i32];
        if i4 == i0 && i3 == i1 {
            break;
        }
        i3 = i4;
        s = (s + 4) & 7;
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_gives_its_four_corners_from_the_top_left() {
        let mut m = vec![0u8; 36];
        for y in 1..4 {
            for x in 2..5 {
                m[y * 6 + x] = 255;
            }
        }
        assert_eq!(
            external_simple(&m, 6, 6),
            vec![vec![[2, 1], [2, 3], [4, 3], [4, 1]]]
        );
        assert_eq!(external_simple(&[9], 1, 1), vec![vec![[0, 0]]]);
    }
}
