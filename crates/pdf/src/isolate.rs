//! Running import analysis in a child process, so that a file which makes
//! PDFium hang or crash cannot take the hub (or the CLI) down.
//!
//! The parent runs `WORKER_EXE pdf analyze-worker FILE` ([`WORKER_ARGS`]); the
//! child calls [`run_analyze_worker`], which prints one JSON [`WorkerReply`]
//! on stdout. The parent kills the child when the time limit passes
//! ([`PdfError::Timeout`]) and maps a signal, a panic or an unreadable reply to
//! [`PdfError::Crashed`]. The `phonghop` binary provides this subcommand
//! (hidden); so does this crate's small `phonghop-pdf-worker` binary, which the
//! crate's own tests use.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::analyze::{analyze, Analysis};
use crate::encode::Encoding;
use crate::error::{display_name, PdfError};
use crate::library::pdfium;
use crate::render::PageRenderer;
use crate::sandbox;
use crate::worker::fault_at_page;

/// Arguments that select the analysis worker, before the file path.
pub const WORKER_ARGS: &[&str] = &["pdf", "analyze-worker"];

/// Test hook, read by the child only: `sleep` makes the worker hang for an
/// hour, `abort` makes it abort (SIGABRT) before touching the file;
/// `abort-on-page:N` / `hang-on-page:N` do so when PDFium is about to render
/// page N (one-based) of any paper, in the render worker and in the import's
/// smoke render (`abort-on-page:N:FLAG`: only while the file FLAG exists, so
/// an end-to-end test can turn the fault on and off in a running app); `open-anything` switches off the render worker's own path
/// check, to show that Landlock alone holds. Used to prove that timeouts,
/// crashes and the file rules are contained; never set it in production.
pub const WORKER_FAULT_ENV: &str = "PHONGHOP_PDF_WORKER_FAULT";

/// Memory limit of the analysis child on top of the file's size (it reads
/// the file into memory once).
const ANALYSIS_MEMORY: u64 = 2 << 30;

/// Width of the import's smoke render: small, so a 300-page paper costs
/// about a second, but through the same decoders as a real render.
pub const SMOKE_WIDTH: u32 = 100;

/// Faults the test hook can inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    Sleep,
    Abort,
    AbortOnPage(u32, Option<std::path::PathBuf>),
    HangOnPage(u32),
    OpenAnything,
}

/// The fault asked for through [`WORKER_FAULT_ENV`], if any.
pub(crate) fn fault() -> Option<Fault> {
    let v = std::env::var(WORKER_FAULT_ENV).ok()?;
    let page = |prefix: &str| v.strip_prefix(prefix).and_then(|n| n.parse().ok());
    match v.as_str() {
        "sleep" => Some(Fault::Sleep),
        "abort" => Some(Fault::Abort),
        "open-anything" => Some(Fault::OpenAnything),
        _ => {
            if let Some(rest) = v.strip_prefix("abort-on-page:") {
                let (n, flag) = match rest.split_once(':') {
                    Some((n, f)) => (n, Some(std::path::PathBuf::from(f))),
                    None => (rest, None),
                };
                return n.parse().ok().map(|n| Fault::AbortOnPage(n, flag));
            }
            page("hang-on-page:").map(Fault::HangOnPage)
        }
    }
}

/// What the child writes on stderr before it renders a page in the smoke
/// render, so that the parent can name the page a crash happened on.
const SMOKE_MARK: &str = "phonghop: rendering page ";

/// What the child prints on stdout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerReply {
    /// The paper was read.
    Ok(Box<Analysis>),
    /// The paper was judged bad (a typed refusal, not a crash).
    Err(PdfError),
}

/// Body of the worker subcommand: confine this process (memory limit, read
/// only `file`), analyze `file`, smoke-render every page at
/// [`SMOKE_WIDTH`], print the reply as JSON. Exit code 0 whenever a reply
/// was printed (good or refused paper).
pub fn run_analyze_worker(file: &Path) -> ExitCode {
    let fault = fault();
    match fault {
        Some(Fault::Sleep) => std::thread::sleep(Duration::from_secs(3600)),
        Some(Fault::Abort) => std::process::abort(),
        _ => {}
    }
    // Bind PDFium before the file rules shut the library's folder.
    let bound = pdfium();
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    if let Err(e) = sandbox::confine(&[file.to_path_buf()], &[], ANALYSIS_MEMORY + size) {
        eprintln!("phonghop analysis worker: {e}");
        return ExitCode::from(3);
    }
    let reply = match bound.and_then(|_| analyze(file)) {
        Ok(mut a) => {
            smoke_render(file, &mut a, fault.as_ref());
            WorkerReply::Ok(Box::new(a))
        }
        Err(e) => WorkerReply::Err(e),
    };
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut out, &reply)
        .map_err(std::io::Error::other)
        .and_then(|()| out.flush());
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(3),
    }
}

/// Renders every page small, so that a paper which crashes PDFium's image
/// decoders or font rasterisers does so here, at import, and not on every
/// delegate's device. A crash ends this process: the parent names the page
/// from the last mark on stderr. A page PDFium merely refuses to render is a
/// warning (the reader shows that page's message).
fn smoke_render(file: &Path, analysis: &mut Analysis, fault: Option<&Fault>) {
    let Ok(p) = pdfium() else { return };
    let mut r = PageRenderer::new(p, 1);
    for page in 0..analysis.page_count {
        eprintln!("{SMOKE_MARK}{}", page + 1);
        fault_at_page(fault, page);
        if let Err(e) = r.render(file, page, SMOKE_WIDTH, Encoding::Png) {
            analysis
                .warnings
                .push(format!("page {} cannot be rendered: {e}", page + 1));
        }
    }
}

/// Analyzes `file` in a child process `worker_exe pdf analyze-worker FILE`,
/// killing it after `timeout`.
pub fn analyze_isolated(
    worker_exe: &Path,
    file: &Path,
    timeout: Duration,
) -> Result<Analysis, PdfError> {
    let name = display_name(file);
    let mut child = Command::new(worker_exe)
        .args(WORKER_ARGS)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| PdfError::Crashed {
            name: name.clone(),
            cause: format!("could not start {}: {e}", worker_exe.display()),
        })?;

    // Drain both pipes on their own threads so a big reply cannot block the
    // child on a full pipe while we wait for it to exit.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);

    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                // Kill errors mean it exited meanwhile; wait() reaps it either way.
                let _ = child.kill();
                let _ = child.wait();
                return Err(PdfError::Timeout {
                    name,
                    seconds: timeout.as_secs_f64(),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(PdfError::Crashed {
                    name,
                    cause: format!("could not wait for the worker: {e}"),
                });
            }
        }
    };
    let out = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
    let err = stderr.and_then(|h| h.join().ok()).unwrap_or_default();

    // A signal is how a crash ends a process on unix; elsewhere a crash is
    // an exit code, reported below with the worker's last words.
    #[cfg(unix)]
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return Err(PdfError::Crashed {
            name,
            cause: format!(
                "worker killed by signal {sig}{}{}",
                signal_name(sig),
                smoke_page(&err)
                    .map(|p| format!(" while rendering page {p}"))
                    .unwrap_or_default()
            ),
        });
    }
    if status.success() {
        if let Ok(reply) = serde_json::from_slice::<WorkerReply>(&out) {
            return match reply {
                WorkerReply::Ok(a) => Ok(*a),
                WorkerReply::Err(e) => Err(e),
            };
        }
    }
    let tail = String::from_utf8_lossy(&err);
    let tail = tail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    Err(PdfError::Crashed {
        name,
        cause: format!("worker exited with {status} without a readable reply; {tail}"),
    })
}

/// The page the smoke render was on when the child died, from its stderr.
fn smoke_page(stderr: &[u8]) -> Option<u32> {
    String::from_utf8_lossy(stderr)
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(SMOKE_MARK))
        .and_then(|n| n.trim().parse().ok())
}

fn drain<R: Read + Send + 'static>(mut r: R) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

#[cfg(unix)]
pub(crate) fn signal_name(sig: i32) -> &'static str {
    match sig {
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        7 => " (SIGBUS)",
        8 => " (SIGFPE)",
        4 => " (SIGILL)",
        _ => "",
    }
}
