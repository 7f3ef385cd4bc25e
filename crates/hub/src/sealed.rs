//! A secret poll's sealed choices, unlinkable in the hub's database.
//!
//! While a secret poll is open the hub publishes only its turnout (who
//! voted); the choices wait, sealed, until the close publishes them all
//! together in option order ([`crate::hubdir::closing_events`]).
//!
//! They wait as one row per poll: the count per option (`u32` little
//! endian each, so the size is fixed by the poll's options), encrypted with
//! ChaCha20-Poly1305 under a fresh random nonce at every ballot, with the
//! meeting and poll as associated data. Each ballot rewrites that row in
//! the transaction that records the voter's turnout, so a copy of `hub.db`
//! (and its WAL) taken at any moment holds no row per ballot, nothing in
//! arrival order, and no bytes that differ by choice: without the key,
//! consecutive versions of the row are unrelated random strings of one
//! length.
//!
//! The key is derived from the hub's signing seed (`hub.key`, a separate
//! `0600` file, never in the database) and the poll's ids. Whoever holds
//! `hub.key` can already forge the hub's whole log; the running hub process
//! and its key are trusted, as DESIGN.md says. At the close the row is
//! deleted (`secure_delete` zeroes it) and the WAL is checkpointed and
//! truncated, so no earlier version stays behind.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use phonghop_core::{MeetingId, PollId, SecretKey};
use phonghop_store::rusqlite::{self, params, OptionalExtension};
use sha2::{Digest, Sha256};

/// Most options a sealed tally holds (a poll has a handful).
const MAX_OPTIONS: usize = 64;

fn failure(msg: impl Into<String>) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(msg.into().into())
}

/// The poll's own key: SHA-256 over a domain tag, the hub's seed and the
/// length-prefixed ids.
fn key(hub: &SecretKey, meeting: &MeetingId, poll: &PollId) -> Key {
    let mut h = Sha256::new();
    h.update(b"phonghop sealed tally v1\0");
    h.update(hub.to_seed());
    for id in [meeting.as_str(), poll.as_str()] {
        h.update((id.len() as u64).to_le_bytes());
        h.update(id.as_bytes());
    }
    Key::from(<[u8; 32]>::from(h.finalize()))
}

fn aad(meeting: &MeetingId, poll: &PollId) -> Vec<u8> {
    format!("{}\0{}", meeting.as_str(), poll.as_str()).into_bytes()
}

/// The poll's sealed counts, if any ballot was sealed.
pub(crate) fn read(
    conn: &rusqlite::Connection,
    hub: &SecretKey,
    meeting: &MeetingId,
    poll: &PollId,
) -> rusqlite::Result<Option<Vec<u32>>> {
    let row: Option<(Vec<u8>, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT nonce, sealed FROM sealed_tallies WHERE meeting = ?1 AND poll = ?2",
        )?
        .query_row(params![meeting.as_str(), poll.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((nonce, sealed)) = row else {
        return Ok(None);
    };
    let nonce: [u8; 12] = nonce
        .try_into()
        .map_err(|_| failure(format!("the sealed tally of poll '{poll}' has a bad nonce")))?;
    let plain = ChaCha20Poly1305::new(&key(hub, meeting, poll))
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &sealed,
                aad: &aad(meeting, poll),
            },
        )
        .map_err(|_| {
            failure(format!(
                "the sealed tally of poll '{poll}' does not open with this hub's key (changed, or from another hub)"
            ))
        })?;
    if plain.len() % 4 != 0 || plain.len() / 4 > MAX_OPTIONS {
        return Err(failure(format!(
            "the sealed tally of poll '{poll}' has a bad length"
        )));
    }
    Ok(Some(
        plain
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    ))
}

/// Adds one ballot for `choice` to the poll's sealed tally (of `options`
/// counts), re-encrypted under a fresh nonce.
pub(crate) fn add(
    conn: &rusqlite::Connection,
    hub: &SecretKey,
    meeting: &MeetingId,
    poll: &PollId,
    options: usize,
    choice: u32,
) -> rusqlite::Result<()> {
    let options = options.min(MAX_OPTIONS);
    let mut counts = read(conn, hub, meeting, poll)?.unwrap_or_default();
    counts.resize(options, 0);
    let slot = counts
        .get_mut(choice as usize)
        .ok_or_else(|| failure(format!("option {choice} of poll '{poll}' does not exist")))?;
    *slot += 1;
    let plain: Vec<u8> = counts.iter().flat_map(|c| c.to_le_bytes()).collect();
    let mut nonce = [0u8; 12];
    getrandom::getrandom(&mut nonce).map_err(|e| failure(format!("no randomness: {e}")))?;
    let sealed = ChaCha20Poly1305::new(&key(hub, meeting, poll))
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &plain,
                aad: &aad(meeting, poll),
            },
        )
        .map_err(|_| failure("cannot seal the tally"))?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO sealed_tallies (meeting, poll, nonce, sealed) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![meeting.as_str(), poll.as_str(), &nonce[..], sealed])?;
    Ok(())
}

/// Forgets the poll's sealed tally (and any per-ballot rows an older
/// version left).
pub(crate) fn remove(
    conn: &rusqlite::Connection,
    meeting: &MeetingId,
    poll: &PollId,
) -> rusqlite::Result<()> {
    for table in ["sealed_tallies", "sealed_ballots"] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE meeting = ?1 AND poll = ?2"),
            [meeting.as_str(), poll.as_str()],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_opens_only_with_its_hub_and_poll_and_every_version_differs() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE sealed_tallies (meeting TEXT, poll TEXT, nonce BLOB, sealed BLOB,
             PRIMARY KEY (meeting, poll)) WITHOUT ROWID;",
        )
        .unwrap();
        let hub = SecretKey::from_seed([3; 32]);
        let (m, p) = (MeetingId::new("kh"), PollId::new("bk"));
        let row = || -> Vec<u8> {
            conn.query_row("SELECT sealed FROM sealed_tallies", [], |r| r.get(0))
                .unwrap()
        };
        let mut seen = Vec::new();
        for c in [0, 1, 0, 2, 0] {
            add(&conn, &hub, &m, &p, 3, c).unwrap();
            let r = row();
            assert_eq!(r.len(), 3 * 4 + 16, "fixed size: counts + tag");
            assert!(!seen.contains(&r), "a fresh nonce every time");
            seen.push(r);
        }
        assert_eq!(read(&conn, &hub, &m, &p).unwrap(), Some(vec![3, 1, 1]));
        let other = SecretKey::from_seed([4; 32]);
        assert!(read(&conn, &other, &m, &p).is_err(), "another hub's key");
        assert!(add(&conn, &hub, &m, &p, 3, 7).is_err(), "no option 7");
        assert_eq!(read(&conn, &hub, &m, &p).unwrap(), Some(vec![3, 1, 1]));
    }
}
