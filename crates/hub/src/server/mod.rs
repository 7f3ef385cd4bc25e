//! The hub server: axum over HTTP (loopback) or HTTPS (the hub's pinned
//! self-signed certificate), serving the protocol of
//! [`phonghop_core::protocol`].
//!
//! Layers you can name: [`access`] (who may read what), [`auth`] (pairing,
//! challenge–response, sessions), [`commands`] (signed commands → events,
//! exactly once), [`live`] (WebSocket fan-out), [`inbox`] (PDFs dropped in a
//! folder), [`admin`] (the loopback admin endpoint). The [`HubDir`] sits
//! behind one std `Mutex`, locked only inside `spawn_blocking` (SQLite and
//! the reducer are synchronous; a std mutex is right because it is never
//! held across an `.await`).
//!
//! The hub is its folder's one writer: requests, the inbox, the app's
//! secretariat screens ([`Hub`]) and the CLI (through the admin endpoint)
//! all write through that one [`HubDir`]; after each operation what it
//! appended is published to the live fan-out, and nothing else is.

pub mod access;
mod admin;
mod api;
mod auth;
mod commands;
pub mod inbox;
mod live;
pub mod tls;

use crate::admin::{AdminOp, AdminReply};
use crate::serving::Serving;
use crate::{HubDir, HubError};
use phonghop_core::*;
use phonghop_store::BlobStore;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

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
    /// Abuse limits on pairing and sign-in.
    pub limits: Limits,
    /// Time source.
    pub clock: Clock,
}

/// Abuse limits on the endpoints that answer anyone: pairing and sign-in.
/// A limit answers `429 rate_limited` with `Retry-After`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Pairing and sign-in requests one client address may make at once…
    pub per_ip_burst: u32,
    /// …and then one per this period.
    pub per_ip_every: Duration,
    /// Apply the per-address limit on a hub listening on a loopback
    /// address too (off: there every client is this computer's own).
    pub per_ip_on_loopback: bool,
    /// Sessions one device may open at once…
    pub sessions_burst: u32,
    /// …and then one per this period.
    pub sessions_every: Duration,
    /// Live sessions kept per device (its oldest are dropped).
    pub sessions_per_device: usize,
    /// Challenges waiting for an answer, in all (then `503 busy`).
    pub challenges_max: usize,
    /// Challenges waiting per device (its oldest is dropped).
    pub challenges_per_device: usize,
}

impl Default for Limits {
    /// A room of devices on a LAN: each pairs once and signs in when it
    /// connects; a whole room reconnecting after a hub restart is one
    /// sign-in per device.
    fn default() -> Limits {
        Limits {
            per_ip_burst: 60,
            per_ip_every: Duration::from_millis(100),
            per_ip_on_loopback: false,
            sessions_burst: 10,
            sessions_every: Duration::from_secs(6),
            sessions_per_device: 8,
            challenges_max: 4096,
            challenges_per_device: 4,
        }
    }
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
            limits: Limits::default(),
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
    /// SHA-256 of the TLS certificate served, once served over TLS: what a
    /// short code's binding proof names (`/v1/pair/bind`).
    pub cert_sha256: std::sync::OnceLock<[u8; 32]>,
    pub sessions: Mutex<HashMap<String, Session>>,
    pub challenges: Mutex<auth::Challenges>,
    /// Every device's key and whether it is revoked, kept in step with the
    /// directory log by [`Shared::publish`]: sign-in reads it without the
    /// hub lock, and live sockets of a revoked device close on it.
    pub devices: RwLock<HashMap<DeviceId, auth::DeviceAuth>>,
    /// Bumped when a device is revoked; every live socket checks its own.
    pub revocations: watch::Sender<u64>,
    /// Sessions opened per device.
    pub session_limiter: auth::DeviceLimiter,
    /// A connection of its own to hub.db for checking invite codes before
    /// the hub lock; one lookup at a time.
    invites: tokio::sync::Mutex<Option<phonghop_store::rusqlite::Connection>>,
    /// Paper of every annotation ever made (deleted ones included), for
    /// redacting deletions of annotations on confidential papers.
    pub annotation_docs: Mutex<HashMap<AnnotationId, DocumentId>>,
    /// Set when the hub's store halted (a replay after a failed write
    /// failed): from then on every request is answered `503 hub_halted`
    /// with the reason, never from a state that may be stale (fail closed).
    pub halted: std::sync::OnceLock<String>,
    /// What the admin endpoint checks requests with.
    pub admin: admin::AdminGuard,
    /// The receiving ends of the queues, until [`serve`] takes them.
    receivers: Mutex<Option<Receivers>>,
    /// Signed commands on their way to the one command writer
    /// ([`commands::writer`], group commit).
    pub commands: tokio::sync::mpsc::UnboundedSender<commands::Job>,
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

    /// Runs `f` on the hub off the async runtime; then publishes what it
    /// appended ([`Shared::on_hub`]).
    ///
    /// No catch-up with the disk first: this hub is the folder's one
    /// writer, so its state is always the log's. (Until it was, a CLI
    /// write landed beside the hub, and for up to one refresh period a
    /// paper just added was served in clear to readers outside its named
    /// list.)
    pub async fn with_hub<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut HubDir, &Shared) -> T + Send + 'static,
    ) -> T {
        let me = self.clone();
        match tokio::task::spawn_blocking(move || me.on_hub(f)).await {
            Ok(v) => v,
            Err(e) => blocking_failed(e).await,
        }
    }

    /// Runs `f` on the hub on this thread, then publishes exactly what it
    /// appended ([`HubDir::take_appended`]) after letting the hub go; halts
    /// the server if the store halted.
    pub fn on_hub<T>(&self, f: impl FnOnce(&mut HubDir, &Shared) -> T) -> T {
        let mut hub = self.hub.lock().unwrap_or_else(|p| p.into_inner());
        // Fail closed if hub.db was written beside us after all (a script,
        // a program that ignores the folder's lock): no replay, we stop.
        if let Err(e) = hub.check_sole_writer() {
            self.halt_with(format!("the hub stopped: {e}"));
        }
        let out = f(&mut hub, self);
        let appended = hub.take_appended();
        let halted = hub.store().halted().map(str::to_string);
        drop(hub);
        if let Some(reason) = halted {
            self.halt(&reason);
        }
        self.publish(appended);
        out
    }

    /// Reads the hub off the async runtime (the live fan-out, once per
    /// batch of appends; [`Hub::read`]). What the fan-out renders was
    /// appended by this hub before it was published, so the state already
    /// holds it.
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
            Err(e) => blocking_failed(e).await,
        }
    }

    /// Whether an invite code can still pair, read on the invite
    /// connection (never the hub lock). A code that cannot pair never
    /// reaches [`HubDir::pair`].
    pub async fn invite_state(
        &self,
        code: String,
    ) -> Result<Result<PersonId, crate::PairRefusal>, api::Failure> {
        self.read_invites(move |conn, now| crate::hubdir::invite_state(conn, &code, now))
            .await
    }

    /// The stored hash of the live invite with this tag (binding a short
    /// code), read like [`Shared::invite_state`].
    pub async fn live_invite_by_tag(&self, tag: String) -> Result<Option<String>, api::Failure> {
        self.read_invites(move |conn, now| crate::hubdir::live_invite_by_tag(conn, &tag, now))
            .await
    }

    /// Runs `f` on the invites' read connection, off the hub lock.
    async fn read_invites<T: Send + 'static>(
        &self,
        f: impl FnOnce(
                &phonghop_store::rusqlite::Connection,
                Timestamp,
            ) -> phonghop_store::rusqlite::Result<T>
            + Send
            + 'static,
    ) -> Result<T, api::Failure> {
        let now = self.now();
        let path = self.config.data.join("hub.db");
        let mut slot = self.invites.lock().await;
        let conn = slot.take();
        let (conn, answer) = tokio::task::spawn_blocking(move || {
            let conn = match conn {
                Some(c) => c,
                None => match phonghop_store::rusqlite::Connection::open(&path) {
                    Ok(c) => {
                        let _ = c.busy_timeout(Duration::from_secs(5));
                        c
                    }
                    Err(e) => return (None, Err(e)),
                },
            };
            let answer = f(&conn, now);
            (Some(conn), answer)
        })
        .await
        .map_err(api::Failure::internal)?;
        *slot = conn;
        answer.map_err(api::Failure::internal)
    }

    /// A device just paired here: sign-in knows it at once.
    pub fn note_device(&self, device: &Device) {
        self.devices
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(device.id.clone(), auth::DeviceAuth::of(device));
    }

    /// Keeps [`Shared::devices`] in step with directory entries; a
    /// revocation also ends the device's sessions and tells its sockets.
    fn follow_directory(&self, entries: &[LogEntry]) {
        let mut revoked = Vec::new();
        for e in entries.iter().filter(|e| e.log == LogId::Directory) {
            match e.event() {
                Ok(Some(Event::DeviceRegistered { device })) => self.note_device(&device),
                Ok(Some(Event::DeviceRevoked { device, .. })) => revoked.push(device),
                _ => {}
            }
        }
        if revoked.is_empty() {
            return;
        }
        {
            let mut devices = self.devices.write().unwrap_or_else(|p| p.into_inner());
            for d in &revoked {
                if let Some(a) = devices.get_mut(d) {
                    a.revoked = true;
                }
            }
        }
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, s| !revoked.contains(&s.device));
        for d in &revoked {
            tracing::info!(device = %d, "device revoked: closing its live sockets");
        }
        self.revocations.send_modify(|n| *n += 1);
    }

    /// Whether `device` is revoked (or unknown).
    pub fn is_revoked(&self, device: &DeviceId) -> bool {
        self.devices
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(device)
            .is_none_or(|d| d.revoked)
    }

    /// Stops serving: the folder could not be replayed, so the state in
    /// memory may be stale. Said once in the log; every request after it
    /// gets the reason.
    pub(crate) fn halt(&self, e: &dyn std::fmt::Display) {
        self.halt_with(format!(
            "the hub stopped because its data could not be read back: {e}"
        ));
    }

    fn halt_with(&self, reason: String) {
        if self.halted.set(reason.clone()).is_ok() {
            tracing::error!(%reason, "hub halted");
        }
    }

    /// Records annotation papers and tells live subscribers.
    pub fn publish(&self, entries: Vec<LogEntry>) {
        if entries.is_empty() {
            return;
        }
        self.follow_directory(&entries);
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

/// The receiving ends of the server's queues.
struct Receivers {
    appended: tokio::sync::mpsc::UnboundedReceiver<Appended>,
    commands: tokio::sync::mpsc::UnboundedReceiver<commands::Job>,
}

/// How long [`Hub::open`] waits for a writer that is finishing (a
/// `phonghop` command, or this process's previous hub on the folder).
const OPEN_WAIT: Duration = Duration::from_secs(10);

/// A hub folder opened by its one writer, the hub: built before [`serve`]
/// and usable while (and after) it serves. The app's secretariat screens
/// write through it; what each operation appends is published to the
/// devices at once. Clones share the one writer; the folder's lock is
/// released when the last clone (and the server) is gone.
#[derive(Clone)]
pub struct Hub(Arc<Shared>);

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("data", &self.0.config.data)
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// Opens `config.data` for writing (blocking: replays the folder),
    /// waiting a moment for a writer that is finishing; refused with
    /// [`HubError::Busy`] if another hub serves it.
    pub fn open(config: ServerConfig) -> Result<Hub, HubError> {
        let hub = HubDir::open_writer(&config.data, OPEN_WAIT)?;
        Hub::new(hub, config)
    }

    /// The hub over a folder already open for writing (e.g. just made by
    /// [`HubDir::init`]).
    pub fn new(hub: HubDir, config: ServerConfig) -> Result<Hub, HubError> {
        if !hub.is_writer() {
            return Err(HubError::ReadOnly(hub.root().to_path_buf()));
        }
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
        let devices = hub
            .store()
            .state()
            .directory
            .devices
            .values()
            .map(|d| (d.id.clone(), auth::DeviceAuth::of(d)))
            .collect();
        let limits = config.limits.clone();
        let (live, _) = broadcast::channel(4096);
        let (appended, appended_rx) = tokio::sync::mpsc::unbounded_channel();
        let (commands_tx, commands_rx) = tokio::sync::mpsc::unbounded_channel();
        let admin = admin::AdminGuard {
            key: hub.public_key(),
            replays: Mutex::default(),
        };
        let shared = Arc::new(Shared {
            hub: Mutex::new(hub),
            blobs,
            cert_sha256: std::sync::OnceLock::new(),
            sessions: Mutex::new(HashMap::new()),
            challenges: Mutex::new(auth::Challenges::new(
                limits.challenges_max,
                limits.challenges_per_device,
            )),
            devices: RwLock::new(devices),
            revocations: watch::channel(0).0,
            session_limiter: auth::device_limiter(limits.sessions_burst, limits.sessions_every),
            invites: tokio::sync::Mutex::new(None),
            annotation_docs: Mutex::new(docs),
            halted: std::sync::OnceLock::new(),
            admin,
            receivers: Mutex::new(Some(Receivers {
                appended: appended_rx,
                commands: commands_rx,
            })),
            commands: commands_tx,
            appended,
            live,
            config,
        });
        Ok(Hub(shared))
    }

    /// The hub folder.
    pub fn data(&self) -> &Path {
        &self.0.config.data
    }

    /// Runs `f` on the folder's writer (off the async runtime), then
    /// publishes what it appended.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut HubDir) -> T + Send + 'static,
    ) -> T {
        self.0.with_hub(move |hub, _| f(hub)).await
    }

    /// [`Hub::write`] on this thread (blocking).
    pub fn write_blocking<T>(&self, f: impl FnOnce(&mut HubDir) -> T) -> T {
        self.0.on_hub(move |hub, _| f(hub))
    }

    /// Reads the hub (off the async runtime).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&HubDir) -> T + Send + 'static,
    ) -> T {
        self.0.read_hub(move |hub, _| f(hub)).await
    }

    /// Carries out a secretariat operation ([`crate::admin::execute`]) at
    /// the hub's time, and publishes what it appended.
    pub async fn admin(&self, op: AdminOp) -> Result<AdminReply, HubError> {
        self.0
            .with_hub(move |hub, shared| crate::admin::execute(hub, op, shared.now()))
            .await
    }

    /// Why the hub stopped serving, if it did (fail closed).
    pub fn halted(&self) -> Option<String> {
        self.0.halted.get().cloned()
    }
}

/// A blocking hub task that did not finish: a panic is passed on as it
/// was; a task cancelled because the runtime is shutting down (the hub is
/// being stopped or killed) never answers, and whoever awaits it is
/// dropped with the runtime. (`into_panic` on a cancelled task panicked
/// there, a second panic in the middle of a shutdown.)
async fn blocking_failed<T>(e: tokio::task::JoinError) -> T {
    if e.is_panic() {
        std::panic::resume_unwind(e.into_panic())
    }
    std::future::pending().await
}

/// Opens the hub folder of `config` ([`Hub::open`]) and [`serve`]s it.
pub async fn run(
    listener: std::net::TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), HubError> {
    let data = config.data.clone();
    let hub = tokio::task::spawn_blocking(move || Hub::open(config))
        .await
        .map_err(|e| HubError::Io {
            path: data,
            source: std::io::Error::other(e.to_string()),
        })??;
    serve(hub, listener, shutdown).await
}

/// Serves `hub` on `listener` until `shutdown` resolves, then finishes the
/// requests in flight. Also serves the admin endpoint on a loopback port of
/// its own, and records both in `serving.json` while it runs. A [`Hub`] is
/// served once.
pub async fn serve(
    hub: Hub,
    listener: std::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), HubError> {
    let shared = hub.0;
    let config = shared.config.clone();
    let io = |source| HubError::Io {
        path: config.data.clone(),
        source,
    };
    let addr = listener.local_addr().map_err(io)?;
    if !config.tls && !addr.ip().is_loopback() {
        return Err(io(std::io::Error::other(format!(
            "plain HTTP is allowed only on a loopback address, not {addr}: serve with TLS"
        ))));
    }
    let Receivers {
        appended: appended_rx,
        commands: commands_rx,
    } = shared
        .receivers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .ok_or_else(|| io(std::io::Error::other("this hub is already being served")))?;
    let limits = config.limits.clone();
    let cert = match config.tls {
        true => Some(tls::HubCert::load_or_create(&config.data)?),
        false => None,
    };
    if let Some(c) = &cert {
        let _ = shared.cert_sha256.set(Hash::of(&c.cert_der).0);
    }
    let admin_listener =
        std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).map_err(io)?;
    let admin_addr = admin_listener.local_addr().map_err(io)?;
    admin_listener.set_nonblocking(true).map_err(io)?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let closer = tokio::spawn(close_overdue_polls(shared.clone(), stop_rx.clone()));
    let fan_out = tokio::spawn(live::fan_out(shared.clone(), appended_rx));
    let writer = tokio::spawn(commands::writer(shared.clone(), commands_rx));
    let inbox = if config.inbox {
        Some(inbox::start(shared.clone(), stop_rx.clone())?)
    } else {
        None
    };
    let per_address = api::per_address(&limits, addr).map(Arc::new);
    let forget = tokio::spawn(forget_limits(
        shared.clone(),
        per_address.clone(),
        stop_rx.clone(),
    ));
    // Above the largest command the limits allow, so an oversized field is
    // refused by our check with its name and limit, not by a bare 413.
    let app = api::router(shared.clone(), per_address).layer(axum::extract::DefaultBodyLimit::max(
        phonghop_core::limits::LIMITS.request_bytes,
    ));
    tracing::info!(%addr, tls = config.tls, admin = %admin_addr, "hub listening");

    let handle = axum_server::Handle::new();
    let h2 = handle.clone();
    let admin_handle = axum_server::Handle::new();
    let admin_h2 = admin_handle.clone();
    // On the room's network (TLS, not loopback), devices given only a short
    // invite code find the hub by DNS-SD; the code's binding proof, not the
    // advertisement, tells them it is the right one.
    let advertised = (config.tls && !addr.ip().is_loopback())
        .then(|| advertise(addr.port()))
        .flatten();
    let stopper = tokio::spawn(async move {
        shutdown.await;
        if let Some(d) = advertised {
            let _ = d.shutdown();
        }
        let _ = stop_tx.send(true);
        h2.graceful_shutdown(Some(Duration::from_secs(5)));
        admin_h2.graceful_shutdown(Some(Duration::from_secs(5)));
    });
    let admin_server = tokio::spawn(
        axum_server::from_tcp(admin_listener)
            .handle(admin_handle)
            .serve(
                admin::router(shared.clone()).into_make_service_with_connect_info::<SocketAddr>(),
            ),
    );
    // Where this computer's programs find the hub (and its admin endpoint).
    Serving {
        listen: addr,
        tls: config.tls,
        fingerprint: cert.as_ref().map(tls::HubCert::fingerprint),
        admin: Some(admin_addr),
        pid: Some(std::process::id()),
    }
    .write(&config.data)?;
    listener
        .set_nonblocking(true)
        .map_err(|source| HubError::Io {
            path: config.data.clone(),
            source,
        })?;
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    // TCP_NODELAY on every accepted socket: a live push or an answer is
    // often a small write right after another, and with Nagle's algorithm
    // on, the second waited for the device's delayed ACK (40 ms on Linux):
    // the fixed ~50 ms floor under every open → visible and ballot → result
    // figure of `phonghop bench vote`.
    let no_delay = axum_server::accept::NoDelayAcceptor::new();
    let served = if let Some(cert) = cert {
        let rustls = axum_server::tls_rustls::RustlsConfig::from_config(cert.server_config()?);
        axum_server::from_tcp(listener)
            .acceptor(axum_server::tls_rustls::RustlsAcceptor::new(rustls).acceptor(no_delay))
            .handle(handle)
            .serve(service)
            .await
    } else {
        axum_server::from_tcp(listener)
            .acceptor(no_delay)
            .handle(handle)
            .serve(service)
            .await
    };
    stopper.abort();
    closer.abort();
    admin_server.abort();
    if Serving::read(&config.data).is_some_and(|s| s.admin == Some(admin_addr)) {
        Serving::remove(&config.data);
    }
    forget.abort();
    fan_out.abort();
    writer.abort();
    drop(inbox);
    served.map_err(|source| HubError::Io {
        path: config.data.clone(),
        source,
    })?;
    tracing::info!("hub stopped");
    Ok(())
}

/// Every 300 ms, closes the polls whose deadline passed (what that
/// appends is published by [`Shared::with_hub`]).
async fn close_overdue_polls(shared: Arc<Shared>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            _ = stop.changed() => return,
        }
        let closed = shared
            .with_hub(|hub, shared| hub.close_overdue_polls(shared.now()))
            .await;
        if let Err(e) = closed {
            tracing::error!(error = %e, "cannot close a poll whose deadline passed");
        }
    }
}

/// Once a minute, forgets rate-limit state of addresses and devices that
/// are back to a full allowance (governor keeps one entry per key).
async fn forget_limits(
    shared: Arc<Shared>,
    per_address: Option<Arc<api::PerAddress>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = stop.changed() => return,
        }
        shared.session_limiter.retain_recent();
        shared.session_limiter.shrink_to_fit();
        if let Some(p) = &per_address {
            p.limiter().retain_recent();
            p.limiter().shrink_to_fit();
        }
    }
}

/// Advertises `_phonghop._tcp` on this computer's addresses; `None` (and a
/// log line) where multicast is not available: devices then type the
/// address printed on the invite.
fn advertise(port: u16) -> Option<mdns_sd::ServiceDaemon> {
    let run = || -> Result<mdns_sd::ServiceDaemon, mdns_sd::Error> {
        let daemon = mdns_sd::ServiceDaemon::new()?;
        let info = mdns_sd::ServiceInfo::new(
            phonghop_core::invite::DNS_SD_SERVICE,
            &format!("Phonghop {port}"),
            "phonghop-hub.local.",
            "",
            port,
            None,
        )?
        .enable_addr_auto();
        daemon.register(info)?;
        Ok(daemon)
    };
    match run() {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!(error = %e, "cannot advertise the hub on the local network (mDNS)");
            None
        }
    }
}
