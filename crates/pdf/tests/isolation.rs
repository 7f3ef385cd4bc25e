//! A worker that hangs is killed at the time limit; one that dies on a signal
//! is reported as Crashed; a missing PDFium is a typed error with the fix.
//! The faults are injected through the worker's test hook
//! (PHONGHOP_PDF_WORKER_FAULT) or by pointing it at a library that is not there.
//! The faults are injected through a shell wrapper and end on signals:
//! unix only.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use phonghop_pdf::{analyze_isolated, PdfError, WorkerReply, WORKER_ARGS, WORKER_FAULT_ENV};

fn wrapper(dir: &Path, var: &str, value: &str) -> std::path::PathBuf {
    common::fault_wrapper(dir, var, value)
}

fn a_pdf(dir: &Path) -> std::path::PathBuf {
    common::corpus_dir()
        .join("tracemonkey.pdf")
        .canonicalize()
        .unwrap_or_else(|_| dir.join("x.pdf"))
}

#[test]
fn hanging_worker_is_killed_at_the_time_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = wrapper(dir.path(), WORKER_FAULT_ENV, "sleep");
    let started = Instant::now();
    let r = analyze_isolated(&exe, &a_pdf(dir.path()), Duration::from_millis(700));
    let took = started.elapsed();
    assert!(matches!(r, Err(PdfError::Timeout { .. })), "got {r:?}");
    assert!(
        took < Duration::from_secs(5),
        "must not wait for the hour-long sleep: {took:?}"
    );
}

#[test]
fn aborting_worker_is_crashed_not_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = wrapper(dir.path(), WORKER_FAULT_ENV, "abort");
    let r = analyze_isolated(&exe, &a_pdf(dir.path()), Duration::from_secs(20));
    match r {
        Err(PdfError::Crashed { cause, name }) => {
            assert_eq!(name, "tracemonkey.pdf");
            assert!(cause.contains("SIGABRT"), "cause names the signal: {cause}");
        }
        other => panic!("expected Crashed, got {other:?}"),
    }
}

#[test]
fn missing_pdfium_is_a_typed_error_with_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = wrapper(
        dir.path(),
        phonghop_pdf::PDFIUM_ENV,
        "/nonexistent/libpdfium.so",
    );
    let r = analyze_isolated(&exe, &a_pdf(dir.path()), Duration::from_secs(20));
    match r {
        Err(e @ PdfError::PdfiumMissing { .. }) => {
            assert!(e.to_string().contains("run scripts/setup"), "{e}");
            assert!(e.to_string().contains("PHONGHOP_PDFIUM"), "{e}");
        }
        other => panic!("expected PdfiumMissing, got {other:?}"),
    }
}

#[test]
fn worker_prints_one_json_reply() {
    let out = Command::new(common::worker_exe())
        .args(WORKER_ARGS)
        .arg(common::corpus_dir().join("tracemonkey.pdf"))
        .output()
        .expect("run worker");
    assert!(out.status.success());
    let reply: WorkerReply = serde_json::from_slice(&out.stdout).expect("one JSON reply");
    match reply {
        WorkerReply::Ok(a) => assert_eq!(a.page_count, 14),
        WorkerReply::Err(e) => panic!("tracemonkey must import: {e}"),
    }
}
