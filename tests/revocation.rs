//! Revocation at once (issue 10, item 6).
//!
//! 1. A device is revoked while its live WebSocket is open — by another
//!    process writing hub.db, as `phonghop device revoke` and the
//!    secretariat's app do: within 1 s the hub tells it (`revoked`) and
//!    closes that device's sockets; the real client wipes everything of
//!    that hub and stops. Another person's device stays connected.
//! 2. A socket whose session expires is closed (sockets re-check their
//!    session); the real client signs in again and goes on.

use anyhow::{Context, Result};
use futures_util::StreamExt;
use phonghop_client::{Client, ClientError, Connection};
use phonghop_core::protocol::LiveMessage;
use phonghop_core::*;
use phonghop_hub::server::{self, ServerConfig};
use phonghop_tests::hub::{delegate, Paper, TestHub, MEETING};
use phonghop_tests::papers::text_pdf;
use phonghop_tests::raw::RawDevice;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// How long a revoked device's socket may stay open.
const AT_ONCE: Duration = Duration::from_secs(1);

/// Generous bound for everything that is not under test.
const LIMIT: Duration = Duration::from_secs(60);

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/v1/live` by hand with a session token.
async fn open_live(addr: SocketAddr, token: &str) -> Result<Ws> {
    let (ws, resp) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/live?token={token}"))
        .await
        .context("opening the live socket")?;
    anyhow::ensure!(resp.status().as_u16() == 101, "no upgrade: {resp:?}");
    Ok(ws)
}

/// What a socket received until the hub closed it.
#[derive(Debug, Default)]
struct Ending {
    texts: Vec<String>,
    /// The close frame's reason, when the hub sent one.
    reason: Option<String>,
}

/// Reads `ws` until the hub closes it; `None` if still open after `limit`.
async fn closed_within(ws: &mut Ws, limit: Duration) -> Option<Ending> {
    let mut end = Ending::default();
    let read = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => end.texts.push(t.to_string()),
                Some(Ok(Message::Close(frame))) => {
                    end.reason = frame.map(|f| f.reason.to_string());
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return,
            }
        }
    };
    tokio::time::timeout(limit, read).await.ok()?;
    Some(end)
}

fn one_paper(dir: &std::path::Path) -> Result<Vec<Paper>> {
    Ok(vec![Paper::members(text_pdf(
        dir,
        "to-trinh-thu-hoi",
        "thu hồi thiết bị",
        3,
    )?)])
}

/// The paper's bytes this device holds, if any.
fn held_paper(c: &Client) -> Option<Hash> {
    let dir = c.dir();
    let d = dir.lock().unwrap_or_else(|p| p.into_inner());
    let m = d.store().state().meetings.get(&MeetingId::new(MEETING))?;
    let doc = m.documents.values().next()?;
    let sha = doc.versions.last()?.sha256;
    d.blobs().has(&sha).then_some(sha)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_is_disconnected_within_a_second_and_wipes_its_copy() -> Result<()> {
    let pdfs = tempfile::tempdir()?;
    let mut hub = TestHub::with_meeting(2, &one_paper(pdfs.path())?, true)?;
    hub.start()?;
    let addr = hub.addr();

    let gone = Arc::new(hub.join(&delegate(1)).await?);
    let stays = Arc::new(hub.join(&delegate(2)).await?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let gone_run = tokio::spawn(gone.clone().run(stopped.clone()));
    let stays_run = tokio::spawn(stays.clone().run(stopped));
    for c in [&gone, &stays] {
        let mut conn = c.connection();
        tokio::time::timeout(LIMIT, conn.wait_for(|c| *c == Connection::Online)).await??;
    }
    let sha = held_paper(&gone).context("the paper reached the device before revocation")?;
    // The app keeps rendered pages and exported PDFs beside the client's
    // folder: copies of the hub's papers, wiped with it.
    let app_data = tempfile::tempdir()?;
    let (page_cache, exports) = (
        app_data.path().join("page-cache"),
        app_data.path().join("exports"),
    );
    for (dir, file) in [
        (&page_cache, "ab/trang-1.webp"),
        (&exports, "To trinh (ghi chu).pdf"),
    ] {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().context("a folder")?)?;
        std::fs::write(&path, b"bytes of the paper")?;
    }
    gone.wipe_also(vec![page_cache.clone(), exports.clone()]);

    // The same device's key on a socket of our own, to see what the hub
    // sends it and when the hub closes it.
    let mut raw = RawDevice::of(&gone, addr);
    let a = raw.sign_in().await?;
    anyhow::ensure!(a.status.is_success(), "signing in: {a:?}");
    let mut ws = open_live(addr, raw.token.as_deref().unwrap_or_default()).await?;
    let mut other = RawDevice::of(&stays, addr);
    other.sign_in().await?;
    let mut other_ws = open_live(addr, other.token.as_deref().unwrap_or_default()).await?;

    // Revoked through the running hub, as `phonghop device revoke` does
    // (the CLI sends the operation to the hub's admin endpoint).
    let device = gone.pairing().device.clone();
    hub.admin(phonghop_hub::admin::AdminOp::RevokeDevice {
        device: device.to_string(),
    })?;
    let revoked_at = Instant::now();

    let end = closed_within(&mut ws, AT_ONCE).await.with_context(|| {
        format!("the revoked device's live socket was still open {AT_ONCE:?} after the revocation")
    })?;
    println!(
        "the revoked device's socket closed {:?} after the revocation",
        revoked_at.elapsed()
    );
    let told = end
        .texts
        .iter()
        .any(|t| serde_json::from_str::<LiveMessage>(t).is_ok_and(|m| m == LiveMessage::Revoked));
    assert!(
        told,
        "the hub told the device it is revoked before closing: {end:?}"
    );
    assert_eq!(end.reason.as_deref(), Some("device_revoked"), "{end:?}");

    // The real client heard it, wiped that hub's data and stopped.
    let left = AT_ONCE.saturating_sub(revoked_at.elapsed()) + Duration::from_millis(500);
    tokio::time::timeout(left, gone_run)
        .await
        .context("the revoked client's live loop was still running")??;
    assert_eq!(*gone.connection().borrow(), Connection::Revoked);
    {
        let dir = gone.dir();
        let d = dir.lock().unwrap_or_else(|p| p.into_inner());
        assert!(
            d.store().state().meetings.is_empty(),
            "the revoked device still holds meetings"
        );
        assert!(
            !d.blobs().has(&sha),
            "the revoked device still holds the paper"
        );
        assert!(
            d.pending()?.is_empty(),
            "the revoked device's outbox was kept"
        );
    }
    for dir in [&page_cache, &exports] {
        assert!(
            !dir.exists(),
            "{} was left after the revocation",
            dir.display()
        );
    }
    // Asking again gets the same answer (and wipes again, harmlessly).
    assert!(matches!(gone.sync_once().await, Err(ClientError::Revoked)));

    // Nobody else was disconnected.
    assert!(
        closed_within(&mut other_ws, Duration::from_millis(300))
            .await
            .is_none(),
        "another device's socket was closed by someone else's revocation"
    );
    assert_eq!(*stays.connection().borrow(), Connection::Online);
    assert!(!stays_run.is_finished());
    assert!(held_paper(&stays).is_some());

    let _ = stop.send(true);
    tokio::time::timeout(LIMIT, stays_run).await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_closes_its_socket_and_the_client_signs_in_again() -> Result<()> {
    let pdfs = tempfile::tempdir()?;
    let hub = TestHub::with_meeting(1, &one_paper(pdfs.path())?, true)?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut config = ServerConfig::new(&hub.data);
    config.inbox = false;
    config.pdf_worker = None;
    let ttl = Duration::from_millis(1500);
    config.session_ttl = ttl;
    let (stop_hub, hub_stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(server::run(listener, config, async move {
        let _ = hub_stopped.await;
    }));

    let folder = hub.root().join("clients").join("dai-bieu-1");
    let c = Arc::new(Client::join(&folder, &hub.invite_at(&delegate(1), addr)?, "Máy thử").await?);
    let mut raw = RawDevice::of(&c, addr);
    raw.sign_in().await?;
    let mut ws = open_live(addr, raw.token.as_deref().unwrap_or_default()).await?;
    let end = closed_within(&mut ws, ttl + Duration::from_secs(5))
        .await
        .context("a socket outlived its session")?;
    assert_eq!(
        end.reason.as_deref(),
        Some("session_expired"),
        "the close says why: {end:?}"
    );

    // The real client follows the live channel across expiries: it signs
    // in again each time and its commands still go through.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(c.clone().run(stopped));
    let mut conn = c.connection();
    tokio::time::timeout(LIMIT, conn.wait_for(|c| *c == Connection::Online)).await??;
    tokio::time::sleep(ttl * 2).await;
    let id = c
        .submit(protocol::Command::CheckIn {
            meeting: MeetingId::new(MEETING),
            present: true,
        })
        .await?;
    let acked = async {
        loop {
            let id = id.clone();
            if c.with_dir(move |d| d.ack_of(&id)).await?.is_some() {
                return anyhow::Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(LIMIT, acked)
        .await
        .context("a command after the session expired was never acknowledged")??;
    assert!(
        !run.is_finished(),
        "the client gave up after its session expired"
    );

    let _ = stop.send(true);
    tokio::time::timeout(LIMIT, run).await??;
    let _ = stop_hub.send(());
    tokio::time::timeout(LIMIT, served).await???;
    Ok(())
}

/// Revoked while the device is away: it learns it on its next contact and
/// wipes everything of that hub — meetings, papers, the directory's names,
/// the pairing (address, certificate, hub key), its own device key — and
/// the file listing shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_revoked_while_away_is_wiped_when_it_comes_back() -> Result<()> {
    let pdfs = tempfile::tempdir()?;
    let mut hub = TestHub::with_meeting(1, &one_paper(pdfs.path())?, true)?;
    hub.start()?;
    let folder = hub.client_dir(&delegate(1));
    let away = Client::join(&folder, &hub.invite(&delegate(1))?, "Máy mang đi").await?;
    away.sync_once().await?;
    let sha = held_paper(&away).context("the paper reached the device")?;
    let (title, person_name) = {
        let dir = away.dir();
        let d = dir.lock().unwrap_or_else(|p| p.into_inner());
        let st = d.store().state();
        let m = &st.meetings[&MeetingId::new(MEETING)];
        let name = m.members[&PersonId::new(delegate(1))].name.clone();
        (m.title.clone(), name)
    };
    let address = hub.addr().to_string();

    // Revoked while the device is not in touch (no live loop, no request).
    hub.admin(phonghop_hub::admin::AdminOp::RevokeDevice {
        device: away.pairing().device.to_string(),
    })?;
    // It comes back: told, and wiped.
    assert!(matches!(away.sync_once().await, Err(ClientError::Revoked)));
    let files = phonghop_tests::files::files_under(&folder)?;
    let listing: Vec<String> = files
        .iter()
        .map(|(p, b)| {
            format!(
                "{} ({} bytes)",
                p.strip_prefix(&folder).unwrap_or(p).display(),
                b.len()
            )
        })
        .collect();
    println!("after the wipe: {listing:?}");
    for (path, bytes) in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(
            !name.contains(&sha.to_hex()) && name != "device.key",
            "{} was left after the wipe: {listing:?}",
            path.display()
        );
        for needle in [
            title.as_bytes(),
            person_name.as_bytes(),
            address.as_bytes(),
            b"%PDF",
        ] {
            assert!(
                !phonghop_tests::files::contains(bytes, needle),
                "{} still holds {:?}",
                path.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
    // Opened again, the folder is a device that never joined.
    drop(away);
    assert!(matches!(Client::open(&folder), Err(ClientError::NotJoined)));
    Ok(())
}
