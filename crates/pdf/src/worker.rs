//! PDFium in its own process: the app's render worker.
//!
//! The app never calls PDFium itself. It starts `EXE pdf render-worker
//! --memory BYTES --read PATH… --write PATH…` ([`RENDER_WORKER_ARGS`]); the
//! child binds PDFium, confines itself ([`crate::sandbox`]: memory limit,
//! Landlock) and then serves requests on stdin/stdout until stdin closes.
//!
//! The protocol is framed, one request → one reply, each frame a
//! little-endian `u32` length and a JSON header, then a `u32` length and a
//! binary body (the encoded page image; empty otherwise). JSON for the header
//! because it is a handful of fields and already how our errors travel;
//! a binary body because a page image is most of the bytes.
//!
//! [`WorkerProcess`] is the parent's end. It starts the child on first use,
//! waits for its `Ready` (which says how far Landlock holds), and maps the
//! ways a child can fail to the page that was asked for: a crash or an abort
//! is [`PdfError::Crashed`] naming the page, no answer within the time limit
//! is [`PdfError::Timeout`] (the child is killed). Either way the child is
//! gone and the next request starts a fresh one, so one bad page never takes
//! the others with it.

use std::ffi::OsString;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::encode::Encoding;
use crate::error::{display_name, PdfError};
use crate::export::{export_annotated, ExportAnnotation};
use crate::isolate::{fault, Fault};
use crate::library::pdfium;
use crate::render::PageRenderer;
use crate::sandbox::{self, Confinement};

/// Arguments that select the render worker, before its options.
pub const RENDER_WORKER_ARGS: &[&str] = &["pdf", "render-worker"];

/// Largest frame part we read (a page image at the widest size, encoded,
/// stays far below).
const MAX_FRAME: u32 = 512 << 20;

/// How to start a render worker.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    /// The executable that provides `pdf render-worker` (the app itself).
    pub exe: PathBuf,
    /// Files and folders the worker may read (the blob folder).
    pub read: Vec<PathBuf>,
    /// Folders the worker may write (where exports go).
    pub write: Vec<PathBuf>,
    /// Address-space limit of the child in bytes.
    pub memory: u64,
    /// How long one request may take before the child is killed.
    pub timeout: Duration,
    /// How long the render service keeps an unused worker before it lets
    /// it go (the next page that is not cached starts a new one).
    pub idle: Duration,
}

impl WorkerSpec {
    /// A spec with the default limits: 2 GiB of address space (a page at the
    /// widest size needs a few hundred MB), 30 s per request, and an idle
    /// worker let go after 5 s (the reader asks the pages ahead as soon as
    /// a page is shown, so a turn after a pause comes from the disk cache).
    pub fn new(exe: PathBuf, read: Vec<PathBuf>, write: Vec<PathBuf>) -> Self {
        WorkerSpec {
            exe,
            read,
            write,
            memory: 2 << 30,
            timeout: Duration::from_secs(30),
            idle: Duration::from_secs(5),
        }
    }

    fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = RENDER_WORKER_ARGS.iter().map(OsString::from).collect();
        a.push("--memory".into());
        a.push(self.memory.to_string().into());
        for p in &self.read {
            a.push("--read".into());
            a.push(p.clone().into());
        }
        for p in &self.write {
            a.push("--write".into());
            a.push(p.clone().into());
        }
        a
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    Render {
        path: PathBuf,
        page: u32,
        width: u32,
        encoding: Encoding,
    },
    Export {
        src: PathBuf,
        dst: PathBuf,
        annotations: Vec<ExportAnnotation>,
        watermark: Option<String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
enum Reply {
    /// Sent once at start, after confinement.
    Ready { confinement: Confinement },
    /// The body holds the encoded page; `opened` says the document was opened for it.
    Page { opened: bool },
    /// The export was written.
    Exported,
    /// A typed refusal (bad page, damaged file…): the child goes on.
    Failed { error: PdfError },
}

fn write_frame(w: &mut impl Write, header: &impl Serialize, body: &[u8]) -> std::io::Result<()> {
    let head = serde_json::to_vec(header).map_err(std::io::Error::other)?;
    let len = |n: usize| {
        u32::try_from(n)
            .map_err(|_| std::io::Error::other("frame too large"))
            .map(u32::to_le_bytes)
    };
    w.write_all(&len(head.len())?)?;
    w.write_all(&head)?;
    w.write_all(&len(body.len())?)?;
    w.write_all(body)?;
    w.flush()
}

fn read_part(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let n = u32::from_le_bytes(len);
    if n > MAX_FRAME {
        return Err(std::io::Error::other(format!(
            "frame of {n} bytes is too large"
        )));
    }
    let mut buf = vec![0u8; usize::try_from(n).unwrap_or(0)];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

fn read_frame<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> std::io::Result<(T, Vec<u8>)> {
    let head = read_part(r)?;
    let body = read_part(r)?;
    let header = serde_json::from_slice(&head).map_err(std::io::Error::other)?;
    Ok((header, body))
}

/// Options of the worker subcommand.
struct Options {
    memory: u64,
    read: Vec<PathBuf>,
    write: Vec<PathBuf>,
}

fn parse_options(args: &[OsString]) -> Result<Options, String> {
    let mut o = Options {
        memory: 2 << 30,
        read: Vec::new(),
        write: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{} needs a value", flag.to_string_lossy()))?;
        match flag.to_str() {
            Some("--memory") => {
                o.memory = value.to_str().and_then(|v| v.parse().ok()).ok_or_else(|| {
                    format!(
                        "--memory {}: not a number of bytes",
                        value.to_string_lossy()
                    )
                })?;
            }
            Some("--read") => o.read.push(PathBuf::from(value)),
            Some("--write") => o.write.push(PathBuf::from(value)),
            _ => return Err(format!("unknown option {}", flag.to_string_lossy())),
        }
    }
    Ok(o)
}

/// Body of the `pdf render-worker` subcommand (its options after
/// [`RENDER_WORKER_ARGS`]). Serves until stdin closes.
pub fn run_render_worker(args: &[OsString]) -> ExitCode {
    let opts = match parse_options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("phonghop render worker: {e}");
            return ExitCode::from(2);
        }
    };
    let fault = fault();
    // A missing PDFium is answered on every request, with its fix, rather
    // than by a worker that dies on start.
    let mut renderer = pdfium().map(|p| PageRenderer::new(p, 4));
    let confinement = match sandbox::confine(&opts.read, &opts.write, opts.memory) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("phonghop render worker: {e}");
            return ExitCode::from(3);
        }
    };
    let mut input = BufReader::new(std::io::stdin().lock());
    let mut out = BufWriter::new(std::io::stdout().lock());
    if write_frame(&mut out, &Reply::Ready { confinement }, &[]).is_err() {
        return ExitCode::from(3);
    }
    // The protocol's own rule, which holds where Landlock does not: only the
    // folders given. The test hook switches it off to show Landlock alone.
    let checked = fault != Some(Fault::OpenAnything);
    let (readable, writable) = (
        sandbox::canonical(&opts.read),
        sandbox::canonical(&opts.write),
    );
    let allowed = |p: &Path, roots: &[PathBuf]| !checked || sandbox::inside(p, roots);
    loop {
        let (req, _) = match read_frame::<Request>(&mut input) {
            Ok(r) => r,
            // Stdin closed: the app is done with us.
            Err(_) => return ExitCode::SUCCESS,
        };
        let (reply, body) = match req {
            Request::Render {
                path,
                page,
                width,
                encoding,
            } => {
                fault_at_page(fault.as_ref(), page);
                let r = match &mut renderer {
                    _ if !allowed(&path, &readable) => Err(outside(&path)),
                    Ok(r) => r.render(&path, page, width, encoding),
                    Err(e) => Err(e.clone()),
                };
                match r {
                    Ok((bytes, opened)) => (Reply::Page { opened }, bytes),
                    Err(error) => (Reply::Failed { error }, Vec::new()),
                }
            }
            Request::Export {
                src,
                dst,
                annotations,
                watermark,
            } => {
                let write_ok = dst.parent().is_some_and(|d| allowed(d, &writable));
                let r = if !allowed(&src, &readable) {
                    Err(outside(&src))
                } else if !write_ok {
                    Err(outside(&dst))
                } else {
                    export_annotated(&src, &dst, &annotations, watermark.as_deref())
                };
                match r {
                    Ok(()) => (Reply::Exported, Vec::new()),
                    Err(error) => (Reply::Failed { error }, Vec::new()),
                }
            }
        };
        if write_frame(&mut out, &reply, &body).is_err() {
            return ExitCode::from(3);
        }
    }
}

fn outside(path: &Path) -> PdfError {
    PdfError::Invalid(format!(
        "{} is outside the folders the PDF worker was given",
        path.display()
    ))
}

/// The test hook's page faults (pages are zero-based here, one-based in the
/// hook's value, as people count them).
pub(crate) fn fault_at_page(fault: Option<&Fault>, page: u32) {
    match fault {
        Some(Fault::AbortOnPage(p, flag))
            if *p == page + 1 && flag.as_ref().is_none_or(|f| f.exists()) =>
        {
            std::process::abort()
        }
        Some(Fault::HangOnPage(p)) if *p == page + 1 => {
            std::thread::sleep(Duration::from_secs(3600));
        }
        _ => {}
    }
}

struct Running {
    /// Which folders the child's file rules were made for (see [`roots`]).
    roots: Vec<Option<(u64, u64)>>,
    child: Child,
    stdin: BufWriter<ChildStdin>,
    replies: Receiver<std::io::Result<(Reply, Vec<u8>)>>,
    confinement: Confinement,
}

/// The parent's end of a render worker: starts it on demand, restarts it
/// after a failure. Dropping it closes the child's stdin and reaps it.
#[derive(Debug)]
pub struct WorkerProcess {
    spec: WorkerSpec,
    running: Option<Running>,
    starts: u64,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("pid", &self.child.id())
            .field("confinement", &self.confinement)
            .finish()
    }
}

impl WorkerProcess {
    /// A worker that starts on first use.
    pub fn new(spec: WorkerSpec) -> Self {
        WorkerProcess {
            spec,
            running: None,
            starts: 0,
        }
    }

    /// How many times a child was started (1 + restarts).
    pub fn starts(&self) -> u64 {
        self.starts
    }

    /// Whether a child is running now.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// How long an unused child is kept ([`WorkerSpec::idle`]).
    pub fn idle_limit(&self) -> Duration {
        self.spec.idle
    }

    /// Lets an idle child go: its stdin closes and it exits; the next
    /// request starts a new one.
    pub fn stop_idle(&mut self) {
        if let Some(mut r) = self.running.take() {
            // Closing stdin ends the child's loop; kill covers a busy one.
            drop(r.stdin);
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
    }

    /// The running child's pid and how far its file rules are enforced,
    /// starting it if needed.
    pub fn status(&mut self) -> Result<(u32, Confinement), PdfError> {
        let r = self.running("the PDF worker")?;
        Ok((r.child.id(), r.confinement))
    }

    /// Renders one page of `path`; the bool says whether the worker had to
    /// open the document.
    pub fn render(
        &mut self,
        path: &Path,
        page: u32,
        width: u32,
        encoding: Encoding,
    ) -> Result<(Vec<u8>, bool), PdfError> {
        let req = Request::Render {
            path: path.to_path_buf(),
            page,
            width,
            encoding,
        };
        let what = format!("page {}", page + 1);
        match self.call(&req, path, &what)? {
            (Reply::Page { opened }, body) => Ok((body, opened)),
            (Reply::Failed { error }, _) => Err(error),
            (other, _) => Err(self.confused(path, &other)),
        }
    }

    /// Writes `dst`, a copy of `src` with annotations and a watermark.
    pub fn export(
        &mut self,
        src: &Path,
        dst: &Path,
        annotations: &[ExportAnnotation],
        watermark: Option<&str>,
    ) -> Result<(), PdfError> {
        let req = Request::Export {
            src: src.to_path_buf(),
            dst: dst.to_path_buf(),
            annotations: annotations.to_vec(),
            watermark: watermark.map(str::to_string),
        };
        match self.call(&req, src, "the annotated copy")? {
            (Reply::Exported, _) => Ok(()),
            (Reply::Failed { error }, _) => Err(error),
            (other, _) => Err(self.confused(src, &other)),
        }
    }

    fn confused(&mut self, path: &Path, reply: &Reply) -> PdfError {
        self.stop();
        PdfError::Crashed {
            name: display_name(path),
            cause: format!("the PDF worker answered out of turn ({reply:?})"),
        }
    }

    fn running(&mut self, what: &str) -> Result<&mut Running, PdfError> {
        // Landlock rules hold on the folders as they were when the child
        // started: one removed and made again (the device's wipe does that
        // to its blob folder) needs a fresh child.
        if self
            .running
            .as_ref()
            .is_some_and(|r| r.roots != roots(&self.spec))
        {
            self.stop();
        }
        if self.running.is_none() {
            self.running = Some(self.spawn(what)?);
        }
        self.running.as_mut().ok_or(PdfError::WorkerGone)
    }

    fn spawn(&mut self, what: &str) -> Result<Running, PdfError> {
        self.starts += 1;
        let cant = |cause: String| PdfError::Crashed {
            name: what.to_string(),
            cause,
        };
        let mut child = Command::new(&self.spec.exe)
            .args(self.spec.args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| cant(format!("could not start {}: {e}", self.spec.exe.display())))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(cant("the PDF worker has no pipes".into()));
        };
        let (tx, replies) = mpsc::channel();
        std::thread::Builder::new()
            .name("phonghop-pdf-worker-reader".into())
            .spawn(move || {
                let mut r = BufReader::new(stdout);
                loop {
                    let frame = read_frame::<Reply>(&mut r);
                    let end = frame.is_err();
                    if tx.send(frame).is_err() || end {
                        return;
                    }
                }
            })
            .map_err(|e| cant(format!("cannot start a reader thread: {e}")))?;
        let mut running = Running {
            roots: roots(&self.spec),
            child,
            stdin: BufWriter::new(stdin),
            replies,
            confinement: Confinement::Unsupported,
        };
        match running.replies.recv_timeout(self.spec.timeout) {
            Ok(Ok((Reply::Ready { confinement }, _))) => {
                running.confinement = confinement;
                Ok(running)
            }
            other => {
                let _ = running.child.kill();
                let status = running.child.wait().ok();
                Err(cant(format!(
                    "the PDF worker did not start ({}{})",
                    match other {
                        Ok(Ok((r, _))) => format!("said {r:?}"),
                        Ok(Err(e)) => e.to_string(),
                        Err(e) => e.to_string(),
                    },
                    status.map(|s| format!(", {s}")).unwrap_or_default()
                )))
            }
        }
    }

    fn call(
        &mut self,
        req: &Request,
        path: &Path,
        what: &str,
    ) -> Result<(Reply, Vec<u8>), PdfError> {
        let name = display_name(path);
        let timeout = self.spec.timeout;
        let r = self.running(&name)?;
        let sent = write_frame(&mut r.stdin, req, &[]);
        let got = match sent {
            Ok(()) => r.replies.recv_timeout(timeout),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        };
        match got {
            Ok(Ok(frame)) => Ok(frame),
            Err(RecvTimeoutError::Timeout) => {
                self.stop();
                Err(PdfError::Timeout {
                    name,
                    seconds: timeout.as_secs_f64(),
                })
            }
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => {
                let status = self.stop();
                Err(PdfError::Crashed {
                    name,
                    cause: format!("the PDF worker stopped on {what} ({status})"),
                })
            }
        }
    }

    /// Kills and reaps the child; says how it ended.
    fn stop(&mut self) -> String {
        let Some(mut r) = self.running.take() else {
            return "not running".into();
        };
        let _ = r.child.kill();
        match r.child.wait() {
            Ok(s) => describe(s),
            Err(e) => format!("could not wait for it: {e}"),
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.stop_idle();
    }
}

/// The identity (device, inode) of each folder a spec names, `None` for a
/// missing one. Only unix has inodes; elsewhere there is no Landlock either.
fn roots(spec: &WorkerSpec) -> Vec<Option<(u64, u64)>> {
    spec.read
        .iter()
        .chain(&spec.write)
        .map(|p| {
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
            }
            #[cfg(not(unix))]
            {
                p.exists().then_some((0, 0))
            }
        })
        .collect()
}

fn describe(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return format!("killed by signal {sig}{}", crate::isolate::signal_name(sig));
    }
    status.to_string()
}

/// Writes an annotated copy in a worker process of its own (an export must
/// not wait behind page renders, nor they behind it). `spec` must let it
/// read `src` and write `dst`'s folder.
pub fn export_isolated(
    spec: &WorkerSpec,
    src: &Path,
    dst: &Path,
    annotations: &[ExportAnnotation],
    watermark: Option<&str>,
) -> Result<(), PdfError> {
    WorkerProcess::new(spec.clone()).export(src, dst, annotations, watermark)
}
