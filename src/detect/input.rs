//! How images become the model's input, by the task's [`Input`]: letterboxed as `predict`
//! letterboxes them (the aspect kept, padded up to the stride), stretched (`scale_fill`), or
//! through a classifier's transforms (`ClassificationPredictor`: Pillow's resize and
//! torchvision's crop, `ToTensor`, `Normalize`).

use tch::{Kind, Tensor};

use super::task::Input;
use super::Detector;
use crate::error::{Error, Result};
use crate::images::letterbox::Letterbox;
use crate::images::transforms::Transforms;
use crate::images::Rgb8;

impl Detector {
    /// The input size `(w, h)` of an `h0 × w0` image at `imgsz` (a multiple of the stride):
    /// letterboxed, stretched, or through the classifier's transforms.
    pub fn input_size(&self, h0: usize, w0: usize, imgsz: usize) -> Result<(usize, usize)> {
        match self.task.input {
            Input::Transforms => {
                let (h, w) = self.transforms(imgsz)?.output_size(h0, w0);
                Ok((w, h))
            }
            _ => Ok(self.letterbox(h0, w0, imgsz)?.size()),
        }
    }

    /// The transforms a classifier runs at `imgsz`, as its predictor picks them.
    pub fn transforms(&self, imgsz: usize) -> Result<Transforms> {
        Transforms::for_predict(self.transforms.as_ref(), imgsz, imgsz)
    }

    fn letterbox(&self, h0: usize, w0: usize, imgsz: usize) -> Result<Letterbox> {
        match self.task.input {
            Input::Stretch => Letterbox::stretch(h0, w0, imgsz, imgsz),
            _ => Letterbox::params(h0, w0, imgsz, imgsz, self.stride(), true),
        }
    }

    /// Letterbox (or stretch, or transform) a batch of same-sized images to `imgsz` (a
    /// multiple of the stride) and make the model's input: RGB, `/ 255`, in the model's dtype
    /// and device.
    ///
    /// # Shapes
    /// `B` images of `h × w` → `[B, 3, H, W]`, `H, W ≤ imgsz` multiples of the stride.
    pub fn preprocess(&self, images: &[&Rgb8], imgsz: usize) -> Result<Tensor> {
        let first = images
            .first()
            .ok_or_else(|| Error::InvalidInput("no image to detect on".into()))?;
        let (h0, w0) = (first.height, first.width);
        if images.iter().any(|i| (i.height, i.width) != (h0, w0)) {
            return Err(Error::InvalidInput(
                "a batch holds images of one size".into(),
            ));
        }
        if self.task.input == Input::Transforms {
            return self.transformed(images, imgsz);
        }
        let lb = self.letterbox(h0, w0, imgsz)?;
        let (pw, ph) = lb.size();
        let mut bytes = Vec::with_capacity(images.len() * pw * ph * 3);
        for img in images {
            bytes.extend(lb.apply(&img.data, w0, h0, 3)?);
        }
        let b = images.len() as i64;
        let (h, w) = (ph as i64, pw as i64);
        if self.model.kind() != Kind::Float {
            // As upstream: uint8 to the model's dtype, then `/ 255` in that dtype.
            let x = Tensor::f_from_data_size(&bytes, &[b, h, w, 3], Kind::Uint8)?
                .f_to_device(self.model.device())?
                .f_permute([0, 3, 1, 2])?
                .f_contiguous()?;
            let mut x = x.f_to_kind(self.model.kind())?;
            let _ = x.f_div_scalar_(255)?;
            return Ok(x);
        }
        // f32: each byte through a table made by libtorch's own `float() / 255` (so the same
        // bits). Channels-last, the bytes' own order is the input's (a `[B, 3, H, W]` view of
        // `[B, H, W, 3]`); else written planar in one pass.
        let lut = &self.lut;
        if self.channels_last {
            let values: Vec<f32> = bytes.iter().map(|&v| lut[usize::from(v)]).collect();
            return Ok(Tensor::f_from_slice(&values)?
                .f_view([b, h, w, 3])?
                .f_permute([0, 3, 1, 2])?
                .f_to_device(self.model.device())?);
        }
        let plane = ph * pw;
        let mut planar = vec![0f32; images.len() * 3 * plane];
        for (dst, src) in planar
            .chunks_exact_mut(3 * plane)
            .zip(bytes.chunks_exact(3 * plane))
        {
            let (r, rest) = dst.split_at_mut(plane);
            let (g, bl) = rest.split_at_mut(plane);
            for (i, px) in src.chunks_exact(3).enumerate() {
                (r[i], g[i], bl[i]) = (
                    lut[px[0] as usize],
                    lut[px[1] as usize],
                    lut[px[2] as usize],
                );
            }
        }
        Ok(Tensor::f_from_slice(&planar)?
            .f_view([b, 3, h, w])?
            .f_to_device(self.model.device())?)
    }

    /// A classifier's input: each image through its transforms, stacked, in the model's dtype
    /// (`img.half()` on CUDA with `half`) and device.
    fn transformed(&self, images: &[&Rgb8], imgsz: usize) -> Result<Tensor> {
        let t = self.transforms(imgsz)?;
        let xs = images
            .iter()
            .map(|img| t.apply(img))
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::f_stack(&xs, 0)?
            .f_to_device(self.model.device())?
            .f_to_kind(self.model.kind())?)
    }
}
