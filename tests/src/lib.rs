//! Shared support for the workspace-level tests.
//!
//! - fixed keys and event builders for the crash test (below), so every
//!   crash test speaks about the same small meeting;
//! - [`hub`]: a real hub in a temp dir with one published meeting, served
//!   in-process on `127.0.0.1`, killable and restartable on the same port;
//!   joining real clients to it;
//! - [`proxy`]: a fault-injecting HTTP proxy (counts, pauses, corrupts,
//!   tampers, holds answers);
//! - [`raw`]: a device speaking the protocol by hand, for forged requests;
//! - [`papers`]: real PDFs (typeset by PDFium, or one big image page);
//! - [`e2e`]: the desktop app under Xvfb through tauri-driver (WebDriver);
//! - [`voting`]: many devices paired at once, the chair's commands, ballots;
//! - [`stand_in`]: a hub's stand-in holding a relayed binding proof;
//! - [`files`]: every byte under a folder, to search it.

pub mod e2e;
#[cfg(target_os = "linux")]
pub mod file_manager;
pub mod files;
pub mod hub;
pub mod papers;
pub mod proxy;
pub mod raw;
pub mod sim;
pub mod stand_in;
pub mod voting;

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
