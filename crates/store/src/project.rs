//! Projection: writes the rows an applied event touched, reading them from
//! the reducer's state. This is the only code that writes projection tables,
//! for hub and client alike, so the two can never disagree on a row's shape.
//!
//! [`dump`] renders every projection table in key order; two stores that
//! applied the same events give byte-identical dumps.

use phonghop_core::reducer::Touched;
use phonghop_core::State;
use phonghop_core::{MeetingId, PollId};
use rusqlite::{params, Connection};
use serde::Serialize;
use std::collections::HashSet;

fn json<T: Serialize + ?Sized>(v: &T) -> rusqlite::Result<String> {
    serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Writes the touched rows. Runs inside the caller's transaction.
/// Writes what `touched` names as the state now has it: each row once,
/// however often the batch touched it, and a poll's counts once however
/// many ballots landed (a device applying a live batch of 50 ballots wrote
/// the same counts 50 times).
pub(crate) fn write(conn: &Connection, state: &State, touched: &[Touched]) -> rusqlite::Result<()> {
    let mut seen: HashSet<&Touched> = HashSet::with_capacity(touched.len());
    let mut counted: HashSet<(&MeetingId, &PollId)> = HashSet::new();
    for t in touched {
        if !seen.insert(t) {
            continue;
        }
        if let Touched::Vote(mid, pid, _) = t {
            if counted.insert((mid, pid)) {
                if let Some(p) = state.meetings.get(mid).and_then(|m| m.polls.get(pid)) {
                    conn.prepare_cached(
                        "UPDATE polls SET counts = ?3 WHERE meeting = ?1 AND id = ?2",
                    )?
                    .execute(params![
                        mid.as_str(),
                        pid.as_str(),
                        json(&p.counts)?
                    ])?;
                }
            }
        }
        write_one(conn, state, t)?;
    }
    Ok(())
}

fn write_one(conn: &Connection, state: &State, t: &Touched) -> rusqlite::Result<()> {
    let dir = &state.directory;
    match t {
        Touched::Body(id) => {
            if let Some(b) = dir.bodies.get(id) {
                conn.execute(
                    "INSERT OR REPLACE INTO bodies (id, name) VALUES (?1, ?2)",
                    params![b.id.as_str(), b.name],
                )?;
            }
        }
        Touched::Person(id) => {
            if let Some(p) = dir.persons.get(id) {
                conn.execute(
                    "INSERT OR REPLACE INTO persons (id, name, title, unit) VALUES (?1, ?2, ?3, ?4)",
                    params![p.id.as_str(), p.name, p.title, p.unit],
                )?;
            }
        }
        Touched::Device(id) => {
            if let Some(d) = dir.devices.get(id) {
                conn.execute(
                    "INSERT OR REPLACE INTO devices (id, person, public_key, label, paired_at, revoked_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        d.id.as_str(),
                        d.person.as_str(),
                        d.public_key.to_hex(),
                        d.label,
                        d.paired_at.0,
                        d.revoked_at.map(|t| t.0)
                    ],
                )?;
            }
        }
        Touched::Meeting(mid) => {
            if let Some(m) = state.meetings.get(mid) {
                conn.execute(
                    "INSERT INTO meetings (id, body, title, starts_at, place, status, current_item)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (id) DO UPDATE SET body = ?2, title = ?3, starts_at = ?4, place = ?5,
                       status = ?6, current_item = ?7",
                    params![
                        m.id.as_str(),
                        m.body,
                        m.title,
                        m.starts_at.map(|t| t.0),
                        m.place,
                        m.status.code(),
                        m.current_item.as_ref().map(|i| i.as_str())
                    ],
                )?;
            }
        }
        Touched::Member(mid, pid) => {
            if let Some(mem) = state.meetings.get(mid).and_then(|m| m.members.get(pid)) {
                conn.execute(
                    "INSERT OR REPLACE INTO members (meeting, person, name, title, role) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![mid.as_str(), pid.as_str(), mem.name, mem.title, mem.role.code()],
                )?;
            }
        }
        Touched::Agenda(mid) => {
            conn.execute(
                "DELETE FROM agenda_items WHERE meeting = ?1",
                params![mid.as_str()],
            )?;
            if let Some(m) = state.meetings.get(mid) {
                let mut stmt = conn.prepare_cached(
                    "INSERT INTO agenda_items (meeting, id, parent, number, depth, ord, title, presenter, planned_minutes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                for (ord, n) in m.numbered_agenda().into_iter().enumerate() {
                    stmt.execute(params![
                        mid.as_str(),
                        n.item.id.as_str(),
                        n.item.parent.as_ref().map(|p| p.as_str()),
                        n.number,
                        n.depth as i64,
                        ord as i64,
                        n.item.title,
                        n.item.presenter,
                        n.item.planned_minutes
                    ])?;
                }
            }
        }
        Touched::Document(mid, did) => {
            if let Some(d) = state.meetings.get(mid).and_then(|m| m.documents.get(did)) {
                conn.execute(
                    "INSERT OR REPLACE INTO documents (meeting, id, item, title, confidentiality) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        mid.as_str(),
                        did.as_str(),
                        d.item.as_ref().map(|i| i.as_str()),
                        d.title,
                        json(&d.confidentiality)?
                    ],
                )?;
                let mut stmt = conn.prepare_cached(
                    "INSERT OR REPLACE INTO document_versions (meeting, document, version, sha256, size, pages, file_name, added_at, analysis)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                for v in &d.versions {
                    stmt.execute(params![
                        mid.as_str(),
                        did.as_str(),
                        v.version,
                        v.sha256.to_hex(),
                        i64::try_from(v.size).unwrap_or(i64::MAX),
                        v.pages,
                        v.file_name,
                        v.added_at.0,
                        v.analysis.map(|h| h.to_hex())
                    ])?;
                }
            }
        }
        Touched::Annotation(mid, aid) => {
            match state.meetings.get(mid).and_then(|m| m.annotations.get(aid)) {
                Some(a) => {
                    conn.execute(
                        "INSERT OR REPLACE INTO annotations (meeting, id, author, document, version, page, shape, color, text, visibility, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                        params![
                            mid.as_str(),
                            aid.as_str(),
                            a.author.as_str(),
                            a.document.as_str(),
                            a.version,
                            a.page,
                            json(&a.shape)?,
                            a.color,
                            a.text,
                            json(&a.visibility)?.trim_matches('"'),
                            a.updated_at.0
                        ],
                    )?;
                }
                None => {
                    conn.execute(
                        "DELETE FROM annotations WHERE meeting = ?1 AND id = ?2",
                        params![mid.as_str(), aid.as_str()],
                    )?;
                }
            }
        }
        Touched::Attendance(mid, pid) => {
            if let Some(a) = state.meetings.get(mid).and_then(|m| m.attendance.get(pid)) {
                conn.execute(
                    "INSERT OR REPLACE INTO attendance (meeting, person, present, at) VALUES (?1, ?2, ?3, ?4)",
                    params![mid.as_str(), pid.as_str(), a.present, a.at.0],
                )?;
            }
        }
        Touched::Speaker(mid, rid) => {
            if let Some(s) = state.meetings.get(mid).and_then(|m| m.speakers.get(rid)) {
                conn.execute(
                    "INSERT OR REPLACE INTO speaker_requests (meeting, id, person, item, requested_at, status)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        mid.as_str(),
                        rid.as_str(),
                        s.person.as_str(),
                        s.item.as_ref().map(|i| i.as_str()),
                        s.requested_at.0,
                        s.status.code()
                    ],
                )?;
            }
        }
        Touched::Poll(mid, pid) => {
            if let Some(p) = state.meetings.get(mid).and_then(|m| m.polls.get(pid)) {
                // An upsert, not INSERT OR REPLACE: a replace deletes the
                // row first, which cascades to every ballot and turnout row
                // of the poll, and all of them had to be written again —
                // 500 deletes and 500 inserts on every device at the close,
                // the moment everyone waits for the result. Ballot and
                // turnout rows are written as each vote lands
                // (`Touched::Vote`) and stay.
                conn.prepare_cached(
                    "INSERT INTO polls (meeting, id, item, question, options, secret, rule, eligible, closes_at,
                       status, counts, present_at_open, outcome)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                     ON CONFLICT (meeting, id) DO UPDATE SET item = ?3, question = ?4, options = ?5,
                       secret = ?6, rule = ?7, eligible = ?8, closes_at = ?9, status = ?10, counts = ?11,
                       present_at_open = ?12, outcome = ?13",
                )?
                .execute(params![
                    mid.as_str(),
                    pid.as_str(),
                    p.item.as_ref().map(|i| i.as_str()),
                    p.question,
                    json(&p.options)?,
                    p.secret,
                    json(&p.rule)?,
                    json(&p.eligible)?,
                    p.closes_at.map(|t| t.0),
                    p.status.code(),
                    json(&p.counts)?,
                    p.present_at_open,
                    p.outcome.as_ref().map(json).transpose()?
                ])?;
            }
        }
        // The counts: once per write (`write`).
        Touched::Vote(mid, pid, person) => {
            if let Some(p) = state.meetings.get(mid).and_then(|m| m.polls.get(pid)) {
                if let Some(person) = person {
                    if let Some(choice) = p.named.get(person) {
                        conn.prepare_cached(
                            "INSERT OR IGNORE INTO ballots (meeting, poll, voter, choice) VALUES (?1, ?2, ?3, ?4)",
                        )?
                        .execute(params![mid.as_str(), pid.as_str(), person.as_str(), choice])?;
                    } else if p.turnout.contains(person) {
                        conn.prepare_cached(
                            "INSERT OR IGNORE INTO turnout (meeting, poll, person) VALUES (?1, ?2, ?3)",
                        )?
                        .execute(params![mid.as_str(), pid.as_str(), person.as_str()])?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The projection tables and their key order, for [`dump`].
const TABLES: &[(&str, &str)] = &[
    ("bodies", "id"),
    ("persons", "id"),
    ("devices", "id"),
    ("meetings", "id"),
    ("members", "meeting, person"),
    ("agenda_items", "meeting, ord"),
    ("documents", "meeting, id"),
    ("document_versions", "meeting, document, version"),
    ("annotations", "meeting, id"),
    ("attendance", "meeting, person"),
    ("speaker_requests", "meeting, id"),
    ("polls", "meeting, id"),
    ("ballots", "meeting, poll, voter"),
    ("turnout", "meeting, poll, person"),
];

/// Every projection row as text, table by table in key order.
pub(crate) fn dump(conn: &Connection) -> rusqlite::Result<String> {
    use std::fmt::Write;
    let mut out = String::new();
    for (table, order) in TABLES {
        let _ = writeln!(out, "# {table}");
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))?;
        let cols = stmt.column_count();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(cols);
            for i in 0..cols {
                let v: rusqlite::types::Value = row.get(i)?;
                cells.push(format!("{v:?}"));
            }
            let _ = writeln!(out, "{}", cells.join(" | "));
        }
    }
    Ok(out)
}
