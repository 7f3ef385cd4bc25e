//! Data folders `0700`, files `0600`, on the hub and on devices, whatever
//! the umask (issue 13, item 4).
//!
//! This test binary sets the process umask to `000` (so nothing is private
//! by accident), then runs a real hub on 127.0.0.1 with a paper, a device
//! that joins, downloads the paper, writes a note and syncs, and walks both
//! folders: every folder must be `0700` and every file `0600` — SQLite's
//! `-wal`/`-shm`, blobs, keys, the TLS-less hub's records included.
//!
//! One test in its own binary: the umask is the process's.

#![cfg(unix)]

use anyhow::{ensure, Result};
use phonghop_core::protocol::Command;
use phonghop_core::*;
use phonghop_tests::hub::{delegate, note, Paper, TestHub, MEETING};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Every path under `root` (itself included) whose mode is not private.
fn loose(root: &Path) -> Result<Vec<(PathBuf, u32)>> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p)?;
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            if mode != 0o700 {
                out.push((p.clone(), mode));
            }
            for e in std::fs::read_dir(&p)? {
                todo.push(e?.path());
            }
        } else if mode != 0o600 {
            out.push((p, mode));
        }
    }
    Ok(out)
}

fn count(root: &Path) -> Result<usize> {
    let mut n = 0;
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        n += 1;
        if p.is_dir() {
            for e in std::fs::read_dir(&p)? {
                todo.push(e?.path());
            }
        }
    }
    Ok(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_and_device_folders_are_private_under_a_permissive_umask() -> Result<()> {
    rustix::process::umask(rustix::fs::Mode::empty());
    let tmp = tempfile::tempdir()?;
    let pdf = phonghop_tests::papers::text_pdf(tmp.path(), "to-trinh.pdf", "riêng tư", 3)?;
    let mut hub = TestHub::with_meeting(1, &[Paper::members(pdf)], true)?;
    hub.start()?;
    let person = delegate(1);
    let device = hub.client_dir(&person);
    let client = phonghop_client::Client::join(&device, &hub.invite(&person)?, "Máy riêng").await?;
    let report = client.sync_once().await?;
    ensure!(report.blobs > 0, "the paper was downloaded: {report:?}");
    let doc = {
        let dir = client.dir();
        let d = dir.lock().unwrap_or_else(|p| p.into_inner());
        let m = d
            .store()
            .state()
            .meetings
            .get(&MeetingId::new(MEETING))
            .cloned();
        m.and_then(|m| m.documents.keys().next().cloned())
    };
    let Some(doc) = doc else {
        anyhow::bail!("the device holds no paper");
    };
    client
        .submit(Command::AddAnnotation {
            meeting: MeetingId::new(MEETING),
            annotation: note("ghi-chu-1", &person, &doc, Visibility::Private),
        })
        .await?;
    client.flush_outbox().await?;
    client.sync_once().await?;
    drop(client);
    let hub_dir = hub.data.clone();
    hub.kill();

    for root in [&hub_dir, &device] {
        let bad = loose(root)?;
        ensure!(
            bad.is_empty(),
            "not private under {}: {:?}",
            root.display(),
            bad.iter()
                .map(|(p, m)| format!("{} {m:o}", p.display()))
                .collect::<Vec<_>>()
        );
    }
    // The walk saw the real thing: databases with their WAL, blobs, keys.
    ensure!(count(&hub_dir)? > 5 && count(&device)? > 5);
    for f in ["hub.db", "hub.key"] {
        ensure!(hub_dir.join(f).is_file(), "{f} in the hub folder");
    }
    Ok(())
}
