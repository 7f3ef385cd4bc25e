//! The room simulation's soak run: any number of seeds, with progress and
//! a summary per invariant (how many seeds hit it, and the first).
//!
//! ```text
//! sim-soak --seeds 10000 [--from N] [--steps 60] [--jobs 2] [--keep] [--verbose] [--stop]
//! ```
//!
//! `--jobs` runs seeds on that many threads (each seed is still one
//! deterministic run); `--keep` keeps failing seeds' folders; `--stop`
//! stops at the first failure. Exits 1 when a seed failed.

use anyhow::{bail, Context, Result};
use phonghop_tests::sim::{Options, Runner, SeedReport, Summary};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

fn main() -> Result<()> {
    let mut seeds = 1000u64;
    let mut from = 0u64;
    let mut jobs = 1usize;
    let mut stop = false;
    let mut opts = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| -> Result<u64> {
            args.next()
                .with_context(|| format!("{name} needs a number"))?
                .parse()
                .with_context(|| format!("{name} needs a number"))
        };
        match a.as_str() {
            "--seeds" => seeds = value("--seeds")?,
            "--from" => from = value("--from")?,
            "--steps" => opts.steps = usize::try_from(value("--steps")?)?,
            "--jobs" => jobs = usize::try_from(value("--jobs")?)?.max(1),
            "--keep" => opts.keep_failed = true,
            "--verbose" => opts.verbose = true,
            "--stop" => stop = true,
            "-h" | "--help" => {
                println!(
                    "sim-soak --seeds N [--from N] [--steps N] [--jobs N] [--keep] [--verbose] [--stop]"
                );
                return Ok(());
            }
            other => bail!("unknown argument '{other}' (see --help)"),
        }
    }
    let t = Instant::now();
    let runner = Runner::new()?;
    println!(
        "template room ready in {:.1} s; seeds {from}..{}, {} steps each, {jobs} job(s)",
        t.elapsed().as_secs_f64(),
        from + seeds,
        opts.steps
    );
    let start = Instant::now();
    let next = AtomicU64::new(from);
    let end = from + seeds;
    let summary = Mutex::new(Summary::default());
    let halt = std::sync::atomic::AtomicBool::new(false);
    let report = |r: &SeedReport| {
        let mut s = summary.lock().unwrap_or_else(|p| p.into_inner());
        s.add(r);
        if r.failed() {
            print!("{}", r.describe());
            if stop {
                halt.store(true, Ordering::SeqCst);
            }
        }
        if s.seeds % 50 == 0 {
            println!(
                "{} seeds, {} failed, {:.1} s",
                s.seeds,
                s.failed.len(),
                start.elapsed().as_secs_f64()
            );
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                if halt.load(Ordering::SeqCst) {
                    return;
                }
                let seed = next.fetch_add(1, Ordering::SeqCst);
                if seed >= end {
                    return;
                }
                report(&runner.run(seed, &opts));
            });
        }
    });
    let mut s = summary.into_inner().unwrap_or_else(|p| p.into_inner());
    s.elapsed = start.elapsed();
    print!("{}", s.describe());
    // The template's temp folder goes with the runner: drop it before exit.
    drop(runner);
    if !s.failed.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
