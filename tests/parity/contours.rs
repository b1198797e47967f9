//! `sppnet::images::contours::external_simple` against OpenCV's own
//! `cv2.findContours(mask, RETR_EXTERNAL, CHAIN_APPROX_SIMPLE)` (opencv-python, pinned), live:
//! the same contours, in the same order, with the same points, on smooth blobs with holes and
//! islands inside the holes (which external retrieval skips), sparse single and diagonal
//! pixels, full masks (touching every border), nested rings, and 1-pixel-wide masks.

use sppnet::images::contours::external_simple;
use sppnet::reference::{ContoursCase, Output, Suite};

use crate::common;

fn cases() -> Vec<ContoursCase> {
    let sizes = [
        (40, 60),
        (97, 55),
        (160, 160),
        (1, 30),
        (30, 1),
        (1, 1),
        (2, 2),
        (333, 517),
    ];
    let mut cases = Vec::new();
    for (i, &(h, w)) in sizes.iter().enumerate() {
        for (j, kind) in ["blobs", "pixels", "full", "rings"].iter().enumerate() {
            for k in 0..3 {
                cases.push(ContoursCase {
                    h,
                    w,
                    kind: kind.to_string(),
                    seed: (i * 100 + j * 10 + k) as u64,
                });
            }
        }
    }
    cases
}

#[test]
fn external_contours_match_opencv_point_for_point() {
    let dir = common::tempdir();
    let cases = cases();
    let replied = common::run_suite(
        &Suite::Contours {
            cases: cases.clone(),
        },
        dir.path(),
    );
    let runs = &replied.case("contours").unwrap().runs;
    assert_eq!(runs.len(), cases.len());
    let (mut problems, mut points, mut contours) = (Vec::new(), 0, 0);
    for (case, run) in cases.iter().zip(runs) {
        let mask = Vec::<u8>::try_from(&replied.input(run).unwrap().flatten(0, -1)).unwrap();
        let want = Vec::<i32>::try_from(&replied.output(run, Output::Eval).unwrap().flatten(0, -1))
            .unwrap();
        let got: Vec<i32> = external_simple(&mask, case.h, case.w)
            .iter()
            .enumerate()
            .flat_map(|(i, c)| c.iter().flat_map(move |p| [i as i32, p[0], p[1]]))
            .collect();
        points += want.len() / 3;
        contours += want.chunks(3).last().map_or(0, |r| r[0] as usize + 1);
        if got != want {
            let first = got.iter().zip(&want).position(|(a, b)| a != b);
            problems.push(format!(
                "{}: {} points, OpenCV {}; first difference at value {first:?}",
                run.name,
                got.len() / 3,
                want.len() / 3
            ));
        }
    }
    eprintln!(
        "contours parity: {} masks, {contours} contours, {points} points, {} problems",
        runs.len(),
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        contours > 500 && points > 5000,
        "{contours} contours, {points} points"
    );
}
