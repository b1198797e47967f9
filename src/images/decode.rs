//! Decoding PNG and JPEG files to 8-bit RGB as OpenCV's `cv2.imdecode(…, IMREAD_COLOR)` (what
//! ultralytics' `imread` calls) hands them over, apart from the channel order: grey is
//! replicated into three channels, alpha is dropped (not blended), 16-bit samples keep their
//! high byte (`v >> 8`, as OpenCV's `png_set_strip_16`), and the EXIF orientation is applied.
//!
//! PNG is lossless, so the bytes equal OpenCV's. JPEG decoders differ in their IDCT and chroma
//! upsampling: the `image` crate's decoder is not libjpeg-turbo, and pixels may differ by a few
//! levels (measured in the detector parity suite).

use image::{DynamicImage, ImageDecoder};

use super::{image_error, image_size, reader, unreadable};
use crate::error::Result;
use std::path::Path;

/// An interleaved 8-bit RGB image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgb8 {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `height × width × 3` bytes, row by row, R G B.
    pub data: Vec<u8>,
}

impl Rgb8 {
    /// An image from its bytes, checked for size.
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Result<Rgb8> {
        if width == 0 || height == 0 || data.len() != width * height * 3 {
            return Err(crate::Error::InvalidInput(format!(
                "an RGB image of {width}×{height} needs {} bytes, got {}",
                width * height * 3,
                data.len()
            )));
        }
        Ok(Rgb8 {
            width,
            height,
            data,
        })
    }
}

impl Rgb8 {
    /// From an `[H, W, 3]` uint8 tensor (RGB).
    pub fn from_hwc(t: &tch::Tensor) -> Result<Rgb8> {
        match t.size()[..] {
            [h, w, 3] if t.kind() == tch::Kind::Uint8 => {
                let data = Vec::<u8>::try_from(t.f_contiguous()?.f_flatten(0, -1)?)?;
                Rgb8::new(w as usize, h as usize, data)
            }
            ref s => Err(crate::Error::InvalidInput(format!(
                "an RGB image tensor is [H, W, 3] uint8, got {s:?} {:?}",
                t.kind()
            ))),
        }
    }
}

/// The high byte of every 16-bit sample.
fn high_bytes(samples: &[u16]) -> Vec<u8> {
    samples.iter().map(|&v| (v >> 8) as u8).collect()
}

/// Decode a PNG or JPEG file, refusing more than `max_pixels` before decoding (see
/// [`image_size`]) and decoding under an allocation limit.
pub fn decode_rgb8(path: &Path, max_pixels: u64) -> Result<Rgb8> {
    let (w, h) = image_size(path, max_pixels)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    // The decoded image plus the decoder's own buffers, with room for 16-bit samples.
    limits.max_alloc = Some(u64::from(w) * u64::from(h) * 16 + (64 << 20));
    let mut r = reader(path)?;
    r.limits(limits);
    let fail = |e: image::ImageError| image_error(path, unreadable(&e));
    let mut decoder = r.into_decoder().map_err(fail)?;
    let orientation = decoder.orientation().map_err(fail)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(fail)?;
    img.apply_orientation(orientation);
    let (width, height) = (img.width() as usize, img.height() as usize);
    let data = match img {
        DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_)
        | DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_) => high_bytes(img.into_rgb16().as_raw()),
        other => other.into_rgb8().into_raw(),
    };
    Rgb8::new(width, height, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_keeps_the_high_byte() {
        assert_eq!(
            high_bytes(&[0, 255, 256, 0x7fff, 0x80ff, 0xffff]),
            [0, 0, 1, 0x7f, 0x80, 0xff]
        );
    }

    #[test]
    fn rgb8_checks_its_size() {
        assert!(Rgb8::new(2, 2, vec![0; 12]).is_ok());
        assert!(Rgb8::new(2, 2, vec![0; 11]).is_err());
        assert!(Rgb8::new(0, 2, vec![]).is_err());
    }
}
