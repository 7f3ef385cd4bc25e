//! Votes end to end: a real hub on 127.0.0.1 and real devices (the client
//! crate, no window), every ballot a device-signed command that goes
//! through the device's durable outbox, every result checked on the hub,
//! on the devices and by the offline audit of the meeting's export.
//!
//! Devices here sync with `flush_outbox` + `pull` (500 live WebSockets in
//! a debug test on two cores would measure the machine, not the protocol);
//! `phonghop bench vote` runs the same poll with one live WebSocket per
//! device.

use anyhow::{ensure, Context, Result};
use phonghop_client::Client;
use phonghop_core::audit::{audit, MeetingExport};
use phonghop_core::protocol::{Command, CommandAck, CommandOutcome};
use phonghop_core::vote::{Base, MajorityRule, Threshold};
use phonghop_core::*;
use phonghop_tests::hub::{delegate, events, eventually, meeting_projection, TestHub};
use phonghop_tests::raw::RawDevice;
use phonghop_tests::voting::*;
use std::collections::BTreeMap;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn is_applied(a: &CommandAck) -> bool {
    matches!(a.outcome, CommandOutcome::Applied { .. })
}

fn refusal(a: &CommandAck) -> Option<(&str, &str)> {
    match &a.outcome {
        CommandOutcome::Refused { code, message } => Some((code, message)),
        CommandOutcome::Applied { .. } => None,
    }
}

/// The meeting export, straight from the hub's folder.
fn export(hub: &TestHub) -> Result<MeetingExport> {
    Ok(hub.hub()?.export(phonghop_tests::hub::MEETING)?)
}

/// Counts per option of a list of choices.
fn tally(choices: &[u32]) -> Vec<u32> {
    let mut c = vec![0; 3];
    for &x in choices {
        c[x as usize] += 1;
    }
    c
}

/// The seq of the first `ballot_cast` in `export` whose choice is `choice`.
fn ballot_seq(export: &MeetingExport, choice: u32) -> Option<usize> {
    export.entries.iter().position(|e| {
        matches!(e.event(), Ok(Some(Event::BallotCast { choice: c, voter: Some(_), .. })) if c == choice)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_delegates_vote_in_one_poll_and_the_export_audits() -> Result<()> {
    const N: usize = 500;
    let mut hub = TestHub::with_meeting(N, &[], true)?;
    hub.start()?;
    let people: Vec<String> = (1..=N).map(delegate).collect();
    let delegates = join_all(&mut hub, &people).await?;
    let chair = join_all(&mut hub, &[chair()]).await?.remove(0);
    let poll = NewPoll::named(
        "nq-du-toan-2027",
        "Thông qua Nghị quyết về dự toán ngân sách địa phương năm 2027?",
    );
    create_and_open(&chair, &poll).await?;

    // 70 % approve, 20 % against, 10 % "không biểu quyết"; the chair does
    // not vote (501 eligible: absent voters still count in the base).
    let choices: Vec<u32> = (1..=N)
        .map(|i| match i % 10 {
            0..=6 => 0,
            7 | 8 => 1,
            _ => 2,
        })
        .collect();
    let sent = each(&delegates, 32, |i, c| {
        let b = ballot(&poll.id, choices[i]);
        async move { send(c, b).await }
    })
    .await?;
    for (i, (_, ack)) in sent.iter().enumerate() {
        ensure!(
            is_applied(ack) && !ack.replay,
            "{}'s ballot: {ack:?}",
            delegate(i + 1)
        );
    }

    // A second ballot (a new command) is refused; a resent one (the same
    // signed command) is acknowledged as a replay and changes nothing.
    for i in [0, 123, 499] {
        let (_, again) = send(&delegates[i], ballot(&poll.id, 1 - choices[i].min(1))).await?;
        ensure!(
            refusal(&again).map(|r| r.0) == Some("already_voted"),
            "a second ballot of {} must be refused: {again:?}",
            delegate(i + 1)
        );
        let (id, first) = &sent[i];
        let signed = {
            let dir = delegates[i].dir();
            let d = dir.lock().unwrap();
            let body: String = d.store().conn().query_row(
                "SELECT body FROM outbox WHERE id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )?;
            serde_json::from_str(&body)?
        };
        let mut raw = RawDevice::of(&delegates[i], hub.addr());
        raw.sign_in().await?;
        let replay: CommandAck = raw.command(&signed).await?.json()?;
        ensure!(
            replay.replay && replay.outcome == first.outcome,
            "a resent ballot is acknowledged with its first answer: {replay:?}"
        );
    }
    close(&chair, &poll.id).await?;

    let want = tally(&choices);
    let on_hub = poll_on_hub(&hub, &poll.id)?;
    ensure!(
        on_hub.counts == want,
        "hub counts {:?}, sent {want:?}",
        on_hub.counts
    );
    let outcome = on_hub.outcome.context("a closed poll has its outcome")?;
    ensure!(outcome.passed && outcome.base_count == 501 && outcome.required == 251);
    let hub_events = events(&hub.store()?, &meeting_log())?;
    let ballots = ballots_in(&hub_events, &poll.id);
    ensure!(ballots.len() == N, "{} ballots in the log", ballots.len());
    let mut by_voter = BTreeMap::new();
    for (voter, choice) in &ballots {
        let v = voter.clone().context("named ballots name their voter")?;
        ensure!(by_voter.insert(v, *choice).is_none(), "a voter twice");
    }
    for (i, c) in choices.iter().enumerate() {
        ensure!(by_voter.get(&PersonId::new(delegate(i + 1))) == Some(c));
    }

    // Every device sees the same result.
    each(&delegates, 32, |_, c| async move {
        c.pull().await?;
        Ok(())
    })
    .await?;
    for (i, c) in delegates.iter().enumerate() {
        let p = poll_on(c, &poll.id).context("the device has the poll")?;
        ensure!(
            p.status == PollStatus::Closed && p.counts == want && p.outcome == Some(outcome),
            "device {i} shows {:?} {:?}",
            p.counts,
            p.outcome
        );
    }

    // The export audits: 500 ballot signatures, the recount, the rule.
    let exp = export(&hub)?;
    let report = audit(&exp)?;
    let pa = report
        .polls
        .iter()
        .find(|p| p.poll.as_str() == poll.id)
        .context("the audit saw the poll")?;
    ensure!(report.ballot_signatures == N && pa.counts == want && pa.outcome == Some(outcome));
    ensure!(pa.roll_call.len() == N);

    // Tampered: one ballot's choice flipped in the stored payload.
    let mut bad = exp.clone();
    let i = ballot_seq(&bad, 1).context("a ballot against")?;
    let seq = bad.entries[i].seq;
    let payload = bad.entries[i].payload.clone().unwrap_or_default();
    bad.entries[i].payload = Some(payload.replacen("\"choice\":1", "\"choice\":0", 1));
    let err = audit(&bad).expect_err("a flipped ballot must fail the audit");
    ensure!(
        err.seq == seq && err.log == meeting_log().key(),
        "the audit names the entry: {err}"
    );
    println!("flipped ballot: {err}");

    // Forged: the whole record re-signed by another key after the flip —
    // chain and hub signatures verify, the voter's device signature does not.
    let forger = SecretKey::from_seed([7; 32]);
    let mut forged = exp.clone();
    forged.hub_key = forger.public();
    for log in [&mut forged.directory, &mut forged.entries] {
        let mut prev = None;
        for e in log.iter_mut() {
            let mut ev = e.event()?.context("full export")?;
            if e.seq == seq && e.log == meeting_log() {
                if let Event::BallotCast { choice, .. } = &mut ev {
                    *choice = 0;
                }
            }
            *e = LogEntry::seal(e.log.clone(), prev, &ev, &forger)?;
            prev = Some((e.seq, e.hash));
        }
    }
    let err = audit(&forged).expect_err("a re-signed forgery must fail the audit");
    ensure!(
        err.seq == seq && err.reason.contains("differs from what the device signed"),
        "{err}"
    );
    println!("re-signed forgery: {err}");
    println!(
        "{N} delegates: {} ballots counted once, counts {want:?} on the hub and on {} devices; \
         {} resent ballots acknowledged as replays, 3 second ballots refused; \
         audit: {} entries, {} ballot signatures",
        ballots.len(),
        delegates.len(),
        3,
        report.entries,
        report.ballot_signatures
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_killed_and_restarted_mid_poll_counts_every_ballot_once() -> Result<()> {
    const N: usize = 30;
    let mut hub = TestHub::with_meeting(N, &[], true)?;
    hub.start()?;
    let people: Vec<String> = (1..=N).map(delegate).collect();
    let ds = join_all(&mut hub, &people).await?;
    let chair = join_all(&mut hub, &[chair()]).await?.remove(0);
    let poll = NewPoll::named("nq-quy-hoach", "Thông qua Nghị quyết điều chỉnh quy hoạch?");
    create_and_open(&chair, &poll).await?;
    let choice = |i: usize| (i % 3) as u32;
    let mut ids = vec![None; N];

    // A: 0..10 vote while the hub is up.
    for i in 0..10 {
        let (id, ack) = send(&ds[i], ballot(&poll.id, choice(i))).await?;
        ensure!(is_applied(&ack) && !ack.replay);
        ids[i] = Some(id);
    }
    // B: 10..13 are applied, but the devices lose the answer (as if they
    // crashed before recording it): their ballots are pending again.
    for i in 10..13 {
        let (id, _) = send(&ds[i], ballot(&poll.id, choice(i))).await?;
        forget_ack(&ds[i], &id).await?;
        ids[i] = Some(id);
    }
    // The hub dies (every task and socket dropped at once).
    hub.kill();
    // C: 13..22 vote while it is down: queued in their outboxes.
    for i in 13..22 {
        ids[i] = Some(ds[i].submit(ballot(&poll.id, choice(i))).await?);
        ensure!(
            ds[i].flush_outbox().await.is_err(),
            "the hub is down: sending fails"
        );
        ensure!(ds[i].with_dir(|d| d.pending()).await?.len() == 1);
    }
    // Back on the same port (served on this runtime, to be stopped
    // gracefully next); B and C deliver.
    let served = Served::start(&hub.data, hub.addr()).await?;
    for d in &ds[10..22] {
        d.flush_outbox().await?;
    }
    // D: 22..30 vote while the hub shuts down gracefully: some get through
    // before it stops, the rest stay queued.
    for i in 22..N {
        ids[i] = Some(ds[i].submit(ballot(&poll.id, choice(i))).await?);
    }
    let racing = each(&ds[22..], 8, |_, c| async move {
        Ok(c.flush_outbox().await.is_ok())
    });
    let (raced, stopped) = tokio::join!(racing, served.stop());
    stopped?;
    let raced = raced?;
    let queued: usize = {
        let mut n = 0;
        for c in &ds {
            n += c.with_dir(|d| d.pending()).await?.len();
        }
        n
    };
    // Up again (the test hub's own runtime); everyone's outbox drains.
    hub.start()?;
    each(&ds, 8, |_, c| async move {
        c.flush_outbox().await?;
        Ok(())
    })
    .await?;
    close(&chair, &poll.id).await?;

    let mut replays = 0;
    for (i, c) in ds.iter().enumerate() {
        let id = ids[i].clone().context("every delegate voted")?;
        let ack = ack_of(c, &id).await?.context("acknowledged")?;
        ensure!(is_applied(&ack), "{}: {ack:?}", delegate(i + 1));
        ensure!(c.with_dir(|d| d.pending()).await?.is_empty());
        if (10..13).contains(&i) {
            ensure!(ack.replay, "B's resent ballots are replays: {ack:?}");
        }
        replays += usize::from(ack.replay);
    }
    let hub_events = events(&hub.store()?, &meeting_log())?;
    let ballots = ballots_in(&hub_events, &poll.id);
    let mut seen = BTreeMap::new();
    for (v, c) in &ballots {
        ensure!(seen.insert(v.clone(), *c).is_none(), "{v:?} counted twice");
    }
    let want = tally(&(0..N).map(choice).collect::<Vec<_>>());
    let on_hub = poll_on_hub(&hub, &poll.id)?;
    ensure!(
        ballots.len() == N && on_hub.counts == want,
        "{:?}",
        on_hub.counts
    );
    audit(&export(&hub)?)?;
    println!(
        "hub killed after 13 ballots (3 of them unacknowledged), 9 queued offline; \
         graceful stop raced 8 ballots ({} got through, {queued} queued); \
         {N} ballots counted once each {want:?}, {replays} acknowledged as replays",
        raced.iter().filter(|ok| **ok).count()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ballot_arriving_after_close_is_refused_with_its_reason() -> Result<()> {
    let mut hub = TestHub::with_meeting(4, &[], true)?;
    hub.start()?;
    let people: Vec<String> = (1..=4).map(delegate).collect();
    let ds = join_all(&mut hub, &people).await?;
    let chair = join_all(&mut hub, &[chair()]).await?.remove(0);

    // Closed by the chair while delegate 2's ballot waited in its outbox.
    let a = NewPoll::named("bieu-quyet-a", "Thông qua chương trình kỳ họp?");
    create_and_open(&chair, &a).await?;
    ensure!(is_applied(&send(&ds[0], ballot(&a.id, 0)).await?.1));
    let late = ds[1].submit(ballot(&a.id, 0)).await?;
    close(&chair, &a.id).await?;
    ds[1].flush_outbox().await?;
    let ack = ack_of(&ds[1], &late).await?.context("answered")?;
    let (code, message) = refusal(&ack).context("refused")?;
    ensure!(
        code == "poll_status" && message.contains("closed"),
        "{code}: {message}"
    );
    ensure!(
        ds[1].with_dir(|d| d.pending()).await?.is_empty(),
        "a refusal is final"
    );
    println!("after close: {code}: {message}");

    // Closed by its deadline (the hub's 300 ms tick) while delegate 4's
    // ballot, made before the deadline, waited in its outbox.
    let mut b = NewPoll::named("bieu-quyet-b", "Thông qua danh sách thành viên tổ thư ký?");
    b.closes_at = Some(Timestamp(phonghop_tests::hub::now().0 + 1_500));
    create_and_open(&chair, &b).await?;
    ensure!(is_applied(&send(&ds[2], ballot(&b.id, 0)).await?.1));
    let late = ds[3].submit(ballot(&b.id, 0)).await?;
    eventually("the hub to close the poll at its deadline", LIMIT, || {
        poll_on_hub(&hub, &b.id)
            .ok()
            .filter(|p| p.status == PollStatus::Closed)
    })
    .await?;
    ds[3].flush_outbox().await?;
    let ack = ack_of(&ds[3], &late).await?.context("answered")?;
    let (code, message) = refusal(&ack).context("refused")?;
    ensure!(
        (code == "poll_status" && message.contains("closed"))
            || (code == "after_deadline" && message.contains("deadline")),
        "{code}: {message}"
    );
    println!("after the deadline: {code}: {message}");
    // The device also sees the result it missed, and the replay of its
    // refused ballot stays refused.
    ds[3].pull().await?;
    let p = poll_on(&ds[3], &b.id).context("poll")?;
    ensure!(p.counts == vec![1, 0, 0] && p.outcome.is_some_and(|o| !o.passed));
    forget_ack(&ds[3], &late).await?;
    ds[3].flush_outbox().await?;
    let again = ack_of(&ds[3], &late).await?.context("answered")?;
    ensure!(again.replay && again.outcome == ack.outcome, "{again:?}");
    audit(&export(&hub)?)?;
    Ok(())
}

/// One row of the HĐND rules table, run as a real poll.
struct Case {
    id: &'static str,
    rule: MajorityRule,
    /// Ballots: approve, against, abstain (voters taken in order: chair, delegates).
    votes: (usize, usize, usize),
    /// How many voting members are checked in when it opens.
    present: usize,
    passed: bool,
    required: u32,
    quorum_met: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdnd_rules_table_end_to_end() -> Result<()> {
    // 50 voting members: the chair and 49 delegates.
    let mut hub = TestHub::with_meeting(49, &[], true)?;
    hub.start()?;
    let people: Vec<String> = std::iter::once(chair())
        .chain((1..=49).map(delegate))
        .collect();
    let voters = join_all(&mut hub, &people).await?;
    let chair = &voters[0];
    let half = MajorityRule::MORE_THAN_HALF_OF_ALL;
    let two_thirds = MajorityRule::TWO_THIRDS_OF_ALL;
    let with_quorum = MajorityRule {
        quorum: Some(Threshold::AtLeastTwoThirds),
        ..half
    };
    let of_present = MajorityRule {
        base: Base::Present,
        threshold: Threshold::MoreThanHalf,
        quorum: None,
    };
    #[rustfmt::skip]
    let cases = [
        Case { id: "qua-nua-26", rule: half, votes: (26, 24, 0), present: 0, passed: true, required: 26, quorum_met: true },
        Case { id: "qua-nua-25", rule: half, votes: (25, 25, 0), present: 0, passed: false, required: 26, quorum_met: true },
        // Absent delegates count in the base: 25 of 30 cast is not enough.
        Case { id: "vang-mat-20", rule: half, votes: (25, 0, 5), present: 0, passed: false, required: 26, quorum_met: true },
        Case { id: "hai-phan-ba-34", rule: two_thirds, votes: (34, 16, 0), present: 0, passed: true, required: 34, quorum_met: true },
        Case { id: "hai-phan-ba-33", rule: two_thirds, votes: (33, 17, 0), present: 0, passed: false, required: 34, quorum_met: true },
        // Quorum of two thirds present: 33 is short, 34 holds.
        Case { id: "ty-le-33", rule: with_quorum, votes: (30, 0, 0), present: 33, passed: false, required: 26, quorum_met: false },
        Case { id: "ty-le-34", rule: with_quorum, votes: (30, 0, 0), present: 34, passed: true, required: 26, quorum_met: true },
        // More than half of those present (34): 18.
        Case { id: "co-mat-18", rule: of_present, votes: (18, 16, 0), present: 34, passed: true, required: 18, quorum_met: true },
    ];
    // Who is checked in: a ballot checks its voter in (the meeting's rule),
    // so a case that counts those present first checks the rest out.
    let mut present = vec![false; voters.len()];
    for (k, case) in cases.iter().enumerate() {
        if case.present > 0 {
            for (j, c) in voters.iter().enumerate() {
                let want = j < case.present;
                if present[j] != want {
                    let cmd = Command::CheckIn {
                        meeting: meeting_id(),
                        present: want,
                    };
                    applied(c, cmd).await?;
                    present[j] = want;
                }
            }
        }
        let poll = NewPoll {
            rule: case.rule,
            ..NewPoll::named(case.id, &format!("Biểu quyết số {}: {}", k + 1, case.id))
        };
        create_and_open(chair, &poll).await?;
        let (y, n, a) = case.votes;
        let choices: Vec<u32> = std::iter::repeat_n(0, y)
            .chain(std::iter::repeat_n(1, n))
            .chain(std::iter::repeat_n(2, a))
            .collect();
        let acks = each(&voters[..choices.len()], 16, |i, c| {
            let b = ballot(case.id, choices[i]);
            async move { send(c, b).await }
        })
        .await?;
        ensure!(acks.iter().all(|(_, a)| is_applied(a)));
        present[..choices.len()].fill(true);
        close(chair, case.id).await?;
        let o = poll_on_hub(&hub, case.id)?
            .outcome
            .context("closed with an outcome")?;
        ensure!(
            (o.passed, o.required, o.quorum_met, o.approve)
                == (case.passed, case.required, case.quorum_met, y as u32),
            "{}: hub decided {o:?}",
            case.id
        );
        // A device that voted last sees the same.
        let last = &voters[choices.len() - 1];
        last.pull().await?;
        ensure!(poll_on(last, case.id).and_then(|p| p.outcome) == Some(o));
    }
    let report = audit(&export(&hub)?)?;
    for case in &cases {
        let pa = report
            .polls
            .iter()
            .find(|p| p.poll.as_str() == case.id)
            .context("audited")?;
        let hub_o = poll_on_hub(&hub, case.id)?.outcome;
        ensure!(pa.outcome == hub_o, "{}: audit recount differs", case.id);
        println!(
            "{:<15} {:?}/{:?} quorum {:?}: {:?} → required {}, {}",
            case.id,
            case.rule.base,
            case.rule.threshold,
            case.rule.quorum,
            pa.counts,
            case.required,
            if case.passed {
                "THÔNG QUA"
            } else {
                "KHÔNG THÔNG QUA"
            }
        );
    }
    // The records drafted from this log: one CSV line per poll, and the
    // minutes' text carries each question and its outcome.
    let out = hub.root().join("bien-ban");
    let font = phonghop_pdf::find_font()?;
    let files = phonghop_hub::minutes::write_minutes(
        &hub.hub()?,
        phonghop_tests::hub::MEETING,
        &out,
        &font,
    )?;
    let csv = std::fs::read_to_string(&files.csv)?;
    let lines: Vec<&str> = csv.lines().skip(1).collect();
    ensure!(lines.len() == cases.len(), "{csv}");
    for (line, case) in lines.iter().zip(&cases) {
        let words = if case.passed {
            ",THÔNG QUA"
        } else {
            ",KHÔNG THÔNG QUA"
        };
        ensure!(line.contains(case.id) && line.contains(words), "{line}");
    }
    let text: String = phonghop_pdf::analyze(&files.pdf)?
        .pages
        .iter()
        .map(|p| p.text.clone())
        .collect::<Vec<_>>()
        .join(" ");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for case in &cases {
        ensure!(flat.contains(case.id), "{flat}");
    }
    ensure!(flat.contains("Kết quả: THÔNG QUA.") && flat.contains("Kết quả: KHÔNG THÔNG QUA."));
    println!(
        "minutes: {} lines of results, {} PDF pages",
        lines.len(),
        files.pages
    );
    ensure!(
        report.ballot_signatures
            == cases
                .iter()
                .map(|c| c.votes.0 + c.votes.1 + c.votes.2)
                .sum::<usize>()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_poll_publishes_ballots_without_voters() -> Result<()> {
    const N: usize = 20;
    let mut hub = TestHub::with_meeting(N, &[], true)?;
    hub.start()?;
    let people: Vec<String> = (1..=N).map(delegate).collect();
    let ds = join_all(&mut hub, &people).await?;
    let chair = join_all(&mut hub, &[chair()]).await?.remove(0);
    let poll = NewPoll::secret(
        "bau-pho-chu-tich",
        "Bầu Phó Chủ tịch HĐND tỉnh (bỏ phiếu kín)",
    );
    create_and_open(&chair, &poll).await?;
    let choices: Vec<u32> = (0..N)
        .map(|i| [0, 0, 0, 1, 0, 2, 0, 1, 0, 0][i % 10])
        .collect();
    each(&ds, 8, |i, c| {
        let b = ballot(&poll.id, choices[i]);
        async move {
            let (_, a) = send(c, b).await?;
            ensure!(is_applied(&a));
            Ok(())
        }
    })
    .await?;
    let (_, twice) = send(&ds[4], ballot(&poll.id, 1)).await?;
    ensure!(
        refusal(&twice).map(|r| r.0) == Some("already_voted"),
        "{twice:?}"
    );
    // Regression: each secret ballot was published right after its voter's
    // turnout entry (same command, same time), so every member's device
    // could pair them. While the poll is open, the log holds turnout only.
    let open_log = events(&hub.store()?, &meeting_log())?;
    ensure!(
        ballots_in(&open_log, &poll.id).is_empty(),
        "no secret ballot content may be published while the poll is open"
    );
    close(&chair, &poll.id).await?;
    // At the close, all choices together, in option order, then the close.
    let closed_log = events(&hub.store()?, &meeting_log())?;
    let last_turnout = closed_log
        .iter()
        .rposition(|e| matches!(e, Event::TurnoutRecorded { .. }))
        .context("turnout in the log")?;
    let published: Vec<u32> = closed_log[last_turnout + 1..]
        .iter()
        .filter_map(|e| match e {
            Event::BallotCast { choice, .. } => Some(*choice),
            _ => None,
        })
        .collect();
    let mut sorted = choices.clone();
    sorted.sort_unstable();
    ensure!(
        published == sorted
            && matches!(closed_log.last(), Some(Event::PollClosed { .. }))
            && closed_log.len() == last_turnout + 1 + N + 1,
        "secret ballots are published after every turnout, in option order, with the close"
    );

    let want = tally(&choices);
    let store = hub.store()?;
    let entries = store.entries(&meeting_log(), 0)?;
    let mut ballots = 0;
    let mut turnout = Vec::new();
    for e in &entries {
        match e.event()? {
            Some(Event::BallotCast { voter, proof, .. }) => {
                let payload = e.payload.as_deref().unwrap_or_default();
                ensure!(voter.is_none() && proof.is_none() && !payload.contains("dai-bieu"));
                ballots += 1;
            }
            Some(Event::TurnoutRecorded { person, .. }) => turnout.push(person),
            _ => {}
        }
    }
    let p = poll_on_hub(&hub, &poll.id)?;
    ensure!(ballots == N && turnout.len() == N && p.named.is_empty() && p.counts == want);
    ensure!(p.outcome.is_some_and(|o| o.passed && o.required == 11));
    // A device holds exactly the hub's projection of the meeting.
    ds[0].pull().await?;
    let mine = {
        let dir = ds[0].dir();
        let d = dir.lock().unwrap();
        meeting_projection(d.store())?
    };
    ensure!(
        mine == meeting_projection(&store)?,
        "device projection differs"
    );
    let report = audit(&export(&hub)?)?;
    ensure!(report.ballot_signatures == 0 && report.polls[0].counts == want);
    ensure!(report.polls[0].roll_call.is_empty());
    println!(
        "secret poll: {ballots} ballots without voter or signature, {} turnout records, counts {want:?}; audit passes",
        turnout.len()
    );
    Ok(())
}

// --- the chair's safeguards (issue 11) ----------------------------------

/// The hub's refusal of `command` from `c`: (code, message).
async fn refused_with(c: &Client, command: Command) -> Result<(String, String)> {
    let what = format!("{command:?}");
    let (_, ack) = send(c, command).await?;
    match ack.outcome {
        CommandOutcome::Refused { code, message } => Ok((code, message)),
        CommandOutcome::Applied { .. } => anyhow::bail!("the hub applied {what}"),
    }
}

fn start(override_quorum: bool) -> Command {
    Command::StartSession {
        meeting: meeting_id(),
        override_quorum,
    }
}

fn open_poll(poll: &str, override_quorum: bool) -> Command {
    Command::OpenPoll {
        meeting: meeting_id(),
        poll: PollId::new(poll),
        override_quorum,
    }
}

fn close_poll(poll: &str, confirm_missing: bool) -> Command {
    Command::ClosePoll {
        meeting: meeting_id(),
        poll: PollId::new(poll),
        override_quorum: false,
        confirm_missing,
    }
}

/// Under the law's rules (two thirds of the 5 voting members checked in,
/// a ballot checks its voter in): the session and a poll do not open below
/// quorum until the chair confirms an override, which the log and the
/// minutes record; a poll does not close while members have not voted
/// until the chair confirms, and the refusal names them; a ballot from a
/// member who had not checked in checks them in first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_guards_quorum_and_missing_voters_until_the_chair_confirms() -> Result<()> {
    let mut hub = TestHub::with_meeting(4, &[], false)?;
    hub.write(|h| h.set_meeting_rules(phonghop_tests::hub::MEETING, MeetingRules::default()))?;
    hub.start()?;
    let people: Vec<String> = (1..=4).map(delegate).collect();
    let d = join_all(&mut hub, &people).await?;
    let chair = join_all(&mut hub, &[chair()]).await?.remove(0);

    // 0 of 5 checked in; the quorum needs 4.
    let (code, message) = refused_with(&chair, start(false)).await?;
    ensure!(code == "below_quorum", "{code}: {message}");
    ensure!(
        message.contains("0 of 5") && message.contains("needs 4"),
        "the refusal gives the count: {message}"
    );
    applied(&d[0], check_in()).await?;
    applied(&d[1], check_in()).await?;
    applied(&chair, start(true)).await?;
    let log = events(&hub.store()?, &meeting_log())?;
    let at = log
        .iter()
        .position(|e| matches!(e, Event::SessionStarted { .. }))
        .context("the session opened")?;
    match &log[at - 1] {
        Event::QuorumOverridden {
            action: QuorumAction::StartSession,
            count,
            by,
            ..
        } => {
            ensure!(
                (count.present, count.voting, count.required) == (2, 5, 4),
                "{count:?}"
            );
            ensure!(by.as_str() == phonghop_tests::hub::CHAIR, "by {by}");
        }
        other => anyhow::bail!("before the session opened: {other:?}"),
    }
    // The session opens on the first agenda item.
    let m = hub.hub()?.meeting(phonghop_tests::hub::MEETING)?.clone();
    let first = m.numbered_agenda().first().map(|n| n.item.id.clone());
    ensure!(
        first.is_some() && m.current_item == first,
        "current item {:?}, first {first:?}",
        m.current_item
    );

    let poll = NewPoll::named("nq-1", "Thông qua nghị quyết?");
    applied(&chair, poll.command()).await?;
    let (code, _) = refused_with(&chair, open_poll(&poll.id, false)).await?;
    ensure!(code == "below_quorum", "{code}");
    applied(&d[2], check_in()).await?;
    applied(&chair, check_in()).await?;
    applied(&chair, open_poll(&poll.id, false)).await?;

    // Delegate 4 never checked in: the ballot checks them in, recorded
    // just before it.
    let ack = applied(&d[3], ballot(&poll.id, 0)).await?;
    let CommandOutcome::Applied { seqs, .. } = &ack.outcome else {
        unreachable!()
    };
    ensure!(seqs.len() == 2, "attendance + ballot: {seqs:?}");
    let log = events(&hub.store()?, &meeting_log())?;
    let person = PersonId::new(delegate(4));
    ensure!(
        matches!(&log[log.len() - 2], Event::AttendanceRecorded { person: p, present: true, .. } if *p == person),
        "{:?}",
        &log[log.len() - 2]
    );
    applied(&d[0], ballot(&poll.id, 0)).await?;

    // Three of five have not voted: named in the refusal.
    let (code, message) = refused_with(&chair, close_poll(&poll.id, false)).await?;
    ensure!(code == "voters_missing", "{code}: {message}");
    ensure!(
        message.starts_with("3 of 5") && message.contains(&delegate(2)),
        "the refusal names how many and who: {message}"
    );
    applied(&chair, close_poll(&poll.id, true)).await?;
    ensure!(poll_on_hub(&hub, &poll.id)?.status == PollStatus::Closed);

    // The minutes say the session opened below quorum, by whom.
    let h = hub.hub()?;
    let m = h.meeting(phonghop_tests::hub::MEETING)?;
    let (_, paragraphs) = phonghop_hub::minutes::minutes_text(m, &h.store().state().directory, &[]);
    ensure!(
        paragraphs.iter().any(
            |p| p.contains("quyết định khai mạc kỳ họp khi chưa đủ số đại biểu")
                && p.contains("2/5")
        ),
        "the minutes record the override: {paragraphs:#?}"
    );
    Ok(())
}

/// A meeting whose rule refuses ballots from members not checked in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_may_refuse_ballots_from_members_not_checked_in() -> Result<()> {
    let mut hub = TestHub::with_meeting(2, &[], false)?;
    let rules = MeetingRules {
        unchecked_ballot: UncheckedBallot::Refuse,
        ..phonghop_tests::hub::NO_QUORUM
    };
    hub.write(|h| h.set_meeting_rules(phonghop_tests::hub::MEETING, rules))?;
    hub.start()?;
    let d = join_all(&mut hub, &[delegate(1)]).await?.remove(0);
    let chair = join_all(&mut hub, &[chair()]).await?.remove(0);
    applied(&chair, start(false)).await?;
    let poll = NewPoll::named("nq-2", "Thông qua nghị quyết?");
    create_and_open(&chair, &poll).await?;
    let (code, message) = refused_with(&d, ballot(&poll.id, 0)).await?;
    ensure!(code == "not_checked_in", "{code}: {message}");
    ensure!(poll_on_hub(&hub, &poll.id)?.named.is_empty());
    applied(&d, check_in()).await?;
    applied(&d, ballot(&poll.id, 0)).await?;
    ensure!(poll_on_hub(&hub, &poll.id)?.named.len() == 1);
    Ok(())
}
