//! `phonghop bench vote --clients 500`: how fast a vote reaches every
//! device and its result comes back, with one live WebSocket per device.
//!
//! 1. A temporary hub gets a meeting in session with `--clients`
//!    delegates and a chair; each delegate is a real [`Client`] (own
//!    folder, own device key, paired over HTTP) running its live loop
//!    (`Client::run`); the chair sends commands through its outbox.
//! 2. **Open → visible**: the chair opens a prepared poll; for each device,
//!    the time from sending `open_poll` until its local state shows the
//!    poll open (watched through `changes()`).
//! 3. Every device votes at once (through its outbox and live loop); once the last
//!    ballot is in, the chair closes the poll. **Last ballot → result**:
//!    for each device, the time from the last ballot's acknowledgment until
//!    its local state shows the closed poll with its outcome.
//! 4. **Ballot signatures**: `verify_strict` over the poll's signed ballots
//!    (as `phonghop audit` does), in a tight loop, per second.
//!
//! Goals (500 devices, release, this 2-core machine): open → all devices
//! p99 ≤ 25 ms; 500 ballots sent in one burst all acknowledged within 1 s,
//! each ballot's ack p99 ≤ 100 ms; last ballot → result on all devices
//! p99 ≤ 25 ms. Devices, hub and chair share this machine's CPU and disk.

use anyhow::{ensure, Context, Result};
use clap::Args;
use futures_util::{StreamExt, TryStreamExt};
use phonghop_client::{Client, Connection};
use phonghop_core::protocol::{Command, SignedCommand};
use phonghop_core::vote::MajorityRule;
use phonghop_core::*;
use phonghop_hub::server::{self, ServerConfig};
use phonghop_hub::{HubDir, NewMeeting, NewPerson};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `phonghop bench vote` options.
#[derive(Debug, Args)]
pub struct VoteArgs {
    /// Devices (delegates), each with its own live WebSocket.
    #[arg(long, default_value_t = 500)]
    clients: usize,
    /// Signature verifications in the tight loop.
    #[arg(long, default_value_t = 20_000)]
    verify: usize,
    /// Threads for the devices' blocking work (their SQLite stores).
    #[arg(long, default_value_t = 2)]
    device_threads: usize,
    /// Work folder (default: a temporary folder, removed afterwards).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

const MEETING: &str = "bench-vote";
const POLL: &str = "nq-bench";
const LIMIT: Duration = Duration::from_secs(120);

/// Runs the benchmark.
pub fn run(args: VoteArgs) -> Result<()> {
    let work = crate::bench_render::WorkDir::new(args.dir.as_deref())?;
    // In a room the hub is its own machine: here it gets its own runtime
    // and threads, so the simulated devices' work does not queue the hub's
    // blocking tasks (SQLite, the lock) behind theirs.
    let hub = crate::net_cmd::runtime()?;
    // The devices' blocking work (each device's SQLite) on a few threads:
    // one per core does the same work as one per device, without 500
    // threads sharing two cores.
    let devices = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(args.device_threads.max(1))
        .build()
        .context("cannot start the devices' runtime")?;
    devices.block_on(bench(&args, hub.handle(), work.path()))
}

fn delegate(n: usize) -> String {
    format!("dai-bieu-{n}")
}

fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    )
}

/// The hub folder: chair + `n` delegates in a meeting in session; returns
/// one invite code per person (chair first).
fn prepare(data: &Path, n: usize) -> Result<Vec<String>> {
    let mut hub = HubDir::init(data)?;
    let people: Vec<String> = std::iter::once("chu-toa".to_string())
        .chain((1..=n).map(delegate))
        .collect();
    for p in &people {
        hub.add_person(NewPerson {
            id: Some(p.clone()),
            name: format!("Đại biểu {p}"),
            title: None,
            unit: None,
        })?;
    }
    hub.create_meeting(
        NewMeeting {
            id: Some(MEETING.into()),
            body: "HĐND tỉnh Sơn Hà".into(),
            title: "Kỳ họp đo tốc độ biểu quyết".into(),
            starts_at: None,
            place: None,
        },
        now(),
    )?;
    for (i, p) in people.iter().enumerate() {
        let role = if i == 0 { Role::Chair } else { Role::Delegate };
        hub.add_member(MEETING, p, role)?;
    }
    hub.add_agenda_item(MEETING, "1", "Biểu quyết nghị quyết", None, None)?;
    hub.publish(MEETING, now())?;
    // Everyone checked in: the session opens at quorum and no ballot has
    // to check its voter in first.
    let mut opening: Vec<Event> = people
        .iter()
        .map(|p| Event::AttendanceRecorded {
            person: PersonId::new(p),
            present: true,
            at: now(),
        })
        .collect();
    opening.push(Event::SessionStarted { at: now() });
    hub.append(&LogId::Meeting(MeetingId::new(MEETING)), &opening)?;
    let mut codes = Vec::new();
    for p in &people {
        codes.push(hub.create_invite(p, 3_600_000, now())?);
    }
    Ok(codes)
}

fn poll_of(c: &Client) -> Option<Poll> {
    let dir = c.dir();
    let d = dir.lock().unwrap_or_else(|p| p.into_inner());
    d.store()
        .state()
        .meetings
        .get(&MeetingId::new(MEETING))?
        .polls
        .get(&PollId::new(POLL))
        .cloned()
}

/// Waits until `pred` holds for the device's poll; returns when it saw it.
/// A look costs a map lookup: taken on the runtime thread when the
/// device's folder is free (right after the apply that woke us, it is),
/// else off the runtime, as the app's reads are: blocking a runtime
/// thread on a folder while its device applies a batch stalled the
/// runtime the devices share, and queueing every look behind every
/// device's apply timed the queue, not the device.
async fn until(c: Arc<Client>, pred: fn(&Poll) -> bool) -> Instant {
    let mut changes = c.changes();
    let holds = move |d: &phonghop_client::ClientDir| {
        d.store()
            .state()
            .meetings
            .get(&MeetingId::new(MEETING))
            .and_then(|m| m.polls.get(&PollId::new(POLL)))
            .is_some_and(pred)
    };
    loop {
        let dir = c.dir();
        let quick = dir.try_lock().ok().map(|d| holds(&d));
        let seen = match quick {
            Some(seen) => seen,
            None => c.with_dir(move |d| holds(d)).await,
        };
        if seen {
            return Instant::now();
        }
        if changes.changed().await.is_err() {
            return Instant::now();
        }
    }
}

fn stats(label: &str, start: Instant, seen: &[Instant], goal_ms: f64) {
    let mut ms: Vec<f64> = seen
        .iter()
        .map(|t| t.saturating_duration_since(start).as_secs_f64() * 1000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    let p99 = pct(0.99);
    println!(
        "{label}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} devices (goal p99 ≤ {goal_ms} ms: {})",
        pct(0.5),
        p99,
        ms[ms.len() - 1],
        ms.len(),
        if p99 <= goal_ms { "met" } else { "MISSED" }
    );
}

async fn chair_does(chair: &Client, command: Command) -> Result<()> {
    let id = chair.submit(command).await?;
    chair.flush_outbox().await?;
    let ack = chair
        .with_dir(move |d| d.ack_of(&id))
        .await?
        .context("the chair's command was not answered")?;
    ensure!(
        matches!(
            ack.outcome,
            phonghop_core::protocol::CommandOutcome::Applied { .. }
        ),
        "the hub refused the chair's command: {ack:?}"
    );
    Ok(())
}

async fn bench(args: &VoteArgs, hub_rt: &tokio::runtime::Handle, work: &Path) -> Result<()> {
    let n = args.clients;
    ensure!(n > 0, "--clients must be at least 1");
    let data = work.join("hub");
    let t = Instant::now();
    let codes = prepare(&data, n)?;
    println!(
        "hub: {n} delegates + chair in a meeting in session ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut config = ServerConfig::new(&data);
    config.inbox = false;
    config.pdf_worker = None;
    let (stop_hub, hub_stopped) = tokio::sync::oneshot::channel::<()>();
    let served = hub_rt.spawn(server::run(listener, config, async move {
        let _ = hub_stopped.await;
    }));

    let t = Instant::now();
    let joins = codes.iter().enumerate().map(|(i, code)| {
        let invite = format!("phonghop:{code}@{addr}");
        let folder = work.join("devices").join(format!("d{i}"));
        async move {
            Client::join(&folder, &invite, &format!("Máy số {i}"))
                .await
                .map(Arc::new)
        }
    });
    let mut all: Vec<Arc<Client>> = futures_util::stream::iter(joins)
        .buffered(16)
        .try_collect()
        .await?;
    let chair = all.remove(0);
    chair.sync_once().await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut loops = Vec::new();
    for c in &all {
        loops.push(tokio::spawn(c.clone().run(stopped.clone())));
    }
    for c in &all {
        let mut conn = c.connection();
        tokio::time::timeout(LIMIT, conn.wait_for(|s| *s == Connection::Online))
            .await
            .context("a device did not come online")??;
    }
    println!(
        "devices: {n} paired, synced and live ({:.1} s)",
        t.elapsed().as_secs_f64()
    );

    let meeting = MeetingId::new(MEETING);
    chair_does(
        &chair,
        Command::CreatePoll {
            meeting: meeting.clone(),
            poll: PollId::new(POLL),
            item: None,
            question: "Thông qua Nghị quyết (đo tốc độ)?".into(),
            options: vec![
                "Tán thành".into(),
                "Không tán thành".into(),
                "Không biểu quyết".into(),
            ],
            secret: false,
            rule: MajorityRule::MORE_THAN_HALF_OF_ALL,
            closes_at: None,
        },
    )
    .await?;
    let created: Vec<_> = all
        .iter()
        .map(|c| tokio::spawn(until(c.clone(), |_| true)))
        .collect();
    tokio::time::timeout(LIMIT, futures_util::future::try_join_all(created))
        .await
        .context("the poll did not reach every device")??;

    // Open → visible on every device.
    let watchers: Vec<_> = all
        .iter()
        .map(|c| tokio::spawn(until(c.clone(), |p| p.status == PollStatus::Open)))
        .collect();
    let opened = Instant::now();
    chair_does(
        &chair,
        Command::OpenPoll {
            meeting: meeting.clone(),
            poll: PollId::new(POLL),
            override_quorum: false,
        },
    )
    .await?;
    let seen = tokio::time::timeout(LIMIT, futures_util::future::try_join_all(watchers))
        .await
        .context("the open poll did not reach every device")??;
    stats("open → poll visible on device", opened, &seen, 25.0);

    // Everyone votes at once (one burst, as a hall does when the chair
    // opens a poll): each device queues its ballot in its outbox and its
    // live loop sends it. Per ballot: queued → acknowledged on that device.
    let t = Instant::now();
    let acked: Vec<_> = all
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let c = c.clone();
            let meeting = meeting.clone();
            tokio::spawn(async move {
                let mut changes = c.changes();
                let queued = Instant::now();
                let id = c
                    .submit(Command::CastBallot {
                        meeting,
                        poll: PollId::new(POLL),
                        choice: u32::from(i % 4 == 3),
                    })
                    .await?;
                loop {
                    let id2 = id.clone();
                    if c.with_dir(move |d| d.ack_of(&id2))
                        .await
                        .ok()
                        .flatten()
                        .is_some()
                    {
                        return Ok::<_, anyhow::Error>((queued, Instant::now()));
                    }
                    if changes.changed().await.is_err() {
                        return Ok((queued, Instant::now()));
                    }
                }
            })
        })
        .collect();
    let acks = tokio::time::timeout(LIMIT, futures_util::future::try_join_all(acked))
        .await
        .context("not every ballot was acknowledged")??
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let last_ballot = acks
        .iter()
        .map(|(_, a)| *a)
        .max()
        .unwrap_or_else(Instant::now);
    let burst_ms = last_ballot.duration_since(t).as_secs_f64() * 1000.0;
    println!(
        "ballots: {n} sent in one burst through outboxes and live loops, all acknowledged in {burst_ms:.0} ms (goal ≤ 1000 ms: {})",
        if burst_ms <= 1000.0 { "met" } else { "NOT met" }
    );
    let mut each: Vec<f64> = acks
        .iter()
        .map(|(q, a)| a.saturating_duration_since(*q).as_secs_f64() * 1000.0)
        .collect();
    each.sort_by(f64::total_cmp);
    let pct = |p: f64| each[((each.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "ballot queued → acknowledged on its device: p50 {:.1} ms, p99 {:.1} ms (goal p99 ≤ 100 ms: {})",
        pct(0.5),
        pct(0.99),
        if pct(0.99) <= 100.0 { "met" } else { "NOT met" }
    );
    let watchers: Vec<_> = all
        .iter()
        .map(|c| {
            tokio::spawn(until(c.clone(), |p| {
                p.status == PollStatus::Closed && p.outcome.is_some()
            }))
        })
        .collect();
    let closing = Instant::now();
    chair_does(
        &chair,
        Command::ClosePoll {
            meeting: meeting.clone(),
            poll: PollId::new(POLL),
            override_quorum: false,
            // The chair, a voting member too, casts no ballot here: it
            // confirms closing without its own (the hub asks otherwise).
            confirm_missing: true,
        },
    )
    .await?;
    let seen = tokio::time::timeout(LIMIT, futures_util::future::try_join_all(watchers))
        .await
        .context("the result did not reach every device")??;
    stats("last ballot → result on device", last_ballot, &seen, 25.0);
    stats("(close sent → result on device)", closing, &seen, 25.0);
    let p = poll_of(&all[0]).context("poll")?;
    let expect_against = (1..=n).filter(|i| i % 4 == 0).count() as u32;
    ensure!(
        p.counts[0] + p.counts[1] == n as u32 && p.counts[1] == expect_against,
        "counts {:?}",
        p.counts
    );
    println!("result: {:?}, {:?}", p.counts, p.outcome);

    let _ = stop.send(true);
    for l in loops {
        let _ = tokio::time::timeout(Duration::from_secs(10), l).await;
    }
    let _ = stop_hub.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), served).await;

    // Ballot signatures, as the audit checks them.
    let hub = HubDir::open_read_only(&data)?;
    let state = hub.store().state();
    let mut signed: Vec<(SignedCommand, PublicKey)> = Vec::new();
    for e in hub.store().entries(&LogId::Meeting(meeting.clone()), 0)? {
        if let Ok(Some(Event::BallotCast {
            proof: Some(proof), ..
        })) = e.event()
        {
            let key = state
                .directory
                .devices
                .get(&proof.body.device)
                .context("a ballot by an unknown device")?
                .public_key;
            signed.push((*proof, key));
        }
    }
    ensure!(
        signed.len() == n,
        "{} signed ballots in the log",
        signed.len()
    );
    let t = Instant::now();
    for k in 0..args.verify {
        let (cmd, key) = &signed[k % signed.len()];
        ensure!(
            cmd.verify(key).is_ok(),
            "a ballot signature does not verify"
        );
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "ballot signatures: {} verify_strict (canonical JSON + Ed25519) in {:.2} s = {:.0}/s",
        args.verify,
        secs,
        args.verify as f64 / secs
    );
    Ok(())
}
