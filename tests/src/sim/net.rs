//! The simulated network between each device and the hub: one TCP
//! forwarder ("link") per device on 127.0.0.1, which the device's pairing
//! names instead of the hub. The simulation sets a link's mode before an
//! operation:
//!
//! - [`LinkMode::Up`]: bytes flow both ways;
//! - [`LinkMode::Down`]: a partition — whatever the device sends is
//!   dropped with its connection, nothing reaches the hub;
//! - [`LinkMode::LoseReplies`]: requests reach the hub, which acts on
//!   them; its answer is lost (the connection is closed on its first
//!   byte). A command sent through it is applied and the device does not
//!   know.
//!
//! The mode is read when bytes arrive, never by closing connections when
//! it changes, and a link keeps the device's connection open when the
//! hub's side closes (a hub stopped or killed between requests): the next
//! request goes to the hub on a new connection, and a request the old one
//! swallowed unanswered is sent again. So a device's pooled keep-alive
//! connection never fails by a race with the simulation's own moves —
//! only because of them, which keeps every seed's run the same.
//!
//! Raw TCP, so it knows nothing of HTTP. Also here: [`LiveSocket`], a bare
//! WebSocket on `/v1/live` (the hub's live channel) that only watches for
//! being closed.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What a link does with the bytes it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMode {
    /// Forward both ways.
    Up,
    /// Drop: the device is cut off from the hub.
    Down,
    /// Forward requests, lose the answers.
    LoseReplies,
}

/// One device's link to the hub.
#[derive(Debug)]
pub struct Link {
    /// Where the device connects.
    pub addr: SocketAddr,
    mode: watch::Sender<LinkMode>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Link {
    /// A link to `upstream` (the hub's fixed address), Up.
    pub async fn start(upstream: SocketAddr) -> Result<Link> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding a link")?;
        let addr = listener.local_addr()?;
        let (mode, rx) = watch::channel(LinkMode::Up);
        let task = tokio::spawn(async move {
            let mut carried = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                carried.spawn(carry(client, upstream, rx.clone()));
                while carried.try_join_next().is_some() {}
            }
        });
        Ok(Link { addr, mode, task })
    }

    /// Sets the mode (for the bytes that arrive from now on).
    pub fn set(&self, mode: LinkMode) {
        self.mode.send_replace(mode);
    }

    /// The current mode.
    pub fn mode(&self) -> LinkMode {
        *self.mode.borrow()
    }
}

/// One device connection: forwards to the hub on a connection opened on
/// demand, and again on a new one if the hub closed the old.
async fn carry(mut client: TcpStream, upstream: SocketAddr, mode: watch::Receiver<LinkMode>) {
    let _ = client.set_nodelay(true);
    let mut hub: Option<TcpStream> = None;
    // Request bytes sent since the hub last answered: sent again if the
    // hub's side closes without an answer.
    let mut unanswered: Vec<u8> = Vec::new();
    let mut from_client = vec![0u8; 64 * 1024];
    let mut from_hub = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            n = client.read(&mut from_client) => {
                let n = match n {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if *mode.borrow() == LinkMode::Down {
                    return;
                }
                unanswered.extend_from_slice(&from_client[..n]);
                let sent = match hub.as_mut() {
                    Some(h) => h.write_all(&from_client[..n]).await.is_ok(),
                    None => false,
                };
                if !sent {
                    match reconnect(upstream, &unanswered).await {
                        Some(h) => hub = Some(h),
                        None => return,
                    }
                }
            }
            n = read_opt(hub.as_mut(), &mut from_hub) => {
                match n {
                    Ok(n) if n > 0 => {
                        if *mode.borrow() == LinkMode::LoseReplies {
                            return;
                        }
                        unanswered.clear();
                        if client.write_all(&from_hub[..n]).await.is_err() {
                            return;
                        }
                    }
                    _ if unanswered.is_empty() => hub = None,
                    _ => match reconnect(upstream, &unanswered).await {
                        Some(h) => hub = Some(h),
                        None => return,
                    },
                }
            }
        }
    }
}

async fn read_opt(s: Option<&mut TcpStream>, buf: &mut [u8]) -> std::io::Result<usize> {
    match s {
        Some(s) => s.read(buf).await,
        None => std::future::pending().await,
    }
}

/// A new connection to the hub carrying `pending` (None: the hub is down).
async fn reconnect(upstream: SocketAddr, pending: &[u8]) -> Option<TcpStream> {
    let mut h = TcpStream::connect(upstream).await.ok()?;
    let _ = h.set_nodelay(true);
    h.write_all(pending).await.ok()?;
    Some(h)
}

/// A bare WebSocket on the hub's live channel, for one device's session:
/// it reads and discards frames and tells whether the hub closed it.
#[derive(Debug)]
pub struct LiveSocket {
    stream: TcpStream,
    buffered: Vec<u8>,
}

impl LiveSocket {
    /// Opens `/v1/live?token=…` at `hub` (the HTTP upgrade by hand).
    pub async fn open(hub: SocketAddr, token: &str) -> Result<LiveSocket> {
        let mut stream = TcpStream::connect(hub).await.context("live socket")?;
        let req = format!(
            "GET /v1/live?token={token} HTTP/1.1\r\nHost: {hub}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: c2ltdWxhdGlvbi1saXZlIQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await?;
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        let end = loop {
            let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
                .await
                .context("no answer to the WebSocket upgrade")??;
            if n == 0 {
                bail!("the hub closed the connection instead of upgrading it");
            }
            head.extend_from_slice(&buf[..n]);
            if let Some(p) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
        };
        let status = String::from_utf8_lossy(&head[..end.min(head.len())]).to_string();
        if !status.starts_with("HTTP/1.1 101") {
            bail!(
                "the hub refused the live socket: {}",
                status.lines().next().unwrap_or("")
            );
        }
        Ok(LiveSocket {
            stream,
            buffered: head[end..].to_vec(),
        })
    }

    /// Waits up to `limit` for the hub to close the socket (end of stream
    /// or a close frame); true when it did.
    pub async fn closed_within(&mut self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        let mut buf = [0u8; 4096];
        loop {
            if has_close_frame(&mut self.buffered) {
                return true;
            }
            match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(n)) => self.buffered.extend_from_slice(&buf[..n]),
            }
        }
    }
}

/// Consumes whole server frames (unmasked) from `buf`; true on a close.
fn has_close_frame(buf: &mut Vec<u8>) -> bool {
    loop {
        if buf.len() < 2 {
            return false;
        }
        let opcode = buf[0] & 0x0F;
        let (len, head) = match buf[1] & 0x7F {
            126 if buf.len() >= 4 => (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
            127 if buf.len() >= 10 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&buf[2..10]);
                (u64::from_be_bytes(b), 10)
            }
            126 | 127 => return false,
            n => (u64::from(n), 2),
        };
        if opcode == 0x8 {
            return true;
        }
        let total = usize::try_from(len)
            .unwrap_or(usize::MAX)
            .saturating_add(head);
        if buf.len() < total {
            return false;
        }
        buf.drain(..total);
    }
}
