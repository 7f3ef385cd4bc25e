//! The app lock: a PIN (Argon2id) the app asks for after it starts and
//! after an idle time, before it shows anything of the meetings.
//!
//! While locked, [`crate::AppState::client`] answers `app_locked` to every
//! command and page request that reads the meetings: the lock is the
//! backend's, not a curtain drawn by the web view. Five wrong PINs in a
//! row make the app wait 30 s before the next try, doubling with every
//! further miss up to 15 minutes; the count and the wait survive a restart
//! (`app-lock.json`, owner-only, beside the client's folder).
//!
//! Idle time: the shortest `idle_lock_minutes` among the meetings' rules
//! on this device (the secretariat's), else [`DEFAULT_IDLE_MINUTES`].
//! `PHONGHOP_IDLE_LOCK_SECS` overrides it (tests).

use crate::dto::CmdError;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Wrong PINs in a row before the app makes the person wait.
pub const FREE_TRIES: u32 = 5;
/// The first wait, in milliseconds (doubled for every further miss).
const FIRST_WAIT_MS: i64 = 30_000;
/// The longest wait.
const MAX_WAIT_MS: i64 = 15 * 60_000;
/// Idle minutes before locking when no meeting's rule says.
pub const DEFAULT_IDLE_MINUTES: u32 = 15;

/// What `app-lock.json` keeps.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Stored {
    /// The PIN's Argon2id hash (PHC string), once set.
    pin: Option<String>,
    /// Wrong PINs since the last right one.
    failures: u32,
    /// No try is taken before this time (ms since the epoch).
    wait_until: Option<i64>,
}

/// The lock's state, kept in [`crate::AppState`].
#[derive(Debug)]
pub struct AppLock {
    file: PathBuf,
    stored: Stored,
    locked: bool,
}

/// What the UI shows of the lock.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockStatus {
    pin_set: bool,
    locked: bool,
    failures: u32,
    /// Until when the next try is refused (ms since the epoch).
    wait_until: Option<i64>,
    /// Idle time before the app locks itself, in seconds.
    idle_seconds: u64,
}

fn check_pin(pin: &str) -> Result<(), CmdError> {
    let ok = (4..=12).contains(&pin.chars().count()) && pin.chars().all(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(CmdError::new("pin_format", "a PIN is 4 to 12 digits"))
    }
}

impl AppLock {
    /// Reads the lock beside `data`; locked from the start if a PIN is set.
    pub fn load(data: &Path) -> AppLock {
        let file = data.join("app-lock.json");
        let stored: Stored = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        AppLock {
            file,
            locked: stored.pin.is_some(),
            stored,
        }
    }

    /// Whether the app is locked now.
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// The UI's view, with the idle time the rules give.
    pub fn status(&self, idle_seconds: u64) -> LockStatus {
        LockStatus {
            pin_set: self.stored.pin.is_some(),
            locked: self.locked,
            failures: self.stored.failures,
            wait_until: self.stored.wait_until,
            idle_seconds,
        }
    }

    fn save(&self) -> Result<(), CmdError> {
        let json =
            serde_json::to_vec(&self.stored).map_err(|e| CmdError::new("io", e.to_string()))?;
        let tmp = self.file.with_extension("json.tmp");
        phonghop_fs::write(&tmp, &json)
            .and_then(|()| std::fs::rename(&tmp, &self.file))
            .map_err(|e| CmdError::new("io", format!("{}: {e}", self.file.display())))
    }

    fn verify(&self, pin: &str) -> bool {
        let Some(hash) = self.stored.pin.as_deref() else {
            return false;
        };
        PasswordHash::new(hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(pin.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    }

    /// Sets (or changes: the current PIN is asked for) the PIN.
    pub fn set_pin(&mut self, current: Option<&str>, pin: &str) -> Result<(), CmdError> {
        if self.stored.pin.is_some() && !current.is_some_and(|c| self.verify(c)) {
            return Err(CmdError::new("pin_wrong", "the current PIN is not right"));
        }
        check_pin(pin)?;
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default()
            .hash_password(pin.as_bytes(), &salt)
            .map_err(|e| CmdError::new("pin_format", e.to_string()))?;
        self.stored = Stored {
            pin: Some(hash.to_string()),
            failures: 0,
            wait_until: None,
        };
        self.save()
    }

    /// Locks now (if a PIN is set).
    pub fn lock(&mut self) {
        if self.stored.pin.is_some() {
            self.locked = true;
        }
    }

    /// Unlocks with `pin` at `now`; a wrong PIN counts towards the wait.
    pub fn unlock(&mut self, pin: &str, now: i64) -> Result<(), CmdError> {
        if !self.locked {
            return Ok(());
        }
        if let Some(until) = self.stored.wait_until.filter(|u| *u > now) {
            return Err(CmdError::new(
                "pin_wait",
                format!(
                    "too many wrong PINs: try again in {} s",
                    (until - now + 999) / 1000
                ),
            ));
        }
        if self.verify(pin) {
            self.locked = false;
            self.stored.failures = 0;
            self.stored.wait_until = None;
            return self.save();
        }
        self.stored.failures += 1;
        if self.stored.failures >= FREE_TRIES {
            let doublings = (self.stored.failures - FREE_TRIES).min(16);
            let wait = (FIRST_WAIT_MS << doublings).min(MAX_WAIT_MS);
            self.stored.wait_until = Some(now + wait);
        }
        self.save()?;
        Err(CmdError::new("pin_wrong", "the PIN is not right"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_misses_make_the_next_try_wait_and_the_count_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = AppLock::load(dir.path());
        assert!(!l.is_locked(), "no PIN, no lock");
        assert_eq!(l.set_pin(None, "12a4").unwrap_err().code, "pin_format");
        l.set_pin(None, "246810").unwrap();
        l.lock();
        assert!(l.is_locked());
        for _ in 0..FREE_TRIES {
            assert_eq!(l.unlock("000000", 1_000).unwrap_err().code, "pin_wrong");
        }
        // Restarted: still locked, still waiting.
        let mut l = AppLock::load(dir.path());
        assert!(l.is_locked());
        assert_eq!(
            l.unlock("246810", 1_000 + 29_000).unwrap_err().code,
            "pin_wait"
        );
        l.unlock("246810", 1_000 + 30_000).unwrap();
        assert!(!l.is_locked());
        assert_eq!(l.status(60).failures, 0);
        // Changing it needs the current one.
        assert_eq!(
            l.set_pin(Some("1111"), "13579").unwrap_err().code,
            "pin_wrong"
        );
        l.set_pin(Some("246810"), "13579").unwrap();
    }
}
