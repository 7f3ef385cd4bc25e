//! Support for the voting tests: many real devices paired at once, the
//! chair's commands, ballots, and a look at a poll on the hub, on a device
//! and in an export.
//!
//! The hub is [`TestHub`] (its meeting [`MEETING`] in session); every
//! device is a real [`Client`] in a temp folder, sending signed commands
//! through its durable outbox.

use crate::hub::{TestHub, CHAIR, MEETING};
use anyhow::{bail, Context, Result};
use futures_util::{StreamExt, TryStreamExt};
use phonghop_client::Client;
use phonghop_core::protocol::{Command, CommandAck, CommandOutcome};
use phonghop_core::vote::MajorityRule;
use phonghop_core::*;
use std::net::SocketAddr;

/// How many devices pair at once.
const PAIRING_AT_ONCE: usize = 16;

/// The meeting id as a typed id.
pub fn meeting_id() -> MeetingId {
    MeetingId::new(MEETING)
}

/// The meeting log.
pub fn meeting_log() -> LogId {
    LogId::Meeting(meeting_id())
}

/// Pairs one new device for each of `people` (at most 16 at a time); one
/// hub handle makes all the invites (opening the hub folder replays its
/// log, so once is enough).
pub async fn join_all(hub: &mut TestHub, people: &[String]) -> Result<Vec<Client>> {
    join_all_at(hub, people, hub.addr()).await
}

/// [`join_all`] through `addr` (a proxy in front of the hub).
pub async fn join_all_at(
    hub: &mut TestHub,
    people: &[String],
    addr: SocketAddr,
) -> Result<Vec<Client>> {
    let codes = hub.invite_codes(people)?;
    let mut jobs = Vec::with_capacity(people.len());
    for (p, code) in people.iter().zip(codes) {
        let invite = format!("phonghop:{code}@{addr}");
        let folder = hub.client_dir(p);
        let label = format!("Máy của {p}");
        jobs.push(async move {
            Client::join(&folder, &invite, &label)
                .await
                .with_context(|| format!("pairing a device for {p}"))
        });
    }
    futures_util::stream::iter(jobs)
        .buffered(PAIRING_AT_ONCE)
        .try_collect()
        .await
}

/// Runs `f` on every client, `at_once` at a time, in order of the result.
pub async fn each<'a, T, F, Fut>(clients: &'a [Client], at_once: usize, f: F) -> Result<Vec<T>>
where
    F: Fn(usize, &'a Client) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + 'a,
{
    futures_util::stream::iter(clients.iter().enumerate().map(|(i, c)| f(i, c)))
        .buffered(at_once)
        .try_collect()
        .await
}

/// The hub's answer to a command, as the device recorded it in its outbox.
pub async fn ack_of(c: &Client, id: &CommandId) -> Result<Option<CommandAck>> {
    let id = id.clone();
    Ok(c.with_dir(move |d| d.ack_of(&id)).await?)
}

/// Queues `command` in the device's outbox and sends it; returns the
/// command id and the hub's answer.
pub async fn send(c: &Client, command: Command) -> Result<(CommandId, CommandAck)> {
    let id = c.submit(command).await?;
    c.flush_outbox().await?;
    let ack = ack_of(c, &id)
        .await?
        .with_context(|| format!("command {id} was not acknowledged"))?;
    Ok((id, ack))
}

/// Like [`send`], and the hub must have applied it.
pub async fn applied(c: &Client, command: Command) -> Result<CommandAck> {
    let what = format!("{command:?}");
    let (_, ack) = send(c, command).await?;
    match &ack.outcome {
        CommandOutcome::Applied { .. } => Ok(ack),
        CommandOutcome::Refused { code, message } => {
            bail!("the hub refused {what}: {code}: {message}")
        }
    }
}

/// A ballot for the test meeting.
pub fn ballot(poll: &str, choice: u32) -> Command {
    Command::CastBallot {
        meeting: meeting_id(),
        poll: PollId::new(poll),
        choice,
    }
}

/// Checking in (present) to the test meeting.
pub fn check_in() -> Command {
    Command::CheckIn {
        meeting: meeting_id(),
        present: true,
    }
}

/// The usual three options, option 0 approving.
pub fn options() -> Vec<String> {
    vec![
        "Tán thành".into(),
        "Không tán thành".into(),
        "Không biểu quyết".into(),
    ]
}

/// A poll to create.
#[derive(Debug, Clone)]
pub struct NewPoll {
    /// Id.
    pub id: String,
    /// Question.
    pub question: String,
    /// Secret ballot.
    pub secret: bool,
    /// Rule.
    pub rule: MajorityRule,
    /// Deadline.
    pub closes_at: Option<Timestamp>,
}

impl NewPoll {
    /// A named poll under HĐND's usual rule.
    pub fn named(id: &str, question: &str) -> NewPoll {
        NewPoll {
            id: id.into(),
            question: question.into(),
            secret: false,
            rule: MajorityRule::MORE_THAN_HALF_OF_ALL,
            closes_at: None,
        }
    }

    /// A secret poll (bỏ phiếu kín) under HĐND's usual rule.
    pub fn secret(id: &str, question: &str) -> NewPoll {
        NewPoll {
            secret: true,
            ..NewPoll::named(id, question)
        }
    }

    /// The chair's command creating it.
    pub fn command(&self) -> Command {
        Command::CreatePoll {
            meeting: meeting_id(),
            poll: PollId::new(&self.id),
            item: None,
            question: self.question.clone(),
            options: options(),
            secret: self.secret,
            rule: self.rule,
            closes_at: self.closes_at,
        }
    }
}

/// Chair: create and open a poll.
pub async fn create_and_open(chair: &Client, p: &NewPoll) -> Result<()> {
    applied(chair, p.command()).await?;
    applied(
        chair,
        Command::OpenPoll {
            meeting: meeting_id(),
            poll: PollId::new(&p.id),
            override_quorum: false,
        },
    )
    .await?;
    Ok(())
}

/// Chair: close a poll, whoever has not voted (confirmed).
pub async fn close(chair: &Client, poll: &str) -> Result<()> {
    applied(
        chair,
        Command::ClosePoll {
            meeting: meeting_id(),
            poll: PollId::new(poll),
            override_quorum: false,
            confirm_missing: true,
        },
    )
    .await?;
    Ok(())
}

/// The poll as this device's local copy has it.
pub fn poll_on(c: &Client, poll: &str) -> Option<Poll> {
    let dir = c.dir();
    let d = dir.lock().unwrap_or_else(|p| p.into_inner());
    d.store()
        .state()
        .meetings
        .get(&meeting_id())?
        .polls
        .get(&PollId::new(poll))
        .cloned()
}

/// The poll as the hub's committed database has it.
pub fn poll_on_hub(hub: &TestHub, poll: &str) -> Result<Poll> {
    let store = hub.store()?;
    store
        .state()
        .meetings
        .get(&meeting_id())
        .and_then(|m| m.polls.get(&PollId::new(poll)))
        .cloned()
        .with_context(|| format!("the hub has no poll '{poll}'"))
}

/// The `(voter, choice)` of every `ballot_cast` of `poll` in a list of events.
pub fn ballots_in(events: &[Event], poll: &str) -> Vec<(Option<PersonId>, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::BallotCast {
                poll: p,
                voter,
                choice,
                ..
            } if p.as_str() == poll => Some((voter.clone(), *choice)),
            _ => None,
        })
        .collect()
}

/// The chair's person id.
pub fn chair() -> String {
    CHAIR.to_string()
}

/// A hub served on the test's own runtime, stopped *gracefully* (its
/// shutdown future resolves, requests in flight finish, `run` returns) —
/// the other way to stop a hub than [`TestHub::kill`].
#[derive(Debug)]
pub struct Served {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::result::Result<(), phonghop_hub::HubError>>,
}

impl Served {
    /// Serves `data` on `addr` (retrying while the old socket is released).
    pub async fn start(data: &std::path::Path, addr: SocketAddr) -> Result<Served> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let listener = loop {
            match std::net::TcpListener::bind(addr) {
                Ok(l) => break l,
                Err(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e).context("cannot bind the hub's port again"),
            }
        };
        let mut config = phonghop_hub::server::ServerConfig::new(data);
        config.inbox = false;
        config.pdf_worker = None;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(phonghop_hub::server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        Ok(Served {
            stop: Some(stop),
            task,
        })
    }

    /// Resolves the shutdown future and waits for `run` to return.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await??;
        Ok(())
    }
}

/// Makes the device forget the hub's answer to `id`, as if it had crashed
/// after the hub applied the command but before the answer was recorded:
/// the command is pending again and will be sent again.
pub async fn forget_ack(c: &Client, id: &CommandId) -> Result<()> {
    let id = id.clone();
    let n = c
        .with_dir(move |d| {
            d.store().conn().execute(
                "UPDATE outbox SET acked_at = NULL, ack = NULL WHERE id = ?1",
                [id.as_str()],
            )
        })
        .await?;
    anyhow::ensure!(n == 1, "no outbox row to forget");
    Ok(())
}
