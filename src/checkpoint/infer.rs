//! Inferring a module's sppnet [`Arch`] from a pickled `nn.Module` (class names and attributes)
//! or from a plain state_dict (key names and shapes, plus flags for what weights cannot tell).

use torch_pickle::walk::Module;
use torch_pickle::{Node, Pickle, Value};

use crate::error::{Error, Result};
use crate::model::Arch;
use crate::pyramid::Rule;
use crate::sppnet::SppNetConfig;
use crate::ultralytics::{
    Act, ConvBlockConfig, ConvConfig, ConvOpts, SppConfig, SppElanConfig, SppfConfig,
};

/// Which architecture to port as (`auto`: from the pickled class, or from the keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchChoice {
    /// Decide from the checkpoint.
    #[default]
    Auto,
    /// yueruchen `SPP_NET`.
    SppNet,
    /// ultralytics `SPP`.
    Spp,
    /// ultralytics `SPPF`.
    Sppf,
    /// ultralytics `SPPELAN`.
    SppElan,
    /// ultralytics `Conv`.
    Conv,
}

impl std::str::FromStr for ArchChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" => ArchChoice::Auto,
            "sppnet" => ArchChoice::SppNet,
            "spp" => ArchChoice::Spp,
            "sppf" => ArchChoice::Sppf,
            "sppelan" => ArchChoice::SppElan,
            "conv" => ArchChoice::Conv,
            _ => {
                return Err(Error::Config(format!(
                    "unknown arch `{s}` (auto, sppnet, spp, sppf, sppelan, conv)"
                )))
            }
        })
    }
}

/// What a plain state_dict cannot say, from flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct Assume {
    /// BatchNorm eps for every Conv [default 1e-5].
    pub bn_eps: Option<f64>,
    /// Activation of every Conv [default: SiLU; SPPF's cv1: Identity, as the current class].
    pub act: Option<Act>,
}

/// Shapes of the state_dict being ported, by key.
pub type Shapes<'a> = &'a dyn Fn(&str) -> Option<Vec<i64>>;

fn dim(shapes: Shapes<'_>, key: &str, axis: usize) -> Result<i64> {
    shapes(key)
        .and_then(|s| s.get(axis).copied())
        .ok_or_else(|| {
            Error::Config(format!(
                "no `{key}` tensor (of rank > {axis}) to size the module from"
            ))
        })
}

fn int(p: &Pickle, v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(i64::from(*b)),
        v => match p.node_of(v)? {
            Node::Tuple(items) | Node::List(items) => match items.first()? {
                Value::Int(i) => Some(*i),
                _ => None,
            },
            _ => None,
        },
    }
}

fn float(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Float(f) => Some(*f),
        Value::Int(i) => Some(*i as f64),
        _ => None,
    }
}

fn child<'p>(m: &Module<'p>, name: &str) -> Result<Module<'p>> {
    Ok(m.descend(name)?)
}

/// A `Conv`'s options: its `act` child's class, its `bn` child's eps and momentum, fused when
/// it has no `bn`.
fn conv_opts(conv: &Module<'_>) -> Result<ConvOpts> {
    let act = match conv.children().into_iter().find(|(k, _)| *k == "act") {
        Some((_, a)) if a.class.1 == "LeakyReLU" => {
            Act::LeakyReLU(float(a.attr("negative_slope")).unwrap_or(0.01))
        }
        Some((_, a)) => a.class.1.parse()?,
        None => Act::Identity,
    };
    let bn = conv
        .children()
        .into_iter()
        .find(|(k, _)| *k == "bn")
        .map(|(_, b)| b);
    Ok(ConvOpts {
        act,
        bn_eps: bn.and_then(|b| float(b.attr("eps"))).unwrap_or(1e-5),
        bn_momentum: bn.and_then(|b| float(b.attr("momentum"))).unwrap_or(0.1),
        fused: bn.is_none(),
    })
}

fn pool_k(p: &Pickle, m: &Module<'_>) -> Result<i64> {
    int(p, m.attr("kernel_size"))
        .ok_or_else(|| Error::Config(format!("pool `{}` has no kernel_size", m.class.1)))
}

/// The arch of a pickled module, read from its class and attributes. `notes` gets one line per
/// default taken where an attribute was missing.
pub fn from_module(
    p: &Pickle,
    m: &Module<'_>,
    shapes: Shapes<'_>,
    notes: &mut Vec<String>,
) -> Result<Arch> {
    let out = |k: &str| dim(shapes, k, 0);
    let inp = |k: &str| dim(shapes, k, 1);
    Ok(match m.class.1 {
        "SPPF" => {
            let n = int(p, m.attr("n")).unwrap_or_else(|| {
                notes.push(
                    "SPPF has no `n` (an old pickle): 3, as upstream's forward assumes".into(),
                );
                3
            });
            let shortcut = int(p, m.attr("add")).map(|v| v != 0).unwrap_or(false);
            let (cv1, cv2) = (child(m, "cv1")?, child(m, "cv2")?);
            let k = pool_k(p, &child(m, "m")?)?;
            Arch::Sppf(SppfConfig {
                c1: inp("cv1.conv.weight")?,
                c2: out("cv2.conv.weight")?,
                k,
                n,
                shortcut,
                cv1: conv_opts(&cv1)?,
                cv2: conv_opts(&cv2)?,
            })
        }
        "SPP" => {
            let pools = child(m, "m")?.children();
            let k = pools
                .iter()
                .map(|(_, pool)| pool_k(p, pool))
                .collect::<Result<Vec<_>>>()?;
            let (cv1, cv2) = (child(m, "cv1")?, child(m, "cv2")?);
            Arch::Spp(SppConfig {
                c1: inp("cv1.conv.weight")?,
                c2: out("cv2.conv.weight")?,
                k,
                cv1: conv_opts(&cv1)?,
                cv2: conv_opts(&cv2)?,
            })
        }
        "SPPELAN" => {
            let (cv1, cv5) = (child(m, "cv1")?, child(m, "cv5")?);
            let k = pool_k(p, &child(m, "cv2")?)?;
            let c3 = int(p, m.attr("c")).map_or_else(|| out("cv1.conv.weight"), Ok)?;
            Arch::SppElan(SppElanConfig {
                c1: inp("cv1.conv.weight")?,
                c2: out("cv5.conv.weight")?,
                c3,
                k,
                cv1: conv_opts(&cv1)?,
                cv5: conv_opts(&cv5)?,
            })
        }
        "Conv" => {
            let conv = child(m, "conv")?;
            let get = |name: &str| int(p, conv.attr(name));
            let g = get("groups").unwrap_or(1);
            let cfg = ConvConfig {
                k: get("kernel_size").map_or_else(|| dim(shapes, "conv.weight", 2), Ok)?,
                s: get("stride").unwrap_or(1),
                p: get("padding"),
                g,
                d: get("dilation").unwrap_or(1),
                opts: conv_opts(m)?,
            };
            Arch::Conv(ConvBlockConfig {
                c1: inp("conv.weight")? * g,
                c2: out("conv.weight")?,
                conv: cfg,
            })
        }
        "SPP_NET" => {
            let levels = m.attr("output_num").and_then(|v| match p.node_of(v)? {
                Node::List(items) | Node::Tuple(items) => items
                    .iter()
                    .map(|i| {
                        if let Value::Int(n) = i {
                            Some(*n)
                        } else {
                            None
                        }
                    })
                    .collect(),
                _ => None,
            });
            let rule = match m.attr("rule") {
                Some(Value::Str(r)) => r.parse()?,
                _ => Rule::Yueruchen,
            };
            sppnet_config(shapes, levels, rule)?
        }
        other => {
            let found = m.find(&["SPP", "SPPF", "SPPELAN", "SPP_NET"]);
            let found: Vec<String> = found
                .iter()
                .map(|(path, class)| format!("{path} ({class})"))
                .collect();
            return Err(Error::Config(format!(
                "class `{other}` has no sppnet port (SPP_NET, Conv, SPP, SPPF, SPPELAN); pick a block with --module{}",
                if found.is_empty() { String::new() } else { format!(": it holds {}", found.join(", ")) }
            )));
        }
    })
}

fn sppnet_config(shapes: Shapes<'_>, levels: Option<Vec<i64>>, rule: Rule) -> Result<Arch> {
    Ok(Arch::SppNet(SppNetConfig {
        input_nc: dim(shapes, "conv1.weight", 1)?,
        ndf: dim(shapes, "conv1.weight", 0)?,
        levels: levels.unwrap_or_else(|| vec![4, 2, 1]),
        hidden: dim(shapes, "fc1.weight", 0)?,
        classes: dim(shapes, "fc2.weight", 0)?,
        rule,
    }))
}

/// The arch of a plain state_dict: from `choice`, or guessed from its keys; activations and
/// BatchNorm eps from `assume`, with the defaults stated in `notes`.
pub fn from_state_dict(
    choice: ArchChoice,
    has: &dyn Fn(&str) -> bool,
    shapes: Shapes<'_>,
    assume: Assume,
    notes: &mut Vec<String>,
) -> Result<Arch> {
    let choice = match choice {
        ArchChoice::Auto if has("conv1.weight") && has("fc1.weight") => ArchChoice::SppNet,
        ArchChoice::Auto if has("cv5.conv.weight") => ArchChoice::SppElan,
        ArchChoice::Auto if has("cv1.conv.weight") && has("cv2.conv.weight") => {
            return Err(Error::Config(
                "a state_dict with cv1 and cv2 can be SPP or SPPF: pass --arch spp or --arch sppf"
                    .into(),
            ))
        }
        ArchChoice::Auto if has("conv.weight") => ArchChoice::Conv,
        ArchChoice::Auto => {
            return Err(Error::Config(
                "cannot tell the architecture from these keys: pass --arch".into(),
            ))
        }
        c => c,
    };
    if choice == ArchChoice::SppNet {
        notes.push("SppNet levels [4,2,1] and the yueruchen rule assumed".into());
        return sppnet_config(shapes, None, Rule::Yueruchen);
    }
    let eps = assume.bn_eps.unwrap_or_else(|| {
        notes.push("BatchNorm eps: 1e-5 assumed (a state_dict does not store it; ultralytics DetectionModels use 1e-3: --bn-eps)".into());
        1e-5
    });
    let opts = |prefix: &str, default: Act| {
        let act = assume.act.unwrap_or(default);
        let fused = has(&format!("{prefix}conv.bias")) && !has(&format!("{prefix}bn.weight"));
        ConvOpts {
            act,
            bn_eps: eps,
            bn_momentum: 0.1,
            fused,
        }
    };
    if assume.act.is_none() {
        notes.push("activations: SiLU assumed (SPPF cv1: Identity, as the current class; pre-YOLO26 models have SiLU there): --act".into());
    }
    let dim0 = |k: &str| dim(shapes, k, 0);
    let dim1 = |k: &str| dim(shapes, k, 1);
    Ok(match choice {
        ArchChoice::SppNet => unreachable!("handled above"),
        ArchChoice::Sppf => {
            let (c1, c_) = (dim1("cv1.conv.weight")?, dim0("cv1.conv.weight")?);
            let n = dim1("cv2.conv.weight")? / c_.max(1) - 1;
            notes.push("SPPF k 5 and shortcut off assumed".into());
            Arch::Sppf(SppfConfig {
                c1,
                c2: dim0("cv2.conv.weight")?,
                k: 5,
                n,
                shortcut: false,
                cv1: opts("cv1.", Act::Identity),
                cv2: opts("cv2.", Act::SiLU),
            })
        }
        ArchChoice::Spp => {
            let c_ = dim0("cv1.conv.weight")?;
            let pools = dim1("cv2.conv.weight")? / c_.max(1) - 1;
            let k: Vec<i64> = (0..pools).map(|i| 5 + 4 * i).collect();
            notes.push(format!(
                "SPP kernels {k:?} assumed (5, 9, 13, … for {pools} pools)"
            ));
            Arch::Spp(SppConfig {
                c1: dim1("cv1.conv.weight")?,
                c2: dim0("cv2.conv.weight")?,
                k,
                cv1: opts("cv1.", Act::SiLU),
                cv2: opts("cv2.", Act::SiLU),
            })
        }
        ArchChoice::SppElan => {
            notes.push("SPPELAN k 5 assumed".into());
            let (c1, c3) = (dim1("cv1.conv.weight")?, dim0("cv1.conv.weight")?);
            Arch::SppElan(SppElanConfig {
                c1,
                c2: dim0("cv5.conv.weight")?,
                c3,
                k: 5,
                cv1: opts("cv1.", Act::SiLU),
                cv5: opts("cv5.", Act::SiLU),
            })
        }
        ArchChoice::Conv | ArchChoice::Auto => {
            notes.push("Conv stride 1, groups 1, dilation 1, autopad assumed".into());
            let cfg = ConvConfig {
                k: dim(shapes, "conv.weight", 2)?,
                opts: opts("", Act::SiLU),
                ..ConvConfig::default()
            };
            Arch::Conv(ConvBlockConfig {
                c1: dim1("conv.weight")?,
                c2: dim0("conv.weight")?,
                conv: cfg,
            })
        }
    })
}
