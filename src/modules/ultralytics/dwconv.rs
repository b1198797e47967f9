//! ultralytics `DWConv` (`conv.py`, 8.4.190): a `Conv` with `groups = gcd(c1, c2)` (YOLO11's and
//! YOLO26's Detect heads). Same keys, forward and fusion as `Conv`.

use crate::error::Result;
use crate::modules::patterns::delegate_module;
use crate::modules::{Args, Block, Conv, Notes, Pickled};
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

    /// `DWConv(c1, c2, k=1, s=1, d=1, act=True)` = `Conv(c1, c2, k, s, g=gcd(c1, c2), d=d, act=act)`.
    fn from_args(a: &Args) -> Result<Option<ConvBlockConfig>> {
        a.at_most(&["c1", "c2", "k", "s", "d", "act"])?;
        let (c1, c2) = (a.int(0, "c1")?, a.int(1, "c2")?);
        let pos = vec![
            c1.into(),
            c2.into(),
            a.raw(2, "k", 1.into()),
            a.raw(3, "s", 1.into()),
            serde_json::Value::Null,
            gcd(c1, c2).into(),
            a.raw(4, "d", 1.into()),
            a.raw(5, "act", true.into()),
        ];
        Conv::from_args(&Args::new("Conv", pos, Default::default(), a.init))
    }

    fn fused(c: &ConvBlockConfig) -> Result<ConvBlockConfig> {
        Conv::fused(c)
    }
}

/// Python's `math.gcd` (non-negative).
fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a as i64
}
