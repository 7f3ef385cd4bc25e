//! Size limits of every command field, as data ([`LIMITS`]), and the one
//! check both sides run: the device before it queues a command
//! ([`check_command`]), the hub again before it plans one (refusal code
//! `too_large`, same message). The per-person quota on private annotations
//! ([`private_bytes`], [`check_private_quota`]) is measured on a state, so
//! each side checks it against the state it holds.
//!
//! The hub's HTTP body limit ([`Limits::request_bytes`]) sits well above the
//! largest command these limits allow ([`Limits::command_bytes`], tested
//! below), so an oversized field is reported by this check with its name,
//! size and limit, never by a bare 413.

use crate::model::{Annotation, Shape, Visibility};
use crate::protocol::{Command, SignedCommand};
use std::fmt;

/// The limits, in bytes (UTF-8) or counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Any id in a command (meeting, paper, annotation, poll, agenda item,
    /// request to speak, command, device).
    pub id_bytes: usize,
    /// Note text, or the comment on a highlight or ink.
    pub note_text_bytes: usize,
    /// An annotation's colour (`#rrggbb`).
    pub color_bytes: usize,
    /// Rectangles of one highlight (one per line of text).
    pub highlight_rects: usize,
    /// Strokes of one ink annotation.
    pub ink_strokes: usize,
    /// Points of one ink annotation, all strokes together.
    pub ink_points: usize,
    /// A poll's question.
    pub question_bytes: usize,
    /// A poll's options.
    pub poll_options: usize,
    /// One option's text.
    pub option_bytes: usize,
    /// One person's private annotations in one meeting (their personal
    /// log's live content), measured by [`annotation_bytes`].
    pub private_bytes_per_meeting: usize,
    /// The largest signed command (JSON) the limits above allow.
    pub command_bytes: usize,
    /// The hub's HTTP request body limit (above `command_bytes`).
    pub request_bytes: usize,
}

/// The limits of this version (hub and devices share them).
pub const LIMITS: Limits = Limits {
    id_bytes: crate::ids::MAX_ID_LEN,
    note_text_bytes: 16 * 1024,
    color_bytes: 7,
    highlight_rects: 1_000,
    ink_strokes: 200,
    ink_points: 10_000,
    question_bytes: 2 * 1024,
    poll_options: 20,
    option_bytes: 512,
    private_bytes_per_meeting: 4 * 1024 * 1024,
    command_bytes: 1024 * 1024,
    request_bytes: 4 * 1024 * 1024,
};

/// What was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Bytes of one field.
    Bytes,
    /// How many of something (the noun: "points", "options").
    Count(&'static str),
    /// Bytes of one person's private annotations in one meeting.
    PersonalBytes,
}

/// A field over its limit. The message names the field, its size and the
/// limit ("note text is 3,145,728 bytes; the limit is 16,384").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    /// The field, for people ("note text", "poll question").
    pub field: String,
    /// Its size.
    pub size: usize,
    /// The limit.
    pub limit: usize,
    /// What the numbers count.
    pub measure: Measure,
}

impl TooLarge {
    /// The stable refusal code.
    pub const CODE: &'static str = "too_large";
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (size, limit) = (grouped(self.size), grouped(self.limit));
        match self.measure {
            Measure::Bytes => write!(f, "{} is {size} bytes; the limit is {limit}", self.field),
            Measure::Count(noun) => {
                write!(f, "{} has {size} {noun}; the limit is {limit}", self.field)
            }
            Measure::PersonalBytes => write!(
                f,
                "{} would total {size} bytes; the limit is {limit} per person and meeting \
                 (delete some private notes, or share them)",
                self.field
            ),
        }
    }
}

impl std::error::Error for TooLarge {}

/// `3145728` → `"3,145,728"`.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes(field: &str, s: &str, limit: usize) -> Result<(), TooLarge> {
    count(field, s.len(), limit, Measure::Bytes)
}

fn count(field: &str, size: usize, limit: usize, measure: Measure) -> Result<(), TooLarge> {
    if size > limit {
        return Err(TooLarge {
            field: field.into(),
            size,
            limit,
            measure,
        });
    }
    Ok(())
}

fn id(field: &str, s: &str) -> Result<(), TooLarge> {
    bytes(field, s, LIMITS.id_bytes)
}

/// Checks every field of an annotation.
pub fn check_annotation(a: &Annotation) -> Result<(), TooLarge> {
    let l = &LIMITS;
    id("annotation id", a.id.as_str())?;
    id("author id", a.author.as_str())?;
    id("paper id", a.document.as_str())?;
    bytes("colour", &a.color, l.color_bytes)?;
    if let Some(text) = &a.text {
        bytes("note text", text, l.note_text_bytes)?;
    }
    match &a.shape {
        Shape::Highlight { rects } => count(
            "the highlight",
            rects.len(),
            l.highlight_rects,
            Measure::Count("rectangles"),
        ),
        Shape::Ink { strokes, .. } => {
            count(
                "the ink",
                strokes.len(),
                l.ink_strokes,
                Measure::Count("strokes"),
            )?;
            let points = strokes.iter().map(Vec::len).sum();
            count("the ink", points, l.ink_points, Measure::Count("points"))
        }
        Shape::Note { .. } => Ok(()),
    }
}

/// Checks every field of a command (not the quota, which needs a state).
pub fn check_command(command: &Command) -> Result<(), TooLarge> {
    let l = &LIMITS;
    id("meeting id", command.meeting().as_str())?;
    match command {
        Command::AddAnnotation { annotation, .. } | Command::EditAnnotation { annotation, .. } => {
            check_annotation(annotation)
        }
        Command::DeleteAnnotation { annotation, .. } => id("annotation id", annotation.as_str()),
        Command::RequestToSpeak { request, item, .. } => {
            id("request id", request.as_str())?;
            item.as_ref()
                .map_or(Ok(()), |i| id("agenda item id", i.as_str()))
        }
        Command::WithdrawRequest { request, .. }
        | Command::GiveFloor { request, .. }
        | Command::EndFloor { request, .. } => id("request id", request.as_str()),
        Command::SetCurrentItem { item, .. } => item
            .as_ref()
            .map_or(Ok(()), |i| id("agenda item id", i.as_str())),
        Command::SetChairFocus { document, .. } => document
            .as_ref()
            .map_or(Ok(()), |d| id("paper id", d.as_str())),
        Command::CreatePoll {
            poll,
            item,
            question,
            options,
            ..
        } => {
            id("poll id", poll.as_str())?;
            if let Some(i) = item {
                id("agenda item id", i.as_str())?;
            }
            bytes("poll question", question, l.question_bytes)?;
            count(
                "the poll",
                options.len(),
                l.poll_options,
                Measure::Count("options"),
            )?;
            for (i, o) in options.iter().enumerate() {
                bytes(&format!("poll option {}", i + 1), o, l.option_bytes)?;
            }
            Ok(())
        }
        Command::CastBallot { poll, .. }
        | Command::OpenPoll { poll, .. }
        | Command::ClosePoll { poll, .. } => id("poll id", poll.as_str()),
        Command::CheckIn { .. } | Command::StartSession { .. } | Command::CloseSession { .. } => {
            Ok(())
        }
    }
}

/// Checks a signed command: its envelope (command and device ids) and
/// every field of the command.
pub fn check_signed(signed: &SignedCommand) -> Result<(), TooLarge> {
    id("command id", signed.body.id.as_str())?;
    id("device id", signed.body.device.as_str())?;
    check_command(&signed.body.command)
}

/// A whole signed command as sent (its JSON bytes) against the hub's
/// request limit: "the command is 5,242,990 bytes; the limit is 4,194,304".
/// A device checks this before sending anything queued (an older version
/// may have queued it), the hub for what arrives.
pub fn check_request_bytes(bytes: usize) -> Result<(), TooLarge> {
    count("the command", bytes, LIMITS.request_bytes, Measure::Bytes)
}

/// What one annotation costs against the quota: the bytes of its JSON.
pub fn annotation_bytes(a: &Annotation) -> usize {
    serde_json::to_vec(a).map_or(usize::MAX, |v| v.len())
}

/// Bytes of the private annotations among `annotations`.
pub fn private_bytes<'a>(annotations: impl IntoIterator<Item = &'a Annotation>) -> usize {
    annotations
        .into_iter()
        .filter(|a| a.visibility == Visibility::Private)
        .map(annotation_bytes)
        .fold(0, usize::saturating_add)
}

/// The quota on one person's private annotations in one meeting: `before`
/// is what they hold, `after` what they would hold with the command. A
/// change that does not grow the total is always allowed (so a person over
/// the quota can still delete and shrink).
pub fn check_private_quota(before: usize, after: usize) -> Result<(), TooLarge> {
    if after > before && after > LIMITS.private_bytes_per_meeting {
        return Err(TooLarge {
            field: "your private annotations in this meeting".into(),
            size: after,
            limit: LIMITS.private_bytes_per_meeting,
            measure: Measure::PersonalBytes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::*;
    use crate::model::{Point, Rect};
    use crate::protocol::CommandBody;
    use crate::vote::MajorityRule;
    use crate::SecretKey;

    fn note(text: &str) -> Annotation {
        Annotation {
            id: AnnotationId::new("a1"),
            author: PersonId::new("p"),
            document: DocumentId::new("d"),
            version: 1,
            page: 0,
            shape: Shape::Note {
                at: Point { x: 1.0, y: 2.0 },
            },
            color: "#ffcc00".into(),
            text: Some(text.into()),
            visibility: Visibility::Private,
            updated_at: Timestamp(0),
        }
    }

    fn add(a: Annotation) -> Command {
        Command::AddAnnotation {
            meeting: MeetingId::new("m"),
            annotation: a,
        }
    }

    #[test]
    fn messages_name_the_field_its_size_and_the_limit() {
        let e = check_command(&add(note(&"x".repeat(3 * 1024 * 1024)))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "note text is 3,145,728 bytes; the limit is 16,384"
        );
        let mut ink = note("");
        ink.shape = Shape::Ink {
            strokes: vec![vec![Point { x: 0.0, y: 0.0 }; 6_000]; 2],
            width: 2.0,
        };
        assert_eq!(
            check_annotation(&ink).unwrap_err().to_string(),
            "the ink has 12,000 points; the limit is 10,000"
        );
        let poll = Command::CreatePoll {
            meeting: MeetingId::new("m"),
            poll: PollId::new("p1"),
            item: None,
            question: "?".into(),
            options: vec!["a".into(); 21],
            secret: false,
            rule: MajorityRule::MORE_THAN_HALF_OF_ALL,
            closes_at: None,
        };
        assert_eq!(
            check_command(&poll).unwrap_err().to_string(),
            "the poll has 21 options; the limit is 20"
        );
        let long_id = Command::CastBallot {
            meeting: MeetingId::new("m"),
            poll: PollId::new("p".repeat(65)),
            choice: 0,
        };
        assert_eq!(
            check_command(&long_id).unwrap_err().to_string(),
            "poll id is 65 bytes; the limit is 64"
        );
        assert!(check_command(&add(note(&"x".repeat(16 * 1024)))).is_ok());
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(16_384), "16,384");
    }

    #[test]
    fn the_quota_refuses_growth_only() {
        let l = LIMITS.private_bytes_per_meeting;
        assert!(check_private_quota(0, l).is_ok());
        assert!(check_private_quota(l - 1, l + 1).is_err());
        assert!(
            check_private_quota(l + 10, l + 5).is_ok(),
            "shrinking is allowed"
        );
        let mut shared = note("chung");
        shared.visibility = Visibility::Shared;
        let private = note("riêng");
        assert_eq!(
            private_bytes([&shared, &private]),
            annotation_bytes(&private)
        );
    }

    /// The largest command the limits allow, with the widest JSON numbers
    /// and text that escapes to six bytes per byte, stays under
    /// `command_bytes`, which stays under the hub's body limit.
    #[test]
    fn the_largest_valid_command_fits_under_the_body_limit() {
        let l = LIMITS;
        let wide = -1.175_494_3e-38_f32;
        let id = |c: char| c.to_string().repeat(l.id_bytes);
        let text = "\u{1}".repeat(l.note_text_bytes);
        let shapes = [
            Shape::Ink {
                strokes: vec![
                    vec![Point { x: wide, y: wide }; l.ink_points / l.ink_strokes];
                    l.ink_strokes
                ],
                width: wide,
            },
            Shape::Highlight {
                rects: vec![
                    Rect {
                        left: wide,
                        bottom: wide,
                        right: wide,
                        top: wide,
                    };
                    l.highlight_rects
                ],
            },
        ];
        let key = SecretKey::from_seed([7; 32]);
        let mut largest = 0;
        let mut commands: Vec<Command> = shapes
            .into_iter()
            .map(|shape| Command::EditAnnotation {
                meeting: MeetingId::new(id('m')),
                annotation: Annotation {
                    id: AnnotationId::new(id('a')),
                    author: PersonId::new(id('p')),
                    document: DocumentId::new(id('d')),
                    version: u32::MAX,
                    page: u32::MAX,
                    shape,
                    color: "#ffffff".into(),
                    text: Some(text.clone()),
                    visibility: Visibility::Private,
                    updated_at: Timestamp(i64::MIN),
                },
            })
            .collect();
        commands.push(Command::CreatePoll {
            meeting: MeetingId::new(id('m')),
            poll: PollId::new(id('p')),
            item: Some(AgendaItemId::new(id('i'))),
            question: "\u{1}".repeat(l.question_bytes),
            options: vec!["\u{1}".repeat(l.option_bytes); l.poll_options],
            secret: true,
            rule: MajorityRule::MORE_THAN_HALF_OF_ALL,
            closes_at: Some(Timestamp(i64::MIN)),
        });
        for command in commands {
            check_command(&command).expect("the command is at the limits, not over");
            let signed = SignedCommand::sign(
                CommandBody {
                    device: DeviceId::new(id('v')),
                    id: CommandId::new(id('c')),
                    issued_at: Timestamp(i64::MIN),
                    command,
                },
                &key,
            )
            .unwrap();
            check_signed(&signed).unwrap();
            largest = largest.max(serde_json::to_vec(&signed).unwrap().len());
        }
        assert!(
            largest <= l.command_bytes,
            "the largest valid command is {largest} bytes, over command_bytes {}",
            l.command_bytes
        );
        assert!(l.command_bytes < l.request_bytes);
        assert!(check_request_bytes(largest).is_ok());
        assert_eq!(
            check_request_bytes(5_242_990).unwrap_err().to_string(),
            "the command is 5,242,990 bytes; the limit is 4,194,304"
        );
    }
}
