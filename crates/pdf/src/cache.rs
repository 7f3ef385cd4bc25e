//! Page image caches: a memory LRU bounded by bytes and a disk cache.
//!
//! Both are keyed by (blob sha256, page, width, encoding): a blob is
//! content-addressed, so an entry never goes stale. Disk files are written to a
//! temporary name in the same folder and renamed into place, so a reader (or a
//! crash) never sees half a file.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lru::LruCache;

use crate::encode::Encoding;
use crate::error::PdfError;

/// Identity of one rendered page image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// Lower-case hex sha256 of the PDF blob.
    pub sha256: String,
    /// Zero-based page index.
    pub page: u32,
    /// Pixel width.
    pub width: u32,
    /// Image format.
    pub encoding: Encoding,
}

impl CacheKey {
    /// Path of this entry under a disk cache root:
    /// `ROOT/ab/abcdef…/p0003-w1200.png` (page zero-based).
    pub fn disk_path(&self, root: &Path) -> PathBuf {
        let prefix = self.sha256.get(..2).unwrap_or("xx");
        root.join(prefix).join(&self.sha256).join(format!(
            "p{:04}-w{}.{}",
            self.page,
            self.width,
            self.encoding.extension()
        ))
    }
}

/// Memory cache of encoded page images, evicting least recently used entries
/// once the total size passes the budget.
#[derive(Debug)]
pub struct MemoryCache {
    map: LruCache<CacheKey, Arc<Vec<u8>>>,
    bytes: usize,
    budget: usize,
}

impl MemoryCache {
    /// A cache holding at most `budget` bytes of images.
    pub fn new(budget: usize) -> Self {
        MemoryCache {
            map: LruCache::unbounded(),
            bytes: 0,
            budget,
        }
    }

    /// Looks up and marks as recently used.
    pub fn get(&mut self, key: &CacheKey) -> Option<Arc<Vec<u8>>> {
        self.map.get(key).cloned()
    }

    /// Inserts, then evicts old entries until within budget. An image larger
    /// than the whole budget is not kept.
    pub fn put(&mut self, key: CacheKey, value: Arc<Vec<u8>>) {
        if value.len() > self.budget {
            return;
        }
        self.bytes += value.len();
        if let Some(old) = self.map.put(key, value) {
            self.bytes -= old.len();
        }
        while self.bytes > self.budget {
            match self.map.pop_lru() {
                Some((_, v)) => self.bytes -= v.len(),
                None => break,
            }
        }
    }

    /// Total bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Keeps `NonZeroUsize` out of callers' way.
pub(crate) fn non_zero(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically: a unique temporary file in the same
/// folder, fsync-free (a cache can be rebuilt), then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PdfError> {
    let err = |e: std::io::Error| PdfError::Write {
        path: path.to_path_buf(),
        cause: e.to_string(),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    phonghop_fs::create_dir_all(dir).map_err(err)?;
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file}.{}.{n}.tmp", std::process::id()));
    if let Err(e) = phonghop_fs::write(&tmp, bytes) {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(page: u32) -> CacheKey {
        CacheKey {
            sha256: "ab".repeat(32),
            page,
            width: 100,
            encoding: Encoding::Png,
        }
    }

    #[test]
    fn memory_cache_evicts_least_recent_by_bytes() {
        let mut c = MemoryCache::new(250);
        c.put(key(0), Arc::new(vec![0; 100]));
        c.put(key(1), Arc::new(vec![0; 100]));
        assert!(c.get(&key(0)).is_some(), "page 0 was just put");
        c.put(key(2), Arc::new(vec![0; 100]));
        assert!(c.bytes() <= 250, "budget must hold, got {}", c.bytes());
        assert!(c.get(&key(1)).is_none(), "page 1 was least recently used");
        assert!(c.get(&key(0)).is_some() && c.get(&key(2)).is_some());
        c.put(key(3), Arc::new(vec![0; 1000]));
        assert!(c.get(&key(3)).is_none(), "bigger than the budget: not kept");
    }

    #[test]
    fn disk_path_has_sha_page_width() {
        let p = key(7).disk_path(Path::new("/c"));
        assert_eq!(
            p,
            PathBuf::from(format!("/c/ab/{}/p0007-w100.png", "ab".repeat(32)))
        );
    }

    #[test]
    fn atomic_write_leaves_no_temp() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a/b/c.png");
        write_atomic(&p, b"hello").expect("write");
        write_atomic(&p, b"world").expect("overwrite");
        assert_eq!(std::fs::read(&p).expect("read"), b"world");
        let names: Vec<_> = std::fs::read_dir(p.parent().expect("parent"))
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "only the final file remains: {names:?}");
    }
}
