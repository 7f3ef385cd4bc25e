//! Content-addressed blob store: papers stored under their SHA-256.
//!
//! A blob becomes visible at `<root>/<aa>/<full hex>` only after its bytes
//! were written to a temp file in `<root>/tmp/`, fsynced, hashed and found
//! equal to the address, then renamed atomically (and the folder fsynced).
//! So a reader never sees a partial or wrong blob, even after a crash.
//! Downloads use [`PartialBlob`], which keeps a `.part` file between runs so
//! a transfer resumes from its length.

use crate::StoreError;
use phonghop_core::Hash;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A folder of blobs.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn fsync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Hashes a file's content.
pub fn hash_file(path: &Path) -> Result<(Hash, u64), StoreError> {
    let mut f = File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(io(path))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((Hash(h.finalize().into()), n))
}

impl BlobStore {
    /// Opens (creating) the blob folder.
    pub fn open(root: &Path) -> Result<BlobStore, StoreError> {
        let tmp = root.join("tmp");
        phonghop_fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        Ok(BlobStore {
            root: root.to_path_buf(),
        })
    }

    /// Where the blob lives (whether or not it is there yet).
    pub fn path(&self, hash: &Hash) -> PathBuf {
        let hex = hash.to_hex();
        self.root.join(&hex[..2]).join(hex)
    }

    /// Whether the blob is stored.
    pub fn has(&self, hash: &Hash) -> bool {
        self.path(hash).is_file()
    }

    /// Size of a stored blob.
    pub fn size(&self, hash: &Hash) -> Option<u64> {
        fs::metadata(self.path(hash)).ok().map(|m| m.len())
    }

    fn temp_path(&self, name: &str) -> PathBuf {
        self.root.join("tmp").join(name)
    }

    /// Moves a verified temp file into place.
    fn publish(&self, tmp: &Path, hash: &Hash) -> Result<PathBuf, StoreError> {
        let dst = self.path(hash);
        let dir = dst.parent().unwrap_or(&self.root).to_path_buf();
        phonghop_fs::create_dir_all(&dir).map_err(io(&dir))?;
        fs::rename(tmp, &dst).map_err(io(&dst))?;
        fsync_dir(&dir)?;
        Ok(dst)
    }

    /// Copies a file in, returning its address and size. Already stored:
    /// nothing is written.
    pub fn put_file(&self, src: &Path) -> Result<(Hash, u64), StoreError> {
        let mut input = File::open(src).map_err(io(src))?;
        let tmp = self.temp_path(&format!("import-{}-{}.tmp", std::process::id(), unique()));
        let result = (|| {
            let mut out = phonghop_fs::create(&tmp).map_err(io(&tmp))?;
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            let mut n = 0u64;
            loop {
                let k = input.read(&mut buf).map_err(io(src))?;
                if k == 0 {
                    break;
                }
                h.update(&buf[..k]);
                out.write_all(&buf[..k]).map_err(io(&tmp))?;
                n += k as u64;
            }
            out.sync_all().map_err(io(&tmp))?;
            let hash = Hash(h.finalize().into());
            if self.has(&hash) {
                let _ = fs::remove_file(&tmp);
            } else {
                self.publish(&tmp, &hash)?;
            }
            Ok((hash, n))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Stores bytes, returning their address.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Hash, StoreError> {
        let hash = Hash::of(bytes);
        if self.has(&hash) {
            return Ok(hash);
        }
        let tmp = self.temp_path(&format!("bytes-{}-{}.tmp", std::process::id(), unique()));
        let mut out = phonghop_fs::create(&tmp).map_err(io(&tmp))?;
        out.write_all(bytes)
            .and_then(|()| out.sync_all())
            .map_err(io(&tmp))
            .inspect_err(|_| {
                let _ = fs::remove_file(&tmp);
            })?;
        self.publish(&tmp, &hash)?;
        Ok(hash)
    }

    /// Re-hashes a stored blob; a damaged one is removed and reported.
    pub fn verify(&self, hash: &Hash) -> Result<(), StoreError> {
        let path = self.path(hash);
        let (actual, _) = hash_file(&path)?;
        if &actual != hash {
            let _ = fs::remove_file(&path);
            return Err(StoreError::BlobMismatch {
                expected: *hash,
                actual,
            });
        }
        Ok(())
    }

    /// A resumable download of `hash` (keeps `<hash>.part` between runs).
    pub fn partial(&self, hash: &Hash) -> Result<PartialBlob, StoreError> {
        let path = self.temp_path(&format!("{}.part", hash.to_hex()));
        let file = phonghop_fs::options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let len = file.metadata().map_err(io(&path))?.len();
        Ok(PartialBlob {
            store: self.clone(),
            hash: *hash,
            path,
            file,
            len,
        })
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A blob being downloaded: append bytes, then [`PartialBlob::finish`].
#[derive(Debug)]
pub struct PartialBlob {
    store: BlobStore,
    hash: Hash,
    path: PathBuf,
    file: File,
    len: u64,
}

impl PartialBlob {
    /// Bytes already on disk: resume the transfer from here.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends downloaded bytes.
    pub fn append(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.file.write_all(bytes).map_err(io(&self.path))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Drops what was downloaded (e.g. the server's answer did not match).
    pub fn discard(self) {
        let _ = fs::remove_file(&self.path);
    }

    /// Fsyncs, verifies the hash and moves the blob into place. On a
    /// mismatch the partial file is deleted and the error says so.
    pub fn finish(self) -> Result<PathBuf, StoreError> {
        self.file.sync_all().map_err(io(&self.path))?;
        drop(self.file);
        let (actual, _) = hash_file(&self.path)?;
        if actual != self.hash {
            let _ = fs::remove_file(&self.path);
            return Err(StoreError::BlobMismatch {
                expected: self.hash,
                actual,
            });
        }
        self.store.publish(&self.path, &self.hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_idempotent_and_content_addressed() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let h = store.put_bytes("Tờ trình".as_bytes()).unwrap();
        assert_eq!(h, Hash::of("Tờ trình".as_bytes()));
        assert_eq!(fs::read(store.path(&h)).unwrap(), "Tờ trình".as_bytes());
        assert_eq!(store.put_bytes("Tờ trình".as_bytes()).unwrap(), h);
        let src = dir.path().join("paper.pdf");
        fs::write(&src, b"%PDF-1.7 fake").unwrap();
        let (h2, n) = store.put_file(&src).unwrap();
        assert_eq!((h2, n), (Hash::of(b"%PDF-1.7 fake"), 13));
        assert!(store.verify(&h2).is_ok());
    }

    #[test]
    fn partial_resumes_and_a_wrong_blob_is_never_visible() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let data = vec![7u8; 10_000];
        let h = Hash::of(&data);
        let mut p = store.partial(&h).unwrap();
        p.append(&data[..4000]).unwrap();
        drop(p);
        let mut p = store.partial(&h).unwrap();
        assert_eq!(p.len(), 4000, "a new partial resumes from what is on disk");
        p.append(&data[4000..]).unwrap();
        p.finish().unwrap();
        assert!(store.has(&h));

        let bad = Hash::of(b"something else");
        let mut p = store.partial(&bad).unwrap();
        p.append(b"not it").unwrap();
        assert!(matches!(p.finish(), Err(StoreError::BlobMismatch { .. })));
        assert!(
            !store.has(&bad),
            "a blob that fails its hash is never visible"
        );
        assert!(
            store.partial(&bad).unwrap().is_empty(),
            "the bad partial was removed"
        );

        // A stored blob damaged on disk is detected and removed.
        fs::write(store.path(&h), b"damaged").unwrap();
        assert!(store.verify(&h).is_err());
        assert!(!store.has(&h));
    }
}
