//! The meeting's records, drafted from its log: the voting results as CSV
//! (`ket-qua-bieu-quyet.csv`) and a draft of the minutes as PDF
//! (`bien-ban-du-thao.pdf`) — agenda, attendance, and for each poll its
//! question, its rule in words, the counts, the outcome and, for named
//! votes, the roll call. Vietnamese, as the secretariat files them.
//!
//! A draft: the secretary checks and completes it before it is signed.
//! Everything in it comes from the reducer's state, i.e. from the signed
//! log that `phonghop audit` re-checks.

use crate::{HubDir, HubError};
use phonghop_core::reducer::{Directory, MeetingState, QuorumOverride};
use phonghop_core::text::{capitalized, BodyWords};
use phonghop_core::vote::{Base, MajorityRule, QuorumAction, Threshold};
use phonghop_core::*;
use std::path::{Path, PathBuf};

/// File name of the results table.
pub const RESULTS_CSV: &str = "ket-qua-bieu-quyet.csv";
/// File name of the draft minutes.
pub const MINUTES_PDF: &str = "bien-ban-du-thao.pdf";

/// What [`write_minutes`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinutesFiles {
    /// The results table.
    pub csv: PathBuf,
    /// The draft minutes.
    pub pdf: PathBuf,
    /// Polls reported.
    pub polls: usize,
    /// Pages of the PDF.
    pub pages: u32,
}

/// A rule in the words of a resolution: "quá nửa tổng số đại biểu" (the
/// body's word for its members).
pub fn rule_in_words(rule: &MajorityRule, w: BodyWords) -> String {
    let share = share_in_words(rule.threshold);
    let member = w.member;
    let base = match rule.base {
        Base::AllMembers => format!("tổng số {member}"),
        Base::Present => format!("số {member} có mặt"),
        Base::VotesCast => "số phiếu biểu quyết".to_string(),
    };
    let mut s = format!("tán thành {share} {base}");
    if let Some(q) = rule.quorum {
        let q = match q {
            Threshold::MoreThanHalf => "quá nửa".to_string(),
            Threshold::AtLeastTwoThirds => "ít nhất hai phần ba".to_string(),
            Threshold::Fraction {
                numerator,
                denominator,
                ..
            } => format!("{numerator}/{denominator}"),
        };
        s.push_str(&format!("; cần {q} tổng số {member} có mặt"));
    }
    s
}

/// "quá nửa", "ít nhất hai phần ba", "ít nhất 3/5".
fn share_in_words(t: Threshold) -> String {
    match t {
        Threshold::MoreThanHalf => "quá nửa".to_string(),
        Threshold::AtLeastTwoThirds => "ít nhất hai phần ba".to_string(),
        Threshold::Fraction {
            numerator,
            denominator,
            strict,
        } => format!(
            "{} {numerator}/{denominator}",
            if strict { "trên" } else { "ít nhất" }
        ),
    }
}

/// One quorum override, as the minutes record it.
fn override_in_words(dir: &Directory, o: &QuorumOverride, w: BodyWords) -> String {
    let what = match &o.action {
        QuorumAction::StartSession => format!("khai mạc {}", w.session),
        QuorumAction::OpenPoll { .. } => "mở biểu quyết".to_string(),
        QuorumAction::ClosePoll { .. } => "kết thúc biểu quyết".to_string(),
    };
    format!(
        "Lúc {}, chủ tọa {} quyết định {what} khi chưa đủ số {} có mặt theo quy định \
         (có mặt {}/{}; cần {}).",
        vn_time(o.at),
        name(dir, &o.by),
        w.member,
        o.count.present,
        o.count.voting,
        o.count.required
    )
}

/// "THÔNG QUA", "KHÔNG THÔNG QUA" (with the reason when it is the
/// quorum), or "CHƯA KẾT THÚC" for a poll not closed yet.
pub fn outcome_in_words(p: &Poll, w: BodyWords) -> String {
    match p.outcome {
        None => "CHƯA KẾT THÚC".into(),
        Some(o) if o.passed => "THÔNG QUA".into(),
        Some(o) if !o.quorum_met => format!("KHÔNG THÔNG QUA (không đủ số {} có mặt)", w.member),
        Some(_) => "KHÔNG THÔNG QUA".into(),
    }
}

fn name(dir: &Directory, p: &PersonId) -> String {
    dir.persons
        .get(p)
        .map_or_else(|| p.to_string(), |x| x.name.clone())
}

fn percent(n: u32, of: usize) -> String {
    if of == 0 {
        return "0".into();
    }
    let hundredths = (u64::from(n) * 10_000 + of as u64 / 2) / of as u64;
    format!("{},{:02}%", hundredths / 100, hundredths % 100)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Polls in the order they were created (ids sort by name, not time): the
/// order of their `poll_created` events is kept by the caller; here, by id
/// as a stable fallback.
fn polls_in_order<'a>(m: &'a MeetingState, order: &[PollId]) -> Vec<&'a Poll> {
    let mut out: Vec<&Poll> = order.iter().filter_map(|id| m.polls.get(id)).collect();
    for p in m.polls.values() {
        if !order.contains(&p.id) {
            out.push(p);
        }
    }
    out
}

/// The results table: one line per poll. UTF-8 with a BOM (so spreadsheet
/// programs read the diacritics), comma-separated, quoted where needed.
pub fn results_csv(m: &MeetingState, order: &[PollId]) -> String {
    let w = BodyWords::of(&m.body);
    let member = w.member;
    let mut out = String::from("\u{feff}");
    out.push_str(&format!(
        "STT,Mã biểu quyết,Nội dung,Hình thức,Quy tắc,Tổng số {member},Có mặt khi mở,\
         Tán thành,Không tán thành,Không biểu quyết,Tổng số phiếu,Số phiếu tán thành cần đạt,\
         Tỷ lệ tán thành/tổng số {member},Kết quả\r\n",
    ));
    for (i, p) in polls_in_order(m, order).iter().enumerate() {
        let count = |k: usize| p.counts.get(k).copied().unwrap_or(0);
        let cast: u32 = p.counts.iter().sum();
        let required = p
            .outcome
            .map(|o| o.required.to_string())
            .unwrap_or_default();
        let fields = [
            (i + 1).to_string(),
            p.id.to_string(),
            p.question.clone(),
            if p.secret {
                "Bỏ phiếu kín"
            } else {
                "Công khai"
            }
            .to_string(),
            rule_in_words(&p.rule, w),
            p.eligible.len().to_string(),
            p.present_at_open.to_string(),
            count(0).to_string(),
            count(1).to_string(),
            count(2).to_string(),
            cast.to_string(),
            required,
            percent(count(0), p.eligible.len()),
            outcome_in_words(p, w),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// dd/mm/yyyy HH:MM in Vietnam time (UTC+7, no daylight saving).
fn vn_time(t: Timestamp) -> String {
    let secs = t.0.div_euclid(1000) + 7 * 3600;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{d:02}/{m:02}/{y} {:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Title and paragraphs of the draft minutes.
pub fn minutes_text(m: &MeetingState, dir: &Directory, order: &[PollId]) -> (String, Vec<String>) {
    let title = format!("BIÊN BẢN {} (DỰ THẢO)", m.title.to_uppercase());
    let w = BodyWords::of(&m.body);
    let (session, member) = (w.session, w.member);
    let mut p = vec![m.body.clone()];
    if let Some(t) = m.starts_at {
        p.push(format!("Thời gian: {} (giờ Việt Nam)", vn_time(t)));
    }
    if let Some(place) = &m.place {
        p.push(format!("Địa điểm: {place}"));
    }

    p.push(format!("I. CHƯƠNG TRÌNH {}", session.to_uppercase()));
    for n in m.numbered_agenda() {
        let mut line = format!("{}{}. {}", "    ".repeat(n.depth), n.number, n.item.title);
        if let Some(who) = &n.item.presenter {
            line.push_str(&format!(" — trình bày: {who}"));
        }
        p.push(line);
    }

    p.push("II. THÀNH PHẦN THAM DỰ".into());
    let voters: Vec<&Member> = m.voting_members().collect();
    let present: Vec<&PersonId> = voters
        .iter()
        .map(|v| &v.person)
        .filter(|id| m.attendance.get(*id).is_some_and(|a| a.present))
        .collect();
    let absent: Vec<String> = voters
        .iter()
        .filter(|v| !present.contains(&&v.person))
        .map(|v| name(dir, &v.person))
        .collect();
    p.push(format!(
        "Tổng số {member}: {}; có mặt (đã điểm danh): {}; vắng mặt: {}.",
        voters.len(),
        present.len(),
        absent.len()
    ));
    if let Some(chair) = m.members.values().find(|x| x.role == Role::Chair) {
        p.push(format!("Chủ tọa: {}.", name(dir, &chair.person)));
    }
    if let Some(sec) = m.members.values().find(|x| x.role == Role::Secretariat) {
        p.push(format!("Thư ký: {}.", name(dir, &sec.person)));
    }
    if !absent.is_empty() {
        p.push(format!(
            "{} vắng mặt: {}.",
            capitalized(member),
            absent.join(", ")
        ));
    }
    let q = share_in_words(m.rules.quorum);
    p.push(format!(
        "Điều kiện tiến hành: có {q} tổng số {member} có mặt ({} {member}).",
        m.rules
            .quorum
            .required(u32::try_from(voters.len()).unwrap_or(u32::MAX))
    ));
    for o in m
        .quorum_overrides
        .iter()
        .filter(|o| o.action == QuorumAction::StartSession)
    {
        p.push(override_in_words(dir, o, w));
    }

    p.push("III. KẾT QUẢ BIỂU QUYẾT".into());
    let polls = polls_in_order(m, order);
    if polls.is_empty() {
        p.push(format!(
            "{} không có nội dung biểu quyết.",
            capitalized(session)
        ));
    }
    for (i, poll) in polls.iter().enumerate() {
        p.push(format!("{}. {}", i + 1, poll.question));
        if let Some(item) = poll.item.as_ref().and_then(|id| {
            m.numbered_agenda()
                .into_iter()
                .find(|n| &n.item.id == id)
                .map(|n| format!("{}. {}", n.number, n.item.title))
        }) {
            p.push(format!("Thuộc mục: {item}."));
        }
        p.push(format!(
            "Hình thức: {}. Quy tắc: {}.",
            if poll.secret {
                "bỏ phiếu kín"
            } else {
                "biểu quyết công khai"
            },
            rule_in_words(&poll.rule, w)
        ));
        let total = poll.eligible.len();
        let counts: Vec<String> = poll
            .options
            .iter()
            .zip(&poll.counts)
            .map(|(o, n)| format!("{o}: {n} ({} tổng số {member})", percent(*n, total)))
            .collect();
        let cast: u32 = poll.counts.iter().sum();
        p.push(format!(
            "Tổng số {member}: {total}; có mặt khi biểu quyết: {}; số phiếu: {cast}. {}.",
            poll.present_at_open,
            counts.join("; ")
        ));
        for o in m.quorum_overrides.iter().filter(|o| {
            matches!(&o.action, QuorumAction::OpenPoll { poll: x } | QuorumAction::ClosePoll { poll: x }
                if x == &poll.id)
        }) {
            p.push(override_in_words(dir, o, w));
        }
        match poll.outcome {
            Some(o) => p.push(format!(
                "Cần {} phiếu tán thành; đạt {}. Kết quả: {}.",
                o.required,
                o.approve,
                outcome_in_words(poll, w)
            )),
            None => p.push(format!("Kết quả: {}.", outcome_in_words(poll, w))),
        }
        if !poll.secret && !poll.named.is_empty() {
            for (k, option) in poll.options.iter().enumerate() {
                let names: Vec<String> = poll
                    .named
                    .iter()
                    .filter(|(_, c)| **c as usize == k)
                    .map(|(who, _)| name(dir, who))
                    .collect();
                if !names.is_empty() {
                    p.push(format!("{option} ({}): {}.", names.len(), names.join(", ")));
                }
            }
            let silent: Vec<String> = poll
                .eligible
                .iter()
                .filter(|e| !poll.named.contains_key(*e))
                .map(|e| name(dir, e))
                .collect();
            if !silent.is_empty() {
                p.push(format!(
                    "Không tham gia biểu quyết ({}): {}.",
                    silent.len(),
                    silent.join(", ")
                ));
            }
        } else if poll.secret {
            p.push(format!(
                "Bỏ phiếu kín: {} {member} đã bỏ phiếu; phiếu không ghi tên người bỏ.",
                poll.turnout.len()
            ));
        }
    }
    p.push(format!(
        "Dự thảo do Phonghop lập từ nhật ký {session} đã ký số (kiểm tra lại bằng `phonghop audit`); \
         thư ký {session} kiểm tra, bổ sung trước khi trình chủ tọa ký."
    ));
    (title, p)
}

/// The meeting's polls in the order they were created, from its log (the
/// hub's, or a device's copy).
pub fn poll_order(
    store: &phonghop_store::Store,
    meeting: &str,
) -> Result<Vec<PollId>, phonghop_store::StoreError> {
    Ok(store
        .entries(&LogId::Meeting(MeetingId::new(meeting)), 0)?
        .into_iter()
        .filter_map(|e| match e.event() {
            Ok(Some(Event::PollCreated { poll, .. })) => Some(poll),
            _ => None,
        })
        .collect())
}

/// Writes [`RESULTS_CSV`] and [`MINUTES_PDF`] for `meeting` into `out_dir`
/// (created if needed), typeset with `font` (a TrueType font with
/// Vietnamese, e.g. DejaVu Sans from [`phonghop_pdf::find_font`]).
pub fn write_minutes(
    hub: &HubDir,
    meeting: &str,
    out_dir: &Path,
    font: &Path,
) -> Result<MinutesFiles, HubError> {
    let m = hub.meeting(meeting)?;
    let order = poll_order(hub.store(), meeting)?;
    std::fs::create_dir_all(out_dir).map_err(|source| HubError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let csv = out_dir.join(RESULTS_CSV);
    std::fs::write(&csv, results_csv(m, &order)).map_err(|source| HubError::Io {
        path: csv.clone(),
        source,
    })?;
    let (title, paragraphs) = minutes_text(m, &hub.store().state().directory, &order);
    let pdf = out_dir.join(MINUTES_PDF);
    let pages = phonghop_pdf::render_text_pdf(&title, &paragraphs, font, &pdf)?;
    Ok(MinutesFiles {
        csv,
        pdf,
        polls: m.polls.len(),
        pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewMeeting, NewPerson};

    fn person(hub: &mut HubDir, id: &str, name: &str) {
        hub.add_person(NewPerson {
            id: Some(id.into()),
            name: name.into(),
            title: None,
            unit: None,
        })
        .unwrap();
    }

    /// A meeting of 5 voting members (chair + 4), 4 checked in, one named
    /// poll (3 of 5 approve: passes) and one secret poll under two thirds
    /// (3 of 5 approve: fails).
    #[test]
    fn minutes_from_a_meeting_with_two_polls() {
        let tmp = tempfile::tempdir().unwrap();
        let mut hub = HubDir::init(&tmp.path().join("hub")).unwrap();
        let names = [
            ("chu-toa", "Nguyễn Văn Chủ"),
            ("thu-ky", "Lê Thị Thư"),
            ("db1", "Trần Đức Một"),
            ("db2", "Phạm Thị Hai"),
            ("db3", "Hoàng Văn Ba"),
            ("db4", "Vũ Thị Bốn"),
        ];
        for (id, n) in names {
            person(&mut hub, id, n);
        }
        hub.create_meeting(
            NewMeeting {
                id: Some("kh12".into()),
                body: "HĐND tỉnh Sơn Hà".into(),
                title: "Kỳ họp thứ mười hai".into(),
                starts_at: Some(Timestamp(1_796_691_600_000)), // 08/12/2026 08:00 +07
                place: Some("Hội trường tầng 2".into()),
            },
            Timestamp(0),
        )
        .unwrap();
        hub.add_member("kh12", "chu-toa", Role::Chair).unwrap();
        hub.add_member("kh12", "thu-ky", Role::Secretariat).unwrap();
        for d in ["db1", "db2", "db3", "db4"] {
            hub.add_member("kh12", d, Role::Delegate).unwrap();
        }
        hub.add_agenda_item(
            "kh12",
            "1",
            "Khai mạc kỳ họp",
            Some("Chủ tọa".into()),
            Some(10),
        )
        .unwrap();
        hub.add_agenda_item("kh12", "2", "Nghị quyết về dự toán ngân sách", None, None)
            .unwrap();
        hub.publish("kh12", Timestamp(1)).unwrap();
        let log = LogId::Meeting(MeetingId::new("kh12"));
        let voters: Vec<PersonId> = ["chu-toa", "db1", "db2", "db3", "db4"]
            .into_iter()
            .map(PersonId::new)
            .collect();
        let mut evs = vec![Event::SessionStarted { at: Timestamp(2) }];
        for v in &voters[..4] {
            evs.push(Event::AttendanceRecorded {
                person: v.clone(),
                present: true,
                at: Timestamp(3),
            });
        }
        let q1 = "Thông qua Nghị quyết về dự toán ngân sách năm 2027?";
        let q2 = "Miễn nhiệm Phó Chủ tịch HĐND tỉnh?";
        for (poll, question, secret, rule) in [
            (
                "nq-ngan-sach",
                q1,
                false,
                MajorityRule::MORE_THAN_HALF_OF_ALL,
            ),
            ("mien-nhiem", q2, true, MajorityRule::TWO_THIRDS_OF_ALL),
        ] {
            evs.push(Event::PollCreated {
                poll: PollId::new(poll),
                item: (poll == "nq-ngan-sach").then(|| {
                    hub.meeting("kh12")
                        .unwrap()
                        .item_by_number("2")
                        .unwrap()
                        .id
                        .clone()
                }),
                question: question.into(),
                options: vec![
                    "Tán thành".into(),
                    "Không tán thành".into(),
                    "Không biểu quyết".into(),
                ],
                secret,
                rule,
                eligible: voters.clone(),
                closes_at: None,
            });
            evs.push(Event::PollOpened {
                poll: PollId::new(poll),
                at: Timestamp(4),
            });
            for (v, choice) in voters.iter().zip([0, 0, 0, 1, 2]) {
                if secret {
                    evs.push(Event::TurnoutRecorded {
                        poll: PollId::new(poll),
                        person: v.clone(),
                        at: Timestamp(5),
                    });
                }
                evs.push(Event::BallotCast {
                    poll: PollId::new(poll),
                    voter: (!secret).then(|| v.clone()),
                    choice,
                    at: Timestamp(5),
                    proof: None,
                });
            }
            evs.push(Event::PollClosed {
                poll: PollId::new(poll),
                at: Timestamp(6),
            });
        }
        hub.append(&log, &evs).unwrap();

        let out = tmp.path().join("bien-ban");
        let font = match phonghop_pdf::find_font() {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        };
        let files = write_minutes(&hub, "kh12", &out, &font).unwrap();
        assert_eq!(files.polls, 2);
        let csv = std::fs::read_to_string(&files.csv).unwrap();
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(lines[0].starts_with("STT,Mã biểu quyết,Nội dung"));
        assert_eq!(
            lines[1],
            format!("1,nq-ngan-sach,{q1},Công khai,tán thành quá nửa tổng số đại biểu,5,4,3,1,1,5,3,\"60,00%\",THÔNG QUA")
        );
        assert_eq!(
            lines[2],
            format!("2,mien-nhiem,{q2},Bỏ phiếu kín,tán thành ít nhất hai phần ba tổng số đại biểu,5,4,3,1,1,5,4,\"60,00%\",KHÔNG THÔNG QUA")
        );

        let text: String = phonghop_pdf::analyze(&files.pdf)
            .unwrap()
            .pages
            .iter()
            .map(|p| p.text.replace(['\r', '\n'], " "))
            .collect::<Vec<_>>()
            .join(" ");
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for want in [
            "BIÊN BẢN",
            "08/12/2026 08:00",
            "2. Nghị quyết về dự toán ngân sách",
            "Tổng số đại biểu: 5; có mặt (đã điểm danh): 4; vắng mặt: 1.",
            "Đại biểu vắng mặt: Vũ Thị Bốn.",
            q1,
            q2,
            "Kết quả: THÔNG QUA.",
            "Kết quả: KHÔNG THÔNG QUA.",
            "Tán thành (3): Nguyễn Văn Chủ, Trần Đức Một, Phạm Thị Hai.",
            "phiếu không ghi tên người bỏ",
        ] {
            assert!(flat.contains(want), "the PDF text lacks {want:?}:\n{flat}");
        }
    }

    #[test]
    fn vietnam_time_and_words() {
        assert_eq!(vn_time(Timestamp(0)), "01/01/1970 07:00");
        assert_eq!(vn_time(Timestamp(1_796_691_600_000)), "08/12/2026 08:00");
        assert_eq!(percent(26, 50), "52,00%");
        assert_eq!(percent(1, 3), "33,33%");
        let q = MajorityRule {
            quorum: Some(Threshold::AtLeastTwoThirds),
            ..MajorityRule::MORE_THAN_HALF_OF_ALL
        };
        assert_eq!(
            rule_in_words(&q, BodyWords::of("HĐND tỉnh Sơn Hà")),
            "tán thành quá nửa tổng số đại biểu; cần ít nhất hai phần ba tổng số đại biểu có mặt"
        );
        // A committee's minutes speak of its members.
        assert_eq!(
            rule_in_words(&q, BodyWords::of("UBND tỉnh Sơn Hà")),
            "tán thành quá nửa tổng số thành viên; cần ít nhất hai phần ba tổng số thành viên có mặt"
        );
        assert_eq!(csv_field("a,b \"c\""), "\"a,b \"\"c\"\"\"");
    }
}
