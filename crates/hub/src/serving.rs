//! `DIR/serving.json`: how a running hub can be reached, written by
//! [`crate::server::serve`] when it starts and removed when it stops, so
//! that other programs on this computer working on the same folder can
//! reach it: the secretariat's app makes invites that point at it, and the
//! `phonghop` CLI sends its writes to the hub's admin endpoint (the hub is
//! the folder's one writer while it runs).

use crate::HubError;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where and how a hub listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Serving {
    /// The bound address (`0.0.0.0:8443` means every interface).
    pub listen: SocketAddr,
    /// HTTPS with the hub's pinned certificate.
    pub tls: bool,
    /// SHA-256 of that certificate, when `tls`.
    pub fingerprint: Option<String>,
    /// The admin endpoint, on a loopback address (`POST /v1/admin`): where
    /// this computer's `phonghop` commands send the folder's writes.
    #[serde(default)]
    pub admin: Option<SocketAddr>,
    /// The process serving it.
    #[serde(default)]
    pub pid: Option<u32>,
}

fn path(dir: &Path) -> PathBuf {
    dir.join("serving.json")
}

impl Serving {
    /// Records this hub as running (written whole, then renamed into
    /// place: a reader never sees half a record).
    pub fn write(&self, dir: &Path) -> Result<(), HubError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| HubError::Io {
            path: path(dir),
            source: std::io::Error::other(e),
        })?;
        let tmp = dir.join("serving.json.tmp");
        phonghop_fs::write(&tmp, &json)
            .and_then(|()| std::fs::rename(&tmp, path(dir)))
            .map_err(|source| HubError::Io {
                path: path(dir),
                source,
            })
    }

    /// The running hub's record, if one is running.
    pub fn read(dir: &Path) -> Option<Serving> {
        let text = std::fs::read(path(dir)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// The hub stopped.
    pub fn remove(dir: &Path) {
        let _ = std::fs::remove_file(path(dir));
    }

    /// The running hub's record, if its admin endpoint answers (a hub that
    /// was killed leaves its record behind).
    pub fn answering(dir: &Path) -> Option<Serving> {
        let serving = Serving::read(dir)?;
        let admin = serving.admin?;
        std::net::TcpStream::connect_timeout(&admin, std::time::Duration::from_millis(500)).ok()?;
        Some(serving)
    }

    /// What goes after the `@` of an invite: `host:port[/fingerprint]`,
    /// with this computer's address on the room's network when the hub
    /// listens on every interface.
    pub fn invite_address(&self) -> String {
        let ip = self.listen.ip();
        let host = if ip.is_unspecified() {
            lan_address().unwrap_or_else(|| "127.0.0.1".into())
        } else {
            ip.to_string()
        };
        match &self.fingerprint {
            Some(fp) => format!("{host}:{}/{fp}", self.listen.port()),
            None => format!("{host}:{}", self.listen.port()),
        }
    }
}

/// This computer's address on the room's network, as devices would reach
/// it: the source address of a route to the outside (no packet is sent).
pub fn lan_address() -> Option<String> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then(|| ip.to_string())
}
