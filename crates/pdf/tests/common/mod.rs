//! Helpers shared by this crate's integration tests: where things are, and
//! small PDFs we build ourselves.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The isolation worker binary of this crate.
pub fn worker_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_phonghop-pdf-worker"))
}

/// A wrapper script that runs the worker with one extra environment
/// variable (the worker's test hook), so a test can inject a fault into the
/// child without touching its own environment.
#[cfg(unix)]
pub fn fault_wrapper(dir: &Path, var: &str, value: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(format!("worker-{value}.sh").replace(['/', ':'], "_"));
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\n{var}='{value}' exec '{}' \"$@\"\n",
            worker_exe().display()
        ),
    )
    .expect("write wrapper");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    p
}

/// `shared/corpus/pdfjs` beside the checkout; panics with a clear message if
/// it is missing, so the corpus test can never pass by finding nothing.
pub fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/pdfjs");
    assert!(
        dir.is_dir(),
        "PDF corpus not found at {} (expected shared/ beside the checkout)",
        dir.display()
    );
    dir
}

/// The demo paper texts.
pub fn papers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo/papers")
}

/// Typesets one demo paper into `dir`, returning the PDF path.
pub fn render_paper(stem: &str, dir: &Path) -> PathBuf {
    let font = phonghop_pdf::find_font().expect("DejaVu Sans (fonts-dejavu-core) is needed");
    let out = dir.join(format!("{stem}.pdf"));
    phonghop_pdf::render_text_file(&papers_dir().join(format!("{stem}.txt")), &font, &out)
        .expect("typesetting a demo paper");
    out
}

/// A minimal PDF whose standard security handler wants a user password we
/// do not know (the /U entry matches no password), so readers must refuse it.
pub fn encrypted_pdf(path: &Path) {
    let body = [
        "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n",
        "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n",
        "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n",
        "4 0 obj << /Filter /Standard /V 1 /R 2 /P -44\n /O <0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef>\n /U <fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210> >> endobj\n",
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for obj in body {
        offsets.push(out.len());
        out.push_str(obj);
    }
    let xref = out.len();
    out.push_str("xref\n0 5\n0000000000 65535 f \n");
    for o in offsets {
        out.push_str(&format!("{o:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer << /Size 5 /Root 1 0 R /Encrypt 4 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>] >>\nstartxref\n{xref}\n%%EOF\n"
    ));
    std::fs::write(path, out).expect("write encrypted pdf");
}

/// Collapses all whitespace runs to one space.
pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
