//! One writer per hub folder: `DIR/hub.lock`, held with an exclusive OS
//! file lock (fs4: `flock` on Unix, `LockFileEx` on Windows) by whoever
//! opened the folder for writing — a running hub, or a `phonghop` command
//! while no hub runs. The OS drops the lock when its holder exits, killed
//! or not, so a crash never leaves the folder locked.
//!
//! The lock file also says who holds it (`process 4242 (phonghop)`), for
//! the refusal another writer gets; where the OS keeps locked bytes from
//! other readers (Windows) the refusal names the holder without that.

use crate::serving::Serving;
use crate::HubError;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lock file of a hub folder.
pub(crate) fn lock_path(dir: &Path) -> PathBuf {
    dir.join("hub.lock")
}

/// The folder's writer lock, held until dropped.
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Takes the lock if nobody holds it; `None` if somebody does.
    pub(crate) fn try_take(dir: &Path) -> Result<Option<WriterLock>, HubError> {
        let path = lock_path(dir);
        let io = |source| HubError::Io {
            path: path.clone(),
            source,
        };
        let mut file = phonghop_fs::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => return Ok(None),
            Err(fs4::TryLockError::Error(e)) => return Err(io(e)),
        }
        // Who holds it, for the refusal others get (best effort: the lock
        // is what counts).
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(this_process().as_bytes()));
        Ok(Some(WriterLock { _file: file }))
    }

    /// Takes the lock, waiting up to `wait` for a writer that is finishing
    /// (a `phonghop` command, or a hub of this same process that is being
    /// restarted). A hub of another process serving the folder is not
    /// waited for: it does not finish by itself.
    pub(crate) fn take(dir: &Path, wait: Duration) -> Result<WriterLock, HubError> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(lock) = WriterLock::try_take(dir)? {
                return Ok(lock);
            }
            let served_elsewhere =
                Serving::answering(dir).is_some_and(|s| s.pid != Some(std::process::id()));
            if served_elsewhere || Instant::now() >= deadline {
                return Err(busy(dir));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

fn this_process() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "?".into());
    format!("process {} ({exe})", std::process::id())
}

/// Who holds the lock, as its lock file says.
fn holder_of(dir: &Path) -> Option<String> {
    let mut text = String::new();
    File::open(lock_path(dir))
        .ok()?
        .take(200)
        .read_to_string(&mut text)
        .ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The refusal a second writer gets: the folder, who holds it, what to do.
pub(crate) fn busy(dir: &Path) -> HubError {
    let who = holder_of(dir);
    let (holder, todo) = match Serving::answering(dir) {
        Some(s) => (
            format!(
                "the hub serving it on {}{}",
                s.listen,
                who.map(|w| format!(" ({w})")).unwrap_or_default()
            ),
            "while it runs, `phonghop` commands on this folder go through that hub; \
             stop it (Ctrl-C, or close the app that embeds it) to open the folder here"
                .to_string(),
        ),
        None => (
            who.unwrap_or_else(|| "another program".into()),
            "a `phonghop` command or the secretariat's app is writing it; \
             wait for it to finish (or close it) and try again"
                .to_string(),
        ),
    };
    HubError::Busy {
        dir: dir.to_path_buf(),
        holder,
        todo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_until_the_first_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let first = WriterLock::try_take(dir.path()).unwrap().expect("free");
        assert!(WriterLock::try_take(dir.path()).unwrap().is_none());
        let e = WriterLock::take(dir.path(), Duration::from_millis(50)).unwrap_err();
        assert_eq!(e.code(), "hub_busy");
        let msg = e.to_string();
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
        assert!(
            msg.contains(&format!("process {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        assert!(WriterLock::try_take(dir.path()).unwrap().is_some());
    }
}
