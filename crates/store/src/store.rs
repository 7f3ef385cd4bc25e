//! [`Store`]: the event logs and projections of one hub or one client.

use crate::db::{self, sqlite_err};
use crate::{project, StoreError};
use phonghop_core::log::{entry_hash, verify_chain, ChainError};
use phonghop_core::{Event, Hash, LogEntry, LogId, PublicKey, SecretKey, Signature, State};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One SQLite database with its replayed state. Not `Sync`: one owner
/// (the hub's writer task, the client's sync task) serializes writes.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    conn: Connection,
    state: State,
    /// Last (seq, hash) of every log.
    heads: BTreeMap<LogId, (u64, Hash)>,
    /// SQLite's `data_version` when we last looked (see [`Store::refresh`]).
    data_version: Option<i64>,
    /// The hub's key once read: parsing it decompresses a curve point,
    /// which is not free when done for every replicated batch.
    hub: Option<PublicKey>,
}

const META_HUB_KEY: &str = "hub_public_key";

fn row_to_entry(log: &LogId, r: &rusqlite::Row<'_>) -> rusqlite::Result<LogEntry> {
    let blob32 = |i: usize| -> rusqlite::Result<Hash> {
        let v: Vec<u8> = r.get(i)?;
        let arr: [u8; 32] = v.try_into().map_err(|_| {
            rusqlite::Error::InvalidColumnType(i, "hash".into(), rusqlite::types::Type::Blob)
        })?;
        Ok(Hash(arr))
    };
    let sig: Vec<u8> = r.get(4)?;
    let sig: [u8; 64] = sig.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(4, "signature".into(), rusqlite::types::Type::Blob)
    })?;
    Ok(LogEntry {
        log: log.clone(),
        seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
        prev_hash: blob32(1)?,
        payload_hash: blob32(2)?,
        hash: blob32(3)?,
        signature: Signature::from_bytes(&sig),
        payload: r.get(5)?,
    })
}

/// Reads a whole log in order.
pub(crate) fn read_log(
    conn: &Connection,
    log: &LogId,
    after: u64,
) -> rusqlite::Result<Vec<LogEntry>> {
    read_log_page(conn, log, after, usize::MAX)
}

/// At most `limit` entries of a log after `after`, in order.
pub(crate) fn read_log_page(
    conn: &Connection,
    log: &LogId,
    after: u64,
    limit: usize,
) -> rusqlite::Result<Vec<LogEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, prev_hash, payload_hash, hash, signature, payload FROM log_entries
         WHERE log = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![
            log.key(),
            i64::try_from(after).unwrap_or(i64::MAX),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |r| row_to_entry(log, r),
    )?;
    rows.collect()
}

/// Every log key present, in replay order: directory, meetings, personal logs.
pub(crate) fn log_ids(conn: &Connection) -> rusqlite::Result<Vec<Result<LogId, String>>> {
    let mut stmt = conn.prepare("SELECT DISTINCT log FROM log_entries ORDER BY log")?;
    let keys = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for k in keys {
        let k = k?;
        out.push(LogId::parse_key(&k).ok_or(k));
    }
    Ok(out)
}

pub(crate) fn hub_key(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT value FROM meta WHERE key = ?1",
        params![META_HUB_KEY],
        |r| r.get(0),
    )
    .optional()
}

impl Store {
    /// Opens or creates the database at `path`, migrates it, and rebuilds the
    /// state by replaying every log — verifying chain and signatures on the
    /// way. A tampered log refuses to open.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = db::open(path)?;
        let mut store = Store {
            path: path.to_path_buf(),
            conn,
            state: State::default(),
            heads: BTreeMap::new(),
            data_version: None,
            hub: None,
        };
        // Read data_version before replaying, so a commit by another
        // process during the replay is noticed by the next refresh.
        store.data_version = Some(
            store
                .conn
                .pragma_query_value(None, "data_version", |r| r.get(0))
                .map_err(sqlite_err(path))?,
        );
        store.reload()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The reducer state built from every log this store holds.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Read access for queries (projection tables).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The hub's public key, if set.
    pub fn hub_key(&self) -> Result<Option<PublicKey>, StoreError> {
        let hex = hub_key(&self.conn).map_err(sqlite_err(&self.path))?;
        Ok(hex.and_then(|h| h.parse().ok()))
    }

    /// Sets the hub's public key: once for a hub at init, once for a client at
    /// pairing. Setting a different key later is refused.
    pub fn set_hub_key(&mut self, key: &PublicKey) -> Result<(), StoreError> {
        if let Some(stored) = self.hub_key()? {
            if &stored != key {
                return Err(StoreError::WrongHub {
                    path: self.path.clone(),
                    stored: stored.fingerprint(),
                    given: key.fingerprint(),
                });
            }
            return Ok(());
        }
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                params![META_HUB_KEY, key.to_hex()],
            )
            .map_err(sqlite_err(&self.path))?;
        self.hub = Some(*key);
        Ok(())
    }

    /// The hub's key for checking entries (read once, then kept).
    fn verifying_key(&mut self) -> Result<PublicKey, StoreError> {
        if let Some(k) = self.hub {
            return Ok(k);
        }
        let key = self
            .hub_key()?
            .ok_or_else(|| StoreError::NoHubKey(self.path.clone()))?;
        self.hub = Some(key);
        Ok(key)
    }

    /// Rebuilds state and heads from the database (after open, or after a
    /// failed transaction left the in-memory state ahead of the disk).
    fn reload(&mut self) -> Result<(), StoreError> {
        let err = sqlite_err(&self.path);
        let mut state = State::default();
        let mut heads = BTreeMap::new();
        let logs = log_ids(&self.conn).map_err(&err)?;
        if !logs.is_empty() {
            let key = self
                .hub_key()?
                .ok_or_else(|| StoreError::NoHubKey(self.path.clone()))?;
            for log in logs {
                let log = log.map_err(|k| StoreError::Chain {
                    path: self.path.clone(),
                    source: phonghop_core::log::ChainError::Decode {
                        log: k,
                        seq: 0,
                        reason: "unknown log key".into(),
                    },
                })?;
                let entries = read_log(&self.conn, &log, 0).map_err(&err)?;
                let chain = |source| StoreError::Chain {
                    path: self.path.clone(),
                    source,
                };
                verify_chain(&entries, &key).map_err(chain)?;
                for e in &entries {
                    if let Some(ev) = e.event().map_err(chain)? {
                        state.apply(&log, &ev)?;
                    }
                }
                if let Some(last) = entries.last() {
                    heads.insert(log, (last.seq, last.hash));
                }
            }
        }
        self.state = state;
        self.heads = heads;
        Ok(())
    }

    /// Notices entries appended by another connection (another process
    /// writing the same file, e.g. the CLI while the hub runs) and rebuilds
    /// the state from disk if there are any. Returns the new entries.
    pub fn refresh(&mut self) -> Result<Vec<LogEntry>, StoreError> {
        let path = self.path.clone();
        let err = sqlite_err(&path);
        let version: i64 = self
            .conn
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .map_err(&err)?;
        if self.data_version == Some(version) {
            return Ok(Vec::new());
        }
        self.data_version = Some(version);
        let old = self.heads.clone();
        self.reload()?;
        // (A commit landing during this reload bumps data_version again, so
        // the next refresh picks it up.)
        let mut fresh = Vec::new();
        for (log, (seq, _)) in &self.heads {
            let after = old.get(log).map_or(0, |h| h.0);
            if *seq > after {
                fresh.extend(read_log(&self.conn, log, after).map_err(&err)?);
            }
        }
        Ok(fresh)
    }

    /// The last (seq, hash) of `log`.    /// The last (seq, hash) of `log`.
    pub fn head(&self, log: &LogId) -> Option<(u64, Hash)> {
        self.heads.get(log).copied()
    }

    /// All logs this store holds, with their heads.
    pub fn heads(&self) -> &BTreeMap<LogId, (u64, Hash)> {
        &self.heads
    }

    /// Entries of `log` after `after`, in order.
    pub fn entries(&self, log: &LogId, after: u64) -> Result<Vec<LogEntry>, StoreError> {
        read_log(&self.conn, log, after).map_err(sqlite_err(&self.path))
    }

    /// At most `limit` entries of `log` after `after` (a page for a reader).
    pub fn entries_page(
        &self,
        log: &LogId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        read_log_page(&self.conn, log, after, limit).map_err(sqlite_err(&self.path))
    }

    /// Hub side: validates `events` with the reducer, seals them into `log`
    /// signed with `hub`, and commits entries and projections in one
    /// transaction. All or nothing: if any event is refused, nothing is kept.
    pub fn append(
        &mut self,
        log: &LogId,
        events: &[Event],
        hub: &SecretKey,
    ) -> Result<Vec<LogEntry>, StoreError> {
        self.append_with(log, events, hub, |_, _| Ok(()))
    }

    /// Like [`Store::append`], and runs `extra` in the same transaction
    /// with the sealed entries (e.g. to record a command id with its
    /// answer, so the events and the record commit together or not at all).
    pub fn append_with(
        &mut self,
        log: &LogId,
        events: &[Event],
        hub: &SecretKey,
        extra: impl FnOnce(&Transaction<'_>, &[LogEntry]) -> rusqlite::Result<()>,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let path = self.path.clone();
        let err = sqlite_err(&path);
        let tx = self.conn.transaction().map_err(&err)?;
        let mut out = Vec::with_capacity(events.len());
        let mut head = self.heads.get(log).copied();
        let mut failure = None;
        for ev in events {
            let entry = match LogEntry::seal(log.clone(), head, ev, hub) {
                Ok(e) => e,
                Err(source) => {
                    failure = Some(StoreError::Encode {
                        what: "event",
                        source,
                    });
                    break;
                }
            };
            match apply_and_write(&tx, &mut self.state, &entry, ev) {
                Ok(()) => {
                    head = Some((entry.seq, entry.hash));
                    out.push(entry);
                }
                Err(e) => {
                    failure = Some(e.with_path(&path));
                    break;
                }
            }
        }
        if failure.is_none() {
            if let Err(e) = extra(&tx, &out) {
                failure = Some(err(e));
            }
        }
        let outcome = match failure {
            Some(e) => {
                drop(tx);
                Err(e)
            }
            None => tx.commit().map_err(&err),
        };
        match outcome {
            Ok(()) => {
                if let Some(h) = head {
                    self.heads.insert(log.clone(), h);
                }
                Ok(out)
            }
            Err(e) => {
                // The reducer may have applied earlier events of the batch.
                self.reload()?;
                Err(e)
            }
        }
    }

    /// Client side: appends entries received from the hub, all or nothing,
    /// and applies the visible ones with the reducer. Entries we already
    /// hold (a pull and the live channel overlap) are skipped once their
    /// hash matches our copy.
    ///
    /// Every new entry must follow our copy of its log (seq, `prev_hash`),
    /// and its payload and entry hash are recomputed; the hub's signature is
    /// checked on the newest new entry of each log only. That is enough: an
    /// entry hash covers the previous hash, so the signed newest entry
    /// authenticates every entry linked before it, back to our head (itself
    /// authenticated when it arrived). One Ed25519 verification per batch
    /// instead of one per entry: a device catching up on 500 ballots pays
    /// one, not 500. Nothing is written or applied unless the whole batch
    /// checks out.
    ///
    /// The signatures of the earlier entries are stored as received (a
    /// signature is not inside the hash it signs); [`Store::open`] and
    /// [`crate::verify_database`] still check every stored one, and would
    /// name an entry whose signature the hub (or someone past the pinned
    /// TLS) had altered.
    pub fn append_replicated(&mut self, entries: &[LogEntry]) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let key = self.verifying_key()?;
        let fresh = self.check_replicated(entries, &key)?;
        if fresh.is_empty() {
            return Ok(0);
        }
        let err = sqlite_err(&path);
        // What the hub sent can always be fetched again: commit it without
        // waiting for the disk (CONTRIBUTING.md, "Durability").
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(&err)?;
        let written = self.write_replicated(&fresh);
        let restored = self
            .conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(&err);
        let n = written?;
        restored?;
        Ok(n)
    }

    /// Writes and applies checked entries in one transaction.
    fn write_replicated(
        &mut self,
        fresh: &[(&LogEntry, Option<Event>)],
    ) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let err = sqlite_err(&path);
        let tx = self.conn.transaction().map_err(&err)?;
        let mut failure = None;
        for (entry, ev) in fresh {
            let res = match ev {
                Some(ev) => apply_and_write(&tx, &mut self.state, entry, ev),
                None => insert_entry(&tx, entry).map_err(Failure::Sql),
            };
            if let Err(e) = res {
                failure = Some(e.with_path(&path));
                break;
            }
        }
        let outcome = match failure {
            Some(e) => {
                drop(tx);
                Err(e)
            }
            None => tx.commit().map_err(&err),
        };
        match outcome {
            Ok(()) => {
                for (entry, _) in fresh {
                    self.heads
                        .insert(entry.log.clone(), (entry.seq, entry.hash));
                }
                Ok(fresh.len())
            }
            Err(e) => {
                // The reducer may have applied earlier entries of the batch.
                self.reload()?;
                Err(e)
            }
        }
    }

    /// The checks of [`Store::append_replicated`], before anything is
    /// written: returns the entries we do not hold yet, each with its event
    /// (`None` when redacted).
    fn check_replicated<'a>(
        &self,
        entries: &'a [LogEntry],
        key: &PublicKey,
    ) -> Result<Vec<(&'a LogEntry, Option<Event>)>, StoreError> {
        let refused = |entry: &LogEntry, source| StoreError::Replication {
            log: entry.log.key(),
            seq: entry.seq,
            source,
        };
        let mut heads: BTreeMap<&LogId, (u64, Hash)> = BTreeMap::new();
        // Index in `fresh` of the newest new entry of each log.
        let mut newest: BTreeMap<&LogId, usize> = BTreeMap::new();
        let mut fresh: Vec<(&LogEntry, Option<Event>)> = Vec::with_capacity(entries.len());
        for entry in entries {
            let head = match heads.get(&entry.log) {
                Some(h) => Some(*h),
                None => self.heads.get(&entry.log).copied(),
            };
            if let Some((head_seq, head_hash)) = head {
                if entry.seq <= head_seq {
                    let stored = self.heads.get(&entry.log).map_or(0, |h| h.0);
                    let ours = if entry.seq == head_seq {
                        Some(head_hash)
                    } else if entry.seq > stored {
                        // Earlier in this very batch.
                        fresh
                            .iter()
                            .rev()
                            .find(|(e, _)| e.log == entry.log && e.seq == entry.seq)
                            .map(|(e, _)| e.hash)
                    } else {
                        self.held_hash(&entry.log, entry.seq)?
                    };
                    if ours != Some(entry.hash) {
                        let source = ChainError::Link {
                            log: entry.log.key(),
                            seq: entry.seq,
                        };
                        return Err(refused(entry, source));
                    }
                    continue;
                }
            }
            entry
                .verify_link(head)
                .and_then(|()| check_hashes(entry))
                .map_err(|source| refused(entry, source))?;
            let ev = entry.event().map_err(|source| refused(entry, source))?;
            heads.insert(&entry.log, (entry.seq, entry.hash));
            newest.insert(&entry.log, fresh.len());
            fresh.push((entry, ev));
        }
        for i in newest.into_values() {
            let entry = fresh[i].0;
            entry.verify(key).map_err(|source| refused(entry, source))?;
        }
        Ok(fresh)
    }

    /// The hash of entry `seq` of `log` as we hold it.
    fn held_hash(&self, log: &LogId, seq: u64) -> Result<Option<Hash>, StoreError> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT hash FROM log_entries WHERE log = ?1 AND seq = ?2")
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![log.key(), i64::try_from(seq).unwrap_or(i64::MAX)],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(sqlite_err(&self.path))?;
        Ok(bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()).map(Hash))
    }

    /// Every projection row as text, in key order: equal for two stores that
    /// applied the same events.
    pub fn dump_projection(&self) -> Result<String, StoreError> {
        project::dump(&self.conn).map_err(sqlite_err(&self.path))
    }

    /// Deletes a meeting's logs and projections (a revoked device wiping its
    /// cache). Blobs are left to the blob store's garbage collection.
    pub fn wipe_meeting(&mut self, meeting: &phonghop_core::MeetingId) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = sqlite_err(&path);
        let tx = self.conn.transaction().map_err(&err)?;
        tx.execute(
            "DELETE FROM log_entries WHERE log = ?1 OR log LIKE ?2",
            params![
                LogId::Meeting(meeting.clone()).key(),
                format!("p/{meeting}/%")
            ],
        )
        .map_err(&err)?;
        tx.execute(
            "DELETE FROM meetings WHERE id = ?1",
            params![meeting.as_str()],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)?;
        self.reload()
    }
}

enum Failure {
    Sql(rusqlite::Error),
    Reduce(phonghop_core::ReduceError),
}

impl Failure {
    fn with_path(self, path: &Path) -> StoreError {
        match self {
            Failure::Sql(e) => sqlite_err(path)(e),
            Failure::Reduce(e) => StoreError::Rejected(e),
        }
    }
}

/// An entry's payload hash and entry hash, recomputed from its fields (what
/// [`LogEntry::verify`] checks before the signature).
fn check_hashes(e: &LogEntry) -> Result<(), ChainError> {
    if let Some(p) = &e.payload {
        if Hash::of(p.as_bytes()) != e.payload_hash {
            return Err(ChainError::Payload {
                log: e.log.key(),
                seq: e.seq,
            });
        }
    }
    if entry_hash(&e.log, e.seq, &e.prev_hash, &e.payload_hash) != e.hash {
        return Err(ChainError::Hash {
            log: e.log.key(),
            seq: e.seq,
        });
    }
    Ok(())
}

fn insert_entry(tx: &Transaction<'_>, e: &LogEntry) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO log_entries (log, seq, prev_hash, payload_hash, hash, signature, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.log.key(),
        i64::try_from(e.seq).unwrap_or(i64::MAX),
        &e.prev_hash.0[..],
        &e.payload_hash.0[..],
        &e.hash.0[..],
        &e.signature.to_bytes()[..],
        e.payload
    ])?;
    Ok(())
}

fn apply_and_write(
    tx: &Transaction<'_>,
    state: &mut State,
    entry: &LogEntry,
    ev: &Event,
) -> Result<(), Failure> {
    let touched = state.apply(&entry.log, ev).map_err(Failure::Reduce)?;
    insert_entry(tx, entry).map_err(Failure::Sql)?;
    project::write(tx, state, &touched).map_err(Failure::Sql)
}
