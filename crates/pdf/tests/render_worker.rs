//! PDFium in its own process: the render worker renders what the in-process
//! renderer renders; a crash or a hang on one page costs that page only (the
//! worker restarts and the next page renders); the worker cannot open files
//! outside the folders it was given, by Landlock where the kernel has it and
//! by its own protocol everywhere; its memory limit holds; and the import's
//! smoke render names the page a paper crashes on.
//!
//! Faults come from the worker's test hook (PHONGHOP_PDF_WORKER_FAULT) set in
//! a wrapper script and end on signals: unix only.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use phonghop_pdf::{
    analyze_isolated, export_isolated, Confinement, DocRef, Encoding, ExportAnnotation, ExportKind,
    PdfError, RenderConfig, RenderRequest, RenderService, WorkerProcess, WorkerSpec,
    WORKER_FAULT_ENV,
};

/// A folder of papers the worker may read, holding one copy of tracemonkey.
fn papers(dir: &Path) -> PathBuf {
    let papers = dir.join("papers");
    std::fs::create_dir_all(&papers).expect("mkdir");
    std::fs::copy(
        common::corpus_dir().join("tracemonkey.pdf"),
        papers.join("paper.pdf"),
    )
    .expect("copy");
    papers
}

fn spec(exe: PathBuf, papers: &Path) -> WorkerSpec {
    WorkerSpec::new(exe, vec![papers.to_path_buf()], Vec::new())
}

/// A render service whose PDFium runs in a worker started from `spec`, and
/// the paper in `papers`.
fn process_service(spec: WorkerSpec, papers: &Path) -> (RenderService, DocRef) {
    let svc = RenderService::start(RenderConfig {
        process: Some(spec),
        ..RenderConfig::default()
    })
    .expect("service with a worker process");
    let doc = DocRef {
        sha256: "tracemonkey".into(),
        path: papers.join("paper.pdf"),
    };
    (svc, doc)
}

fn faulty(dir: &Path, fault: &str) -> PathBuf {
    common::fault_wrapper(dir, WORKER_FAULT_ENV, fault)
}

#[test]
fn the_worker_renders_what_pdfium_renders_in_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let papers = papers(dir.path());
    let paper = papers.join("paper.pdf");
    let mut worker = WorkerProcess::new(spec(common::worker_exe(), &papers));
    let (pid, confinement) = worker.status().expect("worker starts");
    assert_ne!(pid, std::process::id(), "PDFium runs in another process");
    eprintln!("render worker pid {pid}, file rules: {confinement:?}");

    let (from_worker, opened) = worker
        .render(&paper, 0, 300, Encoding::Png)
        .expect("worker renders page 1");
    assert!(opened, "the first page opens the document");
    let (_, opened) = worker
        .render(&paper, 1, 300, Encoding::Png)
        .expect("worker renders page 2");
    assert!(!opened, "the document stays open in the worker");

    let local = RenderService::start(RenderConfig::default()).expect("in-process service");
    let doc = DocRef {
        sha256: "x".into(),
        path: paper.clone(),
    };
    let in_process = local
        .render(RenderRequest::new(doc, 0, 300))
        .wait()
        .expect("in-process render");
    assert_eq!(*in_process.bytes, from_worker, "same PNG bytes either way");
    assert_eq!(worker.starts(), 1);
}

#[test]
fn a_crash_on_one_page_costs_that_page_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let papers = papers(dir.path());
    let exe = faulty(dir.path(), "abort-on-page:2");
    let (svc, doc) = process_service(spec(exe, &papers), &papers);
    let page = |p: u32| svc.render(RenderRequest::new(doc.clone(), p, 300)).wait();

    page(0).expect("page 1 renders");
    match page(1) {
        Err(PdfError::Crashed { cause, .. }) => {
            assert!(
                cause.contains("page 2"),
                "the cause names the page: {cause}"
            );
            assert!(
                cause.contains("SIGABRT"),
                "the cause names the signal: {cause}"
            );
        }
        other => panic!("page 2 must be reported as a crash, got {other:?}"),
    }
    page(2).expect("page 3 renders after the worker restarted");
    // Asking for the crashing page again crashes again, and still costs
    // nothing else: the retry the reader offers is safe.
    assert!(matches!(page(1), Err(PdfError::Crashed { .. })));
    page(3).expect("page 4 renders");
    assert_eq!(svc.stats().rendered, 3);
}

#[test]
fn a_hang_is_killed_at_the_limit_and_the_next_page_renders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let papers = papers(dir.path());
    let mut s = spec(faulty(dir.path(), "hang-on-page:1"), &papers);
    s.timeout = Duration::from_millis(1500);
    let mut worker = WorkerProcess::new(s);
    let paper = papers.join("paper.pdf");
    match worker.render(&paper, 0, 300, Encoding::Png) {
        Err(PdfError::Timeout { seconds, .. }) => assert!((seconds - 1.5).abs() < 0.01),
        other => panic!("a hanging page must time out, got {other:?}"),
    }
    worker
        .render(&paper, 1, 300, Encoding::Png)
        .expect("page 2 renders in a fresh worker");
    assert_eq!(worker.starts(), 2, "the hung worker was replaced");
}

/// A folder beside the papers the worker must not read: a copy of the paper
/// and a key file.
fn secrets(dir: &Path) -> PathBuf {
    let secret = dir.join("secret");
    std::fs::create_dir_all(&secret).expect("mkdir");
    std::fs::copy(
        common::corpus_dir().join("tracemonkey.pdf"),
        secret.join("copy.pdf"),
    )
    .expect("copy");
    std::fs::write(secret.join("device.key"), [7u8; 32]).expect("key");
    secret
}

#[test]
fn the_worker_refuses_paths_outside_its_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let papers = papers(dir.path());
    let secret = secrets(dir.path());
    let mut worker = WorkerProcess::new(spec(common::worker_exe(), &papers));
    for path in [secret.join("copy.pdf"), secret.join("device.key")] {
        match worker.render(&path, 0, 300, Encoding::Png) {
            Err(PdfError::Invalid(m)) => assert!(m.contains("outside"), "{m}"),
            other => panic!("{} must be refused, got {other:?}", path.display()),
        }
    }
    // A path that climbs out of the folder is the same refusal.
    let climbing = papers.join("../secret/copy.pdf");
    assert!(matches!(
        worker.render(&climbing, 0, 300, Encoding::Png),
        Err(PdfError::Invalid(_))
    ));
    worker
        .render(&papers.join("paper.pdf"), 0, 300, Encoding::Png)
        .expect("its own folder still renders");
    assert_eq!(worker.starts(), 1, "a refusal is not a crash");
}

#[test]
fn landlock_alone_keeps_the_worker_out_of_other_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let papers = papers(dir.path());
    let secret = secrets(dir.path());
    // The hook switches off the worker's own path check: what holds now is
    // the kernel's rule set.
    let mut worker = WorkerProcess::new(spec(faulty(dir.path(), "open-anything"), &papers));
    let (_, confinement) = worker.status().expect("worker starts");
    if confinement == Confinement::Unsupported {
        eprintln!(
            "SKIP: this kernel has no Landlock; the worker's own path check \
             (the_worker_refuses_paths_outside_its_folders) is the limit here"
        );
        return;
    }
    let r = worker.render(&secret.join("copy.pdf"), 0, 300, Encoding::Png);
    assert!(
        r.is_err(),
        "Landlock must stop the worker reading a PDF outside its folders"
    );
    worker
        .render(&papers.join("paper.pdf"), 0, 300, Encoding::Png)
        .expect("its own folder renders under the same rules");
    // Nor can it write outside its (empty) write list: an export into the
    // papers folder is refused by the kernel.
    let r = worker.export(
        &papers.join("paper.pdf"),
        &papers.join("out.pdf"),
        &[],
        None,
    );
    assert!(r.is_err(), "writing outside its folders must fail: {r:?}");
    assert!(!papers.join("out.pdf").exists());
}

#[test]
fn the_memory_limit_holds_and_the_worker_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let papers = papers(dir.path());
    let mut s = spec(common::worker_exe(), &papers);
    s.memory = 512 << 20;
    let mut worker = WorkerProcess::new(s);
    let paper = papers.join("paper.pdf");
    // 8000 px wide is a ~330 MB bitmap plus its packed copy: over the limit.
    let r = worker.render(&paper, 0, 8000, Encoding::Png);
    assert!(r.is_err(), "a render over the memory limit must fail");
    worker
        .render(&paper, 0, 300, Encoding::Png)
        .expect("a normal page renders afterwards");
}

#[test]
fn export_runs_in_a_worker_and_writes_only_where_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let papers = papers(dir.path());
    let out = dir.path().join("exports");
    std::fs::create_dir_all(&out).expect("mkdir");
    let spec = WorkerSpec::new(
        common::worker_exe(),
        vec![papers.clone()],
        vec![out.clone()],
    );
    let note = ExportAnnotation {
        page: 0,
        color: "#ffd400".into(),
        kind: ExportKind::Highlight {
            rects: vec![[72.0, 700.0, 300.0, 712.0]],
        },
    };
    let src = papers.join("paper.pdf");
    export_isolated(&spec, &src, &out.join("a.pdf"), &[note], Some("Đại biểu A"))
        .expect("export into the exports folder");
    let written = phonghop_pdf::analyze(&out.join("a.pdf")).expect("the export is a PDF");
    assert_eq!(written.page_count, 14);
    match export_isolated(&spec, &src, &papers.join("b.pdf"), &[], None) {
        Err(PdfError::Invalid(m)) => assert!(m.contains("outside"), "{m}"),
        other => panic!("an export outside the exports folder must be refused: {other:?}"),
    }
}

#[test]
fn import_smoke_render_names_the_page_that_crashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paper = papers(dir.path()).join("paper.pdf");
    let exe = faulty(dir.path(), "abort-on-page:5");
    match analyze_isolated(&exe, &paper, Duration::from_secs(60)) {
        Err(PdfError::Crashed { cause, .. }) => assert!(
            cause.contains("while rendering page 5"),
            "the refusal names the page: {cause}"
        ),
        other => panic!("a paper that crashes at render time must be refused, got {other:?}"),
    }
    let good = analyze_isolated(&common::worker_exe(), &paper, Duration::from_secs(60))
        .expect("without the fault the paper imports");
    assert_eq!(good.page_count, 14);
}

#[test]
fn a_folder_made_again_gets_a_fresh_worker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = papers(dir.path());
    let mut worker = WorkerProcess::new(spec(common::worker_exe(), &folder));
    let paper = folder.join("paper.pdf");
    worker
        .render(&paper, 0, 200, Encoding::Png)
        .expect("renders");
    // What a device's wipe and re-join do to its blob folder.
    std::fs::remove_dir_all(&folder).expect("rm");
    papers(dir.path());
    worker
        .render(&paper, 1, 200, Encoding::Png)
        .expect("the new folder renders");
    assert_eq!(
        worker.starts(),
        2,
        "rules made for the old folder were replaced"
    );
}

#[test]
fn an_idle_worker_leaves_and_the_next_page_starts_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    let papers = papers(dir.path());
    let mut s = spec(common::worker_exe(), &papers);
    s.idle = Duration::from_millis(300);
    let (svc, doc) = process_service(s, &papers);
    let page = |p: u32| svc.render(RenderRequest::new(doc.clone(), p, 300)).wait();
    page(0).expect("page 1");
    page(1).expect("page 2, same worker");
    assert_eq!(svc.stats().worker_starts, 1);
    std::thread::sleep(Duration::from_millis(1200));
    page(0).expect("page 1 again comes from the memory cache");
    assert_eq!(
        svc.stats().worker_starts,
        1,
        "a cached page needs no worker"
    );
    page(2).expect("page 3 after the pause");
    assert_eq!(
        svc.stats().worker_starts,
        2,
        "the idle worker was let go and a new one rendered page 3"
    );
}
