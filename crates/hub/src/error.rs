//! Hub errors: each names the folder, meeting, number or file at fault and
//! says what to do.

use phonghop_pdf::PdfError;
use phonghop_store::StoreError;
use std::path::PathBuf;

/// What can go wrong preparing or serving meetings.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The data folder has no hub yet.
    #[error("{0} is not a hub data folder (no hub.db): run `phonghop init --data {d}` first", d = .0.display())]
    NotInitialised(PathBuf),
    /// `init` on a folder that already holds a hub.
    #[error("{0} already holds a hub; nothing was changed")]
    AlreadyInitialised(PathBuf),
    /// The key file is missing or malformed.
    #[error("hub key {path}: {reason}")]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// Why it is unusable.
        reason: String,
    },
    /// No meeting with this id.
    #[error("no meeting '{0}' on this hub (see `phonghop meeting list`)")]
    UnknownMeeting(String),
    /// No person with this id.
    #[error("no person '{0}' on this hub (see `phonghop person list`)")]
    UnknownPerson(String),
    /// An agenda number that is not of the form 1, 1.2, 1.2.3.
    #[error("'{0}' is not an agenda number (use 1, 2, 2.1, …)")]
    BadNumber(String),
    /// The agenda number is taken.
    #[error("agenda item {number} already exists in meeting '{meeting}' ('{title}'); choose the next free number")]
    DuplicateNumber {
        /// Meeting.
        meeting: String,
        /// Number.
        number: String,
        /// Title of the existing item.
        title: String,
    },
    /// The number skips ahead or its parent is missing.
    #[error("agenda item {number} cannot be added to meeting '{meeting}': {reason}")]
    NumberOutOfPlace {
        /// Meeting.
        meeting: String,
        /// Number.
        number: String,
        /// Why.
        reason: String,
    },
    /// No agenda item with this number.
    #[error("meeting '{meeting}' has no agenda item {number}")]
    UnknownItem {
        /// Meeting.
        meeting: String,
        /// Number.
        number: String,
    },
    /// A paper file problem.
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// A store problem (including refused events).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl HubError {
    /// A stable code for programs and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            HubError::NotInitialised(_) => "not_initialised",
            HubError::AlreadyInitialised(_) => "already_initialised",
            HubError::BadKey { .. } => "bad_key",
            HubError::UnknownMeeting(_) => "unknown_meeting",
            HubError::UnknownPerson(_) => "unknown_person",
            HubError::BadNumber(_) => "bad_number",
            HubError::DuplicateNumber { .. } => "duplicate_number",
            HubError::NumberOutOfPlace { .. } => "number_out_of_place",
            HubError::UnknownItem { .. } => "unknown_item",
            HubError::Pdf(e) => e.code(),
            HubError::Store(e) => e.code(),
            HubError::Io { .. } => "io",
        }
    }
}
