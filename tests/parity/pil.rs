//! A classifier's PIL stages — `sppnet::images::pil::resize` against Pillow's own
//! `Image.resize` (Pillow 13.0.0, pinned), and `center_crop` against torchvision's — live:
//! every byte equal, for the five resampling filters, on down- and up-scalings, one-pixel
//! sides, both pass orders (Pillow 13 resamples vertically first when the height shrinks by
//! more than twice the width: the boundary `H − h = 2 (W − w)` and either side of it), and
//! crops smaller and larger (zero-padded) than the image.

use sppnet::images::pil::{center_crop, resize, Filter};
use sppnet::images::Rgb8;
use sppnet::reference::{Output, PilResizeCase, Suite};

use crate::common;

const FILTERS: [Filter; 5] = [
    Filter::Bilinear,
    Filter::Bicubic,
    Filter::Box,
    Filter::Hamming,
    Filter::Lanczos,
];

/// `h, w` → `dh, dw`, then the crop.
type Sizes = (usize, usize, usize, usize, Option<[usize; 2]>);

fn cases() -> Vec<PilResizeCase> {
    let sizes: [Sizes; 14] = [
        (1080, 810, 128, 96, Some([96, 96])),
        (300, 2000, 96, 640, Some([96, 96])),
        (1200, 90, 2986, 224, Some([224, 224])),
        (1200, 90, 800, 60, None),
        (200, 150, 150, 140, None), // H − h = 50 > 2 (W − w) = 20: vertical first
        (200, 150, 180, 140, None), // 20 = 2 · 10: horizontal first (the boundary)
        (200, 150, 179, 140, None), // 21 > 20: vertical first
        (201, 150, 100, 260, None), // width grows: vertical first
        (1, 300, 1, 160, None),
        (300, 1, 160, 1, None),
        (17, 23, 101, 7, Some([120, 5])),
        (64, 64, 32, 32, Some([40, 24])),
        (97, 55, 101, 97, Some([96, 92])), // margins 2.5: half to even
        (224, 184, 224, 184, Some([224, 224])), // no resize; a crop padded on both sides
    ];
    let mut cases = Vec::new();
    for (i, &(h, w, dh, dw, crop)) in sizes.iter().enumerate() {
        for (j, &filter) in FILTERS.iter().enumerate() {
            cases.push(PilResizeCase {
                h,
                w,
                dh,
                dw,
                filter,
                crop,
                seed: (i * FILTERS.len() + j) as u64,
            });
        }
    }
    cases
}

#[test]
fn pil_resize_and_center_crop_match_pillow_and_torchvision_byte_for_byte() {
    let dir = common::tempdir();
    let cases = cases();
    let replied = common::run_suite(
        &Suite::PilResize {
            cases: cases.clone(),
        },
        dir.path(),
    );
    let runs = &replied.case("pil_resize").unwrap().runs;
    assert_eq!(runs.len(), cases.len());
    let (mut problems, mut bytes) = (Vec::new(), 0);
    for (case, run) in cases.iter().zip(runs) {
        let src = Vec::<u8>::try_from(&replied.input(run).unwrap().flatten(0, -1)).unwrap();
        let want = replied.output(run, Output::Eval).unwrap();
        let want_bytes = Vec::<u8>::try_from(&want.flatten(0, -1)).unwrap();
        let img = Rgb8::new(case.w, case.h, src).unwrap();
        let mut got = resize(&img, case.dw, case.dh, case.filter).unwrap();
        if let Some([ch, cw]) = case.crop {
            got = center_crop(&got, ch, cw).unwrap();
        }
        bytes += want_bytes.len();
        let shape = [got.height as i64, got.width as i64, 3];
        let differ = got
            .data
            .iter()
            .zip(&want_bytes)
            .filter(|(a, b)| a != b)
            .count();
        if want.size() != shape || differ > 0 {
            problems.push(format!(
                "{}: {shape:?} vs {:?}, {differ} bytes differ",
                run.name,
                want.size()
            ));
        }
    }
    eprintln!(
        "pil resize parity: {} images, {bytes} bytes, {} problems",
        runs.len(),
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(resize(&Rgb8::new(1, 1, vec![0; 3]).unwrap(), 0, 4, Filter::Box).is_err());
}
