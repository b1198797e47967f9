//! The pre- and post-processing of `sppnet detect`, live against the libraries ultralytics calls:
//! `sppnet::images::resize::resize_linear` against OpenCV's own `cv2.resize(INTER_LINEAR)`
//! (opencv-python, pinned with ultralytics), live: every output byte equal, on down- and
//! up-scalings, exact halves and doubles, 1-pixel-wide images, non-square sizes, 1 and 3
//! channels, and images with flat 0 / 255 regions.

use crate::common;

use sppnet::images::resize::resize_linear;

/// A seeded xorshift source of sizes in `lo..hi`.
fn sizes(mut s: u64) -> impl FnMut(usize, usize) -> usize {
    move |lo, hi| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        lo + (s % (hi - lo) as u64) as usize
    }
}
use sppnet::reference::{Output, ResizeCase, Suite};

fn cases() -> Vec<ResizeCase> {
    let mut cases = Vec::new();
    let fixed = [
        (333, 517, 206, 320),
        (720, 1280, 360, 640),
        (64, 64, 32, 32),
        (32, 48, 64, 96),
        (1, 300, 1, 160),
        (300, 1, 160, 1),
        (100, 332, 96, 320),
        (17, 23, 101, 7),
        (480, 640, 480, 641),
    ];
    for (i, &(h, w, dh, dw)) in fixed.iter().enumerate() {
        cases.push(ResizeCase {
            h,
            w,
            c: 3,
            dh,
            dw,
            seed: i as u64,
        });
    }
    // Seeded random sizes, 20..700 px, both directions, 1 and 3 channels.
    let mut next = sizes(0x2545F4914F6CDD1D);
    for i in 0..40 {
        let (h, w) = (next(20, 700), next(20, 700));
        let (dh, dw) = (next(8, 700), next(8, 700));
        let c = if i % 5 == 0 { 1 } else { 3 };
        cases.push(ResizeCase {
            h,
            w,
            c,
            dh,
            dw,
            seed: 100 + i,
        });
    }
    cases
}

#[test]
fn resize_matches_opencv_inter_linear_byte_for_byte() {
    let dir = common::tempdir();
    let cases = cases();
    let replied = common::run_suite(
        &Suite::Resize {
            cases: cases.clone(),
        },
        dir.path(),
    );
    let runs = &replied.case("resize").unwrap().runs;
    assert_eq!(runs.len(), cases.len());
    let mut problems = Vec::new();
    for (case, run) in cases.iter().zip(runs) {
        let img = replied.input(run).unwrap();
        let src: Vec<u8> = Vec::try_from(&img.flatten(0, -1)).unwrap();
        let want: Vec<u8> =
            Vec::try_from(&replied.output(run, Output::Eval).unwrap().flatten(0, -1)).unwrap();
        let got = resize_linear(&src, case.w, case.h, case.c, case.dw, case.dh).unwrap();
        let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        if got.len() != want.len() || differ > 0 {
            problems.push(format!(
                "{}: {differ} of {} bytes differ",
                run.name,
                want.len()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(resize_linear(&[0; 12], 2, 2, 3, 0, 4).is_err());
    assert!(resize_linear(&[0; 11], 2, 2, 3, 4, 4).is_err());
}

/// `sppnet::ops::nms::nms` against `torchvision.ops.nms` itself: 60 seeded box sets of 1 to
/// 400 boxes on a coarse grid (equal, nested and zero-area boxes) with scores from 6 levels
/// (many ties), at IoU 0.45, 0.5 and 0.7: the same indices in the same order.
#[test]
fn nms_matches_torchvision_index_for_index() {
    use sppnet::ops::nms::nms;
    use sppnet::reference::NmsCase;
    let dir = common::tempdir();
    let cases: Vec<NmsCase> = (0..60)
        .map(|i| NmsCase {
            n: [1, 2, 7, 50, 400][i % 5],
            seed: 500 + i as u64,
            iou: [0.45, 0.5, 0.7][i % 3],
        })
        .collect();
    let replied = common::run_suite(
        &Suite::Nms {
            cases: cases.clone(),
        },
        dir.path(),
    );
    let runs = &replied.case("nms").unwrap().runs;
    assert_eq!(runs.len(), cases.len());
    let mut problems = Vec::new();
    let mut kept = 0;
    for (case, run) in cases.iter().zip(runs) {
        let rows: Vec<f32> = Vec::try_from(&replied.input(run).unwrap().flatten(0, -1)).unwrap();
        let boxes: Vec<[f32; 4]> = rows.chunks(5).map(|r| [r[0], r[1], r[2], r[3]]).collect();
        let scores: Vec<f32> = rows.chunks(5).map(|r| r[4]).collect();
        let want: Vec<i64> = Vec::try_from(replied.output(run, Output::Eval).unwrap()).unwrap();
        let got: Vec<i64> = nms(&boxes, &scores, case.iou)
            .unwrap()
            .into_iter()
            .map(|i| i as i64)
            .collect();
        kept += want.len();
        if got != want {
            problems.push(format!("{}: kept {got:?}, torchvision {want:?}", run.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(kept > 1000, "too few boxes kept ({kept}) to test much");
    assert!(nms(&[[0.0; 4]], &[], 0.5).is_err());
}

/// `sppnet::images::letterbox::Letterbox` against ultralytics' own `LetterBox`: 48 seeded
/// images from 1×1 to 700 px, imgsz 320 / 640 / 333, minimal (`auto`, strides 32 and 64) and
/// full padding — every output byte and the padded size equal.
#[test]
fn letterbox_matches_ultralytics_byte_for_byte() {
    use sppnet::images::letterbox::Letterbox;
    use sppnet::reference::LetterboxCase;
    let dir = common::tempdir();
    let mut next = sizes(0x9E3779B97F4A7C15);
    let mut cases: Vec<LetterboxCase> = [
        (333, 517),
        (100, 332),
        (100, 497),
        (1, 1),
        (1, 700),
        (640, 640),
    ]
    .iter()
    .map(|&(h, w)| LetterboxCase {
        h,
        w,
        imgsz: 320,
        auto: true,
        stride: 32,
        seed: h as u64,
    })
    .collect();
    for i in 0..42 {
        cases.push(LetterboxCase {
            h: next(1, 700),
            w: next(1, 700),
            imgsz: [320, 640, 333][i % 3],
            auto: i % 4 != 0,
            stride: if i % 5 == 0 { 64 } else { 32 },
            seed: 900 + i as u64,
        });
    }
    let replied = common::run_suite(
        &Suite::Letterbox {
            cases: cases.clone(),
        },
        dir.path(),
    );
    let runs = &replied.case("letterbox").unwrap().runs;
    assert_eq!(runs.len(), cases.len());
    let mut problems = Vec::new();
    for (case, run) in cases.iter().zip(runs) {
        let src: Vec<u8> = Vec::try_from(&replied.input(run).unwrap().flatten(0, -1)).unwrap();
        let want_t = replied.output(run, Output::Eval).unwrap();
        let want: Vec<u8> = Vec::try_from(&want_t.flatten(0, -1)).unwrap();
        let lb = Letterbox::params(
            case.h,
            case.w,
            case.imgsz,
            case.imgsz,
            case.stride,
            case.auto,
        )
        .unwrap();
        let (pw, ph) = lb.size();
        let got = lb.apply(&src, case.w, case.h, 3).unwrap();
        let shape = want_t.size();
        if [ph as i64, pw as i64, 3] != shape.as_slice() || got != want {
            let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
            problems.push(format!(
                "{}: ours {ph}×{pw}, theirs {shape:?}, {differ} bytes differ",
                run.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(Letterbox::params(0, 5, 320, 320, 32, true).is_err());
}

/// `sppnet::images::letterbox::scale_boxes` against ultralytics' `ops.scale_boxes` (with its
/// clipping): boxes from the letterboxes of 40 seeded image sizes (and boxes outside the image),
/// every coordinate bitwise equal.
#[test]
fn scale_boxes_matches_ultralytics_bitwise() {
    use sppnet::images::letterbox::{scale_boxes, Letterbox};
    use sppnet::reference::ScaleBoxesCase;
    let dir = common::tempdir();
    let mut next = sizes(0xD1B54A32D192ED03);
    let cases: Vec<ScaleBoxesCase> = (0..40)
        .map(|i| {
            let (h0, w0) = if i == 0 {
                (100, 332)
            } else {
                (next(1, 2000), next(1, 2000))
            };
            let imgsz = [320, 640, 1280][i % 3];
            let lb = Letterbox::params(h0, w0, imgsz, imgsz, 32, i % 4 != 0).unwrap();
            let (w1, h1) = lb.size();
            ScaleBoxesCase {
                h1,
                w1,
                h0,
                w0,
                n: 50,
                seed: 1300 + i as u64,
            }
        })
        .collect();
    let replied = common::run_suite(
        &Suite::ScaleBoxes {
            cases: cases.clone(),
        },
        dir.path(),
    );
    let runs = &replied.case("scale_boxes").unwrap().runs;
    assert_eq!(runs.len(), cases.len());
    let mut problems = Vec::new();
    for (case, run) in cases.iter().zip(runs) {
        let flat: Vec<f32> = Vec::try_from(&replied.input(run).unwrap().flatten(0, -1)).unwrap();
        let mut boxes: Vec<[f32; 4]> = flat.chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
        scale_boxes((case.h1, case.w1), &mut boxes, (case.h0, case.w0));
        let want: Vec<f32> =
            Vec::try_from(&replied.output(run, Output::Eval).unwrap().flatten(0, -1)).unwrap();
        let got: Vec<f32> = boxes.concat();
        let differ = got
            .iter()
            .zip(&want)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        if differ > 0 || got.len() != want.len() {
            problems.push(format!("{}: {differ} coordinates differ", run.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
