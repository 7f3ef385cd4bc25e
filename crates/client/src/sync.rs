//! The async side of the sync engine: it moves bytes and calls the
//! decisions in [`crate::plan`] and the store.
//!
//! - pull: "events after N" for every meeting (and my personal log), verified
//!   and applied by the store (chain, hub signature, reducer);
//! - blobs: fetched in plan order, a few at a time, resumed with `Range`
//!   from the partial file, verified before they become visible;
//! - outbox: sent oldest first until acknowledged (a replay is harmless);
//!   then only the logs the acknowledged commands wrote to are pulled;
//! - live: a WebSocket pushes new entries; every message already waiting on
//!   the socket is applied with the first, as one batch; on any
//!   interruption, back off and start again with "after N".

use crate::dir::{ClientDir, Pairing};
use crate::net::{self, Live};
use crate::plan::{self, Backoff, BlobJob, LiveBatch};
use crate::ClientError;
use futures_util::{FutureExt, StreamExt};
use phonghop_core::invite::{grouped, JoinInput};
use phonghop_core::protocol::*;
use phonghop_core::sign::context;
use phonghop_core::*;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio_tungstenite::tungstenite::Message;

/// Download progress, for the UI ("bytes and papers done / total").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncProgress {
    /// Bytes of papers downloaded in this round.
    pub bytes_done: u64,
    /// Bytes of papers to download in this round.
    pub bytes_total: u64,
    /// Papers complete.
    pub papers_done: u64,
    /// Papers in this round.
    pub papers_total: u64,
}

/// Connection state, for the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// Trying to reach the hub.
    Connecting,
    /// Live channel open.
    Online,
    /// Hub unreachable; working from the local copy.
    Offline,
    /// The secretariat revoked this device: its data of that hub is wiped
    /// and it no longer connects.
    Revoked,
}

/// What one sync round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Log entries applied.
    pub entries: usize,
    /// Blobs fetched.
    pub blobs: usize,
    /// Bytes received for blobs (incl. any re-fetch after a bad blob).
    pub bytes: u64,
    /// Commands acknowledged.
    pub acked: usize,
    /// Blobs that failed verification and were fetched again.
    pub refetched: usize,
}

/// How many blobs download at once.
const PARALLEL: usize = 3;

/// Live messages applied as one batch, at most (the rest wait for the next
/// turn of the loop, so a flood cannot starve the outbox or a stop).
const LIVE_BATCH_MAX: usize = 1024;

/// The sync engine for one hub.
pub struct Client {
    dir: Arc<Mutex<ClientDir>>,
    http: reqwest::Client,
    pairing: Pairing,
    token: tokio::sync::Mutex<Option<String>>,
    progress: watch::Sender<SyncProgress>,
    connection: watch::Sender<Connection>,
    outbox_ready: Notify,
    changed: watch::Sender<u64>,
    /// When set, blobs are verified and discarded instead of stored
    /// (benchmarks with many clients on one machine).
    discard_blobs: bool,
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    /// Folders outside this client's own that hold copies of this hub's
    /// papers (the app's page cache, its exports): wiped with it.
    wipe_also: std::sync::Mutex<Vec<std::path::PathBuf>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("pairing", &self.pairing)
            .finish_non_exhaustive()
    }
}

fn system_now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    )
}

impl Client {
    /// Joins a hub with what the join screen was given (a full invite or
    /// its link, the short code with the hub's address, or the code alone:
    /// the hub is then looked for on the local network): makes (or reuses)
    /// this folder's device key, pairs it, pins the hub's certificate and
    /// log key. A short code is first bound to the hub's certificate
    /// (`phonghop_core::invite`): a computer that cannot prove it knows the
    /// code is never sent the code.
    pub async fn join(root: &Path, invite: &str, label: &str) -> Result<Client, ClientError> {
        let inv: Invite = match invite.parse::<JoinInput>()? {
            JoinInput::Invite(inv) => inv,
            JoinInput::Code { code, address } => {
                let candidates = match address {
                    Some(a) => vec![a],
                    None => crate::discover::hubs(std::time::Duration::from_secs(3)).await,
                };
                let mut last = ClientError::HubNotFound;
                let mut bound = None;
                for address in candidates {
                    match net::bind_code(&code, &address).await {
                        Ok(fp) => {
                            bound = Some(Invite {
                                code: grouped(&code),
                                address,
                                cert_sha256: Some(fp),
                            });
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                bound.ok_or(last)?
            }
        };
        net::plain_only_on_loopback(&inv)?;
        let root2 = root.to_path_buf();
        let dir = tokio::task::spawn_blocking(move || ClientDir::open(&root2))
            .await
            .map_err(|e| ClientError::Protocol(e.to_string()))??;
        let http = net::http_client(inv.cert_sha256.as_deref())?;
        let base = inv.base_url();
        let resp: PairResponse = net::post(
            &http,
            &base,
            "/v1/pair",
            None,
            &PairRequest {
                code: inv.code.clone(),
                public_key: dir.key().public(),
                label: label.to_string(),
            },
        )
        .await?;
        let pairing = Pairing {
            address: inv.address.clone(),
            base_url: base,
            cert_sha256: inv.cert_sha256.clone(),
            device: resp.device,
            person: resp.person,
            person_name: resp.person_name,
        };
        let mut dir = dir;
        dir.set_pairing(&pairing, &resp.hub_key)?;
        Client::with(dir, pairing, http)
    }

    /// Opens a folder that has joined a hub before.
    pub fn open(root: &Path) -> Result<Client, ClientError> {
        let dir = ClientDir::open(root)?;
        let pairing = dir.pairing()?.ok_or(ClientError::NotJoined)?;
        let http = net::http_client(pairing.cert_sha256.as_deref())?;
        Client::with(dir, pairing, http)
    }

    fn with(
        dir: ClientDir,
        pairing: Pairing,
        http: reqwest::Client,
    ) -> Result<Client, ClientError> {
        Ok(Client {
            dir: Arc::new(Mutex::new(dir)),
            http,
            pairing,
            token: tokio::sync::Mutex::new(None),
            progress: watch::channel(SyncProgress::default()).0,
            connection: watch::channel(Connection::Connecting).0,
            outbox_ready: Notify::new(),
            changed: watch::channel(0).0,
            discard_blobs: false,
            clock: Arc::new(system_now),
            wipe_also: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Verify and discard blobs instead of keeping them (benchmarks).
    pub fn discard_blobs(mut self, yes: bool) -> Client {
        self.discard_blobs = yes;
        self
    }

    /// Folders outside this client's own that hold copies of this hub's
    /// data (rendered pages, exported PDFs): a revocation empties them too,
    /// not only the client's database and blobs.
    pub fn wipe_also(&self, folders: Vec<std::path::PathBuf>) {
        *self.wipe_also.lock().unwrap_or_else(|p| p.into_inner()) = folders;
    }

    /// The pairing.
    pub fn pairing(&self) -> &Pairing {
        &self.pairing
    }

    /// The local folder (lock briefly; never across an `.await`).
    pub fn dir(&self) -> Arc<Mutex<ClientDir>> {
        self.dir.clone()
    }

    /// Download progress.
    pub fn progress(&self) -> watch::Receiver<SyncProgress> {
        self.progress.subscribe()
    }

    /// Connection state.
    pub fn connection(&self) -> watch::Receiver<Connection> {
        self.connection.subscribe()
    }

    /// Bumped whenever local state changed (entries applied, blobs
    /// arrived, commands acknowledged).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    /// Tells watchers of [`Client::changes`] that local state changed
    /// outside the engine (a refusal dismissed in the app).
    pub fn touch(&self) {
        self.bump();
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Runs `f` on the folder off the async runtime.
    pub async fn with_dir<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut ClientDir) -> T + Send + 'static,
    ) -> T {
        let dir = self.dir.clone();
        match tokio::task::spawn_blocking(move || {
            let mut d = dir.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut d)
        })
        .await
        {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    fn base(&self) -> &str {
        &self.pairing.base_url
    }

    /// A valid session token (challenge–response when needed).
    async fn token(&self) -> Result<String, ClientError> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref() {
            return Ok(t.clone());
        }
        let ch: ChallengeResponse = net::post(
            &self.http,
            self.base(),
            "/v1/auth/challenge",
            None,
            &ChallengeRequest {
                device: self.pairing.device.clone(),
            },
        )
        .await?;
        let nonce =
            hex::decode(&ch.nonce).map_err(|_| ClientError::Protocol("malformed nonce".into()))?;
        let signature = self
            .with_dir(move |d| d.key().sign(context::AUTH, &nonce))
            .await;
        let s: SessionResponse = net::post(
            &self.http,
            self.base(),
            "/v1/auth/session",
            None,
            &SessionRequest {
                device: self.pairing.device.clone(),
                nonce: ch.nonce,
                signature,
            },
        )
        .await?;
        *slot = Some(s.token.clone());
        Ok(s.token)
    }

    /// Handles an answer that says "sign in again" or "you are revoked".
    async fn after_error(&self, e: ClientError) -> ClientError {
        match &e {
            ClientError::Hub { code, .. } if code == "session_expired" || code == "no_session" => {
                *self.token.lock().await = None;
                e
            }
            ClientError::Hub { code, .. } if code == "device_revoked" => self.revoked().await,
            _ => e,
        }
    }

    /// The hub said this device is revoked (an answer, or the live
    /// channel): wipe everything of this hub.
    async fn revoked(&self) -> ClientError {
        if let Err(w) = self.with_dir(|d| d.wipe()).await {
            tracing::error!(error = %w, "could not wipe after revocation");
        }
        self.remove_copies();
        *self.token.lock().await = None;
        self.bump();
        ClientError::Revoked
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        for attempt in 0..2 {
            let token = match self.token().await {
                Ok(t) => t,
                Err(e) => return Err(self.after_error(e).await),
            };
            match net::get(&self.http, self.base(), path, &token).await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let e = self.after_error(e).await;
                    let retry =
                        matches!(&e, ClientError::Hub { code, .. } if code == "session_expired");
                    if !(retry && attempt == 0) {
                        return Err(e);
                    }
                }
            }
        }
        Err(ClientError::Protocol("unreachable".into()))
    }

    /// Pulls every visible meeting's log and my personal logs; returns
    /// how many entries were applied.
    pub async fn pull(&self) -> Result<usize, ClientError> {
        let meetings: Vec<MeetingInfo> = self.get("/v1/meetings").await?;
        let mut applied = 0;
        for m in &meetings {
            applied += self.pull_meeting(&m.id).await?;
        }
        // The hub answered: a retention rule's offline period starts again.
        // A ballot answered before this device knew its poll was secret
        // loses its choice now.
        let now = self.now();
        self.with_dir(move |d| {
            d.record_contact(now)?;
            d.forget_answered_secret_choices()
        })
        .await?;
        Ok(applied)
    }

    /// Deletes the packs whose retention date has passed on this device's
    /// clock (see [`ClientDir::enforce_retention`]), with the copies kept
    /// outside the client's folder ([`Client::wipe_also`]). Needs no
    /// network: [`Client::run`] calls it online and offline.
    pub async fn enforce_retention(&self) -> Result<Vec<MeetingId>, ClientError> {
        let now = self.now();
        let gone = self.with_dir(move |d| d.enforce_retention(now)).await?;
        if !gone.is_empty() {
            self.remove_copies();
            self.bump();
        }
        Ok(gone)
    }

    /// Empties the folders named with [`Client::wipe_also`].
    fn remove_copies(&self) {
        let also = self
            .wipe_also
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for folder in also {
            match std::fs::remove_dir_all(&folder) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::error!(folder = %folder.display(), error = %e, "could not remove copies of the hub's papers")
                }
            }
        }
    }

    /// Replaces the clock (tests: a device whose days pass offline).
    pub fn with_clock(mut self, clock: Arc<dyn Fn() -> Timestamp + Send + Sync>) -> Client {
        self.clock = clock;
        self
    }

    /// Pulls a meeting's log and my personal log together, in the hub's
    /// global order, up to the hub's heads.
    async fn pull_meeting(&self, meeting: &MeetingId) -> Result<usize, ClientError> {
        let logs = [
            LogId::Meeting(meeting.clone()),
            LogId::Personal {
                meeting: meeting.clone(),
                person: self.pairing.person.clone(),
            },
        ];
        let mut applied = 0;
        loop {
            let l2 = logs.clone();
            let (m_after, p_after) = self
                .with_dir(move |d| {
                    let head = |l: &LogId| d.store().head(l).map_or(0, |h| h.0);
                    (head(&l2[0]), head(&l2[1]))
                })
                .await;
            let page: FeedResponse = self
                .get(&format!(
                    "/v1/meetings/{meeting}/feed?meeting_after={m_after}&personal_after={p_after}"
                ))
                .await?;
            if page.entries.is_empty() {
                break;
            }
            let n = self
                .with_dir(move |d| d.store_mut().append_replicated(&page.entries))
                .await?;
            applied += n;
            self.bump();
            if !page.more {
                break;
            }
        }
        Ok(applied)
    }

    /// Applies entries pushed live (on a gap, pulls instead); returns
    /// whether a paper or version arrived (blobs are due).
    async fn apply_live(&self, entries: Vec<LogEntry>) -> Result<bool, ClientError> {
        let (res, before, after) = self
            .with_dir(move |d| {
                let before = plan::paper_versions(d.store().state());
                let res = d.store_mut().append_replicated(&entries);
                (res, before, plan::paper_versions(d.store().state()))
            })
            .await;
        match res {
            Ok(_) => {
                self.bump();
                Ok(after > before)
            }
            Err(phonghop_store::StoreError::Replication { .. }) => {
                self.pull().await?;
                let after = self
                    .with_dir(|d| plan::paper_versions(d.store().state()))
                    .await;
                Ok(after > before)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Fetches every missing blob in plan order, `PARALLEL` at a time.
    pub async fn fetch_blobs(&self) -> Result<SyncReport, ClientError> {
        let discard = self.discard_blobs;
        let jobs = self
            .with_dir(move |d| {
                let blobs = d.blobs().clone();
                plan::blob_jobs(d.store().state(), |h| !discard && blobs.has(h))
            })
            .await;
        let total_bytes: u64 = jobs.iter().filter_map(|j| j.size).sum();
        let total_papers = jobs.iter().filter(|j| j.is_paper).count() as u64;
        self.progress.send_replace(SyncProgress {
            bytes_done: 0,
            bytes_total: total_bytes,
            papers_done: 0,
            papers_total: total_papers,
        });
        let mut report = SyncReport::default();
        let mut stream = futures_util::stream::iter(jobs.into_iter().map(|j| self.fetch_one(j)))
            .buffered(PARALLEL);
        let mut first_err = None;
        while let Some(r) = stream.next().await {
            match r {
                Ok((bytes, refetched)) => {
                    report.blobs += 1;
                    report.bytes += bytes;
                    report.refetched += refetched;
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        drop(stream);
        // Index analyses that are now on disk.
        self.with_dir(|d| {
            let versions: Vec<(MeetingId, DocumentId, DocumentVersion)> = d
                .store()
                .state()
                .meetings
                .values()
                .flat_map(|m| {
                    m.documents.values().flat_map(move |doc| {
                        doc.versions
                            .iter()
                            .map(move |v| (m.id.clone(), doc.id.clone(), v.clone()))
                    })
                })
                .collect();
            for (m, doc, v) in versions {
                if let Err(e) = d.index_version(&m, &doc, &v) {
                    tracing::warn!(error = %e, "cannot index paper text");
                }
            }
        })
        .await;
        self.bump();
        match first_err {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Downloads one blob, resuming a partial file; returns bytes received
    /// and whether a bad copy had to be fetched again.
    async fn fetch_one(&self, job: BlobJob) -> Result<(u64, usize), ClientError> {
        let mut received = 0;
        let mut refetched = 0;
        for attempt in 0..3 {
            let sha = job.sha256;
            let discard = self.discard_blobs;
            let partial = self.with_dir(move |d| d.blobs().partial(&sha)).await?;
            let mut partial = partial;
            if discard && !partial.is_empty() {
                partial.discard();
                partial = self.with_dir(move |d| d.blobs().partial(&sha)).await?;
            }
            let token = match self.token().await {
                Ok(t) => t,
                Err(e) => return Err(self.after_error(e).await),
            };
            let mut req = self
                .http
                .get(format!("{}/v1/blobs/{}", self.base(), sha))
                .bearer_auth(&token);
            if !partial.is_empty() {
                req = req.header(reqwest::header::RANGE, format!("bytes={}-", partial.len()));
            }
            let resp = req
                .send()
                .await
                .map_err(|e| net::transport(self.base(), e))?;
            match resp.status().as_u16() {
                206 => {}
                200 if !partial.is_empty() => {
                    // The hub ignored the range: start over.
                    partial.discard();
                    partial = self.with_dir(move |d| d.blobs().partial(&sha)).await?;
                }
                200 => {}
                416 => {}
                _ => {
                    let e = net::check(resp)
                        .await
                        .err()
                        .unwrap_or(ClientError::Protocol("unexpected status".into()));
                    return Err(self.after_error(e).await);
                }
            }
            let mut body = resp.bytes_stream();
            let mut failure = None;
            while let Some(chunk) = body.next().await {
                match chunk {
                    Ok(bytes) => {
                        received += bytes.len() as u64;
                        if let Err(e) = partial.append(&bytes) {
                            failure = Some(ClientError::from(e));
                            break;
                        }
                        if job.is_paper {
                            self.progress
                                .send_modify(|p| p.bytes_done += bytes.len() as u64);
                        }
                    }
                    Err(e) => {
                        failure = Some(net::transport(self.base(), e));
                        break;
                    }
                }
            }
            if let Some(e) = failure {
                // Keep the partial file: the next round resumes from it.
                return Err(e);
            }
            let finished = tokio::task::spawn_blocking(move || {
                if discard {
                    // Benchmarks: hash the bytes then drop them.
                    partial.finish().map(|p| {
                        let _ = std::fs::remove_file(p);
                    })
                } else {
                    partial.finish().map(|_| ())
                }
            })
            .await
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
            match finished {
                Ok(()) => {
                    if job.is_paper {
                        self.progress.send_modify(|p| p.papers_done += 1);
                    }
                    return Ok((received, refetched));
                }
                Err(phonghop_store::StoreError::BlobMismatch { expected, actual }) => {
                    tracing::warn!(%expected, %actual, attempt, "paper failed its hash; fetching it again");
                    refetched += 1;
                    if job.is_paper {
                        self.progress.send_modify(|p| {
                            p.bytes_done = p.bytes_done.saturating_sub(job.size.unwrap_or(0))
                        });
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ClientError::Protocol(format!(
            "paper {} failed verification three times; the hub or the network is corrupting it",
            job.sha256
        )))
    }

    /// Queues a command (durable before this returns) and wakes the sender.
    pub async fn submit(&self, command: Command) -> Result<CommandId, ClientError> {
        let now = self.now();
        let id = self.with_dir(move |d| d.enqueue(command, now)).await?;
        self.bump();
        self.outbox_ready.notify_one();
        Ok(id)
    }

    /// Sends queued commands oldest first until the outbox is empty or the
    /// hub is unreachable. Returns how many got their terminal answer.
    ///
    /// Each command ends on its own: applied, or refused — by the hub's
    /// answer, or by the transport refusing that one request (413, 400: see
    /// [`transport_refusal`]) — and the next command goes on. A failure
    /// that may pass (network, 5xx) stops the round with the command still
    /// pending, recorded against its row, and the error names it.
    pub async fn flush_outbox(&self) -> Result<usize, ClientError> {
        let pending = self.with_dir(|d| d.pending()).await?;
        let mut acked = 0;
        // The newest entry each acknowledged command made, per log.
        let mut made: std::collections::BTreeMap<String, u64> = Default::default();
        for cmd in pending {
            let refusal = |code: String, message: String| CommandAck {
                id: cmd.body.id.clone(),
                outcome: CommandOutcome::Refused { code, message },
                replay: false,
            };
            // Never send what the hub cannot take whole (an older version
            // queued it): refused here, with the hub's own message.
            let bytes = serde_json::to_vec(&cmd).map_or(usize::MAX, |b| b.len());
            let sent = match phonghop_core::limits::check_request_bytes(bytes) {
                Ok(()) => self.send_command(&cmd).await,
                Err(e) => Ok(refusal(
                    phonghop_core::limits::TooLarge::CODE.into(),
                    e.to_string(),
                )),
            };
            let ack = match sent {
                Ok(ack) => ack,
                Err(e) => match transport_refusal(&e) {
                    Some((code, message)) => refusal(code, message),
                    None => {
                        if !matches!(e, ClientError::Revoked) {
                            let id = cmd.body.id.clone();
                            let why = format!("{}: {e}", e.code());
                            self.with_dir(move |d| d.record_failure(&id, &why)).await?;
                        }
                        let e = naming(e, &cmd);
                        tracing::info!(error = %e, "the outbox waits");
                        return Err(e);
                    }
                },
            };
            match &ack.outcome {
                CommandOutcome::Applied { log, seqs } => {
                    if let Some(last) = seqs.iter().max() {
                        let seq = made.entry(log.clone()).or_default();
                        *seq = (*seq).max(*last);
                    }
                }
                CommandOutcome::Refused { code, message } => {
                    tracing::warn!(
                        command = %cmd.body.id,
                        concerns = %crate::Concern::of(&cmd.body.command),
                        %code,
                        %message,
                        "the hub refused a command; the next ones go on"
                    );
                }
            }
            let now = self.now();
            self.with_dir(move |d| d.acknowledge(&ack, now)).await?;
            acked += 1;
        }
        // Our own events come back through the log. With the live channel
        // up they arrive on it, pushed in order right after the commit (a
        // pull here was 500 more requests on the hub's lock in a burst of
        // 500 ballots); otherwise pull the logs they went to now (one
        // request for a ballot, not the meeting list and every log).
        let live = *self.connection.borrow() == Connection::Online;
        if acked > 0 && live {
            self.bump();
        } else if acked > 0 {
            for (key, seq) in made {
                let Some(log) = LogId::parse_key(&key).filter(|l| *l != LogId::Directory) else {
                    self.pull().await?;
                    continue;
                };
                let l2 = log.clone();
                let held = self
                    .with_dir(move |d| d.store().head(&l2).map_or(0, |h| h.0))
                    .await;
                if held < seq {
                    match &log {
                        LogId::Meeting(m) | LogId::Personal { meeting: m, .. } => {
                            self.pull_meeting(m).await?;
                        }
                        LogId::Directory => {}
                    }
                }
            }
            self.bump();
        }
        Ok(acked)
    }

    /// POSTs one command, signing in again once if the session expired.
    async fn send_command(&self, cmd: &SignedCommand) -> Result<CommandAck, ClientError> {
        let mut attempt = 0;
        loop {
            let token = match self.token().await {
                Ok(t) => t,
                Err(e) => return Err(self.after_error(e).await),
            };
            match net::post::<_, CommandAck>(
                &self.http,
                self.base(),
                "/v1/commands",
                Some(&token),
                cmd,
            )
            .await
            {
                Ok(ack) => return Ok(ack),
                Err(e) => {
                    let e = self.after_error(e).await;
                    let expired =
                        matches!(&e, ClientError::Hub { code, .. } if code == "session_expired");
                    if !expired || attempt > 0 {
                        return Err(e);
                    }
                    attempt += 1;
                }
            }
        }
    }

    /// One full round: pull, send the outbox, fetch blobs.
    pub async fn sync_once(&self) -> Result<SyncReport, ClientError> {
        let entries = self.pull().await?;
        let acked = self.flush_outbox().await?;
        let mut report = self.fetch_blobs().await?;
        report.entries = entries;
        report.acked = acked;
        Ok(report)
    }

    /// Runs until `stop` turns true: sync, then follow the live channel;
    /// on any interruption back off and start again. Stops for good if the
    /// device was revoked.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut backoff = Backoff::default();
        loop {
            if *stop.borrow() {
                return;
            }
            // Offline too: a pack past its date goes on this device's clock.
            if let Err(e) = self.enforce_retention().await {
                tracing::error!(error = %e, "could not apply the retention rules");
            }
            self.connection.send_replace(Connection::Connecting);
            let result = self.session(&mut stop, &mut backoff).await;
            match result {
                Err(ClientError::Revoked) => {
                    self.connection.send_replace(Connection::Revoked);
                    return;
                }
                Err(e) => {
                    tracing::info!(error = %e, "hub connection lost");
                }
                Ok(()) => return,
            }
            self.connection.send_replace(Connection::Offline);
            let jitter = f64::from(jitter_byte()) / 255.0;
            let delay = backoff.next_delay(jitter);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => return,
                _ = self.outbox_ready.notified() => {}
            }
        }
    }

    /// One connected period. Ok(()) means "stop requested".
    async fn session(
        &self,
        stop: &mut watch::Receiver<bool>,
        backoff: &mut Backoff,
    ) -> Result<(), ClientError> {
        let token = match self.token().await {
            Ok(t) => t,
            Err(e) => return Err(self.after_error(e).await),
        };
        let mut live: Live = match net::connect_live(
            &self.pairing.address,
            self.pairing.cert_sha256.as_deref(),
            &token,
        )
        .await
        {
            Ok(l) => l,
            Err(e) => {
                // A stale token makes the upgrade fail: sign in again next time.
                *self.token.lock().await = None;
                return Err(e);
            }
        };
        self.sync_once().await?;
        self.connection.send_replace(Connection::Online);
        backoff.reset();
        let mut tick = tokio::time::interval(Duration::from_secs(20));
        loop {
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                _ = self.outbox_ready.notified() => {
                    self.flush_outbox().await?;
                }
                _ = tick.tick() => {
                    self.enforce_retention().await?;
                    // Retry anything that failed quietly (e.g. a blob).
                    self.flush_outbox().await?;
                    self.fetch_blobs().await?;
                }
                msg = live.next() => {
                    // Take every message already waiting too: one batch,
                    // one transaction, one signature check per log.
                    let mut batch = LiveBatch::default();
                    let mut next = Some(msg);
                    let mut closed = false;
                    while let Some(msg) = next.take() {
                        match msg {
                            Some(Ok(Message::Text(text))) => {
                                let parsed: LiveMessage = serde_json::from_str(&text)
                                    .map_err(|e| ClientError::Protocol(e.to_string()))?;
                                batch.add(parsed);
                            }
                            Some(Ok(Message::Close(frame))) => {
                                // The hub ended this session, and says why.
                                match frame.as_ref().map(|f| f.reason.as_str()) {
                                    Some("device_revoked") => batch.revoked = true,
                                    Some("session_expired") => *self.token.lock().await = None,
                                    _ => {}
                                }
                                closed = true;
                                break;
                            }
                            Some(Ok(_)) => {}
                            None | Some(Err(_)) => {
                                closed = true;
                                break;
                            }
                        }
                        if batch.messages < LIVE_BATCH_MAX {
                            next = live.next().now_or_never();
                        }
                    }
                    if batch.revoked {
                        return Err(self.revoked().await);
                    }
                    let entries = batch.take_entries();
                    let papers = !entries.is_empty() && self.apply_live(entries).await?;
                    if batch.resync {
                        self.sync_once().await?;
                    } else if papers {
                        self.fetch_blobs().await?;
                    }
                    if closed {
                        return Err(ClientError::Unreachable { url: self.pairing.address.clone(), cause: "live channel closed".into() });
                    }
                }
            }
        }
    }
}

/// Whether a failed POST of one command is that command's refusal (and
/// with which code and reason), rather than trouble that may pass.
///
/// Refusals: the hub answered 4xx to this request — 400/422 (the body is
/// not a command it can read), 413 (too large), 403/409 (not this device's
/// to send, id taken), 401 `bad_signature` (this command's signature).
/// Not refusals: network errors, 5xx, 408/429 (try later), 404 (no such
/// endpoint: a hub problem, not the command's), and the other 401s
/// (session and device, handled by signing in or wiping).
pub(crate) fn transport_refusal(e: &ClientError) -> Option<(String, String)> {
    let ClientError::Hub {
        status,
        code,
        message,
    } = e
    else {
        return None;
    };
    let refused = match *status {
        401 => code == "bad_signature",
        400 | 403 | 409 | 413 | 415 | 422 => true,
        _ => false,
    };
    if !refused {
        return None;
    }
    let code = match (*status, code.as_str()) {
        // A bare 413 from a proxy or an older hub: still our code.
        (413, c) if c.starts_with("http_") => phonghop_core::limits::TooLarge::CODE.to_string(),
        _ => code.clone(),
    };
    let message = if message.is_empty() {
        format!("the hub refused this command (HTTP {status})")
    } else {
        message.clone()
    };
    Some((code, message))
}

/// Names the command in an error that stopped a flush.
fn naming(e: ClientError, cmd: &SignedCommand) -> ClientError {
    let what = format!(
        "command {} ({})",
        cmd.body.id,
        crate::Concern::of(&cmd.body.command)
    );
    match e {
        ClientError::Unreachable { url, cause } => ClientError::Unreachable {
            url,
            cause: format!("{cause}; {what} waits in the outbox"),
        },
        ClientError::Hub {
            status,
            code,
            message,
        } => ClientError::Hub {
            status,
            code,
            message: format!("{message}; {what} waits in the outbox"),
        },
        ClientError::Protocol(m) => {
            ClientError::Protocol(format!("{m}; {what} waits in the outbox"))
        }
        other => other,
    }
}

fn jitter_byte() -> u8 {
    let mut b = [0u8; 1];
    let _ = getrandom::getrandom(&mut b);
    b[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(status: u16, code: &str) -> ClientError {
        ClientError::Hub {
            status,
            code: code.into(),
            message: format!("{code} message"),
        }
    }

    #[test]
    fn which_failures_refuse_one_command() {
        // That one request refused: the command's own terminal state.
        for (status, code, want) in [
            (413, "too_large", "too_large"),
            (413, "http_413", "too_large"),
            (400, "bad_command_id", "bad_command_id"),
            (400, "http_400", "http_400"),
            (422, "http_422", "http_422"),
            (409, "command_id_taken", "command_id_taken"),
            (403, "wrong_device", "wrong_device"),
            (401, "bad_signature", "bad_signature"),
        ] {
            let got = transport_refusal(&hub(status, code)).map(|r| r.0);
            assert_eq!(got.as_deref(), Some(want), "{status} {code}");
        }
        // Trouble that passes, or not the command's: it stays pending.
        for (status, code) in [
            (500, "internal"),
            (502, "http_502"),
            (503, "http_503"),
            (408, "http_408"),
            (429, "rate_limited"),
            (404, "not_found"),
            (401, "session_expired"),
            (401, "unknown_device"),
        ] {
            assert_eq!(
                transport_refusal(&hub(status, code)),
                None,
                "{status} {code}"
            );
        }
        let network = ClientError::Unreachable {
            url: "http://127.0.0.1:1".into(),
            cause: "connection refused".into(),
        };
        assert_eq!(transport_refusal(&network), None);
    }
}
