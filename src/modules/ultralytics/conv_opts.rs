//! What an ultralytics `Conv` is built from beyond its channels — `ConvConfig` (kernel,
//! stride, padding, groups, dilation) and `ConvOpts` (what a state_dict cannot say: activation,
//! BatchNorm eps and momentum, fused or not) — and the helpers the SPP-family blocks share.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::modules::args::no_kw;
use crate::modules::{Assume, Child, Conv, Init, Notes, Pickled, Sequential, Shapes, MAX_WIDTH};
use crate::nn::{Act, Scope};

/// Per-`Conv` settings that a checkpoint must record because the state_dict cannot: the
/// activation, BatchNorm eps and momentum, and whether BatchNorm has been folded in.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConvOpts {
    /// The activation (`act=True` → SiLU, `act=False` → Identity).
    pub act: Act,
    /// BatchNorm eps: 1e-5 for bare modules, 1e-3 inside a `DetectionModel` (docs/FACTS.md §5).
    pub bn_eps: f64,
    /// BatchNorm momentum: 0.1 bare, 0.03 inside a `DetectionModel`.
    pub bn_momentum: f64,
    /// Fused layout: `conv.bias` present, no `bn.*` keys.
    pub fused: bool,
}

impl Default for ConvOpts {
    fn default() -> Self {
        Self {
            act: Act::SiLU,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
            fused: false,
        }
    }
}

impl ConvOpts {
    /// The defaults with another activation.
    pub fn with_act(act: Act) -> Self {
        Self {
            act,
            ..Self::default()
        }
    }

    /// The options of a pickled `Conv`: its `act` child's class (and LeakyReLU's slope), its
    /// `bn` child's eps and momentum; fused when it has no `bn`.
    pub fn from_pickle(conv: &Pickled<'_>) -> Result<Self> {
        let act = match conv.try_child("act") {
            Some(a) if a.class() == "LeakyReLU" => {
                Act::LeakyReLU(a.float("negative_slope").unwrap_or(0.01))
            }
            Some(a) => a.class().parse()?,
            None => Act::Identity,
        };
        let bn = conv.try_child("bn");
        Ok(ConvOpts {
            act,
            bn_eps: bn.as_ref().and_then(|b| b.float("eps")).unwrap_or(1e-5),
            bn_momentum: bn.as_ref().and_then(|b| b.float("momentum")).unwrap_or(0.1),
            fused: bn.is_none(),
        })
    }

    /// The options of the `Conv` under `prefix` in a plain state_dict: fused when it has
    /// `conv.bias` and no `bn.weight`; activation and eps from `assume`, else `default_act`
    /// and 1e-5 (the caller notes the defaults).
    pub fn from_shapes(sd: &Shapes, prefix: &str, assume: &Assume, default_act: Act) -> Self {
        ConvOpts {
            act: assume.act.unwrap_or(default_act),
            bn_eps: assume.bn_eps.unwrap_or(1e-5),
            bn_momentum: 0.1,
            fused: sd.has(&format!("{prefix}conv.bias")) && !sd.has(&format!("{prefix}bn.weight")),
        }
    }

    /// The options of a `Conv` built in a model with `init`'s settings, with activation `act`.
    pub fn built(init: &Init, act: Act) -> Self {
        ConvOpts {
            act,
            bn_eps: init.bn_eps,
            bn_momentum: init.bn_momentum,
            fused: false,
        }
    }

    /// These options in the fused layout.
    pub fn fused(&self) -> Self {
        Self {
            fused: true,
            ..*self
        }
    }
}

/// `Conv(c1, c2, 1, 1)` with `opts`: the 1×1 convs of the SPP blocks.
pub fn conv1x1(s: &Scope, c1: i64, c2: i64, opts: ConvOpts) -> Result<Conv> {
    Conv::build(
        s,
        c1,
        c2,
        &ConvConfig {
            opts,
            ..ConvConfig::default()
        },
    )
}

/// Refuse a block whose channel counts are not all in 1..=[`MAX_WIDTH`].
pub fn check_channels(block: &str, c1: i64, c2: i64, hidden: i64) -> Result<()> {
    if [c1, c2, hidden]
        .iter()
        .any(|c| !(1..=MAX_WIDTH).contains(c))
    {
        return Err(Error::Config(format!(
            "{block}: c1 {c1}, c2 {c2} and hidden channels {hidden} must be in 1..={MAX_WIDTH}"
        )));
    }
    Ok(())
}

/// The notes a state_dict port takes for what `assume` leaves open.
pub fn note_assumptions(assume: &Assume, notes: &mut Notes, default_acts: &str) {
    if assume.bn_eps.is_none() {
        notes.push("BatchNorm eps: 1e-5 assumed (a state_dict does not store it; ultralytics DetectionModels use 1e-3)".into());
    }
    if assume.act.is_none() {
        notes.push(format!("activations: {default_acts} assumed"));
    }
}

/// `Conv(c1, c2, k=1, s=1, p=None, g=1, d=1, act=True)`'s arguments after the channels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)] // unknown keys are refused by the flattened ConvOpts
pub struct ConvConfig {
    /// Kernel size.
    pub k: i64,
    /// Stride.
    pub s: i64,
    /// Padding; `None` = ultralytics' `autopad` ("same" for odd kernels at stride 1).
    pub p: Option<i64>,
    /// Groups.
    pub g: i64,
    /// Dilation.
    pub d: i64,
    /// Activation, BatchNorm settings, fused or not.
    #[serde(flatten)]
    pub opts: ConvOpts,
}

impl Default for ConvConfig {
    fn default() -> Self {
        Self {
            k: 1,
            s: 1,
            p: None,
            g: 1,
            d: 1,
            opts: ConvOpts::default(),
        }
    }
}

/// ultralytics' `autopad(k, p, d)`: `p` when given, else half the effective kernel size.
pub fn autopad(k: i64, p: Option<i64>, d: i64) -> i64 {
    p.unwrap_or_else(|| if d > 1 { d * (k - 1) + 1 } else { k } / 2)
}

/// `Conv(*pos)` as an upstream constructor calls it.
pub fn conv(init: &Init, pos: Value) -> Result<Child> {
    init.child::<Conv>(pos, no_kw())
}

/// `Conv(*pos, act=False)`.
pub fn conv_plain(init: &Init, pos: Value) -> Result<Child> {
    init.child::<Conv>(pos, serde_json::json!({"act": false}))
}

/// `nn.Sequential(*children)`.
pub fn seq(children: Vec<Child>) -> Result<Child> {
    Child::of::<Sequential>(&crate::modules::sequential::SequentialConfig { modules: children })
}

/// `c1` of a block that asserts `c1 == c2` (PSA, C2PSA), refused otherwise.
pub fn same_channels(a: &crate::modules::Args) -> Result<i64> {
    let (c1, c2) = (a.int(0, "c1")?, a.int(1, "c2")?);
    if c1 != c2 {
        return Err(Error::Config(format!(
            "{} needs c1 == c2, got {c1} and {c2}",
            a.class()
        )));
    }
    Ok(c1)
}

/// What `C3.__init__(c1, c2, n=1, shortcut=True, g=1, e=0.5)` builds before its `m`: C3's, and
/// that of the classes whose constructors call it first (C3k, RepCSP) and then set their own `m`.
pub struct C3Parts {
    /// `Conv(c1, c_, 1, 1)`.
    pub cv1: Child,
    /// `Conv(c1, c_, 1, 1)`.
    pub cv2: Child,
    /// `Conv(2·c_, c2, 1)`.
    pub cv3: Child,
    /// Hidden channels `int(c2 · e)`.
    pub c_: i64,
    /// Repeats of `m`.
    pub n: i64,
    /// `shortcut`.
    pub shortcut: bool,
    /// Groups.
    pub g: i64,
}

/// [`C3Parts`] from C3's arguments (positions 0–5).
pub fn c3_parts(a: &crate::modules::Args) -> Result<C3Parts> {
    let (c1, c2, n) = (a.int(0, "c1")?, a.int(1, "c2")?, a.int_or(2, "n", 1)?);
    let (shortcut, g) = (a.bool_or(3, "shortcut", true)?, a.int_or(4, "g", 1)?);
    let c_ = crate::modules::args::scaled(c2, a.float_or(5, "e", 0.5)?);
    let i = &a.init;
    Ok(C3Parts {
        cv1: conv(i, serde_json::json!([c1, c_, 1, 1]))?,
        cv2: conv(i, serde_json::json!([c1, c_, 1, 1]))?,
        cv3: conv(i, serde_json::json!([2 * c_, c2, 1]))?,
        c_,
        n,
        shortcut,
        g,
    })
}

/// What `C2f.__init__(c1, c2, n, shortcut, g, e)` builds before its `m` (C2f, and C3k2 and
/// C2fCIB, which call it first): the hidden channels `c = int(c2 · e)`,
/// `cv1 = Conv(c1, 2c, 1, 1)` and `cv2 = Conv((2 + n)·c, c2, 1)`.
pub fn c2f_parts(init: &Init, c1: i64, c2: i64, n: i64, e: f64) -> Result<(i64, Child, Child)> {
    let c = crate::modules::args::scaled(c2, e);
    let cv1 = conv(init, serde_json::json!([c1, 2 * c, 1, 1]))?;
    let cv2 = conv(init, serde_json::json!([(2 + n) * c, c2, 1]))?;
    Ok((c, cv1, cv2))
}
