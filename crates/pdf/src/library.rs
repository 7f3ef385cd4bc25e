//! Finding and binding `libpdfium.so`, once per process.
//!
//! pdfium-render keeps its bindings in a process-wide singleton (binding twice
//! is an error), so this module owns the one [`Pdfium`] of the process and
//! hands out `&'static Pdfium`. With pdfium-render's `thread_safe` feature every
//! PDFium call takes a global lock, so sharing it is sound; the render service
//! still keeps all rendering on one worker thread so that calls are not
//! interleaved page by page.
//!
//! Search order: `$PHONGHOP_PDFIUM` (a file path), next to the current
//! executable, then `vendor/pdfium/libpdfium.so` in any ancestor of the
//! executable's directory or of the current directory (the repository layout
//! that `scripts/setup` creates).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use pdfium_render::prelude::Pdfium;

use crate::error::PdfError;

/// Environment variable naming the libpdfium file to use.
pub const PDFIUM_ENV: &str = "PHONGHOP_PDFIUM";

const LIB_NAME: &str = "libpdfium.so";

static PDFIUM: OnceLock<Pdfium> = OnceLock::new();
static BIND_LOCK: Mutex<()> = Mutex::new(());

/// Where libpdfium would be looked for, in order (the first existing one wins).
pub fn candidate_paths() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os(PDFIUM_ENV) {
        out.push(PathBuf::from(p));
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    if let Some(dir) = &exe_dir {
        out.push(dir.join(LIB_NAME));
        // The .deb puts bundled resources in /usr/lib/<product>/ next to
        // /usr/bin/<app> (scripts/package-deb).
        out.push(dir.join("../lib/Phonghop").join(LIB_NAME));
    }
    let starts = exe_dir.into_iter().chain(std::env::current_dir().ok());
    for start in starts {
        for anc in start.ancestors() {
            let p = anc.join("vendor").join("pdfium").join(LIB_NAME);
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// Finds libpdfium on disk without loading it.
pub fn locate() -> Result<PathBuf, PdfError> {
    if let Some(p) = std::env::var_os(PDFIUM_ENV) {
        let p = PathBuf::from(p);
        // An explicit setting that points nowhere is a mistake to report, not
        // a reason to silently use some other copy.
        return if p.is_file() {
            Ok(p)
        } else {
            Err(PdfError::PdfiumMissing {
                cause: format!("{PDFIUM_ENV}={} is not a file", p.display()),
            })
        };
    }
    let cands = candidate_paths();
    cands
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| PdfError::PdfiumMissing {
            cause: format!(
                "{LIB_NAME} not found next to the executable nor in vendor/pdfium/ above it or the current directory ({} places tried)",
                cands.len()
            ),
        })
}

/// The process's PDFium, binding it on first use.
pub fn pdfium() -> Result<&'static Pdfium, PdfError> {
    if let Some(p) = PDFIUM.get() {
        return Ok(p);
    }
    let _guard = BIND_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = PDFIUM.get() {
        return Ok(p);
    }
    let path = locate()?;
    let bindings = Pdfium::bind_to_library(&path).map_err(|e| PdfError::PdfiumMissing {
        cause: format!("could not load {}: {e:?}", path.display()),
    })?;
    Ok(PDFIUM.get_or_init(|| Pdfium::new(bindings)))
}
