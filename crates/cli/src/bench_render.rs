//! `phonghop bench render FILE… [--width 1200]`: how fast we draw pages,
//! against poppler (`pdftoppm`) and MuPDF (`mutool draw`) on the same pages
//! and width, measured in the same run.
//!
//! Ours goes through the real render service (worker thread, PNG encode,
//! memory cache off for the measured pages since each page is drawn once),
//! with the disk cache disabled. Baselines are timed as whole processes
//! over the same page range, so their figure includes process start and file
//! parse once per run, as a reader using them would pay.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Subcommand;
use phonghop_pdf::{DocRef, Encoding, RenderConfig, RenderRequest, RenderService};

/// `phonghop bench …`
#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Render every page of each file and compare with pdftoppm and mutool.
    Render {
        /// PDF files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Page width in pixels.
        #[arg(long, default_value_t = 1200)]
        width: u32,
        /// Render at most this many pages per file (0 = all).
        #[arg(long, default_value_t = 0)]
        max_pages: u32,
        /// Pages used for the PNG vs WebP comparison.
        #[arg(long, default_value_t = 10)]
        encoding_pages: u32,
    },
    /// Many devices fetching a meeting pack from the hub, against a static
    /// file server on the same files; then the cost of updating one paper.
    Sync(crate::bench_sync::SyncArgs),
    /// Many devices with live WebSockets: a poll opened, everyone votes,
    /// the result back on every device; ballot signature checks per second.
    Vote(crate::bench_vote::VoteArgs),
}

/// Runs `phonghop bench …`.
pub fn run(cmd: BenchCmd) -> ExitCode {
    match cmd {
        BenchCmd::Render {
            files,
            width,
            max_pages,
            encoding_pages,
        } => match render(&files, width, max_pages, encoding_pages) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("phonghop bench render: {e}");
                ExitCode::FAILURE
            }
        },
        BenchCmd::Vote(args) => match crate::bench_vote::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("phonghop bench vote: {e:#}");
                ExitCode::FAILURE
            }
        },
        BenchCmd::Sync(args) => match crate::bench_sync::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("phonghop bench sync: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Where a network benchmark keeps its hub and devices: `--dir` (created
/// if needed, kept) or a temporary folder removed when this is dropped.
pub(crate) struct WorkDir {
    path: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl WorkDir {
    pub(crate) fn new(dir: Option<&Path>) -> anyhow::Result<WorkDir> {
        use anyhow::Context;
        Ok(match dir {
            Some(d) => {
                std::fs::create_dir_all(d)
                    .with_context(|| format!("cannot create {}", d.display()))?;
                WorkDir {
                    path: d.to_path_buf(),
                    _tmp: None,
                }
            }
            None => {
                let tmp = tempfile::tempdir().context("cannot make a temporary folder")?;
                WorkDir {
                    path: tmp.path().to_path_buf(),
                    _tmp: Some(tmp),
                }
            }
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Times one external command; `None` if it is not installed or failed.
fn time_tool(cmd: &mut Command) -> Option<Duration> {
    let t = Instant::now();
    let st = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    st.success().then(|| t.elapsed())
}

struct Ours {
    first: Duration,
    per_page: Vec<f64>,
    total: Duration,
}

fn ours(svc: &RenderService, doc: &DocRef, pages: u32, width: u32) -> Result<Ours, String> {
    let t = Instant::now();
    svc.render(RenderRequest::new(doc.clone(), 0, width))
        .wait()
        .map_err(|e| e.to_string())?;
    let first = t.elapsed();
    let mut per_page = vec![ms(first)];
    for p in 1..pages {
        let t = Instant::now();
        svc.render(RenderRequest::new(doc.clone(), p, width))
            .wait()
            .map_err(|e| e.to_string())?;
        per_page.push(ms(t.elapsed()));
    }
    Ok(Ours {
        first,
        per_page,
        total: t.elapsed(),
    })
}

fn render(files: &[PathBuf], width: u32, max_pages: u32, enc_pages: u32) -> Result<(), String> {
    let svc = RenderService::start(RenderConfig {
        memory_bytes: 16 << 20,
        ..RenderConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let webp = RenderService::start(RenderConfig {
        memory_bytes: 16 << 20,
        encoding: Encoding::Webp,
        ..RenderConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let tmp = std::env::temp_dir().join(format!("phonghop-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    println!(
        "build: {}; width {width} px",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    for f in files {
        let result = bench_file(&svc, &webp, f, width, max_pages, enc_pages, &tmp);
        if let Err(e) = result {
            println!("{}: skipped: {e}", f.display());
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    match peak_rss_mb() {
        Some(mb) => println!("peak RSS (VmHWM) after rendering all pages: {mb:.0} MB"),
        None => println!("peak RSS: /proc/self/status not readable"),
    }
    Ok(())
}

fn bench_file(
    svc: &RenderService,
    webp: &RenderService,
    f: &Path,
    width: u32,
    max_pages: u32,
    enc_pages: u32,
    tmp: &Path,
) -> Result<(), String> {
    let a = phonghop_pdf::analyze(f).map_err(|e| e.to_string())?;
    let mut pages = a.page_count;
    if max_pages > 0 {
        pages = pages.min(max_pages);
    }
    let page_w = a.pages.first().map_or(612.0, |p| p.width);
    let dpi = (f64::from(width) * 72.0 / f64::from(page_w))
        .round()
        .max(1.0) as u32;
    let doc = DocRef {
        sha256: a.sha256.clone(),
        path: f.to_path_buf(),
    };
    let o = ours(svc, &doc, pages, width)?;
    let mut sorted = o.per_page.clone();
    sorted.sort_by(f64::total_cmp);
    let median = percentile(&sorted, 0.5);
    let p95 = percentile(&sorted, 0.95);
    let ours_ms = ms(o.total) / f64::from(pages);
    println!(
        "{} ({pages} of {} pages, {dpi} dpi for baselines)",
        f.display(),
        a.page_count
    );
    println!(
        "  phonghop : first page (cold open) {:.1} ms; median {median:.1} ms/page, p95 {p95:.1} ms; {:.1} pages/s",
        ms(o.first),
        f64::from(pages) / o.total.as_secs_f64()
    );

    // PNG vs WebP on the first pages (fresh service, so no cache hits).
    let n = enc_pages.min(pages);
    if n > 0 {
        let t = Instant::now();
        for p in 0..n {
            webp.render(RenderRequest::new(doc.clone(), p, width))
                .wait()
                .map_err(|e| e.to_string())?;
        }
        let webp_ms = ms(t.elapsed()) / f64::from(n);
        let png_ms: f64 = o.per_page.iter().take(n as usize).skip(1).sum::<f64>()
            / f64::from(n.saturating_sub(1).max(1));
        println!(
            "  encoding : PNG {png_ms:.1} ms/page vs WebP(lossless) {webp_ms:.1} ms/page (pages 2..{n}, end to end)"
        );
    }

    let last = pages.to_string();
    let first_only = time_tool(
        Command::new("pdftoppm")
            .args(["-png", "-r", &dpi.to_string(), "-f", "1", "-l", "1"])
            .arg(f)
            .arg(tmp.join("first")),
    );
    let poppler = time_tool(
        Command::new("pdftoppm")
            .args(["-png", "-r", &dpi.to_string(), "-f", "1", "-l", &last])
            .arg(f)
            .arg(tmp.join("pp")),
    );
    let mupdf = time_tool(
        Command::new("mutool")
            .args(["draw", "-q", "-w", &width.to_string(), "-o"])
            .arg(tmp.join("mu%d.png"))
            .arg(f)
            .arg(format!("1-{last}")),
    );
    let report = |name: &str, d: Option<Duration>| match d {
        Some(d) => {
            let per = ms(d) / f64::from(pages);
            println!(
                "  {name:<9}: {per:.1} ms/page, {:.1} pages/s; phonghop is {:.2}x its speed",
                f64::from(pages) / d.as_secs_f64(),
                per / ours_ms
            );
        }
        None => println!("  {name:<9}: not available"),
    };
    if let Some(d) = first_only {
        println!(
            "  pdftoppm : first page (process start + open) {:.1} ms",
            ms(d)
        );
    }
    report("pdftoppm", poppler);
    report("mutool", mupdf);
    // Clean between files so the temp dir stays small.
    if let Ok(rd) = std::fs::read_dir(tmp) {
        for e in rd.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    Ok(())
}
