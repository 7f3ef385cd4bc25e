//! A test-only HTTP proxy between clients and the hub (axum in front,
//! reqwest behind), forwarding every request and answer — and, when told,
//! misbehaving the way networks and attackers do:
//!
//! - counts the blob bytes it hands to clients (per blob);
//! - pauses blob answers once a byte budget is reached (to stop a transfer
//!   mid-way deterministically), until released;
//! - flips a byte of a chosen blob once (a corrupted download);
//! - flips a byte inside a log entry's payload in `/events` answers;
//! - forwards `/v1/commands`, lets the hub answer, then holds the answer
//!   forever (the sender is killed while it waits).
//!
//! It does not carry WebSockets: clients behind it sync with `sync_once`.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// What the proxy does; shared with the test.
#[derive(Debug)]
pub struct ProxyControl {
    upstream: SocketAddr,
    http: reqwest::Client,
    /// Blob body bytes handed to clients, per blob (sha hex).
    blob_bytes: Mutex<HashMap<String, u64>>,
    /// Total blob body bytes handed to clients.
    pub blob_total: AtomicU64,
    /// Pause blob answers when `blob_total` reaches this (None: no pause).
    pause_at: watch::Sender<Option<u64>>,
    /// Blobs (sha hex) to corrupt once each.
    corrupt: Mutex<HashSet<String>>,
    /// Blob answers corrupted so far.
    pub corrupted: AtomicUsize,
    /// Flip a byte in every `/events` or `/feed` answer that carries a payload.
    pub tamper_events: AtomicBool,
    /// `/events` and `/feed` answers tampered so far.
    pub tampered: AtomicUsize,
    /// Hold `/v1/commands` answers after the hub gave them.
    pub hold_commands: AtomicBool,
    /// Commands the hub answered while held.
    pub held: AtomicUsize,
}

impl ProxyControl {
    /// Blob bytes handed out for one blob.
    pub fn blob_bytes(&self, sha: &str) -> u64 {
        self.blob_bytes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(sha)
            .copied()
            .unwrap_or(0)
    }

    /// Pause blob answers once `n` blob bytes in total were handed out.
    pub fn pause_blobs_at(&self, n: u64) {
        self.pause_at.send_replace(Some(n));
    }

    /// Let paused blob answers go on.
    pub fn release_blobs(&self) {
        self.pause_at.send_replace(None);
    }

    /// Corrupt the next answer for this blob (one byte flipped).
    pub fn corrupt_once(&self, sha: &str) {
        self.corrupt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(sha.to_string());
    }
}

/// A running proxy.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// Its behaviour.
    pub ctl: Arc<ProxyControl>,
    rt: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("addr", &self.addr).finish()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Hop-by-hop headers, and the length we may change.
const SKIP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

fn skip(name: &HeaderName) -> bool {
    SKIP.contains(&name.as_str())
}

impl Proxy {
    /// Starts a proxy to `upstream` on `127.0.0.1:0`, in its own runtime
    /// (so it outlives a hub that is killed).
    pub fn start(upstream: SocketAddr) -> anyhow::Result<Proxy> {
        let ctl = Arc::new(ProxyControl {
            upstream,
            http: crate::raw::http(),
            blob_bytes: Mutex::new(HashMap::new()),
            blob_total: AtomicU64::new(0),
            pause_at: watch::channel(None).0,
            corrupt: Mutex::new(HashSet::new()),
            corrupted: AtomicUsize::new(0),
            tamper_events: AtomicBool::new(false),
            tampered: AtomicUsize::new(0),
            hold_commands: AtomicBool::new(false),
            held: AtomicUsize::new(0),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("test-proxy")
            .enable_all()
            .build()?;
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(ctl.clone());
        rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let _ = axum::serve(listener, app).await;
        });
        Ok(Proxy {
            addr,
            ctl,
            rt: Some(rt),
        })
    }
}

fn bad_gateway(e: impl std::fmt::Display) -> Response {
    Response::builder()
        .status(StatusCode::BAD_GATEWAY)
        .body(Body::from(format!("proxy: {e}")))
        .unwrap_or_default()
}

async fn forward(State(ctl): State<Arc<ProxyControl>>, req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let method = req.method().clone();
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), 64 << 20).await {
        Ok(b) => b,
        Err(e) => return bad_gateway(e),
    };
    let mut up = ctl
        .http
        .request(method, format!("http://{}{path}", ctl.upstream))
        .body(body);
    for (k, v) in &headers {
        if !skip(k) {
            up = up.header(k, v);
        }
    }
    // Blob transfers may be paused for a long time: no overall timeout.
    let resp = match up.timeout(Duration::from_secs(3600)).send().await {
        Ok(r) => r,
        Err(e) => return bad_gateway(e),
    };
    let mut out = Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        if !skip(k) || (k.as_str() == "content-length" && path.starts_with("/v1/blobs/")) {
            out = out.header(k, v);
        }
    }
    let clean_path = path.split('?').next().unwrap_or("").to_string();
    if clean_path == "/v1/commands" && ctl.hold_commands.load(Ordering::SeqCst) {
        // Let the hub answer, then never pass the answer on.
        let _ = resp.bytes().await;
        ctl.held.fetch_add(1, Ordering::SeqCst);
        return std::future::pending::<Response>().await;
    }
    if clean_path.starts_with("/v1/meetings/")
        && (clean_path.ends_with("/events") || clean_path.ends_with("/feed"))
        && ctl.tamper_events.load(Ordering::SeqCst)
    {
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return bad_gateway(e),
        };
        let bytes = match tamper(&bytes) {
            Some(t) => {
                ctl.tampered.fetch_add(1, Ordering::SeqCst);
                Bytes::from(t)
            }
            None => bytes,
        };
        return out.body(Body::from(bytes)).unwrap_or_default();
    }
    if let Some(sha) = clean_path.strip_prefix("/v1/blobs/") {
        let sha = sha.to_string();
        let corrupt = ctl
            .corrupt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&sha);
        if corrupt {
            ctl.corrupted.fetch_add(1, Ordering::SeqCst);
        }
        let ctl2 = ctl.clone();
        let mut first = corrupt;
        let stream = resp.bytes_stream().then(move |chunk| {
            let ctl = ctl2.clone();
            let sha = sha.clone();
            let flip = std::mem::take(&mut first);
            async move {
                let chunk = chunk.map_err(std::io::Error::other)?;
                let mut chunk = chunk.to_vec();
                if flip && !chunk.is_empty() {
                    let mid = chunk.len() / 2;
                    chunk[mid] ^= 0x01;
                }
                // Wait while paused at a budget this chunk would cross.
                let mut pause = ctl.pause_at.subscribe();
                loop {
                    let limit = *pause.borrow_and_update();
                    match limit {
                        Some(n)
                            if ctl.blob_total.load(Ordering::SeqCst) + chunk.len() as u64 > n =>
                        {
                            let _ = pause.changed().await;
                        }
                        _ => break,
                    }
                }
                ctl.blob_total
                    .fetch_add(chunk.len() as u64, Ordering::SeqCst);
                *ctl.blob_bytes
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(sha)
                    .or_default() += chunk.len() as u64;
                Ok::<_, std::io::Error>(Bytes::from(chunk))
            }
        });
        return out.body(Body::from_stream(stream)).unwrap_or_default();
    }
    match resp.bytes().await {
        Ok(b) => out.body(Body::from(b)).unwrap_or_default(),
        Err(e) => bad_gateway(e),
    }
}

/// Flips one letter inside the last payload of an `/events` answer (JSON
/// stays valid, so only the log's own checks can catch it).
fn tamper(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let entries = v.get_mut("entries")?.as_array_mut()?;
    let payload = entries
        .iter_mut()
        .rev()
        .find_map(|e| e.get_mut("payload").filter(|p| p.is_string()))?;
    let mut s = payload.as_str()?.to_string();
    let at = s.rfind(|c: char| c.is_ascii_lowercase())?;
    let c = s.as_bytes()[at];
    let flipped = if c == b'a' { 'b' } else { 'a' };
    s.replace_range(at..=at, &flipped.to_string());
    *payload = serde_json::Value::String(s);
    serde_json::to_vec(&v).ok()
}
