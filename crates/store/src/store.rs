//! [`Store`]: the event logs and projections of one hub or one client.

use crate::db::{self, sqlite_err};
use crate::{project, StoreError};
use phonghop_core::log::{entry_hash, verify_chain, ChainError};
use phonghop_core::{Event, Hash, LogEntry, LogId, PublicKey, SecretKey, Signature, State};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An entry a device received but could not apply (see
/// [`Store::quarantined`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// Log key.
    pub log: String,
    /// Entry seq.
    pub seq: u64,
    /// The reducer's code.
    pub code: String,
    /// The reducer's reason.
    pub reason: String,
}

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
    /// The next global append position (hub side; see [`LogEntry::gseq`]).
    next_gseq: i64,
    /// Set when a reload failed: the state may be stale, so writes are
    /// refused until the store is opened again (fail closed).
    halted: Option<String>,
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
        gseq: r.get::<_, Option<i64>>(6)?.unwrap_or(0),
        salt: r
            .get::<_, Option<Vec<u8>>>(7)?
            .map(|v| {
                <[u8; 32]>::try_from(v).map(Hash).map_err(|_| {
                    rusqlite::Error::InvalidColumnType(
                        7,
                        "salt".into(),
                        rusqlite::types::Type::Blob,
                    )
                })
            })
            .transpose()?,
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
        "SELECT seq, prev_hash, payload_hash, hash, signature, payload, gseq, salt FROM log_entries
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

/// Every entry of every log, in the global append order (the replay order).
pub(crate) fn read_all(conn: &Connection) -> rusqlite::Result<Vec<Result<LogEntry, String>>> {
    let mut stmt = conn.prepare(
        "SELECT seq, prev_hash, payload_hash, hash, signature, payload, gseq, salt, log
         FROM log_entries ORDER BY gseq",
    )?;
    let rows = stmt.query_map([], |r| {
        let key: String = r.get(8)?;
        Ok(match LogId::parse_key(&key) {
            Some(log) => Ok(row_to_entry(&log, r)?),
            None => Err(key),
        })
    })?;
    rows.collect()
}

/// What replaying a database gives.
pub(crate) struct Replayed {
    pub(crate) state: State,
    pub(crate) heads: BTreeMap<LogId, (u64, Hash)>,
    pub(crate) next_gseq: i64,
    /// Every row the replay touched (only when asked for).
    pub(crate) touched: Vec<phonghop_core::reducer::Touched>,
    pub(crate) logs: usize,
    pub(crate) entries: usize,
    pub(crate) redacted: usize,
}

/// Verifies every log's chain and signatures, then replays all entries in
/// the global append order with the reducer. Entries this device set aside
/// (`quarantine`) are skipped; any other refusal fails the replay. The one
/// replay of [`Store::open`] and [`crate::verify_database`].
pub(crate) fn replay_all(
    conn: &Connection,
    path: &Path,
    key: Option<&PublicKey>,
    collect_touched: bool,
) -> Result<Replayed, StoreError> {
    let err = sqlite_err(path);
    let chain = |source| StoreError::Chain {
        path: path.to_path_buf(),
        source,
    };
    let mut out = Replayed {
        state: State::default(),
        heads: BTreeMap::new(),
        next_gseq: 1,
        touched: Vec::new(),
        logs: 0,
        entries: 0,
        redacted: 0,
    };
    let rows = read_all(conn).map_err(&err)?;
    if rows.is_empty() {
        return Ok(out);
    }
    let key = key.ok_or_else(|| StoreError::NoHubKey(path.to_path_buf()))?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        entries.push(row.map_err(|k| {
            chain(ChainError::Decode {
                log: k,
                seq: 0,
                reason: "unknown log key".into(),
            })
        })?);
    }
    let mut per_log: BTreeMap<&LogId, Vec<&LogEntry>> = BTreeMap::new();
    for e in &entries {
        per_log.entry(&e.log).or_default().push(e);
    }
    for log_entries in per_log.values_mut() {
        log_entries.sort_by_key(|e| e.seq);
        out.redacted += verify_chain(log_entries.iter().copied(), key).map_err(chain)?;
        if let Some(w) = log_entries.windows(2).find(|w| w[0].gseq >= w[1].gseq) {
            return Err(chain(ChainError::Decode {
                log: w[1].log.key(),
                seq: w[1].seq,
                reason: "its place in the global order precedes its predecessor's".into(),
            }));
        }
    }
    out.logs = per_log.len();
    out.entries = entries.len();
    let set_aside = quarantined_keys(conn).map_err(&err)?;
    for e in &entries {
        if let Some(ev) = e.event().map_err(chain)? {
            match out.state.apply(&e.log, &ev) {
                Ok(touched) => {
                    if collect_touched {
                        out.touched.extend(touched);
                    }
                }
                Err(_) if set_aside.contains(&(e.log.key(), e.seq)) => {}
                Err(r) => {
                    return Err(chain(ChainError::Decode {
                        log: e.log.key(),
                        seq: e.seq,
                        reason: format!("the reducer refuses it on replay: {r}"),
                    }))
                }
            }
        }
        out.heads.insert(e.log.clone(), (e.seq, e.hash));
        out.next_gseq = out.next_gseq.max(e.gseq + 1);
    }
    Ok(out)
}

/// The (log key, seq) of every quarantined entry.
fn quarantined_keys(
    conn: &Connection,
) -> rusqlite::Result<std::collections::HashSet<(String, u64)>> {
    let mut stmt = conn.prepare("SELECT log, seq FROM quarantine")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
        ))
    })?;
    rows.collect()
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
            next_gseq: 1,
            halted: None,
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
    /// failed transaction left the in-memory state ahead of the disk),
    /// replaying every entry in the global append order. If that fails the
    /// store is halted: it refuses writes until it is opened again, rather
    /// than go on from a state that is not the log's.
    fn reload(&mut self) -> Result<(), StoreError> {
        match self.replay() {
            Ok((state, heads, next)) => {
                self.state = state;
                self.heads = heads;
                self.next_gseq = next;
                self.halted = None;
                Ok(())
            }
            Err(e) => {
                self.halted = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Why writes are stopped, if they are (see [`StoreError::Halted`]).
    pub fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    fn check_not_halted(&self) -> Result<(), StoreError> {
        match &self.halted {
            Some(reason) => Err(StoreError::Halted {
                path: self.path.clone(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Verifies every log and replays all entries in `gseq` order.
    #[allow(clippy::type_complexity)]
    fn replay(&self) -> Result<(State, BTreeMap<LogId, (u64, Hash)>, i64), StoreError> {
        let key = self.hub_key()?;
        let r = replay_all(&self.conn, &self.path, key.as_ref(), false)?;
        Ok((r.state, r.heads, r.next_gseq))
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
        fresh.sort_by_key(|e| e.gseq);
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

    /// At most `limit` entries of several logs after the given seqs, merged
    /// in global order: the first `limit` of their union, read in one
    /// snapshot. Returns them and whether more remain.
    pub fn entries_merged(
        &self,
        logs: &[(LogId, u64)],
        limit: usize,
    ) -> Result<(Vec<LogEntry>, bool), StoreError> {
        let mut all = Vec::new();
        for (log, after) in logs {
            // Each log's first `limit` hold the union's first `limit`.
            let page = read_log_page(&self.conn, log, *after, limit.saturating_add(1))
                .map_err(sqlite_err(&self.path))?;
            all.extend(page);
        }
        all.sort_by_key(|e| e.gseq);
        let more = all.len() > limit;
        all.truncate(limit);
        Ok((all, more))
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
        extra: impl FnOnce(&Connection, &[LogEntry]) -> rusqlite::Result<()>,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let ops: Vec<(&LogId, &Event)> = events.iter().map(|e| (log, e)).collect();
        self.append_across(&ops, hub, extra)
    }

    /// Hub side: appends events to one or several logs in one transaction,
    /// in the order given, which becomes their global order (`gseq`). All
    /// or nothing, like [`Store::append_with`]. Moving an annotation
    /// between a personal log and the meeting log is one such batch.
    pub fn append_across(
        &mut self,
        ops: &[(&LogId, &Event)],
        hub: &SecretKey,
        extra: impl FnOnce(&Connection, &[LogEntry]) -> rusqlite::Result<()>,
    ) -> Result<Vec<LogEntry>, StoreError> {
        self.group(|g| g.append_across(ops, hub, extra))?
    }

    /// Hub side: group commit. Runs `f` with a [`Group`]: every batch it
    /// appends is checked and written inside one SQLite transaction, each
    /// batch all or nothing on its own (a savepoint), and the transaction
    /// commits once at the end — one disk flush for many commands that
    /// arrived together. If SQLite fails anywhere, nothing of the group is
    /// kept and the state is rebuilt from disk.
    pub fn group<T>(&mut self, f: impl FnOnce(&mut Group<'_>) -> T) -> Result<T, StoreError> {
        self.check_not_halted()?;
        let path = self.path.clone();
        let err = sqlite_err(&path);
        let (out, outcome, heads, next_gseq, wrote) = {
            let tx = self.conn.transaction().map_err(&err)?;
            let mut g = Group {
                tx,
                state: &mut self.state,
                base_heads: &self.heads,
                heads: BTreeMap::new(),
                next_gseq: self.next_gseq,
                path: &path,
                broken: None,
                wrote: false,
            };
            let out = f(&mut g);
            let Group {
                tx,
                heads,
                next_gseq,
                broken,
                wrote,
                ..
            } = g;
            let outcome = match broken {
                Some(e) => {
                    drop(tx);
                    Err(e)
                }
                None => tx.commit().map_err(&err),
            };
            (out, outcome, heads, next_gseq, wrote)
        };
        match outcome {
            Ok(()) => {
                self.heads.extend(heads);
                self.next_gseq = next_gseq;
                Ok(out)
            }
            Err(e) => self.restore_after_failure(e, wrote),
        }
    }

    /// After a failed transaction. The reducer changes nothing when it
    /// refuses an event, so a batch refused at its first event (a command
    /// the rules refuse: the common case) leaves the state as it was. If
    /// earlier events of the batch were applied, or SQLite failed, the
    /// state is rebuilt from disk; if that replay fails, the store halts.
    fn restore_after_failure<T>(
        &mut self,
        e: StoreError,
        applied_some: bool,
    ) -> Result<T, StoreError> {
        if applied_some || !matches!(e, StoreError::Rejected(_)) {
            self.reload()?;
        }
        Err(e)
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
        // Apply in the hub's global order, whatever order the pages of
        // several logs arrived in (each log's own order is kept: `gseq`
        // grows with `seq`, checked below).
        // (A pull page or one live message is already in order: no copy.)
        let sorted;
        let entries = if entries.is_sorted_by_key(|e| e.gseq) {
            entries
        } else {
            let mut v = entries.to_vec();
            v.sort_by_key(|e| e.gseq);
            sorted = v;
            &sorted[..]
        };
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

    /// Writes and applies checked entries in one transaction. An entry the
    /// reducer refuses is kept in its chain but not applied, and recorded in
    /// `quarantine` with the reason (see [`Store::quarantined`]); the rest of
    /// the batch goes on, so a device never stops syncing over one entry.
    fn write_replicated(
        &mut self,
        fresh: &[(&LogEntry, Option<Event>)],
    ) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let err = sqlite_err(&path);
        let tx = self.conn.transaction().map_err(&err)?;
        let mut failure = None;
        // The projection rows are written once for the whole batch, after
        // every entry is applied: the state then holds each row's last value.
        let mut touched = Vec::new();
        for (entry, ev) in fresh {
            let res = match ev {
                Some(ev) => match apply_entry(&tx, &mut self.state, entry, ev, &mut touched) {
                    Err(Failure::Reduce(refusal)) => {
                        // Nothing changed in the state (the reducer checks
                        // before it changes): keep the entry, set it aside.
                        insert_entry(&tx, entry)
                            .and_then(|()| quarantine(&tx, entry, &refusal))
                            .map_err(Failure::Sql)
                    }
                    other => other,
                },
                None => insert_entry(&tx, entry).map_err(Failure::Sql),
            };
            if let Err(e) = res {
                failure = Some(e.with_path(&path));
                break;
            }
        }
        if failure.is_none() {
            if let Err(e) = project::write(&tx, &self.state, &touched) {
                failure = Some(Failure::Sql(e).with_path(&path));
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
            Err(e) => self.restore_after_failure(e, true),
        }
    }

    /// Entries received but set aside because this device's reducer refused
    /// them: (log key, seq, code, reason), oldest first.
    pub fn quarantined(&self) -> Result<Vec<Quarantined>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT log, seq, code, reason FROM quarantine ORDER BY log, seq")
            .map_err(sqlite_err(&self.path))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Quarantined {
                    log: r.get(0)?,
                    seq: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    code: r.get(2)?,
                    reason: r.get(3)?,
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(sqlite_err(&self.path))?;
        Ok(rows)
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
        // The global position of each log's newest entry (held or new).
        let mut last_gseq: BTreeMap<&LogId, i64> = BTreeMap::new();
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
            let before = match last_gseq.get(&entry.log) {
                Some(g) => Some(*g),
                None => match head {
                    Some((seq, _)) => self.held_gseq(&entry.log, seq)?,
                    None => None,
                },
            };
            if before.is_some_and(|g| entry.gseq <= g) {
                let source = ChainError::Decode {
                    log: entry.log.key(),
                    seq: entry.seq,
                    reason: "its place in the hub's global order precedes its predecessor's".into(),
                };
                return Err(refused(entry, source));
            }
            last_gseq.insert(&entry.log, entry.gseq);
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

    /// The global position of entry `seq` of `log` as we hold it.
    fn held_gseq(&self, log: &LogId, seq: u64) -> Result<Option<i64>, StoreError> {
        self.conn
            .prepare_cached("SELECT gseq FROM log_entries WHERE log = ?1 AND seq = ?2")
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![log.key(), i64::try_from(seq).unwrap_or(i64::MAX)],
                    |r| r.get::<_, Option<i64>>(0),
                )
                .optional()
            })
            .map(Option::flatten)
            .map_err(sqlite_err(&self.path))
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

    /// Deletes everything this store holds of its hub — every log (the
    /// directory too: people's names, device keys), every projection row,
    /// the search text and the hub's key — in one transaction, keeping
    /// only the schema and the caller's own tables named in `keep`. (A
    /// revoked device; `secure_delete` overwrites the rows.)
    pub fn wipe_all(&mut self, keep: &[&str]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = sqlite_err(&path);
        let tx = self.conn.transaction().map_err(&err)?;
        let tables: Vec<String> = tx
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .map_err(&err)?;
        // FTS5 keeps its index in shadow tables named after the virtual
        // table: deleting from the virtual table empties them.
        let virtual_names: Vec<String> = tx
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .map_err(&err)?;
        for t in &tables {
            let shadow = virtual_names
                .iter()
                .any(|v| t != v && t.starts_with(&format!("{v}_")));
            if shadow || keep.contains(&t.as_str()) {
                continue;
            }
            tx.execute(&format!("DELETE FROM \"{t}\""), [])
                .map_err(&err)?;
        }
        tx.commit().map_err(&err)?;
        self.hub = None;
        self.reload()
    }

    /// Deletes a meeting's logs and projections (a revoked device wiping its
    /// cache). Blobs are left to the blob store's garbage collection.
    pub fn wipe_meeting(&mut self, meeting: &phonghop_core::MeetingId) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = sqlite_err(&path);
        let tx = self.conn.transaction().map_err(&err)?;
        for table in ["log_entries", "quarantine"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE log = ?1 OR log LIKE ?2"),
                params![
                    LogId::Meeting(meeting.clone()).key(),
                    format!("p/{meeting}/%")
                ],
            )
            .map_err(&err)?;
        }
        tx.execute(
            "DELETE FROM meetings WHERE id = ?1",
            params![meeting.as_str()],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)?;
        self.reload()
    }
}

/// Appends inside one transaction of [`Store::group`].
pub struct Group<'s> {
    tx: Transaction<'s>,
    state: &'s mut State,
    base_heads: &'s BTreeMap<LogId, (u64, Hash)>,
    /// Heads moved by this group (committed into the store's at the end).
    heads: BTreeMap<LogId, (u64, Hash)>,
    next_gseq: i64,
    path: &'s Path,
    /// A SQLite failure: the whole group is rolled back.
    broken: Option<StoreError>,
    /// Whether any batch was applied to the in-memory state.
    wrote: bool,
}

impl std::fmt::Debug for Group<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("path", &self.path)
            .field("next_gseq", &self.next_gseq)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// The error every later batch of a group gets once SQLite failed in it.
fn broken_by(path: &Path, e: &StoreError) -> StoreError {
    StoreError::Halted {
        path: path.to_path_buf(),
        reason: format!("an earlier write of this group failed: {e}"),
    }
}

impl Group<'_> {
    /// The state with every batch of this group applied so far.
    pub fn state(&self) -> &State {
        self.state
    }

    /// The transaction's connection: reads see this group's writes.
    pub fn conn(&self) -> &Connection {
        &self.tx
    }

    /// Appends one batch (one or several logs, in order), all or nothing:
    /// a refused event undoes the batch — in SQLite (savepoint) and in the
    /// state — and leaves the group's other batches as they are. `extra`
    /// runs inside the batch (e.g. to record a command with its answer).
    pub fn append_across(
        &mut self,
        ops: &[(&LogId, &Event)],
        hub: &SecretKey,
        extra: impl FnOnce(&Connection, &[LogEntry]) -> rusqlite::Result<()>,
    ) -> Result<Vec<LogEntry>, StoreError> {
        if let Some(e) = &self.broken {
            return Err(broken_by(self.path, e));
        }
        let path = self.path;
        let err = sqlite_err(path);
        // The reducer changes nothing when it refuses an event, so only a
        // batch of several events needs a copy to go back to.
        let before = (ops.len() > 1).then(|| self.state.clone());
        let sp = match self.tx.savepoint() {
            Ok(sp) => sp,
            Err(e) => {
                let e = err(e);
                self.broken = Some(broken_by(path, &e));
                return Err(e);
            }
        };
        let mut out = Vec::with_capacity(ops.len());
        let mut heads: BTreeMap<LogId, (u64, Hash)> = BTreeMap::new();
        let mut gseq = self.next_gseq;
        let mut failure = None;
        for (log, ev) in ops {
            let head = heads
                .get(*log)
                .or_else(|| self.heads.get(*log))
                .or_else(|| self.base_heads.get(*log))
                .copied();
            let mut entry = match LogEntry::seal((*log).clone(), head, ev, hub) {
                Ok(e) => e,
                Err(source) => {
                    failure = Some(StoreError::Encode {
                        what: "event",
                        source,
                    });
                    break;
                }
            };
            entry.gseq = gseq;
            match apply_and_write(&sp, self.state, &entry, ev) {
                Ok(()) => {
                    heads.insert((*log).clone(), (entry.seq, entry.hash));
                    gseq += 1;
                    out.push(entry);
                }
                Err(e) => {
                    failure = Some(e.with_path(path));
                    break;
                }
            }
        }
        if failure.is_none() {
            if let Err(e) = extra(&sp, &out) {
                failure = Some(err(e));
            }
        }
        let outcome = match failure {
            Some(e) => Err(e),
            None => sp.commit().map_err(&err),
        };
        match outcome {
            Ok(()) => {
                self.heads.extend(heads);
                self.next_gseq = gseq;
                self.wrote = true;
                Ok(out)
            }
            Err(e) => {
                // The savepoint rolls back when dropped (on the error path
                // it was not committed).
                if let Some(state) = before {
                    *self.state = state;
                }
                if !matches!(e, StoreError::Rejected(_) | StoreError::Encode { .. }) {
                    // SQLite itself failed: keep nothing of this group.
                    self.broken = Some(broken_by(path, &e));
                    self.wrote = true;
                }
                Err(e)
            }
        }
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
    if !e.payload_matches() {
        return Err(ChainError::Payload {
            log: e.log.key(),
            seq: e.seq,
        });
    }
    if entry_hash(&e.log, e.seq, &e.prev_hash, &e.payload_hash) != e.hash {
        return Err(ChainError::Hash {
            log: e.log.key(),
            seq: e.seq,
        });
    }
    Ok(())
}

fn insert_entry(tx: &Connection, e: &LogEntry) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO log_entries (log, seq, prev_hash, payload_hash, hash, signature, payload, gseq, salt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        e.log.key(),
        i64::try_from(e.seq).unwrap_or(i64::MAX),
        &e.prev_hash.0[..],
        &e.payload_hash.0[..],
        &e.hash.0[..],
        &e.signature.to_bytes()[..],
        e.payload,
        e.gseq,
        e.salt.as_ref().map(|s| &s.0[..])
    ])?;
    Ok(())
}

fn quarantine(
    tx: &Connection,
    e: &LogEntry,
    refusal: &phonghop_core::ReduceError,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO quarantine (log, seq, code, reason) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        e.log.key(),
        i64::try_from(e.seq).unwrap_or(i64::MAX),
        refusal.code(),
        refusal.to_string()
    ])?;
    Ok(())
}

/// Applies one entry and stores it; what it touched is added to `touched`
/// for the caller to project.
fn apply_entry(
    tx: &Connection,
    state: &mut State,
    entry: &LogEntry,
    ev: &Event,
    touched: &mut Vec<phonghop_core::reducer::Touched>,
) -> Result<(), Failure> {
    touched.extend(state.apply(&entry.log, ev).map_err(Failure::Reduce)?);
    insert_entry(tx, entry).map_err(Failure::Sql)
}

fn apply_and_write(
    tx: &Connection,
    state: &mut State,
    entry: &LogEntry,
    ev: &Event,
) -> Result<(), Failure> {
    let touched = state.apply(&entry.log, ev).map_err(Failure::Reduce)?;
    insert_entry(tx, entry).map_err(Failure::Sql)?;
    project::write(tx, state, &touched).map_err(Failure::Sql)
}
