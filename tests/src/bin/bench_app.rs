//! `bench-app`: the desktop app's figures, measured on the real window
//! under Xvfb through tauri-driver (run it with `scripts/bench-app`).
//!
//! - cold start: app process launch (a new WebDriver session) → meeting
//!   list shown → one click → agenda shown, over several starts of an app
//!   that has already joined and synced;
//! - page turn: click on "next page" → the new page's image decoded, on its
//!   canvas, and a frame painted after it, in page-by-page mode, over N turns of a big
//!   paper (median, p95, max);
//! - idle memory of the app's process tree (the app, WebKit's web and
//!   network processes) with that paper open: RSS and PSS, after the open,
//!   after the timed turns and after `--long-turns` turns in all;
//! - the same memory figures for Evince (a reader people already use) on
//!   the same file, window size (fit width) and display, in the same run,
//!   turned with `xdotool` ("n", next page).
//!
//! - join while downloading: a new device joins while the pack holds a
//!   200 MB paper (in an earlier agenda item than the current one): join
//!   → the first page of the current item's paper painted, and how much of
//!   the big paper was on the device at that moment.
//!
//! Turns come `--think-ms` apart (300 ms: a delegate skimming, not reading),
//! for us and for Evince alike.
//!
//! Usage: bench-app --pdf FILE [--turns 50] [--long-turns 300] [--think-ms 300]
//! [--starts 5] [--idle-secs 10] [--no-evince] [--no-join]

use anyhow::{bail, ensure, Context, Result};
use fantoccini::{Client, Locator};
use phonghop_tests::e2e::*;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const MEETING: &str = "son-ha-kh12";
const BIG_TITLE: &str = "Phụ lục đo hiệu năng";

struct Args {
    pdf: PathBuf,
    turns: u32,
    long_turns: u32,
    think: Duration,
    evince: bool,
    join: bool,
    starts: u32,
    idle: Duration,
}

fn args() -> Result<Args> {
    let mut a = Args {
        pdf: PathBuf::new(),
        turns: 50,
        long_turns: 300,
        think: Duration::from_millis(300),
        evince: true,
        join: true,
        starts: 5,
        idle: Duration::from_secs(10),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().with_context(|| format!("{k} needs a value"));
        match k.as_str() {
            "--pdf" => a.pdf = PathBuf::from(v()?),
            "--turns" => a.turns = v()?.parse()?,
            "--long-turns" => a.long_turns = v()?.parse()?,
            "--no-evince" => a.evince = false,
            "--no-join" => a.join = false,
            "--think-ms" => a.think = Duration::from_millis(v()?.parse()?),
            "--starts" => a.starts = v()?.parse()?,
            "--idle-secs" => a.idle = Duration::from_secs(v()?.parse()?),
            "-h" | "--help" => {
                println!("usage: bench-app --pdf FILE [--turns 50] [--long-turns 300] [--think-ms 300] [--starts 5] [--idle-secs 10] [--no-evince] [--no-join]");
                std::process::exit(0);
            }
            _ => bail!("unknown argument {k:?} (see --help)"),
        }
    }
    ensure!(
        a.pdf.is_file(),
        "--pdf FILE is required (e.g. target/fixtures/large-320.pdf from scripts/fixtures)"
    );
    ensure!(
        a.turns >= 2 && a.starts >= 1 && a.long_turns >= a.turns,
        "--turns ≥ 2, --long-turns ≥ --turns and --starts ≥ 1"
    );
    Ok(a)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> Result<()> {
    let a = args()?;
    let app = workspace_bin("phonghop-app", "phonghop-app")?;
    let phonghop = workspace_bin("phonghop", "phonghop-cli")?;
    tauri_driver()?;
    let profile = bin_dir()?
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();

    let tmp = tempfile::tempdir()?;
    let mut hub = Hub::demo(&phonghop, &tmp.path().join("hub"))?;
    eprintln!("bench-app: adding {} to the demo meeting", a.pdf.display());
    add_paper(&phonghop, &hub, BIG_TITLE, &a.pdf)?;
    hub.start()?;
    let invite = hub.invite("dai-bieu-1")?;
    let xvfb = Xvfb::start()?;
    let driver = Driver::start(
        &xvfb.display,
        &tmp.path().join("app"),
        &tmp.path().join("home"),
    )?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(900), bench(&a, &app, &driver, &invite))
            .await
            .context("the benchmark did not finish within 15 minutes")?
    });
    drop(driver);
    let joined = match (&result, a.join) {
        (Ok(_), true) => Some(rt.block_on(join_while_downloading(
            &phonghop,
            &hub,
            &app,
            &xvfb.display,
            tmp.path(),
        ))),
        _ => None,
    };
    let evince = match (&result, a.evince) {
        (Ok(_), true) => Some(evince::measure(
            &xvfb.display,
            &a,
            &tmp.path().join("evince"),
        )),
        _ => None,
    };
    drop(xvfb);
    drop(hub);
    let r = result?;

    let mut turns = r.turns.clone();
    turns.sort_by(f64::total_cmp);
    let mut starts = r.agenda.clone();
    starts.sort_by(f64::total_cmp);
    println!("phonghop-app ({profile} build), Xvfb 1280x800, WebKitGTK via tauri-driver");
    println!(
        "first start: join + sync of {} papers          {:>8.0} ms",
        r.papers, r.first_sync_ms
    );
    println!(
        "cold start → meeting list (median of {})         {:>8.0} ms  (all: {})",
        r.list.len(),
        {
            let mut l = r.list.clone();
            l.sort_by(f64::total_cmp);
            percentile(&l, 0.5)
        },
        fmt_all(&r.list)
    );
    println!(
        "cold start → agenda visible (median of {})      {:>8.0} ms  (all: {})",
        starts.len(),
        percentile(&starts, 0.5),
        fmt_all(&r.agenda)
    );
    println!(
        "page turn → painted, {} turns {} ms apart, {}-page paper: median {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        turns.len(),
        a.think.as_millis(),
        r.pages,
        percentile(&turns, 0.5),
        percentile(&turns, 0.95),
        turns.last().copied().unwrap_or_default()
    );
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "idle memory, {} s after each stage, paper open: RSS / PSS MiB of the process tree",
        a.idle.as_secs()
    );
    let ev = match evince {
        Some(Ok(e)) => Some(e),
        Some(Err(e)) => {
            println!("  (Evince not measured: {e:#})");
            None
        }
        None => None,
    };
    println!(
        "  {:<22} {:>22} {:>22} {:>12}",
        "stage", "phonghop-app", "evince", "PSS ratio"
    );
    for (k, (stage, m)) in r.memory.iter().enumerate() {
        let e = ev.as_ref().and_then(|e| e.get(k));
        let theirs = e.map_or("—".into(), |e| {
            format!("{:.0} / {:.0}", mib(e.1.rss_kib), mib(e.1.pss_kib))
        });
        let ratio = e.filter(|e| e.1.pss_kib > 0).map_or("—".into(), |e| {
            format!("{:.2}×", m.pss_kib as f64 / e.1.pss_kib as f64)
        });
        println!(
            "  {:<22} {:>10.0} / {:>9.0} {:>22} {:>12}",
            stage,
            mib(m.rss_kib),
            mib(m.pss_kib),
            theirs,
            ratio
        );
    }
    if let (Some((_, short)), Some((_, long))) = (r.memory.get(1), r.memory.get(2)) {
        println!(
            "  growth {} → {} turns: {:.2}× (goal ≤ 1.10×)",
            a.turns,
            a.long_turns,
            long.pss_kib as f64 / short.pss_kib.max(1) as f64
        );
    }
    match joined {
        Some(Ok(j)) => println!(
            "join while a {} MB paper downloads → first page of the current item's paper painted: {:.0} ms (goal ≤ 2000 ms); {:.0} of {} MB of the big paper on the device then",
            BIG_MB,
            j.first_page_ms,
            j.big_on_disk as f64 / 1e6,
            BIG_MB
        ),
        Some(Err(e)) => println!("join while downloading: not measured: {e:#}"),
        None => {}
    }
    for (stage, m) in &r.memory {
        let each: Vec<String> = m
            .each
            .iter()
            .map(|(name, rss, pss)| format!("{name} {:.0}/{:.0}", mib(*rss), mib(*pss)))
            .collect();
        println!("  {stage}: {}", each.join(", "));
    }
    Ok(())
}

fn fmt_all(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Figures {
    papers: usize,
    first_sync_ms: f64,
    list: Vec<f64>,
    agenda: Vec<f64>,
    pages: u64,
    turns: Vec<f64>,
    /// After the open, after the timed turns, after the long run.
    memory: Vec<(String, TreeMemory)>,
}

async fn close(c: Client, driver: &Driver) -> Result<()> {
    let _ = tokio::time::timeout(Duration::from_secs(10), c.close()).await;
    let until = Instant::now() + Duration::from_secs(15);
    while driver.app_pid().is_some() {
        ensure!(
            Instant::now() < until,
            "the app did not exit after its session closed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

async fn open_meeting(c: &Client) -> Result<()> {
    wait_css(
        c,
        &format!("{}[data-meeting-id=\"{MEETING}\"]", tid("meeting-item")),
    )
    .await?
    .click()
    .await?;
    wait_css(c, &tid("agenda-item")).await?;
    Ok(())
}

async fn bench(a: &Args, app: &std::path::Path, driver: &Driver, invite: &str) -> Result<Figures> {
    // First start: join and download everything.
    let t = Instant::now();
    let c = driver.session(app).await?;
    wait_css(&c, &tid("join-input"))
        .await?
        .send_keys(invite)
        .await?;
    c.find(Locator::Css(&tid("join-button")))
        .await?
        .click()
        .await?;
    open_meeting(&c).await?;
    let papers = c.find_all(Locator::Css(&tid("paper-open"))).await?.len();
    c.wait()
        .at_most(Duration::from_secs(300))
        .for_element(Locator::Css(&format!(
            "{}[data-state=\"synced\"]",
            tid("connection-badge")
        )))
        .await
        .context("papers not synced within 5 minutes")?;
    let first_sync_ms = t.elapsed().as_secs_f64() * 1000.0;
    eprintln!("bench-app: joined and synced {papers} papers in {first_sync_ms:.0} ms");
    close(c, driver).await?;

    // Cold starts of a joined, synced app.
    let (mut list, mut agenda) = (vec![], vec![]);
    for i in 0..a.starts {
        let t = Instant::now();
        let c = driver.session(app).await?;
        wait_css(
            &c,
            &format!("{}[data-meeting-id=\"{MEETING}\"]", tid("meeting-item")),
        )
        .await?;
        list.push(t.elapsed().as_secs_f64() * 1000.0);
        open_meeting(&c).await?;
        agenda.push(t.elapsed().as_secs_f64() * 1000.0);
        eprintln!(
            "bench-app: cold start {}: list {:.0} ms, agenda {:.0} ms",
            i + 1,
            list[list.len() - 1],
            agenda[agenda.len() - 1]
        );
        if i + 1 < a.starts {
            close(c, driver).await?;
        } else {
            // The last start goes on to the big paper.
            let big = paper_id(&c, BIG_TITLE).await?;
            open_paper(&c, &big).await?;
            let figures = turns_and_memory(&c, a, driver).await;
            close(c, driver).await?;
            let (pages, turns, memory) = figures?;
            return Ok(Figures {
                papers,
                first_sync_ms,
                list,
                agenda,
                pages,
                turns,
                memory,
            });
        }
    }
    unreachable!("starts ≥ 1")
}

async fn turns_and_memory(
    c: &Client,
    a: &Args,
    driver: &Driver,
) -> Result<(u64, Vec<f64>, Vec<(String, TreeMemory)>)> {
    page_image_loaded(c, 0).await?;
    let pages = wait_js(
        c,
        "the reader's page count",
        "const e = document.querySelector('[data-testid=page-indicator]'); \
         const m = e && e.textContent.match(/\\/\\s*(\\d+)/); return m ? Number(m[1]) : 0;",
    )
    .await?
    .as_u64()
    .unwrap_or(0);
    ensure!(
        pages > u64::from(a.long_turns),
        "the paper has {pages} pages, fewer than --long-turns {}",
        a.long_turns
    );
    // Page by page: one page on screen, a turn replaces it.
    c.find(Locator::Css(&tid("mode-toggle")))
        .await?
        .click()
        .await?;
    wait_attr(c, &tid("reader"), "data-mode", "page").await?;
    page_image_loaded(c, 0).await?;
    let memory_now = || -> Result<TreeMemory> {
        let pid = driver.app_pid().context("the app's process is gone")?;
        Ok(tree_memory(pid))
    };
    tokio::time::sleep(a.idle).await;
    let mut memory = vec![("after open".to_string(), memory_now()?)];
    let mut turns = vec![];
    // Per turn: the new page's image element in the DOM; its image on it.
    let mut phases: (Vec<f64>, Vec<f64>) = (vec![], vec![]);
    for n in 1..=a.long_turns {
        tokio::time::sleep(a.think).await;
        let v = c
            .execute_async(
                "const [want, done] = [arguments[0], arguments[arguments.length - 1]];
                 const t0 = performance.now();
                 document.querySelector('[data-testid=next-page]').click();
                 const sel = `[data-testid=page-image][data-page=\"${want}\"]`;
                 let el = -1;
                 const check = () => {
                   const i = document.querySelector(sel);
                   if (i && el < 0) el = performance.now() - t0;
                   if (i && i.dataset.state === 'shown' && i.width > 0) {
                     const loaded = performance.now() - t0;
                     return requestAnimationFrame(() => done([performance.now() - t0, el, loaded]));
                   }
                   if (performance.now() - t0 > 20000) return done([-1, el, -1]);
                   requestAnimationFrame(check);
                 };
                 requestAnimationFrame(check);",
                vec![serde_json::json!(n)],
            )
            .await
            .with_context(|| format!("turn to page {}", n + 1))?;
        let [ms, el, loaded]: [f64; 3] = serde_json::from_value(v).context("turn time")?;
        ensure!(ms >= 0.0, "page {} was not painted within 20 s", n + 1);
        if n <= a.turns {
            turns.push(ms);
            phases.0.push(el);
            phases.1.push(loaded);
        }
        if n == a.turns || n == a.long_turns {
            wait_text(c, &tid("page-indicator"), &format!("{} / {pages}", n + 1)).await?;
            tokio::time::sleep(a.idle).await;
            memory.push((format!("after {n} turns"), memory_now()?));
        }
    }
    for v in [&mut phases.0, &mut phases.1] {
        v.sort_by(f64::total_cmp);
    }
    eprintln!(
        "bench-app: turn phases (median): image element in the DOM {:.0} ms, image on its canvas {:.0} ms",
        percentile(&phases.0, 0.5),
        percentile(&phases.1, 0.5)
    );
    Ok((pages, turns, memory))
}

/// Evince, driven on the same display: the baseline a delegate's laptop
/// already lives with.
mod evince {
    use super::Args;
    use anyhow::{ensure, Context, Result};
    use phonghop_tests::e2e::{tree_memory, TreeMemory};
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    struct Running(Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn xdotool(display: &str, args: &[&str]) -> Result<String> {
        let out = Command::new("xdotool")
            .env("DISPLAY", display)
            .args(args)
            .output()
            .context("xdotool is missing: install Debian's `xdotool` (scripts/setup does this)")?;
        ensure!(
            out.status.success(),
            "xdotool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Memory after the open, after `--turns` and after `--long-turns`
    /// next-page turns (each stage followed by `--idle-secs`), at fit width
    /// in a 1280×800 window.
    pub(super) fn measure(
        display: &str,
        a: &Args,
        home: &Path,
    ) -> Result<Vec<(String, TreeMemory)>> {
        std::fs::create_dir_all(home)?;
        let child = Command::new("evince")
            .arg(&a.pdf)
            .env("DISPLAY", display)
            .env("HOME", home)
            // Fresh settings: no zoom or page remembered from another run.
            .env("GSETTINGS_BACKEND", "memory")
            .env("NO_AT_BRIDGE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("evince is missing: install Debian's `evince` (scripts/setup does this)")?;
        let pid = child.id();
        let _running = Running(child);
        let until = Instant::now() + Duration::from_secs(30);
        let window = loop {
            let found = xdotool(
                display,
                &["search", "--onlyvisible", "--pid", &pid.to_string()],
            )
            .unwrap_or_default();
            if let Some(w) = found.lines().last().filter(|w| !w.is_empty()) {
                break w.to_string();
            }
            ensure!(
                Instant::now() < until,
                "Evince showed no window within 30 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        xdotool(display, &["windowsize", &window, "1280", "800"])?;
        std::thread::sleep(Duration::from_millis(500));
        // "w": fit width, as our reader opens a paper.
        xdotool(display, &["key", "--window", &window, "w"])?;
        std::thread::sleep(a.idle);
        let mut out = vec![("after open".to_string(), tree_memory(pid))];
        for n in 1..=a.long_turns {
            xdotool(display, &["key", "--window", &window, "n"])?;
            std::thread::sleep(a.think);
            if n == a.turns || n == a.long_turns {
                std::thread::sleep(a.idle);
                out.push((format!("after {n} turns"), tree_memory(pid)));
            }
        }
        Ok(out)
    }
}

/// Size of the paper that streams behind the join.
const BIG_MB: u64 = 200;
/// The current item's paper (item 3.1 of the demo).
const CURRENT_TITLE: &str = "Tờ trình số 45";

struct Joined {
    first_page_ms: f64,
    /// Bytes of the big paper on the device (whole or partial) at the paint.
    big_on_disk: u64,
}

/// A new device joins while the pack holds a 200 MB paper in item 2; the
/// chair has moved the meeting to item 3.1. Measures join → the first page
/// of the current item's paper painted.
async fn join_while_downloading(
    phonghop: &std::path::Path,
    hub: &Hub,
    app: &std::path::Path,
    display: &str,
    tmp: &std::path::Path,
) -> Result<Joined> {
    let big = tmp.join("anh-chup-hien-truong.pdf");
    eprintln!("bench-app: writing and adding a {BIG_MB} MB paper");
    phonghop_pdf::noise_image_pdf(&big, BIG_MB * 1_000_000, 7)?;
    let sha = phonghop_core::Hash::of(&std::fs::read(&big)?).to_hex();
    add_paper(phonghop, hub, "Phụ lục ảnh chụp hiện trường", &big)?;

    // The chair moves the meeting to the current paper's item (a device of
    // its own that takes the log, not the papers).
    let chair = phonghop_client::Client::join(
        &tmp.join("chair"),
        &hub.invite("chu-toa")?,
        "bench-app chair",
    )
    .await?
    .discard_blobs(true);
    chair.pull().await?;
    let item = {
        let dir = chair.dir();
        let d = dir
            .lock()
            .map_err(|_| anyhow::anyhow!("chair folder poisoned"))?;
        let st = d.store().state();
        st.meetings
            .get(&phonghop_core::MeetingId::new(MEETING))
            .and_then(|m| {
                m.documents
                    .values()
                    .find(|p| p.title.starts_with(CURRENT_TITLE))
            })
            .and_then(|p| p.item.clone())
            .context("the current paper has no agenda item")?
    };
    let id = chair
        .submit(phonghop_core::protocol::Command::SetCurrentItem {
            meeting: phonghop_core::MeetingId::new(MEETING),
            item: Some(item),
        })
        .await?;
    chair.flush_outbox().await?;
    let ack = {
        let dir = chair.dir();
        let d = dir
            .lock()
            .map_err(|_| anyhow::anyhow!("chair folder poisoned"))?;
        d.ack_of(&id)?
    };
    ensure!(
        ack.is_some_and(|a| matches!(
            a.outcome,
            phonghop_core::protocol::CommandOutcome::Applied { .. }
        )),
        "the chair could not move the meeting to the current item"
    );

    let app_data = tmp.join("app-join");
    let driver = Driver::start(display, &app_data, &tmp.join("home-join"))?;
    let c = driver.session(app).await?;
    wait_css(&c, &tid("join-input"))
        .await?
        .send_keys(&hub.invite("dai-bieu-2")?)
        .await?;
    let t = Instant::now();
    c.find(Locator::Css(&tid("join-button")))
        .await?
        .click()
        .await?;
    open_meeting(&c).await?;
    let paper = paper_id(&c, CURRENT_TITLE).await?;
    // Its button opens it once the paper is on the device.
    let button = format!("{}[data-document-id=\"{paper}\"]", tid("paper-open"));
    wait_js(
        &c,
        "the current paper downloaded",
        &format!(
            "const b = document.querySelector({}); return !!b && !b.disabled;",
            serde_json::to_string(&button)?
        ),
    )
    .await?;
    open_paper(&c, &paper).await?;
    page_image_loaded(&c, 0).await?;
    let first_page_ms = t.elapsed().as_secs_f64() * 1000.0;
    let big_on_disk = files_named(&app_data.join("hub").join("blobs"), &sha);
    close(c, &driver).await?;
    drop(driver);
    Ok(Joined {
        first_page_ms,
        big_on_disk,
    })
}

/// Total size of the files under `dir` whose name starts with `prefix`.
fn files_named(dir: &std::path::Path, prefix: &str) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            total += files_named(&p, prefix);
        } else if e.file_name().to_string_lossy().starts_with(prefix) {
            total += e.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    total
}

/// Adds `pdf` to item 2 of the demo meeting under `title`.
fn add_paper(
    phonghop: &std::path::Path,
    hub: &Hub,
    title: &str,
    pdf: &std::path::Path,
) -> Result<()> {
    let out = Command::new(phonghop)
        .arg("--data")
        .arg(&hub.dir)
        .args([
            "paper",
            "add",
            "--meeting",
            MEETING,
            "--item",
            "2",
            "--title",
            title,
        ])
        .arg(pdf)
        .output()?;
    ensure!(
        out.status.success(),
        "paper add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
