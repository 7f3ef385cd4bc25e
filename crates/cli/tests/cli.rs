//! The real `phonghop` binary in fresh temp dirs: the demo prints a
//! Vietnamese agenda; bad input gives one clear line, a non-zero exit code,
//! and changes nothing.

use std::path::Path;
use std::process::{Command, Output};

fn phonghop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phonghop"))
        .args(args)
        .env_remove("PHONGHOP_DATA")
        .output()
        .expect("run phonghop")
}

fn ok(args: &[&str]) -> String {
    let out = phonghop(args);
    assert!(
        out.status.success(),
        "phonghop {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Runs a command that must fail; returns its one-line error.
fn refused(args: &[&str]) -> String {
    let out = phonghop(args);
    assert!(!out.status.success(), "phonghop {args:?} must fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line of error for {args:?}: {err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    err
}

/// Everything the hub holds, to prove a refused command changed nothing.
fn snapshot(dir: &Path) -> (String, usize) {
    let store = phonghop_store::Store::open(&dir.join("hub.db")).unwrap();
    let entries: usize = store.heads().values().map(|h| h.0 as usize).sum();
    (store.dump_projection().unwrap(), entries)
}

#[test]
fn demo_prints_the_vietnamese_agenda_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = ok(&["demo", "--dir", dir.to_str().unwrap()]);
    for want in [
        "HĐND tỉnh Sơn Hà",
        "Kỳ họp thứ mười hai",
        "1     Khai mạc kỳ họp",
        "3.1",
        "Tờ trình số 45/TTr-UBND",
        "Dự thảo Nghị quyết",
        "Báo cáo tình hình kinh tế – xã hội",
    ] {
        assert!(out.contains(want), "demo output lacks {want:?}:\n{out}");
    }
    // A second run reuses the hub and prints the same agenda.
    assert_eq!(ok(&["demo", "--dir", dir.to_str().unwrap()]), out);
    let v = ok(&["--data", dir.to_str().unwrap(), "log", "verify"]);
    assert!(v.starts_with("OK:"), "{v}");

    // The papers' text, extracted by PDFium at import, is searchable with
    // or without Vietnamese marks.
    let conn = rusqlite::Connection::open(dir.join("hub.db")).unwrap();
    for q in ["nghi quyet", "nghị quyết", "NGHI QUYET"] {
        let hits = phonghop_store::search::search(&conn, q, None, 50).unwrap();
        assert!(
            hits.len() >= 2,
            "{q:?} finds the draft resolution and the submission: {hits:?}"
        );
        assert!(
            hits.iter()
                .any(|h| h.snippet.contains("«Nghị quyết»") || h.snippet.contains("«nghị quyết»")),
            "{q:?}: snippets mark the match: {hits:?}"
        );
    }
}

#[test]
fn bad_input_is_refused_with_one_line_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    let d = dir.to_str().unwrap();
    ok(&["--data", d, "init"]);
    let m = ok(&[
        "--data",
        d,
        "meeting",
        "create",
        "--title",
        "Kỳ họp thứ nhất",
        "--body",
        "HĐND xã An Phú",
        "--id",
        "kh1",
    ]);
    assert_eq!(m.trim(), "kh1");
    ok(&[
        "--data",
        d,
        "agenda",
        "add",
        "--meeting",
        "kh1",
        "--number",
        "1",
        "--title",
        "Khai mạc",
    ]);
    let before = snapshot(&dir);

    let notpdf = tmp.path().join("bien-ban.pdf");
    std::fs::write(&notpdf, "đây không phải PDF").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["init"], "already holds a hub"),
        (
            vec![
                "paper",
                "add",
                "/nonexistent/to-trinh.pdf",
                "--meeting",
                "kh1",
            ],
            "no such file",
        ),
        (
            vec![
                "paper",
                "add",
                notpdf.to_str().unwrap(),
                "--meeting",
                "kh1",
                "--item",
                "1",
            ],
            "bien-ban.pdf",
        ),
        (
            vec![
                "paper",
                "add",
                notpdf.to_str().unwrap(),
                "--meeting",
                "nope",
            ],
            "no meeting 'nope'",
        ),
        (
            vec![
                "agenda",
                "add",
                "--meeting",
                "nope",
                "--number",
                "2",
                "--title",
                "X",
            ],
            "no meeting 'nope'",
        ),
        (
            vec![
                "agenda",
                "add",
                "--meeting",
                "kh1",
                "--number",
                "1",
                "--title",
                "X",
            ],
            "already exists",
        ),
        (
            vec![
                "agenda",
                "add",
                "--meeting",
                "kh1",
                "--number",
                "3",
                "--title",
                "X",
            ],
            "next free number there is 2",
        ),
        (
            vec![
                "agenda",
                "add",
                "--meeting",
                "kh1",
                "--number",
                "1.x",
                "--title",
                "X",
            ],
            "not an agenda number",
        ),
        (
            vec!["meeting", "add-member", "kh1", "ghost"],
            "no person 'ghost'",
        ),
        (
            vec![
                "meeting",
                "create",
                "--title",
                "X",
                "--body",
                "Y",
                "--starts-at",
                "tomorrow",
            ],
            "not a date",
        ),
    ];
    for (args, want) in &cases {
        let mut full = vec!["--data", d];
        full.extend(args);
        let err = refused(&full);
        assert!(err.contains(want), "{args:?}: expected {want:?} in {err}");
        assert_eq!(snapshot(&dir), before, "{args:?} must change nothing");
    }
    let err = refused(&["meeting", "list"]);
    assert!(err.contains("--data"), "{err}");
    let err = refused(&[
        "--data",
        tmp.path().join("empty").to_str().unwrap(),
        "meeting",
        "list",
    ]);
    assert!(err.contains("phonghop init"), "{err}");
}

#[test]
fn a_tampered_database_is_refused_and_log_verify_names_the_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    let d = dir.to_str().unwrap();
    ok(&["--data", d, "init"]);
    ok(&[
        "--data",
        d,
        "meeting",
        "create",
        "--title",
        "Kỳ họp",
        "--body",
        "HĐND",
        "--id",
        "kh1",
    ]);
    ok(&[
        "--data",
        d,
        "agenda",
        "add",
        "--meeting",
        "kh1",
        "--number",
        "1",
        "--title",
        "Khai mạc",
    ]);
    ok(&[
        "--data",
        d,
        "agenda",
        "add",
        "--meeting",
        "kh1",
        "--number",
        "2",
        "--title",
        "Thông qua nghị quyết",
    ]);
    assert!(ok(&["--data", d, "log", "verify"]).contains("3 entries"));
    let conn = rusqlite::Connection::open(dir.join("hub.db")).unwrap();
    conn.execute(
        "UPDATE log_entries SET payload = replace(payload, 'Thông qua', 'Bác bỏ') WHERE seq = 3",
        [],
    )
    .unwrap();
    drop(conn);
    let err = refused(&["--data", d, "log", "verify"]);
    assert!(err.contains("entry 3") && err.contains("altered"), "{err}");
    let err = refused(&["--data", d, "meeting", "list"]);
    assert!(err.contains("does not verify"), "{err}");
}

#[test]
fn agenda_move_renumbers_and_meeting_edit_keeps_what_is_not_given() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("hub");
    let data = d.to_str().unwrap();
    ok(&["--data", data, "init"]);
    ok(&[
        "--data",
        data,
        "meeting",
        "create",
        "--id",
        "m",
        "--title",
        "Kỳ họp thứ năm",
        "--body",
        "HĐND xã An Bình",
        "--place",
        "Hội trường xã",
    ]);
    for (n, t) in [
        ("1", "Khai mạc"),
        ("2", "Tờ trình"),
        ("2.1", "Dự thảo"),
        ("3", "Bế mạc"),
    ] {
        ok(&[
            "--data",
            data,
            "agenda",
            "add",
            "--meeting",
            "m",
            "--number",
            n,
            "--title",
            t,
        ]);
    }
    // Item 2 (with its child) goes last: the children follow, numbers follow.
    let shown = ok(&[
        "--data",
        data,
        "agenda",
        "move",
        "--meeting",
        "m",
        "--number",
        "2",
        "--to",
        "3",
    ]);
    let lines: Vec<&str> = shown.lines().filter(|l| !l.trim().is_empty()).collect();
    let agenda: Vec<String> = lines
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(
        agenda,
        ["1 Khai mạc", "2 Bế mạc", "3 Tờ trình", "3.1 Dự thảo"],
        "{shown}"
    );
    let before = snapshot(&d);
    let err = refused(&[
        "--data",
        data,
        "agenda",
        "move",
        "--meeting",
        "m",
        "--number",
        "1",
        "--to",
        "9",
    ]);
    assert!(err.contains("9 is not between 1 and 3"), "{err}");
    let err = refused(&[
        "--data",
        data,
        "agenda",
        "move",
        "--meeting",
        "m",
        "--number",
        "7",
        "--to",
        "1",
    ]);
    assert!(err.contains("no agenda item 7"), "{err}");
    assert_eq!(snapshot(&d), before, "a refused move changed nothing");
    let shown = ok(&[
        "--data",
        data,
        "agenda",
        "edit",
        "--meeting",
        "m",
        "--number",
        "3",
        "--title",
        "Tờ trình số 45/TTr-UBND",
    ]);
    assert!(shown.contains("Tờ trình số 45/TTr-UBND"), "{shown}");
    assert!(
        shown.contains("3.1"),
        "the sub-item stays under it: {shown}"
    );

    ok(&[
        "--data",
        data,
        "meeting",
        "edit",
        "m",
        "--title",
        "Kỳ họp thứ sáu",
    ]);
    let shown = ok(&["--data", data, "meeting", "show", "m"]);
    assert!(
        shown.starts_with("HĐND xã An Bình — Kỳ họp thứ sáu"),
        "{shown}"
    );
    assert!(shown.contains("Hội trường xã"), "place kept: {shown}");
}
