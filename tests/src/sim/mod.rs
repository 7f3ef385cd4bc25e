//! The room simulation (issue 10): a deterministic, seeded run of a whole
//! meeting room — one hub and its devices — through the real reducer,
//! store, hub server and sync engine, on real SQLite files, checking the
//! system's invariants after every step and at the end.
//!
//! Anchors: TigerBeetle's VOPR (one process, one seed decides every
//! choice, checkers after every step, a failing seed replays), Jepsen's
//! checkers (the history of acknowledged operations against a model), and
//! FoundationDB's simulation (faults are ordinary operations).
//!
//! - [`world`]: the room prepared once per process (people, two meetings,
//!   agenda, three real papers — public, members only, named readers —
//!   seven paired devices) and the hub process (start, graceful stop,
//!   kill, on one port, with the simulation's clock);
//! - [`net`]: one TCP link per device (up, partitioned, losing answers);
//! - [`model`]: what the hub must do with each command (the
//!   specification, independent of the hub's code);
//! - [`ops`]: the operations a step chooses from — the real command set,
//!   legit and hostile (signed but wrong), network partitions, lost
//!   answers, device restarts, hub stops and kills, clock skew, and the
//!   secretariat's operations as the CLI sends them
//!   (`phonghop_hub::admin::submit`: revoke, invite, new version, rename);
//! - [`check`]: the invariants.
//!
//! Determinism: every choice comes from the seed ([`rng`]); operations run
//! one at a time and are awaited, so the hub sees one order of requests;
//! the hub's clock is the simulation's (ids, times and orders do not
//! depend on the wall clock). Random device keys and command ids differ
//! between runs but decide nothing. A failing seed prints
//! `PHONGHOP_SIM_SEED=<n>` and replays with it.

pub mod check;
pub mod model;
pub mod net;
pub mod ops;
pub mod rng;
pub mod world;

use anyhow::{Context, Result};
use model::{Expect, Model};
use net::Link;
use phonghop_client::Client;
use phonghop_core::protocol::{Command, SignedCommand};
use phonghop_core::*;
use rng::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use world::{HubProc, Template};

/// Every this many steps, the hub's database is opened beside the running
/// hub and replayed (what a restart would do).
const REOPEN_EVERY: usize = 10;

/// The environment variable that replays one seed.
pub const SEED_ENV: &str = "PHONGHOP_SIM_SEED";

/// The seed to replay, from [`SEED_ENV`].
pub fn seed_from_env() -> Option<u64> {
    std::env::var(SEED_ENV).ok()?.trim().parse().ok()
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Steps per seed (the end checks follow).
    pub steps: usize,
    /// Print every step as it runs.
    pub verbose: bool,
    /// Keep a failing seed's folder (hub and devices) for a look.
    pub keep_failed: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            steps: 60,
            verbose: false,
            keep_failed: false,
        }
    }
}

/// An invariant that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Step (0 = setup; steps + 1 = the end checks).
    pub step: usize,
    /// Which invariant (stable, for counting).
    pub kind: String,
    /// What happened, naming the device, command or entry.
    pub detail: String,
}

/// What one seed did.
#[derive(Debug)]
pub struct SeedReport {
    /// The seed.
    pub seed: u64,
    /// Steps run.
    pub steps: usize,
    /// Invariants that did not hold, in the order found.
    pub violations: Vec<Violation>,
    /// One line per step.
    pub trace: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
    /// The seed's folder, when kept.
    pub kept: Option<PathBuf>,
}

impl SeedReport {
    /// Whether an invariant failed.
    pub fn failed(&self) -> bool {
        !self.violations.is_empty()
    }

    /// A failure report: the seed to replay, the first failing step and
    /// every violation.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{SEED_ENV}={} failed ({} steps, {:.1} s): {} violation(s)\n",
            self.seed,
            self.steps,
            self.elapsed.as_secs_f64(),
            self.violations.len()
        );
        if let Some(v) = self.violations.first() {
            s.push_str(&format!(
                "  first failing step: {}\n",
                self.step_line(v.step)
            ));
        }
        for v in &self.violations {
            s.push_str(&format!("  step {} [{}] {}\n", v.step, v.kind, v.detail));
        }
        if let Some(k) = &self.kept {
            s.push_str(&format!("  folder kept: {}\n", k.display()));
        }
        s
    }

    /// The trace line of `step`.
    pub fn step_line(&self, step: usize) -> String {
        let prefix = format!("{step:>3} ");
        self.trace
            .iter()
            .filter(|l| l.starts_with(&prefix))
            .cloned()
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

/// Runs seeds on copies of one template room (shareable across threads).
#[derive(Debug)]
pub struct Runner {
    template: Template,
}

impl Runner {
    /// Builds the template room (once per process; slow).
    pub fn new() -> Result<Runner> {
        Ok(Runner {
            template: Template::build()?,
        })
    }

    /// Runs one seed on its own runtime. Errors of the harness itself
    /// (not of the system under test) are reported as kind `harness`.
    pub fn run(&self, seed: u64, opts: &Options) -> SeedReport {
        let start = Instant::now();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(8)
            .thread_name("sim")
            .enable_all()
            .build();
        let mut report = match rt {
            Ok(rt) => rt.block_on(run_seed(&self.template, seed, opts)),
            Err(e) => SeedReport {
                seed,
                steps: 0,
                violations: vec![Violation {
                    step: 0,
                    kind: "harness".into(),
                    detail: format!("cannot start a runtime: {e}"),
                }],
                trace: Vec::new(),
                elapsed: Duration::ZERO,
                kept: None,
            },
        };
        report.elapsed = start.elapsed();
        report
    }
}

/// Counts over many seeds.
#[derive(Debug, Default)]
pub struct Summary {
    /// Seeds run.
    pub seeds: usize,
    /// Seeds with a violation.
    pub failed: Vec<u64>,
    /// Per invariant kind: seeds that hit it, and the first such seed with
    /// its place in the run (1-based: "found after n seeds").
    pub kinds: BTreeMap<String, (usize, u64, usize)>,
    /// Total wall time.
    pub elapsed: Duration,
}

impl Summary {
    /// Adds a seed's report.
    pub fn add(&mut self, r: &SeedReport) {
        self.seeds += 1;
        if r.failed() {
            self.failed.push(r.seed);
        }
        let kinds: BTreeSet<&str> = r.violations.iter().map(|v| v.kind.as_str()).collect();
        for k in kinds {
            let n = self.seeds;
            let e = self.kinds.entry(k.to_string()).or_insert((0, r.seed, n));
            e.0 += 1;
        }
    }

    /// The summary, one line per invariant kind.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} seeds in {:.1} s ({:.2} s/seed): {} failed\n",
            self.seeds,
            self.elapsed.as_secs_f64(),
            self.elapsed.as_secs_f64() / self.seeds.max(1) as f64,
            self.failed.len()
        );
        for (k, (n, first, at)) in &self.kinds {
            s.push_str(&format!(
                "  {k}: {n} seed(s); first seed {first} (found after {at} seed(s))\n"
            ));
        }
        s
    }
}

/// Where a command's answer stands, as the simulation follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubState {
    /// In the outbox, not sent.
    Pending,
    /// Sent, the hub acted on it, its answer was lost; what the model
    /// expected then.
    InDoubt(Expect),
    /// Answered.
    Done,
    /// Wiped with the device (revoked) or never queued.
    Void,
}

/// A command submitted through a device's outbox.
#[derive(Debug, Clone)]
pub(crate) struct Sub {
    pub id: CommandId,
    pub cmd: Command,
    /// Short name of the operation (counts violations by it).
    pub label: &'static str,
    pub what: String,
    pub state: SubState,
    /// The hub's answer, once known.
    pub ack: Option<phonghop_core::protocol::CommandAck>,
}

/// A device in the room.
#[derive(Debug)]
pub(crate) struct Dev {
    pub name: String,
    pub person: PersonId,
    pub folder: PathBuf,
    pub client: Option<Arc<Client>>,
    pub link: Link,
    pub revoked: bool,
    /// Could not be reopened: out of the run.
    pub dead: bool,
    pub subs: Vec<Sub>,
    /// Signed commands it sent, for replays.
    pub sent: Vec<SignedCommand>,
}

/// An acknowledged, applied command: what the hub said it appended.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    pub log: String,
    pub seqs: Vec<u64>,
    pub cmd: Command,
    pub what: String,
}

/// One seed's world.
pub(crate) struct Sim<'t> {
    pub t: &'t Template,
    pub seed: u64,
    pub rng: Rng,
    pub opts: Options,
    /// The seed's folder (hub/ and devices/), removed when dropped.
    pub tmp: Option<tempfile::TempDir>,
    /// Its path.
    pub root: PathBuf,
    pub hub: HubProc,
    pub clock: Arc<AtomicI64>,
    pub now_ms: i64,
    pub skew_ms: i64,
    pub devs: Vec<Dev>,
    pub model: Model,
    pub step: usize,
    pub violations: Vec<Violation>,
    seen: BTreeSet<(String, String)>,
    pub trace: Vec<String>,
    /// Applied commands by id.
    pub applied: BTreeMap<CommandId, Applied>,
    /// Entries the secretariat appended: (log key, first seq, last seq).
    pub secretariat: Vec<(String, u64, u64)>,
    pub hub_down_until: Option<usize>,
    pub counter: u64,
    /// Per paper: every string a non-reader must never hold.
    pub markers: Vec<Vec<String>>,
    pub spares_used: Vec<bool>,
    /// A violation that ends the run (the hub cannot go on).
    pub halted: bool,
}

impl std::fmt::Debug for Sim<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("seed", &self.seed)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

async fn run_seed(t: &Template, seed: u64, opts: &Options) -> SeedReport {
    let mut sim = match Sim::new(t, seed, opts).await {
        Ok(s) => s,
        Err(e) => {
            return SeedReport {
                seed,
                steps: 0,
                violations: vec![Violation {
                    step: 0,
                    kind: "harness".into(),
                    detail: format!("{e:#}"),
                }],
                trace: Vec::new(),
                elapsed: Duration::ZERO,
                kept: None,
            }
        }
    };
    let outcome = sim.run().await;
    if let Err(e) = outcome {
        sim.violations.push(Violation {
            step: sim.step,
            kind: "harness".into(),
            detail: format!("{e:#}"),
        });
    }
    // Nothing may outlive the seed: stop the hub, drop the clients.
    sim.hub.kill();
    for d in &mut sim.devs {
        d.client = None;
    }
    let failed = !sim.violations.is_empty();
    let kept = if failed && opts.keep_failed {
        sim.tmp.take().map(tempfile::TempDir::keep)
    } else {
        None
    };
    sim.report(kept)
}

impl<'t> Sim<'t> {
    async fn new(t: &'t Template, seed: u64, opts: &Options) -> Result<Sim<'t>> {
        let tmp = world::sim_tmp(&format!("phonghop-sim-{seed}-"))?;
        let root = tmp.path().to_path_buf();
        world::copy_tree(&t.hub_dir(), &root.join("hub"))?;
        let now_ms = world::PREPARED_AT + 86_400_000;
        let clock = Arc::new(AtomicI64::new(now_ms));
        let mut hub = HubProc::new(&root.join("hub"), clock.clone());
        hub.start()
            .await?
            .map_err(|e| anyhow::anyhow!("the template hub does not start: {e}"))?;
        let mut devs = Vec::new();
        for (person, _) in &t.people {
            let folder = root.join("devices").join(person.as_str());
            world::copy_tree(&t.device_dir(person), &folder)?;
            let link = Link::start(hub.addr()).await?;
            let client = reopen_at(&folder, &link, &t.hub_key).await?;
            devs.push(Dev {
                name: person.to_string(),
                person: person.clone(),
                folder,
                client: Some(Arc::new(client)),
                link,
                revoked: false,
                dead: false,
                subs: Vec::new(),
                sent: Vec::new(),
            });
        }
        let model = Model {
            meeting: MeetingId::new(world::MEETING),
            other: MeetingId::new(world::OTHER),
            other_members: t.other_members.iter().cloned().collect(),
            roles: t.people.iter().cloned().collect(),
            status: MeetingStatus::Published,
            items: t.items.clone(),
            papers: t
                .papers
                .iter()
                .map(|p| model::PaperM {
                    id: p.id.clone(),
                    confidentiality: p.confidentiality.clone(),
                    pages: p.pages.clone(),
                })
                .collect(),
            notes: BTreeMap::new(),
            polls: BTreeMap::new(),
            speakers: BTreeMap::new(),
        };
        let markers = t
            .papers
            .iter()
            .map(|p| {
                let mut m = vec![p.id.to_string(), p.title.clone()];
                m.extend(p.salts.iter().cloned());
                m.extend(p.shas.iter().cloned());
                m
            })
            .collect();
        Ok(Sim {
            t,
            seed,
            rng: Rng::new(seed),
            opts: opts.clone(),
            tmp: Some(tmp),
            root,
            hub,
            clock,
            now_ms,
            skew_ms: 0,
            devs,
            model,
            step: 0,
            violations: Vec::new(),
            seen: BTreeSet::new(),
            trace: Vec::new(),
            applied: BTreeMap::new(),
            secretariat: Vec::new(),
            hub_down_until: None,
            counter: 0,
            markers,
            spares_used: vec![false; t.spares.len()],
            halted: false,
        })
    }

    async fn run(&mut self) -> Result<()> {
        while self.step < self.opts.steps && !self.halted {
            self.step += 1;
            self.now_ms += self.rng.range(200, 5_000);
            self.set_clock();
            if self.hub_down_until.is_some_and(|s| s <= self.step) {
                self.hub_up().await?;
            }
            let t = Instant::now();
            self.one_step().await?;
            if self.step % REOPEN_EVERY == 0 {
                self.hub_replays().await?;
            }
            self.slow(t);
        }
        if !self.halted {
            self.step = self.opts.steps + 1;
            let t = Instant::now();
            self.finish().await?;
            self.slow(t);
        }
        Ok(())
    }

    fn report(&self, kept: Option<PathBuf>) -> SeedReport {
        SeedReport {
            seed: self.seed,
            steps: self.step.min(self.opts.steps),
            violations: self.violations.clone(),
            trace: self.trace.clone(),
            elapsed: Duration::ZERO,
            kept,
        }
    }

    /// The hub's clock: the simulation's time plus the skew.
    pub fn hub_now(&self) -> Timestamp {
        Timestamp(self.now_ms + self.skew_ms)
    }

    pub fn set_clock(&self) {
        self.clock
            .store(self.now_ms + self.skew_ms, Ordering::SeqCst);
    }

    /// Records what a step did.
    pub fn note(&mut self, line: impl Into<String>) {
        let line = format!("{:>3} {}", self.step, line.into());
        if self.opts.verbose {
            eprintln!("{line}");
        }
        self.trace.push(line);
    }

    /// Notes a slow step (wall time is not part of the run's decisions).
    fn slow(&mut self, since: Instant) {
        let ms = since.elapsed().as_millis();
        if ms >= 150 {
            self.note(format!("  (took {ms} ms)"));
        }
    }

    /// Records a violation (once per kind and subject).
    pub fn violate(&mut self, kind: &str, subject: &str, detail: impl Into<String>) {
        if !self.seen.insert((kind.to_string(), subject.to_string())) || self.violations.len() >= 40
        {
            return;
        }
        let detail = detail.into();
        let detail: String = detail.chars().take(600).collect();
        let v = Violation {
            step: self.step,
            kind: kind.to_string(),
            detail: format!("{subject}: {detail}"),
        };
        if self.opts.verbose {
            eprintln!("    !! [{}] {}", v.kind, v.detail);
        }
        self.violations.push(v);
    }

    /// A fresh id suffix.
    pub fn fresh(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// Whether device `i` can reach the hub now.
    pub fn reachable(&self, i: usize) -> bool {
        self.hub.is_running() && self.devs[i].link.mode() == net::LinkMode::Up
    }

    /// Live devices (not dead).
    pub fn live(&self) -> Vec<usize> {
        (0..self.devs.len())
            .filter(|i| !self.devs[*i].dead)
            .collect()
    }

    /// The role of device `i`'s person.
    pub fn role(&self, i: usize) -> Role {
        self.model
            .role(&self.devs[i].person)
            .unwrap_or(Role::Observer)
    }

    /// The hub's database replays (chain, signatures, reducer) as a
    /// restart would: what the hub accepted live, it accepts again.
    async fn hub_replays(&mut self) -> Result<()> {
        let db = self.root.join("hub").join("hub.db");
        let opened =
            tokio::task::spawn_blocking(move || phonghop_store::Store::open(&db).map(|_| ()))
                .await?;
        if let Err(e) = opened {
            self.violate(
                "hub_reopen",
                "hub.db",
                format!("the hub's database no longer replays: {e}"),
            );
        }
        Ok(())
    }

    /// Starts the hub if it is down; a hub that does not start halts the run.
    pub async fn hub_up(&mut self) -> Result<()> {
        self.hub_down_until = None;
        if self.hub.is_running() {
            return Ok(());
        }
        if let Err(e) = self.hub.start().await? {
            self.violate(
                "hub_reopen",
                "hub",
                format!("the hub does not start again: {e}"),
            );
            self.halted = true;
        }
        self.note("hub started");
        Ok(())
    }
}

/// Points a device folder's pairing at its link and opens it.
pub(crate) async fn reopen_at(
    folder: &std::path::Path,
    link: &Link,
    hub_key: &PublicKey,
) -> Result<Client> {
    let folder = folder.to_path_buf();
    let addr = link.addr;
    let key = *hub_key;
    tokio::task::spawn_blocking(move || {
        let mut d = phonghop_client::ClientDir::open(&folder)?;
        let mut p = d.pairing()?.context("the template device is not paired")?;
        p.address = addr.to_string();
        p.base_url = format!("http://{addr}");
        d.set_pairing(&p, &key)?;
        drop(d);
        Ok::<_, anyhow::Error>(Client::open(&folder)?)
    })
    .await?
}
