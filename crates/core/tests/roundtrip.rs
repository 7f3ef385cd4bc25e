//! Property tests: events survive JSON and canonical bytes unchanged, and
//! signed log entries verify, while any change to them does not.

use phonghop_core::*;
use proptest::prelude::*;

fn id() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_-]{1,20}"
}

fn text() -> impl Strategy<Value = String> {
    // Vietnamese letters with tone marks, ASCII, punctuation and quotes.
    "[a-zA-Z0-9 àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđĐ\"\\\\.,:–]{1,40}"
}

fn coord() -> impl Strategy<Value = f32> {
    -2000.0f32..2000.0
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        prop::collection::vec((coord(), coord(), coord(), coord()), 1..4).prop_map(|rs| {
            Shape::Highlight {
                rects: rs
                    .into_iter()
                    .map(|(left, bottom, right, top)| Rect {
                        left,
                        bottom,
                        right,
                        top,
                    })
                    .collect(),
            }
        }),
        (
            prop::collection::vec(prop::collection::vec((coord(), coord()), 1..6), 1..3),
            0.1f32..20.0
        )
            .prop_map(|(ss, width)| Shape::Ink {
                strokes: ss
                    .into_iter()
                    .map(|s| s.into_iter().map(|(x, y)| Point { x, y }).collect())
                    .collect(),
                width
            }),
        (coord(), coord()).prop_map(|(x, y)| Shape::Note { at: Point { x, y } }),
    ]
}

fn threshold() -> impl Strategy<Value = Threshold> {
    prop_oneof![
        Just(Threshold::MoreThanHalf),
        Just(Threshold::AtLeastTwoThirds),
        (1u32..10, 1u32..10, any::<bool>()).prop_map(|(numerator, denominator, strict)| {
            Threshold::Fraction {
                numerator,
                denominator,
                strict,
            }
        }),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (id(), text(), prop::option::of(text())).prop_map(|(i, name, title)| Event::PersonAdded {
            person: Person {
                id: PersonId::new(i),
                name,
                title,
                unit: None
            }
        }),
        (
            id(),
            prop::option::of(id()),
            text(),
            1u32..5,
            prop::option::of(0u32..600)
        )
            .prop_map(|(i, parent, title, position, planned_minutes)| {
                Event::AgendaItemAdded {
                    item: AgendaItem {
                        id: AgendaItemId::new(i),
                        parent: parent.map(AgendaItemId::new),
                        title,
                        presenter: None,
                        planned_minutes,
                    },
                    position,
                }
            }),
        (
            id(),
            id(),
            shape(),
            prop::option::of(text()),
            any::<bool>(),
            any::<i64>(),
            0u32..500
        )
            .prop_map(
                |(i, author, shape, text, shared, t, page)| Event::AnnotationAdded {
                    annotation: Annotation {
                        id: AnnotationId::new(i),
                        author: PersonId::new(author),
                        document: DocumentId::new("doc"),
                        version: 1,
                        page,
                        shape,
                        color: "#ff0000".into(),
                        text,
                        visibility: if shared {
                            Visibility::Shared
                        } else {
                            Visibility::Private
                        },
                        updated_at: Timestamp(t),
                    }
                }
            ),
        (id(), prop::option::of(id()), 0u32..3, any::<i64>()).prop_map(|(p, voter, choice, t)| {
            Event::BallotCast {
                poll: PollId::new(p),
                voter: voter.map(PersonId::new),
                choice,
                at: Timestamp(t),
                proof: None,
            }
        }),
        (
            id(),
            text(),
            any::<bool>(),
            threshold(),
            prop::option::of(threshold()),
            prop::collection::vec(id(), 1..5)
        )
            .prop_map(|(p, question, secret, threshold, quorum, eligible)| {
                Event::PollCreated {
                    poll: PollId::new(p),
                    item: None,
                    question,
                    options: vec!["Tán thành".into(), "Không tán thành".into()],
                    secret,
                    rule: MajorityRule {
                        base: Base::Present,
                        threshold,
                        quorum,
                    },
                    eligible: eligible.into_iter().map(PersonId::new).collect(),
                    closes_at: None,
                }
            }),
    ]
}

proptest! {
    #[test]
    fn events_round_trip_through_json_and_canonical_bytes(e in event()) {
        let json = serde_json::to_string(&e).unwrap();
        let back: Event = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &e);
        let canon = canonical::to_canonical_bytes(&e).unwrap();
        let back2: Event = serde_json::from_slice(&canon).unwrap();
        prop_assert_eq!(&back2, &e);
        // Canonical bytes are a fixed point: re-canonicalizing changes nothing.
        prop_assert_eq!(canonical::to_canonical_bytes(&back2).unwrap(), canon);
    }

    #[test]
    fn sealed_entries_verify_and_any_flipped_bit_is_caught(
        evs in prop::collection::vec(event(), 1..6),
        seed in any::<[u8; 32]>(),
        flip in any::<(usize, u8)>(),
    ) {
        let hub = SecretKey::from_seed(seed);
        let log = LogId::Meeting(MeetingId::new("m1"));
        let mut entries: Vec<LogEntry> = Vec::new();
        for e in &evs {
            let prev = entries.last().map(|p| (p.seq, p.hash));
            entries.push(LogEntry::seal(log.clone(), prev, e, &hub).unwrap());
        }
        prop_assert_eq!(log::verify_chain(&entries, &hub.public()), Ok(0));
        for (e, ev) in entries.iter().zip(&evs) {
            prop_assert_eq!(e.event().unwrap(), Some(ev.clone()));
        }
        // Redacting any entry keeps the chain valid.
        let mut red = entries.clone();
        let k = flip.0 % red.len();
        red[k] = red[k].redacted();
        prop_assert_eq!(log::verify_chain(&red, &hub.public()), Ok(1));
        // Flipping one bit of a payload breaks it.
        let mut bad = entries.clone();
        let mut bytes = bad[k].payload.clone().unwrap().into_bytes();
        let at = (flip.0 / 7) % bytes.len();
        bytes[at] ^= 1 << (flip.1 % 7);
        bad[k].payload = Some(String::from_utf8_lossy(&bytes).into_owned());
        prop_assert!(log::verify_chain(&bad, &hub.public()).is_err());
        // Another key's signature is refused.
        let other = SecretKey::from_seed([seed[0].wrapping_add(1); 32]);
        prop_assert!(log::verify_chain(&entries, &other.public()).is_err());
        // Signed JSON of an entry round-trips.
        let json = serde_json::to_string(&entries[k]).unwrap();
        let back: LogEntry = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &entries[k]);
        prop_assert!(back.verify(&hub.public()).is_ok());
    }
}
