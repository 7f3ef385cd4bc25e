//! How long devices keep a meeting's pack, set by the secretariat
//! ([`crate::Event::RetentionSet`]) and enforced by each device on its own
//! clock, offline too: a lost laptop that never reaches the hub again
//! still deletes the papers when their time is up.

use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// Longest either period may be (ten years).
pub const MAX_DAYS: u32 = 3650;

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// A meeting's retention rule. Both parts are optional; a meeting without
/// [`crate::Event::RetentionSet`] keeps its pack on devices until the
/// secretariat sets one (or the device is revoked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Retention {
    /// Delete the pack from devices this many days after the session
    /// closed (0: as soon as it closes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_after_days: Option<u32>,
    /// Lock the pack on a device that has not reached the hub for this
    /// many days (it opens again once the device reaches the hub).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_after_offline_days: Option<u32>,
    /// The app asks for its PIN again after this many idle minutes (the
    /// shortest among the meetings a device holds applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_lock_minutes: Option<u32>,
}

/// Longest idle time before the app locks (a day).
pub const MAX_IDLE_MINUTES: u32 = 24 * 60;

impl Retention {
    /// Whether both periods are within [`MAX_DAYS`].
    pub fn is_valid(&self) -> bool {
        [self.delete_after_days, self.lock_after_offline_days]
            .into_iter()
            .flatten()
            .all(|d| d <= MAX_DAYS)
            && self
                .idle_lock_minutes
                .is_none_or(|m| (1..=MAX_IDLE_MINUTES).contains(&m))
    }

    /// When devices delete the pack: `delete_after_days` after the close;
    /// `None` without a rule or before the session closed.
    pub fn delete_at(&self, closed_at: Option<Timestamp>) -> Option<Timestamp> {
        let (days, closed) = (self.delete_after_days?, closed_at?);
        Some(Timestamp(closed.0.saturating_add(i64::from(days) * DAY_MS)))
    }

    /// Whether the pack is locked at `now` on a device whose last contact
    /// with the hub was `last_contact` (never: locked once a rule exists).
    pub fn locked(&self, last_contact: Option<Timestamp>, now: Timestamp) -> bool {
        let Some(days) = self.lock_after_offline_days else {
            return false;
        };
        match last_contact {
            None => true,
            Some(t) => now.0 >= t.0.saturating_add(i64::from(days) * DAY_MS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_follow_the_close_and_the_last_contact() {
        let r = Retention {
            delete_after_days: Some(30),
            lock_after_offline_days: Some(7),
            idle_lock_minutes: Some(10),
        };
        assert!(r.is_valid());
        assert_eq!(r.delete_at(None), None, "not closed yet");
        assert_eq!(
            r.delete_at(Some(Timestamp(1_000))),
            Some(Timestamp(1_000 + 30 * DAY_MS))
        );
        let seen = Timestamp(5 * DAY_MS);
        assert!(!r.locked(Some(seen), Timestamp(12 * DAY_MS - 1)));
        assert!(r.locked(Some(seen), Timestamp(12 * DAY_MS)));
        assert!(!Retention::default().locked(None, Timestamp(i64::MAX)));
        assert!(!Retention {
            delete_after_days: Some(MAX_DAYS + 1),
            ..Retention::default()
        }
        .is_valid());
        assert!(!Retention {
            idle_lock_minutes: Some(0),
            ..Retention::default()
        }
        .is_valid());
    }
}
