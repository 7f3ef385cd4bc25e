//! Encoding rendered pages (RGB pixels) into PNG or lossless WebP.
//!
//! Pages are opaque, so the worker has PDFium render straight to 3-byte RGB
//! (no alpha: a quarter less data to compress, no per-pixel conversion). PNG uses the `png` crate's `Fast` preset (fdeflate); WebP
//! uses `image-webp`'s lossless encoder (no C libwebp build). Which one is the
//! default is decided by measurement (see [`Encoding::default`]).

use serde::{Deserialize, Serialize};

use crate::error::PdfError;

/// Image format of rendered pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// PNG, `Fast` compression.
    Png,
    /// Lossless WebP.
    Webp,
}

impl Default for Encoding {
    /// PNG: measured faster end to end than lossless WebP on our pages (see
    /// the commit that set it and `phonghop bench render`).
    fn default() -> Self {
        Encoding::Png
    }
}

impl Encoding {
    /// File extension without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Encoding::Png => "png",
            Encoding::Webp => "webp",
        }
    }

    /// MIME type for the custom URI scheme.
    pub fn mime(self) -> &'static str {
        match self {
            Encoding::Png => "image/png",
            Encoding::Webp => "image/webp",
        }
    }
}

/// Packs rows of `row_bytes` useful bytes out of a buffer whose rows may be
/// padded (PDFium aligns bitmap rows to 4 bytes). Whole-row copies: cheap
/// even in a debug build, unlike a per-pixel loop.
pub(crate) fn pack_rows(raw: &[u8], row_bytes: usize, height: usize) -> Vec<u8> {
    let stride = raw.len().checked_div(height).unwrap_or(0);
    if stride == row_bytes {
        return raw[..row_bytes * height].to_vec();
    }
    let mut out = Vec::with_capacity(row_bytes * height);
    if stride >= row_bytes {
        for row in raw.chunks_exact(stride).take(height) {
            out.extend_from_slice(&row[..row_bytes]);
        }
    }
    out
}

/// Encodes packed RGB pixels.
pub fn encode_rgb(rgb: &[u8], width: u32, height: u32, enc: Encoding) -> Result<Vec<u8>, PdfError> {
    let expected = (width as usize) * (height as usize) * 3;
    if rgb.len() != expected || width == 0 || height == 0 {
        return Err(PdfError::Invalid(format!(
            "pixel buffer of {} bytes does not match {width}x{height} RGB",
            rgb.len()
        )));
    }
    let mut out = Vec::with_capacity(expected / 8);
    match enc {
        Encoding::Png => {
            let mut e = png::Encoder::new(&mut out, width, height);
            e.set_color(png::ColorType::Rgb);
            e.set_depth(png::BitDepth::Eight);
            e.set_compression(png::Compression::Fast);
            let mut w = e
                .write_header()
                .map_err(|err| PdfError::Invalid(format!("png: {err}")))?;
            w.write_image_data(rgb)
                .map_err(|err| PdfError::Invalid(format!("png: {err}")))?;
            w.finish()
                .map_err(|err| PdfError::Invalid(format!("png: {err}")))?;
        }
        Encoding::Webp => {
            image_webp::WebPEncoder::new(&mut out)
                .encode(rgb, width, height, image_webp::ColorType::Rgb8)
                .map_err(|err| PdfError::Invalid(format!("webp: {err}")))?;
        }
    }
    Ok(out)
}
