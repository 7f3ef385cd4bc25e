//! `bench-app`: the desktop app's figures, measured on the real window
//! under Xvfb through tauri-driver (run it with `scripts/bench-app`).
//!
//! - cold start: app process launch (a new WebDriver session) → meeting
//!   list shown → one click → agenda shown, over several starts of an app
//!   that has already joined and synced;
//! - page turn: click on "next page" → the new page's image decoded and a
//!   frame painted after it, in page-by-page mode, over N turns of a big
//!   paper (median, p95, max);
//! - idle memory of the app's process tree (the app, WebKit's web and
//!   network processes) with that paper open: RSS and PSS.
//!
//! Usage: bench-app --pdf FILE [--turns 50] [--starts 5] [--idle-secs 10]

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
    starts: u32,
    idle: Duration,
}

fn args() -> Result<Args> {
    let mut a = Args {
        pdf: PathBuf::new(),
        turns: 50,
        starts: 5,
        idle: Duration::from_secs(10),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().with_context(|| format!("{k} needs a value"));
        match k.as_str() {
            "--pdf" => a.pdf = PathBuf::from(v()?),
            "--turns" => a.turns = v()?.parse()?,
            "--starts" => a.starts = v()?.parse()?,
            "--idle-secs" => a.idle = Duration::from_secs(v()?.parse()?),
            "-h" | "--help" => {
                println!("usage: bench-app --pdf FILE [--turns 50] [--starts 5] [--idle-secs 10]");
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
        a.turns >= 2 && a.starts >= 1,
        "--turns ≥ 2 and --starts ≥ 1"
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
    let out = Command::new(&phonghop)
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
            BIG_TITLE,
        ])
        .arg(&a.pdf)
        .output()?;
    ensure!(
        out.status.success(),
        "paper add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
        "page turn → painted, {} turns, {}-page paper: median {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        turns.len(),
        r.pages,
        percentile(&turns, 0.5),
        percentile(&turns, 0.95),
        turns.last().copied().unwrap_or_default()
    );
    println!(
        "idle memory, {} s after the turns, paper open: {} processes, RSS {:.0} MiB, PSS {:.0} MiB",
        a.idle.as_secs(),
        r.memory.processes,
        r.memory.rss_kib as f64 / 1024.0,
        r.memory.pss_kib as f64 / 1024.0
    );
    for (name, rss, pss) in &r.memory.each {
        println!(
            "  {name:<16} RSS {:>6.0} MiB, PSS {:>6.0} MiB",
            *rss as f64 / 1024.0,
            *pss as f64 / 1024.0
        );
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
    memory: TreeMemory,
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
) -> Result<(u64, Vec<f64>, TreeMemory)> {
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
        pages > u64::from(a.turns),
        "the paper has {pages} pages, fewer than --turns {}",
        a.turns
    );
    // Page by page: one page on screen, a turn replaces it.
    c.find(Locator::Css(&tid("mode-toggle")))
        .await?
        .click()
        .await?;
    wait_attr(c, &tid("reader"), "data-mode", "page").await?;
    page_image_loaded(c, 0).await?;
    let mut turns = vec![];
    for n in 1..=a.turns {
        let v = c
            .execute_async(
                "const [want, done] = [arguments[0], arguments[arguments.length - 1]];
                 const t0 = performance.now();
                 document.querySelector('[data-testid=next-page]').click();
                 const sel = `[data-testid=page-image][data-page=\"${want}\"]`;
                 const check = () => {
                   const i = document.querySelector(sel);
                   if (i && i.complete && i.naturalWidth > 0)
                     return requestAnimationFrame(() => done(performance.now() - t0));
                   if (performance.now() - t0 > 20000) return done(-1);
                   requestAnimationFrame(check);
                 };
                 requestAnimationFrame(check);",
                vec![serde_json::json!(n)],
            )
            .await
            .with_context(|| format!("turn to page {}", n + 1))?;
        let ms = v.as_f64().context("turn time")?;
        ensure!(ms >= 0.0, "page {} was not painted within 20 s", n + 1);
        turns.push(ms);
    }
    wait_text(
        c,
        &tid("page-indicator"),
        &format!("{} / {pages}", a.turns + 1),
    )
    .await?;
    tokio::time::sleep(a.idle).await;
    let pid = driver.app_pid().context("the app's process is gone")?;
    Ok((pages, turns, tree_memory(pid)))
}
