//! A device's cache of one hub: `client.db` (the same store and reducer as
//! the hub), `blobs/`, `device.key`, and the pairing in the `settings`
//! table. Synchronous: the async [`crate::Client`] calls in through
//! `spawn_blocking`.

use crate::ClientError;
use phonghop_core::protocol::*;
use phonghop_core::*;
use phonghop_store::rusqlite::{params, OptionalExtension};
use phonghop_store::{BlobStore, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A search hit with the character boxes to highlight.
pub type BoxedHit = (phonghop_store::search::SearchHit, Vec<[f32; 4]>);

/// What pairing established.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pairing {
    /// The invite it came from (without the code).
    pub address: String,
    /// Base URL.
    pub base_url: String,
    /// Pinned certificate, if HTTPS.
    pub cert_sha256: Option<String>,
    /// Our device id.
    pub device: DeviceId,
    /// Whom we act for.
    pub person: PersonId,
    /// Their name.
    pub person_name: String,
}

/// Whether a local write has reached the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingState {
    /// Durable in the outbox, not yet acknowledged ("đã lưu trên máy").
    Saved,
    /// Acknowledged and applied by the hub ("đã gửi").
    Sent,
}

/// An annotation as the device shows it: the hub's copy, overlaid with
/// writes still in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalAnnotation {
    /// The annotation.
    pub annotation: Annotation,
    /// Saved locally or sent.
    pub state: PendingState,
}

/// An open client folder.
#[derive(Debug)]
pub struct ClientDir {
    root: PathBuf,
    store: Store,
    blobs: BlobStore,
    key: SecretKey,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ClientError + '_ {
    move |source| {
        ClientError::Store(StoreError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

impl ClientDir {
    /// Opens (creating) the folder; makes the device key on first use.
    pub fn open(root: &Path) -> Result<ClientDir, ClientError> {
        std::fs::create_dir_all(root).map_err(io(root))?;
        let key_path = root.join("device.key");
        let key = if key_path.is_file() {
            let text = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
            let mut seed = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut seed).map_err(|_| {
                ClientError::Protocol(format!(
                    "{} is damaged (not 64 hex digits)",
                    key_path.display()
                ))
            })?;
            SecretKey::from_seed(seed)
        } else {
            let mut seed = [0u8; 32];
            getrandom::getrandom(&mut seed)
                .map_err(|e| ClientError::Protocol(format!("no OS randomness: {e}")))?;
            write_private(&key_path, hex::encode(seed).as_bytes())?;
            SecretKey::from_seed(seed)
        };
        let store = Store::open(&root.join("client.db"))?;
        let blobs = BlobStore::open(&root.join("blobs"))?;
        Ok(ClientDir {
            root: root.to_path_buf(),
            store,
            blobs,
            key,
        })
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }
    /// The store, for replication.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }
    /// Blobs.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }
    /// The device key.
    pub fn key(&self) -> &SecretKey {
        &self.key
    }

    fn sqlite(&self, source: phonghop_store::rusqlite::Error) -> ClientError {
        ClientError::Store(StoreError::Sqlite {
            path: self.root.join("client.db"),
            source,
        })
    }

    /// The pairing, if this device has joined.
    pub fn pairing(&self) -> Result<Option<Pairing>, ClientError> {
        let v: Option<String> = self
            .store
            .conn()
            .query_row(
                "SELECT value FROM settings WHERE key = 'pairing'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sqlite(e))?;
        v.map(|v| {
            serde_json::from_str(&v)
                .map_err(|e| ClientError::Protocol(format!("stored pairing is damaged: {e}")))
        })
        .transpose()
    }

    /// Records a pairing and pins the hub's log key.
    pub fn set_pairing(&mut self, p: &Pairing, hub_key: &PublicKey) -> Result<(), ClientError> {
        self.store.set_hub_key(hub_key)?;
        let json = serde_json::to_string(p).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.store
            .conn()
            .execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES ('pairing', ?1)",
                params![json],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    /// Queues a command: signed and durable in SQLite before this returns,
    /// so "saved on this device" is true when the UI says it.
    pub fn enqueue(&mut self, command: Command, now: Timestamp) -> Result<CommandId, ClientError> {
        let pairing = self.pairing()?.ok_or(ClientError::NotJoined)?;
        let mut rnd = [0u8; 12];
        getrandom::getrandom(&mut rnd).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let id = CommandId::new(format!("c-{}", hex::encode(rnd)));
        let meeting = command.meeting().clone();
        let signed = SignedCommand::sign(
            CommandBody {
                device: pairing.device,
                id: id.clone(),
                issued_at: now,
                command,
            },
            &self.key,
        )
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let body =
            serde_json::to_string(&signed).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.store
            .conn()
            .execute(
                "INSERT INTO outbox (id, meeting, body, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![id.as_str(), meeting.as_str(), body, now.0],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(id)
    }

    /// Commands not yet acknowledged, oldest first.
    pub fn pending(&self) -> Result<Vec<SignedCommand>, ClientError> {
        let mut stmt = self
            .store
            .conn()
            .prepare("SELECT body FROM outbox WHERE acked_at IS NULL ORDER BY created_at, rowid")
            .map_err(|e| self.sqlite(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.sqlite(e))?;
        let mut out = Vec::new();
        for r in rows {
            let body = r.map_err(|e| self.sqlite(e))?;
            out.push(
                serde_json::from_str(&body)
                    .map_err(|e| ClientError::Protocol(format!("outbox entry is damaged: {e}")))?,
            );
        }
        Ok(out)
    }

    /// Records the hub's answer for a queued command.
    pub fn acknowledge(&mut self, ack: &CommandAck, now: Timestamp) -> Result<(), ClientError> {
        let json = serde_json::to_string(ack).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.store
            .conn()
            .execute(
                "UPDATE outbox SET acked_at = ?1, ack = ?2 WHERE id = ?3",
                params![now.0, json, ack.id.as_str()],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    /// The answer recorded for a command, if acknowledged.
    pub fn ack_of(&self, id: &CommandId) -> Result<Option<CommandAck>, ClientError> {
        let v: Option<Option<String>> = self
            .store
            .conn()
            .query_row(
                "SELECT ack FROM outbox WHERE id = ?1",
                params![id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sqlite(e))?;
        v.flatten()
            .map(|s| serde_json::from_str(&s).map_err(|e| ClientError::Protocol(e.to_string())))
            .transpose()
    }

    /// My annotations on a paper (all versions), hub copy overlaid with the
    /// outbox: pending adds and edits show as `Saved`, pending deletes hide.
    pub fn annotations(
        &self,
        meeting: &MeetingId,
        document: &DocumentId,
    ) -> Result<Vec<LocalAnnotation>, ClientError> {
        let me = self.pairing()?.map(|p| p.person);
        let mut out: std::collections::BTreeMap<AnnotationId, LocalAnnotation> = self
            .store
            .state()
            .meetings
            .get(meeting)
            .map(|m| {
                m.annotations
                    .values()
                    .filter(|a| &a.document == document)
                    .map(|a| {
                        (
                            a.id.clone(),
                            LocalAnnotation {
                                annotation: a.clone(),
                                state: PendingState::Sent,
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        for cmd in self.pending()? {
            match cmd.body.command {
                Command::AddAnnotation {
                    meeting: m,
                    annotation,
                }
                | Command::EditAnnotation {
                    meeting: m,
                    annotation,
                } if &m == meeting
                    && &annotation.document == document
                    && Some(&annotation.author) == me.as_ref() =>
                {
                    out.insert(
                        annotation.id.clone(),
                        LocalAnnotation {
                            annotation,
                            state: PendingState::Saved,
                        },
                    );
                }
                Command::DeleteAnnotation {
                    meeting: m,
                    annotation,
                } if &m == meeting => {
                    out.remove(&annotation);
                }
                _ => {}
            }
        }
        Ok(out.into_values().collect())
    }

    /// Indexes a downloaded analysis blob for search (once per version).
    pub fn index_version(
        &self,
        meeting: &MeetingId,
        document: &DocumentId,
        version: &DocumentVersion,
    ) -> Result<bool, ClientError> {
        let Some(a) = version.analysis else {
            return Ok(false);
        };
        if !self.blobs.has(&a)
            || phonghop_store::search::is_indexed(
                self.store.conn(),
                meeting,
                document,
                version.version,
            )
            .map_err(|e| self.sqlite(e))?
        {
            return Ok(false);
        }
        let path = self.blobs.path(&a);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let analysis: AnalysisText = serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Protocol(format!("paper analysis {a} is not valid: {e}")))?;
        let texts: Vec<&str> = analysis.pages.iter().map(|p| p.text.as_str()).collect();
        phonghop_store::search::index_pages(
            self.store.conn(),
            meeting,
            document,
            version.version,
            &texts,
        )
        .map_err(|e| self.sqlite(e))?;
        Ok(true)
    }

    /// The page texts and character boxes of a paper version (from its
    /// analysis blob), if downloaded.
    pub fn paper_text(
        &self,
        meeting: &MeetingId,
        document: &DocumentId,
        version: u32,
    ) -> Result<Vec<PageText>, ClientError> {
        let v = self
            .store
            .state()
            .meetings
            .get(meeting)
            .and_then(|m| m.documents.get(document))
            .and_then(|d| d.versions.iter().find(|v| v.version == version))
            .ok_or_else(|| {
                ClientError::Protocol(format!("no version {version} of paper '{document}' here"))
            })?;
        let a = v.analysis.filter(|a| self.blobs.has(a)).ok_or_else(|| {
            ClientError::Protocol(format!(
                "the text of paper '{document}' has not arrived yet"
            ))
        })?;
        let path = self.blobs.path(&a);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let analysis: AnalysisText = serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Protocol(format!("paper analysis {a} is not valid: {e}")))?;
        Ok(analysis.pages)
    }

    /// Full-text search over downloaded papers (Vietnamese-folded), with
    /// the character boxes of each hit for highlighting.
    pub fn search(
        &self,
        query: &str,
        meeting: Option<&MeetingId>,
    ) -> Result<Vec<BoxedHit>, ClientError> {
        let hits = phonghop_store::search::search(self.store.conn(), query, meeting, 100)
            .map_err(|e| self.sqlite(e))?;
        let mut out = Vec::with_capacity(hits.len());
        for h in hits {
            let boxes = self
                .paper_text(&h.meeting, &h.document, h.version)
                .ok()
                .and_then(|pages| pages.into_iter().nth(h.page as usize))
                .map(|p| {
                    h.ranges
                        .iter()
                        .flat_map(|&(a, b)| {
                            p.boxes.get(a..b.min(p.boxes.len())).unwrap_or(&[]).to_vec()
                        })
                        .filter(|bx| bx[2] > bx[0] && bx[3] > bx[1])
                        .collect()
                })
                .unwrap_or_default();
            out.push((h, boxes));
        }
        Ok(out)
    }

    /// Wipes every cached meeting, its search index and all blobs (after
    /// this device was revoked).
    pub fn wipe(&mut self) -> Result<(), ClientError> {
        let ids: Vec<MeetingId> = self.store.state().meetings.keys().cloned().collect();
        for m in ids {
            phonghop_store::search::drop_meeting(self.store.conn(), &m)
                .map_err(|e| self.sqlite(e))?;
            self.store.wipe_meeting(&m)?;
        }
        let blobs = self.root.join("blobs");
        let _ = std::fs::remove_dir_all(&blobs);
        self.blobs = BlobStore::open(&blobs)?;
        self.store
            .conn()
            .execute("DELETE FROM outbox", [])
            .map_err(|e| self.sqlite(e))?;
        Ok(())
    }
}

/// The part of the hub's import analysis the client reads (page texts).
#[derive(Debug, Deserialize)]
pub struct AnalysisText {
    /// Pages.
    pub pages: Vec<PageText>,
}

/// One page's text and boxes.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PageText {
    /// Width in points.
    pub width: f32,
    /// Height in points.
    pub height: f32,
    /// Text.
    pub text: String,
    /// One box per char.
    pub boxes: Vec<[f32; 4]>,
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io(path))
}
