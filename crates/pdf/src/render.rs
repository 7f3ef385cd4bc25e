//! The render service: one worker thread owns all page rendering and serves
//! a priority queue.
//!
//! Why one thread: PDFium is not thread-safe (pdfium-render serializes every
//! call behind a global lock anyway), so more threads would only contend.
//! Parallel rendering, if ever needed, means more processes.
//!
//! Where PDFium runs: with [`RenderConfig::process`] (the app), in a confined
//! child process ([`crate::worker`]) that the worker thread talks to and
//! restarts when it crashes or hangs; the failed page answers
//! [`PdfError::Crashed`] / [`PdfError::Timeout`] and every other page goes on.
//! Without it (benchmarks, tests of the queue), on the worker thread itself.
//!
//! Callers submit [`RenderRequest`]s and get a [`RenderHandle`], which can be
//! waited on (`wait`) from a plain thread or `.await`ed as a `Future` from any
//! async runtime; nothing here depends on tokio. Requests carry a
//! [`Priority`] (the visible page beats thumbnails, which beat prefetch) and
//! may carry a [`Generation`]: the reader bumps it when the user jumps
//! elsewhere, and every request submitted under an older value is dropped with
//! [`PdfError::Cancelled`] before it is rendered. A single handle can also be
//! cancelled.
//!
//! Results go through a byte-bounded memory LRU and an optional disk cache
//! keyed by (blob sha256, page, width, encoding). Documents are opened by
//! path and kept open, keyed by their sha256, in a small LRU.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lru::LruCache;
use pdfium_render::prelude::*;

use crate::analyze::map_load_error;
use crate::cache::{non_zero, write_atomic, CacheKey, MemoryCache};
use crate::encode::{encode_rgb, pack_rows, Encoding};
use crate::error::{display_name, PdfError};
use crate::library::pdfium;
use crate::worker::{WorkerProcess, WorkerSpec};

/// Width of thumbnails in pixels.
pub const THUMBNAIL_WIDTH: u32 = 200;

/// Widest page image we render (keeps a bitmap under ~250 MB).
pub const MAX_WIDTH: u32 = 8000;

/// How urgent a request is. Higher runs first; equal priorities run in
/// submission order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Pages rendered ahead of the reader.
    Prefetch = 0,
    /// Thumbnail strip.
    Thumbnail = 1,
    /// The page the user is looking at.
    Visible = 2,
}

/// A cancellation ticket shared between a reader view and its requests.
/// Cloning shares the counter.
#[derive(Debug, Clone, Default)]
pub struct Generation(Arc<AtomicU64>);

impl Generation {
    /// A fresh ticket at generation 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Current value.
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Cancels every request submitted so far under this ticket; returns the
    /// new value.
    pub fn bump(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// Which document: its blob hash (the cache identity) and where it is on disk.
/// The path is trusted to hold bytes with that hash (the blob store verifies).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DocRef {
    /// Lower-case hex sha256 of the file.
    pub sha256: String,
    /// Path of the file.
    pub path: PathBuf,
}

/// One page image to produce.
#[derive(Debug, Clone)]
pub struct RenderRequest {
    /// The document.
    pub doc: DocRef,
    /// Zero-based page index.
    pub page: u32,
    /// Pixel width; height follows the page's aspect ratio.
    pub width: u32,
    /// Urgency.
    pub priority: Priority,
    /// Ticket and the value it had at submission.
    pub generation: Option<(Generation, u64)>,
}

impl RenderRequest {
    /// A visible-priority request with no cancellation ticket.
    pub fn new(doc: DocRef, page: u32, width: u32) -> Self {
        RenderRequest {
            doc,
            page,
            width,
            priority: Priority::Visible,
            generation: None,
        }
    }

    /// Sets the priority.
    pub fn priority(mut self, p: Priority) -> Self {
        self.priority = p;
        self
    }

    /// Ties the request to `gen` at its current value.
    pub fn generation(mut self, gen: &Generation) -> Self {
        self.generation = Some((gen.clone(), gen.current()));
        self
    }
}

/// Where a result came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Rendered by PDFium now.
    Rendered,
    /// From the memory cache.
    Memory,
    /// From the disk cache.
    Disk,
}

/// An encoded page image.
#[derive(Debug, Clone)]
pub struct RenderedPage {
    /// Encoded bytes (PNG or WebP).
    pub bytes: Arc<Vec<u8>>,
    /// Format of `bytes`.
    pub encoding: Encoding,
    /// Page index.
    pub page: u32,
    /// Pixel width asked for.
    pub width: u32,
    /// Where it came from.
    pub source: Source,
    /// Order in which the worker served it (0, 1, 2, … over the service's
    /// life); memory hits served on submission get `u64::MAX`.
    pub served_order: u64,
    /// Time spent in the worker (open + render + encode + cache write).
    pub work_time: Duration,
}

/// Settings of a [`RenderService`].
#[derive(Debug, Clone)]
pub struct RenderConfig {
    /// Disk cache root; `None` disables the disk cache.
    pub cache_dir: Option<PathBuf>,
    /// Memory cache budget in bytes.
    pub memory_bytes: usize,
    /// How many documents stay open.
    pub max_open_documents: usize,
    /// Image format.
    pub encoding: Encoding,
    /// Run PDFium in a confined child process (the app does); `None` runs it
    /// on the service's thread in this process.
    pub process: Option<WorkerSpec>,
}

impl Default for RenderConfig {
    fn default() -> Self {
        RenderConfig {
            cache_dir: None,
            memory_bytes: 64 << 20,
            max_open_documents: 4,
            encoding: Encoding::default(),
            process: None,
        }
    }
}

/// Counters, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderStats {
    /// Pages rendered by PDFium.
    pub rendered: u64,
    /// Served from memory.
    pub memory_hits: u64,
    /// Served from disk.
    pub disk_hits: u64,
    /// Dropped as cancelled.
    pub cancelled: u64,
    /// Documents opened (cold opens).
    pub documents_opened: u64,
    /// Render worker processes started (0 when PDFium runs in-process).
    pub worker_starts: u64,
}

type Reply = Result<RenderedPage, PdfError>;

#[derive(Debug, Default)]
struct SlotState {
    result: Option<Reply>,
    waker: Option<Waker>,
}

/// One-shot reply slot shared by a handle and the worker.
#[derive(Debug, Default)]
struct Slot {
    state: Mutex<SlotState>,
    ready: Condvar,
    cancelled: AtomicBool,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn complete(&self, r: Reply) {
        let waker = {
            let mut st = self.lock();
            if st.result.is_some() {
                return;
            }
            st.result = Some(r);
            st.waker.take()
        };
        self.ready.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The worker's end of a slot: answers `WorkerGone` if dropped unanswered.
#[derive(Debug)]
struct Replier(Arc<Slot>);

impl Replier {
    fn send(self, r: Reply) {
        self.0.complete(r);
    }
}

impl Drop for Replier {
    fn drop(&mut self) {
        self.0.complete(Err(PdfError::WorkerGone));
    }
}

/// The caller's end of a request: wait, poll as a future, or cancel.
#[derive(Debug)]
pub struct RenderHandle {
    slot: Arc<Slot>,
}

impl RenderHandle {
    /// Blocks until the result is there.
    pub fn wait(self) -> Reply {
        let mut st = self.slot.lock();
        loop {
            if let Some(r) = st.result.take() {
                return r;
            }
            st = self.slot.ready.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Blocks at most `timeout`; `None` if not ready by then (the handle is
    /// consumed either way; the request goes on unless cancelled).
    pub fn wait_timeout(self, timeout: Duration) -> Option<Reply> {
        let deadline = Instant::now() + timeout;
        let mut st = self.slot.lock();
        loop {
            if let Some(r) = st.result.take() {
                return Some(r);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            st = self
                .slot
                .ready
                .wait_timeout(st, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Asks the worker to skip this request if it has not started it.
    pub fn cancel(&self) {
        self.slot.cancelled.store(true, Ordering::SeqCst);
    }
}

impl Future for RenderHandle {
    type Output = Reply;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        let mut st = self.slot.lock();
        match st.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                st.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[derive(Debug)]
struct Job {
    req: RenderRequest,
    seq: u64,
    reply: Replier,
}

impl Job {
    fn is_cancelled(&self) -> bool {
        self.reply.0.cancelled.load(Ordering::SeqCst)
            || self
                .req
                .generation
                .as_ref()
                .is_some_and(|(g, v)| g.current() != *v)
    }
}

impl PartialEq for Job {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}
impl Eq for Job {}
impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Job {
    /// Max-heap: higher priority first, then lower sequence number (FIFO).
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.req
            .priority
            .cmp(&other.req.priority)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

#[derive(Debug, Default)]
struct Queue {
    heap: BinaryHeap<Job>,
    next_seq: u64,
    shutdown: bool,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    memory: Mutex<MemoryCache>,
    stats: Mutex<RenderStats>,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn memory(&self) -> MutexGuard<'_, MemoryCache> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn stats(&self) -> MutexGuard<'_, RenderStats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The render service. Dropping it stops the worker; pending requests then
/// answer [`PdfError::WorkerGone`].
#[derive(Debug)]
pub struct RenderService {
    shared: Arc<Shared>,
    config: RenderConfig,
    worker: Option<JoinHandle<()>>,
}

impl RenderService {
    /// Starts the worker thread. With [`RenderConfig::process`] set, PDFium
    /// runs in a child process and this process never binds it; otherwise
    /// PDFium is bound here (if not yet).
    pub fn start(config: RenderConfig) -> Result<Self, PdfError> {
        let backend = match &config.process {
            Some(spec) => Backend::Process(WorkerProcess::new(spec.clone())),
            None => Backend::InProcess(PageRenderer::new(pdfium()?, config.max_open_documents)),
        };
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            memory: Mutex::new(MemoryCache::new(config.memory_bytes)),
            stats: Mutex::new(RenderStats::default()),
        });
        let worker = {
            let shared = Arc::clone(&shared);
            let config = config.clone();
            std::thread::Builder::new()
                .name("phonghop-pdf-render".into())
                .spawn(move || Worker::new(backend, shared, config).run())
                .map_err(|e| PdfError::Invalid(format!("cannot start render thread: {e}")))?
        };
        Ok(RenderService {
            shared,
            config,
            worker: Some(worker),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &RenderConfig {
        &self.config
    }

    /// Submits one request.
    pub fn render(&self, req: RenderRequest) -> RenderHandle {
        self.render_batch(vec![req])
            .pop()
            .unwrap_or_else(|| RenderHandle {
                slot: Arc::new(Slot::default()),
            })
    }

    /// Submits several requests atomically (the worker sees all of them
    /// before choosing), so a visible page submitted with its prefetch
    /// pages is rendered first.
    pub fn render_batch(&self, reqs: Vec<RenderRequest>) -> Vec<RenderHandle> {
        let mut handles = Vec::with_capacity(reqs.len());
        let mut jobs = Vec::new();
        for req in reqs {
            let slot = Arc::new(Slot::default());
            handles.push(RenderHandle {
                slot: Arc::clone(&slot),
            });
            if let Some(bytes) = self.shared.memory().get(&self.key(&req)) {
                self.shared.stats().memory_hits += 1;
                slot.complete(Ok(RenderedPage {
                    bytes,
                    encoding: self.config.encoding,
                    page: req.page,
                    width: req.width,
                    source: Source::Memory,
                    served_order: u64::MAX,
                    work_time: Duration::ZERO,
                }));
                continue;
            }
            jobs.push((req, Replier(slot)));
        }
        if !jobs.is_empty() {
            let mut q = self.shared.queue();
            for (req, reply) in jobs {
                let seq = q.next_seq;
                q.next_seq += 1;
                q.heap.push(Job { req, seq, reply });
            }
            drop(q);
            self.shared.wake.notify_all();
        }
        handles
    }

    /// Renders `page` as visible and queues the next `ahead` pages as
    /// prefetch, all under `gen`. Pages past the end are answered with
    /// [`PdfError::NoSuchPage`] and cost nothing.
    pub fn render_with_prefetch(
        &self,
        doc: &DocRef,
        page: u32,
        width: u32,
        ahead: u32,
        gen: &Generation,
    ) -> RenderHandle {
        let mut reqs = vec![RenderRequest::new(doc.clone(), page, width).generation(gen)];
        for p in (1..=ahead).filter_map(|i| page.checked_add(i)) {
            reqs.push(
                RenderRequest::new(doc.clone(), p, width)
                    .priority(Priority::Prefetch)
                    .generation(gen),
            );
        }
        let mut hs = self.render_batch(reqs);
        // Prefetch handles are dropped: their results only fill the caches.
        hs.swap_remove(0)
    }

    /// A thumbnail of `page` ([`THUMBNAIL_WIDTH`] px wide).
    pub fn thumbnail(&self, doc: &DocRef, page: u32) -> RenderHandle {
        self.render(
            RenderRequest::new(doc.clone(), page, THUMBNAIL_WIDTH).priority(Priority::Thumbnail),
        )
    }

    /// Counters so far.
    pub fn stats(&self) -> RenderStats {
        *self.shared.stats()
    }

    /// Number of requests waiting.
    pub fn queued(&self) -> usize {
        self.shared.queue().heap.len()
    }

    /// Where the disk cache keeps a page, if a disk cache is configured.
    pub fn disk_path(&self, sha256: &str, page: u32, width: u32) -> Option<PathBuf> {
        let key = CacheKey {
            sha256: sha256.to_string(),
            page,
            width,
            encoding: self.config.encoding,
        };
        self.config.cache_dir.as_ref().map(|d| key.disk_path(d))
    }

    fn key(&self, req: &RenderRequest) -> CacheKey {
        CacheKey {
            sha256: req.doc.sha256.clone(),
            page: req.page,
            width: req.width,
            encoding: self.config.encoding,
        }
    }
}

impl Drop for RenderService {
    fn drop(&mut self) {
        self.shared.queue().shutdown = true;
        self.shared.wake.notify_all();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// Where PDFium runs for a service.
enum Backend {
    /// In this process, on the worker thread.
    InProcess(PageRenderer),
    /// In a child process ([`WorkerProcess`]), restarted after a crash.
    Process(WorkerProcess),
}

struct Worker {
    backend: Backend,
    shared: Arc<Shared>,
    config: RenderConfig,
    served: u64,
}

impl Worker {
    fn new(backend: Backend, shared: Arc<Shared>, config: RenderConfig) -> Self {
        Worker {
            backend,
            shared,
            config,
            served: 0,
        }
    }

    fn next_job(&mut self) -> Option<Job> {
        let mut q = self.shared.queue();
        loop {
            if q.shutdown {
                return None;
            }
            if let Some(job) = q.heap.pop() {
                return Some(job);
            }
            let idle = match &self.backend {
                Backend::Process(w) if w.is_running() => Some(w.idle_limit()),
                _ => None,
            };
            match idle {
                Some(limit) => {
                    let (guard, waited) = self
                        .shared
                        .wake
                        .wait_timeout(q, limit)
                        .unwrap_or_else(|e| e.into_inner());
                    q = guard;
                    if waited.timed_out() && q.heap.is_empty() {
                        // Nothing asked for a while: the reader has its
                        // pages; the worker's memory goes back until the
                        // next page that is not cached.
                        if let Backend::Process(w) = &mut self.backend {
                            w.stop_idle();
                        }
                    }
                }
                None => q = self.shared.wake.wait(q).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }

    fn run(mut self) {
        while let Some(job) = self.next_job() {
            if job.is_cancelled() {
                self.shared.stats().cancelled += 1;
                job.reply.send(Err(PdfError::Cancelled));
                continue;
            }
            let started = Instant::now();
            let result = self.serve(&job.req).map(|(bytes, source)| RenderedPage {
                bytes,
                encoding: self.config.encoding,
                page: job.req.page,
                width: job.req.width,
                source,
                served_order: self.served,
                work_time: started.elapsed(),
            });
            self.served += 1;
            // Counted after every job: a crash starts the next worker too.
            if let Backend::Process(w) = &self.backend {
                self.shared.stats().worker_starts = w.starts();
            }
            job.reply.send(result);
        }
    }

    fn serve(&mut self, req: &RenderRequest) -> Result<(Arc<Vec<u8>>, Source), PdfError> {
        let key = CacheKey {
            sha256: req.doc.sha256.clone(),
            page: req.page,
            width: req.width,
            encoding: self.config.encoding,
        };
        if let Some(b) = self.shared.memory().get(&key) {
            self.shared.stats().memory_hits += 1;
            return Ok((b, Source::Memory));
        }
        let disk = self.config.cache_dir.as_ref().map(|d| key.disk_path(d));
        if let Some(bytes) = disk.as_ref().and_then(|p| std::fs::read(p).ok()) {
            let bytes = Arc::new(bytes);
            self.shared.memory().put(key, Arc::clone(&bytes));
            self.shared.stats().disk_hits += 1;
            return Ok((bytes, Source::Disk));
        }
        let (bytes, opened) = match &mut self.backend {
            Backend::InProcess(r) => {
                r.render(&req.doc.path, req.page, req.width, self.config.encoding)?
            }
            Backend::Process(w) => {
                w.render(&req.doc.path, req.page, req.width, self.config.encoding)?
            }
        };
        if opened {
            self.shared.stats().documents_opened += 1;
        }
        let bytes = Arc::new(bytes);
        if let Some(p) = &disk {
            // A failed cache write is not a failed render.
            let _ = write_atomic(p, &bytes);
        }
        self.shared.memory().put(key, Arc::clone(&bytes));
        self.shared.stats().rendered += 1;
        Ok((bytes, Source::Rendered))
    }
}

/// PDFium's part of rendering: documents kept open in a small LRU (by path),
/// one page to encoded bytes. The render worker process runs it; so does the
/// service's own thread when it runs in-process (the CLI's benchmarks).
pub(crate) struct PageRenderer {
    pdfium: &'static Pdfium,
    docs: LruCache<PathBuf, PdfDocument<'static>>,
}

impl PageRenderer {
    pub(crate) fn new(pdfium: &'static Pdfium, max_open: usize) -> Self {
        PageRenderer {
            pdfium,
            docs: LruCache::new(non_zero(max_open)),
        }
    }

    /// Renders one page `width` px wide; the bool says whether the document
    /// had to be opened for it.
    pub(crate) fn render(
        &mut self,
        path: &Path,
        page: u32,
        width: u32,
        encoding: Encoding,
    ) -> Result<(Vec<u8>, bool), PdfError> {
        let name = display_name(path);
        if width == 0 || width > MAX_WIDTH {
            return Err(PdfError::Invalid(format!(
                "page width {width} px is outside 1..={MAX_WIDTH}"
            )));
        }
        let opened = !self.docs.contains(path);
        if opened {
            let doc = open_document(self.pdfium, path)?;
            self.docs.put(path.to_path_buf(), doc);
        }
        let doc = self.docs.get(path).ok_or(PdfError::WorkerGone)?;
        let pages = doc.pages();
        let count = u32::try_from(pages.len()).unwrap_or(0);
        let index = i32::try_from(page)
            .ok()
            .filter(|_| page < count)
            .ok_or_else(|| PdfError::NoSuchPage {
                name: name.clone(),
                page,
                count,
            })?;
        let (rgb, w, h) = {
            // The bitmap borrows the page: keep both in this block.
            let pdf_page = pages.get(index).map_err(|e| PdfError::Damaged {
                name: name.clone(),
                reason: format!("page {} cannot be loaded: {e:?}", page + 1),
            })?;
            let cfg = PdfRenderConfig::new()
                .set_target_width(i32::try_from(width).unwrap_or(1200))
                .set_maximum_height(i32::try_from(MAX_WIDTH * 2).unwrap_or(i32::MAX))
                .render_annotations(true)
                // 3 bytes per pixel, R first: what the encoders take, no
                // per-pixel conversion (pages are opaque).
                .set_format(PdfBitmapFormat::BGR)
                .set_reverse_byte_order(true);
            let bitmap = pdf_page
                .render_with_config(&cfg)
                .map_err(|e| PdfError::Damaged {
                    name: name.clone(),
                    reason: format!("page {} cannot be rendered: {e:?}", page + 1),
                })?;
            let (w, h) = (bitmap.width(), bitmap.height());
            let (wu, hu) = (
                usize::try_from(w).unwrap_or(0),
                usize::try_from(h).unwrap_or(0),
            );
            (pack_rows(&bitmap.as_raw_bytes(), wu * 3, hu), w, h)
        };
        let bytes = encode_rgb(
            &rgb,
            u32::try_from(w).unwrap_or(0),
            u32::try_from(h).unwrap_or(0),
            encoding,
        )?;
        Ok((bytes, opened))
    }
}

/// Opens a document from disk with the usual checks and error mapping.
pub(crate) fn open_document(
    pdfium: &'static Pdfium,
    path: &std::path::Path,
) -> Result<PdfDocument<'static>, PdfError> {
    let name = display_name(path);
    let meta = std::fs::metadata(path).map_err(|e| PdfError::NotFound {
        name: name.clone(),
        path: path.to_path_buf(),
        cause: e.to_string(),
    })?;
    if meta.len() == 0 {
        return Err(PdfError::Empty { name });
    }
    pdfium
        .load_pdf_from_file(path, None)
        .map_err(|e| map_load_error(&name, e))
}
