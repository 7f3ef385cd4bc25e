//! Confining a PDFium child process: a memory limit and, on Linux, a
//! Landlock rule set.
//!
//! Both worker kinds (import analysis and the app's render worker) call
//! [`confine`] once, after PDFium is bound and before they read the first
//! request, so that everything PDFium parses afterwards runs with:
//!
//! - an address-space limit (`setrlimit(RLIMIT_AS)`, through the `rlimit`
//!   crate): a file that makes PDFium allocate without end fails an
//!   allocation in the child instead of pushing the laptop into swap;
//! - read access to the paths it was given (the paper, or the blob folder)
//!   and the system font folders, write access to its output folder only,
//!   nothing else — not the device key, not the hub's keys (the `landlock`
//!   crate, best effort: an older kernel enforces what it knows).
//!
//! On other systems the memory limit holds on every unix and the file rule
//! holds through the worker's protocol (it refuses any path outside its
//! folders before opening it); [`Confinement`] says which applies.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How far the file rules are enforced by the kernel in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confinement {
    /// Every file right we restrict is enforced by Landlock.
    Full,
    /// Landlock is there but lacks some rights we asked for (older ABI).
    Partial,
    /// The kernel has no Landlock (or it is disabled): only the protocol's
    /// own path check holds.
    Unsupported,
}

/// Where PDFium finds fonts a paper does not embed (its Linux defaults) and
/// where [`crate::find_font`] looks for the watermark font.
pub fn font_dirs() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = [
        "/usr/share/fonts",
        "/usr/local/share/fonts",
        "/usr/share/X11/fonts",
        "/usr/X11R6/lib/X11/fonts",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    if let Some(home) = std::env::var_os("HOME") {
        out.push(Path::new(&home).join(".fonts"));
        out.push(Path::new(&home).join(".local/share/fonts"));
    }
    out.retain(|p| p.exists());
    out
}

/// Applies the memory limit and the file rules to this process, for good.
/// `read` and `write` are files or folders (missing ones are skipped).
pub fn confine(read: &[PathBuf], write: &[PathBuf], memory: u64) -> Result<Confinement, String> {
    limit_memory(memory)?;
    restrict_files(read, write)
}

#[cfg(unix)]
fn limit_memory(bytes: u64) -> Result<(), String> {
    rlimit::setrlimit(rlimit::Resource::AS, bytes, bytes)
        .map_err(|e| format!("cannot set the memory limit to {bytes} bytes: {e}"))
}

#[cfg(not(unix))]
fn limit_memory(_bytes: u64) -> Result<(), String> {
    // Windows has job objects for this; the worker still runs in its own
    // process, so a runaway allocation ends there.
    Ok(())
}

#[cfg(target_os = "linux")]
fn restrict_files(read: &[PathBuf], write: &[PathBuf]) -> Result<Confinement, String> {
    use landlock::{
        path_beneath_rules, Access, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr,
        RulesetStatus, ABI,
    };
    let abi = ABI::V3;
    let mut readable: Vec<PathBuf> = read.iter().filter(|p| p.exists()).cloned().collect();
    readable.extend(font_dirs());
    let writable: Vec<&PathBuf> = write.iter().filter(|p| p.exists()).collect();
    let err = |e: landlock::RulesetError| format!("cannot restrict file access: {e}");
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .map_err(err)?
        .create()
        .map_err(err)?
        .add_rules(path_beneath_rules(&readable, AccessFs::from_read(abi)))
        .map_err(err)?
        .add_rules(path_beneath_rules(&writable, AccessFs::from_all(abi)))
        .map_err(err)?
        .restrict_self()
        .map_err(err)?;
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => Confinement::Full,
        RulesetStatus::PartiallyEnforced => Confinement::Partial,
        RulesetStatus::NotEnforced => Confinement::Unsupported,
    })
}

#[cfg(not(target_os = "linux"))]
fn restrict_files(_read: &[PathBuf], _write: &[PathBuf]) -> Result<Confinement, String> {
    Ok(Confinement::Unsupported)
}

/// The folders as the worker compares paths with them: canonical, missing
/// ones dropped. Made once at start (a folder made again starts a new
/// worker, see `WorkerProcess`).
pub fn canonical(roots: &[PathBuf]) -> Vec<PathBuf> {
    roots.iter().filter_map(|r| r.canonicalize().ok()).collect()
}

/// True when `path` (canonicalised) lies inside one of `roots` (from
/// [`canonical`]): the worker's own check, which holds where Landlock does
/// not.
pub fn inside(path: &Path, roots: &[PathBuf]) -> bool {
    path.canonicalize()
        .is_ok_and(|p| roots.iter().any(|r| p.starts_with(r)))
}
