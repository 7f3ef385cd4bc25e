//! Text rendering of a meeting for the terminal.

use crate::time;
use phonghop_core::reducer::MeetingState;
use std::fmt::Write;

/// The meeting's header, agenda tree and papers.
pub fn agenda(m: &MeetingState) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}", m.body, m.title);
    let when = m.starts_at.map(time::show);
    let place = m.place.as_deref();
    match (when, place) {
        (Some(w), Some(p)) => _ = writeln!(out, "{w} · {p}"),
        (Some(w), None) => _ = writeln!(out, "{w}"),
        (None, Some(p)) => _ = writeln!(out, "{p}"),
        (None, None) => {}
    }
    let _ = writeln!(out, "[{}] meeting id {}", m.status.code(), m.id);
    let r = m.retention;
    if r != phonghop_core::Retention::default() {
        let part =
            |v: Option<u32>, unit: &str| v.map_or("-".to_string(), |n| format!("{n} {unit}"));
        let _ = writeln!(
            out,
            "retention: delete {} after the close · lock after {} offline · app locks after {} idle",
            part(r.delete_after_days, "days"),
            part(r.lock_after_offline_days, "days"),
            part(r.idle_lock_minutes, "min")
        );
    }
    let _ = writeln!(out);
    for n in m.numbered_agenda() {
        let indent = "  ".repeat(n.depth);
        let _ = write!(out, "{indent}{:<5} {}", n.number, n.item.title);
        if let Some(p) = &n.item.presenter {
            let _ = write!(out, " — {p}");
        }
        if let Some(min) = n.item.planned_minutes {
            let _ = write!(out, " ({min}′)");
        }
        let _ = writeln!(out);
        for d in m
            .documents
            .values()
            .filter(|d| d.item.as_ref() == Some(&n.item.id))
        {
            let pages = d.versions.last().and_then(|v| v.pages).unwrap_or(0);
            let unit = if pages == 1 { "page" } else { "pages" };
            let _ = writeln!(
                out,
                "{indent}      📄 {} ({pages} {unit}, version {})",
                d.title,
                d.versions.len()
            );
        }
    }
    out
}
