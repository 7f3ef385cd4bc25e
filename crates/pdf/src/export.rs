//! Annotated export: a copy of a paper with the reader's highlights, ink and
//! notes written as real PDF annotations (so any viewer shows and lists them),
//! and an optional watermark line on every page.
//!
//! Two PDFium traps shape this code (see PLATFORM.md): highlight quads must be
//! built corner by corner as (l,t)(r,t)(l,b)(r,b) — `PdfQuadPoints::from_rect`
//! gives an order PDFium draws as zero width — and ink annotations get
//! appearance-stream paths but no `/InkList` (pdfium-render's safe API cannot
//! add strokes); PDFium and poppler still draw them.

use std::path::Path;

use pdfium_render::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analyze::{map_load_error, read_checked, DEFAULT_MAX_BYTES};
use crate::cache::write_atomic;
use crate::error::{display_name, PdfError};
use crate::fixtures::find_font;
use crate::library::pdfium;

/// One annotation to write. Coordinates are PDF points, origin bottom-left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportAnnotation {
    /// Zero-based page index.
    pub page: u32,
    /// Colour as `#rrggbb`.
    pub color: String,
    /// What it is.
    pub kind: ExportKind,
}

/// Kinds of annotation we export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExportKind {
    /// Highlighted text: one `[left, bottom, right, top]` rect per line.
    Highlight {
        /// Rects in points.
        rects: Vec<[f32; 4]>,
    },
    /// Free-hand strokes, each a polyline of `[x, y]` points.
    Ink {
        /// Strokes.
        strokes: Vec<Vec<[f32; 2]>>,
        /// Line width in points.
        width: f32,
    },
    /// A sticky note anchored at (x, y).
    Note {
        /// Anchor x.
        x: f32,
        /// Anchor y.
        y: f32,
        /// Note text.
        text: String,
    },
}

/// Parses `#rrggbb` into a colour with the given alpha.
pub fn parse_color(s: &str, alpha: u8) -> Result<PdfColor, PdfError> {
    let hex = s
        .strip_prefix('#')
        .filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| PdfError::Invalid(format!("colour '{s}' is not #rrggbb")))?;
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
    Ok(PdfColor::new(byte(0), byte(2), byte(4), alpha))
}

fn finite(vals: &[f32]) -> bool {
    vals.iter().all(|v| v.is_finite())
}

/// Writes a copy of `src` to `dst` (atomically) with `annotations` added and,
/// when `watermark` is given, that text on every page in DejaVu Sans.
pub fn export_annotated(
    src: &Path,
    dst: &Path,
    annotations: &[ExportAnnotation],
    watermark: Option<&str>,
) -> Result<(), PdfError> {
    let name = display_name(src);
    let bytes = read_checked(src, DEFAULT_MAX_BYTES)?;
    let pdfium = pdfium()?;
    let mut doc = pdfium
        .load_pdf_from_byte_vec(bytes, None)
        .map_err(|e| map_load_error(&name, e))?;
    let perr = |what: &'static str| {
        let name = name.clone();
        move |e: PdfiumError| PdfError::Damaged {
            name: name.clone(),
            reason: format!("{what}: {e:?}"),
        }
    };
    let count = u32::try_from(doc.pages().len()).unwrap_or(0);
    for a in annotations {
        if a.page >= count {
            return Err(PdfError::NoSuchPage {
                name,
                page: a.page,
                count,
            });
        }
    }
    let font = match watermark.filter(|w| !w.trim().is_empty()) {
        Some(_) => Some(
            doc.fonts_mut()
                .load_true_type_from_file(&find_font()?, true)
                .map_err(perr("loading the watermark font"))?,
        ),
        None => None,
    };

    for index in 0..count {
        let idx = i32::try_from(index).map_err(|_| PdfError::Invalid("too many pages".into()))?;
        let mut page = doc.pages().get(idx).map_err(perr("loading a page"))?;
        for a in annotations.iter().filter(|a| a.page == index) {
            add_annotation(&doc, &mut page, a).map_err(|e| match e {
                AddError::Pdfium(e) => perr("writing an annotation")(e),
                AddError::Input(e) => e,
            })?;
        }
        if let (Some(text), Some(font)) = (watermark, font) {
            let (w, h) = (page.width().value, page.height().value);
            let size = (w / 40.0).clamp(8.0, 24.0);
            let mut obj = PdfPageTextObject::new(&doc, text, font, PdfPoints::new(size))
                .map_err(perr("writing the watermark"))?;
            obj.set_fill_color(PdfColor::new(200, 30, 30, 110))
                .map_err(perr("writing the watermark"))?;
            obj.rotate_counter_clockwise_degrees(30.0)
                .map_err(perr("writing the watermark"))?;
            obj.translate(PdfPoints::new(w * 0.15), PdfPoints::new(h * 0.35))
                .map_err(perr("writing the watermark"))?;
            page.objects_mut()
                .add_text_object(obj)
                .map_err(perr("writing the watermark"))?;
        }
    }
    let out = doc.save_to_bytes().map_err(perr("saving"))?;
    write_atomic(dst, &out)
}

enum AddError {
    Pdfium(PdfiumError),
    Input(PdfError),
}

impl From<PdfiumError> for AddError {
    fn from(e: PdfiumError) -> Self {
        AddError::Pdfium(e)
    }
}

impl From<PdfError> for AddError {
    fn from(e: PdfError) -> Self {
        AddError::Input(e)
    }
}

fn add_annotation(
    doc: &PdfDocument<'_>,
    page: &mut PdfPage<'_>,
    a: &ExportAnnotation,
) -> Result<(), AddError> {
    match &a.kind {
        ExportKind::Highlight { rects } => {
            if rects.is_empty() || !rects.iter().all(|r| finite(r)) {
                return Err(PdfError::Invalid("highlight needs finite rects".into()).into());
            }
            let color = parse_color(&a.color, 255)?;
            let mut ann = page.annotations_mut().create_highlight_annotation()?;
            let mut bounds = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
            for r in rects {
                let (l, b) = (r[0].min(r[2]), r[1].min(r[3]));
                let (rt, t) = (r[0].max(r[2]), r[1].max(r[3]));
                bounds = [
                    bounds[0].min(l),
                    bounds[1].min(b),
                    bounds[2].max(rt),
                    bounds[3].max(t),
                ];
                // (l,t)(r,t)(l,b)(r,b): the order PDF viewers expect.
                ann.attachment_points_mut().create_attachment_point_at_end(
                    PdfQuadPoints::new_from_values(l, t, rt, t, l, b, rt, b),
                )?;
            }
            ann.set_bounds(PdfRect::new_from_values(
                bounds[1], bounds[0], bounds[3], bounds[2],
            ))?;
            ann.set_stroke_color(color)?;
            ann.set_fill_color(color)?;
        }
        ExportKind::Ink { strokes, width } => {
            let pts: Vec<[f32; 2]> = strokes.iter().flatten().copied().collect();
            if pts.is_empty() || !pts.iter().all(|p| finite(p)) || !width.is_finite() {
                return Err(PdfError::Invalid("ink needs finite points".into()).into());
            }
            let color = parse_color(&a.color, 255)?;
            let width = width.clamp(0.1, 50.0);
            let mut ann = page.annotations_mut().create_ink_annotation()?;
            let (mut l, mut b, mut r, mut t) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
            for p in &pts {
                l = l.min(p[0]);
                b = b.min(p[1]);
                r = r.max(p[0]);
                t = t.max(p[1]);
            }
            let pad = width;
            ann.set_bounds(PdfRect::new_from_values(b - pad, l - pad, t + pad, r + pad))?;
            ann.set_stroke_color(color)?;
            for stroke in strokes.iter().filter(|s| !s.is_empty()) {
                let mut path = PdfPagePathObject::new(
                    doc,
                    PdfPoints::new(stroke[0][0]),
                    PdfPoints::new(stroke[0][1]),
                    Some(color),
                    Some(PdfPoints::new(width)),
                    None,
                )?;
                for p in stroke.iter().skip(1) {
                    path.line_to(PdfPoints::new(p[0]), PdfPoints::new(p[1]))?;
                }
                if stroke.len() == 1 {
                    // A dot: a zero-length segment still draws with round caps.
                    path.line_to(
                        PdfPoints::new(stroke[0][0] + 0.01),
                        PdfPoints::new(stroke[0][1]),
                    )?;
                }
                path.set_line_cap(PdfPageObjectLineCap::Round)?;
                path.set_line_join(PdfPageObjectLineJoin::Round)?;
                ann.objects_mut().add_path_object(path)?;
            }
        }
        ExportKind::Note { x, y, text } => {
            if !finite(&[*x, *y]) {
                return Err(PdfError::Invalid("note needs a finite position".into()).into());
            }
            let color = parse_color(&a.color, 255)?;
            let mut ann = page.annotations_mut().create_text_annotation(text)?;
            ann.set_bounds(PdfRect::new_from_values(*y - 20.0, *x, *y, *x + 20.0))?;
            ann.set_fill_color(color)?;
            ann.set_stroke_color(color)?;
        }
    }
    Ok(())
}
