//! TLS with the pinned hub certificate: a device that joins with the
//! invite's fingerprint syncs over HTTPS (and its live channel connects);
//! a wrong fingerprint is refused as a certificate mismatch before any
//! code is spent; plain HTTP is refused on a non-loopback address.

use anyhow::Result;
use phonghop_client::{Client, ClientError};
use phonghop_hub::server::{self, tls::HubCert, ServerConfig};
use phonghop_tests::hub::{delegate, TestHub, MEETING};
use std::time::Duration;

/// The hub of `hub`'s folder served over TLS on `bind` (e.g. "127.0.0.1:0"):
/// its certificate, its address, the stop switch and the server task.
#[allow(clippy::type_complexity)]
fn serve_tls(
    hub: &TestHub,
    bind: &str,
) -> Result<(
    HubCert,
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), phonghop_hub::HubError>>,
)> {
    let cert = HubCert::load_or_create(&hub.data)?;
    let listener = std::net::TcpListener::bind(bind)?;
    let addr = listener.local_addr()?;
    let mut config = ServerConfig::new(&hub.data);
    config.tls = true;
    config.inbox = false;
    config.pdf_worker = None;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::run(listener, config, async move {
        let _ = stop_rx.await;
    }));
    Ok((cert, addr, stop_tx, server))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_certificate_is_required_and_enough() -> Result<()> {
    let mut hub = TestHub::with_meeting(2, &[], false)?;
    let (cert, addr, stop_tx, server) = serve_tls(&hub, "127.0.0.1:0")?;

    // A forged certificate fingerprint: refused as a mismatch, and the
    // invite code is not used up (the TLS handshake fails first).
    let code_of = |invite: &str| invite.split(['@', ':']).nth(1).unwrap_or("").to_string();
    let plain = hub.invite_at(&delegate(1), addr)?;
    let wrong = format!("{plain}/{}", "0".repeat(64));
    let dir = hub.client_dir(&delegate(1));
    let err = Client::join(&dir, &wrong, "máy giả")
        .await
        .expect_err("a wrong fingerprint must be refused");
    assert!(
        matches!(err, ClientError::CertificateMismatch { .. }),
        "{err}"
    );
    assert_eq!(err.code(), "certificate_mismatch");

    // The same code over plain HTTP to a TLS hub does not get through either.
    let dir = hub.client_dir(&delegate(1));
    let err = Client::join(&dir, &plain, "máy")
        .await
        .expect_err("plain HTTP to a TLS hub must fail");
    assert_eq!(err.code(), "hub_unreachable", "{err}");

    // The right fingerprint: the same (unused) code joins, pulls the
    // meeting over HTTPS and opens the live channel.
    let good = format!("phonghop:{}@{addr}/{}", code_of(&plain), cert.fingerprint());
    let dir = hub.client_dir(&delegate(1));
    let client = std::sync::Arc::new(Client::join(&dir, &good, "máy thật").await?);
    let report = client.sync_once().await?;
    assert!(report.entries > 0, "the meeting log arrives over HTTPS");
    let has_meeting = client
        .with_dir(|d| {
            d.store()
                .state()
                .meetings
                .contains_key(&phonghop_core::MeetingId::new(MEETING))
        })
        .await;
    assert!(has_meeting, "the device holds the meeting");
    let (stop_live, live_rx) = tokio::sync::watch::channel(false);
    let mut conn = client.connection();
    let runner = tokio::spawn(client.clone().run(live_rx));
    let online = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if *conn.borrow_and_update() == phonghop_client::Connection::Online {
                return;
            }
            if conn.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(
        online.is_ok(),
        "the live WebSocket connects over pinned TLS"
    );
    let _ = stop_live.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), runner).await;

    let _ = stop_tx.send(());
    tokio::time::timeout(Duration::from_secs(10), server).await???;

    // Plain HTTP anywhere but loopback is refused at start.
    let outside = std::net::TcpListener::bind("0.0.0.0:0")?;
    let mut config = ServerConfig::new(&hub.data);
    config.inbox = false;
    let err = server::run(outside, config, async {})
        .await
        .expect_err("plain HTTP off loopback is refused");
    assert!(err.to_string().contains("loopback"), "{err}");
    Ok(())
}

/// The short code alone (with the hub's address, as printed on the slip):
/// the device binds it to the hub's certificate, pins it and joins over
/// TLS. A stand-in on another address with a certificate of its own —
/// even one holding a valid proof for the real hub's certificate, as a
/// relay would — is refused before the device sends it anything but the
/// binding request: no code, no pairing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_code_joins_over_tls_and_a_stand_in_is_refused() -> Result<()> {
    use phonghop_core::invite::canonical_code;
    let mut hub = TestHub::with_meeting(1, &[], false)?;
    let (cert, addr, stop_tx, server) = serve_tls(&hub, "127.0.0.1:0")?;
    let invite = hub.invite_at(&delegate(1), addr)?;
    let code = invite.split(['@', ':']).nth(1).unwrap_or("").to_string();
    let canonical = canonical_code(&code).expect("a hub code is canonical");

    // The stand-in: its own certificate, answering the binding with the
    // proof the real hub would give (what a relay obtains).
    let stand_in = phonghop_tests::stand_in::StandIn::start(&code, &cert.cert_der)?;
    let stand_in_addr = stand_in.addr;

    let dir = hub.client_dir(&delegate(1));
    let err = Client::join(&dir, &format!("{code}@{stand_in_addr}"), "máy")
        .await
        .expect_err("a stand-in must be refused");
    assert_eq!(err.code(), "certificate_mismatch", "{err}");
    stand_in.received_only_the_binding(&code)?;

    // The code, lower case and without dashes, and the real address.
    let typed = format!(" {} @ {addr} ", canonical.to_ascii_lowercase());
    let dir = hub.client_dir(&delegate(1));
    let client = Client::join(&dir, &typed, "máy thật").await?;
    assert_eq!(
        client.pairing().cert_sha256.as_deref(),
        Some(cert.fingerprint().as_str()),
        "the hub's own certificate is pinned"
    );
    let report = client.sync_once().await?;
    assert!(report.entries > 0, "the meeting arrives over HTTPS");
    // Used: binding it again is refused like pairing.
    let dir = hub.client_dir(&delegate(1));
    let err = Client::join(&dir, &format!("{code}@{addr}"), "lần hai")
        .await
        .err()
        .map(|e| e.code());
    assert_eq!(err.as_deref(), Some("invite_unknown"));

    drop(stand_in);
    let _ = stop_tx.send(());
    server.await??;
    Ok(())
}

/// The code alone, on the room's network: the hub (TLS on every address)
/// advertises itself by DNS-SD and the device finds it, binds the code to
/// its certificate and joins. (Needs multicast on the machine's network,
/// as a council's LAN has.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_code_alone_finds_the_hub_on_the_network() -> Result<()> {
    let mut hub = TestHub::with_meeting(1, &[], false)?;
    let (cert, addr, stop_tx, server) = serve_tls(&hub, "0.0.0.0:0")?;
    let invite = hub.invite_at(&delegate(1), addr)?;
    let code = invite.split(['@', ':']).nth(1).unwrap_or("").to_string();
    let found = phonghop_client::discover::hubs(Duration::from_secs(5)).await;
    assert!(
        found
            .iter()
            .any(|a| a.ends_with(&format!(":{}", addr.port()))),
        "the hub on port {} is found: {found:?}",
        addr.port()
    );
    let dir = hub.client_dir(&delegate(1));
    let client = Client::join(&dir, &code, "máy tính bảng").await?;
    assert_eq!(
        client.pairing().cert_sha256.as_deref(),
        Some(cert.fingerprint().as_str())
    );
    let _ = stop_tx.send(());
    server.await??;
    Ok(())
}
