//! Network commands: run the hub, make invites, manage devices (hub side);
//! join, sync and status (device side).

use crate::time;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use phonghop_client::Client;
use phonghop_core::protocol::Invite;
use phonghop_hub::admin::{AdminOp, Done};
use phonghop_hub::server::{self, tls::HubCert, ServerConfig};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

fn data(data: Option<&Path>) -> Result<&Path> {
    data.ok_or_else(|| anyhow!("no data folder: pass --data DIR or set PHONGHOP_DATA"))
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `phonghop hub` options.
#[derive(Debug, Args)]
pub struct HubArgs {
    /// Address to listen on, e.g. 0.0.0.0:8443 (TLS) or 127.0.0.1:8080.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Serve HTTPS with the hub's self-signed certificate (required on
    /// anything but loopback).
    #[arg(long)]
    tls: bool,
    /// Do not watch DIR/inbox/<meeting>/ for PDFs.
    #[arg(long)]
    no_inbox: bool,
}

/// Runs the hub until Ctrl-C or SIGTERM.
pub fn hub(dir: Option<&Path>, args: HubArgs) -> Result<()> {
    let dir = data(dir)?.to_path_buf();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let listener = std::net::TcpListener::bind(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let mut config = ServerConfig::new(&dir);
    config.tls = args.tls;
    config.inbox = !args.no_inbox;
    if args.tls {
        let cert = HubCert::load_or_create(&dir)?;
        eprintln!(
            "Hub certificate fingerprint (pinned by devices): {}",
            cert.fingerprint()
        );
    }
    // The folder's one writer from here on (refused, naming the holder, if
    // another hub or program writes it). While it serves it records itself
    // in DIR/serving.json: the secretariat's app points invites there, and
    // `phonghop` commands on this folder send their writes to it.
    let hub = server::Hub::open(config)?;
    // Announce the real port (useful with :0) on stdout for scripts.
    println!("listening on {addr}");
    runtime()?.block_on(async move {
        let shutdown = async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        };
        server::serve(hub, listener, shutdown).await
    })?;
    Ok(())
}

/// `phonghop invite`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct InviteArgs {
    #[command(subcommand)]
    cmd: Option<InviteCmd>,
    /// Person id (see `phonghop person list`).
    #[arg(required = true)]
    person: Option<String>,
    /// The address devices use to reach the hub, host:port.
    #[arg(long, required = true)]
    address: Option<String>,
    /// The hub serves plain HTTP (loopback demos and tests only).
    #[arg(long)]
    plain: bool,
    /// Hours the code stays valid (default: 7 days).
    #[arg(long, default_value_t = phonghop_hub::INVITE_TTL_MS / 3_600_000)]
    hours: i64,
}

/// `phonghop invite …` subcommands.
#[derive(Debug, Subcommand)]
pub enum InviteCmd {
    /// Cancel invites that have not been used: all of a person's, or one code.
    Cancel {
        /// A person id, or an invite code as printed.
        person_or_code: String,
    },
}

/// Prints a one-time invite string for a person (stdout: the invite alone,
/// for scripts; stderr: until when it is valid), or cancels invites.
pub fn invite(dir: Option<&Path>, args: InviteArgs) -> Result<()> {
    let dir = data(dir)?;
    if let Some(InviteCmd::Cancel { person_or_code }) = args.cmd {
        let done = crate::admin::write(
            Some(dir),
            AdminOp::CancelInvites {
                person_or_code: person_or_code.clone(),
            },
        )?;
        if let Done::InvitesCancelled { count } = done {
            println!("Cancelled {count} unused invite(s) for {person_or_code}");
        }
        return Ok(());
    }
    let (Some(person), Some(address)) = (args.person, args.address) else {
        bail!("give the person and --address (see `phonghop invite --help`)");
    };
    anyhow::ensure!(
        args.hours > 0,
        "--hours must be at least 1 (an invite that is already expired pairs nothing)"
    );
    let ttl_ms = args.hours.saturating_mul(3_600_000);
    let Done::InviteCreated { code, expires_at } = crate::admin::write(
        Some(dir),
        AdminOp::CreateInvite {
            person: person.clone(),
            ttl_ms,
        },
    )?
    else {
        bail!("the hub made no invite");
    };
    let cert_sha256 = if args.plain {
        None
    } else {
        Some(HubCert::load_or_create(dir)?.fingerprint())
    };
    let invite = Invite {
        code,
        address,
        cert_sha256,
    };
    println!("{invite}");
    eprintln!(
        "Valid until {} (Vietnam time), once; cancel with `phonghop invite cancel {person}`",
        time::show(expires_at)
    );
    Ok(())
}

/// Devices.
#[derive(Debug, Subcommand)]
pub enum DeviceCmd {
    /// List paired devices.
    List,
    /// Revoke a device: refused from now on; it wipes its copies on contact.
    Revoke {
        /// Device id.
        device: String,
    },
}

/// `phonghop device …`.
pub fn device(dir: Option<&Path>, cmd: DeviceCmd) -> Result<()> {
    match cmd {
        DeviceCmd::List => {
            let hub = crate::admin::read(dir)?;
            let st = hub.store().state();
            for d in st.directory.devices.values() {
                let who = st
                    .directory
                    .persons
                    .get(&d.person)
                    .map_or("?", |p| p.name.as_str());
                let state = if d.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    d.id,
                    state,
                    who,
                    d.label,
                    d.public_key.fingerprint()
                );
            }
        }
        DeviceCmd::Revoke { device } => {
            crate::admin::write(
                dir,
                AdminOp::RevokeDevice {
                    device: device.clone(),
                },
            )?;
            println!("Revoked device {device}");
        }
    }
    Ok(())
}

/// Joins a hub with an invite string.
pub fn join(dir: Option<&Path>, invite: &str, label: Option<String>) -> Result<()> {
    let dir = data(dir)?.to_path_buf();
    let label = label.unwrap_or_else(|| "phonghop CLI".into());
    let client = runtime()?.block_on(Client::join(&dir, invite, &label))?;
    let p = client.pairing();
    println!(
        "Joined {} as {} (device {})",
        p.base_url, p.person_name, p.device
    );
    Ok(())
}

/// One sync round with progress bars.
pub fn sync(dir: Option<&Path>) -> Result<()> {
    let dir = data(dir)?.to_path_buf();
    let client = Arc::new(Client::open(&dir)?);
    let rt = runtime()?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} · {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = rt.block_on(async {
        let mut progress = client.progress();
        let b2 = bar.clone();
        let watcher = tokio::spawn(async move {
            while progress.changed().await.is_ok() {
                let p = *progress.borrow();
                b2.set_length(p.bytes_total);
                b2.set_position(p.bytes_done);
                b2.set_message(format!("papers {}/{}", p.papers_done, p.papers_total));
            }
        });
        let r = client.sync_once().await;
        watcher.abort();
        r
    })?;
    bar.finish_and_clear();
    println!(
        "Synced: {} log entries, {} files ({} bytes), {} notes/commands sent",
        report.entries, report.blobs, report.bytes, report.acked
    );
    Ok(())
}

/// What this device holds.
pub fn status(dir: Option<&Path>) -> Result<()> {
    let dir = data(dir)?;
    let d = phonghop_client::ClientDir::open(dir)?;
    let Some(p) = d.pairing()? else {
        println!(
            "Not joined to any hub yet (phonghop join INVITE --data {})",
            dir.display()
        );
        return Ok(());
    };
    println!(
        "Hub {} · {} · device {}",
        p.base_url, p.person_name, p.device
    );
    if let Some(key) = d.store().hub_key()? {
        println!("  Hub key fingerprint: {}", key.fingerprint());
    }
    for m in d.store().state().meetings.values() {
        let papers = m.documents.len();
        let have = m
            .documents
            .values()
            .filter(|doc| {
                doc.versions
                    .last()
                    .is_some_and(|v| d.blobs().has(&v.sha256))
            })
            .count();
        println!(
            "  {} [{}] {} — {} · papers on disk {have}/{papers}",
            m.id,
            m.status.code(),
            m.body,
            m.title
        );
    }
    let pending = d.pending()?.len();
    println!("Outbox: {pending} waiting to be sent");
    // Entries the hub sent that this device could not apply: kept, not
    // applied, syncing went on. Each one is a bug to report.
    for q in d.store().quarantined()? {
        println!(
            "Set aside: entry {} of log {} could not be applied ({}: {})",
            q.seq, q.log, q.code, q.reason
        );
    }
    Ok(())
}
