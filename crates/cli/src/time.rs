//! Times as secretaries write them. Meetings happen in Vietnam (UTC+7, no
//! daylight saving), so a time without an offset is read as Vietnam time.

use anyhow::{bail, Result};
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use phonghop_core::Timestamp;

const VIETNAM_SECS: i32 = 7 * 3600;

fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(VIETNAM_SECS)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC offset"))
}

/// Now, as a [`Timestamp`]: the one place the CLI reads the clock.
pub fn now() -> Timestamp {
    Timestamp(chrono::Utc::now().timestamp_millis())
}

/// Parses "2026-12-08 08:00", "2026-12-08T08:00" (Vietnam time) or RFC 3339.
pub fn parse(s: &str) -> Result<Timestamp> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Timestamp(t.timestamp_millis()));
    }
    for fmt in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            if let Some(t) = vietnam().from_local_datetime(&n).single() {
                return Ok(Timestamp(t.timestamp_millis()));
            }
        }
    }
    bail!("'{s}' is not a date and time: write it as 2026-12-08 08:00 (Vietnam time)")
}

/// "08:00 08/12/2026", Vietnam time.
pub fn show(t: Timestamp) -> String {
    match vietnam().timestamp_millis_opt(t.0).single() {
        Some(d) => d.format("%H:%M %d/%m/%Y").to_string(),
        None => format!("{} ms", t.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnam_time_round_trip() {
        let t = parse("2026-12-08 08:00").unwrap();
        assert_eq!(show(t), "08:00 08/12/2026");
        assert_eq!(parse("2026-12-08T01:00:00Z").unwrap(), t);
        assert!(parse("8/12").is_err());
    }
}
