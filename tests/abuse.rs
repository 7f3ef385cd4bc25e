//! Abuse limits (issue 10, item 7).
//!
//! 1. A flood of 10,000 pairing and sign-in requests from one address while
//!    a poll runs: every ballot is still acknowledged within 1 s — with no
//!    per-address limit (a hub on loopback: the flood only meets the cheap
//!    checks, none of which waits for the hub lock), and with it (the flood
//!    from its own address is answered `429 rate_limited` with
//!    `Retry-After`, the room's devices are not). The device whose id the
//!    flood asks challenges for can still sign in afterwards.
//! 2. Invite codes: 80 bits in four groups of Crockford base32, typed
//!    forgivingly; cancelled (by person or by code) and expired codes are
//!    refused with their own code; a plain-HTTP invite to another computer
//!    is refused by the client, naming the host.

use anyhow::{Context, Result};
use futures_util::StreamExt;
use phonghop_client::{Client, ClientError};
use phonghop_core::protocol::{ChallengeRequest, CommandOutcome, PairRequest, SessionRequest};
use phonghop_core::sign::context;
use phonghop_core::*;
use phonghop_hub::server::{self, Limits, ServerConfig};
use phonghop_hub::HubError;
use phonghop_tests::hub::{delegate, now, TestHub, CHAIR};
use phonghop_tests::raw::RawDevice;
use phonghop_tests::voting::{ack_of, ballot, create_and_open, join_all_at, NewPoll};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests in the flood.
const FLOOD: usize = 10_000;
/// Flood requests in flight at once.
const FLOOD_AT_ONCE: usize = 32;
/// Delegates voting (with the chair: 16 devices, 48 pairing and sign-in
/// requests from 127.0.0.1, inside one address's default burst of 60).
const DELEGATES: usize = 15;
/// The bound on each ballot's acknowledgment.
const ACK_LIMIT: Duration = Duration::from_secs(1);
/// Generous bound for what is not under test.
const LIMIT: Duration = Duration::from_secs(120);

/// The hub served on its own runtime (as a separate process would be), on a
/// fixed port so the devices' pairings stay valid across restarts.
struct Served {
    rt: Option<tokio::runtime::Runtime>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Served {
    fn start(data: &std::path::Path, port: u16, limits: Limits) -> Result<(Served, SocketAddr)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", port)) {
                Ok(l) => break l,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => return Err(e).context("cannot bind the hub's port"),
            }
        };
        let addr = listener.local_addr()?;
        let mut config = ServerConfig::new(data);
        config.inbox = false;
        config.pdf_worker = None;
        config.limits = limits;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("abuse-hub")
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) = server::run(listener, config, shutdown).await {
                eprintln!("hub stopped with an error: {e}");
            }
        });
        Ok((
            Served {
                rt: Some(rt),
                _stop: stop,
            },
            addr,
        ))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            let t = std::thread::spawn(move || rt.shutdown_timeout(Duration::from_secs(5)));
            let _ = t.join();
        }
    }
}

/// A plain-HTTP reqwest client sending from `from` (reqwest is built
/// without a default TLS provider, so it gets an empty rustls config).
fn http_from(from: IpAddr) -> Result<reqwest::Client> {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .local_address(from)
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(FLOOD_AT_ONCE)
        .build()?)
}

/// A well-formed invite code nobody was given.
fn random_code(i: usize) -> String {
    const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let h = Hash::of(format!("flood-{i}").as_bytes()).to_hex();
    let s: String = h
        .bytes()
        .take(16)
        .zip(h.bytes().skip(16))
        .map(|(a, b)| char::from(CROCKFORD[usize::from(a ^ b) % 32]))
        .collect();
    format!("{}-{}-{}-{}", &s[..4], &s[4..8], &s[8..12], &s[12..])
}

/// What the flood got back.
#[derive(Debug, Default)]
struct FloodReport {
    /// (status, code) → count.
    answers: BTreeMap<(u16, String), usize>,
    /// 429s without a usable Retry-After.
    without_retry_after: usize,
    /// Transport failures.
    failed: usize,
    took: Duration,
}

impl FloodReport {
    fn count(&self, status: u16) -> usize {
        self.answers
            .iter()
            .filter(|((s, _), _)| *s == status)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Sends [`FLOOD`] pairing and sign-in requests from `from` to `hub`:
/// pairing with made-up codes, challenges for `victim` (a real device)
/// and for unknown devices, sessions with made-up nonces.
async fn flood(
    from: IpAddr,
    hub: SocketAddr,
    victim: DeviceId,
    sent: Arc<AtomicUsize>,
) -> Result<FloodReport> {
    let http = http_from(from)?;
    let base = format!("http://{hub}");
    let key = SecretKey::from_seed([77; 32]);
    let started = Instant::now();
    let one = |i: usize| {
        let (path, body) = match i % 10 {
            0..=3 => (
                "/v1/pair",
                serde_json::to_value(PairRequest {
                    code: random_code(i),
                    public_key: key.public(),
                    label: "máy lạ".into(),
                }),
            ),
            4..=6 => (
                "/v1/auth/challenge",
                serde_json::to_value(ChallengeRequest {
                    device: victim.clone(),
                }),
            ),
            7 | 8 => (
                "/v1/auth/challenge",
                serde_json::to_value(ChallengeRequest {
                    device: DeviceId::new(format!("dev-gia-{i}")),
                }),
            ),
            _ => (
                "/v1/auth/session",
                serde_json::to_value(SessionRequest {
                    device: victim.clone(),
                    nonce: Hash::of(format!("nonce-{i}").as_bytes()).to_hex(),
                    signature: key.sign(context::AUTH, b"flood"),
                }),
            ),
        };
        let req = http.post(format!("{base}{path}"));
        let sent = sent.clone();
        async move {
            let resp = req.json(&body?).send().await;
            sent.fetch_add(1, Ordering::Relaxed);
            let resp = resp?;
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            let code = body["code"].as_str().unwrap_or("").to_string();
            anyhow::Ok((status, code, retry_after))
        }
    };
    let mut report = FloodReport::default();
    let mut answers = futures_util::stream::iter(0..FLOOD)
        .map(one)
        .buffer_unordered(FLOOD_AT_ONCE);
    while let Some(a) = answers.next().await {
        match a {
            Ok((status, code, retry_after)) => {
                if status == 429 && retry_after.is_none_or(|s| s == 0) {
                    report.without_retry_after += 1;
                }
                *report.answers.entry((status, code)).or_default() += 1;
            }
            Err(_) => report.failed += 1,
        }
    }
    report.took = started.elapsed();
    Ok(report)
}

/// Opens poll `poll` and has every voter cast a ballot, all at once, once
/// the flood is under way; returns each ballot's submit → acknowledgment
/// time.
async fn poll_during(
    chair: &Client,
    voters: &[Client],
    poll: &str,
    sent: &AtomicUsize,
) -> Result<Vec<Duration>> {
    while sent.load(Ordering::Relaxed) < FLOOD / 10 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    create_and_open(chair, &NewPoll::named(poll, "Thông qua nghị quyết?")).await?;
    let ballots = voters.iter().map(|c| async move {
        let started = Instant::now();
        let id = c.submit(ballot(poll, 0)).await?;
        c.flush_outbox().await?;
        let took = started.elapsed();
        let ack = ack_of(c, &id)
            .await?
            .context("a ballot was not acknowledged")?;
        anyhow::ensure!(
            matches!(ack.outcome, CommandOutcome::Applied { .. }),
            "a ballot was refused: {ack:?}"
        );
        anyhow::Ok(took)
    });
    let took: Vec<Duration> = futures_util::future::try_join_all(ballots).await?;
    anyhow::ensure!(
        sent.load(Ordering::Relaxed) < FLOOD,
        "the flood ended before the poll: nothing was measured under load"
    );
    Ok(took)
}

fn check_acks(phase: &str, took: &[Duration]) {
    let worst = took.iter().max().copied().unwrap_or_default();
    println!(
        "{phase}: {} ballots, slowest acknowledged in {worst:?}",
        took.len()
    );
    assert!(
        took.iter().all(|t| *t <= ACK_LIMIT),
        "{phase}: a ballot took longer than {ACK_LIMIT:?} to be acknowledged: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_pairing_and_sign_in_does_not_hold_up_a_poll() -> Result<()> {
    let mut hub = TestHub::with_meeting(DELEGATES, &[], true)?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();

    // --- Without a per-address limit (a hub on loopback): only the cheap
    // checks stand between the flood and the hub.
    let (served, addr) = Served::start(&hub.data, port, Limits::default())?;
    let people: Vec<String> = (1..=DELEGATES).map(delegate).collect();
    let chair_dir = hub.client_dir(CHAIR);
    let chair = Client::join(&chair_dir, &hub.invite_at(CHAIR, addr)?, "Máy chủ tọa").await?;
    let voters = join_all_at(&mut hub, &people, addr).await?;
    for c in voters.iter().chain([&chair]) {
        c.sync_once().await?;
    }
    let victim = voters[0].pairing().device.clone();
    let sent = Arc::new(AtomicUsize::new(0));
    let flooding = tokio::spawn(flood(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        addr,
        victim.clone(),
        sent.clone(),
    ));
    let took = tokio::time::timeout(
        LIMIT,
        poll_during(&chair, &voters, "p-khong-gioi-han", &sent),
    )
    .await??;
    let report = tokio::time::timeout(LIMIT, flooding).await???;
    println!("no address limit: {report:?}");
    check_acks("no address limit", &took);
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(report.count(500) + report.count(503), 0, "{report:?}");
    assert_eq!(
        report.answers.values().sum::<usize>(),
        FLOOD,
        "every request was answered: {report:?}"
    );
    drop(served);

    // --- With it: the flood comes from its own address (127.0.0.2, as an
    // intruder's laptop would), the room's devices from 127.0.0.1.
    let limits = Limits {
        per_ip_on_loopback: true,
        ..Limits::default()
    };
    let (served, addr) = Served::start(&hub.data, port, limits)?;
    for c in voters.iter().chain([&chair]) {
        c.sync_once().await?;
    }
    let sent = Arc::new(AtomicUsize::new(0));
    let flooding = tokio::spawn(flood(
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
        addr,
        victim.clone(),
        sent.clone(),
    ));
    let took =
        tokio::time::timeout(LIMIT, poll_during(&chair, &voters, "p-gioi-han", &sent)).await??;
    let report = tokio::time::timeout(LIMIT, flooding).await???;
    println!("address limit: {report:?}");
    check_acks("address limit", &took);
    assert_eq!(report.failed, 0, "{report:?}");
    let limited = report
        .answers
        .get(&(429, "rate_limited".to_string()))
        .copied()
        .unwrap_or(0);
    assert_eq!(
        limited,
        report.count(429),
        "every 429 says rate_limited: {report:?}"
    );
    assert!(
        limited >= FLOOD * 9 / 10,
        "most of the flood was turned away at the door: {report:?}"
    );
    assert_eq!(
        report.without_retry_after, 0,
        "every 429 says when to retry: {report:?}"
    );
    assert_eq!(report.count(500) + report.count(503), 0, "{report:?}");

    // The device whose challenges the flood asked for signs in as usual.
    let mut raw = RawDevice::of(&voters[0], addr);
    let a = raw.sign_in().await?;
    assert!(a.status.is_success(), "the victim could not sign in: {a:?}");
    drop(served);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_codes_are_long_forgiving_cancellable_and_expire() -> Result<()> {
    let mut hub = TestHub::with_meeting(4, &[], false)?;
    hub.start()?;
    let addr = hub.addr();
    // The hub is the folder's one writer: the secretariat's writes go through it.
    let code = hub.write(|h| h.create_invite(&delegate(1), 3_600_000, now()))?;
    // 80 bits: 16 symbols of Crockford base32 in four groups of four.
    let groups: Vec<&str> = code.split('-').collect();
    assert_eq!(groups.len(), 4, "{code}");
    assert!(
        groups.iter().all(|g| g.len() == 4
            && g.bytes()
                .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))),
        "{code}: no I, L, O or U"
    );
    assert_ne!(
        code,
        hub.write(|h| h.create_invite(&delegate(1), 3_600_000, now()))?
    );

    // Typed forgivingly: lower case, no dashes, O for 0 and l for 1.
    let typed: String = code
        .chars()
        .filter(|c| *c != '-')
        .map(|c| match c {
            '0' => 'o',
            '1' => 'l',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let folder = hub.client_dir(&delegate(1));
    let c = Client::join(&folder, &format!("phonghop:{typed}@{addr}"), "Máy 1").await?;
    assert_eq!(c.pairing().person.as_str(), delegate(1).as_str());

    let root = hub.root().join("clients");
    let join = |code: String, n: usize| {
        let folder = root.join(format!("moi-{n}"));
        async move { Client::join(&folder, &format!("phonghop:{code}@{addr}"), "Máy").await }
    };
    let refused = |r: Result<Client, ClientError>| match r {
        Err(ClientError::Hub { code, .. }) => code,
        Err(e) => format!("other error: {e}"),
        Ok(_) => "paired".into(),
    };

    // Cancelled by person: every unused code of theirs.
    let a = hub.write(|h| h.create_invite(&delegate(2), 3_600_000, now()))?;
    let b = hub.write(|h| h.create_invite(&delegate(2), 3_600_000, now()))?;
    assert_eq!(hub.write(|h| h.cancel_invites(&delegate(2), now()))?, 2);
    assert_eq!(refused(join(a, 1).await), "invite_cancelled");
    assert_eq!(refused(join(b, 2).await), "invite_cancelled");
    // Cancelled by code: only that one.
    let c3 = hub.write(|h| h.create_invite(&delegate(3), 3_600_000, now()))?;
    let keep = hub.write(|h| h.create_invite(&delegate(3), 3_600_000, now()))?;
    assert_eq!(
        hub.write(|h| h.cancel_invites(&c3.to_lowercase(), now()))?,
        1
    );
    assert_eq!(refused(join(c3, 3).await), "invite_cancelled");
    assert_eq!(refused(join(keep, 4).await), "paired");
    // A used code is not cancelled; nonsense is not silently accepted.
    assert_eq!(
        hub.write(|h| h.cancel_invites(&delegate(1), now()))?,
        1,
        "the other unused one"
    );
    let e = hub
        .write(|h| Ok::<_, HubError>(h.cancel_invites("khong-co-ai", now())))?
        .unwrap_err();
    assert_eq!(e.code(), "unknown_invite", "{e}");
    // Expired.
    let old = hub.write(|h| h.create_invite(&delegate(4), 1, Timestamp(0)))?;
    assert_eq!(refused(join(old, 5).await), "invite_expired");
    // Too short to be a code: refused before the hub looks anything up.
    assert_eq!(
        refused(join("ABCD-EFGH-JKMN".into(), 6).await),
        "invite_unknown"
    );

    // Plain HTTP to another computer: refused by the client, before any
    // connection (192.0.2.1 is TEST-NET-1: nothing is sent there).
    let folder = root.join("khong-ma-hoa");
    let r = Client::join(&folder, &format!("phonghop:{code}@192.0.2.1:8080"), "Máy").await;
    let e = r.unwrap_err();
    assert_eq!(e.code(), "plain_http_refused", "{e}");
    assert!(
        e.to_string().contains("192.0.2.1"),
        "the error names the host: {e}"
    );
    Ok(())
}
