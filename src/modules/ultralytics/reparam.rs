//! What `RepConv` and `RepVGGDW` share: two `Conv` branches summed, which `fuse` merges into one
//! `nn.Conv2d` with the geometry of the first.

use std::collections::BTreeMap;

use tch::Tensor;

use super::conv::ConvBlockConfig;
use crate::error::{Error, Result};
use crate::modules::conv2d::{Conv2dBlock, Conv2dBlockConfig};
use crate::modules::{Block, Child, Conv, Module};
use crate::nn::Scope;

/// The two layouts of a re-parameterisable block.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per module; boxing buys nothing
pub enum Branches {
    /// The two branches, as trained.
    Unfused(Conv, Conv),
    /// The merged convolution `fuse` leaves.
    Fused(Conv2dBlock),
}

impl Branches {
    /// `a` and `b` (`Conv`s) under `names`, or `merged` (an `nn.Conv2d`) under `conv`.
    pub fn build(
        s: &Scope,
        class: &str,
        names: [&str; 2],
        branches: Option<(&Child, &Child)>,
        merged: Option<&Child>,
    ) -> Result<Branches> {
        match (branches, merged) {
            (Some((a, b)), None) => Ok(Branches::Unfused(
                Conv::new(&s.sub(names[0]), &typed::<Conv>(a, class, names[0])?)?,
                Conv::new(&s.sub(names[1]), &typed::<Conv>(b, class, names[1])?)?,
            )),
            (None, Some(m)) => Ok(Branches::Fused(Conv2dBlock::new(
                &s.sub("conv"),
                &typed::<Conv2dBlock>(m, class, "conv")?,
            )?)),
            _ => Err(Error::Config(format!(
                "{class} needs {} and {} (unfused) or a merged conv (fused)",
                names[0], names[1]
            ))),
        }
    }

    /// `a(x) + b(x)`, or the merged convolution.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            Branches::Unfused(a, b) => Ok(a.forward_t(x, train)?.f_add(&b.forward_t(x, train)?)?),
            Branches::Fused(c) => c.forward_t(x, train),
        }
    }

    /// The input channels.
    pub fn in_channels(&self) -> Option<i64> {
        match self {
            Branches::Unfused(a, _) => a.in_channels(),
            Branches::Fused(c) => c.in_channels(),
        }
    }
}

/// A child's config as class `T`'s, or an error naming the field and what is there.
pub fn typed<T: Block>(child: &Child, class: &str, field: &str) -> Result<T::Config> {
    child.config_as::<T>().ok_or_else(|| {
        Error::Config(format!(
            "{class} {field} must be a {}, got `{}`",
            T::CLASSES[0].rsplit('.').next().unwrap_or(T::NAME),
            child.class
        ))
    })
}

/// The merged convolution of a branch pair: the first branch's geometry, with a bias.
pub fn merged(first: &Child, class: &str) -> Result<Child> {
    let a: ConvBlockConfig = typed::<Conv>(first, class, "the first branch")?;
    Child::of::<Conv2dBlock>(&Conv2dBlockConfig {
        in_channels: a.c1,
        out_channels: a.c2,
        kernel_size: a.conv.k,
        stride: a.conv.s,
        padding: super::conv::autopad(a.conv.k, a.conv.p, a.conv.d),
        dilation: a.conv.d,
        groups: a.conv.g,
        bias: true,
    })
}

/// Replace the two branches' keys (`{prefix}{names[i]}.*`) by the merged convolution's
/// `{prefix}conv.weight` and `{prefix}conv.bias`: the fused layout.
pub fn replace_branches(
    sd: &mut BTreeMap<String, Tensor>,
    prefix: &str,
    names: [&str; 2],
    weight: Tensor,
    bias: Tensor,
) {
    let branches = names.map(|n| format!("{prefix}{n}."));
    sd.retain(|k, _| !branches.iter().any(|b| k.starts_with(b.as_str())));
    sd.insert(format!("{prefix}conv.weight"), weight);
    sd.insert(format!("{prefix}conv.bias"), bias);
}
