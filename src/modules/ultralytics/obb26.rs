//! ultralytics `OBB26` (`nn/modules/head.py`, 8.4.190; YOLO26): an `OBB` whose angle is the
//! branch's raw output (no sigmoid); layout, decoding and `fuse` are `OBB`'s.

use super::obb::{obb_args, Obb, ObbConfig};
use super::task_head::variant;

variant! {
    /// `OBB26(nc=80, ne=1, reg_max=16, end2end=False, ch=())`.
    Obb26(Obb, ObbConfig), "obb26", ["ultralytics.nn.modules.head.OBB26"],
    from_args(a) { obb_args(a).map(Some) }
}
