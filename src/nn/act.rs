//! Activations a ultralytics `Conv` can carry (`Conv.act`).

use std::fmt;
use std::str::FromStr;

use tch::Tensor;

use super::leaky_relu;
use crate::error::{Error, Result};

/// A `Conv` activation, named as the PyTorch class (`SiLU`, `Identity`, `LeakyReLU(0.1)`, …).
///
/// `SiLU` is ultralytics' default (`act=True`), `Identity` is `act=False` (e.g. YOLO26's
/// `SPPF.cv1`), `ReLU` is what `yolov6.yaml`'s `activation:` selects; the others cover modules
/// users pass as `act=`. Each forward is PyTorch's own kernel (bitwise).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Act {
    /// `nn.SiLU`: x·σ(x).
    #[default]
    SiLU,
    /// `nn.Identity`.
    Identity,
    /// `nn.ReLU`.
    ReLU,
    /// `nn.ReLU6`.
    ReLU6,
    /// `nn.LeakyReLU(negative_slope)`; PyTorch's default slope is 0.01.
    LeakyReLU(f64),
    /// `nn.Hardswish`.
    Hardswish,
    /// `nn.GELU()` (exact erf form).
    GELU,
    /// `nn.Mish`.
    Mish,
    /// `nn.Sigmoid`.
    Sigmoid,
    /// `nn.Tanh`.
    Tanh,
}

impl Act {
    /// Apply the activation.
    ///
    /// # Shapes
    /// Any shape, unchanged.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match *self {
            Act::SiLU => x.f_silu()?,
            Act::Identity => x.shallow_clone(),
            Act::ReLU => x.f_relu()?,
            Act::ReLU6 => x.f_relu6()?,
            Act::LeakyReLU(slope) => leaky_relu(x, slope)?,
            Act::Hardswish => x.f_hardswish()?,
            Act::GELU => x.f_gelu("none")?,
            Act::Mish => x.f_mish()?,
            Act::Sigmoid => x.f_sigmoid()?,
            Act::Tanh => x.f_tanh()?,
        })
    }

    /// Every activation without a parameter, plus LeakyReLU at PyTorch's default slope.
    pub const ALL: [Act; 10] = [
        Act::SiLU,
        Act::Identity,
        Act::ReLU,
        Act::ReLU6,
        Act::LeakyReLU(0.01),
        Act::Hardswish,
        Act::GELU,
        Act::Mish,
        Act::Sigmoid,
        Act::Tanh,
    ];
}

impl fmt::Display for Act {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Act::LeakyReLU(slope) => write!(f, "LeakyReLU({slope})"),
            other => write!(f, "{other:?}"),
        }
    }
}

impl FromStr for Act {
    type Err = Error;
    /// Class names as PyTorch prints them; `LeakyReLU` alone means slope 0.01.
    fn from_str(s: &str) -> Result<Self> {
        let s = s
            .trim()
            .trim_start_matches("torch.")
            .trim_start_matches("nn.")
            .trim_end_matches("()");
        if let Some(arg) = s
            .strip_prefix("LeakyReLU(")
            .and_then(|r| r.strip_suffix(')'))
        {
            let slope = arg.trim().trim_start_matches("negative_slope=");
            let slope = slope.split(',').next().unwrap_or("").trim();
            return match slope.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Act::LeakyReLU(v)),
                _ => Err(Error::Config(format!("bad LeakyReLU slope in `{s}`"))),
            };
        }
        Ok(match s {
            "SiLU" => Act::SiLU,
            "Identity" => Act::Identity,
            "ReLU" => Act::ReLU,
            "ReLU6" => Act::ReLU6,
            "LeakyReLU" => Act::LeakyReLU(0.01),
            "Hardswish" => Act::Hardswish,
            "GELU" => Act::GELU,
            "Mish" => Act::Mish,
            "Sigmoid" => Act::Sigmoid,
            "Tanh" => Act::Tanh,
            _ => {
                return Err(Error::Config(format!(
                    "unsupported activation `{s}` (SiLU, Identity, ReLU, ReLU6, LeakyReLU(slope), Hardswish, GELU, Mish, Sigmoid, Tanh)"
                )))
            }
        })
    }
}

impl From<Act> for String {
    fn from(a: Act) -> String {
        a.to_string()
    }
}

impl TryFrom<String> for Act {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Act::ALL.into_iter().chain([Act::LeakyReLU(0.1)]) {
            assert_eq!(a.to_string().parse::<Act>().unwrap(), a);
        }
        assert_eq!(
            "nn.LeakyReLU(negative_slope=0.2)".parse::<Act>().unwrap(),
            Act::LeakyReLU(0.2)
        );
        assert_eq!("torch.nn.ReLU()".parse::<Act>().unwrap(), Act::ReLU);
        assert!("Swish".parse::<Act>().is_err());
    }
}
