//! Our own test papers: Vietnamese text typeset into A4 PDFs with PDFium, and
//! a big generated paper (hundreds of pages, photos, vector drawings) for
//! benchmarks.
//!
//! The source texts live in `assets/demo/papers/*.txt` (first line the title,
//! then paragraphs separated by blank lines). Lines are wrapped with the
//! font's real glyph advances (read with `ttf-parser`), so what we measure is
//! what PDFium draws. The font is loaded as an embedded TrueType CID font, the
//! only way PDFium writes text outside Latin-1 (Vietnamese needs it).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use pdfium_render::prelude::*;

use crate::cache::write_atomic;
use crate::error::PdfError;
use crate::library::pdfium;

/// DejaVu Sans as Debian's `fonts-dejavu-core` installs it.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Environment variable overriding [`DEFAULT_FONT`].
pub const FONT_ENV: &str = "PHONGHOP_FONT";

/// A4 in points.
const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN_X: f32 = 70.0;
const MARGIN_TOP: f32 = 72.0;
const MARGIN_BOTTOM: f32 = 72.0;
const BODY_SIZE: f32 = 12.0;
const TITLE_SIZE: f32 = 15.0;
const LEADING: f32 = 1.45;

/// The font for Vietnamese text: `$PHONGHOP_FONT` or DejaVu Sans.
pub fn find_font() -> Result<PathBuf, PdfError> {
    let p = std::env::var_os(FONT_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_FONT));
    if p.is_file() {
        Ok(p)
    } else {
        Err(PdfError::Invalid(format!(
            "font {} not found; install fonts-dejavu-core (scripts/setup) or set {FONT_ENV}",
            p.display()
        )))
    }
}

/// A title and paragraphs, as in `assets/demo/papers/*.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperText {
    /// First line of the file.
    pub title: String,
    /// The rest, split on blank lines, each joined into one line.
    pub paragraphs: Vec<String>,
}

impl PaperText {
    /// Parses the `.txt` format.
    pub fn parse(src: &str) -> PaperText {
        let src = src.trim_start_matches('\u{FEFF}');
        let mut lines = src.lines();
        let title = lines.next().unwrap_or("").trim().to_string();
        let mut paragraphs = Vec::new();
        let mut cur: Vec<&str> = Vec::new();
        for l in lines {
            if l.trim().is_empty() {
                if !cur.is_empty() {
                    paragraphs.push(cur.join(" "));
                    cur.clear();
                }
            } else {
                cur.push(l.trim());
            }
        }
        if !cur.is_empty() {
            paragraphs.push(cur.join(" "));
        }
        PaperText { title, paragraphs }
    }
}

/// Measures text with a TrueType font's advance widths.
struct Measure<'a> {
    face: ttf_parser::Face<'a>,
    upem: f32,
}

impl<'a> Measure<'a> {
    fn new(data: &'a [u8], path: &Path) -> Result<Self, PdfError> {
        let face = ttf_parser::Face::parse(data, 0).map_err(|e| {
            PdfError::Invalid(format!("font {} is not TrueType: {e}", path.display()))
        })?;
        let upem = f32::from(face.units_per_em());
        Ok(Measure { face, upem })
    }

    fn width(&self, s: &str, size: f32) -> f32 {
        let units: f32 = s
            .chars()
            .map(|c| {
                self.face
                    .glyph_index(c)
                    .and_then(|g| self.face.glyph_hor_advance(g))
                    .map_or(self.upem * 0.6, f32::from)
            })
            .sum();
        units * size / self.upem
    }

    /// Greedy word wrap; a word longer than the line is put on its own line.
    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut cur = String::new();
        for word in text.split_whitespace() {
            let candidate = if cur.is_empty() {
                word.to_string()
            } else {
                format!("{cur} {word}")
            };
            if self.width(&candidate, size) <= max || cur.is_empty() {
                cur = candidate;
            } else {
                lines.push(std::mem::take(&mut cur));
                cur = word.to_string();
            }
        }
        if !cur.is_empty() {
            lines.push(cur);
        }
        lines
    }
}

/// One positioned line of text.
#[derive(Debug, Clone)]
struct Line {
    page: usize,
    x: f32,
    y: f32,
    size: f32,
    text: String,
}

/// Lays out title + paragraphs on A4 pages.
fn layout(m: &Measure<'_>, title: &str, paragraphs: &[String]) -> Vec<Line> {
    let max = PAGE_W - 2.0 * MARGIN_X;
    let mut out = Vec::new();
    let mut page = 0;
    let mut y = PAGE_H - MARGIN_TOP;
    let mut put = |text: String, size: f32, centered: bool, gap: f32, out: &mut Vec<Line>| {
        let step = size * LEADING + gap;
        if y - step < MARGIN_BOTTOM {
            page += 1;
            y = PAGE_H - MARGIN_TOP;
        }
        y -= step;
        let x = if centered {
            ((PAGE_W - m.width(&text, size)) / 2.0).max(MARGIN_X)
        } else {
            MARGIN_X
        };
        out.push(Line {
            page,
            x,
            y,
            size,
            text,
        });
    };
    for l in m.wrap(title, TITLE_SIZE, max) {
        put(l, TITLE_SIZE, true, 0.0, &mut out);
    }
    let mut gap = BODY_SIZE;
    for p in paragraphs {
        // Half a line between paragraphs (a full one after the title).
        for l in m.wrap(p, BODY_SIZE, max) {
            put(l, BODY_SIZE, false, gap, &mut out);
            gap = 0.0;
        }
        gap = BODY_SIZE * 0.5;
    }
    out
}

fn pdf_err(what: &str) -> impl Fn(PdfiumError) -> PdfError + '_ {
    move |e| PdfError::Invalid(format!("{what}: {e:?}"))
}

fn save(doc: &PdfDocument<'_>, out_path: &Path) -> Result<(), PdfError> {
    let bytes = doc.save_to_bytes().map_err(pdf_err("saving the PDF"))?;
    write_atomic(out_path, &bytes)
}

/// Typesets `title` and `paragraphs` into an A4 PDF at `out_path` with the
/// TrueType font at `font_path`. Returns the number of pages.
pub fn render_text_pdf(
    title: &str,
    paragraphs: &[String],
    font_path: &Path,
    out_path: &Path,
) -> Result<u32, PdfError> {
    let font_bytes = std::fs::read(font_path)
        .map_err(|e| PdfError::Invalid(format!("cannot read font {}: {e}", font_path.display())))?;
    let m = Measure::new(&font_bytes, font_path)?;
    let lines = layout(&m, title, paragraphs);
    let pdfium = pdfium()?;
    let mut doc = pdfium.create_new_pdf().map_err(pdf_err("creating a PDF"))?;
    let font = doc
        .fonts_mut()
        .load_true_type_from_bytes(&font_bytes, true)
        .map_err(pdf_err("loading the font"))?;
    let pages = lines.last().map_or(1, |l| l.page + 1);
    for p in 0..pages {
        let mut page = doc
            .pages_mut()
            .create_page_at_end(PdfPagePaperSize::Custom(
                PdfPoints::new(PAGE_W),
                PdfPoints::new(PAGE_H),
            ))
            .map_err(pdf_err("adding a page"))?;
        page.set_content_regeneration_strategy(PdfPageContentRegenerationStrategy::AutomaticOnDrop);
        for l in lines.iter().filter(|l| l.page == p) {
            page.objects_mut()
                .create_text_object(
                    PdfPoints::new(l.x),
                    PdfPoints::new(l.y),
                    &l.text,
                    font,
                    PdfPoints::new(l.size),
                )
                .map_err(pdf_err("adding text"))?;
        }
        page.regenerate_content()
            .map_err(pdf_err("writing page content"))?;
    }
    save(&doc, out_path)?;
    Ok(u32::try_from(pages).unwrap_or(u32::MAX))
}

/// Renders a `.txt` paper file into a PDF.
pub fn render_text_file(txt: &Path, font_path: &Path, out_path: &Path) -> Result<u32, PdfError> {
    let src = std::fs::read_to_string(txt)
        .map_err(|e| PdfError::Invalid(format!("cannot read {}: {e}", txt.display())))?;
    let paper = PaperText::parse(&src);
    render_text_pdf(&paper.title, &paper.paragraphs, font_path, out_path)
}

/// Small deterministic generator (xorshift) so fixtures are reproducible.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f32 {
        (self.below(10_000) as f32) / 10_000.0
    }
}

const WORDS: &[&str] = &[
    "hội đồng",
    "nhân dân",
    "tỉnh",
    "huyện",
    "xã",
    "kế hoạch",
    "đầu tư công",
    "ngân sách",
    "năm",
    "giai đoạn",
    "dự án",
    "nguồn vốn",
    "phân bổ",
    "thực hiện",
    "báo cáo",
    "kết quả",
    "tăng trưởng",
    "sản xuất",
    "nông nghiệp",
    "công nghiệp",
    "dịch vụ",
    "du lịch",
    "giáo dục",
    "y tế",
    "an sinh",
    "xã hội",
    "giao thông",
    "hạ tầng",
    "đô thị",
    "nông thôn mới",
    "môi trường",
    "tài nguyên",
    "đất đai",
    "thủy lợi",
    "điện",
    "nước sạch",
    "chuyển đổi số",
    "cải cách",
    "hành chính",
    "thủ tục",
    "doanh nghiệp",
    "lao động",
    "việc làm",
    "thu nhập",
    "bình quân",
    "đầu người",
    "chỉ tiêu",
    "đạt",
    "vượt",
    "so với",
    "cùng kỳ",
    "dự toán",
    "quyết toán",
    "điều chỉnh",
    "bổ sung",
    "ưu tiên",
    "trọng điểm",
    "khởi công",
    "hoàn thành",
    "bàn giao",
];

fn sentence(rng: &mut Rng) -> String {
    let n = 8 + rng.below(14);
    let mut s = String::new();
    for i in 0..n {
        let w = WORDS[rng.below(WORDS.len() as u64) as usize];
        if i == 0 {
            let mut cs = w.chars();
            if let Some(c) = cs.next() {
                s.extend(c.to_uppercase());
                s.push_str(cs.as_str());
            }
        } else {
            s.push(' ');
            s.push_str(w);
        }
        if rng.below(9) == 0 {
            s.push_str(&format!(" {}", rng.below(1000)));
        }
    }
    s.push('.');
    s
}

fn paragraph(rng: &mut Rng) -> String {
    let n = 2 + rng.below(4);
    (0..n).map(|_| sentence(rng)).collect::<Vec<_>>().join(" ")
}

/// A JPEG photo-like image (smooth gradients and noise), `w`×`h` pixels.
fn photo_jpeg(rng: &mut Rng, w: u32, h: u32) -> Result<Vec<u8>, PdfError> {
    let (a, b, c) = (rng.unit(), rng.unit(), rng.unit());
    let mut img = image::RgbImage::new(w, h);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let n = (rng.below(32)) as f32;
        let r = 255.0 * (0.5 + 0.5 * (fx * 9.0 * (a + 0.3) + fy * 3.0).sin());
        let g = 255.0 * (0.5 + 0.5 * (fy * 7.0 * (b + 0.3) - fx * 2.0).cos());
        let bl = 255.0 * (0.5 + 0.5 * ((fx + fy) * 5.0 * (c + 0.3)).sin());
        *px = image::Rgb([
            (r * 0.85 + n) as u8,
            (g * 0.85 + n) as u8,
            (bl * 0.85 + n) as u8,
        ]);
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&img)
        .map_err(|e| PdfError::Invalid(format!("jpeg: {e}")))?;
    Ok(out)
}

/// Writes a big benchmark paper: `pages` A4 pages of generated Vietnamese
/// text; every 10th page (from the 4th) carries a full-width photo, every
/// 10th (from the 8th) a dense vector drawing (a chart of a few hundred
/// paths). Deterministic for a given page count.
pub fn generate_large_paper(font_path: &Path, out_path: &Path, pages: u32) -> Result<(), PdfError> {
    let font_bytes = std::fs::read(font_path)
        .map_err(|e| PdfError::Invalid(format!("cannot read font {}: {e}", font_path.display())))?;
    let m = Measure::new(&font_bytes, font_path)?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Two photos reused across pages keep generation quick; PDFium still
    // embeds one image stream per page that shows one.
    let photos = [
        photo_jpeg(&mut rng, 1600, 1100)?,
        photo_jpeg(&mut rng, 1400, 1000)?,
    ];

    let pdfium = pdfium()?;
    let mut doc = pdfium.create_new_pdf().map_err(pdf_err("creating a PDF"))?;
    let font = doc
        .fonts_mut()
        .load_true_type_from_bytes(&font_bytes, true)
        .map_err(pdf_err("loading the font"))?;
    let max = PAGE_W - 2.0 * MARGIN_X;
    for p in 0..pages {
        let kind = p % 10;
        // Build the page's text lines first (the page borrows the document).
        let mut lines = vec![(
            format!("Phụ lục {} — Trang {}", p / 10 + 1, p + 1),
            TITLE_SIZE,
        )];
        let budget = if kind == 3 || kind == 7 { 12 } else { 40 };
        while lines.len() < budget {
            for l in m.wrap(&paragraph(&mut rng), BODY_SIZE, max) {
                lines.push((l, BODY_SIZE));
            }
        }
        lines.truncate(budget);
        let photo = (kind == 3).then(|| photos[(p / 10 % 2) as usize].clone());
        let drawing = kind == 7;
        let shapes: Vec<(f32, f32, f32, f32, u8)> = if drawing {
            (0..300)
                .map(|_| {
                    (
                        MARGIN_X + rng.unit() * max,
                        90.0 + rng.unit() * 380.0,
                        2.0 + rng.unit() * 30.0,
                        2.0 + rng.unit() * 60.0,
                        rng.below(255) as u8,
                    )
                })
                .collect()
        } else {
            Vec::new()
        };

        let mut page = doc
            .pages_mut()
            .create_page_at_end(PdfPagePaperSize::Custom(
                PdfPoints::new(PAGE_W),
                PdfPoints::new(PAGE_H),
            ))
            .map_err(pdf_err("adding a page"))?;
        page.set_content_regeneration_strategy(PdfPageContentRegenerationStrategy::AutomaticOnDrop);
        let mut y = PAGE_H - MARGIN_TOP;
        for (text, size) in &lines {
            y -= size * LEADING;
            page.objects_mut()
                .create_text_object(
                    PdfPoints::new(MARGIN_X),
                    PdfPoints::new(y),
                    text,
                    font,
                    PdfPoints::new(*size),
                )
                .map_err(pdf_err("adding text"))?;
        }
        if let Some(jpeg) = photo {
            let mut obj = PdfPageImageObject::new_from_jpeg_reader(&doc, Cursor::new(jpeg))
                .map_err(pdf_err("adding a photo"))?;
            // Unit square scaled to 455 x 313 pt, placed under the text.
            obj.scale(max, max * 1100.0 / 1600.0)
                .map_err(pdf_err("placing a photo"))?;
            obj.translate(PdfPoints::new(MARGIN_X), PdfPoints::new(90.0))
                .map_err(pdf_err("placing a photo"))?;
            page.objects_mut()
                .add_image_object(obj)
                .map_err(pdf_err("adding a photo"))?;
        }
        for (x, y, w, h, c) in shapes {
            let color = PdfColor::new(c, 255 - c, (c / 2).wrapping_add(60), 255);
            page.objects_mut()
                .create_path_object_rect(
                    PdfRect::new_from_values(y, x, y + h, x + w),
                    Some(PdfColor::new(20, 20, 20, 255)),
                    Some(PdfPoints::new(0.5)),
                    Some(color),
                )
                .map_err(pdf_err("adding a shape"))?;
            page.objects_mut()
                .create_path_object_line(
                    PdfPoints::new(x),
                    PdfPoints::new(y),
                    PdfPoints::new(x + w * 2.0),
                    PdfPoints::new(y + h * 0.5),
                    PdfColor::new(c, 0, 120, 255),
                    PdfPoints::new(0.8),
                )
                .map_err(pdf_err("adding a shape"))?;
        }
        page.regenerate_content()
            .map_err(pdf_err("writing page content"))?;
    }
    save(&doc, out_path)
}

/// Writes a valid one-page PDF of about `bytes` bytes: an A4 page drawing
/// one 8-bit grey image of pseudo-random noise, uncompressed, so the size is
/// what was asked and nothing on the way can compress it (transfer tests and
/// benchmarks). `seed` changes every byte of the image.
pub fn noise_image_pdf(path: &Path, bytes: u64, seed: u64) -> Result<(), PdfError> {
    use std::io::Write;
    const WIDTH: u64 = 10_000;
    let height = (bytes / WIDTH).max(1);
    let image_len = WIDTH * height;
    let write_err = |e: std::io::Error| PdfError::Write {
        path: path.to_path_buf(),
        cause: e.to_string(),
    };
    let f = std::fs::File::create(path).map_err(write_err)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let mut pos: u64 = 0;
    let mut put = |w: &mut std::io::BufWriter<std::fs::File>, s: &[u8]| -> Result<u64, PdfError> {
        w.write_all(s).map_err(write_err)?;
        pos += s.len() as u64;
        Ok(pos)
    };
    let content = b"q 500 0 0 700 47 71 cm /Im0 Do Q\n";
    let objects: [String; 5] = [
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
         /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>"
            .into(),
        format!("<< /Length {} >>\nstream\n", content.len()),
        format!(
            "<< /Type /XObject /Subtype /Image /Width {WIDTH} /Height {height} \
             /ColorSpace /DeviceGray /BitsPerComponent 8 /Length {image_len} >>\nstream\n"
        ),
    ];
    let mut offsets = Vec::with_capacity(objects.len());
    let mut at = put(&mut w, b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")?;
    // Odd (xorshift needs a non-zero state) and distinct for distinct seeds.
    let mut x = (seed << 1) | 1;
    let mut buf = Vec::with_capacity(1 << 20);
    for (i, body) in objects.iter().enumerate() {
        offsets.push(at);
        put(&mut w, format!("{} 0 obj\n{body}", i + 1).as_bytes())?;
        if i == 3 {
            put(&mut w, content)?;
            put(&mut w, b"endstream")?;
        }
        if i == 4 {
            let mut left = image_len;
            while left > 0 {
                let n = left.min(1 << 20);
                buf.clear();
                while (buf.len() as u64) < n {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    buf.extend_from_slice(&x.to_le_bytes());
                }
                buf.truncate(n as usize);
                put(&mut w, &buf)?;
                left -= n;
            }
            put(&mut w, b"\nendstream")?;
        }
        at = put(&mut w, b"\nendobj\n")?;
    }
    let xref = at;
    let mut tail = String::from("xref\n0 6\n0000000000 65535 f \n");
    for o in &offsets {
        tail.push_str(&format!("{o:010} 00000 n \n"));
    }
    tail.push_str(&format!(
        "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ));
    put(&mut w, tail.as_bytes())?;
    w.flush().map_err(write_err)?;
    w.get_ref().sync_all().map_err(write_err)
}

/// The title (document information) of [`navigation_pdf`]'s paper.
pub const NAVIGATION_TITLE: &str = "Báo cáo có mục lục";

/// What [`navigation_pdf`] wrote, for tests to check against.
#[derive(Debug, Clone)]
pub struct NavigationPaper {
    /// Number of pages.
    pub pages: u32,
    /// The outline: (title, depth, zero-based page).
    pub outline: Vec<(String, u32, u32)>,
    /// The internal links: (zero-based page they sit on, `[l, b, r, t]`
    /// rect in points, zero-based target page).
    pub links: Vec<(u32, [f32; 4], u32)>,
}

/// Writes a six-page A4 paper with an outline (Vietnamese titles, two
/// levels) and internal links: a table of contents on page 1 whose lines
/// jump to pages 2, 4 and 5, and a "back to contents" link on page 6.
///
/// PDFium can read outlines and links but not write them, so this one is
/// written by hand: a few objects, a Type 1 standard font (the page text is
/// ASCII; the outline titles are UTF-16), an exact cross-reference table.
pub fn navigation_pdf(out_path: &Path) -> Result<NavigationPaper, PdfError> {
    const PAGES: u32 = 6;
    let outline: Vec<(String, u32, u32)> = vec![
        ("Mục lục".into(), 0, 0),
        ("Phần I. Tình hình kinh tế".into(), 0, 1),
        ("Phần II. Nhiệm vụ năm tới".into(), 0, 3),
        ("Điều 5. Tổ chức thực hiện".into(), 1, 4),
    ];
    // Table of contents lines on page 1: (text, target page).
    let toc: [(&str, u32); 3] = [
        ("Phan I. Tinh hinh kinh te ........ trang 2", 1),
        ("Phan II. Nhiem vu nam toi ........ trang 4", 3),
        ("Dieu 5. To chuc thuc hien ........ trang 5", 4),
    ];
    let mut links: Vec<(u32, [f32; 4], u32)> = toc
        .iter()
        .enumerate()
        .map(|(i, (_, to))| {
            let y = 700.0 - 40.0 * i as f32;
            (0, [70.0, y - 6.0, 420.0, y + 18.0], *to)
        })
        .collect();
    links.push((PAGES - 1, [70.0, 594.0, 300.0, 618.0], 0));

    // Object numbers: 1 catalog, 2 pages, 3 outlines root, 4 font, then per
    // page (page, content), then one per link, then one per outline item.
    let page_obj = |p: u32| 5 + 2 * p;
    let content_obj = |p: u32| 6 + 2 * p;
    let first_link = 5 + 2 * PAGES;
    let first_item = first_link + links.len() as u32;
    let mut objects: Vec<String> = Vec::new();
    objects.push("<< /Type /Catalog /Pages 2 0 R /Outlines 3 0 R >>".into());
    let kids: Vec<String> = (0..PAGES).map(|p| format!("{} 0 R", page_obj(p))).collect();
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {PAGES} >>",
        kids.join(" ")
    ));
    let top: Vec<u32> = (0..outline.len() as u32)
        .filter(|&i| outline[i as usize].1 == 0)
        .collect();
    objects.push(format!(
        "<< /Type /Outlines /First {} 0 R /Last {} 0 R /Count {} >>",
        first_item + top[0],
        first_item + top[top.len() - 1],
        outline.len()
    ));
    objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into());
    for p in 0..PAGES {
        let annots: Vec<String> = links
            .iter()
            .enumerate()
            .filter(|(_, l)| l.0 == p)
            .map(|(i, _)| format!("{} 0 R", first_link + i as u32))
            .collect();
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] /Resources << /Font << /F1 4 0 R >> >> /Contents {} 0 R /Annots [{}] >>",
            content_obj(p),
            annots.join(" ")
        ));
        let mut text = vec![(28.0, 760.0, format!("Trang {}", p + 1))];
        if p == 0 {
            text.push((18.0, 730.0, "Muc luc".into()));
            for (i, (line, _)) in toc.iter().enumerate() {
                text.push((14.0, 700.0 - 40.0 * i as f32, (*line).into()));
            }
        } else {
            text.push((
                14.0,
                700.0,
                format!("Noi dung trang {} cua to trinh.", p + 1),
            ));
        }
        if p == PAGES - 1 {
            text.push((14.0, 600.0, "Ve muc luc (trang 1)".into()));
        }
        let stream: String = text
            .iter()
            .map(|(size, y, t)| format!("BT /F1 {size} Tf 72 {y} Td ({t}) Tj ET\n"))
            .collect();
        objects.push(format!(
            "<< /Length {} >>\nstream\n{stream}endstream",
            stream.len()
        ));
    }
    for (_, rect, to) in &links {
        objects.push(format!(
            "<< /Type /Annot /Subtype /Link /Rect [{} {} {} {}] /Border [0 0 0] /Dest [{} 0 R /XYZ null null null] >>",
            rect[0], rect[1], rect[2], rect[3], page_obj(*to)
        ));
    }
    let utf16 = |s: &str| -> String {
        let mut h = String::from("<FEFF");
        for u in s.encode_utf16() {
            h.push_str(&format!("{u:04X}"));
        }
        h.push('>');
        h
    };
    // An item's parent is the closest earlier item one level up.
    let parent_of = |j: usize| (0..j).rev().find(|&k| outline[k].1 < outline[j].1);
    let item = |j: usize| first_item + j as u32;
    for (i, (title, depth, page)) in outline.iter().enumerate() {
        let parent = parent_of(i);
        let siblings: Vec<usize> = (0..outline.len())
            .filter(|&j| outline[j].1 == *depth && parent_of(j) == parent)
            .collect();
        let parent = parent.map_or(3, item);
        let pos = siblings.iter().position(|&j| j == i).unwrap_or(0);
        let mut d = format!(
            "<< /Title {} /Parent {parent} 0 R /Dest [{} 0 R /Fit]",
            utf16(title),
            page_obj(*page)
        );
        if pos > 0 {
            d.push_str(&format!(" /Prev {} 0 R", item(siblings[pos - 1])));
        }
        if let Some(&n) = siblings.get(pos + 1) {
            d.push_str(&format!(" /Next {} 0 R", item(n)));
        }
        let children: Vec<usize> = (i + 1..outline.len())
            .take_while(|&j| outline[j].1 > *depth)
            .filter(|&j| outline[j].1 == depth + 1)
            .collect();
        if let (Some(f), Some(l)) = (children.first(), children.last()) {
            d.push_str(&format!(
                " /First {} 0 R /Last {} 0 R /Count {}",
                item(*f),
                item(*l),
                children.len()
            ));
        }
        d.push_str(" >>");
        objects.push(d);
    }

    objects.push(format!("<< /Title {} >>", utf16(NAVIGATION_TITLE)));
    let info = objects.len();

    let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        table.push_str(&format!("{off:010} 00000 n \n"));
    }
    pdf.extend_from_slice(table.as_bytes());
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    write_atomic(out_path, &pdf)?;
    Ok(NavigationPaper {
        pages: PAGES,
        outline,
        links,
    })
}
