//! Import analysis: what the hub learns from a paper once, at import.
//!
//! [`analyze`] validates the file (exists, not empty, looks like a PDF, not
//! encrypted, PDFium can parse it), then reads page sizes, per-page text with
//! one box per character, the document information dictionary and the
//! digital signatures. The result is serde-serializable because the hub ships
//! it to clients with the document, so clients never need to extract text.
//!
//! This runs PDFium in the calling process. Untrusted files should go through
//! [`crate::isolate::analyze_isolated`], which runs this same function in a
//! child process with a time limit.

use std::io::Read;
use std::path::Path;

use pdfium_render::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{display_name, PdfError};
use crate::library::pdfium;
pub use phonghop_core::navigation::{
    LinkTarget, OutlineEntry, PageLink, MAX_OUTLINE, MAX_OUTLINE_DEPTH, MAX_PAGE_LINKS,
};

/// Files larger than this are refused at import (1 GiB).
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// What we know about a paper after import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// File name (no directories).
    pub file_name: String,
    /// Lower-case hex sha256 of the file bytes (the blob id).
    pub sha256: String,
    /// File size in bytes.
    pub bytes: u64,
    /// Number of pages.
    pub page_count: u32,
    /// PDF version as PDFium reports it, e.g. "Pdf1_7".
    pub pdf_version: String,
    /// Document information dictionary.
    pub metadata: Metadata,
    /// Digital signatures found in the document.
    pub signatures: Vec<SignatureInfo>,
    /// One entry per page, in order.
    pub pages: Vec<PageAnalysis>,
    /// Non-fatal problems (a page whose text could not be read...).
    pub warnings: Vec<String>,
    /// The outline (bookmarks), depth first; empty when the paper has none.
    /// Absent in analyses made before outlines were read.
    #[serde(default)]
    pub outline: Vec<OutlineEntry>,
}

impl Analysis {
    /// Total number of extracted characters over all pages.
    pub fn char_count(&self) -> usize {
        self.pages.iter().map(|p| p.boxes.len()).sum()
    }

    /// Title from the metadata, when present and not blank.
    pub fn title(&self) -> Option<&str> {
        self.metadata
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// The first `max` lines of the first page, each with the median
    /// height of its letters in points (the type size, near enough): what
    /// a title is read from when the metadata has none.
    pub fn first_lines(&self, max: usize) -> Vec<(String, f32)> {
        let Some(page) = self.pages.first() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut text = String::new();
        let mut heights: Vec<f32> = Vec::new();
        let mut flush = |text: &mut String, heights: &mut Vec<f32>| {
            if !text.trim().is_empty() {
                heights.sort_by(f32::total_cmp);
                let h = heights.get(heights.len() / 2).copied().unwrap_or(0.0);
                out.push((text.trim().to_string(), h));
            }
            text.clear();
            heights.clear();
        };
        for (c, b) in page.text.chars().zip(page.boxes.iter()) {
            if c == '\n' || c == '\r' {
                flush(&mut text, &mut heights);
                continue;
            }
            text.push(c);
            if c.is_alphabetic() && b[3] > b[1] {
                heights.push(b[3] - b[1]);
            }
        }
        flush(&mut text, &mut heights);
        out.truncate(max);
        out
    }
}

/// The document information dictionary (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// /Title
    pub title: Option<String>,
    /// /Author
    pub author: Option<String>,
    /// /Subject
    pub subject: Option<String>,
    /// /Keywords
    pub keywords: Option<String>,
    /// /Creator
    pub creator: Option<String>,
    /// /Producer
    pub producer: Option<String>,
    /// /CreationDate, raw PDF date string.
    pub creation_date: Option<String>,
    /// /ModDate, raw PDF date string.
    pub modification_date: Option<String>,
}

/// One digital signature. PDFium exposes the reason, the signing time and the
/// raw PKCS#7 contents, not the signer's name (that needs a CMS parser).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureInfo {
    /// /Reason, if given.
    pub reason: Option<String>,
    /// /M signing time, raw PDF date string ("D:20240101120000+07'00'").
    pub signing_time: Option<String>,
    /// Size of the PKCS#7 blob in bytes (0 means an empty signature field).
    pub contents_len: usize,
}

/// Size and text of one page.
///
/// `text` and `boxes` are aligned: the i-th `char` of `text` has box
/// `boxes[i]` = `[left, bottom, right, top]` in PDF points (origin bottom-left
/// of the page). Characters PDFium generates (spaces, line breaks) get a box
/// too, often zero-sized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageAnalysis {
    /// Page width in points.
    pub width: f32,
    /// Page height in points.
    pub height: f32,
    /// Page text.
    pub text: String,
    /// One box per char of `text`.
    pub boxes: Vec<[f32; 4]>,
    /// Links on the page (absent in analyses made before links were read).
    #[serde(default)]
    pub links: Vec<PageLink>,
}

/// Reads a whole file after the cheap checks (exists, size, header).
pub(crate) fn read_checked(path: &Path, max_bytes: u64) -> Result<Vec<u8>, PdfError> {
    let name = display_name(path);
    let not_found = |e: std::io::Error| PdfError::NotFound {
        name: name.clone(),
        path: path.to_path_buf(),
        cause: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(not_found)?;
    if meta.is_dir() {
        return Err(PdfError::NotPdf {
            name,
            cause: "it is a folder".into(),
        });
    }
    let size = meta.len();
    if size == 0 {
        return Err(PdfError::Empty { name });
    }
    if size > max_bytes {
        return Err(PdfError::TooLarge {
            name,
            size,
            limit: max_bytes,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    std::fs::File::open(path)
        .and_then(|f| f.take(max_bytes + 1).read_to_end(&mut bytes))
        .map_err(not_found)?;
    if bytes.is_empty() {
        return Err(PdfError::Empty { name });
    }
    check_header(&name, &bytes)?;
    Ok(bytes)
}

/// PDFium accepts `%PDF-` anywhere in the first 1024 bytes; so do we.
fn check_header(name: &str, bytes: &[u8]) -> Result<(), PdfError> {
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Ok(());
    }
    let cause = sniff(head);
    Err(PdfError::NotPdf {
        name: name.to_string(),
        cause,
    })
}

/// A human guess at what a non-PDF file is.
fn sniff(head: &[u8]) -> String {
    let starts = |p: &[u8]| head.starts_with(p);
    let kind = if starts(b"PK\x03\x04") {
        "a ZIP archive or an Office document (docx/xlsx)"
    } else if starts(b"\xD0\xCF\x11\xE0") {
        "an old Office document (doc/xls)"
    } else if starts(b"\x89PNG") {
        "a PNG image"
    } else if starts(b"\xFF\xD8\xFF") {
        "a JPEG image"
    } else if looks_html(head) {
        "an HTML page"
    } else if std::str::from_utf8(head).is_ok() {
        "plain text"
    } else {
        "unknown binary data"
    };
    format!("no %PDF- header; it looks like {kind}")
}

fn looks_html(head: &[u8]) -> bool {
    let lower = head.to_ascii_lowercase();
    lower.windows(5).any(|w| w == b"<html") || lower.starts_with(b"<!doctype html")
}

/// Maps a PDFium load error to our error for file `name`.
pub(crate) fn map_load_error(name: &str, e: PdfiumError) -> PdfError {
    match e {
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::PasswordError) => {
            PdfError::Encrypted { name: name.into() }
        }
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::SecurityError) => {
            PdfError::Damaged {
                name: name.into(),
                reason: "unsupported security handler".into(),
            }
        }
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::FormatError) => {
            PdfError::Damaged {
                name: name.into(),
                reason: "PDFium cannot parse its structure".into(),
            }
        }
        PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::FileError) => {
            PdfError::Damaged {
                name: name.into(),
                reason: "PDFium cannot read the file".into(),
            }
        }
        other => PdfError::Damaged {
            name: name.into(),
            reason: format!("PDFium: {other:?}"),
        },
    }
}

/// Analyzes a paper in this process. See the module docs.
pub fn analyze(path: &Path) -> Result<Analysis, PdfError> {
    analyze_with_limit(path, DEFAULT_MAX_BYTES)
}

/// [`analyze`] with an explicit size limit in bytes.
pub fn analyze_with_limit(path: &Path, max_bytes: u64) -> Result<Analysis, PdfError> {
    let name = display_name(path);
    let bytes = read_checked(path, max_bytes)?;
    let size = bytes.len() as u64;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let pdfium = pdfium()?;
    let doc = pdfium
        .load_pdf_from_byte_vec(bytes, None)
        .map_err(|e| map_load_error(&name, e))?;

    let mut warnings = Vec::new();
    let pages = doc.pages();
    let count = pages.len();
    if count <= 0 {
        return Err(PdfError::Damaged {
            name,
            reason: "it has no pages".into(),
        });
    }
    let mut out_pages = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for i in 0..count {
        match pages.get(i) {
            Ok(page) => {
                let (text, boxes) = match page.text() {
                    Ok(t) => page_text(&t),
                    Err(e) => {
                        warnings.push(format!("page {}: text not readable: {e:?}", i + 1));
                        (String::new(), Vec::new())
                    }
                };
                let links = page_links(&page, count);
                out_pages.push(PageAnalysis {
                    width: page.width().value,
                    height: page.height().value,
                    text,
                    boxes,
                    links,
                });
            }
            Err(e) => {
                return Err(PdfError::Damaged {
                    name,
                    reason: format!("page {} cannot be loaded: {e:?}", i + 1),
                })
            }
        }
    }

    let md = doc.metadata();
    let tag = |t: PdfDocumentMetadataTagType| {
        md.get(t)
            .map(|v| v.value().to_string())
            .filter(|v| !v.is_empty())
    };
    let metadata = Metadata {
        title: tag(PdfDocumentMetadataTagType::Title),
        author: tag(PdfDocumentMetadataTagType::Author),
        subject: tag(PdfDocumentMetadataTagType::Subject),
        keywords: tag(PdfDocumentMetadataTagType::Keywords),
        creator: tag(PdfDocumentMetadataTagType::Creator),
        producer: tag(PdfDocumentMetadataTagType::Producer),
        creation_date: tag(PdfDocumentMetadataTagType::CreationDate),
        modification_date: tag(PdfDocumentMetadataTagType::ModificationDate),
    };
    let signatures = doc
        .signatures()
        .iter()
        .map(|s| SignatureInfo {
            reason: s.reason(),
            signing_time: s.signing_date(),
            contents_len: s.bytes().len(),
        })
        .collect();

    Ok(Analysis {
        file_name: name,
        sha256,
        bytes: size,
        page_count: u32::try_from(count).unwrap_or(0),
        pdf_version: format!("{:?}", doc.version()),
        metadata,
        signatures,
        pages: out_pages,
        warnings,
        outline: outline(&doc, count),
    })
}

/// The page a destination opens, if it is a page of this paper.
fn dest_page(dest: Option<PdfDestination<'_>>, count: PdfPageIndex) -> Option<u32> {
    let i = dest?.page_index().ok()?;
    (i < count).then(|| u32::try_from(i).ok()).flatten()
}

/// Where an action or a destination leads (the destination wins: PDFium
/// resolves it for both forms).
fn target(
    dest: Option<PdfDestination<'_>>,
    action: Option<PdfAction<'_>>,
    count: PdfPageIndex,
) -> Option<LinkTarget> {
    if let Some(page) = dest_page(dest, count) {
        return Some(LinkTarget::Page { page });
    }
    let action = action?;
    if let Some(local) = action.as_local_destination_action() {
        return dest_page(local.destination().ok(), count).map(|page| LinkTarget::Page { page });
    }
    let uri = action.as_uri_action()?.uri().ok()?;
    let uri = uri.trim().to_string();
    (!uri.is_empty()).then_some(LinkTarget::Uri { uri })
}

/// The outline, depth first, bounded by [`MAX_OUTLINE`] entries and
/// [`MAX_OUTLINE_DEPTH`] levels (so a looping outline ends).
fn outline(doc: &PdfDocument<'_>, count: PdfPageIndex) -> Vec<OutlineEntry> {
    fn walk(
        first: Option<PdfBookmark<'_>>,
        depth: u32,
        count: PdfPageIndex,
        out: &mut Vec<OutlineEntry>,
    ) {
        let mut node = first;
        while let Some(b) = node {
            if out.len() >= MAX_OUTLINE || depth > MAX_OUTLINE_DEPTH {
                return;
            }
            let page = match target(b.destination(), b.action(), count) {
                Some(LinkTarget::Page { page }) => Some(page),
                _ => None,
            };
            out.push(OutlineEntry {
                title: b.title().unwrap_or_default().trim().to_string(),
                depth,
                page,
            });
            walk(b.first_child(), depth + 1, count, out);
            node = b.next_sibling();
        }
    }
    let mut out = Vec::new();
    walk(doc.bookmarks().root(), 0, count, &mut out);
    out
}

/// The links of one page that lead somewhere, bounded by [`MAX_PAGE_LINKS`].
fn page_links(page: &PdfPage<'_>, count: PdfPageIndex) -> Vec<PageLink> {
    page.links()
        .iter()
        .filter_map(|l| {
            let r = l.rect().ok()?;
            let target = target(l.destination(), l.action(), count)?;
            Some(PageLink {
                rect: [
                    r.left().value,
                    r.bottom().value,
                    r.right().value,
                    r.top().value,
                ],
                target,
            })
        })
        .take(MAX_PAGE_LINKS)
        .collect()
}

/// Text of a page and one box per char, aligned.
pub(crate) fn page_text(text: &PdfPageText<'_>) -> (String, Vec<[f32; 4]>) {
    let chars = text.chars();
    let n = chars.len();
    let mut s = String::with_capacity(n);
    let mut boxes = Vec::with_capacity(n);
    for c in chars.iter() {
        let ch = c.unicode_char().unwrap_or('\u{FFFD}');
        // PDFium reports NUL for some generated chars; keep the text clean.
        let ch = if ch == '\0' { ' ' } else { ch };
        let b = c
            .loose_bounds()
            .map(|r| {
                [
                    r.left().value,
                    r.bottom().value,
                    r.right().value,
                    r.top().value,
                ]
            })
            .unwrap_or([0.0; 4]);
        s.push(ch);
        boxes.push(b);
    }
    (s, boxes)
}

/// Page count only (cheap open, no text).
pub fn page_count(path: &Path) -> Result<u32, PdfError> {
    let name = display_name(path);
    let bytes = read_checked(path, DEFAULT_MAX_BYTES)?;
    let doc = pdfium()?
        .load_pdf_from_byte_vec(bytes, None)
        .map_err(|e| map_load_error(&name, e))?;
    Ok(u32::try_from(doc.pages().len()).unwrap_or(0))
}
