//! One writer per hub folder (issue 10, item 1): while a hub runs it is
//! the only program that writes its folder.
//!
//! - The real `phonghop` CLI, run while the hub runs, sends its writes to
//!   the hub's loopback admin endpoint; a device connected to the hub sees
//!   the result live (an agenda item; a revocation closes the revoked
//!   device's connection and it wipes).
//! - A second writer is refused with a line naming the folder, the hub
//!   that holds it (address, process) and what to do; reads still work.
//!   With no hub serving but another program writing, the CLI waits a
//!   moment, then refuses naming it — it never writes beside it.
//! - The admin endpoint takes only requests signed with the hub's own key,
//!   each once, made just now, from this computer.
//!
//! Needs the `phonghop` binary: `cargo build -p phonghop-cli` first
//! (scripts/test does).

use anyhow::{ensure, Context, Result};
use phonghop_client::{Client, ClientError};
use phonghop_core::*;
use phonghop_hub::admin::{AdminOp, Remote, FRESH_MS};
use phonghop_hub::serving::Serving;
use phonghop_hub::{HubDir, HubError};
use phonghop_tests::e2e::workspace_bin;
use phonghop_tests::hub::{delegate, eventually, now, TestHub, MEETING};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Generous bound for what the test does not time.
const LIMIT: Duration = Duration::from_secs(20);

fn phonghop(data: &Path, args: &[&str]) -> Result<Output> {
    let bin = workspace_bin("phonghop", "phonghop-cli")?;
    Command::new(bin)
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("PHONGHOP_DATA")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("run phonghop {args:?}"))
}

/// Runs the CLI off the async runtime; its stdout, or an error with its
/// one-line stderr.
async fn cli(data: &Path, args: &[&str]) -> Result<String> {
    let (data, owned): (std::path::PathBuf, Vec<String>) = (
        data.to_path_buf(),
        args.iter().map(|a| a.to_string()).collect(),
    );
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = owned.iter().map(String::as_str).collect();
        phonghop(&data, &args)
    })
    .await??;
    ensure!(
        out.status.success(),
        "phonghop {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8(out.stdout)?)
}

fn agenda_titles(c: &Client) -> Vec<String> {
    let dir = c.dir();
    let d = dir.lock().unwrap_or_else(|p| p.into_inner());
    d.store()
        .state()
        .meetings
        .get(&MeetingId::new(MEETING))
        .map(|m| {
            m.numbered_agenda()
                .iter()
                .map(|n| n.item.title.clone())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_write_while_the_hub_runs_goes_through_it_and_devices_see_it_live() -> Result<()> {
    let mut hub = TestHub::with_meeting(2, &[], true)?;
    hub.start()?;
    let serving = Serving::read(&hub.data).context("the running hub records serving.json")?;
    assert_eq!(serving.listen, hub.addr());
    let admin = serving
        .admin
        .context("serving.json names the admin endpoint")?;
    assert!(admin.ip().is_loopback(), "admin endpoint on {admin}");
    assert_eq!(serving.pid, Some(std::process::id()));

    let reader = Arc::new(hub.join(&delegate(1)).await?);
    let other = Arc::new(hub.join(&delegate(2)).await?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let reader_run = tokio::spawn(reader.clone().run(stopped.clone()));
    let other_run = tokio::spawn(other.clone().run(stopped));
    for c in [&reader, &other] {
        let mut conn = c.connection();
        tokio::time::timeout(
            LIMIT,
            conn.wait_for(|c| *c == phonghop_client::Connection::Online),
        )
        .await??;
    }

    // A CLI write while the hub holds the folder: it can only go through
    // the hub (the folder is locked), and the devices get it pushed.
    let t = Instant::now();
    let out = cli(
        &hub.data,
        &[
            "agenda",
            "add",
            "--meeting",
            MEETING,
            "--number",
            "3",
            "--title",
            "Chất vấn và trả lời chất vấn",
        ],
    )
    .await?;
    ensure!(out.contains("Added agenda item 3"), "{out}");
    let title = "Chất vấn và trả lời chất vấn".to_string();
    eventually("the new agenda item on the connected device", LIMIT, || {
        agenda_titles(&reader).contains(&title).then_some(())
    })
    .await?;
    println!(
        "CLI write → through the running hub → on a live device in {:?}",
        t.elapsed()
    );
    // The hub's own state has it (no second writer to catch up with).
    let in_hub = hub
        .server()
        .context("running")?
        .read(|h| {
            h.meeting(MEETING)
                .map(|m| m.item_by_number("3").map(|i| i.title.clone()))
        })
        .await?;
    assert_eq!(in_hub.as_deref(), Some(title.as_str()));

    // People and invites too; reads see them (the CLI's reads open the
    // folder read-only while the hub writes it).
    let person = cli(
        &hub.data,
        &["person", "add", "--name", "Lê Thị Mới", "--id", "nguoi-moi"],
    )
    .await?;
    assert_eq!(person.trim(), "nguoi-moi");
    let listed = cli(&hub.data, &["person", "list"]).await?;
    ensure!(listed.contains("Lê Thị Mới"), "{listed}");

    // `device revoke` through the hub: the revoked device is told at once
    // and wipes; the other stays connected.
    let device = other.pairing().device.to_string();
    cli(&hub.data, &["device", "revoke", &device]).await?;
    tokio::time::timeout(LIMIT, other_run)
        .await
        .context("the revoked device's live loop was still running")??;
    assert!(matches!(other.sync_once().await, Err(ClientError::Revoked)));
    assert!(
        other
            .with_dir(|d| d.store().state().meetings.is_empty())
            .await
    );
    assert_eq!(
        *reader.connection().borrow(),
        phonghop_client::Connection::Online
    );

    // Everything the CLI did is in the log once, and the log verifies.
    let verified = cli(&hub.data, &["log", "verify"]).await?;
    ensure!(verified.starts_with("OK:"), "{verified}");

    let _ = stop.send(true);
    tokio::time::timeout(LIMIT, reader_run).await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_is_refused_and_told_who_holds_the_folder() -> Result<()> {
    let mut hub = TestHub::with_meeting(1, &[], false)?;
    hub.start()?;
    let folder = hub.data.display().to_string();

    // In this process: refused at once, naming the folder, the hub (its
    // address and process) and what to do.
    let t = Instant::now();
    let e = HubDir::open(&hub.data).expect_err("a second writer must be refused");
    assert!(t.elapsed() < Duration::from_secs(2), "refused at once");
    assert_eq!(e.code(), "hub_busy");
    let msg = e.to_string();
    for want in [
        folder.as_str(),
        &format!("the hub serving it on {}", hub.addr()),
        &format!("process {}", std::process::id()),
        "go through that hub",
    ] {
        assert!(msg.contains(want), "{want:?} missing from: {msg}");
    }
    println!("{msg}");

    // A second `phonghop hub` on the same folder: one clear line, and the
    // first hub's record is left alone.
    let out = tokio::task::spawn_blocking({
        let data = hub.data.clone();
        move || phonghop(&data, &["hub", "--no-inbox", "--listen", "127.0.0.1:0"])
    })
    .await??;
    assert!(!out.status.success(), "a second hub must not start");
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .context(format!("no error line: {err}"))?;
    assert!(
        line.contains(&folder) && line.contains("is in use by the hub serving it"),
        "{line}"
    );
    assert_eq!(
        Serving::read(&hub.data).map(|s| s.listen),
        Some(hub.addr()),
        "the running hub's serving.json is untouched"
    );

    // Reads still work beside the running hub: a read-only view (which
    // refuses writes), `log verify`, the CLI's lists.
    let mut view = HubDir::open_read_only(&hub.data)?;
    assert!(view.meeting(MEETING).is_ok());
    let e = view.revoke_device("dev-x", now()).unwrap_err();
    assert_eq!(e.code(), "read_only", "{e}");
    phonghop_store::verify_database(&hub.data.join("hub.db"))?;
    let listed = cli(&hub.data, &["meeting", "list"]).await?;
    ensure!(listed.contains(MEETING), "{listed}");

    // No hub serving, but another program holds the folder for writing:
    // the CLI waits a moment, then refuses with one line naming it.
    hub.kill();
    let holder = tokio::task::spawn_blocking({
        let data = hub.data.clone();
        move || HubDir::open(&data)
    })
    .await??;
    let before = phonghop_store::Store::open(&hub.data.join("hub.db"))?.dump_projection()?;
    let out = tokio::task::spawn_blocking({
        let data = hub.data.clone();
        move || phonghop(&data, &["person", "add", "--name", "Không Được Ghi"])
    })
    .await??;
    assert!(
        !out.status.success(),
        "the CLI must not write beside a writer"
    );
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains(&folder)
            && err.contains(&format!("process {}", std::process::id()))
            && err.contains("wait for it to finish"),
        "{err}"
    );
    let after = phonghop_store::Store::open(&hub.data.join("hub.db"))?.dump_projection()?;
    assert_eq!(before, after, "nothing was written");
    drop(holder);
    // Once it is gone, the CLI writes the folder itself.
    let id = cli(
        &hub.data,
        &["person", "add", "--name", "Được Ghi", "--id", "duoc-ghi"],
    )
    .await?;
    assert_eq!(id.trim(), "duoc-ghi");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_endpoint_takes_only_fresh_requests_signed_by_the_hub_key_once() -> Result<()> {
    let mut hub = TestHub::with_meeting(1, &[], false)?;
    hub.start()?;
    let serving = Serving::read(&hub.data).context("serving.json")?;
    let admin = serving.admin.context("admin endpoint")?;
    let remote = Remote::new(&hub.data, serving.clone())?;
    let persons = || {
        let h = hub.hub()?;
        Ok::<_, anyhow::Error>(h.store().state().directory.persons.len())
    };
    let add = |id: &str| AdminOp::AddPerson {
        id: Some(id.into()),
        name: format!("Ông {id}"),
        title: None,
        unit: None,
    };
    let refused = |r: Result<_, HubError>| match r {
        Err(HubError::Refused { code, .. }) => code.to_string(),
        Err(e) => format!("other error: {e}"),
        Ok(_) => "accepted".into(),
    };
    let start = persons()?;

    // Signed with the hub key: carried out, and says what it appended.
    let reply = remote.send(add("mot"), now()).await?;
    assert_eq!(reply.appended.len(), 1, "{reply:?}");
    assert_eq!(reply.appended[0].log, "dir");
    assert_eq!(persons()?, start + 1);

    // Signed with another key (a program that cannot read hub.key).
    let stranger = SecretKey::from_seed([9; 32]);
    let forged = phonghop_hub::admin::AdminRequest::sign(add("gia"), now(), &stranger)?;
    assert_eq!(
        refused(remote.send_request(&forged).await),
        "admin_bad_signature"
    );

    // A good request sent twice: carried out once.
    let once = remote.sign(add("hai"), now())?;
    remote.send_request(&once).await?;
    assert_eq!(refused(remote.send_request(&once).await), "admin_replayed");

    // Made too long ago.
    let old = remote.sign(add("cu"), Timestamp(now().0 - 2 * FRESH_MS))?;
    assert_eq!(refused(remote.send_request(&old).await), "admin_stale");
    assert_eq!(persons()?, start + 2, "only the two good requests took");

    // A refused operation comes back with the hub's own code and reason.
    let e = remote
        .send(
            AdminOp::AddMember {
                meeting: "khong-co".into(),
                person: "mot".into(),
                role: Role::Delegate,
            },
            now(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unknown_meeting", "{e}");
    assert!(e.to_string().contains("khong-co"), "{e}");

    // Only this computer can reach it: it listens on loopback alone.
    if let Some(lan) = phonghop_hub::serving::lan_address() {
        let outside = std::net::SocketAddr::new(lan.parse()?, admin.port());
        assert!(
            std::net::TcpStream::connect_timeout(&outside, Duration::from_millis(500)).is_err(),
            "the admin endpoint answered on {outside}"
        );
    }
    Ok(())
}
