//! What a folder holds, byte for byte: for tests that check a device or a
//! hub keeps nothing it should not (a secret choice, a deleted paper).

use anyhow::Result;
use std::path::{Path, PathBuf};

/// Every file under `root` (itself if a file), with its bytes.
pub fn files_under(root: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p)? {
                todo.push(e?.path());
            }
        } else {
            out.push((p.clone(), std::fs::read(&p)?));
        }
    }
    Ok(out)
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
