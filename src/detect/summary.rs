//! What a task without boxes gives for an image: a classifier's top 5 (`result.probs`), a
//! semantic model's class map (`result.semantic_mask.data`) or a depth model's map
//! (`result.depth.data`), with their JSON.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// One of a classifier's best classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Top {
    /// Class index.
    pub class: i64,
    /// Class name (the index when the checkpoint has none).
    pub name: String,
    /// Probability.
    pub confidence: f32,
}

/// A map at the original image's size, row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct Map<T> {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// `height × width` values.
    pub data: Vec<T>,
}

/// What an image gave beyond its detections.
#[derive(Debug, Clone, PartialEq)]
pub enum Summary {
    /// Boxes only.
    None,
    /// Classify: every class's probability (`result.probs.data`) and the best five, best
    /// first (`probs.top5`).
    Probs {
        /// Each class's probability, by index.
        probs: Vec<f32>,
        /// The best five (fewer for fewer classes).
        top5: Vec<Top>,
    },
    /// Semantic segmentation: each pixel's class.
    Semantic(Map<i32>),
    /// Depth: each pixel's depth.
    Depth(Map<f32>),
}

fn sha256(bytes: impl IntoIterator<Item = u8>) -> String {
    let mut h = Sha256::new();
    h.update(bytes.into_iter().collect::<Vec<u8>>());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Summary {
    /// The JSON fields this adds to an image's line: `top5`; `semantic` (size, each class's
    /// pixel count, the sha256 of the map as bytes, int16 little-endian past 256 classes);
    /// `depth` (size, min, max, the sha256 of the f32 little-endian values).
    pub fn json(&self, names: &BTreeMap<i64, String>) -> Vec<(&'static str, Value)> {
        match self {
            Summary::None => vec![],
            Summary::Probs { top5, .. } => {
                let t: Vec<Value> = top5
                    .iter()
                    .map(|t| json!({"class": t.class, "name": t.name, "confidence": f64::from(t.confidence)}))
                    .collect();
                vec![("top5", t.into())]
            }
            Summary::Semantic(m) => {
                let mut counts: BTreeMap<i32, u64> = BTreeMap::new();
                m.data
                    .iter()
                    .for_each(|&c| *counts.entry(c).or_default() += 1);
                let classes: Vec<Value> = counts
                    .iter()
                    .map(|(&c, &n)| {
                        let name = names
                            .get(&i64::from(c))
                            .cloned()
                            .unwrap_or_else(|| c.to_string());
                        json!({"class": c, "name": name, "pixels": n})
                    })
                    .collect();
                let wide = names.len() > 256;
                let bytes = m.data.iter().flat_map(|&c| match wide {
                    true => (c as i16).to_le_bytes().to_vec(),
                    false => vec![c as u8],
                });
                vec![(
                    "semantic",
                    json!({"size": [m.height, m.width], "classes": classes, "sha256": sha256(bytes)}),
                )]
            }
            Summary::Depth(m) => {
                let (lo, hi) = m
                    .data
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                        (lo.min(v), hi.max(v))
                    });
                let bytes = m.data.iter().flat_map(|v| v.to_le_bytes());
                vec![(
                    "depth",
                    json!({"size": [m.height, m.width], "min": f64::from(lo), "max": f64::from(hi),
                           "sha256": sha256(bytes)}),
                )]
            }
        }
    }

    /// The map as a file `--save-dir` writes beside the picture (named by [`super::Task`]'s
    /// `map_file`): a semantic class map as a greyscale PNG (8-bit, 16-bit past 256 classes);
    /// a depth map as a NumPy `.npy` of little-endian f32 `(h, w)` (`numpy.load` reads it).
    pub fn map_file(&self) -> Option<Vec<u8>> {
        use image::ImageEncoder;
        match self {
            Summary::Semantic(m) => {
                let (w, h) = (m.width as u32, m.height as u32);
                let mut out = Vec::new();
                let enc = image::codecs::png::PngEncoder::new(&mut out);
                let r = match m.data.iter().all(|&c| (0..=255).contains(&c)) {
                    true => {
                        let px: Vec<u8> = m.data.iter().map(|&c| c as u8).collect();
                        enc.write_image(&px, w, h, image::ExtendedColorType::L8)
                    }
                    false => {
                        // PNG's 16-bit samples are big-endian.
                        let px: Vec<u8> = m
                            .data
                            .iter()
                            .flat_map(|&c| (c.clamp(0, 65535) as u16).to_be_bytes())
                            .collect();
                        enc.write_image(&px, w, h, image::ExtendedColorType::L16)
                    }
                };
                r.ok().map(|_| out)
            }
            Summary::Depth(m) => {
                let dict = format!(
                    "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
                    m.height, m.width
                );
                // Magic, version 1.0, the header padded with spaces to a multiple of 64, then '\n'.
                let pad = (64 - (10 + dict.len() + 1) % 64) % 64;
                let header = format!("{dict}{}\n", " ".repeat(pad));
                let mut out = b"\x93NUMPY\x01\x00".to_vec();
                out.extend((header.len() as u16).to_le_bytes());
                out.extend(header.as_bytes());
                out.extend(m.data.iter().flat_map(|v| v.to_le_bytes()));
                Some(out)
            }
            _ => None,
        }
    }

    /// A few words for a plain-text line.
    pub fn text(&self) -> Option<String> {
        match self {
            Summary::None => None,
            Summary::Probs { top5, .. } => Some(
                top5.iter()
                    .map(|t| format!("{} {:.3}", t.name, t.confidence))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Summary::Semantic(m) => {
                let classes: std::collections::BTreeSet<i32> = m.data.iter().copied().collect();
                Some(format!(
                    "class map {}×{}, {} classes",
                    m.width,
                    m.height,
                    classes.len()
                ))
            }
            Summary::Depth(m) => Some(format!("depth map {}×{}", m.width, m.height)),
        }
    }
}
