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
    /// Nothing to cancel: neither a person nor a pending invite code.
    #[error("no pending invite '{0}' on this hub: give a person id (see `phonghop person list`) or the code as printed by `phonghop invite`")]
    UnknownInvite(String),
    /// A paper file problem.
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// A store problem (including refused events).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another writer holds the folder (one writer per hub folder).
    #[error("hub folder {dir} is in use by {holder}: {todo}", dir = .dir.display())]
    Busy {
        /// The hub folder.
        dir: PathBuf,
        /// Who holds it: the hub serving it (address, process) or another
        /// program.
        holder: String,
        /// What to do.
        todo: String,
    },
    /// hub.db changed under its writer: another program committed to it.
    #[error("{dir}/hub.db was changed by another program while this hub was its one writer: stop whatever wrote it, check the folder with `phonghop log verify`, then start the hub again", dir = .0.display())]
    WrittenBeside(PathBuf),
    /// A write through a read-only view of the folder.
    #[error("hub folder {dir} is open read-only here (its writer is a running hub or another program): send the change through the hub (`phonghop` commands do)", dir = .0.display())]
    ReadOnly(PathBuf),
    /// The running hub refused an operation sent to its admin endpoint (its
    /// own code and reason: what the same operation here would have said).
    #[error("{message}")]
    Refused {
        /// The hub's stable code.
        code: &'static str,
        /// The hub's reason.
        message: String,
    },
    /// A hub serves the folder but its admin endpoint cannot be reached.
    #[error("hub folder {dir} is served by a hub whose admin endpoint {addr} does not answer ({reason}): if that hub was killed, start it again or wait a moment and retry", dir = .dir.display())]
    HubUnreachable {
        /// The hub folder.
        dir: PathBuf,
        /// The admin endpoint named in `serving.json`.
        addr: String,
        /// Why.
        reason: String,
    },
    /// A list of people that cannot be read as a table of people.
    #[error("{path}: {reason}", path = .path.display())]
    BadSheet {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words.
        reason: String,
    },
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
            HubError::UnknownInvite(_) => "unknown_invite",
            HubError::Pdf(e) => e.code(),
            HubError::Store(e) => e.code(),
            HubError::Busy { .. } => "hub_busy",
            HubError::ReadOnly(_) => "read_only",
            HubError::WrittenBeside(_) => "written_beside",
            HubError::Refused { code, .. } => code,
            HubError::HubUnreachable { .. } => "hub_unreachable",
            HubError::BadSheet { .. } => "bad_sheet",
            HubError::Io { .. } => "io",
        }
    }
}

/// A code from a hub's answer as a `&'static str`, like every other code.
/// Codes are a small fixed vocabulary, so each distinct one is kept once;
/// past [`CODES_MAX`] of them (never, from our own hubs) it is `refused`.
pub(crate) fn static_code(code: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static CODES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut codes = CODES.lock().unwrap_or_else(|p| p.into_inner());
    let codes = codes.get_or_insert_with(HashSet::new);
    if let Some(c) = codes.get(code) {
        return c;
    }
    if codes.len() >= CODES_MAX {
        return "refused";
    }
    let c: &'static str = Box::leak(code.to_string().into_boxed_str());
    codes.insert(c);
    c
}

/// Distinct codes kept by [`static_code`].
const CODES_MAX: usize = 256;
