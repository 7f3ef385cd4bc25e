//! `phonghop audit` anchors trust in the hub's key (issue 13, item 6).
//!
//! A meeting export carries the key it was signed with, so an export that
//! someone re-signed with a key of their own verifies against itself. The
//! audit prints whose key signed it, and with `--hub-key` refuses an
//! export not signed by the hub it names.
//!
//! Needs the `phonghop` binary: `cargo build -p phonghop-cli` first
//! (scripts/test does).

use anyhow::{ensure, Context, Result};
use phonghop_core::audit::MeetingExport;
use phonghop_core::{LogEntry, SecretKey};
use phonghop_tests::e2e::workspace_bin;
use phonghop_tests::hub::{TestHub, MEETING};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn audit(file: &Path, hub_key: Option<&str>) -> Result<Output> {
    let mut cmd = Command::new(workspace_bin("phonghop", "phonghop-cli")?);
    cmd.arg("audit").arg(file);
    if let Some(k) = hub_key {
        cmd.args(["--hub-key", k]);
    }
    cmd.stdin(Stdio::null())
        .output()
        .context("run phonghop audit")
}

/// Every entry sealed again with `key`, as a forger holding the export
/// (and not the hub's key) would.
fn resigned(export: &MeetingExport, key: &SecretKey) -> Result<MeetingExport> {
    let reseal = |entries: &[LogEntry]| -> Result<Vec<LogEntry>> {
        let mut out: Vec<LogEntry> = Vec::new();
        for e in entries {
            let ev = e.event()?.context("a full export")?;
            let prev = out.last().map(|p| (p.seq, p.hash));
            out.push(LogEntry::seal(e.log.clone(), prev, &ev, key)?);
        }
        Ok(out)
    };
    Ok(MeetingExport {
        hub_key: key.public(),
        directory: reseal(&export.directory)?,
        entries: reseal(&export.entries)?,
        ..export.clone()
    })
}

#[test]
fn an_export_resigned_with_another_key_fails_against_the_hub_key() -> Result<()> {
    let hub = TestHub::with_meeting(3, &[], true)?;
    let real = hub.hub()?.export(MEETING)?;
    let fingerprint = real.hub_key.fingerprint();
    let tmp = tempfile::tempdir()?;
    let good = tmp.path().join("export.json");
    std::fs::write(&good, serde_json::to_vec(&real)?)?;
    let forger = SecretKey::from_seed([42; 32]);
    let forged = resigned(&real, &forger)?;
    let bad = tmp.path().join("forged.json");
    std::fs::write(&bad, serde_json::to_vec(&forged)?)?;

    // Pinned to the hub's fingerprint (as people type it: upper case, in
    // groups), the real export passes and says so.
    let grouped = fingerprint
        .to_uppercase()
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let out = audit(&good, Some(&grouped))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success() && stdout.starts_with("AUDIT OK"),
        "the real export audits: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        stdout.contains(&format!("expected hub key {fingerprint}")),
        "{stdout}"
    );

    // The forged export is consistent with itself: without a pin it
    // passes, and the audit names the key that signed it.
    let out = audit(&bad, None)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "unpinned, the forgery verifies: {stdout}"
    );
    ensure!(
        stdout.contains(&format!(
            "Signed by hub key {}",
            forger.public().fingerprint()
        )) && stdout.contains("--hub-key"),
        "the audit names the signer and how to pin it: {stdout}"
    );

    // Pinned, it fails, naming both keys, on one line.
    let out = audit(&bad, Some(&fingerprint))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "a forged export must fail: {stderr}");
    ensure!(
        stderr.contains("AUDIT FAILED")
            && stderr.contains(&forger.public().fingerprint())
            && stderr.contains(&fingerprint)
            && stderr.trim().lines().count() == 1,
        "{stderr}"
    );
    ensure!(
        out.stdout.is_empty(),
        "nothing printed as audited: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(())
}
