//! `phonghop bench sync --clients 100 --pack-mb 200`: how fast the hub
//! hands a meeting pack to many devices at once, against a plain static
//! file server on the same files, in the same run; then what one device
//! downloads when one paper changes.
//!
//! 1. A temporary hub gets a published meeting with `--clients` delegates
//!    and papers totalling `--pack-mb` (real PDFs: each page shows one
//!    large uncompressed image, so sizes are exact; one paper is
//!    `--update-mb`).
//! 2. **Hub**: the hub runs on loopback; `--clients` real [`Client`]s are
//!    paired and pull the log (not timed); then all fetch the pack at once
//!    (timed). They run with `discard_blobs(true)`: each blob is written,
//!    fsynced and hash-verified as usual, then deleted — 100 copies of the
//!    pack do not fit a laptop disk.
//! 3. **Baseline**: tower-http's `ServeDir` over the hub's own blob folder,
//!    fetched by as many reqwest clients doing the same work per blob
//!    (same order, same 3 blobs at a time per client, whole-file GETs, the
//!    same `BlobStore` partial-file write + fsync + verify, then delete).
//!    The ratio hub / baseline is the figure (goal ≥ 0.9).
//! 4. **Update**: one more device keeps its blobs; after a full sync the
//!    `--update-mb` paper gets a new version; the bytes that device then
//!    downloads are printed (goal ≤ 1.05 × the paper).
//!
//! Everything runs in one process on one machine: clients and servers share
//! the CPU, so the absolute MB/s are the machine's, the ratio is the point.

use crate::admin;
use anyhow::{Context, Result};
use clap::Args;
use futures_util::StreamExt;
use phonghop_client::Client;
use phonghop_core::*;
use phonghop_hub::server::{self, ServerConfig};
use phonghop_hub::{HubDir, NewMeeting, NewPaper, NewPerson};
use phonghop_store::BlobStore;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `phonghop bench sync` options.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Devices fetching the pack at once.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Size of the meeting pack in MB (10^6 bytes).
    #[arg(long, default_value_t = 200)]
    pack_mb: u64,
    /// How many papers besides the one that is updated.
    #[arg(long, default_value_t = 8)]
    papers: u64,
    /// Size of the paper that gets a new version, in MB.
    #[arg(long, default_value_t = 5)]
    update_mb: u64,
    /// Work folder (default: a temporary folder, removed afterwards).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

const MB: f64 = 1e6;
const MEETING: &str = "bench-sync";
/// Blobs in flight per device (as the client does).
const PARALLEL: usize = 3;

/// Runs the benchmark.
pub fn run(args: SyncArgs) -> Result<()> {
    let work = crate::bench_render::WorkDir::new(args.dir.as_deref())?;
    crate::net_cmd::runtime()?.block_on(bench(&args, work.path()))
}

fn paper<'a>(file: &'a Path, analysis: &'a phonghop_pdf::Analysis) -> NewPaper<'a> {
    NewPaper {
        file,
        analysis,
        item_number: Some("1"),
        title: None,
        confidentiality: Confidentiality::Members,
    }
}

/// Builds the hub: people, meeting, papers; returns the updated paper's id.
fn build_hub(args: &SyncArgs, data: &Path, pdfs: &Path) -> Result<(DocumentId, u64)> {
    std::fs::create_dir_all(pdfs)?;
    let mut hub = HubDir::init(data)?;
    let now = crate::time::now();
    let person = |id: String| NewPerson {
        id: Some(id.clone()),
        name: format!("Đại biểu {id}"),
        title: None,
        unit: None,
    };
    hub.add_person(person("chu-toa".into()))?;
    hub.create_meeting(
        NewMeeting {
            id: Some(MEETING.into()),
            body: "HĐND tỉnh Sơn Hà".into(),
            title: "Kỳ họp đo tốc độ đồng bộ".into(),
            starts_at: None,
            place: None,
        },
        now,
    )?;
    hub.add_member(MEETING, "chu-toa", Role::Chair)?;
    for n in 0..=args.clients {
        let id = format!("dai-bieu-{n}");
        hub.add_person(person(id.clone()))?;
        hub.add_member(MEETING, &id, Role::Delegate)?;
    }
    hub.add_agenda_item(MEETING, "1", "Các tờ trình", None, None)?;
    let update_bytes = args.update_mb * 1_000_000;
    let rest = (args.pack_mb * 1_000_000).saturating_sub(update_bytes);
    let each = rest / args.papers.max(1);
    let mut updated = None;
    for i in 0..=args.papers {
        let (bytes, name) = if i == 0 {
            (update_bytes, "to-trinh-cap-nhat".to_string())
        } else {
            (each, format!("phu-luc-{i}"))
        };
        let file = pdfs.join(format!("{name}.pdf"));
        phonghop_pdf::noise_image_pdf(&file, bytes, 0x1000 + i)?;
        let analysis = admin::analyze(&file)?;
        let id = hub.add_paper(MEETING, paper(&file, &analysis), now)?;
        std::fs::remove_file(&file)?;
        if i == 0 {
            updated = Some(id);
        }
    }
    hub.publish(MEETING, now)?;
    Ok((updated.context("no paper to update")?, update_bytes))
}

async fn join_all(
    addr: SocketAddr,
    hub: &server::Hub,
    clients: &Path,
    first: usize,
    count: usize,
    discard: bool,
) -> Result<Vec<Client>> {
    let mut out = Vec::with_capacity(count);
    for n in first..first + count {
        let code = hub
            .write(move |hub| {
                hub.create_invite(&format!("dai-bieu-{n}"), 3_600_000, crate::time::now())
            })
            .await?;
        let c = Client::join(
            &clients.join(n.to_string()),
            &format!("phonghop:{code}@{addr}"),
            "bench",
        )
        .await?
        .discard_blobs(discard);
        out.push(c);
    }
    Ok(out)
}

fn rate(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / MB / d.as_secs_f64().max(1e-9)
}

/// One baseline device: the same blobs in the same order, `PARALLEL` at a
/// time, each streamed into a `BlobStore` partial file, fsynced, verified,
/// deleted — exactly the client's work per blob, minus our protocol.
async fn baseline_client(
    http: reqwest::Client,
    base: String,
    store: BlobStore,
    jobs: Vec<Hash>,
) -> Result<u64> {
    let fetches = jobs.into_iter().map(|sha| {
        let (http, base, store) = (http.clone(), base.clone(), store.clone());
        async move {
            let hex = sha.to_hex();
            let resp = http
                .get(format!("{base}/{}/{hex}", &hex[..2]))
                .send()
                .await?
                .error_for_status()?;
            let mut partial = store.partial(&sha)?;
            let mut body = resp.bytes_stream();
            let mut n = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                n += chunk.len() as u64;
                partial.append(&chunk)?;
            }
            tokio::task::spawn_blocking(move || {
                partial.finish().map(|p| {
                    let _ = std::fs::remove_file(p);
                })
            })
            .await??;
            anyhow::Ok(n)
        }
    });
    let mut s = futures_util::stream::iter(fetches).buffered(PARALLEL);
    let mut total = 0;
    while let Some(r) = s.next().await {
        total += r?;
    }
    Ok(total)
}

fn http_client() -> Result<reqwest::Client> {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .pool_max_idle_per_host(8)
        .build()?)
}

async fn bench(args: &SyncArgs, work: &Path) -> Result<()> {
    let data = work.join("hub");
    let t = Instant::now();
    let (updated, update_bytes) = build_hub(args, &data, &work.join("pdfs"))?;
    let (state, pack_bytes) = {
        let hub = HubDir::open(&data)?;
        let state = hub.store().state().clone();
        let m = &state.meetings[&MeetingId::new(MEETING)];
        // Unique blobs: a device fetches a blob once however many papers share it.
        let blobs: std::collections::BTreeSet<Hash> = m
            .documents
            .values()
            .flat_map(|d| d.versions.last())
            .flat_map(|v| std::iter::once(v.sha256).chain(v.analysis))
            .collect();
        let bytes: u64 = blobs.iter().filter_map(|h| hub.blobs().size(h)).sum();
        (state, bytes)
    };
    let papers = args.papers + 1;
    println!(
        "phonghop bench sync: {} clients, pack {:.1} MB in {papers} papers (built in {:.1} s)",
        args.clients,
        pack_bytes as f64 / MB,
        t.elapsed().as_secs_f64()
    );
    println!(
        "  clients run with discard_blobs(true): every blob is written, fsynced and \
         hash-verified, then deleted (the baseline does the same)"
    );

    // --- The hub.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut config = ServerConfig::new(&data);
    config.inbox = false;
    config.pdf_worker = None;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // The hub is the folder's one writer: invites and the update go through it.
    let hub = tokio::task::spawn_blocking(move || server::Hub::open(config)).await??;
    let hub_task = tokio::spawn(server::serve(hub.clone(), listener, async move {
        let _ = stop_rx.await;
    }));
    let clients_dir = work.join("clients");
    let clients = join_all(addr, &hub, &clients_dir, 1, args.clients, true).await?;
    for c in &clients {
        c.pull().await?;
    }
    let t = Instant::now();
    let reports =
        futures_util::future::try_join_all(clients.iter().map(|c| c.fetch_blobs())).await?;
    let hub_time = t.elapsed();
    let hub_bytes: u64 = reports.iter().map(|r| r.bytes).sum();
    let refetched: usize = reports.iter().map(|r| r.refetched).sum();
    anyhow::ensure!(refetched == 0, "{refetched} blobs failed verification");
    if hub_bytes != pack_bytes * args.clients as u64 {
        let mut seen = std::collections::BTreeMap::new();
        for r in &reports {
            *seen.entry((r.blobs, r.bytes)).or_insert(0) += 1;
        }
        anyhow::bail!(
            "the clients got {hub_bytes} bytes, expected {} × {pack_bytes}; \
             (blobs, bytes) → clients: {seen:?}",
            args.clients
        );
    }
    let hub_rate = rate(hub_bytes, hub_time);
    println!(
        "  hub (phonghop, auth + per-blob access check) : {:>8.1} MB in {:>6.2} s = {:>7.1} MB/s",
        hub_bytes as f64 / MB,
        hub_time.as_secs_f64(),
        hub_rate
    );
    drop(clients);

    // --- The baseline: ServeDir over the same blob folder.
    let jobs: Vec<Hash> = phonghop_client::plan::blob_jobs(&state, |_| false)
        .into_iter()
        .map(|j| j.sha256)
        .collect();
    let app = axum::Router::new()
        .fallback_service(tower_http::services::ServeDir::new(data.join("blobs")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let static_server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut fetchers = Vec::new();
    for n in 0..args.clients {
        let store = BlobStore::open(&work.join("baseline").join(n.to_string()).join("blobs"))?;
        fetchers.push(baseline_client(
            http_client()?,
            base.clone(),
            store,
            jobs.clone(),
        ));
    }
    let t = Instant::now();
    let got = futures_util::future::try_join_all(fetchers).await?;
    let base_time = t.elapsed();
    let base_bytes: u64 = got.iter().sum();
    static_server.abort();
    let base_rate = rate(base_bytes, base_time);
    println!(
        "  baseline (tower-http ServeDir, same files)   : {:>8.1} MB in {:>6.2} s = {:>7.1} MB/s",
        base_bytes as f64 / MB,
        base_time.as_secs_f64(),
        base_rate
    );
    println!(
        "  ratio hub / baseline: {:.3} (goal ≥ 0.9)",
        hub_rate / base_rate
    );

    // --- Update one paper; what does an up-to-date device download?
    let keeper = join_all(addr, &hub, &clients_dir, 0, 1, false)
        .await?
        .pop()
        .context("no client")?;
    keeper.sync_once().await?;
    {
        let file = work.join("pdfs").join("to-trinh-cap-nhat.pdf");
        phonghop_pdf::noise_image_pdf(&file, update_bytes, 0x2000)?;
        let analysis = admin::analyze(&file)?;
        hub.write(move |hub| {
            hub.add_version(
                MEETING,
                &updated,
                paper(&file, &analysis),
                crate::time::now(),
            )
        })
        .await?;
    }
    // The hub publishes the new version at once; the device may be mid-pull.
    let mut report = keeper.sync_once().await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while report.entries == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        report = keeper.sync_once().await?;
    }
    anyhow::ensure!(report.entries > 0, "the update never reached the device");
    println!(
        "  update of one {:.1} MB paper: {} blobs, {:.3} MB downloaded = {:.3} × the paper (goal ≤ 1.05)",
        update_bytes as f64 / MB,
        report.blobs,
        report.bytes as f64 / MB,
        report.bytes as f64 / update_bytes as f64
    );
    drop(keeper);
    drop(hub);
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), hub_task).await;
    Ok(())
}
