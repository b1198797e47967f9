//! ultralytics `ADown` (`block.py`, 8.4.190; YOLOv9-C/E downsampling): average pool, split in
//! two, `cv1` on one half, max pool then `cv2` on the other, concatenated.

use tch::Tensor;

use crate::error::Error;
use crate::modules::composite::composite;
use crate::modules::args::args;
use crate::modules::conv_opts::conv;

composite! {
    /// `ADown(c1, c2)`.
    ///
    /// # Shapes
    /// `[N, c1, H, W]` → `[N, c2, ⌈(H − 1)/2⌉, ⌈(W − 1)/2⌉]`.
    ADown, ADownConfig, "adown", ["ultralytics.nn.modules.block.ADown"],
    one { cv1, cv2 }, list {}, attrs {},
    // cv1 sees half the channels.
    input = cv1 * 2,
    check(c) {},
    forward(self, x, train) {
        let x = x.f_avg_pool2d([2, 2], [1, 1], [0, 0], false, true, None)?;
        let halves = x.f_chunk(2, 1)?;
        let [x1, x2] = halves.as_slice() else {
            return Err(Error::InvalidInput("ADown: an odd channel count cannot be halved".into()));
        };
        let x1 = self.cv1.forward_t(x1, train)?;
        let x2 = x2.f_max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false)?;
        let x2 = self.cv2.forward_t(&x2, train)?;
        Ok(Tensor::f_cat(&[x1, x2], 1)?)
    },
    init(a) {
        a.at_most(&["c1", "c2"])?;
        let (h, c) = (a.int(0, "c1")?.div_euclid(2), a.int(1, "c2")?.div_euclid(2));
        Ok(ADownConfig {
            cv1: conv(&a.init, args![h, c, 3, 2, 1])?,
            cv2: conv(&a.init, args![h, c, 1, 1, 0])?,
        })
    }
}
