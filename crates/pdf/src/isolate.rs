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
use crate::error::{display_name, PdfError};

/// Arguments that select the analysis worker, before the file path.
pub const WORKER_ARGS: &[&str] = &["pdf", "analyze-worker"];

/// Test hook, read by the child only: `sleep` makes the worker hang for an
/// hour, `abort` makes it abort (SIGABRT) before touching the file. Used to
/// prove that timeouts and crashes are contained; never set it in production.
pub const WORKER_FAULT_ENV: &str = "PHONGHOP_PDF_WORKER_FAULT";

/// What the child prints on stdout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerReply {
    /// The paper was read.
    Ok(Box<Analysis>),
    /// The paper was judged bad (a typed refusal, not a crash).
    Err(PdfError),
}

/// Body of the worker subcommand: analyze `file`, print the reply as JSON.
/// Exit code 0 whenever a reply was printed (good or refused paper).
pub fn run_analyze_worker(file: &Path) -> ExitCode {
    match std::env::var(WORKER_FAULT_ENV).as_deref() {
        Ok("sleep") => std::thread::sleep(Duration::from_secs(3600)),
        Ok("abort") => std::process::abort(),
        _ => {}
    }
    let reply = match analyze(file) {
        Ok(a) => WorkerReply::Ok(Box::new(a)),
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
            cause: format!("worker killed by signal {sig}{}", signal_name(sig)),
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

fn drain<R: Read + Send + 'static>(mut r: R) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

#[cfg(unix)]
fn signal_name(sig: i32) -> &'static str {
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
