//! `phonghop pdf inspect` judges every file, refuses bad ones with a reason,
//! and survives a worker that hangs or crashes (the real binary, as its own
//! isolation child).

use std::path::{Path, PathBuf};
use std::process::Command;

fn phonghop() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phonghop"))
}

fn corpus(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/pdfjs")
        .join(name);
    assert!(p.is_file(), "corpus file missing: {}", p.display());
    p
}

#[test]
fn inspect_judges_good_and_bad_files_and_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("rong.pdf");
    std::fs::write(&empty, b"").expect("write");
    let text = dir.path().join("ghi-chu.pdf");
    std::fs::write(&text, "không phải PDF").expect("write");
    let out = phonghop()
        .args(["pdf", "inspect"])
        .arg(corpus("tracemonkey.pdf"))
        .arg(corpus("bug1782186.pdf"))
        .arg(&empty)
        .arg(&text)
        .output()
        .expect("run phonghop");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit 0 when every file was judged:\n{stdout}"
    );
    assert!(stdout.contains("tracemonkey.pdf: 14 pages"), "{stdout}");
    assert!(stdout.contains("[encrypted]"), "{stdout}");
    assert!(stdout.contains("[empty]"), "{stdout}");
    assert!(stdout.contains("[not_pdf]"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("1 ok, 3 refused"), "{stdout}");
}

#[test]
fn inspect_survives_hanging_and_crashing_workers() {
    for (fault, code) in [("sleep", "[timeout]"), ("abort", "[crashed]")] {
        let out = phonghop()
            .env("PHONGHOP_PDF_WORKER_FAULT", fault)
            .args(["pdf", "inspect", "--timeout", "1"])
            .arg(corpus("tracemonkey.pdf"))
            .output()
            .expect("run phonghop");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{fault}: the parent lives on:\n{stdout}"
        );
        assert!(stdout.contains(code), "{fault}: {stdout}");
        assert!(stdout.contains("0 ok, 1 refused"), "{fault}: {stdout}");
    }
}
