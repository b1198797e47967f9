//! ultralytics `DWConv` (`conv.py`, 8.4.190): a `Conv` with `groups = gcd(c1, c2)` (YOLO11's and
//! YOLO26's Detect heads). Same keys, forward and fusion as `Conv`.

use crate::error::Result;
use crate::modules::patterns::delegate_module;
use crate::modules::{Block, Conv, Notes, Pickled};
use crate::nn::Scope;

use super::conv::ConvBlockConfig;

/// `DWConv(c1, c2, k=1, s=1, d=1, act=True)`.
///
/// # Shapes
/// `[N, c1, H, W]` → `[N, c2, H', W']`.
#[derive(Debug)]
pub struct DwConv(pub Conv);

delegate_module!(DwConv);

impl Block for DwConv {
    type Config = ConvBlockConfig;
    const NAME: &'static str = "dwconv";
    const CLASSES: &'static [&'static str] = &["ultralytics.nn.modules.conv.DWConv"];

    fn new(s: &Scope, c: &ConvBlockConfig) -> Result<Self> {
        Conv::new(s, c).map(DwConv)
    }

    fn from_pickle(m: &Pickled<'_>, notes: &mut Notes) -> Result<ConvBlockConfig> {
        Conv::from_pickle(m, notes)
    }

    fn fused(c: &ConvBlockConfig) -> Result<ConvBlockConfig> {
        Conv::fused(c)
    }
}
