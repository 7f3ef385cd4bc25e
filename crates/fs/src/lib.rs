//! Folders and files only their owner can open.
//!
//! Everything Phonghop keeps — a hub's database and key, a device's cache,
//! blobs, rendered pages and exports — is created through here: folders
//! `0700`, files `0600` on unix, whatever the process umask (a umask can
//! only take permissions away; these are also set explicitly where a umask
//! of `0` or a looser existing file would leave more). SQLite gives a
//! database's `-wal` and `-shm` files the permissions of the database
//! file, so creating that file here first is enough for all three.
//!
//! On Windows a new file or folder inherits the ACL of the folder it is
//! made in: the user's own profile folder by default, readable by that user
//! (and administrators) only. Nothing more is set there.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Permission bits of a private folder.
pub const DIR_MODE: u32 = 0o700;
/// Permission bits of a private file.
pub const FILE_MODE: u32 = 0o600;

/// Creates `path` and any missing parents as private folders. Folders that
/// already exist are left as they are (see [`restrict`] for a data root).
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, DIR_MODE);
    b.create(path)
}

/// Makes a data root private: creates it if missing, and takes away what
/// others could do with it if it exists (a folder the user made with the
/// default umask is `0755`).
pub fn restrict(path: &Path) -> io::Result<()> {
    create_dir_all(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode != DIR_MODE {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(DIR_MODE))?;
        }
    }
    Ok(())
}

/// `OpenOptions` that create a private file (add `write`, `create`, … as
/// needed). The mode applies only when the file is created.
pub fn options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, FILE_MODE);
    o
}

/// Creates (or truncates) a private file for writing. A file that existed
/// with looser permissions is made private first.
pub fn create(path: &Path) -> io::Result<File> {
    let f = options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    private(&f)?;
    Ok(f)
}

/// Writes `bytes` to a private file at `path` (created or replaced in
/// place; callers that need atomic replacement write a temporary file with
/// this and rename it).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    create(path)?.write_all(bytes)
}

/// Makes sure the file at `path` exists and is private, creating it empty
/// if missing (before SQLite opens it: its journal files copy its mode).
pub fn ensure_file(path: &Path) -> io::Result<()> {
    let f = options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    private(&f)
}

fn private(f: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if f.metadata()?.permissions().mode() & 0o777 != FILE_MODE {
            f.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
        }
    }
    #[cfg(not(unix))]
    let _ = f;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_private_and_loose_ones_are_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/c");
        create_dir_all(&deep).unwrap();
        for d in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&tmp.path().join(d)), 0o700, "{d}");
        }
        let f = deep.join("f");
        write(&f, b"x").unwrap();
        assert_eq!(mode(&f), 0o600);

        // Made by someone else with the usual umask: tightened.
        let loose = tmp.path().join("loose");
        std::fs::create_dir(&loose).unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o755)).unwrap();
        restrict(&loose).unwrap();
        assert_eq!(mode(&loose), 0o700);
        let lf = loose.join("db");
        std::fs::write(&lf, b"").unwrap();
        std::fs::set_permissions(&lf, std::fs::Permissions::from_mode(0o644)).unwrap();
        ensure_file(&lf).unwrap();
        assert_eq!(mode(&lf), 0o600);
        write(&lf, b"y").unwrap();
        assert_eq!(mode(&lf), 0o600);
    }
}
