//! Driving the real desktop app (`phonghop-app`) through WebDriver.
//!
//! Every process the end-to-end tests start lives in a guard whose `Drop`
//! stops it, so a failing test leaves nothing behind:
//!
//! - [`Xvfb`]: a private X display (1280×800×24, no TCP);
//! - [`Hub`]: the real `phonghop hub` binary on `127.0.0.1`, stopped with
//!   SIGTERM and restartable on the same port;
//! - [`Driver`]: `tauri-driver` (which starts `WebKitWebDriver`, which
//!   starts the app). It is stopped with **SIGTERM**: killed hard it leaves
//!   WebKitWebDriver running (shared/PLATFORM.md). As a last resort the
//!   guard also ends, by pid, any app or WebKitWebDriver process that
//!   carries this run's own data folder or port.
//!
//! Binaries are found next to the test executable (`target/debug/`); a
//! missing binary or tool is an error with the command that fixes it,
//! never a skipped test.

pub mod secretariat;

use anyhow::{bail, ensure, Context, Result};
use fantoccini::{elements::Element, Client, ClientBuilder, Locator};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The longest any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// `target/debug/` (or whichever profile folder the test runs from).
pub fn bin_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("current_exe")?;
    // target/debug/deps/e2e_app-HASH → target/debug
    let deps = exe.parent().context("test executable has no folder")?;
    let dir = if deps.ends_with("deps") {
        deps.parent().context("deps has no parent")?
    } else {
        deps
    };
    Ok(dir.to_path_buf())
}

/// A workspace binary built next to the tests, or an error saying how to build it.
pub fn workspace_bin(name: &str, package: &str) -> Result<PathBuf> {
    let path = bin_dir()?.join(name);
    ensure!(
        path.is_file(),
        "{} is missing: build it first with `cargo build -p {package}` \
         (scripts/test does this before `cargo test`)",
        path.display()
    );
    Ok(path)
}

/// `tauri-driver` from PATH or `~/.cargo/bin`, or an error saying how to install it.
pub fn tauri_driver() -> Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("tauri-driver"))
                .collect()
        })
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/tauri-driver"));
    }
    candidates.into_iter().find(|p| p.is_file()).context(
        "tauri-driver not found (PATH, ~/.cargo/bin): install it with \
         `cargo install tauri-driver --locked` (scripts/setup does this)",
    )
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) -> Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let until = Instant::now() + WAIT;
    while Instant::now() < until {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Some(st) = child.try_wait()? {
            bail!("{what} exited ({st}) before listening on {addr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{what} did not listen on {addr} within {WAIT:?}")
}

/// Sends `signal` (e.g. "TERM") to one process by id.
pub fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// SIGTERM, then wait up to `grace`, then SIGKILL. Returns true if it exited on SIGTERM.
pub fn stop_child(child: &mut Child, grace: Duration) -> bool {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return true;
    }
    signal(child.id(), "TERM");
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// A private X server.
#[derive(Debug)]
pub struct Xvfb {
    child: Child,
    /// `:N`
    pub display: String,
}

impl Xvfb {
    /// Starts Xvfb on the first free display from :140 up.
    pub fn start() -> Result<Xvfb> {
        let xvfb = ["/usr/bin/Xvfb", "/usr/local/bin/Xvfb"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .context("Xvfb not found: install Debian's `xvfb` package (scripts/setup does this)")?;
        let base = 140 + (std::process::id() % 200);
        for n in (base..base + 60).filter(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        }) {
            let mut child = Command::new(&xvfb)
                .arg(format!(":{n}"))
                .args(["-screen", "0", "1280x1280x24", "-nolisten", "tcp"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("spawn {}", xvfb.display()))?;
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
            let until = Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(_st) = child.try_wait()? {
                    break; // display taken meanwhile: try the next one
                }
                if socket.exists() {
                    return Ok(Xvfb {
                        child,
                        display: format!(":{n}"),
                    });
                }
                if Instant::now() > until {
                    stop_child(&mut child, Duration::from_secs(2));
                    bail!("Xvfb :{n} did not create {} within 10 s", socket.display());
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        }
        bail!("no free X display between :{base} and :{}", base + 59)
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        stop_child(&mut self.child, Duration::from_secs(5));
    }
}

/// Runs the real `phonghop` CLI to the end, whatever its exit status.
pub fn cli_output<I, S>(phonghop: &Path, args: I) -> Result<std::process::Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    Command::new(phonghop)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("run phonghop {args:?}"))
}

/// Runs the real `phonghop` CLI; its standard output, or an error with the
/// command, the exit status and its standard error.
pub fn cli<I, S>(phonghop: &Path, args: I) -> Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    let out = cli_output(phonghop, &args)?;
    ensure!(
        out.status.success(),
        "phonghop {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// The real `phonghop hub` on 127.0.0.1.
#[derive(Debug)]
pub struct Hub {
    phonghop: PathBuf,
    /// The hub's data folder.
    pub dir: PathBuf,
    /// Where it listens.
    pub port: u16,
    child: Option<Child>,
}

impl Hub {
    /// A hub over the data folder `dir` (prepared before or after this
    /// call, e.g. with the `phonghop` CLI), on a free port, not started.
    pub fn new(phonghop: &Path, dir: &Path) -> Result<Hub> {
        Ok(Hub {
            phonghop: phonghop.to_path_buf(),
            dir: dir.to_path_buf(),
            port: free_port()?,
            child: None,
        })
    }

    /// Builds the demo hub (`phonghop demo --dir DIR`) without starting it.
    pub fn demo(phonghop: &Path, dir: &Path) -> Result<Hub> {
        cli(
            phonghop,
            ["demo".as_ref(), "--dir".as_ref(), dir.as_os_str()],
        )?;
        Hub::new(phonghop, dir)
    }

    /// `127.0.0.1:PORT`
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the server and waits for its `listening on` line.
    pub fn start(&mut self) -> Result<()> {
        ensure!(self.child.is_none(), "hub already running");
        let mut child = Command::new(&self.phonghop)
            .arg("--data")
            .arg(&self.dir)
            .args(["hub", "--no-inbox", "--listen", &self.address()])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawn phonghop hub")?;
        let stdout = child.stdout.take().context("hub stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(line);
                    }
                }
            }
        });
        self.child = Some(child);
        match rx.recv_timeout(WAIT) {
            Ok(_) => Ok(()),
            Err(_) => {
                self.stop();
                bail!("hub did not print `listening on` within {WAIT:?}")
            }
        }
    }

    /// SIGTERM and wait for a graceful exit; an error if it had to be killed.
    pub fn stop(&mut self) -> bool {
        match self.child.take() {
            Some(mut c) => stop_child(&mut c, Duration::from_secs(15)),
            None => true,
        }
    }

    /// An invite for one person's device (`phonghop:CODE@127.0.0.1:PORT`).
    pub fn invite(&self, person: &str) -> Result<String> {
        let out = Command::new(&self.phonghop)
            .arg("--data")
            .arg(&self.dir)
            .args(["invite", person, "--address", &self.address(), "--plain"])
            .stdin(Stdio::null())
            .output()
            .context("run phonghop invite")?;
        ensure!(
            out.status.success(),
            "phonghop invite failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let s = String::from_utf8(out.stdout)?.trim().to_string();
        ensure!(s.starts_with("phonghop:"), "unexpected invite: {s:?}");
        Ok(s)
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop();
    }
}

fn proc_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Memory of a process and all its descendants (WebKit's web and network
/// processes are children of the app).
#[derive(Debug, Clone, Default)]
pub struct TreeMemory {
    /// Each process: name, RSS KiB, PSS KiB.
    pub each: Vec<(String, u64, u64)>,
    /// Processes counted.
    pub processes: usize,
    /// Sum of VmRSS (shared pages counted once per process), KiB.
    pub rss_kib: u64,
    /// Sum of Pss (shared pages divided among their users), KiB.
    pub pss_kib: u64,
}

/// [`TreeMemory`] of `root` and its descendants, from /proc.
pub fn tree_memory(root: u32) -> TreeMemory {
    let parent = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // pid (comm) state ppid ...; comm may hold spaces and parentheses.
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let field = |path: String, key: &str| -> u64 {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                l.strip_prefix(key)?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    };
    let all: Vec<(u32, Option<u32>)> = proc_pids().into_iter().map(|p| (p, parent(p))).collect();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(all.iter().filter(|(_, pp)| *pp == Some(p)).map(|(c, _)| *c));
        i += 1;
    }
    let mut m = TreeMemory::default();
    for pid in tree {
        let rss = field(format!("/proc/{pid}/status"), "VmRSS:");
        let pss = field(format!("/proc/{pid}/smaps_rollup"), "Pss:");
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        m.each.push((name.trim().to_string(), rss, pss));
        m.processes += 1;
        m.rss_kib += rss;
        m.pss_kib += pss;
    }
    m
}

/// tauri-driver on a free port, with the environment the app will inherit.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    /// Where WebDriver clients connect.
    pub port: u16,
    native_port: u16,
    app_data: PathBuf,
}

impl Driver {
    /// Starts tauri-driver; the app it launches gets `DISPLAY`, its own
    /// `PHONGHOP_APP_DATA` and private XDG folders (window state, WebKit caches).
    pub fn start(display: &str, app_data: &Path, home: &Path) -> Result<Driver> {
        Driver::start_with(display, app_data, home, &[])
    }

    /// [`Driver::start`], with more environment for the app (a private
    /// D-Bus session bus, say).
    pub fn start_with(
        display: &str,
        app_data: &Path,
        home: &Path,
        env: &[(&str, &str)],
    ) -> Result<Driver> {
        let exe = tauri_driver()?;
        ensure!(
            Path::new("/usr/bin/WebKitWebDriver").is_file(),
            "/usr/bin/WebKitWebDriver is missing: install Debian's `webkit2gtk-driver` (scripts/setup does this)"
        );
        let port = free_port()?;
        let mut native_port = free_port()?;
        while native_port == port {
            native_port = free_port()?;
        }
        for d in ["config", "data", "cache"] {
            std::fs::create_dir_all(home.join(d))?;
        }
        let mut child = Command::new(&exe)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("DISPLAY", display)
            .env_remove("WAYLAND_DISPLAY")
            .env("PHONGHOP_APP_DATA", app_data)
            .env_remove("PHONGHOP_INVITE")
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("RUST_LOG", "warn")
            // No accessibility bus under Xvfb: keep GTK from looking for one.
            .env("NO_AT_BRIDGE", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("spawn {}", exe.display()))?;
        // tauri-driver listens at once but forwards to WebKitWebDriver,
        // which needs a moment more: a session asked for too early is refused.
        let ready = wait_for_port(port, &mut child, "tauri-driver").and_then(|()| {
            wait_for_port(native_port, &mut child, "tauri-driver's WebKitWebDriver")
        });
        if let Err(e) = ready {
            stop_child(&mut child, Duration::from_secs(5));
            return Err(e);
        }
        Ok(Driver {
            child,
            port,
            native_port,
            app_data: app_data.to_path_buf(),
        })
    }

    /// A WebDriver session: launches the app window.
    pub async fn session(&self, app: &Path) -> Result<Client> {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app.to_str().context("app path is not UTF-8")? }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let url = format!("http://127.0.0.1:{}", self.port);
        let client = tokio::time::timeout(
            WAIT,
            ClientBuilder::new(connector)
                .capabilities(caps)
                .connect(&url),
        )
        .await
        .context("WebDriver session did not start in time")?
        .context("WebDriver session")?;
        Ok(client)
    }

    /// The pid of the app this driver launched (found by its data folder;
    /// its PDF workers share that environment but not its arguments).
    pub fn app_pid(&self) -> Option<u32> {
        let marker = format!("PHONGHOP_APP_DATA={}", self.app_data.display());
        proc_pids().into_iter().find(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            cmd.contains("phonghop-app")
                && !cmd.contains("-worker")
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .unwrap_or_default()
                    .split(|&b| b == 0)
                    .any(|v| v == marker.as_bytes())
        })
    }

    /// Pids of this run's leftovers: the app (by its data folder) and
    /// WebKitWebDriver (by its port).
    fn leftovers(&self) -> Vec<u32> {
        let marker = format!("PHONGHOP_APP_DATA={}", self.app_data.display());
        let port = format!("--port={}", self.native_port);
        proc_pids()
            .into_iter()
            .filter(|&pid| pid != std::process::id())
            .filter(|pid| {
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let cmd = String::from_utf8_lossy(&cmd);
                if cmd.contains("WebKitWebDriver") {
                    return cmd.split('\0').any(|a| a == port);
                }
                if !cmd.contains("phonghop-app") {
                    return false;
                }
                let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
                env.split(|&b| b == 0).any(|v| v == marker.as_bytes())
            })
            .collect()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let clean = stop_child(&mut self.child, Duration::from_secs(10));
        if !clean {
            eprintln!("e2e: tauri-driver needed SIGKILL");
        }
        // Belt and braces: nothing of this run may outlive the test.
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let left = self.leftovers();
            if left.is_empty() {
                break;
            }
            let hard = Instant::now() > until;
            for pid in &left {
                signal(*pid, if hard { "KILL" } else { "TERM" });
            }
            if hard {
                eprintln!("e2e: killed leftover processes {left:?}");
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Runs `flow` within `limit`; if it fails, saves a screenshot of each
/// window as `shots/<name>.png`; then ends every WebDriver session (which
/// closes its app), whatever happened.
pub async fn run_flow(
    windows: &[(&Client, &str)],
    limit: Duration,
    shots: &Path,
    flow: impl std::future::Future<Output = Result<()>>,
) -> Result<()> {
    let out = tokio::time::timeout(limit, flow)
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the flow did not finish within {limit:?}")));
    if out.is_err() {
        for (c, name) in windows {
            if let Ok(p) = screenshot(c, shots, name).await {
                eprintln!("e2e: failure screenshot: {}", p.display());
            }
        }
    }
    for (c, _) in windows {
        let _ = tokio::time::timeout(Duration::from_secs(10), (*c).clone().close()).await;
    }
    out
}

/// `[data-testid="ID"]`
pub fn tid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// Waits for the first element matching a CSS selector and clicks it.
pub async fn click(c: &Client, css: &str) -> Result<()> {
    let until = Instant::now() + WAIT;
    loop {
        let e = wait_css(c, css).await?;
        match e.click().await {
            Ok(()) => return Ok(()),
            // WebKitWebDriver now and then refuses a click with an empty
            // error while the page re-renders under it (seen in CI on a
            // button that had just appeared after a tab change). The
            // element is found again and clicked again; a click that
            // keeps failing fails the test with the last error.
            Err(fantoccini::error::CmdError::Standard(err)) if Instant::now() < until => {
                eprintln!("click `{css}` refused ({err}); trying again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e).with_context(|| format!("click `{css}`")),
        }
    }
}

/// The join screen: types `invite`, joins, and opens `meeting` from the
/// list that follows.
pub async fn join_and_open(c: &Client, invite: &str, meeting: &str) -> Result<()> {
    wait_css(c, &tid("join-input"))
        .await?
        .send_keys(invite)
        .await?;
    click(c, &tid("join-button")).await?;
    click(
        c,
        &format!("{}[data-meeting-id=\"{meeting}\"]", tid("meeting-item")),
    )
    .await
    .context("the meeting after joining")
}

/// The trimmed text of the first element matching `css` (waiting for it).
pub async fn text_of(c: &Client, css: &str) -> Result<String> {
    wait_css(c, css).await?;
    let v = c
        .execute(
            &format!(
                "return document.querySelector({}).textContent.trim();",
                serde_json::to_string(css)?
            ),
            vec![],
        )
        .await
        .with_context(|| format!("text of `{css}`"))?;
    v.as_str()
        .map(String::from)
        .with_context(|| format!("text of `{css}` is not a string: {v}"))
}

/// Waits for the first element matching a CSS selector.
pub async fn wait_css(c: &Client, css: &str) -> Result<Element> {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("no element `{css}` within {WAIT:?}"))
}

/// Polls a JS expression (the body of a function returning a value) until
/// it returns something truthy; returns that value.
pub async fn wait_js(c: &Client, what: &str, body: &str) -> Result<serde_json::Value> {
    let until = Instant::now() + WAIT;
    let mut last = serde_json::Value::Null;
    while Instant::now() < until {
        last = match c.execute(body, vec![]).await {
            Ok(v) => v,
            // WebKitWebDriver now and then answers a poll with a result it
            // cannot serialise ("Could not parse script result"; seen once
            // in CI while the page re-rendered): that poll only, not the
            // test — the next one asks again.
            Err(e) if e.to_string().contains("Could not parse script result") => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("js: {what}")),
        };
        let truthy = match &last {
            serde_json::Value::Null => false,
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::Number(n) => n.as_f64() != Some(0.0),
            serde_json::Value::String(s) => !s.is_empty(),
            _ => true,
        };
        if truthy {
            return Ok(last);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("timed out after {WAIT:?} waiting for {what} (last value: {last})")
}

/// Waits until an attribute of the first element matching `css` equals `want`.
pub async fn wait_attr(c: &Client, css: &str, attr: &str, want: &str) -> Result<()> {
    let body = format!(
        "const e = document.querySelector({css}); return e ? e.getAttribute({attr}) === {want} : false;",
        css = serde_json::to_string(css)?,
        attr = serde_json::to_string(attr)?,
        want = serde_json::to_string(want)?,
    );
    wait_js(c, &format!("{css} [{attr}={want:?}]"), &body)
        .await
        .map(|_| ())
}

/// Waits until the trimmed text of the first element matching `css` equals `want`.
pub async fn wait_text(c: &Client, css: &str, want: &str) -> Result<()> {
    let body = format!(
        "const e = document.querySelector({css}); return e ? e.textContent.trim() === {want} : false;",
        css = serde_json::to_string(css)?,
        want = serde_json::to_string(want)?,
    );
    wait_js(c, &format!("{css} text {want:?}"), &body)
        .await
        .map(|_| ())
}

/// The text of the QR code in the first element matching `css`, read from
/// a screenshot of the window cropped to that element (what a camera
/// pointed at the screen would see). (WebKitGTK's element screenshots come
/// back empty, so the window's is cropped here.)
pub async fn qr_text(c: &Client, css: &str) -> Result<String> {
    wait_css(c, css).await?;
    let rect = c
        .execute(
            &format!(
                "const e = document.querySelector({}); e.scrollIntoView({{block: 'center'}}); \
                 const r = e.getBoundingClientRect(); const d = window.devicePixelRatio || 1; \
                 return [r.left * d, r.top * d, r.width * d, r.height * d];",
                serde_json::to_string(css)?
            ),
            vec![],
        )
        .await?;
    let r: Vec<f64> = serde_json::from_value(rect)?;
    let png = c.screenshot().await.context("screenshot")?;
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().context("the screenshot is a PNG")?;
    let mut buf = vec![0; reader.output_buffer_size().context("PNG size")?];
    let info = reader
        .next_frame(&mut buf)
        .context("decoding the screenshot")?;
    let channels = info.color_type.samples();
    let (width, height) = (info.width as usize, info.height as usize);
    // The element's box, with a margin of white around it, inside the image.
    let clamp = |v: f64, max: usize| (v.max(0.0) as usize).min(max);
    let (x0, y0) = (clamp(r[0] - 8.0, width), clamp(r[1] - 8.0, height));
    let (x1, y1) = (
        clamp(r[0] + r[2] + 8.0, width),
        clamp(r[1] + r[3] + 8.0, height),
    );
    anyhow::ensure!(x1 > x0 && y1 > y0, "{css} is not on screen: {r:?}");
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(x1 - x0, y1 - y0, |x, y| {
        let i = ((y0 + y) * width + x0 + x) * channels;
        let px = &buf[i..i + channels.min(3)];
        (px.iter().map(|v| u32::from(*v)).sum::<u32>() / px.len() as u32) as u8
    });
    let grids = img.detect_grids();
    let grid = grids.first().context("no QR code in the screenshot")?;
    let (_, text) = grid.decode().context("the QR code does not decode")?;
    Ok(text)
}

/// Saves a WebDriver screenshot as `DIR/NAME.png` and returns its path.
pub async fn screenshot(c: &Client, dir: &Path, name: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    // The last change must be painted, transitions (≤ 200 ms) included:
    // WebDriver's screenshot shows the last painted frame.
    c.execute_async(
        "const done = arguments[arguments.length - 1];
         requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 300)));",
        vec![],
    )
    .await
    .context("waiting for a painted frame")?;
    let png = c.screenshot().await.context("screenshot")?;
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png)?;
    Ok(path)
}

/// `target/e2e-screenshots/`
pub fn screenshot_dir() -> Result<PathBuf> {
    let debug = bin_dir()?;
    let target = debug.parent().context("profile folder has no parent")?;
    Ok(target.join("e2e-screenshots"))
}

/// Polls `f` until it returns `Some`, or fails after `limit`.
pub async fn poll<T>(
    what: &str,
    limit: Duration,
    mut f: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let until = Instant::now() + limit;
    let mut last_err = None;
    while Instant::now() < until {
        match f() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    match last_err {
        Some(e) => Err(e.context(format!("timed out after {limit:?} waiting for {what}"))),
        None => bail!("timed out after {limit:?} waiting for {what}"),
    }
}

/// A user's mouse: press at one viewport point, drag to another, release.
pub async fn mouse_drag(c: &Client, from: (f64, f64), to: (f64, f64)) -> Result<()> {
    use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
    let move_to = |(x, y): (f64, f64), ms: u64| PointerAction::MoveTo {
        duration: Some(Duration::from_millis(ms)),
        x: x.round(),
        y: y.round(),
    };
    let mouse = MouseActions::new("mouse".into())
        .then(move_to(from, 0))
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(move_to(((from.0 + to.0) / 2.0, (from.1 + to.1) / 2.0), 100))
        .then(move_to(to, 100))
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    c.perform_actions(mouse).await.context("mouse drag")?;
    c.release_actions().await.context("release actions")?;
    Ok(())
}

/// A user's click at one viewport point.
pub async fn mouse_click(c: &Client, at: (f64, f64)) -> Result<()> {
    use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
    let mouse = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x: at.0.round(),
            y: at.1.round(),
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    c.perform_actions(mouse).await.context("mouse click")?;
    c.release_actions().await.context("release actions")?;
    Ok(())
}

/// The document id of the paper whose title starts with `title`.
pub async fn paper_id(c: &Client, title: &str) -> Result<String> {
    let body = format!(
        "const b = [...document.querySelectorAll('[data-testid=paper-open]')]\
         .find(e => e.textContent.trim().startsWith({})); return b ? b.dataset.documentId : null;",
        serde_json::to_string(title)?
    );
    let v = wait_js(c, &format!("paper {title:?}"), &body).await?;
    v.as_str()
        .map(String::from)
        .context("document id is not a string")
}

/// Opens a paper from the meeting view and waits for its reader.
pub async fn open_paper(c: &Client, id: &str) -> Result<()> {
    wait_css(
        c,
        &format!("{}[data-document-id=\"{id}\"]", tid("paper-open")),
    )
    .await?
    .click()
    .await?;
    wait_css(c, &format!("{}[data-document-id=\"{id}\"]", tid("reader"))).await?;
    Ok(())
}

/// The page image is decoded and on its canvas (not just requested).
pub async fn page_image_loaded(c: &Client, page: u32) -> Result<()> {
    let css = format!("{}[data-page=\"{page}\"]", tid("page-image"));
    wait_js(
        c,
        &format!("page image {page} decoded"),
        &format!(
            "const i = document.querySelector({}); return !!i && i.dataset.state === 'shown' && i.width > 0;",
            serde_json::to_string(&css)?
        ),
    )
    .await?;
    Ok(())
}

/// Waits until exactly `n` elements match `css`.
pub async fn wait_count(c: &Client, css: &str, n: usize) -> Result<()> {
    wait_js(
        c,
        &format!("{n} × {css}"),
        &format!(
            "return document.querySelectorAll({}).length === {n};",
            serde_json::to_string(css)?
        ),
    )
    .await
    .map(|_| ())
}

/// The three window sizes every screen is checked at: a laptop, an older
/// 4:3 screen, and a tablet held upright.
/// Environment for an app whose window shares the display with another
/// app's: WebKit's GL compositing kept on (`PHONGHOP_GPU=1`). The app
/// paints in software by default, and then WebKitWebDriver's screenshot of
/// a window lying under another never returned (layout_app hung on its
/// first screenshot); composited, the hidden window still has its layers.
pub const SHARED_DISPLAY: &[(&str, &str)] = &[("PHONGHOP_GPU", "1")];

pub const LAYOUT_SIZES: [(u32, u32); 3] = [(1280, 800), (1024, 768), (800, 1280)];

/// What is wrong with the current screen's layout: every control, heading
/// and alert the user needs must fit the window's width, be reachable by
/// scrolling, and not lie under another element (the sticky header over a
/// form, a badge drawn over a button). Each is scrolled into view and hit-
/// tested at its centre and corners (`elementFromPoint`). Empty: whole.
pub async fn layout_problems(c: &Client, root: &str) -> Result<Vec<String>> {
    const CHECK: &str = r#"
const root = document.querySelector(arguments[0]) || document.body;
const vw = document.documentElement.clientWidth, vh = window.innerHeight;
const label = (e) => {
  const id = e.getAttribute('data-testid');
  const text = (e.getAttribute('aria-label') || e.textContent || e.value || '').trim().replace(/\s+/g, ' ').slice(0, 40);
  return `${e.tagName.toLowerCase()}${id ? `[${id}]` : ''} "${text}"`;
};
const needed = [...root.querySelectorAll(
  'button, a[href], input:not([type=hidden]), select, textarea, summary, h1, h2, [role=alert], [role=status], .badge')]
  .filter((e) => {
    const s = getComputedStyle(e);
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'
      && !e.closest('[aria-hidden=true], details:not([open]) > :not(summary)');
  });
const problems = [];
const owns = (e, hit) => !!hit && (hit === e || e.contains(hit) || (e.labels && [...e.labels].some((l) => l.contains(hit))));
for (const e of needed) {
  e.scrollIntoView({ block: 'center', inline: 'nearest' });
  const r = e.getBoundingClientRect();
  if (r.left < -1 || r.right > vw + 1) {
    problems.push(`${label(e)} is cut off at the side: x ${Math.round(r.left)}–${Math.round(r.right)} in a ${vw}-wide window`);
    continue;
  }
  if (r.height <= vh && (r.top < -1 || r.bottom > vh + 1)) {
    problems.push(`${label(e)} cannot be scrolled into view: y ${Math.round(r.top)}–${Math.round(r.bottom)} of ${vh}`);
    continue;
  }
  const inset = Math.min(3, r.width / 4, r.height / 4);
  const points = [
    [r.left + r.width / 2, r.top + r.height / 2],
    [r.left + inset, r.top + inset], [r.right - inset, r.top + inset],
    [r.left + inset, r.bottom - inset], [r.right - inset, r.bottom - inset],
  ].filter(([x, y]) => x >= 0 && y >= 0 && x < vw && y < vh);
  for (const [x, y] of points) {
    const hit = document.elementFromPoint(x, y);
    // Its own box or an ancestor's (a pill's rounded corner) is fine;
    // anything else there is drawn over it.
    if (!owns(e, hit) && !(hit && hit.contains(e))) {
      problems.push(`${label(e)} lies under ${hit ? label(hit) : 'nothing'} at (${Math.round(x)}, ${Math.round(y)})`);
      break;
    }
  }
}
window.scrollTo(0, 0);
document.querySelectorAll('*').forEach((e) => { if (e.scrollTop) e.scrollTop = 0; });
return [...new Set(problems)];
"#;
    let v = c
        .execute(CHECK, vec![root.into()])
        .await
        .context("layout check")?;
    Ok(serde_json::from_value(v)?)
}

/// Resizes the window and waits until the page has its new width.
pub async fn resize(c: &Client, width: u32, height: u32) -> Result<()> {
    c.set_window_size(width, height)
        .await
        .with_context(|| format!("resize to {width}×{height}"))?;
    wait_js(
        c,
        &format!("the page at {width} px wide"),
        &format!("return Math.abs(window.innerWidth - {width}) <= 20;"),
    )
    .await
    .map(|_| ())
}
