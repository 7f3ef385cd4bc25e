//! The hub server: axum over HTTP (loopback) or HTTPS (the hub's pinned
//! self-signed certificate), serving the protocol of
//! [`phonghop_core::protocol`].
//!
//! Layers you can name: [`access`] (who may read what), [`auth`] (pairing,
//! challenge–response, sessions), [`commands`] (signed commands → events,
//! exactly once), [`live`] (WebSocket fan-out), [`inbox`] (PDFs dropped in a
//! folder). The [`HubDir`] sits behind one std `Mutex`, locked only inside
//! `spawn_blocking` (SQLite and the reducer are synchronous; a std mutex is
//! right because it is never held across an `.await`).

pub mod access;
mod api;
mod auth;
mod commands;
pub mod inbox;
mod live;
pub mod tls;

use crate::{HubDir, HubError};
use phonghop_core::*;
use phonghop_store::BlobStore;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// A clock: milliseconds since the epoch. Passed in so tests control time.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        )
    })
}

/// How the server runs.
#[derive(Clone)]
pub struct ServerConfig {
    /// The hub data folder (made by `phonghop init`).
    pub data: PathBuf,
    /// Serve HTTPS with the hub certificate. Plain HTTP is allowed only on
    /// a loopback address.
    pub tls: bool,
    /// The executable that runs `pdf analyze-worker` for the inbox.
    pub pdf_worker: Option<PathBuf>,
    /// Watch `DIR/inbox/<meeting>/` for PDFs.
    pub inbox: bool,
    /// Session token lifetime.
    pub session_ttl: Duration,
    /// Time source.
    pub clock: Clock,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("data", &self.data)
            .field("tls", &self.tls)
            .field("inbox", &self.inbox)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Defaults for a data folder: plain HTTP, inbox on, 1 h sessions.
    pub fn new(data: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            data: data.into(),
            tls: false,
            pdf_worker: std::env::current_exe().ok(),
            inbox: true,
            session_ttl: Duration::from_secs(3600),
            clock: system_clock(),
        }
    }
}

/// What was appended, for the live fan-out.
#[derive(Debug, Clone)]
pub(crate) struct Appended {
    pub log: LogId,
    pub entries: Vec<LogEntry>,
}

/// A signed-in device.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub device: DeviceId,
    pub person: PersonId,
    pub expires_at: Timestamp,
}

/// Everything the handlers share.
pub(crate) struct Shared {
    pub hub: Mutex<HubDir>,
    pub blobs: BlobStore,
    pub sessions: Mutex<HashMap<String, Session>>,
    pub challenges: Mutex<HashMap<String, (DeviceId, Timestamp)>>,
    /// Paper of every annotation ever made (deleted ones included), for
    /// redacting deletions of annotations on confidential papers.
    pub annotation_docs: Mutex<HashMap<AnnotationId, DocumentId>>,
    /// Appends on their way to the fan-out task ([`live::fan_out`]).
    pub appended: tokio::sync::mpsc::UnboundedSender<Appended>,
    /// Appends rendered for every reader, to each live socket.
    pub live: broadcast::Sender<Arc<live::Rendered>>,
    pub config: ServerConfig,
}

impl Shared {
    pub fn now(&self) -> Timestamp {
        (self.config.clock)()
    }

    /// Runs `f` on the hub off the async runtime, after catching up with
    /// what other processes (the CLI) committed to hub.db.
    ///
    /// Handlers read log rows straight from SQLite but decide access and
    /// redaction from the in-memory state, so the two must agree: without
    /// this catch-up, for up to one refresh period (300 ms) a paper the CLI
    /// had just added was served in clear to readers outside its named list
    /// (an unknown paper counts as readable), its blob was refused, and a
    /// command appended on a stale head failed.
    pub async fn with_hub<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut HubDir, &Shared) -> T + Send + 'static,
    ) -> T {
        let me = self.clone();
        match tokio::task::spawn_blocking(move || {
            let mut hub = me.hub.lock().unwrap_or_else(|p| p.into_inner());
            let fresh = hub.refresh().unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot refresh the hub state from disk");
                Vec::new()
            });
            let out = f(&mut hub, &me);
            drop(hub);
            me.publish(fresh);
            out
        })
        .await
        {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Runs `f` on the hub off the async runtime *without* catching up
    /// with disk first. For the live fan-out only ([`live::fan_out`], once
    /// per batch of appends): what it renders was appended by this process
    /// (or picked up by a refresh) before it was published, so the state
    /// already holds it; a refresh per socket per append was 500 SQLite
    /// round trips under the mutex for each ballot with 500 devices online.
    pub async fn read_hub<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&HubDir, &Shared) -> T + Send + 'static,
    ) -> T {
        let me = self.clone();
        match tokio::task::spawn_blocking(move || {
            let hub = me.hub.lock().unwrap_or_else(|p| p.into_inner());
            f(&hub, &me)
        })
        .await
        {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Records annotation papers and tells live subscribers.
    pub fn publish(&self, entries: Vec<LogEntry>) {
        if entries.is_empty() {
            return;
        }
        {
            let mut docs = self
                .annotation_docs
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            for e in &entries {
                if let Ok(Some(Event::AnnotationAdded { annotation })) = e.event() {
                    docs.insert(annotation.id.clone(), annotation.document.clone());
                }
            }
        }
        let mut by_log: Vec<(LogId, Vec<LogEntry>)> = Vec::new();
        for e in entries {
            match by_log.last_mut() {
                Some((l, v)) if *l == e.log => v.push(e),
                _ => by_log.push((e.log.clone(), vec![e])),
            }
        }
        for (log, entries) in by_log {
            let _ = self.appended.send(Appended { log, entries });
        }
    }
}

/// Runs the hub on `listener` until `shutdown` resolves, then finishes the
/// requests in flight. Returns the address served.
pub async fn run(
    listener: std::net::TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), HubError> {
    let addr = listener.local_addr().map_err(|source| HubError::Io {
        path: config.data.clone(),
        source,
    })?;
    if !config.tls && !addr.ip().is_loopback() {
        return Err(HubError::Io {
            path: config.data.clone(),
            source: std::io::Error::other(format!(
                "plain HTTP is allowed only on a loopback address, not {addr}: serve with TLS"
            )),
        });
    }
    let data = config.data.clone();
    let hub = tokio::task::spawn_blocking(move || HubDir::open(&data))
        .await
        .map_err(|e| HubError::Io {
            path: config.data.clone(),
            source: std::io::Error::other(e.to_string()),
        })??;
    let blobs = hub.blobs().clone();
    let mut docs = HashMap::new();
    for (id, m) in &hub.store().state().meetings {
        for e in hub.store().entries(&LogId::Meeting(id.clone()), 0)? {
            if let Ok(Some(Event::AnnotationAdded { annotation })) = e.event() {
                docs.insert(annotation.id.clone(), annotation.document.clone());
            }
        }
        let _ = m;
    }
    let (live, _) = broadcast::channel(4096);
    let (appended, appended_rx) = tokio::sync::mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        hub: Mutex::new(hub),
        blobs,
        sessions: Mutex::new(HashMap::new()),
        challenges: Mutex::new(HashMap::new()),
        annotation_docs: Mutex::new(docs),
        appended,
        live,
        config: config.clone(),
    });

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let refresher = tokio::spawn(refresh_loop(shared.clone(), stop_rx.clone()));
    let fan_out = tokio::spawn(live::fan_out(shared.clone(), appended_rx));
    let inbox = if config.inbox {
        Some(inbox::start(shared.clone(), stop_rx.clone())?)
    } else {
        None
    };
    let app = api::router(shared.clone());
    tracing::info!(%addr, tls = config.tls, "hub listening");

    let handle = axum_server::Handle::new();
    let h2 = handle.clone();
    let stopper = tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
        h2.graceful_shutdown(Some(Duration::from_secs(5)));
    });
    listener
        .set_nonblocking(true)
        .map_err(|source| HubError::Io {
            path: config.data.clone(),
            source,
        })?;
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let served = if config.tls {
        let cert = tls::HubCert::load_or_create(&config.data)?;
        let rustls = axum_server::tls_rustls::RustlsConfig::from_config(cert.server_config()?);
        axum_server::from_tcp_rustls(listener, rustls)
            .handle(handle)
            .serve(service)
            .await
    } else {
        axum_server::from_tcp(listener)
            .handle(handle)
            .serve(service)
            .await
    };
    stopper.abort();
    refresher.abort();
    fan_out.abort();
    drop(inbox);
    served.map_err(|source| HubError::Io {
        path: config.data.clone(),
        source,
    })?;
    tracing::info!("hub stopped");
    Ok(())
}

/// Every 300 ms, picks up what other processes (the CLI) appended to
/// hub.db, closes polls whose deadline passed, and pushes the new entries
/// to live subscribers.
async fn refresh_loop(shared: Arc<Shared>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            _ = stop.changed() => return,
        }
        let fresh = shared
            .with_hub(|hub, shared| {
                let mut fresh = hub.refresh()?;
                fresh.extend(hub.close_overdue_polls(shared.now())?);
                Ok::<_, HubError>(fresh)
            })
            .await;
        match fresh {
            Ok(entries) => shared.publish(entries),
            Err(e) => tracing::error!(error = %e, "cannot refresh the hub state from disk"),
        }
    }
}
