//! Government PDFs often carry an owner password (print and copy
//! restrictions) with an empty user password: every reader opens them, and
//! so must we. Made here with qpdf (Debian's `qpdf`, installed by
//! scripts/setup) from one of our own papers, in each of the security
//! handlers qpdf writes; a file with a user password stays refused.

mod common;

use std::path::Path;
use std::process::Command;

use phonghop_pdf::{DocRef, PdfError, RenderConfig, RenderRequest, RenderService};

/// `qpdf --encrypt USER OWNER BITS [extra] -- IN OUT`.
fn protect(input: &Path, out: &Path, user: &str, bits: &str, extra: &[&str]) {
    let status = Command::new("qpdf")
        .args(["--allow-weak-crypto", "--encrypt", user, "chủ-sở-hữu", bits])
        .args(extra)
        .arg("--")
        .arg(input)
        .arg(out)
        .status()
        .expect("qpdf is needed (Debian's `qpdf`; scripts/setup installs it)");
    assert!(
        status.success(),
        "qpdf could not protect {}",
        input.display()
    );
}

#[test]
fn owner_password_papers_import_and_render_user_password_ones_do_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = common::render_paper("to-trinh-45", dir.path());
    let original = phonghop_pdf::analyze(&plain).expect("the plain paper");
    let svc = RenderService::start(RenderConfig::default()).expect("render service");

    let handlers: [(&str, &[&str]); 4] = [
        ("40", &[]),
        ("128", &[]),
        ("128", &["--use-aes=y"]),
        ("256", &[]),
    ];
    for (bits, extra) in handlers {
        let out = dir.path().join(format!("owner-{bits}{}.pdf", extra.len()));
        protect(&plain, &out, "", bits, extra);
        let a = phonghop_pdf::analyze(&out)
            .unwrap_or_else(|e| panic!("owner password only ({bits} bits {extra:?}): {e}"));
        assert_eq!(a.page_count, original.page_count, "{bits} bits {extra:?}");
        assert_eq!(
            a.pages[0].text, original.pages[0].text,
            "the text reads as in the plain paper ({bits} bits {extra:?})"
        );
        let png = svc
            .render(RenderRequest::new(
                DocRef {
                    sha256: a.sha256.clone(),
                    path: out.clone(),
                },
                0,
                400,
            ))
            .wait()
            .unwrap_or_else(|e| panic!("render ({bits} bits {extra:?}): {e}"));
        assert!(png.bytes.starts_with(b"\x89PNG"));
    }

    let locked = dir.path().join("user.pdf");
    protect(&plain, &locked, "mật-khẩu", "256", &[]);
    match phonghop_pdf::analyze(&locked) {
        Err(PdfError::Encrypted { .. }) => {}
        other => panic!("a user password must be refused as encrypted: {other:?}"),
    }
}
