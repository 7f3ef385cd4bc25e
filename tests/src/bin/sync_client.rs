//! A device in its own process, for the SIGKILL test of the outbox: opens
//! a client folder that has joined a hub and sends its outbox, then prints
//! `acked N` (or `error CODE MESSAGE`) on stdout. The parent kills it while
//! the hub's answer is held by the test proxy, then runs it again.

use anyhow::{Context, Result};
use phonghop_client::Client;
use std::path::Path;

fn main() -> Result<()> {
    let dir = std::env::args().nth(1).context("usage: sync-client DIR")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = Client::open(Path::new(&dir))?;
        println!("sending");
        match client.flush_outbox().await {
            Ok(n) => println!("acked {n}"),
            Err(e) => println!("error {} {e}", e.code()),
        }
        Ok(())
    })
}
