//! ultralytics `Segment26` (`nn/modules/head.py`, 8.4.190; YOLO26): a `Segment` whose prototypes
//! come from `Proto26(ch, npr, nm, nc)`, which fuses every level; the rest is `Segment`'s.

use super::segment::{segment_args, Segment, SegmentConfig};
use super::task_head::variant;
use crate::modules::args::{args, no_kw};
use crate::modules::Proto26;

variant! {
    /// `Segment26(nc=80, nm=32, npr=256, reg_max=16, end2end=False, ch=())`.
    Segment26(Segment, SegmentConfig), "segment26", ["ultralytics.nn.modules.head.Segment26"],
    from_args(a) {
        segment_args(a, |a, npr, nm, ch, nc| a.init.child::<Proto26>(args![ch.to_vec(), npr, nm, nc], no_kw())).map(Some)
    }
}
