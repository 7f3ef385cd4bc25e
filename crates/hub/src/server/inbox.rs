//! The inbox: `DIR/inbox/<meeting id>/` folders watched with `notify`. A
//! PDF dropped there is analysed (in a child process, with a time limit)
//! and published as a new paper — or, if the meeting already has a paper
//! from a file of the same name, as its next version. A file still being
//! written is not picked up until its size and modification time hold
//! still; a bad file is moved to `rejected/` with a `.reason.txt` beside it.

use super::Shared;
use crate::{HubError, NewPaper};
use notify::{RecursiveMode, Watcher};
use phonghop_core::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long a file must hold still before it is taken.
const SETTLE: Duration = Duration::from_millis(700);
/// Analysis time limit per file.
const ANALYSIS_LIMIT: Duration = Duration::from_secs(120);

/// Keeps the watcher alive; dropping it stops watching.
pub struct InboxGuard {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for InboxGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InboxGuard")
    }
}

impl Drop for InboxGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn start(
    shared: Arc<Shared>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<InboxGuard, HubError> {
    let root = crate::hubdir::inbox_root(&shared.config.data);
    phonghop_fs::create_dir_all(&root).map_err(|source| HubError::Io {
        path: root.clone(),
        source,
    })?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            for p in ev.paths {
                let _ = tx.send(p);
            }
        }
    })
    .map_err(|e| HubError::Io {
        path: root.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    watcher
        .watch(&root, RecursiveMode::Recursive)
        .map_err(|e| HubError::Io {
            path: root.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
    // Files already waiting when the hub starts.
    let mut pending: HashMap<PathBuf, (u64, SystemTime, std::time::Instant)> = HashMap::new();
    for p in scan(&root) {
        pending.insert(
            p,
            (u64::MAX, SystemTime::UNIX_EPOCH, std::time::Instant::now()),
        );
    }
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                Some(p) = rx.recv() => {
                    if candidate(&root, &p) {
                        pending.insert(p, (u64::MAX, SystemTime::UNIX_EPOCH, std::time::Instant::now()));
                    }
                }
                _ = tick.tick() => {
                    let mut ready = Vec::new();
                    pending.retain(|p, (size, mtime, since)| {
                        let Ok(meta) = std::fs::metadata(p) else { return false };
                        let (s, m) = (meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
                        if s != *size || m != *mtime {
                            *size = s;
                            *mtime = m;
                            *since = std::time::Instant::now();
                            return true;
                        }
                        if since.elapsed() >= SETTLE {
                            ready.push(p.clone());
                            return false;
                        }
                        true
                    });
                    for p in ready {
                        import(&shared, &root, p).await;
                    }
                }
            }
        }
    });
    Ok(InboxGuard {
        _watcher: watcher,
        task,
    })
}

/// `inbox/<meeting>/<file>.pdf`, not hidden, not in `rejected/`.
fn candidate(root: &Path, p: &Path) -> bool {
    let Ok(rel) = p.strip_prefix(root) else {
        return false;
    };
    let parts: Vec<_> = rel.components().collect();
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    parts.len() == 2 && !name.starts_with('.') && name.to_ascii_lowercase().ends_with(".pdf")
}

fn scan(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if candidate(root, &f.path()) {
                out.push(f.path());
            }
        }
    }
    out
}

async fn import(shared: &Arc<Shared>, root: &Path, file: PathBuf) {
    let Some(meeting) = file
        .strip_prefix(root)
        .ok()
        .and_then(|r| r.components().next())
        .and_then(|c| c.as_os_str().to_str())
        .map(str::to_string)
    else {
        return;
    };
    let worker = shared.config.pdf_worker.clone();
    let f2 = file.clone();
    let analysis = tokio::task::spawn_blocking(move || match worker {
        Some(w) => phonghop_pdf::analyze_isolated(&w, &f2, ANALYSIS_LIMIT),
        None => phonghop_pdf::analyze(&f2),
    })
    .await;
    let analysis = match analysis {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return reject(&file, &e.to_string()),
        Err(e) => return reject(&file, &format!("analysis failed: {e}")),
    };
    let f3 = file.clone();
    let result = shared
        .with_hub(move |hub, shared| -> Result<(), HubError> {
            let now = shared.now();
            let m = hub.meeting(&meeting)?;
            let same_name = m.documents.values().find(|d| {
                d.versions
                    .last()
                    .is_some_and(|v| v.file_name == analysis.file_name)
            });
            let sha: Hash =
                analysis
                    .sha256
                    .parse()
                    .map_err(|e: phonghop_core::hash::BadHash| HubError::Io {
                        path: f3.clone(),
                        source: std::io::Error::other(e.to_string()),
                    })?;
            let paper = NewPaper {
                file: &f3,
                analysis: &analysis,
                item_number: None,
                title: None,
                confidentiality: Confidentiality::Members,
            };
            match same_name {
                Some(d) if d.versions.last().is_some_and(|v| v.sha256 == sha) => return Ok(()),
                Some(d) => {
                    let id = d.id.clone();
                    hub.add_version(&meeting, &id, paper, now)?;
                }
                None => {
                    hub.add_paper(&meeting, paper, now)?;
                }
            }
            Ok(())
        })
        .await;
    // What it appended is published by `with_hub`.
    match result {
        Ok(()) => tracing::info!(file = %file.display(), "inbox: imported"),
        Err(e) => reject(&file, &e.to_string()),
    }
}

/// Moves a bad file to `rejected/` with the reason next to it.
fn reject(file: &Path, reason: &str) {
    tracing::warn!(file = %file.display(), reason, "inbox: file set aside");
    let Some(dir) = file.parent() else { return };
    let rejected = dir.join("rejected");
    let name = file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    let dst = rejected.join(&name);
    let mut reason_file = dst.clone().into_os_string();
    reason_file.push(".reason.txt");
    let _ = phonghop_fs::create_dir_all(&rejected);
    let _ = std::fs::rename(file, &dst);
    let _ = phonghop_fs::write(
        &PathBuf::from(reason_file),
        format!("{reason}\n").as_bytes(),
    );
}
