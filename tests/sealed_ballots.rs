//! A copy of the hub's database taken at any moment of a secret poll links
//! no ballot to its voter (issue 13, item 1).
//!
//! A real hub on 127.0.0.1, 30 real devices, a secret poll; each device
//! votes in turn, and after every acknowledged ballot the test copies
//! `hub.db` and `hub.db-wal` as they are on disk (as someone with the disk
//! would). Then it attacks the 30 copies, knowing who voted when (the
//! turnout is public) and, to score itself, every true choice:
//!
//! - **Rows**: every table's rows that appeared during the poll, in rowid
//!   order (= insertion order), paired with the turnout order; every
//!   integer column taken as the guess. (Before the sealed tally, the
//!   `sealed_ballots` rows did this perfectly.)
//! - **Bytes**: for every byte offset of the database and of the WAL,
//!   whether it changed with a ballot, as a feature predicting that
//!   ballot's choice (leave-one-out majority among the ballots with the
//!   same feature) — a plain per-option counter, or any cell written per
//!   choice, shows up here.
//!
//! Statistic: accuracy over the 30 ballots, against chance (always
//! guessing the most common choice: 12 of 30 = 0.40). Rows must not beat
//! chance by more than one ballot; bytes by more than six (the maximum over
//! some hundred thousand offsets of a leave-one-out score picks up a few
//! coincidences — WAL frames written at two steps with the same choice).
//! After the close the sealed tally is gone and the WAL is empty.

use anyhow::{ensure, Context, Result};
use phonghop_core::protocol::CommandOutcome;
use phonghop_tests::hub::{delegate, TestHub};
use phonghop_tests::voting::*;
use std::collections::BTreeMap;
use std::path::Path;

const N: usize = 30;

/// 12 × option 0, 10 × option 1, 8 × option 2, in a fixed mixed order.
fn choices() -> Vec<u32> {
    let mut c: Vec<u32> = [vec![0; 12], vec![1; 10], vec![2; 8]].concat();
    // A fixed shuffle (multiplicative walk over 0..30; 7 is coprime).
    let order: Vec<usize> = (0..N).map(|i| (i * 7 + 3) % N).collect();
    let mut out = vec![0; N];
    for (k, &i) in order.iter().enumerate() {
        out[k] = c[i];
    }
    c.clear();
    out
}

struct Snapshot {
    db: Vec<u8>,
    wal: Vec<u8>,
}

fn snapshot(data: &Path) -> Result<Snapshot> {
    Ok(Snapshot {
        db: std::fs::read(data.join("hub.db"))?,
        wal: std::fs::read(data.join("hub.db-wal")).unwrap_or_default(),
    })
}

/// Every table's rows (rowid order where there is one), each as its
/// integer columns and a text rendering of the whole row.
type Rows = BTreeMap<String, Vec<(String, Vec<(String, i64)>)>>;

fn rows(s: &Snapshot, scratch: &Path) -> Result<Rows> {
    let dir = tempfile::tempdir_in(scratch)?;
    std::fs::write(dir.path().join("hub.db"), &s.db)?;
    if !s.wal.is_empty() {
        std::fs::write(dir.path().join("hub.db-wal"), &s.wal)?;
    }
    let conn = rusqlite::Connection::open(dir.path().join("hub.db"))?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Rows::new();
    for t in tables {
        let ordered = format!("SELECT * FROM \"{t}\" ORDER BY rowid");
        let plain = format!("SELECT * FROM \"{t}\"");
        let mut stmt = match conn.prepare(&ordered) {
            Ok(s) => s,
            Err(_) => conn.prepare(&plain)?,
        };
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        let mut q = stmt.query([])?;
        let mut list = Vec::new();
        while let Some(r) = q.next()? {
            let mut ints = Vec::new();
            let mut text = String::new();
            for (i, n) in names.iter().enumerate() {
                let v: rusqlite::types::Value = r.get(i)?;
                if let rusqlite::types::Value::Integer(x) = v {
                    ints.push((n.clone(), x));
                }
                text.push_str(&format!("{v:?}|"));
            }
            list.push((text, ints));
        }
        out.insert(t, list);
    }
    Ok(out)
}

/// The rows attack: best accuracy over (table, integer column) of pairing
/// the rows added during the poll, in order, with the ballots in order.
fn rows_attack(before: &Rows, during: &Rows, truth: &[u32]) -> (f64, String) {
    let mut best = (0.0, String::from("(no per-ballot rows)"));
    for (table, list) in during {
        let old: std::collections::HashSet<&String> = before
            .get(table)
            .map(|l| l.iter().map(|(t, _)| t).collect())
            .unwrap_or_default();
        let new: Vec<&Vec<(String, i64)>> = list
            .iter()
            .filter(|(t, _)| !old.contains(t))
            .map(|(_, ints)| ints)
            .collect();
        if new.len() < N / 2 {
            continue;
        }
        let columns: Vec<String> = new[0].iter().map(|(n, _)| n.clone()).collect();
        for col in columns {
            let hits = new
                .iter()
                .zip(truth)
                .filter(|(ints, &c)| ints.iter().any(|(n, v)| *n == col && *v == i64::from(c)))
                .count();
            let acc = hits as f64 / truth.len() as f64;
            if acc > best.0 {
                best = (acc, format!("{table}.{col}"));
            }
        }
    }
    best
}

/// The bytes attack: best leave-one-out accuracy over offsets of "did this
/// byte change with the ballot" as the predictor of its choice.
fn bytes_attack(snaps: &[Snapshot], truth: &[u32]) -> (f64, String) {
    // The most common label of a group (ties to the smaller option), with
    // one member of label `own` left out.
    let guess = |counts: &[usize; 3], own: usize| -> Option<usize> {
        let mut c = *counts;
        c[own] -= 1;
        let best = (0..3).max_by_key(|&l| (c[l], std::cmp::Reverse(l)))?;
        (c[best] > 0).then_some(best)
    };
    let mut all = [0usize; 3];
    for &t in truth {
        all[t as usize] += 1;
    }
    let mut best = (0.0, String::new());
    for (part, get) in [
        (
            "hub.db",
            (|s: &Snapshot| &s.db) as fn(&Snapshot) -> &Vec<u8>,
        ),
        ("hub.db-wal", |s: &Snapshot| &s.wal),
    ] {
        let len = snaps.iter().map(|s| get(s).len()).max().unwrap_or(0);
        let mut changed = vec![false; truth.len()];
        for j in 0..len {
            let mut groups = [[0usize; 3]; 2];
            for k in 1..snaps.len() {
                let c = get(&snaps[k]).get(j) != get(&snaps[k - 1]).get(j);
                changed[k - 1] = c;
                groups[usize::from(c)][truth[k - 1] as usize] += 1;
            }
            if groups[0].iter().sum::<usize>() == 0 || groups[1].iter().sum::<usize>() == 0 {
                continue;
            }
            let hits = (0..truth.len())
                .filter(|&k| {
                    let own = truth[k] as usize;
                    let g =
                        guess(&groups[usize::from(changed[k])], own).or_else(|| guess(&all, own));
                    g == Some(own)
                })
                .count();
            let acc = hits as f64 / truth.len() as f64;
            if acc > best.0 {
                best = (acc, format!("{part} byte {j}"));
            }
        }
    }
    best
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_of_the_hub_database_during_a_secret_poll_pair_no_ballot_with_its_voter(
) -> Result<()> {
    let mut hub = TestHub::with_meeting(N, &[], true)?;
    hub.start()?;
    let people: Vec<String> = (1..=N).map(delegate).collect();
    let ds = join_all(&mut hub, &people).await?;
    let chair = join_all(&mut hub, &[chair()]).await?.remove(0);
    let poll = NewPoll::secret("bau-truong-ban", "Bầu Trưởng ban Pháp chế (bỏ phiếu kín)");
    create_and_open(&chair, &poll).await?;
    let truth = choices();
    let data = hub.data.clone();
    let mut snaps = vec![snapshot(&data)?];
    for (d, &c) in ds.iter().zip(&truth) {
        let (_, ack) = send(d, ballot(&poll.id, c)).await?;
        ensure!(
            matches!(ack.outcome, CommandOutcome::Applied { .. }),
            "{ack:?}"
        );
        snaps.push(snapshot(&data)?);
    }

    let scratch = tempfile::tempdir()?;
    let before = rows(&snaps[0], scratch.path())?;
    let during = rows(snaps.last().context("snapshots")?, scratch.path())?;
    let counts = |c: u32| truth.iter().filter(|&&x| x == c).count();
    let chance = (0..3).map(counts).max().unwrap_or(0) as f64 / N as f64;
    let (by_rows, rows_where) = rows_attack(&before, &during, &truth);
    let (by_bytes, bytes_where) = bytes_attack(&snaps, &truth);
    println!(
        "pairing ballots with voters from {} copies: chance {chance:.2}; rows {by_rows:.2} ({rows_where}); bytes {by_bytes:.2} ({bytes_where})",
        snaps.len()
    );
    ensure!(
        by_rows <= chance + 1.0 / N as f64,
        "the rows of a copy pair ballots with voters: {by_rows:.2} vs chance {chance:.2} through {rows_where}"
    );
    ensure!(
        by_bytes <= chance + 6.0 / N as f64,
        "the bytes of the copies pair ballots with voters: {by_bytes:.2} vs chance {chance:.2} through {bytes_where}"
    );

    // The close publishes the choices in option order; the sealed tally
    // is gone, and no earlier version of it stays in the WAL.
    close(&chair, &poll.id).await?;
    let p = poll_on_hub(&hub, &poll.id)?;
    ensure!(
        p.counts == vec![counts(0) as u32, counts(1) as u32, counts(2) as u32],
        "counted {:?}",
        p.counts
    );
    let after = rows(&snapshot(&data)?, scratch.path())?;
    ensure!(
        after.get("sealed_tallies").is_some_and(Vec::is_empty)
            && after.get("sealed_ballots").is_some_and(Vec::is_empty),
        "nothing sealed stays after the close"
    );
    let wal = std::fs::metadata(data.join("hub.db-wal")).map_or(0, |m| m.len());
    ensure!(wal == 0, "the WAL was truncated at the close: {wal} bytes");
    Ok(())
}

/// The device keeps a secret ballot's choice only until the hub answers:
/// then its outbox knows "a ballot for this poll was recorded", not what.
/// (It kept the signed command, choice included, for good.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_forgets_its_secret_choice_once_the_hub_has_it() -> Result<()> {
    let mut hub = TestHub::with_meeting(3, &[], true)?;
    hub.start()?;
    let folder = hub.client_dir(&delegate(1));
    let invite = hub.invite(&delegate(1))?;
    let voter = phonghop_client::Client::join(&folder, &invite, "Máy bỏ phiếu").await?;
    let others = join_all(&mut hub, &[delegate(2)]).await?;
    let chair = join_all(&mut hub, &[chair()]).await?.remove(0);
    let poll = NewPoll::secret("bau-uy-vien", "Bầu Ủy viên Thường trực (bỏ phiếu kín)");
    create_and_open(&chair, &poll).await?;
    let mid = meeting_id();

    // Queued, not yet sent: the device holds the choice (it must be able
    // to send it, and the app shows it as "not yet recorded").
    let id = voter.submit(ballot(&poll.id, 1)).await?;
    let held = {
        let mid = mid.clone();
        voter.with_dir(move |d| d.my_ballots(&mid)).await?
    };
    ensure!(
        held.len() == 1 && held[0].choice == Some(1) && held[0].ack.is_none(),
        "{held:?}"
    );
    voter.flush_outbox().await?;
    voter.sync_once().await?;
    let ack = ack_of(&voter, &id).await?.context("answered")?;
    ensure!(
        matches!(ack.outcome, CommandOutcome::Applied { .. }),
        "{ack:?}"
    );
    let kept = {
        let mid = mid.clone();
        voter.with_dir(move |d| d.my_ballots(&mid)).await?
    };
    ensure!(
        kept.len() == 1 && kept[0].choice.is_none() && kept[0].ack.as_ref() == Some(&ack),
        "recorded, choice forgotten: {kept:?}"
    );
    let p = poll_on(&voter, &poll.id).context("the poll on the device")?;
    ensure!(
        p.turnout
            .contains(&phonghop_core::PersonId::new(delegate(1))),
        "the device knows it voted"
    );
    // Nothing under the device's folder holds a choice: not the database,
    // its WAL, nor anything else (the log has turnout only while open).
    for (path, bytes) in phonghop_tests::files::files_under(&folder)? {
        let hit = phonghop_tests::files::contains(&bytes, b"\"choice\"");
        ensure!(!hit, "{} still holds a ballot choice", path.display());
    }
    // The outbox lists nothing left to do, and the app's other lists
    // still read (a forgotten body is not a damaged one).
    let unsettled = voter.with_dir(move |d| d.unsettled(&mid)).await?;
    ensure!(unsettled.is_empty(), "{unsettled:?}");
    drop(others);
    Ok(())
}
