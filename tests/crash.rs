//! Crash safety of the event log: a child process appending events is killed
//! with SIGKILL at random moments, at least 200 times. After every kill the
//! database passes `PRAGMA integrity_check`, the chain verifies (store open
//! replays and verifies it; `verify_database` re-checks everything), and no
//! entry the child acknowledged is missing.

use phonghop_core::LogId;
use phonghop_store::{verify_database, Store};
use phonghop_tests::meeting;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const KILLS: usize = 200;

/// xorshift64: reproducible kill moments from a printed seed.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("kill-moment seed: {seed}");
    let mut rng = seed;
    let log = LogId::Meeting(meeting());
    let mut killed_mid_run = 0;
    let mut last_acked = 0u64;
    for round in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash-writer"))
            .arg(&db)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start crash-writer");
        let acked = Arc::new(AtomicU64::new(0));
        let reader = {
            let acked = acked.clone();
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(n) = line
                        .strip_prefix("ack ")
                        .and_then(|n| n.parse::<u64>().ok())
                    {
                        acked.fetch_max(n, Ordering::SeqCst);
                    }
                }
            })
        };
        // Between 0 and 40 ms: some kills land while opening, most mid-write.
        std::thread::sleep(Duration::from_micros(next(&mut rng) % 40_000));
        child.kill().expect("SIGKILL the writer");
        let status = child.wait().unwrap();
        reader.join().unwrap();
        if status.code().is_none() {
            killed_mid_run += 1;
        } else {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            panic!("round {round}: the writer exited by itself ({status}): {err}");
        }
        let acked = acked.load(Ordering::SeqCst);
        last_acked = last_acked.max(acked);

        let conn = rusqlite::Connection::open(&db).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "round {round}: integrity_check after SIGKILL");
        drop(conn);
        let store = Store::open(&db)
            .unwrap_or_else(|e| panic!("round {round}: store does not reopen: {e}"));
        let head = store.head(&log).map_or(0, |h| h.0);
        assert!(
            head >= last_acked,
            "round {round}: entry {last_acked} was acknowledged but the log ends at {head}"
        );
        drop(store);
        if round % 50 == 49 {
            let r = verify_database(&db).unwrap_or_else(|e| panic!("round {round}: verify: {e}"));
            assert!(r.entries as u64 >= last_acked);
        }
    }
    let report = verify_database(&db).unwrap();
    println!(
        "{KILLS} SIGKILLs ({killed_mid_run} mid-run), {} entries survive, last acknowledged {last_acked}",
        report.entries
    );
    assert_eq!(killed_mid_run, KILLS);
    assert!(
        last_acked > 0,
        "the writer acknowledged something at least once"
    );
}
