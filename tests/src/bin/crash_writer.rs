//! Child process for the crash test: appends events to a store as fast as it
//! can, one or several per transaction, and prints `ack <seq>` on stdout
//! after each commit returns. The parent kills it with SIGKILL at a random
//! moment and checks that every acknowledged entry survived.

use anyhow::{Context, Result};
use phonghop_core::LogId;
use phonghop_store::Store;
use phonghop_tests::{agenda_item, hub_key, meeting, meeting_created};
use std::io::Write;

fn main() -> Result<()> {
    let path = std::env::args().nth(1).context("usage: crash-writer DB")?;
    let mut store = Store::open(std::path::Path::new(&path))?;
    store.set_hub_key(&hub_key().public())?;
    let log = LogId::Meeting(meeting());
    let key = hub_key();
    if store.head(&log).is_none() {
        store.append(&log, &[meeting_created()], &key)?;
    }
    let mut out = std::io::stdout().lock();
    loop {
        let seq = store.head(&log).map_or(0, |h| h.0);
        // Alternate single appends and batches of three in one transaction.
        let batch: Vec<_> = (0..(1 + 2 * (seq % 2)))
            .map(|i| agenda_item(seq * 10 + i))
            .collect();
        let entries = store.append(&log, &batch, &key)?;
        if let Some(last) = entries.last() {
            writeln!(out, "ack {}", last.seq)?;
            out.flush()?;
        }
    }
}
