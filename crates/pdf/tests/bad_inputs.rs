//! Bad files get typed errors that name the file, both in-process and through
//! the isolation worker.

mod common;

use std::time::Duration;

use phonghop_pdf::{analyze, analyze_isolated, PdfError};

#[test]
fn zero_byte_file_is_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("to-trinh-05.pdf");
    std::fs::write(&p, b"").expect("write");
    let e = analyze(&p).expect_err("empty file must be refused");
    assert!(matches!(e, PdfError::Empty { .. }), "got {e:?}");
    assert!(e.to_string().contains("to-trinh-05.pdf"), "{e}");
}

#[test]
fn missing_file_is_not_found() {
    let e = analyze(std::path::Path::new("/nonexistent/khong-co.pdf")).expect_err("missing");
    assert!(matches!(e, PdfError::NotFound { .. }), "got {e:?}");
}

#[test]
fn non_pdf_files_are_not_pdf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, &[u8], &str); 3] = [
        ("bien-ban.docx", b"PK\x03\x04rest of a zip", "ZIP"),
        ("anh.pdf", b"\x89PNG\r\n\x1a\n....", "PNG"),
        (
            "ghi-chu.pdf",
            "Đây là văn bản thường".as_bytes(),
            "plain text",
        ),
    ];
    for (name, bytes, hint) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        let e = analyze(&p).expect_err("not a pdf");
        assert!(matches!(e, PdfError::NotPdf { .. }), "{name}: got {e:?}");
        assert!(
            e.to_string().contains(hint),
            "{name}: message should say it looks like {hint}: {e}"
        );
    }
}

#[test]
fn truncated_pdf_is_damaged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let full = common::render_paper("nghi-quyet-du-thao", dir.path());
    let bytes = std::fs::read(&full).expect("read");
    let p = dir.path().join("cut.pdf");
    std::fs::write(&p, &bytes[..200.min(bytes.len())]).expect("write");
    let e = analyze(&p).expect_err("truncated file must be refused");
    assert!(matches!(e, PdfError::Damaged { .. }), "got {e:?}");
}

#[test]
fn encrypted_pdf_is_encrypted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("to-trinh-05.pdf");
    common::encrypted_pdf(&p);
    let e = analyze(&p).expect_err("encrypted must be refused");
    assert!(matches!(e, PdfError::Encrypted { .. }), "got {e:?}");
    assert_eq!(
        e.to_string(),
        "paper 'to-trinh-05.pdf' is encrypted; ask the secretariat for an unprotected copy"
    );
    assert_eq!(e.code(), "encrypted");
}

#[test]
fn bad_inputs_through_the_worker_keep_their_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let enc = dir.path().join("khoa.pdf");
    common::encrypted_pdf(&enc);
    let empty = dir.path().join("rong.pdf");
    std::fs::write(&empty, b"").expect("write");
    let t = Duration::from_secs(20);
    let exe = common::worker_exe();
    assert!(matches!(
        analyze_isolated(&exe, &enc, t),
        Err(PdfError::Encrypted { .. })
    ));
    assert!(matches!(
        analyze_isolated(&exe, &empty, t),
        Err(PdfError::Empty { .. })
    ));
}
