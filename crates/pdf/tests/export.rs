//! Annotated export: annotations are real PDF annotations that PDFium reads
//! back, and poppler (pdftoppm) draws them: the highlighted region's pixels
//! differ from a render of the unannotated paper.

mod common;

use std::path::Path;
use std::process::Command;

use pdfium_render::prelude::*;
use phonghop_pdf::{analyze, export_annotated, ExportAnnotation, ExportKind};

/// Renders page 1 with pdftoppm at 72 dpi (1 px = 1 pt) and returns
/// (width, height, RGB bytes).
fn poppler_page(pdf: &Path, dir: &Path, stem: &str) -> (usize, usize, Vec<u8>) {
    let prefix = dir.join(stem);
    let st = Command::new("pdftoppm")
        .args(["-r", "72", "-f", "1", "-l", "1", "-singlefile"])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .expect("pdftoppm (poppler-utils, installed by scripts/setup) must run");
    assert!(st.success(), "pdftoppm failed on {}", pdf.display());
    let data = std::fs::read(prefix.with_extension("ppm")).expect("ppm output");
    // P6\n<w> <h>\n255\n<rgb>
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while data[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !data[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P6");
    let w: usize = fields[1].parse().expect("w");
    let h: usize = fields[2].parse().expect("h");
    (w, h, data[i + 1..].to_vec())
}

fn region_diff(a: &[u8], b: &[u8], w: usize, h: usize, r: [f32; 4]) -> usize {
    // PDF y grows upwards; image rows grow downwards.
    let (x0, x1) = (r[0] as usize, (r[2] as usize).min(w));
    let (y0, y1) = (
        h.saturating_sub(r[3] as usize),
        h.saturating_sub(r[1] as usize),
    );
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let o = (y * w + x) * 3;
            if a[o..o + 3] != b[o..o + 3] {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn exported_annotations_read_back_and_poppler_draws_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = common::render_paper("nghi-quyet-du-thao", dir.path());
    let a = analyze(&src).expect("analyze");
    let page = &a.pages[0];
    // Highlight the first "Nghị quyết" using the extracted char boxes.
    let chars: Vec<char> = page.text.chars().collect();
    let needle: Vec<char> = "Nghị quyết".chars().collect();
    let at = chars
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("word present");
    let boxes = &page.boxes[at..at + needle.len()];
    let rect = [
        boxes.iter().map(|b| b[0]).fold(f32::MAX, f32::min),
        boxes.iter().map(|b| b[1]).fold(f32::MAX, f32::min),
        boxes.iter().map(|b| b[2]).fold(f32::MIN, f32::max),
        boxes.iter().map(|b| b[3]).fold(f32::MIN, f32::max),
    ];
    let anns = vec![
        ExportAnnotation {
            page: 0,
            color: "#ffd400".into(),
            kind: ExportKind::Highlight { rects: vec![rect] },
        },
        ExportAnnotation {
            page: 0,
            color: "#d00000".into(),
            kind: ExportKind::Ink {
                strokes: vec![vec![[100.0, 300.0], [200.0, 320.0], [300.0, 300.0]]],
                width: 3.0,
            },
        },
        ExportAnnotation {
            page: 0,
            color: "#2060ff".into(),
            kind: ExportKind::Note {
                x: 500.0,
                y: 760.0,
                text: "Đề nghị làm rõ nguồn vốn".into(),
            },
        },
    ];
    let out = dir.path().join("exported.pdf");
    export_annotated(
        &src,
        &out,
        &anns,
        Some("Bản dành cho đại biểu — không phát tán"),
    )
    .expect("export");

    // Read back with PDFium.
    let pdfium = phonghop_pdf::pdfium().expect("pdfium");
    {
        let doc = pdfium
            .load_pdf_from_file(&out, None)
            .expect("reopen export");
        let p = doc.pages().get(0).expect("page 0");
        let kinds: Vec<PdfPageAnnotationType> = p
            .annotations()
            .iter()
            .map(|a| a.annotation_type())
            .collect();
        assert_eq!(
            kinds,
            vec![
                PdfPageAnnotationType::Highlight,
                PdfPageAnnotationType::Ink,
                PdfPageAnnotationType::Text
            ]
        );
        let hl = p.annotations().get(0).expect("highlight");
        let b = hl.bounds().expect("bounds");
        assert!(
            (b.left().value - rect[0]).abs() < 1.0 && (b.top().value - rect[3]).abs() < 1.0,
            "highlight where the word is: {b:?} vs {rect:?}"
        );
        let q = hl.attachment_points().first().expect("one quad");
        assert!(
            (q.x2().value - q.x1().value) > 10.0,
            "quad has width (PLATFORM.md trap): {q:?}"
        );
        let note = p.annotations().get(2).expect("note");
        assert_eq!(note.contents().as_deref(), Some("Đề nghị làm rõ nguồn vốn"));
        let text = p.text().expect("text").all();
        assert!(
            text.contains("Bản dành cho đại biểu"),
            "watermark text is on the page"
        );
    }

    // Poppler draws the highlight and the ink.
    let (w, h, before) = poppler_page(&src, dir.path(), "before");
    let (w2, h2, after) = poppler_page(&out, dir.path(), "after");
    assert_eq!((w, h), (w2, h2));
    let hl = region_diff(&before, &after, w, h, rect);
    let area = ((rect[2] - rect[0]) * (rect[3] - rect[1])) as usize;
    assert!(
        hl * 3 > area,
        "poppler must paint the highlight: {hl} of {area} px changed"
    );
    let ink = region_diff(&before, &after, w, h, [100.0, 296.0, 300.0, 324.0]);
    assert!(
        ink > 100,
        "poppler must draw the ink stroke: {ink} px changed"
    );
}

#[test]
fn export_rejects_bad_input_with_typed_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = common::render_paper("nghi-quyet-du-thao", dir.path());
    let out = dir.path().join("x.pdf");
    let bad_page = [ExportAnnotation {
        page: 99,
        color: "#000000".into(),
        kind: ExportKind::Note {
            x: 1.0,
            y: 1.0,
            text: "x".into(),
        },
    }];
    assert!(matches!(
        export_annotated(&src, &out, &bad_page, None),
        Err(phonghop_pdf::PdfError::NoSuchPage { page: 99, .. })
    ));
    let bad_color = [ExportAnnotation {
        page: 0,
        color: "yellow".into(),
        kind: ExportKind::Note {
            x: 1.0,
            y: 1.0,
            text: "x".into(),
        },
    }];
    assert!(matches!(
        export_annotated(&src, &out, &bad_color, None),
        Err(phonghop_pdf::PdfError::Invalid(_))
    ));
    assert!(!out.exists(), "nothing written on error");
}
