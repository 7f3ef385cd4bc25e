//! A file manager for the app's "show in folder", on a private D-Bus
//! session bus: a real `dbus-daemon` and a `org.freedesktop.FileManager1`
//! service (what Nautilus, Dolphin and Nemo implement) that notes every
//! `ShowItems` call. The app, started with [`FileManager::bus_address`] as
//! its `DBUS_SESSION_BUS_ADDRESS`, reaches it exactly as it reaches the
//! desktop's file manager.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Shown(Arc<Mutex<Vec<String>>>);

#[zbus::interface(name = "org.freedesktop.FileManager1")]
impl Shown {
    fn show_items(&self, uris: Vec<String>, _startup_id: String) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(uris);
    }
}

/// A running bus and file manager (both stopped when dropped).
pub struct FileManager {
    daemon: Child,
    address: String,
    shown: Arc<Mutex<Vec<String>>>,
    _conn: zbus::blocking::Connection,
}

impl std::fmt::Debug for FileManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileManager")
            .field("address", &self.address)
            .finish()
    }
}

impl FileManager {
    /// Starts `dbus-daemon --session` and the service on it.
    pub fn start() -> Result<FileManager> {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // Its notes (fd limits, services it starts) are noise here; a
            // daemon that fails prints no address, which is reported.
            .stderr(Stdio::null())
            .spawn()
            .context("spawn dbus-daemon (Debian's `dbus-daemon`; scripts/setup installs it)")?;
        let mut line = String::new();
        BufReader::new(daemon.stdout.take().context("dbus-daemon stdout")?)
            .read_line(&mut line)
            .context("read the bus address")?;
        let address = line.trim().to_string();
        if address.is_empty() {
            let _ = daemon.kill();
            bail!("dbus-daemon printed no address");
        }
        let shown: Arc<Mutex<Vec<String>>> = Arc::default();
        let conn = zbus::blocking::connection::Builder::address(address.as_str())?
            .name("org.freedesktop.FileManager1")?
            .serve_at("/org/freedesktop/FileManager1", Shown(shown.clone()))?
            .build()
            .context("serve FileManager1 on the private bus")?;
        Ok(FileManager {
            daemon,
            address,
            shown,
            _conn: conn,
        })
    }

    /// For the app's `DBUS_SESSION_BUS_ADDRESS`.
    pub fn bus_address(&self) -> &str {
        &self.address
    }

    /// Waits until the file manager was asked to show an item whose
    /// `file://` URI satisfies `wanted`; returns that URI.
    pub async fn wait_shown(
        &self,
        what: &str,
        wanted: impl Fn(&str) -> bool,
        within: Duration,
    ) -> Result<String> {
        let until = Instant::now() + within;
        loop {
            let seen = self.shown.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some(u) = seen.iter().find(|u| wanted(u)) {
                return Ok(u.clone());
            }
            if Instant::now() > until {
                bail!("the file manager was not asked to show {what}; it was asked for {seen:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for FileManager {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
