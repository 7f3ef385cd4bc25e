//! Every file of the pdf.js corpus (some damaged on purpose) goes through
//! isolated analysis (the import path, smoke render included): the test
//! process must never panic, hang or crash, each file is either imported or
//! refused with a typed reason, and nothing is refused that poppler's
//! `pdftoppm` renders.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use phonghop_pdf::{analyze_isolated, PdfError};

#[test]
fn corpus_is_imported_or_refused_in_isolation() {
    let dir = common::corpus_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 100,
        "corpus at {} should hold ~105 files, found {}",
        dir.display(),
        files.len()
    );
    let exe = common::worker_exe();
    let started = Instant::now();
    let queue = Arc::new(Mutex::new(files.clone()));
    let results = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let queue = Arc::clone(&queue);
            let results = Arc::clone(&results);
            let exe = exe.clone();
            std::thread::spawn(move || loop {
                let next = queue.lock().expect("queue").pop();
                let Some(f) = next else { break };
                let r = analyze_isolated(&exe, &f, Duration::from_secs(20));
                results.lock().expect("results").push((f, r));
            })
        })
        .collect();
    for t in threads {
        t.join().expect("corpus worker thread");
    }
    let mut results = Arc::try_unwrap(results)
        .expect("threads done")
        .into_inner()
        .expect("results");
    results.sort_by(|a, b| a.0.cmp(&b.0));

    let mut imported = 0;
    let mut refused = Vec::new();
    for (f, r) in &results {
        let name = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match r {
            Ok(a) => {
                imported += 1;
                assert!(a.page_count > 0, "{name}: imported with zero pages");
                assert_eq!(
                    a.pages.len() as u32,
                    a.page_count,
                    "{name}: one entry per page"
                );
                for p in &a.pages {
                    assert_eq!(
                        p.text.chars().count(),
                        p.boxes.len(),
                        "{name}: text and boxes must stay aligned"
                    );
                }
            }
            Err(e) => refused.push((name, e.clone())),
        }
    }
    println!(
        "imported {imported}, refused {} in {:.1} s",
        refused.len(),
        started.elapsed().as_secs_f64()
    );
    for (name, e) in &refused {
        println!("  refused {name}: [{}] {e}", e.code());
    }
    assert_eq!(results.len(), files.len(), "every file got a verdict");
    let by_name = |n: &str| {
        results
            .iter()
            .find(|(f, _)| f.file_name().is_some_and(|x| x == n))
            .map(|(_, r)| r)
            .expect("file in corpus")
    };
    match by_name("tracemonkey.pdf") {
        Ok(a) => {
            assert_eq!(a.page_count, 14, "tracemonkey has 14 pages");
            assert!(a.char_count() > 40_000, "tracemonkey is text-heavy");
        }
        Err(e) => panic!("tracemonkey.pdf must import: {e}"),
    }
    for (name, e) in &refused {
        assert!(
            !matches!(e, PdfError::PdfiumMissing { .. }),
            "{name}: PDFium must be found by the worker: {e}"
        );
        assert!(
            e.to_string().contains(name.as_str()),
            "message names the file: {e}"
        );
    }
    refused_only_what_poppler_cannot_read(&refused);
    assert!(
        imported * 10 >= files.len() * 8,
        "most of the corpus is readable: imported {imported} of {}",
        files.len()
    );
}

/// Each refused file goes to `pdftoppm` (every page, at 8 dpi): the list of
/// files poppler renders and we refuse must be empty. A file poppler opens
/// only by ignoring a security handler it does not know ("Unsupported
/// version/revision") renders the still-encrypted content as noise: poppler
/// cannot read it either, and the list says so.
fn refused_only_what_poppler_cannot_read(refused: &[(String, PdfError)]) {
    let dir = common::corpus_dir();
    let out = tempfile::tempdir().expect("tempdir");
    let mut renders = Vec::new();
    for (name, e) in refused {
        let run = std::process::Command::new("pdftoppm")
            .args(["-r", "8", "-png"])
            .arg(dir.join(name))
            .arg(out.path().join("p"))
            .output()
            .expect("pdftoppm (Debian's poppler-utils; scripts/setup installs it)");
        let said = String::from_utf8_lossy(&run.stderr);
        let unreadable = said.contains("security handler") || said.contains("password");
        let verdict = match (run.status.success(), unreadable) {
            (true, false) => {
                renders.push(name.clone());
                "poppler renders it"
            }
            (true, true) => "poppler opens it but cannot decrypt it (noise)",
            (false, _) => "poppler refuses it too",
        };
        println!("  {name}: we refuse [{}], {verdict}", e.code());
    }
    assert!(
        renders.is_empty(),
        "refused by us, rendered by poppler: {renders:?}"
    );
}
