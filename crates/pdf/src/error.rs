//! The one error type of this crate, [`PdfError`].
//!
//! Callers branch on the variant (the hub refuses a paper, the reader shows a
//! placeholder page), so every way a paper can be bad has its own variant, and
//! every message names the file, the cause and what the secretariat should do.
//! [`PdfError::code`] gives a stable machine code for the `{code, message}`
//! errors that cross to the UI.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Anything that can go wrong while reading, rendering or writing a paper.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
// Adjacent tagging: `Invalid(String)` is a newtype variant, which an
// internally tagged enum cannot carry (the worker protocol sends every
// variant).
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
pub enum PdfError {
    /// The file does not exist (or cannot be read).
    #[error("paper '{name}' was not found at {path}: {cause}; check the path or import it again")]
    NotFound {
        /// File name shown to people.
        name: String,
        /// Full path.
        path: PathBuf,
        /// The I/O error text.
        cause: String,
    },
    /// The file has zero bytes.
    #[error("paper '{name}' is empty (0 bytes); the upload or copy was probably cut off, send the file again")]
    Empty {
        /// File name shown to people.
        name: String,
    },
    /// The file is not a PDF at all.
    #[error("paper '{name}' is not a PDF ({cause}); export it to PDF first and import that")]
    NotPdf {
        /// File name shown to people.
        name: String,
        /// What it looks like instead.
        cause: String,
    },
    /// The file needs a password to open.
    #[error("paper '{name}' is encrypted; ask the secretariat for an unprotected copy")]
    Encrypted {
        /// File name shown to people.
        name: String,
    },
    /// PDFium could not read the file.
    #[error("paper '{name}' is damaged ({reason}); ask the author for a fresh export of the PDF")]
    Damaged {
        /// File name shown to people.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The file is bigger than the limit we accept.
    #[error(
        "paper '{name}' is too large ({size} bytes, limit {limit}); split it or reduce its images"
    )]
    TooLarge {
        /// File name shown to people.
        name: String,
        /// Size of the file in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// Reading the file took longer than allowed (PDFium probably loops on it).
    #[error("paper '{name}' could not be read within {seconds:.1} s; it is probably damaged, ask for a fresh export")]
    Timeout {
        /// File name shown to people.
        name: String,
        /// The time limit.
        seconds: f64,
    },
    /// The isolated reader process crashed on the file.
    #[error("paper '{name}' made the PDF reader crash ({cause}); it is probably damaged, ask for a fresh export")]
    Crashed {
        /// File name shown to people.
        name: String,
        /// Exit status or signal.
        cause: String,
    },
    /// libpdfium could not be found or loaded.
    #[error("PDFium is not available ({cause}); run scripts/setup, or set PHONGHOP_PDFIUM to the path of libpdfium.so")]
    PdfiumMissing {
        /// Where we looked and what failed.
        cause: String,
    },
    /// The requested page does not exist.
    #[error("paper '{name}' has no page {page} (it has {count})")]
    NoSuchPage {
        /// File name shown to people.
        name: String,
        /// Zero-based page index asked for.
        page: u32,
        /// Page count of the document.
        count: u32,
    },
    /// Writing an output file failed.
    #[error("could not write '{path}': {cause}; check free disk space and permissions")]
    Write {
        /// The output path.
        path: PathBuf,
        /// The cause.
        cause: String,
    },
    /// An argument given by the caller is invalid (bad colour, empty watermark font...).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A render request was cancelled before it ran.
    #[error("render request cancelled")]
    Cancelled,
    /// The render worker is gone (service dropped or worker panicked).
    #[error("the PDF render worker has stopped; restart the app")]
    WorkerGone,
}

impl PdfError {
    /// Stable snake_case code for the UI (`{code, message}`).
    pub fn code(&self) -> &'static str {
        match self {
            PdfError::NotFound { .. } => "not_found",
            PdfError::Empty { .. } => "empty",
            PdfError::NotPdf { .. } => "not_pdf",
            PdfError::Encrypted { .. } => "encrypted",
            PdfError::Damaged { .. } => "damaged",
            PdfError::TooLarge { .. } => "too_large",
            PdfError::Timeout { .. } => "timeout",
            PdfError::Crashed { .. } => "crashed",
            PdfError::PdfiumMissing { .. } => "pdfium_missing",
            PdfError::NoSuchPage { .. } => "no_such_page",
            PdfError::Write { .. } => "write",
            PdfError::Invalid(_) => "invalid",
            PdfError::Cancelled => "cancelled",
            PdfError::WorkerGone => "worker_gone",
        }
    }
}

/// The name of a file as shown in messages: its last component, or the whole
/// path when it has none.
pub(crate) fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
