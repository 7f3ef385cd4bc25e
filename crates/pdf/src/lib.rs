//! `phonghop-pdf`: everything Phonghop does with PDF files, behind PDFium.
//!
//! - [`library`]: finding and binding `libpdfium.so` once per process;
//! - [`analyze`](mod@analyze): import analysis (pages, text with boxes, metadata, signatures);
//! - [`isolate`]: the same analysis in a child process with a time limit,
//!   plus a smoke render of every page;
//! - [`worker`]: the render worker process (rendering and annotated export
//!   for the app, which never calls PDFium itself);
//! - [`sandbox`]: the memory limit and Landlock rules both children run under;
//! - [`render`]: the render service (one worker thread, priority queue,
//!   cancellation, memory + disk cache);
//! - [`export`]: writing annotations and a watermark into a copy of a paper;
//! - [`fixtures`]: our own Vietnamese sample papers and a big benchmark paper.
//!
//! The crate knows nothing of the network; errors are [`PdfError`].

pub mod analyze;
pub mod cache;
pub mod encode;
pub mod error;
pub mod export;
pub mod fixtures;
pub mod isolate;
pub mod library;
pub mod render;
pub mod sandbox;
pub mod worker;

pub use analyze::{
    analyze, analyze_with_limit, page_count, Analysis, LinkTarget, Metadata, OutlineEntry,
    PageAnalysis, PageLink, SignatureInfo,
};
pub use encode::Encoding;
pub use error::PdfError;
pub use export::{export_annotated, ExportAnnotation, ExportKind};
pub use fixtures::{
    find_font, generate_large_paper, navigation_pdf, noise_image_pdf, render_text_file,
    render_text_pdf, NavigationPaper, PaperText, NAVIGATION_TITLE,
};
pub use isolate::{
    analyze_isolated, run_analyze_worker, WorkerReply, SMOKE_WIDTH, WORKER_ARGS, WORKER_FAULT_ENV,
};
pub use library::{locate as locate_pdfium, pdfium, PDFIUM_ENV};
pub use render::{
    DocRef, Generation, Priority, RenderConfig, RenderHandle, RenderRequest, RenderService,
    RenderStats, RenderedPage, Source, THUMBNAIL_WIDTH,
};
pub use sandbox::Confinement;
pub use worker::{
    export_isolated, run_render_worker, WorkerProcess, WorkerSpec, RENDER_WORKER_ARGS,
};
