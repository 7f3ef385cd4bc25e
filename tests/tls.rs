//! TLS with the pinned hub certificate: a device that joins with the
//! invite's fingerprint syncs over HTTPS (and its live channel connects);
//! a wrong fingerprint is refused as a certificate mismatch before any
//! code is spent; plain HTTP is refused on a non-loopback address.

use anyhow::Result;
use phonghop_client::{Client, ClientError};
use phonghop_hub::server::{self, tls::HubCert, ServerConfig};
use phonghop_tests::hub::{delegate, TestHub, MEETING};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_certificate_is_required_and_enough() -> Result<()> {
    let mut hub = TestHub::with_meeting(2, &[], false)?;
    let cert = HubCert::load_or_create(&hub.data)?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut config = ServerConfig::new(&hub.data);
    config.tls = true;
    config.inbox = false;
    config.pdf_worker = None;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::run(listener, config, async move {
        let _ = stop_rx.await;
    }));

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
