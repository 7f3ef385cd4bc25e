//! Shared support for the workspace-level tests: fixed keys and event
//! builders, so every test speaks about the same small meeting.

use phonghop_core::*;

/// The test hub's signing key (fixed, so failures reproduce).
pub fn hub_key() -> SecretKey {
    SecretKey::from_seed([42; 32])
}

/// The meeting all crash tests write to.
pub fn meeting() -> MeetingId {
    MeetingId::new("crash-test")
}

/// The first event of the test meeting's log.
pub fn meeting_created() -> Event {
    Event::MeetingCreated {
        meeting: meeting(),
        body: "HĐND tỉnh Sơn Hà".into(),
        title: "Kỳ họp kiểm thử".into(),
        starts_at: None,
        place: None,
        at: Timestamp(0),
    }
}

/// A distinct, always-valid event: agenda item number `n`.
pub fn agenda_item(n: u64) -> Event {
    Event::AgendaItemAdded {
        item: AgendaItem {
            id: AgendaItemId::new(format!("a{n}")),
            parent: None,
            title: format!("Mục nghị sự số {n} — nội dung thử nghiệm"),
            presenter: Some("Thư ký kỳ họp".into()),
            planned_minutes: Some(5),
        },
        position: 1,
    }
}
